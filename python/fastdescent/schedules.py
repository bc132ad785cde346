"""Learning-rate schedules: small objects, plain functions of the step count (as in optax).

Each schedule is callable on a step (``schedule(t)``, t = 0, 1, 2, ...) and gives the rates of ``n``
steps as one float64 array (``schedule.rates(n, start=0)``), computed once in numpy.  Every backend
receives those values, so no backend's own ``exp`` or ``cos`` can change a bit of a fit.
``schedule(t)`` is ``schedule.rates(1, start=t)[0]``: the same formula, the same bits.

Every entry point that takes a learning rate takes a schedule: ``fit_linear(lr=...)``,
``SGDRegressor`` (its ``learning_rate`` names map onto these), ``minimize(schedule=...)`` and the
step optimizers of ``fastdescent.optim`` -- all but ``optim.ASGD`` and ``minimize(method="averaged")``,
whose rate is torch's ASGD formula of ``lr``, ``lambd`` and ``alpha`` (a TypeError says so).
"""

from __future__ import annotations

import numpy as np

from ._validation import integer, real_scalar

__all__ = [
    "Schedule",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "inverse_scaling",
    "linear_decay",
    "step_decay",
]


class Schedule:
    """A learning rate as a function of the step count."""

    def rates(self, n: int, start: int = 0) -> np.ndarray:
        """The rates of steps ``start, ..., start + n - 1`` as a float64 array."""
        n = integer(n, "n", low=0)
        start = integer(start, "start", low=0)
        values = self._values(np.arange(start, start + n, dtype=np.float64))
        return np.ascontiguousarray(values, dtype=np.float64)

    def __call__(self, step: int) -> float:
        return float(self.rates(1, start=step)[0])

    def at(self, steps) -> np.ndarray:
        """The rates at arbitrary (non-negative) step counts, as float64."""
        steps = np.asarray(steps, dtype=np.float64)
        if (steps < 0).any():
            raise ValueError("steps must be >= 0")
        return np.asarray(self._values(steps), dtype=np.float64)

    def _values(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(vars(self).items())))


def _rate(value, name: str) -> float:
    return real_scalar(value, name, low=0.0, low_open=True)


class constant(Schedule):
    """``value`` at every step."""

    def __init__(self, value: float):
        self.value = _rate(value, "value")

    def _values(self, t):
        return np.full(t.shape, self.value)


class step_decay(Schedule):
    """``init * gamma ** floor(t / step_size)``: multiply by gamma every step_size steps."""

    def __init__(self, init: float, step_size: int, gamma: float = 0.1):
        self.init = _rate(init, "init")
        self.step_size = integer(step_size, "step_size", low=1)
        self.gamma = real_scalar(gamma, "gamma", low=0.0, high=1.0, low_open=True)

    def _values(self, t):
        return self.init * self.gamma ** np.floor(t / self.step_size)


class exponential_decay(Schedule):
    """``init * decay_rate ** (t / decay_steps)`` (``floor`` of the exponent with staircase), never below end_value."""

    def __init__(self, init: float, decay_rate: float, decay_steps: int, *, staircase: bool = False,
                 end_value: float | None = None):  # fmt: skip
        self.init = _rate(init, "init")
        self.decay_rate = real_scalar(decay_rate, "decay_rate", low=0.0, high=1.0, low_open=True)
        self.decay_steps = integer(decay_steps, "decay_steps", low=1)
        self.staircase = bool(staircase)
        self.end_value = None if end_value is None else _rate(end_value, "end_value")

    def _values(self, t):
        exponent = t / self.decay_steps
        if self.staircase:
            exponent = np.floor(exponent)
        values = self.init * self.decay_rate**exponent
        return values if self.end_value is None else np.maximum(values, self.end_value)


class linear_decay(Schedule):
    """From ``init`` to ``end`` in a straight line over ``steps`` steps, then ``end`` (optax's
    ``linear_schedule``; ``end`` may be 0)."""

    def __init__(self, init: float, end: float, steps: int):
        self.init = _rate(init, "init")
        self.end = real_scalar(end, "end", low=0.0)
        self.steps = integer(steps, "steps", low=1)

    def _values(self, t):
        fraction = np.minimum(t, self.steps) / self.steps
        return self.init + (self.end - self.init) * fraction


class cosine_decay(Schedule):
    """Optional linear warm-up from ``warmup_init`` to ``init`` over ``warmup_steps``, then
    ``init * (alpha + (1 - alpha) * (1 + cos(pi * s / c)) / 2)`` for the s-th step after it, with
    ``c = decay_steps - warmup_steps``: ``decay_steps`` counts the whole schedule, warm-up included,
    as optax's ``warmup_cosine_decay_schedule`` (``end_value = alpha * init``) counts it; without a
    warm-up this is optax's ``cosine_decay_schedule``.  ``alpha * init`` from step ``decay_steps`` on."""

    def __init__(self, init: float, decay_steps: int, *, alpha: float = 0.0, warmup_steps: int = 0,
                 warmup_init: float = 0.0):  # fmt: skip
        self.init = _rate(init, "init")
        self.decay_steps = integer(decay_steps, "decay_steps", low=1)
        self.alpha = real_scalar(alpha, "alpha", low=0.0, high=1.0)
        self.warmup_steps = integer(warmup_steps, "warmup_steps", low=0)
        if self.warmup_steps >= self.decay_steps:
            raise ValueError(f"warmup_steps={self.warmup_steps} leaves no decay: decay_steps={self.decay_steps} "
                             "counts the whole schedule, warm-up included (as optax's)")  # fmt: skip
        self.warmup_init = real_scalar(warmup_init, "warmup_init", low=0.0)

    def _values(self, t):
        cosine_steps = self.decay_steps - self.warmup_steps
        after = np.clip(t - self.warmup_steps, 0, cosine_steps)
        cosine = self.init * (self.alpha + (1 - self.alpha) * 0.5 * (1 + np.cos(np.pi * after / cosine_steps)))
        if not self.warmup_steps:
            return cosine
        warmup = self.warmup_init + (self.init - self.warmup_init) * (t / self.warmup_steps)
        return np.where(t < self.warmup_steps, warmup, cosine)


class inverse_scaling(Schedule):
    """``eta0 / (t + offset) ** power_t``; offset 1 is scikit-learn's "invscaling" (its t starts at 1)."""

    def __init__(self, eta0: float, power_t: float = 0.25, offset: float = 1.0):
        self.eta0 = _rate(eta0, "eta0")
        self.power_t = real_scalar(power_t, "power_t", low=0.0)
        self.offset = real_scalar(offset, "offset", low=0.0, low_open=True)

    def _values(self, t):
        return self.eta0 / (t + self.offset) ** self.power_t
