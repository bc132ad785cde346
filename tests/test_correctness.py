"""Right answers, not only equal ones: exact gradients, the step rules, and recovered coefficients."""

from fractions import Fraction

import numpy as np
import pytest
from helpers import assert_same_bits, make_data

import fastdescent

EPS = {np.float32: float(np.finfo(np.float32).eps), np.float64: float(np.finfo(np.float64).eps)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("n", "d", "seed"), [(1, 1, 0), (37, 5, 1), (300, 17, 2), (600, 9, 3)])
def test_gradient_against_exact_arithmetic(backend, dtype, n, d, seed):
    """Error of each gradient entry <= (depth of its sums) * eps * sum of the magnitudes it adds."""
    X, y, w = make_data(seed, n, d, dtype, low_exp=-3, high_exp=3)
    b, l2 = 0.5, 0.25
    loss, grad_w, grad_b = fastdescent.mse_loss_grad(X, y, w, b, l2=l2, backend=backend)
    Xf = [[Fraction(float(v)) for v in row] for row in X]
    wf = [Fraction(float(v)) for v in w]
    yf = [Fraction(float(v)) for v in y]
    bf, l2f = Fraction(b), Fraction(l2)
    r = [sum((xij * wj for xij, wj in zip(row, wf)), Fraction(0)) + bf - yi for row, yi in zip(Xf, yf)]
    r_scale = [sum(abs(xij * wj) for xij, wj in zip(row, wf)) + abs(bf) + abs(yi) for row, yi in zip(Xf, yf)]
    L = 64 // np.dtype(dtype).itemsize
    depth = d // L + L.bit_length() + 2 + min(n, 256) + (n // 256 + 1).bit_length() + 4
    bound = depth * EPS[dtype]
    for j in range(d):
        exact = 2 * sum(ri * row[j] for ri, row in zip(r, Xf)) / n + 2 * l2f * wf[j]
        scale = 2 * sum(si * abs(row[j]) for si, row in zip(r_scale, Xf)) / n + 2 * l2f * abs(wf[j])
        assert abs(Fraction(float(grad_w[j])) - exact) <= bound * scale, f"grad_w[{j}]"
    exact_b = 2 * sum(r) / n
    assert abs(Fraction(float(grad_b)) - exact_b) <= bound * 2 * sum(r_scale) / n
    exact_loss = sum(ri * ri for ri in r) / n + l2f * sum(wj * wj for wj in wf)
    loss_scale = sum(si * si for si in r_scale) / n + l2f * sum(wj * wj for wj in wf)
    assert abs(Fraction(float(loss)) - exact_loss) <= 2 * bound * loss_scale


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"average": True, "l2": 0.1}, {"solver": "sag"}])
def test_one_batch_of_all_rows_is_full_batch_gradient_descent(backend, dtype, options):
    X, y, _ = make_data(5, 700, 9, dtype, low_exp=-1, high_exp=0)
    full = fastdescent.fit_linear(X, y, lr=0.05, max_iter=6, backend=backend, **options)
    batched = fastdescent.fit_linear(X, y, lr=0.05, max_iter=6, batch_size=700, shuffle=False, backend=backend, **options)
    assert_same_bits(batched.coef, full.coef)
    assert_same_bits(batched.intercept, full.intercept)
    assert_same_bits(batched.loss_history, full.loss_history)


def hand_written_loop(X, y, lr, steps, momentum=0.0, nesterov=False):
    """The classic loop on top of mse_loss_grad, with torch.optim.SGD's momentum rule."""
    T = X.dtype.type
    lr, mu = T(lr), T(momentum)
    w, b = np.zeros(X.shape[1], X.dtype), T(0)
    vw, vb = None, None
    for _ in range(steps):
        _, gw, gb = fastdescent.mse_loss_grad(X, y, w, b, backend="numpy")
        if momentum:
            vw, vb = (gw, gb) if vw is None else (mu * vw + gw, mu * vb + gb)
            gw, gb = (gw + mu * vw, gb + mu * vb) if nesterov else (vw, vb)
        w, b = w - lr * gw, b - lr * gb
    return w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.6, True)])
def test_steps_follow_the_documented_rule(backend, dtype, momentum, nesterov):
    X, y, _ = make_data(8, 300, 4, dtype, low_exp=-1, high_exp=0)
    w, b = hand_written_loop(X, y, 0.1, 12, momentum, nesterov)
    fit = fastdescent.fit_linear(X, y, lr=0.1, max_iter=12, momentum=momentum, nesterov=nesterov, backend=backend)
    assert_same_bits(fit.coef, w)
    assert_same_bits(fit.intercept, b)


def test_averaging_is_the_running_mean_of_the_iterates(backend):
    X, y, _ = make_data(4, 120, 3, np.float64, low_exp=-1, high_exp=0)
    iterates = [fastdescent.fit_linear(X, y, lr=0.05, max_iter=k, backend=backend) for k in range(1, 9)]
    averaged = fastdescent.fit_linear(X, y, lr=0.05, max_iter=8, average=3, backend=backend)
    late = np.array([it.coef for it in iterates[3:]])  # iterates after step 3: steps 4..8
    np.testing.assert_allclose(averaged.coef, late.mean(axis=0), rtol=1e-13)
    never = fastdescent.fit_linear(X, y, lr=0.05, max_iter=8, average=8, backend=backend)
    assert_same_bits(never.coef, iterates[-1].coef)


def test_lr_array_of_one_rate_equals_scalar_rate(backend):
    X, y, _ = make_data(6, 64, 5, np.float32, low_exp=-1, high_exp=0)
    scalar = fastdescent.fit_linear(X, y, lr=0.03, batch_size=8, max_iter=4, random_state=0, backend=backend)
    array = fastdescent.fit_linear(X, y, lr=np.full(32, 0.03), batch_size=8, max_iter=4, random_state=0, backend=backend)
    assert_same_bits(array.coef, scalar.coef)
    decaying = fastdescent.fit_linear(
        X, y, lr=0.03 / np.arange(1, 33), batch_size=8, max_iter=4, random_state=0, backend=backend
    )
    assert not np.array_equal(decaying.coef, scalar.coef)


CLASSIC = {
    "gd": {"lr": 0.05},
    "sgd": {"lr": 0.02, "batch_size": 1},
    "minibatch": {"lr": 0.02, "batch_size": 2},
    "momentum": {"lr": 0.01, "batch_size": 1, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "batch_size": 1, "momentum": 0.9, "nesterov": True},
    "averaged": {"lr": 0.02, "batch_size": 1, "average": 2000},
    "sag": {"lr": 0.02, "batch_size": 1, "solver": "sag"},
}


@pytest.mark.parametrize("method", CLASSIC)
def test_every_method_recovers_the_classic_line(backend, method):
    x = np.arange(1.0, 6.0)
    fit = fastdescent.fit_linear(x[:, None], 2 * x + 3, max_iter=2000, random_state=0, backend=backend, **CLASSIC[method])
    np.testing.assert_allclose(fit.coef, [2.0], atol=1e-4)
    np.testing.assert_allclose(fit.intercept, 3.0, atol=1e-3)


@pytest.mark.parametrize("method", CLASSIC)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_method_fits_a_noisy_line(backend, method, dtype):
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 5, size=500)
    y = 2 * x + 3 + rng.normal(scale=0.1, size=500)
    options = {**CLASSIC[method], "max_iter": 30}
    if method == "gd":
        options["max_iter"] = 3000  # one step per epoch
    if method == "averaged":
        options["average"] = 5000
    if method == "sag":
        options["lr"] = 0.003  # SAG's stable rate is about 1 / (16 max ||x||^2); 0.01 oscillates here
    fit = fastdescent.fit_linear(x[:, None].astype(dtype), y.astype(dtype), random_state=0, backend=backend, **options)
    assert fit.coef.dtype == dtype and type(fit.intercept) is dtype
    np.testing.assert_allclose(fit.coef, [2.0], atol=0.05)
    np.testing.assert_allclose(fit.intercept, 3.0, atol=0.15)


def test_least_squares_solution_with_l2(backend):
    """GD with l2 converges to the ridge solution (X'X/n + l2 I) w = X'(y - b)/n."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 6))
    y = X @ rng.normal(size=6) + 0.5 + rng.normal(scale=0.1, size=400)
    fit = fastdescent.fit_linear(X, y, lr=0.2, l2=0.1, max_iter=3000, tol=0.0, n_iter_no_change=5, backend=backend)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc / 400 + 0.1 * np.eye(6), Xc.T @ yc / 400)
    np.testing.assert_allclose(fit.coef, w, atol=1e-8)
    np.testing.assert_allclose(fit.intercept, y.mean() - X.mean(axis=0) @ w, atol=1e-8)
    assert fit.converged and fit.n_iter < 3000 and len(fit.loss_history) == fit.n_iter


def test_clip_norm_bounds_every_step(backend):
    """One GD step from zero with clip_norm moves theta by exactly lr * clip_norm in norm."""
    X, y, _ = make_data(7, 100, 4, np.float64, low_exp=0, high_exp=1)
    fit = fastdescent.fit_linear(X, y * 100, lr=0.1, max_iter=1, clip_norm=0.5, backend=backend)
    step = np.append(fit.coef, fit.intercept)
    np.testing.assert_allclose(np.linalg.norm(step), 0.1 * 0.5, rtol=1e-14)
    _, grad_w, grad_b = fastdescent.mse_loss_grad(X, y * 100, np.zeros(4), backend="numpy")
    gradient = np.append(grad_w, grad_b)
    np.testing.assert_allclose(step / np.linalg.norm(step), -gradient / np.linalg.norm(gradient), rtol=1e-12)
    loose = fastdescent.fit_linear(X, y * 100, lr=0.1, max_iter=1, clip_norm=1e300, backend=backend)
    plain = fastdescent.fit_linear(X, y * 100, lr=0.1, max_iter=1, backend=backend)
    assert_same_bits(loose.coef, plain.coef)


def test_clip_norm_tames_an_exploding_fit(backend):
    x = np.arange(1.0, 6.0)
    with pytest.raises(fastdescent.DivergenceError):
        fastdescent.fit_linear(x[:, None], 2 * x + 3, lr=0.1, max_iter=500, backend=backend)
    fit = fastdescent.fit_linear(x[:, None], 2 * x + 3, lr=0.02, max_iter=3000, clip_norm=1.0, backend=backend)
    np.testing.assert_allclose([fit.coef[0], fit.intercept], [2, 3], atol=1e-3)


def test_a_loss_that_grows_without_overflowing_is_divergence(backend):
    """The loss grows by 1e10 long before it overflows: the fit stops there and says why."""
    x = np.arange(1.0, 6.0)
    with pytest.raises(fastdescent.DivergenceError, match="1e\\+10 times the first epoch"):
        fastdescent.fit_linear(x[:, None], 2 * x + 3, lr=0.1, max_iter=500, backend=backend)
