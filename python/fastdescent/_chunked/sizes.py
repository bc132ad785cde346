"""How data is cut into chunks of rows, and the chunked shuffle (docs/larger-than-memory.md).

Full-batch descent needs every chunk but the last to hold ``256 * 2**k`` rows: each chunk's
canonical sum is then one whole subtree of the in-memory pair tree.  Minibatch SGD visits the chunks
in a seeded order and the rows of each in a seeded order (``chunked_shuffle``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

import numpy as np

from .._order import BLOCK_ROWS
from .._validation import integer

# The default chunk of a memory map (or of an in-memory chunked shuffle): this many bytes of X.
DEFAULT_CHUNK_BYTES = 64 << 20


def aligned_chunk_rows(rows: int) -> int:
    """The largest ``256 * 2**k`` that is at most ``rows`` (256 for fewer rows): a chunk of that
    many rows is one subtree of the canonical pair tree."""
    blocks = max(1, rows // BLOCK_ROWS)
    return BLOCK_ROWS << (blocks.bit_length() - 1)


# What handing one more chunk to a thread costs, counted in values summed (a pool hand-off and a
# kernel call: some microseconds).
CHUNK_DISPATCH_VALUES = 1 << 14
MAX_WEIGHED_CHUNKS = 4096  # the most chunks one candidate size is weighed with (a few ms)


def balanced_chunk_rows(n: int, d: int, threads: int) -> int:
    """The aligned chunk size (``256 * 2**k`` rows, every chunk that size but the last) whose chunks,
    each taken by whichever of ``threads`` threads frees up first, are all summed soonest.

    Equal chunks balance only when their count suits the thread count: 200 000 rows for two
    threads in chunks of 16 384 leave one thread 7 chunks and the other 5 and a short one (15%
    over the even share); chunks of 8 192 split 12 + 12 and a short one.
    """
    rows = aligned_chunk_rows(-(-n // min(64 * threads, MAX_WEIGHED_CHUNKS)))
    best_span, best_rows = None, rows
    while True:
        loads = [0] * min(threads, MAX_WEIGHED_CHUNKS)
        for size in chunk_sizes(n, rows):
            heapq.heapreplace(loads, loads[0] + size * d + CHUNK_DISPATCH_VALUES)  # to the least loaded
        if best_span is None or max(loads) < best_span:
            best_span, best_rows = max(loads), rows
        if rows >= n:
            return best_rows
        rows *= 2


def default_chunk_rows(n_features: int, dtype: np.dtype) -> int:
    return aligned_chunk_rows(DEFAULT_CHUNK_BYTES // (n_features * np.dtype(dtype).itemsize))


def chunk_sizes(n: int, chunk_rows) -> tuple[int, ...]:
    """``chunk_rows`` as a tuple of sizes covering n rows: an int (all chunks that size but the last)
    or a sequence of sizes (a Dask array's ``X.chunks[0]``; empty chunks are left out)."""
    if isinstance(chunk_rows, (int, np.integer)) and not isinstance(chunk_rows, (bool, np.bool_)):
        size = integer(chunk_rows, "chunk_rows", low=1)
        return (size,) * (n // size) + ((n % size,) if n % size else ())
    try:
        sizes = tuple(integer(size, "chunk_rows", low=0) for size in np.asarray(chunk_rows, dtype=object).ravel())
    except TypeError as error:
        raise TypeError(f"chunk_rows must be an int or a sequence of chunk sizes; got {chunk_rows!r}") from error
    if sum(sizes) != n:
        raise ValueError(f"chunk_rows {sizes} covers {sum(sizes)} rows but X has {n}")
    return tuple(size for size in sizes if size)


def shuffle_chunks(n: int, d: int, dtype, chunk_rows) -> tuple[int, ...]:
    """The chunks of an in-memory chunked shuffle: ``chunk_rows``, else about 64 MiB of X each."""
    return chunk_sizes(n, default_chunk_rows(d, dtype) if chunk_rows is None else chunk_rows)


def is_full_batch(batch_size, n: int, shuffle) -> bool:
    """Whether each epoch is one step over all rows in their order: full-batch descent, whose sums
    over chunks join along the canonical tree.  (One batch of all rows in shuffled order is not.)"""
    return batch_size is None or (batch_size >= n and not shuffle)


def is_aligned(sizes: Sequence[int]) -> bool:
    """Whether every chunk but the last holds the same ``256 * 2**k`` rows and the last no more."""
    first = sizes[0]
    return len(sizes) == 1 or (
        aligned_chunk_rows(first) == first and all(s == first for s in sizes[:-1]) and sizes[-1] <= first
    )


def chunked_shuffle(rng: np.random.Generator, sizes: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """One epoch of the chunked shuffle: ``(chunk, order of its rows)`` in visiting order.

    The chunks' order is ``rng.permutation(n_chunks)``; then, chunk by chunk in that order,
    ``rng.permutation(size)`` orders its rows.  Drawn lazily, so a streamed epoch holds one chunk's order.
    """
    for chunk in rng.permutation(len(sizes)):
        yield int(chunk), rng.permutation(sizes[chunk])


def chunked_shuffle_order(rng: np.random.Generator, sizes: Sequence[int]) -> np.ndarray:
    """The same epoch as one row order over all rows (the in-memory ``shuffle="chunked"``)."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return np.concatenate([starts[chunk] + order for chunk, order in chunked_shuffle(rng, sizes)])
