"""Learning-rate schedules: values, one array for n steps, and every entry point accepts one."""

import math

import numpy as np
import pytest
from helpers import assert_same_bits, make_data

import fastdescent
from fastdescent import schedules

CASES = [
    (schedules.constant(0.1), lambda t: 0.1),
    (schedules.step_decay(0.1, step_size=10, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 10)),
    (schedules.exponential_decay(0.1, 0.5, 20), lambda t: 0.1 * 0.5 ** (t / 20)),
    (schedules.exponential_decay(0.1, 0.5, 20, staircase=True, end_value=0.02),
     lambda t: max(0.1 * 0.5 ** (t // 20), 0.02)),
    (schedules.linear_decay(0.1, 0.01, 50), lambda t: 0.1 + (0.01 - 0.1) * min(t, 50) / 50),
    (schedules.cosine_decay(0.1, 40, alpha=0.1), lambda t: 0.1 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 40) / 40)))),
    # optax's warmup_cosine_decay_schedule: decay_steps = 40 counts the warm-up, so 30 steps of cosine
    (schedules.cosine_decay(0.1, 40, warmup_steps=10, warmup_init=0.01),
     lambda t: 0.01 + 0.09 * t / 10 if t < 10 else 0.1 * 0.5 * (1 + math.cos(math.pi * min(t - 10, 30) / 30))),
    (schedules.linear_decay(0.1, 0.0, 30), lambda t: 0.1 - 0.1 * min(t, 30) / 30),
    (schedules.inverse_scaling(0.1, power_t=0.5), lambda t: 0.1 / (t + 1) ** 0.5),
]


@pytest.mark.parametrize(("schedule", "formula"), CASES, ids=lambda c: repr(c) if isinstance(c, schedules.Schedule) else "")
def test_values_follow_the_formula(schedule, formula):
    rates = schedule.rates(120)
    assert rates.dtype == np.float64 and rates.shape == (120,)
    np.testing.assert_allclose(rates, [formula(t) for t in range(120)], rtol=1e-13)
    for t in (0, 7, 119):
        assert schedule(t) == rates[t]  # one formula: the call and the array agree exactly
    assert_same_bits(schedule.rates(30, start=50), rates[50:80])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: schedules.constant(0), "value"),
        (lambda: schedules.step_decay(0.1, 0), "step_size"),
        (lambda: schedules.exponential_decay(0.1, 1.5, 10), "decay_rate"),
        (lambda: schedules.cosine_decay(0.1, 10, alpha=2), "alpha"),
        (lambda: schedules.cosine_decay(0.1, 10, warmup_steps=10), "warmup_steps=10 leaves no decay"),
        (lambda: schedules.inverse_scaling(-1), "eta0"),
    ],
)
def test_invalid_schedules(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_fit_linear_takes_a_schedule_as_its_rates(backend):
    X, y, _ = make_data(2, 64, 3, np.float64, low_exp=-1, high_exp=0)
    schedule = schedules.cosine_decay(0.05, 32, warmup_steps=4, warmup_init=0.01)
    by_schedule = fastdescent.fit_linear(X, y, lr=schedule, batch_size=8, max_iter=4, random_state=0, backend=backend)
    by_array = fastdescent.fit_linear(X, y, lr=schedule.rates(32), batch_size=8, max_iter=4, random_state=0, backend=backend)
    assert_same_bits(by_schedule.coef, by_array.coef)


def test_every_entry_point_takes_a_schedule():
    schedule = schedules.exponential_decay(0.05, 0.5, 100)
    params = [np.zeros(2)]
    opt = fastdescent.optim.SGD(params, lr=schedule, momentum=0.5)
    opt.step([np.ones(2)])
    assert params[0][0] == -0.05
    result = fastdescent.minimize(lambda x: float(x @ x), np.ones(2), jac=lambda x: 2 * x, schedule=schedule, maxiter=3)
    assert result.nit == 3
    X, y, _ = make_data(3, 40, 2, np.float64, low_exp=-1, high_exp=0)
    assert fastdescent.fit_linear(X, y, lr=schedule, max_iter=3).n_iter == 3


def test_sgd_regressor_takes_a_schedule():
    pytest.importorskip("sklearn")
    X, y, _ = make_data(4, 60, 3, np.float64, low_exp=-1, high_exp=0)
    by_name = fastdescent.SGDRegressor(learning_rate="constant", eta0=0.02, max_iter=5, tol=None, random_state=0)
    by_schedule = fastdescent.SGDRegressor(learning_rate=schedules.constant(0.02), max_iter=5, tol=None, random_state=0)
    assert_same_bits(by_schedule.fit(X, y).coef_, by_name.fit(X, y).coef_)
    inverse = fastdescent.SGDRegressor(learning_rate=schedules.inverse_scaling(0.01, 0.25), max_iter=5, tol=None,
                                       random_state=0)  # fmt: skip
    default = fastdescent.SGDRegressor(max_iter=5, tol=None, random_state=0)  # invscaling: eta0 / t**power_t
    np.testing.assert_allclose(inverse.fit(X, y).coef_, default.fit(X, y).coef_, rtol=1e-12)


class _Piecewise(schedules.Schedule):
    """A user's schedule: values[k] from step starts[k] on (starts[0] = 0); NaN is a bad rate."""

    def __init__(self, starts, values):
        self.starts, self.values = starts, values

    def _values(self, t):
        return np.asarray(self.values, dtype=np.float64)[np.searchsorted(self.starts, t, side="right") - 1]


def _fit_raises(monkeypatch, schedule, *, draw_ahead, expected, match):
    """fit_linear of 4096 rows, where the next call's rates are drawn on a helper thread while the
    kernel runs (or, draw_ahead=False, of the same rows with that helper turned off): its error message."""
    from fastdescent import _driver

    rng = np.random.default_rng(0)
    X = rng.normal(size=(_driver.DRAW_AHEAD_ROWS, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    drawn_ahead = []
    prepare = _driver._Schedules.prepare

    def spy(self, first_step, n_steps):
        drawn_ahead.append(self.ahead is not None)
        prepare(self, first_step, n_steps)

    monkeypatch.setattr(_driver._Schedules, "prepare", spy)
    monkeypatch.setattr(_driver, "DRAW_AHEAD_ROWS", X.shape[0] if draw_ahead else X.shape[0] + 1)
    with pytest.raises(expected, match=match) as raised:
        fastdescent.fit_linear(X, y, lr=schedule, batch_size=64, max_iter=12, random_state=0)
    assert any(drawn_ahead) == draw_ahead, "the test no longer covers the rates drawn ahead"
    return str(raised.value)


def test_a_bad_rate_drawn_ahead_raises_as_without_the_helper(monkeypatch):
    # 64 steps an epoch; with the helper, calls of 1, 2, 4 and 5 epochs: step 517 is in the last,
    # drawn while the third runs.  Without it, one call of 12 epochs.
    schedule = _Piecewise([0, 8 * 64 + 5], [0.01, np.nan])
    messages = [_fit_raises(monkeypatch, schedule, draw_ahead=ahead, expected=ValueError,
                            match="the learning rate of step 517 is nan") for ahead in (True, False)]  # fmt: skip
    assert messages[0] == messages[1]


def test_rates_drawn_for_a_call_that_never_comes_are_dropped(monkeypatch):
    # The fit diverges in its second call (epochs 1-2: rate 1e6); the bad rates of the third, drawn
    # while the second ran, must not replace the divergence with their own error.
    drawn_ahead = _fit_raises(monkeypatch, _Piecewise([0, 64, 3 * 64], [0.01, 1e6, np.nan]), draw_ahead=True,
                              expected=fastdescent.DivergenceError, match="diverged")  # fmt: skip
    in_one_call = _fit_raises(monkeypatch, _Piecewise([0, 64], [0.01, 1e6]), draw_ahead=False,
                              expected=fastdescent.DivergenceError, match="diverged")  # fmt: skip
    assert drawn_ahead == in_one_call
