"""scikit-learn's Huber loss of a residual r = x.w + b - y with threshold ``epsilon`` (its
``CyHuberLoss``, ``sklearn/_loss/_loss.pyx.tp``): ``½ r²`` where ``|r| <= epsilon``, else
``epsilon (|r| - ½ epsilon)``; its derivative ``clip(r, epsilon)`` (for a NaN residual NaN, where
scikit-learn's returns -epsilon: a NaN residual means the weights have stopped being finite, which
ends the fit).

A row with weight s adds ``q * x`` to the gradient's sums, q = ``clip(r, bound)`` (times s), and
its loss term ``half * (r * r)`` or ``epsilon * (|r| - half_epsilon)`` (times s) to the loss's; the
gradient is ``1 * (sums / count)``.  ``bound`` is epsilon, or scikit-learn's clip of the derivative
(``derivative_clip``, 1e12) when that is smaller: clipping at both is clipping at the smaller.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import real_scalar, working_scalar
from ..primitives import clip, select

NAME = "huber"
# for tests/test_units.py (0.05: most residuals of the tests' data are outside; 0.01: the clip binds)
EXAMPLES = ({}, {"epsilon": 0.05}, {"epsilon": 1.0, "derivative_clip": 0.01, "weighted_value": False})


class Hyper(NamedTuple):
    NAME = NAME
    derivative_clip: np.floating  # 0: none
    epsilon: np.floating
    bound: np.floating  # q = clip(r, bound): min(epsilon, derivative_clip > 0)
    half_epsilon: np.floating  # epsilon / 2, rounded once in T
    half: np.floating  # 1/2
    scale: np.floating  # the gradient is scale * (sums / count): 1
    weighted_value: np.floating  # 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)


def hyper(dtype: np.dtype, epsilon: float = 0.1, derivative_clip: float = 0.0, weighted_value: bool = True) -> Hyper:
    T = np.dtype(dtype).type
    epsilon = working_scalar(real_scalar(epsilon, "epsilon", low=0.0), "epsilon", dtype)
    clip_at = working_scalar(real_scalar(derivative_clip, "derivative_clip", low=0.0), "derivative_clip", dtype)
    bound = min(epsilon, clip_at) if clip_at > 0 else epsilon
    return Hyper(clip_at, epsilon, T(bound), T(epsilon / 2), T(0.5), T(1), T(weighted_value))


def row_terms(r, s, weighted: bool, hyper: Hyper):
    """(q, loss term) of a row of residual r and weight s (ignored unless ``weighted``)."""
    size = np.abs(r)
    value = select(size <= hyper.epsilon, hyper.half * (r * r), hyper.epsilon * (size - hyper.half_epsilon))
    q = clip(r, hyper.bound)
    if weighted:
        return s * q, (s * value if hyper.weighted_value != 0 else value)
    return q, value
