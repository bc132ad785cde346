"""Rows of docs/input-validation.md not already covered in test_api.py."""

import numpy as np
import pytest
from helpers import assert_same_bits, make_data

import fastdescent


@pytest.fixture(scope="module")
def data():
    return make_data(0, 30, 3, np.float64, low_exp=-1, high_exp=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"coef_init": [0.0, np.nan, 0.0]}, "coef_init contains NaN or infinity at index 1"),
        ({"lr": np.r_[np.full(40, 0.1), np.inf, np.full(100, 0.1)]}, "lr contains NaN or infinity at index 40"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"random_state": -1}, "random_state"),
        ({"intercept_init": np.inf}, "intercept_init"),
    ],
)
def test_fit_linear_value_errors(data, kwargs, match):
    X, y, _ = data
    with pytest.raises(ValueError, match=match):
        fastdescent.fit_linear(X, y, batch_size=1, max_iter=4, **kwargs)


@pytest.mark.parametrize(("kwargs", "match"), [({"random_state": "seed"}, "random_state"), ({"backend": 3}, "backend")])
def test_fit_linear_type_errors(data, kwargs, match):
    X, y, _ = data
    with pytest.raises(TypeError, match=match):
        fastdescent.fit_linear(X, y, **kwargs)


@pytest.mark.parametrize("name", ["fit_intercept", "early_stopping", "progress"])
@pytest.mark.parametrize("value", ["False", "no", 0.5, 1, None])
def test_fit_linear_flags_must_be_bools(data, name, value):
    """A string such as "False" would otherwise be read as true."""
    X, y, _ = data
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        fastdescent.fit_linear(X, y, max_iter=2, **{name: value})


def test_every_weight_zero_is_refused(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="sample_weight must contain at least one non-zero number"):
        fastdescent.fit_linear(X, y, sample_weight=np.zeros(len(y)), max_iter=2)
    with pytest.raises(ValueError, match="sample_weight must contain at least one non-zero number"):
        fastdescent.linear_loss_grad(X, y, w=np.zeros(3), sample_weight=np.zeros(len(y)))


def test_sparse_input_is_named():
    sparse = pytest.importorskip("scipy.sparse")
    X = sparse.csr_matrix(np.eye(4))
    with pytest.raises(TypeError, match=r"X: a scipy sparse csr_matrix; .*toarray"):
        fastdescent.fit_linear(X, np.ones(4))


@pytest.mark.parametrize("loss", ["squared_error", "squared_epsilon_insensitive"])
def test_an_objective_that_overflows_says_so(loss):
    """Finite input whose squared residuals overflow: an inf loss came back with a NaN gradient
    (huber's linear tails do not overflow here: its answer stays finite)."""
    X = np.random.default_rng(0).normal(size=(20, 3)) * 1e200
    with pytest.raises(FloatingPointError, match="objective overflowed float64"):
        fastdescent.linear_loss_grad(X, np.ones(20), w=np.ones(3), loss=loss)
    value, grad_w, grad_b = fastdescent.linear_loss_grad(X, np.ones(20), w=np.ones(3), loss="huber")
    assert np.isfinite(value) and np.isfinite(grad_w).all() and np.isfinite(grad_b)


@pytest.mark.parametrize(("kwargs", "cause"), [
    ({"lr": 1e6, "solver": "adam"}, r"over 1e\+10 times the first epoch's .*solver='adam'"),
    ({"lr": 0.01, "solver": "adam", "eps": 0.0}, r"made the coefficients NaN or infinite while the loss was finite.*eps=0"),
])  # fmt: skip
def test_a_divergence_names_its_solver_and_cause(kwargs, cause):
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(20, 3)), np.zeros(20)]  # a zero column: a zero gradient, 0/0 with eps=0
    with pytest.raises(fastdescent.DivergenceError, match=cause):
        fastdescent.fit_linear(X, X[:, :3] @ [1.0, 2.0, 3.0] + 1, **kwargs)


def test_mse_loss_grad_checks_w_and_b(data):
    X, y, w = data
    with pytest.raises(ValueError, match="w contains NaN or infinity at index 2"):
        fastdescent.mse_loss_grad(X, y, [1.0, 2.0, np.nan])
    with pytest.raises(ValueError, match=r"w has 2 values but X has 3 features \(X shape \(\d+, 3\), w shape \(2,\)\)"):
        fastdescent.mse_loss_grad(X, y, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"coef_init has 4 values .* \(coef_init shape \(4,\)"):
        fastdescent.fit_linear(X, y, coef_init=np.zeros(4))
    with pytest.raises(ValueError, match="y must be a 1-D array"):
        fastdescent.mse_loss_grad(X, y[:, None], w)
    with pytest.raises(ValueError, match="b must be"):
        fastdescent.mse_loss_grad(X, y, w, b=np.nan)
    with pytest.raises(ValueError, match="l2 must be"):
        fastdescent.mse_loss_grad(X, y, w, l2=-0.5)


def test_random_state_kinds_agree(data):
    X, y, _ = data
    fits = [
        fastdescent.fit_linear(X, y, batch_size=2, max_iter=2, random_state=seed)
        for seed in (5, np.random.default_rng(5), np.random.SeedSequence(5))
    ]
    for fit in fits[1:]:
        assert_same_bits(fit.coef, fits[0].coef)
    legacy = fastdescent.fit_linear(X, y, batch_size=2, max_iter=2, random_state=np.random.RandomState(0))
    assert np.isfinite(legacy.coef).all()


def test_read_only_memory_mapped_and_pandas_inputs(backend, data, tmp_path):
    X, y, _ = data
    expected = fastdescent.fit_linear(X, y, batch_size=4, max_iter=2, random_state=0, backend=backend)

    read_only = X.copy()
    read_only.flags.writeable = False
    path = tmp_path / "X.dat"
    mapped = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    mapped[:] = X
    mapped.flush()
    mapped = np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
    pd = pytest.importorskip("pandas")
    for X_like, y_like in [(read_only, y), (mapped, y), (pd.DataFrame(X), pd.Series(y))]:
        fit = fastdescent.fit_linear(X_like, y_like, batch_size=4, max_iter=2, random_state=0, backend=backend)
        assert_same_bits(fit.coef, expected.coef)
        assert_same_bits(fit.intercept, expected.intercept)


def test_bool_input_is_float64(backend):
    X = np.array([[True, False], [False, True], [True, True]])
    loss, grad_w, _ = fastdescent.mse_loss_grad(X, [1, 0, 1], [0.5, 0.5], backend=backend)
    assert grad_w.dtype == np.float64 and type(loss) is np.float64


def test_values_too_large_for_float32_are_named():
    X = np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match=r"y \(converted to float32\) contains NaN or infinity at index 1"):
        fastdescent.fit_linear(X, np.array([1.0, 1e300, 2.0]))
    with pytest.raises(ValueError, match="lr=1e\\+300 is not a positive finite float32"):
        fastdescent.fit_linear(X, np.ones(3), lr=1e300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("where", [0, 1, 65_535, 65_536, 99_999, 150_000 - 1])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, "nan-payload"])
def test_large_arrays_are_checked_natively_and_every_bad_value_is_found(monkeypatch, dtype, where, bad):
    """From NATIVE_CHECK_SIZE values the C++ extension checks (on the cores, in pieces): a bad value
    in any piece, at either end, is found; so is a bad value among finite ones whose sum overflows."""
    from fastdescent import _validation

    values = np.linspace(-1, 1, 150_000).astype(dtype)
    if bad == "nan-payload":
        values.view(np.uint32 if dtype == np.float32 else np.uint64)[where] |= np.uint64(0x7FF8_0000_0000_0123) if (
            dtype == np.float64) else np.uint32(0x7FC0_0123)  # fmt: skip
    else:
        values[where] = bad
    for native in (True, False):
        if not native:
            monkeypatch.setattr(_validation, "NATIVE_CHECK_SIZE", 10**12)
        with pytest.raises(ValueError, match=f"g contains NaN or infinity at index {where}"):
            _validation.check_finite(values, "g")
    huge = np.full(200_000, np.finfo(dtype).max, dtype)  # finite, with an overflowing sum
    _validation.check_finite(huge, "g")
    monkeypatch.setattr(_validation, "NATIVE_CHECK_SIZE", 1)
    _validation.check_finite(huge, "g")


def test_the_native_check_works_whatever_simd_path_is_forced(monkeypatch):
    """Input checks run for every backend: a FASTDESCENT_SIMD that names no build here is reported by
    the C++ kernels, not by the check of a Numba fit's input."""
    if "numba" not in fastdescent.available_backends():
        pytest.skip("Numba is not installed")
    X, y = np.ones((70_000, 2)), np.ones(70_000)
    monkeypatch.setenv("FASTDESCENT_SIMD", "sse9")
    fastdescent.fit_linear(X, y, max_iter=1, backend="numba")


@pytest.mark.parametrize("batch_size", [None, 4])
def test_a_huge_max_iter_costs_what_the_epochs_run_cost(batch_size):
    """With no stopping rule one native call took all of max_iter: 10**12 epochs was a MemoryError
    (7 TiB of history) before the fit could diverge in its third epoch."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(fastdescent.DivergenceError, match="epoch [23]"):
        fastdescent.fit_linear(X * 100, X @ [1.0, 2.0, 3.0], lr=1.0, max_iter=10**12, batch_size=batch_size)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own
def test_array_subclasses_and_byte_orders_are_read_as_plain_arrays():
    """np.matrix as a plain view, big-endian floats in the machine's order: every backend the same
    bits; a masked array is refused by name (the kernels would read what numpy's sums skip)."""
    X = np.arange(1.0, 13.0).reshape(4, 3)
    y = np.array([1.0, 0.0, 2.0, 1.0])
    expected = fastdescent.mse_loss_grad(X, y, np.ones(3), backend="numpy")
    for backend in fastdescent.available_backends():
        for X_in, y_in in ((np.matrix(X), y), (X.astype(">f8"), y.astype(">f8"))):
            got = fastdescent.mse_loss_grad(X_in, y_in, np.ones(3), backend=backend)
            assert np.float64(got[0]).view(np.uint64) == np.float64(expected[0]).view(np.uint64)
            np.testing.assert_array_equal(got[1].view(np.uint64), expected[1].view(np.uint64))
        fit = fastdescent.fit_linear(X.astype(">f4"), y, max_iter=3, lr=0.001, backend=backend)
        assert fit.coef.dtype == np.float32 and fit.coef.dtype.isnative
        with pytest.raises(TypeError, match="X is a numpy masked array"):
            fastdescent.mse_loss_grad(np.ma.masked_array(X, mask=np.eye(4, 3, dtype=bool)), y, np.ones(3),
                                      backend=backend)  # fmt: skip
        with pytest.raises(TypeError, match=r"grads\[0\] is a numpy masked array"):
            fastdescent.optim.SGD([np.ones(3)], lr=0.1, backend=backend).step([np.ma.masked_invalid([1, np.nan, 1])])
        matrix = np.matrix([[1.0, 2.0, 3.0]])
        fastdescent.optim.Adam([matrix], backend=backend).step([np.ones((1, 3))])
        np.testing.assert_allclose(np.asarray(matrix), [[0.999, 1.999, 2.999]])


def test_an_integer_beyond_float64_is_refused_by_name():
    with pytest.raises(ValueError, match="lr must be a finite number"):
        fastdescent.fit_linear(np.ones((3, 2)), np.ones(3), lr=10**400)
    with pytest.raises(ValueError, match="momentum"):
        fastdescent.optim.SGD([np.ones(2)], lr=0.1, momentum=-(10**400))
