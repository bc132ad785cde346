"""What the learning rate does when the tol rule stalls: nothing (the fit has converged), or, with
scikit-learn's ``learning_rate="adaptive"``, it is divided by 5 and the fit goes on while the rate
is above ``floor`` (1e-6).

After k divisions a step's rate is ``lr / divisors[k]`` with ``divisors[k] = T(5**k)``, the exact
integer rounded once to T, computed in Python (``divisors``); with k = 0 the rate is lr itself.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import _status

ADAPTIVE_FLOOR = 1e-6
# Enough divisions for any finite rate to fall below the floor: 5**450 > 1e6 * float64's largest.
MAX_DIVISIONS = 451


class RatePolicy(NamedTuple):
    adaptive: bool
    floor: float
    divisors: np.ndarray  # T(5**k) for k = 0 .. MAX_DIVISIONS - 1 (inf past T's range); [1] if not adaptive


@functools.cache
def _divisors(dtype: np.dtype) -> np.ndarray:
    T = np.dtype(dtype).type
    values = np.empty(MAX_DIVISIONS, dtype=dtype)
    for k in range(MAX_DIVISIONS):
        try:
            with np.errstate(over="ignore"):
                values[k] = T(5**k)
        except OverflowError:
            values[k] = np.inf
    values.flags.writeable = False
    return values


def policy(dtype: np.dtype, adaptive: bool) -> RatePolicy:
    """Without ``adaptive`` the rate is never divided: one divisor (1) instead of the table (which
    would travel with every task of a fit on Dask)."""
    divisors = _divisors(np.dtype(dtype))
    return RatePolicy(bool(adaptive), ADAPTIVE_FLOOR, divisors if adaptive else divisors[:1])


def rate(lr, divisions, divisors):
    """A step's rate after ``divisions`` divisions by 5 (``divisors``: the policy's)."""
    if divisions != 0:
        return lr / divisors[min(divisions, divisors.shape[0] - 1)]
    return lr


def on_stall(last_rate, progress, policy: RatePolicy) -> int:
    """The tol rule has stalled after a step of ``last_rate`` (float64): CONVERGED, or divide."""
    p = progress[0]
    if policy.adaptive and last_rate > policy.floor:
        p["rate_divisions"] += 1
        p["stale_epochs"] = 0
        return _status.RAN_ALL
    return _status.CONVERGED
