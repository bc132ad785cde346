"""The powers of the step number the adaptive rules need, computed once in Python, as torch does.

They are transcendental, so no backend computes them: each step's values come from here, in
float64 (Python's ``**``, the C library's ``pow``, on each value: numpy's vectorised ``power``
may round differently on different CPUs), and are rounded once to the working dtype by the rule's
``table``.  A power that has fallen below 2**-60 leaves ``1 - power`` at exactly 1, so from that
step on nothing is computed: a fit of millions of steps calls ``pow`` a few thousand times.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

# Below this, 1 - x rounds to 1 (and 1 - c x for 0 <= c <= 1): the half-ulp of 1 is 2**-54.
NEGLIGIBLE = 2.0**-60


@lru_cache(maxsize=64)
def _last_relevant_t(base: float, per_t: float = 1.0) -> int:
    """The last t at which ``base ** (t * per_t)`` may still be >= NEGLIGIBLE (0 < base < 1)."""
    if per_t == 0 or base == 1:
        return math.inf
    if base == 0:
        return 0
    return math.ceil(math.log(NEGLIGIBLE) / (math.log(base) * per_t)) + 1


def one_minus_powers(base: float, first_t: int, count: int) -> np.ndarray:
    """``1 - base ** t`` for t = first_t, ..., first_t + count - 1 (float64, 0 <= base < 1)."""
    if count == 1:  # a step optimizer's step: no list
        return np.array([1.0 - base ** float(first_t) if first_t <= _last_relevant_t(base) else 1.0])
    values = np.ones(count)
    relevant = max(0, min(count, _last_relevant_t(base) - first_t + 1))
    values[:relevant] = [1.0 - base ** float(t) for t in range(first_t, first_t + relevant)]
    return values


def square_roots(values: np.ndarray) -> np.ndarray:
    """``x ** 0.5`` of each value, as torch takes the root of its second bias correction."""
    if values.shape == (1,):
        return np.array([float(values[0]) ** 0.5])
    roots = np.ones_like(values)
    inexact = np.flatnonzero(values != 1.0)
    roots[inexact] = [float(x) ** 0.5 for x in values[inexact]]
    return roots


def nadam_momentum(beta1: float, momentum_decay: float, t: int) -> float:
    """NAdam's momentum coefficient of step t: ``beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``."""
    return beta1 * (1.0 - 0.5 * (0.96 ** (float(t) * momentum_decay)))


class NadamSchedule:
    """NAdam's momentum coefficients mu_t and their running product prod_t = mu_1 ... mu_t (prod_0 = 1),
    multiplied in step order as torch keeps its ``mu_product``, up to the step from which mu_t is
    beta1 and 1 - prod_t is 1 (both exactly); grown on demand."""

    def __init__(self, beta1: float, momentum_decay: float):
        self.beta1, self.momentum_decay = beta1, momentum_decay
        # mu_t is constant after this step (beta1; half of it when momentum_decay is 0)
        self.last = 1 if momentum_decay == 0 else max(_last_relevant_t(0.96, momentum_decay), 1)
        self.mu = [math.nan]  # mu[t]; index 0 unused
        self.product = [1.0]  # product[t]
        self.product_settled = False  # prod_t < NEGLIGIBLE from the last computed step on

    def _grow(self, t: int) -> None:
        while len(self.mu) <= t and not (self.product_settled and len(self.mu) > self.last):
            step = len(self.mu)
            mu = nadam_momentum(self.beta1, self.momentum_decay, step)
            self.mu.append(mu)
            self.product.append(self.product[-1] * mu)
            self.product_settled = self.product[-1] < NEGLIGIBLE

    def at(self, first_t: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(mu_t, prod_t) for t = first_t .. first_t + count - 1 (float64); past the computed steps,
        mu_t is its constant tail and prod_t is 0, which leaves every value the rule computes unchanged."""
        self._grow(first_t + count - 1)
        known = max(0, min(count, len(self.mu) - first_t))
        mu = np.full(count, self.mu[-1] if len(self.mu) > 1 else self.beta1)
        product = np.zeros(count)
        mu[:known] = self.mu[first_t : first_t + known]
        product[:known] = self.product[first_t : first_t + known]
        return mu, product


@lru_cache(maxsize=8)
def nadam_schedule(beta1: float, momentum_decay: float) -> NadamSchedule:
    return NadamSchedule(beta1, momentum_decay)
