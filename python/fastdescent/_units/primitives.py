"""The operations the units share beyond element-wise arithmetic, in numpy.

The Numba backend compiles the same functions (``_numba/units.py``; its own definitions of
``lane_dot``, ``lane_abs_sum``, ``clip``, ``select`` and ``maximum``, which numpy computes on whole arrays), so a unit that calls
them runs unchanged in both backends.
"""

from __future__ import annotations

import numpy as np

from .._order import row_dots


def lane_dot(a: np.ndarray, b: np.ndarray):
    """dot(a, b) of two vectors in the canonical lane order (section 1 of reduction-order.md)."""
    return row_dots(a[None, :], b)[0]


def lane_abs_sum(w: np.ndarray):
    """sum(|w|) in the canonical lane order: ``lane_dot(|w|, ones)`` (x * 1 is x exactly)."""
    return row_dots(np.abs(w)[None, :], np.ones_like(w))[0]


def clip(value, bound):
    """``value`` clipped to [-bound, bound]; NaN stays NaN, a value on the bound stays itself."""
    return np.where(value < -bound, -bound, np.where(value > bound, bound, value))


def select(condition, if_true, if_false):
    """``if_true`` where ``condition`` holds, else ``if_false`` (a branch per element in compiled code)."""
    return np.where(condition, if_true, if_false)


def lerp(start, end, weight, keep):
    """torch's ``lerp(start, end, weight)``: ``start + weight * (end - start)`` for |weight| < 0.5, else
    ``end - (end - start) * keep`` with ``keep = 1 - weight`` (rounded in T by the caller)."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * keep


def maximum(a, b):
    """The larger of a and b; a when they are equal (NaN never reaches it)."""
    return np.where(a < b, b, a)
