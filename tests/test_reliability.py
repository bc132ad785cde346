"""The defects a fuzz campaign found (issue 16), each through the public API on every backend."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc

import numpy as np
import pytest
from helpers import assert_same_bits, make_data

import fastdescent
from fastdescent import optim

BACKENDS = fastdescent.available_backends()


def unaligned(array: np.ndarray) -> np.ndarray:
    """The same values in a C-contiguous array whose data starts 1 byte off its dtype's alignment."""
    raw = np.zeros(array.nbytes + 1, np.uint8)[1:]
    view = raw.view(array.dtype).reshape(array.shape)
    view[...] = array
    assert view.flags.c_contiguous and not view.flags.aligned
    return view


@pytest.mark.parametrize("backend", BACKENDS)
def test_sag_steps_a_0d_parameter_as_a_1_element_one(backend):
    def run(shape):
        p = np.ones(shape)
        opt = optim.SAG([p], lr=0.1, n_samples=3, backend=backend)
        for index in range(3):
            opt.step([np.full(shape, 0.5)], index)
        return p

    assert_same_bits(run(()).reshape(1), run((1,)))


@pytest.mark.parametrize("size", [7, 1 << 17])  # the second is stepped on several threads in C++
def test_a_gradient_overlapping_its_parameter_is_read_before_the_step(size):
    results = []
    for backend in BACKENDS:
        for _ in range(3 if backend == "cpp" else 1):
            a = np.arange(size + 1.0)
            p, g = a[1:], a[:-1]
            expected = p - 0.5 * g
            optim.SGD([p], lr=0.5, backend=backend).step([g])
            assert_same_bits(p, expected)
            results.append(p.copy())
    for r in results[1:]:
        assert_same_bits(r, results[0])


def test_overlapping_parameters_are_refused():
    a = np.zeros(10)
    with pytest.raises(ValueError, match=r"params\[1\] overlaps params\[0\]"):
        optim.SGD([a[:6], a[4:]], lr=0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unaligned_data_gives_the_aligned_bits(backend):
    X, y, w = make_data(4, 600, 9, np.float64, low_exp=-1, high_exp=0)
    options = {"lr": 0.01, "max_iter": 2, "batch_size": 16, "momentum": 0.5, "random_state": 0, "backend": backend}
    expected = fastdescent.fit_linear(X, y, **options)
    got = fastdescent.fit_linear(unaligned(X), unaligned(y), **options)
    assert_same_bits(got.coef, expected.coef)
    assert_same_bits(got.loss_history, expected.loss_history)
    for a, e in zip(fastdescent.mse_loss_grad(unaligned(X), unaligned(y), unaligned(w), backend=backend),
                    fastdescent.mse_loss_grad(X, y, w, backend=backend)):  # fmt: skip
        assert_same_bits(a, e)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unaligned_gradients_are_read_and_unaligned_parameters_refused(backend):
    p, q = np.ones(5), np.ones(5)
    optim.SGD([p], lr=0.1, backend=backend).step([unaligned(np.full(5, 2.0))])
    optim.SGD([q], lr=0.1, backend=backend).step([np.full(5, 2.0)])
    assert_same_bits(p, q)
    with pytest.raises(ValueError, match=r"params\[0\] must be C-contiguous, aligned"):
        optim.SGD([unaligned(np.ones(5))], lr=0.1, backend=backend)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda X, y: fastdescent.mse_loss_grad(X, y, np.ones(2, np.float32), l2=1e40), "l2"),
        (lambda X, y: fastdescent.mse_loss_grad(X, y, np.ones(2, np.float32), b=1e40), "b"),
        (lambda X, y: fastdescent.fit_linear(X, y, l2=1e40), "l2"),
        (lambda X, y: fastdescent.fit_linear(X, y, intercept_init=1e40), "intercept_init"),
        (lambda X, y: fastdescent.fit_linear(X, y, clip_norm=1e40), "clip_norm"),
        (lambda X, y: optim.SGD([X[0].copy()], lr=1e40), "lr"),
        (lambda X, y: optim.SGD([X[0].copy()], lr=1e-50), "lr"),
        (lambda X, y: optim.SGD([X[0].copy()], lr=0.1, weight_decay=1e40).step([X[0]]), "weight_decay"),
    ],
)
def test_float64_scalars_that_do_not_fit_float32_are_refused_by_name(call, name):
    X, y = np.ones((4, 2), np.float32), np.ones(4, np.float32)
    with pytest.raises(ValueError, match=rf"^{name}=.* is not a .*float32 number"):
        call(X, y)


def test_a_huge_max_iter_costs_only_the_epochs_run():
    X, y, _ = make_data(5, 200, 3, np.float64, low_exp=-1, high_exp=0)
    tracemalloc.start()
    fit = fastdescent.fit_linear(X, y, lr=0.05, max_iter=10**9, tol=1e-2, n_iter_no_change=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert fit.converged and fit.n_iter < 1000
    assert peak < 2_000_000, peak  # a history of 10**9 epochs would be 24 GB


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_huge_max_iter_one_epoch_per_call_is_linear(backend):
    """verbose (and chunked data, and callbacks) run one epoch per native call: their calls are
    planned as they come, not as a list of max_iter sizes made up front."""
    X, y, _ = make_data(5, 50, 2, np.float64, low_exp=-1, high_exp=0)
    fit = fastdescent.fit_linear(X, y, lr=0.05, max_iter=10**12, callback=lambda info: info.epoch >= 30,
                                 backend=backend)  # fmt: skip
    assert fit.n_iter == 30 and fit.stop_reason == "callback"


INTERRUPTED_SHUFFLED_FIT = textwrap.dedent(
    """
    import sys, threading, time, numpy as np, fastdescent
    X = np.random.default_rng(0).normal(size=(1 << 21, 4)); y = X[:, 0].copy()
    fastdescent.fit_linear(X[:100], y[:100], batch_size=32, max_iter=1, backend=sys.argv[1])  # compile first
    print("fitting", flush=True)
    try:
        fastdescent.fit_linear(X, y, lr=1e-4, batch_size=65536, max_iter=1_000_000, backend=sys.argv[1])
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    """
)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_ctrl_c_does_not_wait_for_the_next_shuffle(backend):
    """Large shuffled fits draw the next call's orders on a helper thread (a permutation of 2M rows
    takes 100+ ms); Ctrl-C leaves it to finish on its own copy of the generator."""
    with subprocess.Popen([sys.executable, "-c", INTERRUPTED_SHUFFLED_FIT, backend], stdout=subprocess.PIPE,
                          text=True) as process:  # fmt: skip
        assert process.stdout.readline().strip() == "fitting"
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        assert process.stdout.readline().strip() == "interrupted"
        waited = time.monotonic() - sent
        assert process.wait(timeout=30) == 0
    assert waited < 0.1, f"KeyboardInterrupt took {waited:.3f} s"


@pytest.mark.parametrize("backend", BACKENDS)
def test_validation_rows_of_zero_weight_are_a_clear_error(backend):
    from fastdescent._plan import split_validation

    X, y, _ = make_data(6, 40, 2, np.float64, low_exp=-1, high_exp=0)
    weights = np.ones(40)
    weights[split_validation(np.random.default_rng(0), 40, 0.1)[1]] = 0.0  # the rows random_state=0 holds out
    with pytest.raises(ValueError, match="held out for early stopping has sample_weight 0"):
        fastdescent.fit_linear(X, y, early_stopping=True, sample_weight=weights, random_state=0, backend=backend)
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match="held out for early stopping has sample_weight 0"):
        fastdescent.SGDRegressor(early_stopping=True, random_state=0, backend=backend).fit(X, y, sample_weight=weights)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: fastdescent.fit_linear([[1.0, 2.0], [3.0]], [1.0, 2.0]), TypeError, "X"),
        (lambda: fastdescent.mse_loss_grad(np.ones((2, 2)), np.ones(2), [[1.0], 2.0]), TypeError, "w"),
        (lambda: optim.SGD([np.zeros(2)], lr=0.1).step(None), TypeError, "grads"),
        (lambda: optim.SGD([np.zeros(2)], lr=0.1).step(1.0), TypeError, "grads"),
        (lambda: optim.SGD(None, lr=0.1), TypeError, "params"),
    ],
)
def test_unreadable_inputs_are_refused_by_name(call, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        call()


def test_array_likes_are_read_once_and_their_values_used():
    torch = pytest.importorskip("torch")
    pandas = pytest.importorskip("pandas")
    X, y, _ = make_data(7, 50, 3, np.float64, low_exp=-1, high_exp=0)
    expected = fastdescent.fit_linear(X, y, max_iter=3)
    for X_like, y_like in ((torch.from_numpy(X), torch.from_numpy(y)), (pandas.DataFrame(X), pandas.Series(y))):
        assert_same_bits(fastdescent.fit_linear(X_like, y_like, max_iter=3).coef, expected.coef)
    with pytest.raises(TypeError, match="^y must hold real numbers"):
        fastdescent.fit_linear(X, pandas.Series(list("abcde") * 10, dtype="category"))


def test_predict_has_the_models_dtype_for_float32_data():
    pytest.importorskip("sklearn")
    X, y = np.ones((5, 1)), np.arange(5.0)
    model = fastdescent.SGDRegressor(max_iter=2, tol=None).fit(X, y)
    model.coef_ = np.array([4.15e294])
    prediction = model.predict(np.ones((1, 1), np.float32))
    assert prediction.dtype == np.float64 and np.isfinite(prediction).all()


def test_threaded_numba_fits_share_one_bounded_pool(monkeypatch):
    if "numba" not in BACKENDS:
        pytest.skip("Numba is not installed")
    from fastdescent import _driver

    monkeypatch.setattr(_driver, "THREADED_CHUNK_VALUES", 0)
    X, y = np.random.default_rng(0).normal(size=(3000, 8)), np.arange(3000.0)
    before = threading.active_count()
    for threads in (2, 64, 1000):
        fastdescent.fit_linear(X, y, max_iter=2, n_threads=threads, backend="numba")
    assert threading.active_count() <= before + (os.cpu_count() or 1)
