"""The fused fits' ``solver`` names: each one's update rule, and the fit facades' options it takes.

``fit_linear`` and ``SGDRegressor`` share one set of option names (scikit-learn's MLP names where it
has them: ``beta_1``, ``beta_2``; ``eps`` for the adaptive rules' denominator term, since
``epsilon`` is scikit-learn's loss parameter), mapped here onto the rule's own settings.  An option
left at its default (None, 0 or False) takes the solver's default (torch's); one given to a solver
that does not use it is an error, not a silent no-op.
"""

from __future__ import annotations

from typing import NamedTuple


class Solver(NamedTuple):
    rule: str  # the update rule (``_units.rules``)
    method: str  # the gradient estimator: "sgd" (the batch's gradient) or "sag"
    options: dict  # facade option -> the rule's setting
    fixed: dict = {}  # settings the solver always has
    defaults: dict = {}  # the solver's defaults that differ from the rule's


_SGD_OPTIONS = {"momentum": "momentum", "nesterov": "nesterov", "weight_decay": "weight_decay"}
_ADAM_OPTIONS = {"beta_1": "beta1", "beta_2": "beta2", "eps": "eps", "amsgrad": "amsgrad",
                 "weight_decay": "weight_decay"}  # fmt: skip

SOLVERS: dict[str, Solver] = {
    "sgd": Solver("sgd", "sgd", _SGD_OPTIONS),
    "sag": Solver("sgd", "sag", _SGD_OPTIONS),
    "adam": Solver("adam", "sgd", _ADAM_OPTIONS),
    "adamw": Solver("adam", "sgd", _ADAM_OPTIONS, fixed={"decoupled_weight_decay": True},
                    defaults={"weight_decay": 1e-2}),  # fmt: skip
    "adagrad": Solver("adagrad", "sgd", {"eps": "eps", "weight_decay": "weight_decay"}),
    # RMSprop's smoothing constant (torch's alpha, scikit-learn's alpha being the penalty) plays
    # Adam's beta_2 role: the decay of the squared gradients' average.
    "rmsprop": Solver("rmsprop", "sgd", {"beta_2": "alpha", "eps": "eps", "momentum": "momentum",
                                         "centered": "centered", "weight_decay": "weight_decay"}),  # fmt: skip
    "nadam": Solver("nadam", "sgd", {"beta_1": "beta1", "beta_2": "beta2", "eps": "eps",
                                     "weight_decay": "weight_decay"}),  # fmt: skip
}

# Each facade option's "not given" value.
UNSET = {"momentum": 0.0, "nesterov": False, "beta_1": None, "beta_2": None, "eps": None, "amsgrad": False,
         "centered": False, "weight_decay": None}  # fmt: skip


def _given(value, unset) -> bool:
    if value is None:
        return False
    try:
        return unset is None or bool(value != unset)
    except (TypeError, ValueError):  # an array, say: let the rule's check name it
        return True


def solver_plan(solver: str, name: str = "solver", **options) -> tuple[str, str, dict]:
    """(rule, method, rule settings) of ``solver`` with the facade's ``options`` (their names: UNSET)."""
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise ValueError(f"{name} must be one of {tuple(SOLVERS)}; got {solver!r}")
    spec = SOLVERS[solver]
    params = dict(spec.defaults)
    for option, value in options.items():
        if not _given(value, UNSET[option]):
            continue
        if option not in spec.options:
            users = [name for name, other in SOLVERS.items() if option in other.options]
            raise ValueError(f"{option}={value!r} does not apply to solver={solver!r}; it applies to {users}")
        params[spec.options[option]] = value
    params.update(spec.fixed)
    return spec.rule, spec.method, params
