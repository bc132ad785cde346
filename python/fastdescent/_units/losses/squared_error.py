"""The squared error r**2 of a residual r = x.w + b - y, in torch's ``MSELoss`` scaling, or with
``half=True`` scikit-learn's ``r**2 / 2``.

A row with weight s adds ``q * x`` to the gradient's sums and ``((s * r) * r) * value_scale`` to the
loss's; the gradient is ``scale * (sums / count)`` with ``scale = 2`` (the derivative of r**2 is 2 r)
and ``value_scale = 1``, or for the half ``scale = 1`` and ``value_scale = 1/2``.  Each is a power
of two: the half's loss, gradient and every step of plain SGD taken at twice the rate are the full
one's bits scaled exactly (until a value is subnormal).  ``derivative_clip > 0`` clips the r in q to [-clip, clip]: scikit-learn's
bound on the loss derivative (1e12), under which a fit's steps stay finite, so that only weights
that stop being finite end such a fit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..primitives import clip

NAME = "squared_error"
# for tests/test_units.py (0.05: the clip changes the steps)
EXAMPLES = ({}, {"derivative_clip": 0.05}, {"half": True, "derivative_clip": 0.05, "weighted_value": False})


class Hyper(NamedTuple):
    NAME = NAME
    derivative_clip: np.floating  # 0: none
    scale: np.floating  # the gradient is scale * (sums / count)
    value_scale: np.floating  # a row's loss term is ((s r) r) * value_scale
    weighted_value: np.floating  # 1; 0: a weighted row's loss term is its unweighted one (its q stays weighted)


def hyper(dtype: np.dtype, derivative_clip: float = 0.0, half: bool = False, weighted_value: bool = True) -> Hyper:
    T = np.dtype(dtype).type
    return Hyper(T(derivative_clip), T(1) if half else T(2), T(0.5) if half else T(1), T(weighted_value))


def row_terms(r, s, weighted: bool, hyper: Hyper):
    """(q, loss term) of a row of residual r and weight s (ignored unless ``weighted``)."""
    loss_q = s * r if weighted else r
    q = loss_q
    if hyper.derivative_clip > 0:
        clipped = clip(r, hyper.derivative_clip)
        q = s * clipped if weighted else clipped
    value_q = loss_q if hyper.weighted_value != 0 else r  # unweighted, loss_q is r
    return q, (value_q * r) * hyper.value_scale
