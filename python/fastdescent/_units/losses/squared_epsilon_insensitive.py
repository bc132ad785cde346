"""scikit-learn's squared epsilon-insensitive loss (``SquaredEpsilonInsensitive`` in
``_sgd_fast.pyx.tp``) of a residual r = x.w + b - y: ``max(0, |r| - epsilon)**2``; its derivative
``2 (r - epsilon)`` where ``r > epsilon``, ``2 (r + epsilon)`` where ``r < -epsilon`` (scikit-learn's
``2 (-z - epsilon)`` and ``-2 (z - epsilon)`` with z = y - p = -r: the same values, as negation is
exact), 0 inside the tube.

A row with weight s adds ``q * x`` to the gradient's sums, q = ``r - epsilon``, ``r + epsilon`` or 0
(times s), and its loss term ``e * e`` with ``e = |r| - epsilon`` where e > 0, else 0 (times s); the
gradient is ``2 * (sums / count)``.  scikit-learn's clip of the derivative (``derivative_clip``,
1e12) bounds 2 q: q is clipped to ``derivative_clip / 2`` (exact: a power of two).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import real_scalar, working_scalar
from ..primitives import clip, select

NAME = "squared_epsilon_insensitive"
# for tests/test_units.py (the last: SGDRegressor's unweighted objective)
EXAMPLES = (
    {},
    {"epsilon": 0.0},
    {"epsilon": 0.05, "derivative_clip": 0.1, "weighted_value": False},
)


class Hyper(NamedTuple):
    NAME = NAME
    derivative_clip: np.floating  # 0: none
    epsilon: np.floating
    q_bound: np.floating  # derivative_clip / 2 (with derivative_clip > 0)
    flat: np.floating  # 0: the derivative and the loss inside the tube
    scale: np.floating  # the gradient is scale * (sums / count): 2
    weighted_value: np.floating  # 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)


def hyper(dtype: np.dtype, epsilon: float = 0.1, derivative_clip: float = 0.0, weighted_value: bool = True) -> Hyper:
    T = np.dtype(dtype).type
    epsilon = working_scalar(real_scalar(epsilon, "epsilon", low=0.0), "epsilon", dtype)
    clip_at = working_scalar(real_scalar(derivative_clip, "derivative_clip", low=0.0), "derivative_clip", dtype)
    return Hyper(clip_at, epsilon, T(clip_at / T(2)), T(0), T(2), T(weighted_value))


def row_terms(r, s, weighted: bool, hyper: Hyper):
    """(q, loss term) of a row of residual r and weight s (ignored unless ``weighted``)."""
    excess = np.abs(r) - hyper.epsilon
    value = select(excess > hyper.flat, excess * excess, hyper.flat)
    q = select(r > hyper.epsilon, r - hyper.epsilon, select(r < -hyper.epsilon, r + hyper.epsilon, hyper.flat))
    if hyper.derivative_clip > 0:
        q = clip(q, hyper.q_bound)
    if weighted:
        return s * q, (s * value if hyper.weighted_value != 0 else value)
    return q, value
