"""scikit-learn's epsilon-insensitive loss (``EpsilonInsensitive`` in ``_sgd_fast.pyx.tp``, SVR's) of
a residual r = x.w + b - y: ``max(0, |r| - epsilon)``; its derivative 1 where ``r > epsilon``, -1
where ``r < -epsilon`` (scikit-learn's ``p - y > epsilon``, ``y - p > epsilon``), 0 inside the tube.

A row with weight s adds ``q * x`` to the gradient's sums, q that derivative (times s), and its
loss term ``|r| - epsilon`` where that is > 0, else 0 (times s); the gradient is
``1 * (sums / count)``.  The derivative is bounded: scikit-learn's clip (``derivative_clip``)
binds only below 1, and then bounds ``slope``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import real_scalar, working_scalar
from ..primitives import select

NAME = "epsilon_insensitive"
# for tests/test_units.py (the last: SGDRegressor's unweighted objective)
EXAMPLES = (
    {},
    {"epsilon": 0.0},
    {"epsilon": 0.5, "derivative_clip": 0.25, "weighted_value": False},
)


class Hyper(NamedTuple):
    NAME = NAME
    derivative_clip: np.floating  # 0: none
    epsilon: np.floating
    slope: np.floating  # the derivative's size outside the tube: 1, or derivative_clip below 1
    flat: np.floating  # 0: the derivative and the loss inside the tube
    scale: np.floating  # the gradient is scale * (sums / count): 1
    weighted_value: np.floating  # 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)


def hyper(dtype: np.dtype, epsilon: float = 0.1, derivative_clip: float = 0.0, weighted_value: bool = True) -> Hyper:
    T = np.dtype(dtype).type
    epsilon = working_scalar(real_scalar(epsilon, "epsilon", low=0.0), "epsilon", dtype)
    clip_at = working_scalar(real_scalar(derivative_clip, "derivative_clip", low=0.0), "derivative_clip", dtype)
    slope = T(min(T(1), clip_at)) if clip_at > 0 else T(1)
    return Hyper(clip_at, epsilon, slope, T(0), T(1), T(weighted_value))


def row_terms(r, s, weighted: bool, hyper: Hyper):
    """(q, loss term) of a row of residual r and weight s (ignored unless ``weighted``)."""
    excess = np.abs(r) - hyper.epsilon
    value = select(excess > hyper.flat, excess, hyper.flat)
    q = select(r > hyper.epsilon, hyper.slope, select(r < -hyper.epsilon, -hyper.slope, hyper.flat))
    if weighted:
        return s * q, (s * value if hyper.weighted_value != 0 else value)
    return q, value
