"""The records that cross the native boundary: every backend reads and writes them by field name.

Read-only records are NamedTuples (Numba takes them as they are; the C++ bindings read each field by
its name, ``cpp/bindings/records.hpp``).  Mutable state is arrays, updated in place; the fit's
counters are one structured record (``PROGRESS``), whose fields C++ reads by name too.  A native
call is ``run_epochs(data, state, plan, schedule, history, n_epochs)`` or
``run_segment(data, state, plan, schedule, epoch_rows)``; see ``_backends.Backend``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._units.rate_policy import RatePolicy
from ._units.stopping import Stopping

# The fit's counters and the stopping rule's memory, carried from one native call to the next.
PROGRESS = np.dtype(
    [
        ("steps", np.int64),  # steps taken (t)
        ("samples_seen", np.int64),  # samples SAG has stored a residual for
        ("stale_epochs", np.int64),  # epochs in a row without improvement (tol rule)
        ("rate_divisions", np.int64),  # divisions of the rate by 5 (learning_rate="adaptive")
        ("best_criterion", np.float64),  # best epoch loss (or minus validation score) so far
        ("first_loss", np.float64),  # the first epoch's loss, NaN until known (growth rule)
    ]
)


def new_progress() -> np.ndarray:
    return np.array([(0, 0, 0, 0, np.inf, np.nan)], dtype=PROGRESS)


class Rows(NamedTuple):
    """Rows of a linear model's data in the working dtype T, C-contiguous, never written."""

    X: np.ndarray  # (n, d)
    y: np.ndarray  # (n,)
    sample_weight: np.ndarray  # (n,), or (0,): unweighted


class FitData(NamedTuple):
    """What a native call reads besides the state."""

    rows: Rows
    orders: np.ndarray  # int64 (k, epoch rows): epoch e visits orders[e % k]; (0, n): rows 0..n-1
    validation_rows: np.ndarray  # int64; empty: no validation
    validation_scale: float  # R^2 = 1 - validation loss * scale


class SagMemory(NamedTuple):
    """SAG's gradient estimator (empty arrays when the fit is not SAG)."""

    residuals: np.ndarray  # (n,) each sample's last (weighted) residual
    seen: np.ndarray  # (n,) bool
    sums: np.ndarray  # (d + 1,) sum over samples of residual_i * (x_i, 1)


class FitState(NamedTuple):
    """Everything a fit carries from one step, and one native call, to the next (updated in place)."""

    theta: np.ndarray  # (d + 1,) the coefficients, then the intercept
    rule: NamedTuple  # the update rule's State (its arrays shaped like theta)
    penalty: NamedTuple  # the penalty's State: what it accrues between steps (elastic net's L1 share)
    average: np.ndarray  # (d + 1,) Polyak-Ruppert average
    sag: SagMemory
    progress: np.ndarray  # one PROGRESS record
    epoch_sums: np.ndarray  # (d + 2,) the running epoch loss, then the sums of its step gradients


class FitPlan(NamedTuple):
    """What every step and every epoch's end does, in the working dtype where it is arithmetic."""

    batch_size: int
    fit_intercept: bool
    loss: NamedTuple  # a loss's Hyper (``_units.losses``)
    validation_loss: NamedTuple  # the squared error's Hyper: R^2 on validation rows, whatever the loss
    penalty: NamedTuple  # a penalty's Hyper (``_units.penalties``)
    rule: NamedTuple  # an update rule's Hyper (``_units.rules``)
    average_start: int  # -1: no averaging; else average after this many steps
    sag: bool
    clip_norm: np.floating  # 0: no clipping
    stopping: Stopping
    rate_policy: RatePolicy
    n_threads: int  # for the sums over rows (the bits do not depend on it)


class Schedule(NamedTuple):
    """The per-step values of one native call, computed in Python: step ``first_step + k`` uses
    ``lr[k * stride]`` and row ``k * stride`` of the rule's table."""

    lr: np.ndarray  # T
    stride: int  # 0: one value for every step; 1: one per step
    table: NamedTuple  # the rule's Table
    first_step: int

    def part(self, offset: int, n_steps: int) -> Schedule:
        """The values of steps ``first_step + offset`` onwards (``n_steps`` of them)."""
        if not self.stride:
            return self._replace(first_step=self.first_step + offset)
        rows = slice(offset, offset + n_steps)
        return Schedule(self.lr[rows], 1, type(self.table)(*(column[rows] for column in self.table)),
                        self.first_step + offset)  # fmt: skip


class History(NamedTuple):
    """Per epoch of a call, written by the kernels (float64)."""

    losses: np.ndarray
    grad_norms: np.ndarray
    scores: np.ndarray  # R^2 on the validation rows; NaN without them


class StepInput(NamedTuple):
    """One step of a rule on a user's parameter (``fastdescent.optim``)."""

    lr: np.floating
    t: int  # steps taken before this one
    table: NamedTuple  # the rule's Table, one row


def aligned(record):
    """A record whose arrays are aligned: the same arrays when they are (in this process), aligned
    copies when they are not (arrays that a dask.distributed worker received are unaligned)."""
    if isinstance(record, np.ndarray):
        return np.require(record, requirements="A")
    if isinstance(record, tuple) and hasattr(record, "_fields"):
        return type(record)(*(aligned(field) for field in record))
    return record
