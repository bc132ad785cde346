"""The adaptive solvers in the fused fits: the optimizers' rules on a linear model's gradient.

Their bits across backends are in test_bitwise.py and test_units.py, their Dask bits in
test_larger_than_memory.py; here: what they compute, through the public API.
"""

import numpy as np
import pytest
from helpers import assert_same_bits

import fastdescent
from fastdescent import optim

BACKENDS = fastdescent.available_backends()
ADAPTIVE = ["adam", "adamw", "adagrad", "rmsprop", "nadam"]
OPTIMIZERS = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad, "rmsprop": optim.RMSprop,
              "nadam": optim.NAdam}  # fmt: skip


def _line(n=200, d=4, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X @ np.arange(1.0, d + 1) + 0.5).astype(dtype)
    return X, y


@pytest.mark.parametrize("solver", ADAPTIVE)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_full_batch_fit_is_the_optimizer_on_the_fits_gradient(solver, backend):
    """fit_linear(solver=...) steps theta = (coef, intercept) exactly as fastdescent.optim's optimizer
    does with mse_loss_grad's gradient: one rule, two entry points, the same bits."""
    X, y = _line()
    options = {"weight_decay": 0.05} if solver != "adamw" else {}
    fit = fastdescent.fit_linear(X, y, solver=solver, lr=0.01, max_iter=40, l2=0.01, backend=backend, **options)
    theta = np.zeros(X.shape[1] + 1)
    opt = OPTIMIZERS[solver]([theta], lr=0.01, **options, backend=backend)
    losses = []
    for _ in range(40):
        loss, grad_w, grad_b = fastdescent.mse_loss_grad(X, y, theta[:-1], theta[-1], l2=0.01, backend=backend)
        losses.append(loss)
        opt.step([np.append(grad_w, grad_b)])
    assert_same_bits(fit.coef, theta[:-1])
    assert_same_bits(fit.intercept, theta[-1])
    assert_same_bits(fit.loss_history, np.array(losses))


@pytest.mark.parametrize("solver", ADAPTIVE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adaptive_solvers_find_the_least_squares_line(solver, dtype):
    X, y = _line(dtype=dtype)
    lr = {"adagrad": 0.5}.get(solver, 0.05)
    options = {"weight_decay": 0.0} if solver == "adamw" else {}
    fit = fastdescent.fit_linear(X, y, solver=solver, lr=lr, batch_size=20, max_iter=300, random_state=0, **options)
    np.testing.assert_allclose(fit.coef, [1, 2, 3, 4], atol=0.05)
    np.testing.assert_allclose(fit.intercept, 0.5, atol=0.05)


def test_amsgrad_and_centered_change_the_steps():
    X, y = _line()
    base = {"lr": 0.01, "max_iter": 5, "batch_size": 10, "random_state": 0}
    adam = fastdescent.fit_linear(X, y, solver="adam", **base)
    assert not np.array_equal(adam.coef, fastdescent.fit_linear(X, y, solver="adam", amsgrad=True, **base).coef)
    rms = fastdescent.fit_linear(X, y, solver="rmsprop", **base)
    assert not np.array_equal(rms.coef, fastdescent.fit_linear(X, y, solver="rmsprop", centered=True, **base).coef)
    # AdamW decays by default (weight_decay=1e-2), and its decay is not Adam's coupled one
    adamw = fastdescent.fit_linear(X, y, solver="adamw", **base)
    coupled = fastdescent.fit_linear(X, y, solver="adam", weight_decay=1e-2, **base)
    assert not np.array_equal(adamw.coef, adam.coef) and not np.array_equal(adamw.coef, coupled.coef)


def test_method_is_a_deprecated_name_of_solver():
    X, y = _line()
    with pytest.warns(FutureWarning, match="solver"):
        old = fastdescent.fit_linear(X, y, method="sag", batch_size=1, max_iter=2, random_state=0)
    new = fastdescent.fit_linear(X, y, solver="sag", batch_size=1, max_iter=2, random_state=0)
    assert_same_bits(old.coef, new.coef)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="^method must be one of"):
        fastdescent.fit_linear(X, y, method="foo")
    with pytest.raises(ValueError, match="^solver must be one of"):
        fastdescent.fit_linear(X, y, solver="foo")


@pytest.mark.parametrize("solver", ADAPTIVE)
def test_sgd_regressor_runs_each_solver_with_partial_fit_and_early_stopping(solver):
    pytest.importorskip("sklearn")
    X, y = _line(n=400)
    eta0 = 0.5 if solver == "adagrad" else 0.05
    model = fastdescent.SGDRegressor(solver=solver, learning_rate="constant", eta0=eta0, max_iter=200,
                                     random_state=0, batch_size=16)  # fmt: skip
    model.fit(X, y)
    assert model.score(X, y) > 0.999
    before = model.coef_.copy()
    model.partial_fit(X[:50], y[:50])
    assert not np.array_equal(before, model.coef_)
    stopped = fastdescent.SGDRegressor(solver=solver, learning_rate="constant", eta0=eta0, early_stopping=True,
                                       n_iter_no_change=3, max_iter=500, random_state=0, batch_size=16).fit(X, y)  # fmt: skip
    assert stopped.n_iter_ < 500 and stopped.validation_scores_.max() > 0.99


def test_sgd_regressor_adam_is_adam_on_scikit_learns_objective():
    """The estimator's objective is scikit-learn's, half fit_linear's: Adam's steps do not change
    when the gradient is halved and eps with it, so they are fit_linear's with eps doubled (the
    rate is not halved, as it would be if the estimator ran on fit_linear's objective)."""
    pytest.importorskip("sklearn")
    X, y = _line()
    model = fastdescent.SGDRegressor(solver="adam", learning_rate="constant", eta0=0.01, alpha=0.0, max_iter=7,
                                     tol=None, batch_size=None, random_state=0).fit(X, y)  # fmt: skip
    fit = fastdescent.fit_linear(X, y, solver="adam", lr=0.01, eps=2e-8, max_iter=7)
    # Halving is exact (and 2e-8 is exactly twice 1e-8 in binary): the same steps, bit for bit.
    assert_same_bits(model.coef_, fit.coef, "coef")
    assert_same_bits(model.intercept_, np.atleast_1d(fit.intercept), "intercept")
    assert_same_bits(np.asarray(model.loss_history_), fit.loss_history / 2, "loss history")


def test_sgd_regressor_names_the_option_that_does_not_apply():
    pytest.importorskip("sklearn")
    X, y = _line()
    with pytest.raises(ValueError, match="beta_1=0.5 does not apply to solver='sgd'"):
        fastdescent.SGDRegressor(beta_1=0.5).fit(X, y)
    with pytest.raises(ValueError, match="solver must be one of"):
        fastdescent.SGDRegressor(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="beta2"):
        fastdescent.SGDRegressor(solver="adam", beta_2=1.0).fit(X, y)
