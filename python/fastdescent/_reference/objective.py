"""The objective and its gradient from canonical sums: section 3.1 of reduction-order.md."""

from __future__ import annotations

import numpy as np

from .._units import objective, penalties


def loss_and_gradient(sums, w, count, loss, penalty):
    """(loss, gradient of the coefficients and the intercept, d + 1 values) of a batch of ``count`` rows."""
    d = w.shape[0]
    grad = np.empty(d + 1, dtype=w.dtype)
    objective.gradient_from_sums(sums, grad, slice(0, d + 1), count, loss.scale)
    value = penalties.add_to_loss(objective.loss_from_sums(sums, d, count), w, penalty)
    penalties.add_to_gradient(grad, w, slice(0, d), penalty)
    return w.dtype.type(value), grad
