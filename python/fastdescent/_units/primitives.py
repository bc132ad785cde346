"""The operations the units share beyond element-wise arithmetic, in numpy.

The Numba backend compiles the same functions (``_numba/units.py``; its own definitions of
``lane_dot``, ``clip`` and ``maximum``, which numpy computes on whole arrays), so a unit that calls
them runs unchanged in both backends.
"""

from __future__ import annotations

import numpy as np

from .._order import row_dots


def lane_dot(a: np.ndarray, b: np.ndarray):
    """dot(a, b) of two vectors in the canonical lane order (section 1 of reduction-order.md)."""
    return row_dots(a[None, :], b)[0]


def clip(value, bound):
    """``value`` clipped to [-bound, bound]; NaN stays NaN, a value on the bound stays itself."""
    return np.where(value < -bound, -bound, np.where(value > bound, bound, value))


def lerp(start, end, weight, keep):
    """torch's ``lerp(start, end, weight)``: ``start + weight * (end - start)`` for |weight| < 0.5, else
    ``end - (end - start) * keep`` with ``keep = 1 - weight`` (rounded in T by the caller)."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * keep


def maximum(a, b):
    """The larger of a and b; a when they are equal (NaN never reaches it)."""
    return np.where(a < b, b, a)
