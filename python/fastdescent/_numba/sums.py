"""A batch's canonical sums (section 2 of reduction-order.md) as explicit loops, as cpp/row_sums.hpp.

Blocks of 256 positions add rows one after another from -0.0; block partials combine by the
adjacent-pair tree, streamed as a binary counter (merge the top two while they cover equal numbers
of blocks, fold from the right at the end) exactly as cpp/canonical_sum.hpp does.  Each row's dot
product and its share of the sums are vector code inlined into the row loop (``lane_dot_at``,
``add_scaled_at``), while the row is in the first-level cache.

It takes arrays, not records: reading an array out of a record inside a kernel counts a reference
on it (an atomic add), and per-sample SGD paid that on every step (see ``fit.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._order import BLOCK_ROWS, LANE_BYTES
from .._units import losses
from . import units  # noqa: F401  (the units' compiled definitions)
from .intrinsics import add_scaled_at, lane_dot_at, prefetch
from .jit import inlined

PREFETCH_ROWS = 8  # a shuffled batch asks for the row this many positions ahead, as in C++
MAX_TREE_DEPTH = 64  # the pair tree of up to 2**63 blocks


class Workspace(NamedTuple):
    """Scratch space of one kernel call, allocated once: the pair tree's stack of block partials
    and the number of blocks each covers, and an empty row list (rows in natural order)."""

    stack: np.ndarray
    covered: np.ndarray
    natural_order: np.ndarray


def new_workspace(dtype: np.dtype, d: int) -> Workspace:
    """Allocated by the caller, in Python, so that a kernel can borrow it (``intrinsics.borrowed``)."""
    return Workspace(np.empty((MAX_TREE_DEPTH, d + 2), dtype), np.empty(MAX_TREE_DEPTH, np.int64), np.empty(0, np.int64))


@inlined
def _prefetch_row(X, y, i):
    # Every 64 bytes from the row's start, and its last value: together every cache line it
    # touches (numpy's large arrays start 16 bytes past a page, so rows straddle lines).
    d = X.shape[1]
    for k in range(0, d, LANE_BYTES // X.itemsize):
        prefetch(X, i * d + k)
    prefetch(X, i * d + d - 1)
    prefetch(y, i)


@inlined
def _merge_top(stack, covered, depth):
    left, right = stack[depth - 2], stack[depth - 1]
    for k in range(left.shape[0]):
        left[k] = left[k] + right[k]
    covered[depth - 2] += covered[depth - 1]
    return depth - 1


@inlined
def batch_sums(X, y, weights, order, first, m, w, b, loss, stack, covered, sums, q_out):
    """(sum q x, sum q, sum of loss terms) over batch positions first..first+m-1 of ``order``.

    ``order`` empty means rows in their natural order; ``weights`` empty, unweighted.  When
    ``q_out`` is not empty, q of position p goes to q_out[p] (SAG stores it).  ``stack`` and
    ``covered`` are the workspace's.
    """
    d = X.shape[1]
    negative_zero = X.dtype.type(-0.0)
    one = X.dtype.type(1)
    ordered = order.shape[0] > 0
    weighted = weights.shape[0] > 0
    keep_q = q_out.shape[0] > 0
    if m == 1:  # one block of one row, and -0.0 + v is v: the sums are the row's own (cpp/row_sums.hpp)
        if ordered and first + PREFETCH_ROWS < order.shape[0]:
            _prefetch_row(X, y, order[first + PREFETCH_ROWS])
        i = order[first] if ordered else first
        r = (lane_dot_at(X, i * d, w) + b) - y[i]
        q, term = losses.row_terms(r, weights[i] if weighted else one, weighted, loss)
        for j in range(d):
            sums[j] = q * X[i, j]
        sums[d] = q
        sums[d + 1] = term
        if keep_q:
            q_out[0] = q
        return
    depth = 0
    for block_start in range(0, m, BLOCK_ROWS):
        size = min(BLOCK_ROWS, m - block_start)
        acc = stack[depth]
        for k in range(d):
            acc[k] = negative_zero
        # locals, not acc[d] and acc[d + 1]: through memory each add waits for the last one's store
        sum_q = negative_zero
        sum_loss = negative_zero
        for p in range(size):
            position = first + block_start + p
            if ordered and position + PREFETCH_ROWS < order.shape[0]:
                _prefetch_row(X, y, order[position + PREFETCH_ROWS])  # rows of the next batch too
            i = order[position] if ordered else position
            r = (lane_dot_at(X, i * d, w) + b) - y[i]
            q, term = losses.row_terms(r, weights[i] if weighted else one, weighted, loss)
            add_scaled_at(acc, X, i * d, q)
            sum_q = sum_q + q
            sum_loss = sum_loss + term
            if keep_q:
                q_out[block_start + p] = q
        acc[d] = sum_q
        acc[d + 1] = sum_loss
        covered[depth] = 1
        depth += 1
        while depth >= 2 and covered[depth - 1] == covered[depth - 2]:
            depth = _merge_top(stack, covered, depth)
    while depth >= 2:
        depth = _merge_top(stack, covered, depth)
    for k in range(d + 2):
        sums[k] = stack[0, k]
