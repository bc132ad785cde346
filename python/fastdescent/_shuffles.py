"""The row orders of a fit's epochs, drawn in numpy from the fit's generator (reduction-order.md,
"Randomness and rates"), and handed to every backend."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

from ._chunked.sizes import chunked_shuffle_order


def row_orders(rng, n, train_rows, n_epochs, shuffled, sag, chunks=None, marks=None) -> np.ndarray:
    """Row orders, one per epoch: SGD visits every row once; SAG draws rows with replacement, as
    published (with a fresh permutation per epoch its stale gradients oscillate at rates that
    sampling with replacement tolerates).  No shuffle: one fixed order, or none (rows 0..n-1).
    With ``chunks``, the chunked shuffle of data larger than memory (``_chunked.sizes``).
    ``marks`` (a list) receives the generator's state after each epoch's draw."""
    if not shuffled:
        return np.empty((0, n), np.int64) if train_rows is None else train_rows[None, :]
    epoch_rows = n if train_rows is None else train_rows.shape[0]
    orders = np.empty((n_epochs, epoch_rows), dtype=np.int64)
    for row in orders:
        if chunks is not None:
            row[:] = chunked_shuffle_order(rng, chunks)
        else:
            row[:] = rng.integers(0, epoch_rows, size=epoch_rows) if sag else rng.permutation(epoch_rows)
        if train_rows is not None:
            row[:] = train_rows[row]
        if marks is not None:
            marks.append(rng.bit_generator.state)
    return orders


class Shuffles:
    """The row orders of each native call, drawn in call order from the fit's generator.

    With ``ahead`` (a one-thread executor), the next call's orders are drawn by its thread while the
    kernel runs: both release the GIL, and on a minibatch fit a permutation of n rows costs a third
    of an epoch.  The helper draws from a copy of the generator's state, which becomes the
    generator's own once its orders are taken: an interrupted fit leaves the helper to finish on its
    copy, so Ctrl-C never waits for a permutation (330 ms of 4M rows), and nothing else ever draws
    from the generator.
    Whatever was drawn for epochs that did not run (a fit that stopped early) is given back by
    ``settle``: the generator goes back to where it stood after the last epoch run, so the next fit
    or partial_fit on it sees the same stream however the epochs were cut into calls.
    """

    def __init__(self, rng: np.random.Generator, draw: Callable[[np.random.Generator, int, list], np.ndarray],
                 ahead: Executor | None):  # fmt: skip
        self.rng, self.draw = rng, draw
        self.pool = ahead
        self.pending = None
        self.current = None  # (generator state before the current call's draw, after each of its epochs)
        self.ran = 0  # epochs of the current call that ran

    def _draw(self, generator: np.random.Generator, n_epochs: int):
        marks: list = []
        before = generator.bit_generator.state
        return (before, marks), self.draw(generator, n_epochs, marks)

    def _copy(self) -> np.random.Generator:
        copy = np.random.Generator(type(self.rng.bit_generator)())
        copy.bit_generator.state = self.rng.bit_generator.state
        return copy

    def take(self, n_epochs: int, following: int) -> np.ndarray:
        if self.pending is not None:
            self.current, orders = self.pending.result()
            self.rng.bit_generator.state = self.current[1][-1] if self.current[1] else self.current[0]
        else:
            self.current, orders = self._draw(self.rng, n_epochs)
        self.ran = 0
        if self.pool is not None and following:
            self.pending = self.pool.submit(self._draw, self._copy(), following)
        else:
            self.pending = None
        return orders

    def used(self, epochs: int) -> None:
        self.ran = epochs

    def settle(self) -> None:
        if self.current is not None:
            before, marks = self.current
            if self.ran < len(marks):
                self.rng.bit_generator.state = marks[self.ran - 1] if self.ran else before
        if self.pending is not None:
            self.pending.cancel()
        self.pending = self.current = None
