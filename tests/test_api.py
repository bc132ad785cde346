"""The public API: backend choice, dtypes, validation, and the caller's arrays left alone."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_same_bits, make_data

import fastdescent
from fastdescent import _backends


def test_available_backends_in_preference_order():
    available = fastdescent.available_backends()
    assert "numpy" in available
    assert list(available) == [name for name in ("cpp", "numba", "numpy") if name in available]


def test_auto_takes_the_first_available(monkeypatch):
    assert _backends.resolve("auto")[0] == fastdescent.available_backends()[0]


@pytest.mark.parametrize("name", ["numpy"] + [b for b in fastdescent.available_backends() if b != "numpy"])
def test_environment_variable_overrides_auto(monkeypatch, name):
    monkeypatch.setenv("FASTDESCENT_BACKEND", name)
    X, y, _ = make_data(0, 20, 2, np.float64, low_exp=-1, high_exp=0)
    assert fastdescent.fit_linear(X, y, max_iter=2).backend == name


def test_environment_variable_with_unknown_name(monkeypatch):
    monkeypatch.setenv("FASTDESCENT_BACKEND", "fortran")
    with pytest.raises(ValueError, match="FASTDESCENT_BACKEND"):
        fastdescent.mse_loss_grad(np.ones((2, 1)), np.ones(2), np.ones(1))


def test_show_config_reports_a_bad_environment_variable_instead_of_raising(monkeypatch, capsys):
    """Its output is what a bug report needs, most of all when the backend cannot be chosen."""
    monkeypatch.setenv("FASTDESCENT_BACKEND", "fortran")
    fastdescent.show_config()
    assert "default backend:   none: environment variable FASTDESCENT_BACKEND" in capsys.readouterr().out


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match=r"backend must be one of .*'cpp'"):
        fastdescent.fit_linear(np.ones((2, 1)), np.ones(2), backend="gpu")


def test_unavailable_backend_is_an_error_not_a_fallback(monkeypatch):
    monkeypatch.setitem(_backends._loaded, "cpp", None)
    monkeypatch.setitem(_backends._why_missing, "cpp", "ModuleNotFoundError: no _core")
    with pytest.raises(ValueError, match="not available here"):
        fastdescent.fit_linear(np.ones((2, 1)), np.ones(2), backend="cpp")


@pytest.mark.parametrize("hidden", [["fastdescent._core"], ["fastdescent._core", "numba"]])
def test_package_works_without_the_compiled_module(hidden):
    """With fastdescent._core (and Numba) hidden the package imports and fits on what is left."""
    code = (
        f"import sys; sys.modules.update(dict.fromkeys({hidden!r}))\n"
        "import numpy as np, fastdescent\n"
        "assert 'cpp' not in fastdescent.available_backends(), fastdescent.available_backends()\n"
        "r = fastdescent.fit_linear(np.arange(1., 6.)[:, None], 2 * np.arange(1., 6.) + 3, lr=0.05, max_iter=500)\n"
        "print(r.backend, round(float(r.coef[0]), 3))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == ("numpy" if "numba" in hidden or "numba" not in fastdescent.available_backends() else "numba")
    assert out[1] == "2.0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_have_the_input_dtype(backend, dtype):
    X, y, w = make_data(1, 30, 4, dtype, low_exp=-1, high_exp=0)
    loss, grad_w, grad_b = fastdescent.mse_loss_grad(X, y, w, backend=backend)
    assert type(loss) is dtype and grad_w.dtype == dtype and type(grad_b) is dtype
    fit = fastdescent.fit_linear(X, y, max_iter=2, backend=backend)
    assert fit.coef.dtype == dtype and type(fit.intercept) is dtype and fit.loss_history.dtype == np.float64


def test_other_dtypes_and_layouts_give_the_same_bits(backend):
    X, y, w = make_data(2, 40, 5, np.float64, low_exp=-1, high_exp=0)
    expected = fastdescent.fit_linear(X, y, batch_size=3, max_iter=2, random_state=0, backend=backend)
    for X_like, y_like in [
        (np.asfortranarray(X), y),
        (X.tolist(), y.tolist()),
        (np.repeat(X, 2, axis=0)[::2], np.repeat(y, 2)[::2]),  # strided views
    ]:
        fit = fastdescent.fit_linear(X_like, y_like, batch_size=3, max_iter=2, random_state=0, backend=backend)
        assert_same_bits(fit.coef, expected.coef)
    ints = fastdescent.mse_loss_grad(np.arange(6).reshape(3, 2), [1, 2, 3], [1, 1], backend=backend)
    assert ints[1].dtype == np.float64
    halves = fastdescent.mse_loss_grad(np.ones((3, 2), np.float16), np.ones(3), np.ones(2), backend=backend)
    assert halves[1].dtype == np.float32


def test_caller_arrays_are_not_modified(backend):
    X, y, w = make_data(3, 50, 4, np.float64, low_exp=-1, high_exp=0)
    lr = np.full(1000, 0.01)
    before = [a.tobytes() for a in (X, y, w, lr)]
    fastdescent.mse_loss_grad(X, y, w, backend=backend)
    fastdescent.fit_linear(X, y, lr=lr, batch_size=5, momentum=0.5, average=True, coef_init=w, backend=backend)
    fastdescent.fit_linear(X, y, solver="sag", batch_size=5, coef_init=w, backend=backend)
    assert [a.tobytes() for a in (X, y, w, lr)] == before


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lr": 0.0}, ValueError, "lr must be"),
        ({"lr": float("nan")}, ValueError, "lr must be"),
        ({"lr": np.full(3, 0.1)}, ValueError, "lr has 3 rates"),
        ({"lr": np.array([0.1, -1.0] * 100)}, ValueError, r"lr\[1\]"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"momentum": -0.1}, ValueError, "momentum"),
        ({"nesterov": True}, ValueError, "nesterov"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"l2": -1.0}, ValueError, "l2"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"solver": "lbfgs"}, ValueError, "solver must be one of"),
        ({"solver": "adam", "beta_1": 1.0}, ValueError, "beta1"),
        ({"solver": "adam", "beta_2": -0.5}, ValueError, "beta2"),
        ({"solver": "adam", "eps": -1e-8}, ValueError, "eps"),
        ({"solver": "adam", "momentum": 0.9}, ValueError, "momentum=0.9 does not apply to solver='adam'"),
        ({"solver": "sgd", "beta_1": 0.9}, ValueError, "beta_1=0.9 does not apply to solver='sgd'"),
        ({"solver": "rmsprop", "amsgrad": True}, ValueError, "amsgrad"),
        ({"solver": "rmsprop", "centered": "yes"}, TypeError, "centered"),
        ({"solver": "adamw", "weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"average": -2}, ValueError, "average"),
        ({"coef_init": np.ones(3)}, ValueError, "coef_init"),
    ],
)
def test_invalid_hyper_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        fastdescent.fit_linear(np.ones((10, 2)), np.ones(10), backend="numpy", **kwargs)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.ones(5), np.ones(5), "X must be a 2-D array"),
        (np.ones((2, 2, 2)), np.ones(2), "X must be a 2-D array"),
        (np.ones((0, 2)), np.ones(0), "no samples"),
        (np.ones((3, 0)), np.ones(3), "no features"),
        (np.ones((3, 2)), np.ones(4), "y has 4 values but X has 3 rows"),
        (np.array([[1.0], [np.nan]]), np.ones(2), r"X contains NaN or infinity at index \(1, 0\)"),
        (np.ones((2, 1)), np.array([1.0, np.inf]), "y contains NaN or infinity at index 1"),
    ],
)
def test_invalid_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        fastdescent.fit_linear(X, y)


@pytest.mark.parametrize("bad", [np.ones((2, 1), complex), np.array([["a"], ["b"]]), np.array([[None], [1]])])
def test_non_real_data_is_a_type_error(bad):
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fastdescent.mse_loss_grad(bad, np.ones(2), np.ones(1))


def test_divergence_raises_instead_of_returning_nan(backend):
    x = np.arange(1.0, 6.0)
    with pytest.raises(fastdescent.DivergenceError, match="smaller learning rate"):
        fastdescent.fit_linear(x[:, None], 2 * x + 3, lr=1.0, max_iter=1000, backend=backend)


def test_tol_stops_early_and_says_so(backend):
    X, y, _ = make_data(4, 200, 3, np.float64, low_exp=-1, high_exp=0)
    fit = fastdescent.fit_linear(X, y, lr=0.1, max_iter=10_000, tol=1e-6, backend=backend)
    assert fit.converged and fit.n_iter < 10_000 and fit.loss_history.shape == (fit.n_iter,)
    assert "converged" in fit.message
    capped = fastdescent.fit_linear(X, y, lr=0.1, max_iter=5, backend=backend)
    assert not capped.converged and capped.n_iter == 5 and "max_iter" in capped.message


def test_seeded_fits_repeat_and_seeds_matter(backend):
    X, y, _ = make_data(5, 100, 3, np.float64, low_exp=-1, high_exp=0)
    a, b, c = (fastdescent.fit_linear(X, y, batch_size=4, max_iter=2, random_state=s, backend=backend) for s in (1, 1, 2))
    assert_same_bits(a.coef, b.coef)
    assert not np.array_equal(a.coef, c.coef)
    ordered = [fastdescent.fit_linear(X, y, batch_size=4, max_iter=2, shuffle=False, random_state=s, backend=backend) for s in (1, 2)]
    assert_same_bits(ordered[0].coef, ordered[1].coef)
