"""Data larger than memory: Dask arrays (threads and a LocalCluster of worker processes) and memory
maps give the bits of the in-memory fit of the same data (docs/larger-than-memory.md)."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastdescent
from fastdescent._chunked.sizes import aligned_chunk_rows, chunked_shuffle_order

from helpers import assert_same_bits, make_data

da = pytest.importorskip("dask.array")

# Chunk layouts: aligned (256 * 2**k rows), not aligned (rechunked for full-batch descent), uneven.
CHUNKINGS = [1024, 700, (1500, 300, 1100, 100)]
N_ROWS = 3000
METHODS = {
    "gd": {},
    "gd-momentum": {"momentum": 0.9},
    "gd-nesterov-averaged": {"momentum": 0.5, "nesterov": True, "average": 2},
    "sgd": {"batch_size": 32},
    "sgd-momentum": {"batch_size": 50, "momentum": 0.9},
    "sgd-averaged": {"batch_size": 64, "average": True, "l2": 0.01},
    "sgd-in-order": {"batch_size": 100, "shuffle": False},
    "gd-adam": {"solver": "adam"},
    "sgd-nadam": {"solver": "nadam", "batch_size": 40, "weight_decay": 0.01},
    "sgd-rmsprop-in-order": {"solver": "rmsprop", "batch_size": 100, "shuffle": False, "centered": True},
    "gd-huber-l1": {"loss": "huber", "epsilon": 0.5, "l1": 0.01},
    "sgd-epsilon-insensitive-elastic-net": {"loss": "epsilon_insensitive", "batch_size": 40, "l1": 0.01, "l2": 0.01,
                                            "momentum": 0.5, "average": 5},
}


def _data(dtype, seed=0, n=N_ROWS, d=9):
    X, _, _ = make_data(seed, n, d, dtype, low_exp=-1, high_exp=1)
    y = (X @ np.arange(1, d + 1, dtype=dtype) + dtype(3)).astype(dtype)
    return X, y


def _dask(X, y, chunking):
    return da.from_array(X, chunks=(chunking, X.shape[1])), da.from_array(y, chunks=(chunking,))


def _in_memory(X, y, chunking, backend, **options):
    """The reference fit: in memory, with the chunked shuffle over the Dask array's chunks."""
    chunks = da.from_array(y, chunks=(chunking,)).chunks[0]
    if options.get("batch_size") is not None and options.get("shuffle", True):
        options = {**options, "shuffle": "chunked", "chunk_rows": chunks}
    return fastdescent.fit_linear(X, y, lr=0.01, max_iter=3, random_state=7, backend=backend, **options)


def _assert_same_fit(result, expected):
    assert_same_bits(result.coef, expected.coef, "coef")
    assert_same_bits(result.intercept, expected.intercept, "intercept")
    assert_same_bits(result.loss_history, expected.loss_history, "loss_history")
    assert_same_bits(result.grad_norm_history, expected.grad_norm_history, "grad_norm_history")
    assert (result.n_iter, result.n_steps) == (expected.n_iter, expected.n_steps)


# Each of these compiles chunked Numba kernels of its own, 20-35 s a dtype on a 2-core CI machine
# (a third of the suite's Numba compiling): with Numba they run in float64 only.  Their units'
# float32 bits are covered in memory on every backend (test_units.py), and the chunked float32
# path with Numba by the other methods here.
NUMBA_FLOAT64_ONLY = {"gd-adam", "sgd-nadam", "sgd-rmsprop-in-order", "gd-huber-l1", "sgd-epsilon-insensitive-elastic-net"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunking", CHUNKINGS, ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_dask_fit_equals_in_memory_fit(backend, dtype, chunking, method):
    if backend == "numba" and dtype == np.float32 and method in NUMBA_FLOAT64_ONLY:
        pytest.skip("float32 with Numba: covered in memory (see NUMBA_FLOAT64_ONLY)")
    X, y = _data(dtype)
    options = METHODS[method]
    Xd, yd = _dask(X, y, chunking)
    result = fastdescent.fit_linear(Xd, yd, lr=0.01, max_iter=3, random_state=7, backend=backend, **options)
    _assert_same_fit(result, _in_memory(X, y, chunking, backend, **options))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dask_loss_grad_equals_in_memory(backend, dtype):
    X, y = _data(dtype, d=17)
    w = np.linspace(-1, 1, 17)
    weights = np.random.default_rng(1).random(N_ROWS)
    expected = fastdescent.mse_loss_grad(X, y, w, 0.5, l2=0.1, sample_weight=weights, backend=backend)
    for chunking in CHUNKINGS:
        Xd, yd = _dask(X, y, chunking)
        got = fastdescent.mse_loss_grad(Xd, yd, w, 0.5, l2=0.1, sample_weight=weights, backend=backend)
        for a, b, what in zip(got, expected, ("loss", "grad_w", "grad_b")):
            assert_same_bits(a, b, f"{what}, chunks {chunking}")
    for loss in ("huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        expected = fastdescent.linear_loss_grad(X, y, w, 0.5, loss=loss, epsilon=0.3, l2=0.1, sample_weight=weights,
                                                backend=backend)  # fmt: skip
        Xd, yd = _dask(X, y, CHUNKINGS[0])
        got = fastdescent.linear_loss_grad(Xd, yd, w, 0.5, loss=loss, epsilon=0.3, l2=0.1, sample_weight=weights,
                                           backend=backend)  # fmt: skip
        for a, b, what in zip(got, expected, ("loss", "grad_w", "grad_b")):
            assert_same_bits(a, b, f"{loss} {what}")


def test_sample_weight_and_tol_on_dask():
    X, y = _data(np.float64)
    weights = np.random.default_rng(2).random(N_ROWS)
    options = dict(sample_weight=weights, tol=1e-3, n_iter_no_change=2, max_iter=50, lr=0.01, random_state=3)
    for batch_size in (None, 16):
        Xd, yd = _dask(X, y, 700)
        got = fastdescent.fit_linear(Xd, yd, batch_size=batch_size, **options)
        extra = {} if batch_size is None else {"shuffle": "chunked", "chunk_rows": 700}
        expected = fastdescent.fit_linear(X, y, batch_size=batch_size, **options, **extra)
        _assert_same_fit(got, expected)
        assert got.stop_reason == expected.stop_reason


def test_chunked_shuffle_is_chunk_order_then_rows_within_chunks():
    sizes = (4, 3, 5)
    order = chunked_shuffle_order(np.random.default_rng(11), sizes)
    rng = np.random.default_rng(11)
    starts = np.cumsum((0,) + sizes[:-1])
    expected = [starts[c] + rng.permutation(sizes[c]) for c in rng.permutation(3)]
    np.testing.assert_array_equal(order, np.concatenate(expected))
    assert sorted(order.tolist()) == list(range(12))


def test_aligned_chunk_rows():
    assert [aligned_chunk_rows(r) for r in (1, 256, 300, 511, 512, 700, 1024, 5000)] == [
        256, 256, 256, 256, 512, 512, 1024, 4096,
    ]  # fmt: skip


def test_memmap_fits_equal_in_memory_fits(tmp_path, backend):
    X, y = _data(np.float32, n=2500)
    path = tmp_path / "X.f32"
    X.tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    for options in ({"momentum": 0.9}, {"batch_size": 16, "shuffle": "chunked", "chunk_rows": 600},
                    {"batch_size": 16, "shuffle": False, "chunk_rows": 600},
                    {"batch_size": 16, "shuffle": "chunked", "chunk_rows": 600, "loss": "huber", "l1": 0.01}):  # fmt: skip
        expected = fastdescent.fit_linear(X, y, lr=0.01, max_iter=3, random_state=5, backend=backend, **options)
        got = fastdescent.fit_linear(mapped, y, lr=0.01, max_iter=3, random_state=5, backend=backend, **options)
        _assert_same_fit(got, expected)
    w = np.ones(9)
    for a, b in zip(fastdescent.mse_loss_grad(mapped, y, w, backend=backend),
                    fastdescent.mse_loss_grad(X, y, w, backend=backend)):  # fmt: skip
        assert_same_bits(a, b)


@pytest.mark.parametrize("params", [{}, {"loss": "huber", "penalty": "elasticnet", "alpha": 0.01}], ids=str)
def test_sgd_regressor_on_dask(params):
    pytest.importorskip("sklearn")
    X, y = _data(np.float64)
    Xd, yd = _dask(X, y, 700)
    model = fastdescent.SGDRegressor(max_iter=4, tol=None, random_state=0, batch_size=8, momentum=0.5,
                                     **params).fit(Xd, yd)  # fmt: skip
    reference = fastdescent.SGDRegressor(max_iter=4, tol=None, random_state=0, batch_size=8, momentum=0.5,
                                         shuffle="chunked", chunk_rows=700, **params).fit(X, y)  # fmt: skip
    assert_same_bits(model.coef_, reference.coef_)
    assert_same_bits(model.intercept_, reference.intercept_)
    assert model.n_features_in_ == 9 and model.t_ == reference.t_
    prediction = model.predict(Xd)
    assert isinstance(prediction, da.Array)
    np.testing.assert_allclose(prediction.compute(), model.predict(X))
    model.partial_fit(Xd, yd)
    reference.partial_fit(X, y)
    assert_same_bits(model.coef_, reference.coef_)


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        yield client


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["gd", "gd-momentum", "sgd-momentum", "sgd-averaged"])
def test_local_cluster_of_worker_processes(cluster_client, dtype, method):
    X, y = _data(dtype)
    options = METHODS[method]
    for chunking in (1024, 700):
        Xd, yd = _dask(X, y, chunking)
        result = fastdescent.fit_linear(Xd, yd, lr=0.01, max_iter=3, random_state=7, **options)
        _assert_same_fit(result, _in_memory(X, y, chunking, "auto", **options))
    assert len(cluster_client.scheduler_info()["workers"]) == 2


def test_dask_ml_incremental_calls_partial_fit_per_block(cluster_client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _data(np.float64)
    Xd, yd = _dask(X, y, 1000)
    wrapped = wrappers.Incremental(fastdescent.SGDRegressor(random_state=0, tol=None), shuffle_blocks=False)
    wrapped.fit(Xd, yd)
    expected = fastdescent.SGDRegressor(random_state=0, tol=None)
    for start in range(0, N_ROWS, 1000):
        expected.partial_fit(X[start : start + 1000], y[start : start + 1000])
    assert_same_bits(wrapped.estimator_.coef_, expected.coef_)
    assert wrapped.estimator_.score(X, y) > 0.99


# -- bad input -------------------------------------------------------------------------------------


def test_nan_in_a_dask_chunk_is_named():
    X, y = _data(np.float64)
    X[2100, 3] = np.nan
    Xd, yd = _dask(X, y, 1024)
    with pytest.raises(ValueError, match=r"X\[2048:3000\] contains NaN or infinity at index \(52, 3\)"):
        fastdescent.fit_linear(Xd, yd)
    with pytest.raises(ValueError, match="contains NaN"):
        fastdescent.fit_linear(Xd, yd, batch_size=10, shuffle=False)
    y[5] = np.inf
    with pytest.raises(ValueError, match=r"y\[0:1024\] contains NaN or infinity"):
        fastdescent.fit_linear(da.from_array(X[:1024]), y[:1024])


def test_bad_dask_input_is_refused():
    X, y = _data(np.float64)
    Xd, yd = _dask(X, y, 1000)
    with pytest.raises(ValueError, match="y has 2999 values but X has 3000 rows"):
        fastdescent.fit_linear(Xd, yd[:-1])
    with pytest.raises(ValueError, match="solver=.sag."):
        fastdescent.fit_linear(Xd, yd, batch_size=10, solver="sag")
    with pytest.raises(ValueError, match="early_stopping"):
        fastdescent.fit_linear(Xd, yd, batch_size=10, early_stopping=True)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        fastdescent.fit_linear(Xd[Xd[:, 0] > 0], yd[Xd[:, 0] > 0])
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fastdescent.fit_linear(Xd.astype(complex), yd)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        fastdescent.fit_linear(Xd[:, 0], yd)
    with pytest.raises(ValueError, match="shuffle must be"):
        fastdescent.fit_linear(X, y, batch_size=10, shuffle="rows")
    with pytest.raises(ValueError, match="chunk_rows .* covers 10 rows but X has 3000"):
        fastdescent.fit_linear(X, y, batch_size=10, shuffle="chunked", chunk_rows=(5, 5))
    with pytest.raises(ValueError, match=r"y has unknown chunk sizes; call y.compute_chunk_sizes\(\) first"):
        fastdescent.fit_linear(Xd, yd[yd > -np.inf])
    sparse = pytest.importorskip("scipy.sparse")
    for batch_size in (None, 10):
        with pytest.raises(TypeError, match="X's chunks: a scipy sparse csr_matrix"):
            fastdescent.fit_linear(Xd.map_blocks(sparse.csr_matrix), yd, batch_size=batch_size)
    with pytest.raises(ValueError, match="sample_weight must contain at least one non-zero number"):
        fastdescent.fit_linear(Xd, yd, sample_weight=da.zeros(3000, chunks=1000))


def test_sgd_regressor_on_dask_takes_what_it_takes_in_memory():
    """All-zero weights refused and a column-vector y warned about and fitted, as in memory."""
    pytest.importorskip("sklearn")
    from sklearn.exceptions import DataConversionWarning

    X, y = _data(np.float64)
    Xd, yd = _dask(X, y, 1000)
    options = {"max_iter": 2, "tol": None, "random_state": 0}
    with pytest.raises(ValueError, match="sample_weight must contain at least one non-zero number"):
        fastdescent.SGDRegressor(**options).fit(Xd, yd, sample_weight=da.zeros(3000, chunks=1000))
    expected = fastdescent.SGDRegressor(**options).fit(Xd, yd)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        model = fastdescent.SGDRegressor(**options).fit(Xd, yd[:, None])
    assert_same_bits(model.coef_, expected.coef_)
    assert_same_bits(model.intercept_, expected.intercept_)


def test_dask_divergence_is_reported():
    X, y = _data(np.float64)
    Xd, yd = _dask(X, y, 1000)
    for batch_size in (None, 8):
        with pytest.raises(fastdescent.DivergenceError):
            fastdescent.fit_linear(Xd, yd, lr=100.0, batch_size=batch_size, max_iter=20)


# -- memory: a memory map several times larger than the memory the process may use --------------------

MEMORY_BUDGET = 512 << 20
FILE_BYTES = 2 << 30

_BOUNDED_MEMORY_FIT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import fastdescent

    def peak_rss():
        # VmHWM: this process's own peak (ru_maxrss keeps the peak of the process that forked it)
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) << 10 for line in status if line.startswith("VmHWM"))

    path, rows, features, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, features))
    y = np.ones(rows, dtype=np.float32)
    before = peak_rss()
    gd = fastdescent.fit_linear(X, y, lr=0.1, max_iter=2)
    sgd = fastdescent.fit_linear(X, y, lr=0.1, max_iter=1, batch_size=4096, shuffle="chunked", random_state=0)
    peak = peak_rss()
    print(before, peak, gd.loss_history[-1], sgd.loss_history[-1])
    assert peak < budget, f"peak RSS {peak >> 20} MiB over the budget of {budget >> 20} MiB"
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS of a memory map is measured on Linux")
def test_memmap_larger_than_the_memory_budget(tmp_path):
    if shutil.disk_usage(tmp_path).free < FILE_BYTES + (1 << 30):
        pytest.skip(f"needs {FILE_BYTES >> 30} GiB of free disk for the memory-mapped file")
    features = 64
    rows = FILE_BYTES // (4 * features)
    path = tmp_path / "big.f32"
    block = np.random.default_rng(0).standard_normal((1 << 16, features), dtype=np.float32)
    with open(path, "wb") as file:
        for _ in range(rows // block.shape[0]):
            file.write(block.tobytes())
    try:
        done = subprocess.run(
            [sys.executable, "-c", _BOUNDED_MEMORY_FIT, str(path), str(rows), str(features), str(MEMORY_BUDGET)],
            capture_output=True, text=True, timeout=600, env={**os.environ, "FASTDESCENT_BACKEND": "auto"},
        )  # fmt: skip
    finally:
        path.unlink()
    assert done.returncode == 0, done.stderr[-3000:]
    _, peak, *losses = done.stdout.split()
    assert all(np.isfinite(float(loss)) for loss in losses)
    assert int(peak) < MEMORY_BUDGET


@pytest.mark.slow
def test_bench_dask_quick_runs(tmp_path, capsys):
    """The plumbing of ``bench --dask`` (figures belong in docs/benchmarks.md, not in tests)."""
    pytest.importorskip("distributed")
    import json

    from fastdescent.__main__ import main

    path = tmp_path / "bench.json"
    assert main(["bench", "--dask", "--quick", "--json", str(path)]) == 0
    names = {row["name"] for row in json.loads(path.read_text())["rows"]}
    assert {"memory map, chunk by chunk", "Dask, threads scheduler", "Dask, LocalCluster 2 processes"} <= names


# -- cases found in review ----------------------------------------------------------------------------


def test_one_shuffled_batch_of_all_rows_is_not_full_batch_descent(backend):
    X, y = _data(np.float64)
    Xd, yd = _dask(X, y, 700)
    options = dict(batch_size=N_ROWS, lr=0.01, max_iter=3, random_state=7, backend=backend)
    got = fastdescent.fit_linear(Xd, yd, **options)
    _assert_same_fit(got, fastdescent.fit_linear(X, y, shuffle="chunked", chunk_rows=Xd.chunks[0], **options))
    in_order = fastdescent.fit_linear(Xd, yd, **{**options, "shuffle": False})
    _assert_same_fit(in_order, fastdescent.fit_linear(X, y, **{**options, "batch_size": None}))


def test_sgd_regressor_full_batch_on_dask_equals_in_memory():
    pytest.importorskip("sklearn")
    X, y = _data(np.float64)
    for batch_size, shuffle in ((None, True), (N_ROWS + 5, False)):
        options = dict(batch_size=batch_size, shuffle=shuffle, max_iter=3, tol=None, random_state=0)
        got = fastdescent.SGDRegressor(**options).fit(*_dask(X, y, 700))
        assert_same_bits(got.coef_, fastdescent.SGDRegressor(**options).fit(X, y).coef_)


def test_empty_dask_chunks_are_left_out(backend):
    X, y = _data(np.float64, n=2048)
    Xd = da.from_array(X, chunks=((1024, 0, 1024, 0), 9))
    yd = da.from_array(y, chunks=((1024, 0, 1024, 0),))
    assert 0 in Xd.chunks[0]
    for options in ({}, {"batch_size": 10}):
        got = fastdescent.fit_linear(Xd, yd, lr=0.01, max_iter=2, random_state=1, backend=backend, **options)
        extra = {"shuffle": "chunked", "chunk_rows": Xd.chunks[0]} if options else {}
        _assert_same_fit(got, fastdescent.fit_linear(X, y, lr=0.01, max_iter=2, random_state=1, backend=backend,
                                                     **options, **extra))  # fmt: skip
    for a, b in zip(fastdescent.mse_loss_grad(Xd, yd, np.ones(9), backend=backend),
                    fastdescent.mse_loss_grad(X, y, np.ones(9), backend=backend)):  # fmt: skip
        assert_same_bits(a, b)


def test_failed_partial_fit_leaves_the_model_as_it_was():
    pytest.importorskip("sklearn")
    X, y = _data(np.float64)
    bad = X.copy()
    bad[-1, 0] = np.nan
    model = fastdescent.SGDRegressor(random_state=0, tol=None, batch_size=16)
    untouched = fastdescent.SGDRegressor(random_state=0, tol=None, batch_size=16)
    model.partial_fit(*_dask(X, y, 700))
    untouched.partial_fit(*_dask(X, y, 700))
    with pytest.raises(ValueError, match="contains NaN"):
        model.partial_fit(*_dask(bad, y, 700))
    model.partial_fit(*_dask(X, y, 700))
    untouched.partial_fit(*_dask(X, y, 700))
    assert_same_bits(model.coef_, untouched.coef_)


def test_generator_advances_by_the_epochs_run_only():
    """A fit stopped by tol leaves the generator where one order per epoch run leaves it, however
    the epochs were cut into native calls (verbose runs one epoch per call), in memory and on Dask."""
    pytest.importorskip("sklearn")
    X, y = _data(np.float64)
    options = dict(random_state=0, batch_size=16, tol=1e-2, n_iter_no_change=2, max_iter=200, eta0=0.001,
                   shuffle="chunked", chunk_rows=700)  # fmt: skip
    models = [fastdescent.SGDRegressor(**options).fit(X, y), fastdescent.SGDRegressor(**options).fit(*_dask(X, y, 700))]
    quiet = fastdescent.SGDRegressor(**options, verbose=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("builtins.print", lambda *args, **kwargs: None)
        models.append(quiet.fit(X, y))
    assert models[0].n_iter_ < 200 and len({m.n_iter_ for m in models}) == 1
    for model in models:
        model.partial_fit(X, y)
    for model in models[1:]:
        assert_same_bits(model.coef_, models[0].coef_)


def test_predict_on_integer_dask_arrays_is_float64():
    pytest.importorskip("sklearn")
    X, y = _data(np.float64)
    model = fastdescent.SGDRegressor(random_state=0, max_iter=3, tol=None).fit(X, y)
    Xi = np.round(X * 10).astype(np.int64)
    for chunked in (da.from_array(Xi, chunks=(700, 9)), da.from_array(Xi.astype(np.float16), chunks=(700, 9))):
        prediction = model.predict(chunked)
        assert prediction.dtype == np.float64
        np.testing.assert_allclose(prediction.compute(), model.predict(chunked.compute()))


def test_chunked_shuffle_options_are_checked():
    X, y = _data(np.float64)
    with pytest.raises(ValueError, match="does not apply to solver=.sag."):
        fastdescent.fit_linear(X, y, batch_size=16, shuffle="chunked", solver="sag")
    with pytest.raises(ValueError, match="early_stopping"):
        fastdescent.fit_linear(X, y, batch_size=16, shuffle="chunked", early_stopping=True)
    with pytest.raises(ValueError, match="chunk_rows must be an integer >= 1; got 0"):
        fastdescent.fit_linear(X, y, batch_size=16, shuffle="chunked", chunk_rows=0)
    as_array = fastdescent.fit_linear(X, y, batch_size=16, shuffle="chunked", chunk_rows=np.array([1000] * 3),
                                      random_state=0, max_iter=2)  # fmt: skip
    as_int = fastdescent.fit_linear(X, y, batch_size=16, shuffle="chunked", chunk_rows=1000, random_state=0, max_iter=2)
    _assert_same_fit(as_array, as_int)


def test_memory_maps_keep_random_access_methods(tmp_path):
    X, y = _data(np.float64)
    path = tmp_path / "X.f64"
    X.tofile(path)
    mapped = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    for options in ({"solver": "sag", "batch_size": 10, "shuffle": False}, {"early_stopping": True, "batch_size": 10}):
        got = fastdescent.fit_linear(mapped, y, lr=0.001, max_iter=2, random_state=0, **options)
        _assert_same_fit(got, fastdescent.fit_linear(X, y, lr=0.001, max_iter=2, random_state=0, **options))


def test_full_batch_descent_persists_only_what_fits(monkeypatch):
    """Data that fits (or a cluster) is persisted once; data larger than half the memory available
    on the local schedulers is read from its source each epoch: persisting would load it all."""
    import dask

    from fastdescent._chunked import sources

    persisted = []
    real_persist = dask.persist
    monkeypatch.setattr(dask, "persist", lambda *arrays: persisted.append(len(arrays)) or real_persist(*arrays))
    X, y = _data(np.float64)
    with dask.config.set(scheduler="threads"):  # even while a test cluster's client is the default
        expected = fastdescent.fit_linear(*_dask(X, y, 1024), max_iter=2)
        assert persisted == [2]
        monkeypatch.setattr(sources, "available_memory", lambda: X.nbytes)
        streamed = fastdescent.fit_linear(*_dask(X, y, 1024), max_iter=2)
        assert persisted == [2]
    _assert_same_fit(streamed, expected)


@pytest.mark.parametrize(("n", "d", "threads"), [(200_000, 64, 2), (100_000, 32, 3), (5_000, 17, 4), (300, 5, 2)])
def test_threaded_chunks_are_aligned_and_balance_the_threads(n, d, threads):
    """Numba's threaded full batch: chunks of 256 * 2**k rows (every one but the last), sized so that
    no thread sums much more than its share."""
    from fastdescent._chunked.sizes import BLOCK_ROWS, balanced_chunk_rows, chunk_sizes

    rows = balanced_chunk_rows(n, d, threads)
    blocks = rows // BLOCK_ROWS
    assert rows % BLOCK_ROWS == 0 and blocks & (blocks - 1) == 0
    loads = [0] * threads
    for size in chunk_sizes(n, rows):
        loads[loads.index(min(loads))] += size
    assert max(loads) <= max(n / threads * 1.1, rows)
