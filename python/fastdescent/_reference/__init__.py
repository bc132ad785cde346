"""The numpy reference backend: the canonical order of operations, executed in vectorised numpy.

Every floating-point reduction follows ``docs/reduction-order.md`` (``fastdescent._order``); the
units of a fit (``fastdescent._units``) run here on whole arrays; the C++ and Numba backends
reproduce both bit for bit.  It implements ``fastdescent._backends.Backend``.
"""

from __future__ import annotations

from .._records import Rows
from .fit import end_epoch, quiet_overflow, run_epochs, run_segment, step_from_sums
from .objective import loss_and_gradient
from .steps import rule_step
from .sums import batch_sums, weights_of

NAME = "numpy"
SUMS_ON_ONE_THREAD = False  # numpy's own loops: a thread count does not apply


@quiet_overflow
def row_sums(rows: Rows, theta, loss, n_threads=1):
    d = rows.X.shape[1]
    sums, _ = batch_sums(rows.X, rows.y, theta[:d], theta[d], weights_of(rows), loss)
    return sums


@quiet_overflow
def objective(rows: Rows, theta, loss, penalty, n_threads=1):
    return objective_from_sums(row_sums(rows, theta, loss), theta, rows.X.shape[0], loss, penalty)


@quiet_overflow
def objective_from_sums(sums, theta, count, loss, penalty):
    d = theta.shape[0] - 1
    return loss_and_gradient(sums, theta[:d], theta.dtype.type(count), loss, penalty)


__all__ = [
    "NAME",
    "SUMS_ON_ONE_THREAD",
    "end_epoch",
    "objective",
    "objective_from_sums",
    "row_sums",
    "rule_step",
    "run_epochs",
    "run_segment",
    "step_from_sums",
]
