"""The epochs of a fit whose data is read in chunks, with the bits of the in-memory fit.

- Full-batch descent: each chunk's canonical sums (``row_sums``, a whole subtree of the in-memory
  tree) are joined by the pair tree, and the backend takes one step from them (``step_from_sums``).
- Minibatch SGD: the chunked shuffle visits the chunks and the rows of each; the backend runs the
  epoch in segments, one per chunk (``run_segment``), carrying the rows of a batch that straddles
  two chunks.  Each segment runs where its chunk lives (a Dask worker): the state travels with it.
- The epoch's end is the backend's (``end_epoch``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _status
from .._records import FitData, History, Rows, aligned
from .._state import steps_taken
from .._units import rate_policy
from .data import ChunkedData, backend_named, prepare_chunk
from .sizes import chunked_shuffle, is_full_batch


@dataclass(frozen=True)
class Segment:
    """What one chunk's part of an SGD epoch needs besides the chunk (small: it travels to a worker)."""

    module_name: str
    dtype: np.dtype
    order: np.ndarray  # the chunk's rows in visiting order
    carry: Rows  # rows of the previous chunks that did not fill a batch
    last: bool  # the epoch's last chunk: its final batch may be short
    state: tuple  # the fit's FitState
    plan: tuple  # the fit's FitPlan record
    schedule: tuple  # the per-step values of this chunk's steps
    epoch_rows: int
    check: bool


_NO_VALIDATION = np.empty(0, np.int64)


def chunk_segment(X, y, weights, first_row, job: Segment):
    """Run the chunk's batches of an epoch; returns ``(status, state, carry)``."""
    rows = Rows(*prepare_chunk(X, y, weights, job.dtype, job.check, first_row))
    backend = backend_named(job.module_name)
    batch = job.plan.batch_size
    state, plan, schedule_of_chunk = aligned(job.state), aligned(job.plan), aligned(job.schedule)
    steps_run = 0

    def run(part: Rows, order: np.ndarray) -> int:
        nonlocal steps_run
        steps = -(-order.shape[1] // batch)
        schedule = schedule_of_chunk.part(steps_run, steps)
        steps_run += steps
        return backend.run_segment(FitData(part, order, _NO_VALIDATION, 1.0), state, plan, schedule, job.epoch_rows)

    order = aligned(job.order)
    carry = aligned(job.carry)
    if carry.X.shape[0]:  # finish the batch that began in earlier chunks
        take = order[: batch - carry.X.shape[0]]
        order = order[take.shape[0] :]
        joined = Rows(np.concatenate([carry.X, rows.X[take]]), np.concatenate([carry.y, rows.y[take]]),
                      np.concatenate([carry.sample_weight, rows.sample_weight[take]]) if rows.sample_weight.shape[0]
                      else rows.sample_weight)  # fmt: skip
        if joined.X.shape[0] < batch and not job.last:
            return _status.RAN_ALL, state, joined
        status = run(joined, np.empty((0, joined.X.shape[0]), np.int64))
        if status != _status.RAN_ALL:
            return status, state, None
    whole = order.shape[0] if job.last else order.shape[0] - order.shape[0] % batch
    if whole:
        status = run(rows, np.ascontiguousarray(order[None, :whole]))
        if status != _status.RAN_ALL:
            return status, state, None
    rest = order[whole:]
    weights = rows.sample_weight[rest] if rows.sample_weight.shape[0] else rows.sample_weight
    return _status.RAN_ALL, state, Rows(rows.X[rest], rows.y[rest], weights)


def copy_into(mine, theirs) -> None:
    """Write a record that came back from a worker into the fit's own (the same arrays in-process)."""
    for target, source in zip(mine, theirs):
        if isinstance(target, np.ndarray):
            if target is not source:
                target[...] = source
        else:
            copy_into(target, source)


class ChunkedEpochs:
    """``advance(n_epochs, history, following) -> (epochs run, status)`` for ``_driver.run``
    (``following``, the next call's epochs, matters only to in-memory shuffles)."""

    def __init__(self, backend, data: ChunkedData, state, plan, rates, rng):
        self.backend, self.data, self.state, self.plan, self.rates, self.rng = backend, data, state, plan, rates, rng
        self.checked = data.checked  # else the values of X, y and the weights are checked on the first pass

    def __call__(self, n_epochs: int, history: History, following: int = 0):
        steps = -(-self.data.n // self.plan.batch_size)
        for epoch in range(n_epochs):
            full_batch = is_full_batch(self.plan.batch_size, self.data.n, self.plan.shuffle)
            status = self._full_batch_epoch() if full_batch else self._minibatch_epoch()
            self.checked = True
            if status != _status.RAN_ALL:
                history.losses[epoch] = self.state.epoch_sums[0]
                return epoch + 1, status
            last_rate = rate_policy.rate(self.rates.at(steps_taken(self.state) - 1),
                                         self.state.progress[0]["rate_divisions"], self.plan.kernel.rate_policy.divisors)
            status = self.backend.end_epoch(self.state, self.plan.kernel, history, epoch, steps, last_rate)
            if status != _status.RAN_ALL:
                return epoch + 1, status
        return n_epochs, _status.RAN_ALL

    def _full_batch_epoch(self) -> int:
        state, T = self.state, self.data.dtype.type
        sums = self.data.sums(self.backend, state.theta, self.plan.kernel.loss, check=not self.checked)
        state.epoch_sums[:] = T(-0.0)
        schedule = self.plan.schedule(self.rates, steps_taken(state), 1)
        return self.backend.step_from_sums(sums, self.data.n, state, self.plan.kernel, schedule, self.data.n)

    def _minibatch_epoch(self) -> int:
        state, plan, data = self.state, self.plan, self.data
        sizes = data.sizes
        if plan.shuffle:
            visits = chunked_shuffle(self.rng, sizes)
        else:
            visits = ((chunk, np.arange(size, dtype=np.int64)) for chunk, size in enumerate(sizes))
        empty = np.empty(0, data.dtype)
        carry = Rows(np.empty((0, data.d), data.dtype), empty, empty)
        state.epoch_sums[:] = data.dtype.type(-0.0)
        for visited, (chunk, order) in enumerate(visits):
            last = visited == len(sizes) - 1
            rows = carry.X.shape[0] + order.shape[0]
            steps = -(-rows // plan.batch_size) if last else rows // plan.batch_size
            job = Segment(self.backend.__name__, data.dtype, order, carry, last, state, plan.kernel,
                          plan.schedule(self.rates, steps_taken(state), max(steps, 1)), data.n,
                          check=not self.checked)  # fmt: skip
            status, new_state, carry = data.chunks.apply(chunk, chunk_segment, job)
            copy_into(state, new_state)
            if status != _status.RAN_ALL:
                return status
        return _status.RAN_ALL
