"""The two operations the units need beyond element-wise arithmetic, in numpy.

The Numba backend registers compiled versions of the same functions (``_numba/primitives.py``), so
a unit that calls them runs unchanged in both backends.
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
