"""The canonical order of every floating-point reduction, executed in vectorised numpy.

This is ``docs/reduction-order.md``, sections 1 and 2, as code: the numpy reference backend runs it,
and the C++ (``cpp/canonical_sum.hpp``) and Numba (``_numba/sums.py``) kernels reproduce it bit for
bit.  Nothing here may call ``@``, ``dot``, ``einsum``, ``sum`` or BLAS: their order depends on the
CPU, the thread count and the memory layout.  ``np.add.accumulate`` is used where a sequential sum
is wanted, because each of its outputs is by definition the previous output plus the next input
(the first output is the first input, which equals ``-0.0 + input`` bit for bit).
"""

from __future__ import annotations

import numpy as np

LANE_BYTES = 64
BLOCK_ROWS = 256


def lane_count(dtype: np.dtype) -> int:
    return LANE_BYTES // np.dtype(dtype).itemsize


def row_dots(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Canonical dot product of every row of ``X`` (m, d) with ``w`` (d,).

    Lane ``j mod L`` accumulates ``x_j * w_j`` in increasing ``j`` from -0.0; the lanes then combine
    by halving.  The tail (``d mod L`` features) is a masked add into the first lanes.
    """
    m, d = X.shape
    L = lane_count(X.dtype)
    n_chunks = d // L
    full = n_chunks * L
    if n_chunks:
        products = (X[:, :full] * w[:full]).reshape(m, n_chunks, L)
        lanes = np.add.accumulate(products, axis=1)[:, -1, :].copy()
    else:
        lanes = np.full((m, L), -0.0, dtype=X.dtype)
    if d > full:
        lanes[:, : d - full] += X[:, full:] * w[full:]
    while lanes.shape[1] > 1:
        half = lanes.shape[1] // 2
        lanes = lanes[:, :half] + lanes[:, half:]
    return lanes[:, 0]


def pair_tree(partials: np.ndarray) -> np.ndarray:
    """Combine block partials (rows) by the adjacent-pair tree; an odd last one passes up."""
    while partials.shape[0] > 1:
        pairs = partials.shape[0] // 2
        combined = partials[0 : 2 * pairs : 2] + partials[1 : 2 * pairs : 2]
        if partials.shape[0] % 2:
            combined = np.concatenate([combined, partials[-1:]])
        partials = combined
    return partials[0]


def blocked_sum(C: np.ndarray) -> np.ndarray:
    """Canonical sum over the rows of ``C`` (m, k): sequential inside blocks of 256 rows, then the tree."""
    m, k = C.shape
    n_full = m // BLOCK_ROWS
    partials = []
    if n_full:
        blocks = C[: n_full * BLOCK_ROWS].reshape(n_full, BLOCK_ROWS, k)
        partials.append(np.add.accumulate(blocks, axis=1)[:, -1, :])
    if m > n_full * BLOCK_ROWS:
        partials.append(np.add.accumulate(C[n_full * BLOCK_ROWS :], axis=0)[-1:])
    return pair_tree(np.concatenate(partials))
