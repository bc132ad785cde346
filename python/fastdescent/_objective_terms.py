"""The fits' loss and penalty from the facades' parameters: one mapping for ``fit_linear``,
``SGDRegressor`` and ``linear_loss_grad``, so that each name, check and message exists once.

The losses are scikit-learn's regression losses (``_units/losses``), ``epsilon`` their threshold;
a penalty is ``l1 * ||w||_1 + l2 * ||w||**2``: the ``l2`` unit without an L1 share, else
``elastic_net`` (the truncated gradient, ``_units/penalties/elastic_net.py``).
"""

from __future__ import annotations

from ._units import losses, penalties
from ._validation import real_scalar

LOSSES = tuple(losses.LOSSES)
EPSILON_LOSSES = tuple(name for name in LOSSES if name != "squared_error")
SKLEARN_PENALTIES = ("l2", "l1", "elasticnet", None)


def loss_plan(loss, epsilon, *, derivative_clip: float = 0.0, half: bool = False) -> tuple[str, dict]:
    """(loss unit, its parameters).  ``fit_linear``'s way (``half`` False): ``epsilon`` None is 0.1
    for the losses that have it and must be None for the squared error.  scikit-learn's (``half``):
    ``epsilon`` is a number >= 0 whatever the loss, unused by the squared error."""
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if half:
        epsilon = real_scalar(epsilon, "epsilon", low=0.0)
    if loss == "squared_error":
        if epsilon is not None and not half:
            raise ValueError(f"epsilon={epsilon!r} does not apply to loss='squared_error'; it applies to {EPSILON_LOSSES}")
        return loss, {"derivative_clip": derivative_clip, "half": half}
    return loss, {"epsilon": 0.1 if epsilon is None else epsilon, "derivative_clip": derivative_clip}


def penalty_plan(l1, l2, *, l1_name: str = "l1", l2_name: str = "l2") -> tuple[str, dict]:
    """(penalty unit, its parameters) for ``l1 * ||w||_1 + l2 * ||w||**2``."""
    l1 = real_scalar(l1, l1_name, low=0.0)
    if l1 == 0:
        return "l2", {"strength": l2, "name": l2_name}
    return "elastic_net", {"l1": l1, "strength": l2, "name": l1_name, "l2_name": l2_name}


def sklearn_penalty(penalty, alpha, l1_ratio) -> tuple[str, dict]:
    """scikit-learn's ``alpha * (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||**2)``, with l1_ratio 0 for
    "l2", 1 for "l1", and no penalty for None."""
    if penalty not in SKLEARN_PENALTIES:
        raise ValueError(f"penalty must be one of {SKLEARN_PENALTIES}; got {penalty!r}")
    alpha = real_scalar(alpha, "alpha", low=0.0)
    if l1_ratio is not None:  # checked whatever the penalty, as scikit-learn's constraints do
        l1_ratio = real_scalar(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    if penalty is None:
        return penalty_plan(0.0, 0.0)
    ratio = {"l2": 0.0, "l1": 1.0}.get(penalty)
    if ratio is None:
        if l1_ratio is None:  # scikit-learn's message
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        ratio = l1_ratio
    return penalty_plan(alpha * ratio, alpha * (1.0 - ratio) / 2, l1_name="alpha * l1_ratio",
                        l2_name="alpha * (1 - l1_ratio) / 2")  # fmt: skip


def check_solver(penalty: str, solver: str, rule: str, method: str, what: str) -> None:
    """A penalty with a solver it does not run with (``docs/solvers.md``'s table) is refused before
    any data is read, in the facade's words (``what``: how the caller asked for the L1 share)."""
    unit = penalties.PENALTIES[penalty]
    if unit.RULES is not None and (rule not in unit.RULES or method == "sag"):
        raise ValueError(f"{what} is applied by the cumulative truncated gradient, which needs one step rate for "
                         f"every coefficient: it runs with solver 'sgd' (momentum and averaging included), not with "
                         f"solver {solver!r}")  # fmt: skip
