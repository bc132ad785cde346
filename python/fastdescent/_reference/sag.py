"""SAG's gradient estimator for a linear model, vectorised (section 3.2 of reduction-order.md).

Each sample's last weighted residual is stored; a batch replaces its rows' residuals and folds the
changes into the running sums in batch position order; the step follows the average of the stored
gradients over the samples seen so far.
"""

from __future__ import annotations

import numpy as np

from .._units import objective, penalties


def direction(Xb, q, rows, memory, progress, w, loss, penalty):
    """The batch's SAG direction (d + 1 values), after storing its residuals ``q``."""
    T = Xb.dtype.type
    d = Xb.shape[1]
    # Rows are drawn with replacement, so a batch may hold a row twice.  Row by row, its second
    # occurrence finds the memory already at q (same theta): delta = q - q = +0.0, as here.
    _, first = np.unique(rows, return_index=True)
    repeated = np.ones(rows.shape[0], dtype=bool)
    repeated[first] = False
    delta = q - memory.residuals[rows]
    delta[repeated] = q[repeated] - q[repeated]
    memory.residuals[rows] = q
    progress[0]["samples_seen"] += int(np.count_nonzero(~memory.seen[rows[first]]))
    memory.seen[rows] = True
    updates = np.empty((delta.shape[0] + 1, d + 1), dtype=Xb.dtype)
    updates[0] = memory.sums
    updates[1:, :d] = delta[:, None] * Xb
    updates[1:, d] = delta
    memory.sums[:] = np.add.accumulate(updates, axis=0)[-1]
    grad = np.empty(d + 1, dtype=Xb.dtype)
    objective.gradient_from_sums(memory.sums, grad, slice(0, d + 1), T(progress[0]["samples_seen"]), loss.scale)
    penalties.add_to_gradient(grad, w, slice(0, d), penalty)
    return grad
