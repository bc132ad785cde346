"""Every backend returns the reference's bits: for the objective and for every kind of fit."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from helpers import DTYPES, assert_every_lane_tail_matches_the_reference, assert_same_bits, make_data, problems

import fastdescent
from fastdescent import _driver

NATIVE = [name for name in fastdescent.available_backends() if name != "numpy"]
pytestmark = pytest.mark.skipif(not NATIVE, reason="no native backend to compare with the reference")


@pytest.fixture(params=NATIVE, scope="session")
def native(request):
    return request.param


@given(problem=problems(), b=st.sampled_from([0.0, -0.0, 1.5, -1e3]), l2=st.sampled_from([0.0, 0.25]))
def test_loss_grad_bits(native, problem, b, l2):
    X, y, w = problem
    expected = fastdescent.mse_loss_grad(X, y, w, b, l2=l2, backend="numpy")
    actual = fastdescent.mse_loss_grad(X, y, w, b, l2=l2, backend=native)
    for name, a, e in zip(("loss", "grad_w", "grad_b"), actual, expected):
        assert_same_bits(a, e, name)


FIT_OPTIONS = st.fixed_dictionaries(
    {
        "batch_size": st.sampled_from([None, 1, 2, 7, 32, 256, 300, 10_000]),
        "momentum": st.sampled_from([0.0, 0.5, 0.9]),
        "nesterov": st.booleans(),
        "average": st.sampled_from([False, True, 0, 3, 50]),
        "solver": st.sampled_from(["sgd", "sag"]),
        "l2": st.sampled_from([0.0, 0.01]),
        "fit_intercept": st.booleans(),
        "shuffle": st.booleans(),
        "tol": st.sampled_from([None, 0.0, 1e-3]),
        "n_iter_no_change": st.integers(1, 3),
        "lr": st.sampled_from([1e-3, 0.01, 0.1]),
        "clip_norm": st.sampled_from([None, None, 0.5, 10.0]),
        "weighted": st.booleans(),
        "early_stopping": st.sampled_from([False, False, True]),
        "gtol": st.sampled_from([None, None, 1e-2]),
        "schedule": st.sampled_from([None, "cosine", "inverse"]),
    }
)


def _expand(options, n):
    """Turn the drawn markers into fit_linear arguments."""
    options = dict(options)
    if options.pop("weighted"):
        options["sample_weight"] = np.random.default_rng(n).uniform(0, 2, size=n).round(2)
    schedule = options.pop("schedule")
    if schedule == "cosine":
        options["lr"] = fastdescent.schedules.cosine_decay(options["lr"], 50, warmup_steps=5, warmup_init=1e-4)
    elif schedule == "inverse":
        options["lr"] = fastdescent.schedules.inverse_scaling(options["lr"], power_t=0.5)
    if options["early_stopping"] and n < 3:
        options["early_stopping"] = False
    return options


def _fit_or_divergence(X, y, backend, options, max_iter):
    try:
        return fastdescent.fit_linear(X, y, backend=backend, max_iter=max_iter, random_state=7, **options)
    except fastdescent.DivergenceError as error:
        return error


def assert_same_fit(actual, expected):
    if isinstance(expected, Exception):
        assert isinstance(actual, fastdescent.DivergenceError), "the reference diverged, this backend did not"
        assert str(actual) == str(expected)
        return
    assert not isinstance(actual, Exception), f"this backend diverged, the reference did not: {actual}"
    assert_same_bits(actual.coef, expected.coef, "coef")
    assert_same_bits(actual.intercept, expected.intercept, "intercept")
    assert_same_bits(actual.loss_history, expected.loss_history, "loss_history")
    assert_same_bits(actual.grad_norm_history, expected.grad_norm_history, "grad_norm_history")
    if expected.validation_scores is not None:
        assert_same_bits(actual.validation_scores, expected.validation_scores, "validation_scores")
    assert actual.stop_reason == expected.stop_reason
    assert (actual.n_iter, actual.n_steps, actual.converged) == (expected.n_iter, expected.n_steps, expected.converged)


@pytest.mark.slow
@given(
    # Magnitudes a fit survives, mostly: wide ones only test that everyone diverges alike.
    problem=problems(max_n=400, exponents=((-3.0, -1.0), (-0.5, 0.0, 1.0))),
    options=FIT_OPTIONS,
    max_iter=st.integers(1, 4),
)
def test_fit_bits(native, problem, options, max_iter):
    X, y, _ = problem
    options = _expand(options, X.shape[0])
    if options["momentum"] == 0:
        options["nesterov"] = False
    expected = _fit_or_divergence(X, y, "numpy", options, max_iter)
    assert_same_fit(_fit_or_divergence(X, y, native, options, max_iter), expected)


@pytest.mark.slow
@given(seed=st.integers(0, 2**32 - 1), dtype=DTYPES, n=st.integers(257, 3000), d=st.sampled_from([1, 8, 17, 64]))
def test_full_batch_bits_on_many_blocks(native, seed, dtype, n, d):
    """Full-batch GD over several blocks of 256 rows: the pair tree decides the bits."""
    X, y, _ = make_data(seed, n, d, dtype, low_exp=-2, high_exp=1)
    options = {"lr": 1e-3, "momentum": 0.5, "l2": 0.01}
    expected = _fit_or_divergence(X, y, "numpy", options, 5)
    assert_same_fit(_fit_or_divergence(X, y, native, options, 5), expected)


def test_divergence_is_reported_identically(native):
    X, y, _ = make_data(0, 50, 3, np.float64, low_exp=2, high_exp=4)
    expected = _fit_or_divergence(X, y, "numpy", {"lr": 1.0}, 50)
    assert isinstance(expected, fastdescent.DivergenceError)
    assert_same_fit(_fit_or_divergence(X, y, native, {"lr": 1.0}, 50), expected)


@pytest.mark.parametrize("backend_name", fastdescent.available_backends())
def test_fit_split_over_native_calls_is_unchanged(monkeypatch, backend_name):
    """When the shuffles do not fit one call, the fit spans several calls with the same bits."""
    X, y, _ = make_data(3, 90, 5, np.float32, low_exp=-1, high_exp=0.5)
    options = {"batch_size": 4, "momentum": 0.9, "average": 10, "solver": "sag", "lr": 0.01, "max_iter": 7}
    whole = fastdescent.fit_linear(X, y, random_state=1, backend=backend_name, **options)
    monkeypatch.setattr(_driver, "ORDER_BUDGET", 2 * 90)
    split = fastdescent.fit_linear(X, y, random_state=1, backend=backend_name, **options)
    assert_same_fit(split, whole)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "options",
    [{}, {"momentum": 0.9, "nesterov": True, "l2": 0.1}, {"average": 3, "clip_norm": 0.5, "fit_intercept": False},
     {"tol": 1e-3, "n_iter_no_change": 2, "sample_weight": np.linspace(0, 2, 3000)}, {"batch_size": 5000, "shuffle": False},
     {"gtol": 1e-2, "lr": fastdescent.schedules.cosine_decay(0.05, 20)}],
    ids=["plain", "nesterov-l2", "averaged-clipped", "tol-weighted", "one-ordered-batch", "gtol-scheduled"],
)  # fmt: skip
def test_numba_full_batch_on_threads_is_unchanged(monkeypatch, dtype, options):
    """Numba sums on one thread; large full-batch fits get the cores through aligned chunks (the
    path of data read in chunks), with the reference's bits."""
    if "numba" not in fastdescent.available_backends():
        pytest.skip("Numba is not installed")
    X, y, _ = make_data(11, 3000, 17, dtype, low_exp=-1, high_exp=0.5)
    kwargs = {"lr": 0.01, "max_iter": 20, "random_state": 0, "n_threads": 3, **options}
    expected = fastdescent.fit_linear(X, y, backend="numpy", **kwargs)
    monkeypatch.setattr(_driver, "THREADED_CHUNK_VALUES", 0)
    used = []
    monkeypatch.setattr(_driver.ChunkedData, "threaded", _recording(_driver.ChunkedData.threaded, used))
    assert_same_fit(fastdescent.fit_linear(X, y, backend="numba", **kwargs), expected)
    assert used, "the threaded path did not run"


def _recording(method, calls):
    def record(*args, **kwargs):
        calls.append(args)
        return method(*args, **kwargs)

    return record


METHODS = {
    "gd": {},
    "sgd": {"batch_size": 1},
    "minibatch": {"batch_size": 32},
    "momentum": {"batch_size": 8, "momentum": 0.9},
    "nesterov": {"batch_size": 300, "momentum": 0.5, "nesterov": True, "l2": 0.01},
    "averaged": {"batch_size": 4, "average": 20},
    "sag": {"batch_size": 1, "solver": "sag", "l2": 0.01},
    "sag-minibatch": {"batch_size": 5, "solver": "sag", "momentum": 0.3, "fit_intercept": False},
    "ordered": {"batch_size": 50, "shuffle": False, "tol": 1e-4, "n_iter_no_change": 2},
    "clipped": {"batch_size": 16, "momentum": 0.9, "clip_norm": 1.0},
    "weighted-sag": {"batch_size": 4, "solver": "sag", "sample_weight": np.linspace(0, 2, 700)},
    "early-stopping": {"batch_size": 10, "early_stopping": True, "tol": 1e-3, "validation_fraction": 0.2},
    "scheduled": {"batch_size": 7, "lr": fastdescent.schedules.exponential_decay(0.02, 0.5, 100), "gtol": 1e-3},
    "adam": {"solver": "adam", "batch_size": 16, "average": 30, "clip_norm": 2.0},
    "amsgrad-gd": {"solver": "adam", "amsgrad": True, "beta_1": 0.3, "l2": 0.01},
    "adamw": {"solver": "adamw", "batch_size": 8, "tol": 1e-4, "n_iter_no_change": 2},
    "adagrad": {"solver": "adagrad", "batch_size": 1, "eps": 1e-6, "weight_decay": 0.01},
    "rmsprop": {"solver": "rmsprop", "batch_size": 10, "centered": True, "momentum": 0.5, "early_stopping": True},
    "nadam": {"solver": "nadam", "batch_size": 32, "lr": fastdescent.schedules.cosine_decay(0.02, 200),
              "sample_weight": np.linspace(0, 2, 700)},
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [3, 16, 33])
def test_fit_bits_on_larger_data(native, method, dtype, d):
    """Hypothesis favours small examples; these are the sizes where blocks, lanes and tails all matter."""
    X, y, _ = make_data(11 + d, 700, d, dtype, low_exp=-1.5, high_exp=-0.5)
    y = y * 100
    options = {"lr": 0.01, **METHODS[method]}
    expected = _fit_or_divergence(X, y, "numpy", options, 3)
    assert not isinstance(expected, Exception)
    assert_same_fit(_fit_or_divergence(X, y, native, options, 3), expected)


def test_sag_minibatch_with_repeated_rows(native):
    """SAG draws rows with replacement: a batch of 8 from 10 rows repeats some of them."""
    X, y, _ = make_data(2, 10, 3, np.float64, low_exp=-1, high_exp=0)
    options = {"lr": 0.05, "batch_size": 8, "solver": "sag", "l2": 0.01}
    expected = _fit_or_divergence(X, y, "numpy", options, 20)
    assert_same_fit(_fit_or_divergence(X, y, native, options, 20), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_vector_lanes_on_every_lane_tail(dtype):
    """The Numba kernels add a row's lanes as one LLVM vector, the tail padded so that it adds -0.0."""
    if "numba" not in fastdescent.available_backends():
        pytest.skip("Numba is not installed")
    assert_every_lane_tail_matches_the_reference("numba", dtype)
