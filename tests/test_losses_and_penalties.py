"""scikit-learn's losses and its L1 penalty, as scikit-learn defines them: values and derivatives
against its own Cython definitions, the truncated gradient against its algorithm written out."""

from __future__ import annotations

import numpy as np
import pytest

import fastdescent
from fastdescent._units import losses

sklearn = pytest.importorskip("sklearn")

from sklearn._loss._loss import CyHuberLoss  # noqa: E402
from sklearn.linear_model._sgd_fast import EpsilonInsensitive, SquaredEpsilonInsensitive  # noqa: E402


def _residuals(epsilon: float) -> np.ndarray:
    """Both sides of each tube edge, the edges themselves, zeros and large values."""
    edges = [epsilon, np.nextafter(epsilon, 0), np.nextafter(epsilon, 1), 2 * epsilon, epsilon / 3]
    values = [0.0, -0.0, 1e-300, 1.0, 3.5, 1e12, 1e200, *edges]
    return np.array(values + [-v for v in values])


def _sklearn(name: str, epsilon: float, r: float) -> tuple[float, float]:
    """scikit-learn's (loss, dloss) at prediction r for target 0 (its r = p - y)."""
    if name == "huber":
        loss, out = CyHuberLoss(epsilon), np.empty(1)
        kwargs = {"y_true": np.zeros(1), "raw_prediction": np.array([r]), "sample_weight": None}
        loss.loss(**kwargs, loss_out=out)
        value = out[0]
        loss.gradient(**kwargs, gradient_out=out)
        return value, out[0]
    unit = {"epsilon_insensitive": EpsilonInsensitive, "squared_epsilon_insensitive": SquaredEpsilonInsensitive}[name](epsilon)
    return unit.py_loss(r, 0.0), unit.py_dloss(r, 0.0)


@pytest.mark.parametrize("name", ["huber", "epsilon_insensitive", "squared_epsilon_insensitive"])
@pytest.mark.parametrize("epsilon", [0.1, 1.0, 0.0, 1e-8])
def test_each_loss_is_scikit_learns_value_and_derivative_to_the_bit(name, epsilon):
    unit = losses.LOSSES[name]
    hyper = unit.hyper(np.dtype(np.float64), epsilon=epsilon)
    r = _residuals(epsilon)
    with np.errstate(over="ignore"):  # 1e200 squared: inf, as scikit-learn's
        q, term = unit.row_terms(r, None, False, hyper)
    for k, residual in enumerate(r):
        value, derivative = _sklearn(name, epsilon, residual)
        assert term[k] == value, (residual, term[k], value)
        assert hyper.scale * q[k] == derivative, (residual, hyper.scale * q[k], derivative)


@pytest.mark.parametrize("backend", [b for b in ("cpp", "numba") if b in fastdescent.available_backends()])
@pytest.mark.parametrize("epsilon", [0.1, 0.0])
def test_per_sample_steps_take_each_tube_edge_as_the_reference(backend, epsilon):
    """Each backend's epsilon_insensitive derivative at residuals on, inside and outside the tube's
    edges, in a per-sample fit: with X zero and a rate of 1e-300 the intercept moves by less than
    any residual's ulp, so each row's residual is -y exactly (the edge itself), and the intercept's
    path is -1e-300 times the running sum of the rows' derivatives."""
    edges = [0.0, -0.0, epsilon, np.nextafter(epsilon, 0), np.nextafter(epsilon, 1), 2 * epsilon, epsilon / 3, 3.5]
    residuals = np.array(edges + [-v for v in edges])
    X, y = np.zeros((residuals.size, 2)), -residuals
    options = dict(loss="epsilon_insensitive", epsilon=epsilon, batch_size=1, lr=1e-300, shuffle=False, max_iter=2)
    expected = fastdescent.fit_linear(X, y, backend="numpy", **options)
    fit = fastdescent.fit_linear(X, y, backend=backend, **options)
    np.testing.assert_array_equal(np.float64(fit.intercept).view(np.uint64),
                                  np.float64(expected.intercept).view(np.uint64))  # fmt: skip
    np.testing.assert_array_equal(fit.loss_history.view(np.uint64), expected.loss_history.view(np.uint64))
    np.testing.assert_array_equal(fit.grad_norm_history.view(np.uint64), expected.grad_norm_history.view(np.uint64))


def _sklearn_l1_sgd(X, y, eta, alpha, l1_ratio, epochs):
    """scikit-learn's per-sample step with a constant rate, in rows' order, without its weight scale
    (w <- w - eta (dloss x + alpha (1 - l1_ratio) w), then the cumulative L1 truncation)."""
    w, b, u = np.zeros(X.shape[1]), 0.0, 0.0
    q = np.zeros_like(w)
    for _ in range(epochs):
        for x, target in zip(X, y):
            dloss = x @ w + b - target
            w = w - eta * (dloss * x + alpha * (1 - l1_ratio) * w)
            b = b - eta * dloss
            u += l1_ratio * eta * alpha
            z = w.copy()
            w = np.where(z > 0, np.maximum(0, z - (u + q)), np.where(z < 0, np.minimum(0, z + (u - q)), z))
            q += w - z
    return w, b


@pytest.mark.parametrize("l1_ratio", [1.0, 0.4])
def test_the_truncated_gradient_is_scikit_learns_algorithm(l1_ratio):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 6))
    y = X[:, :2] @ np.array([1.5, -1.0]) + 0.1 * rng.normal(size=200)
    alpha, eta = 0.05, 0.01
    expected_w, expected_b = _sklearn_l1_sgd(X, y, eta, alpha, l1_ratio, epochs=3)
    for backend in fastdescent.available_backends():
        model = fastdescent.SGDRegressor(penalty="elasticnet", l1_ratio=l1_ratio, alpha=alpha, learning_rate="constant",
                                         eta0=eta, shuffle=False, max_iter=3, tol=None, backend=backend).fit(X, y)  # fmt: skip
        np.testing.assert_allclose(model.coef_, expected_w, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(model.intercept_[0], expected_b, rtol=1e-12)
        assert ((model.coef_ == 0) == (expected_w == 0)).all()
    assert (expected_w[2:] == 0).any()  # the case truncates something


PARAMS = {"penalty": "l1", "alpha": 0.05, "learning_rate": "constant", "eta0": 0.01, "shuffle": False}


def test_each_partial_fit_starts_the_l1_totals_afresh_as_scikit_learn():
    """scikit-learn's _plain_sgd starts u and q at 0 on every call: two half epochs by partial_fit
    are not one epoch of fit (a coefficient held at zero is forgiven what it had not paid)."""
    from sklearn.linear_model import SGDRegressor as ScikitSGDRegressor

    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(100, 4)), rng.normal(size=100)
    for backend in fastdescent.available_backends():
        ours = fastdescent.SGDRegressor(backend=backend, **PARAMS)
        ours.partial_fit(X[:50], y[:50]).partial_fit(X[50:], y[50:])
        theirs = ScikitSGDRegressor(**PARAMS)
        theirs.partial_fit(X[:50], y[:50]).partial_fit(X[50:], y[50:])
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
        whole = fastdescent.SGDRegressor(max_iter=1, tol=None, backend=backend, **PARAMS).fit(X, y)
        assert not np.array_equal(whole.coef_, ours.coef_)


@pytest.mark.parametrize("penalty", [{"penalty": "l1"}, {"penalty": "elasticnet", "l1_ratio": 0.5}])
def test_averaging_with_l1_is_scikit_learns_average(penalty):
    """scikit-learn's lazily stored average takes a part of each truncation (its a / b, over the
    weight scale): so does ours, in one call and over several."""
    from sklearn.linear_model import SGDRegressor as ScikitSGDRegressor

    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(100, 4)), rng.normal(size=100)
    params = {**PARAMS, **penalty}
    for average in (True, 30):
        theirs = ScikitSGDRegressor(average=average, max_iter=20, tol=None, **params).fit(X, y)
        again = ScikitSGDRegressor(average=average, **params).partial_fit(X, y).partial_fit(X, y).partial_fit(X, y)
        for backend in fastdescent.available_backends():
            ours = fastdescent.SGDRegressor(average=average, max_iter=20, tol=None, backend=backend, **params).fit(X, y)
            np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9)
            ours = fastdescent.SGDRegressor(average=average, backend=backend, **params)
            ours.partial_fit(X, y).partial_fit(X, y).partial_fit(X, y)
            np.testing.assert_allclose(ours.coef_, again.coef_, rtol=1e-9, atol=1e-12)


def test_averaged_elastic_net_follows_scikit_learns_scale_through_its_reset():
    """A weight scale below 1e-9 is folded into the coefficients (scikit-learn's reset_wscale), and
    the average's share of a truncation starts again from there."""
    from sklearn.linear_model import SGDRegressor as ScikitSGDRegressor

    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(200, 3)), rng.normal(size=200)
    params = {"penalty": "elasticnet", "l1_ratio": 0.3, "alpha": 0.5, "learning_rate": "constant", "eta0": 0.05,
              "shuffle": False, "average": 10, "max_iter": 15, "tol": None}  # fmt: skip
    # the scale shrinks by 1 - 0.7 * 0.5 * 0.05 a step: below 1e-9 after ~1170 steps, twice in 3000
    theirs = ScikitSGDRegressor(**params).fit(X, y)
    for backend in fastdescent.available_backends():
        ours = fastdescent.SGDRegressor(backend=backend, **params).fit(X, y)
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8, atol=1e-12)


def test_the_penalty_may_change_between_partial_fit_calls():
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    for backend in fastdescent.available_backends():
        model = fastdescent.SGDRegressor(backend=backend).partial_fit(X, y)
        model.set_params(penalty="l1", alpha=0.01).partial_fit(X, y)
        model.set_params(penalty="elasticnet", l1_ratio=0.0).partial_fit(X, y)
        assert np.isfinite(model.coef_).all()


def test_a_float32_l1_total_does_not_stall():
    """Kahan's sum: increments far below half an ulp of u still add up (scikit-learn keeps u in
    float64; a plain float32 sum stays where it is)."""
    from fastdescent._units.penalties import elastic_net

    hyper = elastic_net.hyper(np.dtype(np.float32), l1=1.0)
    state = elastic_net.state_like(hyper, 1, np.dtype(np.float32))
    state.total[0] = 1.0
    for _ in range(10_000):
        elastic_net.accrue(state, hyper, np.float32(1e-9), np.float32(0))
    assert abs(float(state.total[0]) - (1.0 + 1e-5)) < 2e-7


def test_fit_linear_and_the_estimator_take_the_same_steps():
    """fit_linear(loss="huber", l1=a) is the estimator's objective with alpha = a, l1_ratio = 1."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(120, 3)), rng.normal(size=120)
    fit = fastdescent.fit_linear(X, y, loss="huber", epsilon=0.3, l1=0.02, batch_size=1, lr=0.01, shuffle=False,
                                 max_iter=2)  # fmt: skip
    model = fastdescent.SGDRegressor(loss="huber", epsilon=0.3, penalty="l1", alpha=0.02, learning_rate="constant",
                                     eta0=0.01, shuffle=False, max_iter=2, tol=None).fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(fit.coef.view(np.uint64), model.coef_.view(np.uint64))
