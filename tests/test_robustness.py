"""Fuzzing the public API, fits from several threads, and Ctrl-C during a native fit."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from helpers import assert_same_bits, make_data

import fastdescent

DOCUMENTED = (ValueError, TypeError, fastdescent.DivergenceError)


def _array(draw, shape, dtype, layout):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.normal(scale=draw(st.sampled_from([1e-3, 1.0, 1e3])), size=shape)
    if draw(st.booleans()) and values.size:
        values.flat[draw(st.integers(0, values.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))
    with np.errstate(invalid="ignore", over="ignore"):  # NaN into int32, 1e3 into float16: fine here
        array = values.astype(dtype)
    if layout == "fortran":
        return np.asfortranarray(array)
    if layout == "strided" and array.ndim:
        return np.repeat(array, 2, axis=0)[::2]
    if layout == "list":
        return array.tolist()
    return array


@st.composite
def api_calls(draw):
    n = draw(st.integers(0, 40))
    d = draw(st.integers(0, 20))
    x_ndim = draw(st.sampled_from([2, 2, 2, 1, 3]))
    x_shape = {1: (n,), 2: (n, d), 3: (n, d, 2)}[x_ndim]
    dtype = draw(st.sampled_from([np.float64, np.float32, np.float16, np.int32, np.bool_, np.complex64, object]))
    layout = draw(st.sampled_from(["c", "fortran", "strided", "list"]))
    X = _array(draw, x_shape, dtype, layout)
    y = _array(draw, (draw(st.sampled_from([n, n, n + 1])),), draw(st.sampled_from([np.float64, np.float32])), "c")
    options = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "lr": st.one_of(st.sampled_from([0.01, 0.0, -1.0, np.nan, 1e300]), st.just(np.full(10_000, 0.01))),
                "batch_size": st.sampled_from([None, 1, 3, 0, -2, 2.5, 10**9]),
                "momentum": st.sampled_from([0.0, 0.5, 0.99, 1.0, -0.1, np.nan]),
                "nesterov": st.booleans(),
                "average": st.sampled_from([False, True, 0, 5, -1, 2.5]),
                "solver": st.sampled_from(["sgd", "sag", "lbfgs"]),
                "l2": st.sampled_from([0.0, 0.1, -1.0, np.inf]),
                "fit_intercept": st.booleans(),
                "max_iter": st.sampled_from([1, 3, 0, -1]),
                "tol": st.sampled_from([None, 0.0, 1e-3, -1.0]),
                "shuffle": st.booleans(),
                "random_state": st.sampled_from([None, 0, 7, -3, "x"]),
                "clip_norm": st.sampled_from([None, 1.0, 0.0, -2.0]),
                "backend": st.sampled_from(fastdescent.available_backends() + ("auto", "gpu")),
            },
        )
    )
    return X, y, options


@pytest.mark.slow
@given(call=api_calls())
def test_fuzzed_calls_raise_only_documented_errors(call):
    X, y, options = call
    try:
        fit = fastdescent.fit_linear(X, y, **options)
    except DOCUMENTED:
        pass
    else:
        assert np.isfinite(fit.coef).all() and np.isfinite(fit.intercept)
    w = np.zeros(np.shape(X)[-1]) if np.ndim(X) == 2 else np.zeros(1)
    try:
        fastdescent.mse_loss_grad(X, y, w, backend=options.get("backend", "auto"))
    except DOCUMENTED:
        pass


def test_fits_in_several_threads_equal_fits_one_after_another(backend):
    X, y, _ = make_data(1, 3000, 12, np.float64, low_exp=-1, high_exp=0)
    configs = [
        {"batch_size": 8, "momentum": 0.9, "random_state": seed, "solver": method}
        for seed in range(3)
        for method in ("sgd", "sag")
    ]
    one_by_one = [fastdescent.fit_linear(X, y, lr=0.01, max_iter=3, backend=backend, **c) for c in configs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda c: fastdescent.fit_linear(X, y, lr=0.01, max_iter=3, backend=backend, **c), configs))
    for a, b in zip(together, one_by_one):
        assert_same_bits(a.coef, b.coef)
        assert_same_bits(a.loss_history, b.loss_history)


INTERRUPTED_FIT = textwrap.dedent(
    """
    import sys, numpy as np, fastdescent
    X = np.random.default_rng(0).normal(size=(100_000, 32)); y = X[:, 0].copy()
    fastdescent.fit_linear(X[:10], y[:10], max_iter=1, backend=sys.argv[1])  # compile first
    print("fitting", flush=True)
    try:
        fastdescent.fit_linear(X, y, lr=1e-4, max_iter=1_000_000, backend=sys.argv[1])
    except KeyboardInterrupt:
        import threading
        print("interrupted", threading.active_count(), flush=True)
        again = fastdescent.fit_linear(X[:50], y[:50], max_iter=3, backend=sys.argv[1])
        print("usable", again.n_iter, flush=True)
    """
)


@pytest.mark.parametrize("backend_name", [b for b in fastdescent.available_backends() if b != "numpy"])
def test_ctrl_c_stops_a_native_fit_quickly(backend_name):
    with subprocess.Popen([sys.executable, "-c", INTERRUPTED_FIT, backend_name], stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout.readline().strip() == "fitting"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        line = process.stdout.readline().split()
        waited = time.monotonic() - sent
        assert line == ["interrupted", "1"], line  # no thread left running besides the main one
        assert process.stdout.readline().split() == ["usable", "3"]
        assert process.wait(timeout=30) == 0
    assert waited < 0.5, f"KeyboardInterrupt took {waited:.2f} s"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_can_fit_after_a_threaded_fit(monkeypatch):
    """The Python-thread pools of chunked fits are not inherited by a forked child (whose copies
    would have no threads and wait forever): a child of a process that fitted can fit."""
    from fastdescent import _driver

    monkeypatch.setattr(_driver, "THREADED_CHUNK_VALUES", 0)
    X, y = np.random.default_rng(0).normal(size=(3000, 8)), np.arange(3000.0)
    backend = "numba" if "numba" in fastdescent.available_backends() else "numpy"
    fastdescent.fit_linear(X, y, backend=backend, max_iter=2, n_threads=2)
    _assert_a_forked_child_fits(lambda: fastdescent.fit_linear(X, y, backend=backend, max_iter=2, n_threads=2))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("backend", fastdescent.available_backends())
def test_forked_child_can_fit_after_the_native_pool_ran(backend):
    """The C++ thread pool (its kernels, and the input check of large arrays for every backend) is
    not used by a forked child, whose copy has no worker threads: the child starts its own."""
    X = np.random.default_rng(0).normal(size=(40_000, 4))
    y = X[:, 0].copy()
    fastdescent.fit_linear(X, y, max_iter=1, backend=backend, n_threads=2)
    _assert_a_forked_child_fits(lambda: fastdescent.fit_linear(X, y, max_iter=1, backend=backend, n_threads=2))


def _assert_a_forked_child_fits(fit):
    with warnings.catch_warnings():  # Python 3.12+ warns about forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the fit finishes
        try:
            fit()
            os._exit(0)
        except BaseException:
            os._exit(1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert status == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's fit did not finish within 60 s")
