"""The invariants of the fuzz campaign (issue 16), kept as property tests over the public API:

- every backend gives the same bits, or the same error;
- nothing the caller passed in is modified;
- finite valid input never returns NaN or infinity (a diverging fit raises DivergenceError);
- every error is a ValueError, TypeError or DivergenceError, and names an argument that was wrong.

Inputs include what the campaign found: unaligned and strided arrays, arrays that overlap their
outputs, 0-d parameters, float64 scalars that overflow float32, array-likes.
"""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from helpers import assert_same_bits

import fastdescent
from fastdescent import optim

BACKENDS = fastdescent.available_backends()
DOCUMENTED = (ValueError, TypeError, fastdescent.DivergenceError)


def _layout(draw, array: np.ndarray):
    layout = draw(st.sampled_from(["c", "fortran", "strided", "unaligned", "list"]))
    if layout == "fortran":
        return np.asfortranarray(array)
    if layout == "strided" and array.ndim:
        return np.repeat(array, 2, axis=0)[::2]
    if layout == "unaligned":
        raw = np.zeros(array.nbytes + 1, np.uint8)[1:].view(array.dtype).reshape(array.shape)
        raw[...] = array
        return raw
    if layout == "list":
        return array.tolist()
    return array


@st.composite
def fit_calls(draw):
    """(arguments, the names of the arguments drawn invalid)."""
    invalid = set()
    n = draw(st.integers(1, 60))
    d = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = (rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-1, 0.5, size=(n, d))).astype(dtype)
    y = (X.astype(np.float64) @ rng.normal(size=d)).astype(dtype)
    if draw(st.booleans()) and X.size:
        X.flat[draw(st.integers(0, X.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
        invalid.add("X")
    kwargs = {}
    options = {
        "lr": st.sampled_from([0.01, 0.05, 0.0, -1.0, 1e40]),
        "batch_size": st.sampled_from([None, 1, 7, 0]),
        "momentum": st.sampled_from([0.0, 0.5, 1.0]),
        "l2": st.sampled_from([0.0, 0.1, -1.0, 1e40]),
        "clip_norm": st.sampled_from([None, 1.0, -1.0, 1e40]),
        "intercept_init": st.sampled_from([0.0, 1.5, np.inf, 1e40]),
        "average": st.sampled_from([False, True, 3, -1]),
        "max_iter": st.sampled_from([1, 3, 0]),
    }
    bad = {"lr": (0.0, -1.0), "batch_size": (0,), "momentum": (1.0,), "l2": (-1.0,), "clip_norm": (-1.0,),
           "intercept_init": (np.inf,), "average": (-1,), "max_iter": (0,)}  # fmt: skip
    overflow32 = {"lr", "l2", "clip_norm", "intercept_init"}
    X_in = _layout(draw, X)
    y_in = _layout(draw, y)
    working = np.float64 if isinstance(X_in, list) else dtype  # a list of numbers is float64 data
    for name, strategy in options.items():
        if draw(st.booleans()):
            value = draw(strategy)
            kwargs[name] = value
            if value in bad[name] or (value == 1e40 and name in overflow32 and working == np.float32):
                invalid.add(name)
    return X_in, y_in, kwargs, invalid


def _frozen(value):
    return copy.deepcopy(value)


def _same_inputs(before, after):
    if isinstance(before, np.ndarray):
        assert_same_bits(after, before, "an input array was modified")
    else:
        assert before == after or (before != before and after != after)


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except DOCUMENTED as error:
        return error


def _assert_names_one_of(error, names):
    message = str(error)
    assert any(name in message for name in names), f"{message!r} names none of {sorted(names)}"


@pytest.mark.slow
@given(call=fit_calls())
def test_fit_linear_invariants(call):
    X, y, kwargs, invalid = call
    frozen = [_frozen(X), _frozen(y)]
    results = {b: _call(fastdescent.fit_linear, X, y, random_state=3, backend=b, **kwargs) for b in BACKENDS}
    for before, after in zip(frozen, (X, y)):
        _same_inputs(before, after)
    reference = results["numpy"]
    for backend, result in results.items():
        if isinstance(reference, Exception):
            assert type(result) is type(reference) and str(result) == str(reference), backend
            continue
        assert not isinstance(result, Exception), f"{backend}: {result} where the reference fitted"
        assert_same_bits(result.coef, reference.coef, backend)
        assert_same_bits(result.loss_history, reference.loss_history, backend)
    if isinstance(reference, fastdescent.DivergenceError):
        return
    if isinstance(reference, Exception):
        assert invalid, f"valid input refused: {reference}"
        _assert_names_one_of(reference, invalid)
    else:
        assert not invalid, f"invalid {sorted(invalid)} accepted"
        assert np.isfinite(reference.coef).all() and np.isfinite(reference.intercept)


@st.composite
def step_calls(draw):
    shape = draw(st.sampled_from([(), (1,), (5,), (3, 4)]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["sgd", "momentum", "asgd", "sag"]))
    lr = draw(st.sampled_from([0.1, 1e-3, 1e40]))
    overlap = draw(st.booleans()) and shape == (5,)
    grads = [rng.normal(size=shape).astype(dtype) for _ in range(4)]
    return shape, dtype, kind, lr, overlap, grads, rng.normal(size=shape).astype(dtype)


def _make(kind, params, lr, backend):
    if kind == "sgd":
        return optim.SGD(params, lr=lr, backend=backend)
    if kind == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, backend=backend)
    if kind == "asgd":
        return optim.ASGD(params, lr=lr, t0=1, backend=backend)
    return optim.SAG(params, lr=lr, n_samples=3, backend=backend)


def _steps(kind, shape, dtype, lr, overlap, grads, start, backend):
    if overlap:  # the gradient is a view into the same buffer as the parameter
        buffer = np.concatenate([[0.0], start]).astype(dtype)
        param = buffer[1:]
    else:
        param = start.copy()
    opt = _make(kind, [param], lr, backend)
    for k, g in enumerate(grads):
        if overlap:
            buffer[:-1] = g  # overlapping: buffer[0:5] is the gradient, buffer[1:6] the parameter
            g = buffer[:-1]
        opt.step([g], k % 3) if kind == "sag" else opt.step([g])
    return param.copy()


@pytest.mark.slow
@given(call=step_calls())
def test_step_optimizer_invariants(call):
    shape, dtype, kind, lr, overlap, grads, start = call
    frozen = [g.copy() for g in grads]
    results = {b: _call(_steps, kind, shape, dtype, lr, overlap, grads, start, b) for b in BACKENDS}
    for before, after in zip(frozen, grads):
        assert_same_bits(after, before, "a gradient was modified")
    reference = results["numpy"]
    for backend, result in results.items():
        if isinstance(reference, Exception):
            assert type(result) is type(reference) and str(result) == str(reference), backend
        else:
            assert_same_bits(result, reference, f"{kind} on {backend}")
    if isinstance(reference, Exception):
        assert lr == 1e40 and dtype == np.float32, reference
        _assert_names_one_of(reference, {"lr"})
    else:
        assert np.isfinite(reference).all() or lr == 1e40
