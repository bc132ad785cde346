"""Every registered rule, loss and penalty, on every backend, gives the reference's bits.

The tests run over the registries (``fastdescent._units``) and each unit's ``EXAMPLES``, so a new
rule, loss or penalty is tested here on every backend without a test of its own; and every backend
implements the whole interface ``fastdescent._backends.Backend``.
"""

import importlib
import inspect
import itertools
import pathlib
import pkgutil
import re

import numpy as np
import pytest
from helpers import assert_same_bits, make_data

import fastdescent
from fastdescent import _backends, _driver, _plan, _state
from fastdescent._records import StepInput
from fastdescent._units import losses, penalties, rules

BACKENDS = fastdescent.available_backends()
NATIVE = [name for name in BACKENDS if name != "numpy"]
DTYPES = [np.float32, np.float64]


def _interface() -> dict[str, list[str] | None]:
    """Member name -> parameter names (None for the attributes)."""
    members = {}
    for name, value in vars(_backends.Backend).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(value):
            members[name] = [p for p in inspect.signature(value).parameters if p != "self"]
    for name in _backends.Backend.__annotations__:
        members[name] = None
    return members


def _parameters(function) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except ValueError:  # a pybind11 function: its signature is the first line of its docstring
        first = function.__doc__.splitlines()[0]
        return re.findall(r"(\w+): ", first[first.index("(") :])


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_implements_the_interface(name):
    backend = _backends.load(name)
    assert backend.NAME == name
    assert isinstance(backend.SUMS_ON_ONE_THREAD, bool)
    for member, parameters in _interface().items():
        assert hasattr(backend, member), f"{name} lacks {member}"
        if parameters is not None:
            assert _parameters(getattr(backend, member)) == parameters, f"{name}.{member}"


def _rule_cases():
    for rule, dtype in itertools.product(rules.RULES.values(), DTYPES):
        for k, example in enumerate(rule.EXAMPLES):
            yield pytest.param(rule, example, dtype, id=f"{rule.NAME}-{k}-{np.dtype(dtype).name}")


def _steps(rule, settings, dtype, backend, seed=0, n_steps=6, shape=(37, 5)):
    """n_steps of the rule on a parameter (by default (37, 5): whole vectors and a tail) from one random
    stream: the parameter, then its state."""
    rng = np.random.default_rng(seed)
    param = rng.normal(size=shape).astype(dtype)
    state = rule.state_like(settings, param)
    hyper = rule.hyper(settings, np.dtype(dtype))
    module = _backends.load(backend)
    for t in range(n_steps):
        grad = rng.normal(size=param.shape).astype(dtype)
        table = rule.Table(*(np.full(1, rng.uniform(0.5, 1.0), dtype=dtype) for _ in rule.Table._fields))
        module.rule_step(param, grad, state, hyper, StepInput(dtype(rng.uniform(0.01, 0.1)), t, table))
    return [param, *state]


@pytest.mark.parametrize(("rule", "example", "dtype"), list(_rule_cases()))
def test_every_rule_steps_the_same_bits_on_every_backend(rule, example, dtype):
    settings = rule.settings(**example)
    expected = _steps(rule, settings, dtype, "numpy")
    for backend in NATIVE:
        for got, want in zip(_steps(rule, settings, dtype, backend), expected):
            assert_same_bits(got, want, f"{rule.NAME} {example} on {backend}")


@pytest.mark.parametrize(("rule", "example"), [(rules.RULES["adam"], {"amsgrad": True, "weight_decay": 0.1}),
                                               (rules.RULES["rmsprop"], {"centered": True}),
                                               (rules.RULES["sgd"], {"momentum": 0.9})])  # fmt: skip
def test_a_step_cut_into_pieces_for_the_cores_gives_the_same_bits(rule, example):
    # Past 2^19 values both native backends cut a step into one piece per core (some of these
    # settings leave an optional array unused, which Numba gets as an empty view: _numba/__init__.py)
    settings = rule.settings(**example)
    shape = ((1 << 19) + 37,)
    expected = _steps(rule, settings, np.float32, "numpy", n_steps=2, shape=shape)
    for backend in NATIVE:
        for got, want in zip(_steps(rule, settings, np.float32, backend, n_steps=2, shape=shape), expected):
            assert_same_bits(got, want, f"{rule.NAME} {example} on {backend}")


def _record_classes():
    package = pathlib.Path(fastdescent.__file__).parent
    modules = ["fastdescent._records"] + [m.name for m in pkgutil.walk_packages([str(package / "_units")], "fastdescent._units.")]
    for name in modules:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, tuple) and value.__module__ == name:
                yield value


def test_no_two_records_look_alike_to_numba():
    # Numba keys an argument's type by the record's class name and field names: two records alike
    # in both shared one key, and every call with the second typed its arguments again in Python.
    seen = {}
    for record in _record_classes():
        key = (record.__name__, record._fields)
        assert key not in seen, f"{record.__module__}.{record.__qualname__} looks like {seen[key]} to Numba"
        seen[key] = f"{record.__module__}.{record.__qualname__}"


@pytest.mark.skipif("numba" not in BACKENDS, reason="Numba is not installed")
def test_numba_calls_each_rules_compiled_step_without_typing_it_again(monkeypatch):
    from fastdescent._numba.steps import rule_step_kernel

    cases = [(rule, rule.settings(**example), dtype) for rule in rules.RULES.values() for example in rule.EXAMPLES
             for dtype in DTYPES]  # fmt: skip
    for rule, settings, dtype in cases:
        _steps(rule, settings, dtype, "numba", n_steps=1)
    typed_again = []
    monkeypatch.setattr(rule_step_kernel, "_compile_for_args", lambda *args, **kws: typed_again.append(args))
    for rule, settings, dtype in cases:
        _steps(rule, settings, dtype, "numba", n_steps=1)
    assert typed_again == []


def _runs_with(penalty, rule) -> bool:
    return penalty.RULES is None or rule.NAME in penalty.RULES


def _fit_combinations():
    """(rule, loss, penalty, dtypes): every rule with the squared error and L2, and SGD with every
    loss and L2, in both dtypes; SGD with every loss and elastic net in float64 (float32 with the
    squared error); each other rule with one other loss in float64.  A rule, a loss and a penalty
    meet only through the gradient and theta: this checks they compose, without compiling every
    combination in both dtypes (each a Numba compile of about ten seconds)."""
    fit_rules = [rule for rule in rules.RULES.values() if rule.FITS]
    squared, l2 = losses.LOSSES["squared_error"], penalties.PENALTIES["l2"]
    others = [loss for loss in losses.LOSSES.values() if loss is not squared]
    for rule in fit_rules:
        yield rule, squared, l2, DTYPES
    sgd = rules.RULES["sgd"]
    for loss, penalty in itertools.product(losses.LOSSES.values(), penalties.PENALTIES.values()):
        if (loss, penalty) != (squared, l2):
            yield sgd, loss, penalty, DTYPES if penalty is l2 or loss is squared else (np.float64,)
    for k, rule in enumerate(rule for rule in fit_rules if rule is not sgd):
        yield rule, others[k % len(others)], l2, (np.float64,)


def _fit_cases():
    """Each combination with every example of each of its units at least once (example k of each,
    cycling the shorter lists)."""
    for rule, loss, penalty, dtypes in _fit_combinations():
        assert _runs_with(penalty, rule)
        lists = (rule.EXAMPLES, loss.EXAMPLES, penalty.EXAMPLES)
        for k in range(max(map(len, lists))):
            rule_example, loss_example, penalty_example = (examples[k % len(examples)] for examples in lists)
            for dtype in dtypes:
                yield pytest.param(rule, loss, penalty, rule_example, loss_example, penalty_example, dtype,
                                   id=f"{np.dtype(dtype).name}-{rule.NAME}-{loss.NAME}-{penalty.NAME}-{k}")  # fmt: skip


def test_a_penalty_refuses_the_rules_it_does_not_run_with():
    """elastic net's L1 share needs one rate for every coefficient: the other rules, and SAG, are a
    named error (docs/solvers.md's table), not a silent fit."""
    for rule, penalty in itertools.product(rules.RULES.values(), penalties.PENALTIES.values()):
        if not rule.FITS or _runs_with(penalty, rule):
            continue
        with pytest.raises(ValueError, match="L1 penalty .* needs one step rate"):
            _plan.make_plan(np.dtype(np.float64), 10, batch_size=None, rule=rule.NAME, penalty=penalty.NAME,
                            penalty_params=penalty.EXAMPLES[0])  # fmt: skip
    with pytest.raises(ValueError, match="not with solver 'sag'"):
        _plan.make_plan(np.dtype(np.float64), 10, batch_size=None, method="sag", penalty="elastic_net",
                        penalty_params={"l1": 0.1})  # fmt: skip


def _fit(backend, X, y, plan_options, batch_size):
    name, module = _backends.resolve(backend)
    dtype = X.dtype
    plan = _plan.make_plan(dtype, X.shape[0], batch_size=batch_size, tol=1e-3, n_iter_no_change=2, clip_norm=5.0,
                           average_start=3, **plan_options)  # fmt: skip
    state = _state.new_state(np.zeros(X.shape[1] + 1, dtype), X.shape[0], plan)
    outcome = _driver.run(module, X, y, np.linspace(0, 2, X.shape[0]).astype(dtype), state, plan, max_iter=3,
                          rates=_plan.learning_rates(0.02, dtype, 10**6), rng=np.random.default_rng(5))  # fmt: skip
    return [state.theta, state.average, *state.rule, *state.penalty, outcome.losses, outcome.grad_norms,
            np.array([outcome.epochs, outcome.status, _state.steps_taken(state)])]


@pytest.mark.parametrize(("rule", "loss", "penalty", "rule_example", "loss_example", "penalty_example", "dtype"),
                         list(_fit_cases()))
def test_every_fit_of_registered_units_gives_the_reference_bits(rule, loss, penalty, rule_example, loss_example,
                                                                penalty_example, dtype):  # fmt: skip
    X, y, _ = make_data(3, 300, 9, dtype, low_exp=-1.5, high_exp=-0.5)
    options = {"rule": rule.NAME, "rule_params": rule_example, "loss": loss.NAME, "loss_params": loss_example,
               "penalty": penalty.NAME, "penalty_params": penalty_example}  # fmt: skip
    for batch_size in (None, 7):
        expected = _fit("numpy", X, y * 10, options, batch_size)
        for backend in NATIVE:
            for k, (got, want) in enumerate(zip(_fit(backend, X, y * 10, options, batch_size), expected)):
                assert_same_bits(got, want, f"{options} batch {batch_size} on {backend}, part {k}")


def test_the_fits_run_exactly_the_rules_that_say_so():
    """A rule with FITS = False is refused by the plan; one with FITS = True is compiled into every
    native backend's fits (the fit test above would fail otherwise)."""
    for rule in rules.RULES.values():
        if not rule.FITS:
            with pytest.raises(ValueError, match="does not run in the fused fits"):
                _plan.make_plan(np.dtype(np.float64), 10, batch_size=None, rule=rule.NAME)
