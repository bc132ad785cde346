"""A batch's canonical sums (section 2 of reduction-order.md), in vectorised numpy."""

from __future__ import annotations

import numpy as np

from .._order import blocked_sum, row_dots
from .._units import losses


def batch_sums(X, y, w, b, weights, loss):
    """``(S, q)``: S = (sum q_i x_i, sum q_i, sum of the loss terms) over the rows of X in order,
    and each row's q (what the gradient weighs it by).  ``weights`` None: unweighted."""
    m, d = X.shape
    r = (row_dots(X, w) + b) - y
    q, terms = losses.row_terms(r, weights, weights is not None, loss)
    C = np.empty((m, d + 2), dtype=X.dtype)
    C[:, :d] = q[:, None] * X
    C[:, d] = q
    C[:, d + 1] = terms
    return blocked_sum(C), q


def weights_of(rows, selection=None):
    """The sample weights of the selected rows, or None for unweighted data."""
    if not rows.sample_weight.shape[0]:
        return None
    return rows.sample_weight if selection is None else rows.sample_weight[selection]
