"""Fits on data held in chunks of rows: a ``dask.array`` (each chunk is worked on where Dask keeps it)
or a ``numpy.memmap`` (read one chunk at a time, its pages released after each).

The bits are those of the in-memory fit (``docs/larger-than-memory.md``):

- Full-batch gradient descent: every chunk but the last holds ``256 * 2**k`` rows, so each chunk's
  canonical sum (``row_sums``, blocks of 256 inside, the pair tree across them) is one whole subtree
  of the in-memory tree, and the adjacent-pair tree over the chunk sums completes it.  Chunks that do
  not line up are rechunked once, up front.
- Minibatch SGD: the chunked shuffle (``chunked_shuffle``) visits the chunks in a seeded order and the
  rows of each in a seeded order; the kernels run the epoch in segments, one per chunk, carrying the
  rows of a batch that straddles two chunks, and the epoch's end is ``_reference.finish_epoch``.
"""

from __future__ import annotations

import ctypes
import functools
import heapq
import importlib
import math
import mmap
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import _reference
from ._reference import BLOCK_ROWS, STATUS_DIVERGED, STATUS_RAN_ALL, Step, finish_epoch, pair_tree
from ._validation import check_finite, integer, thread_count, working_dtype

# The default chunk of a memory map (or of an in-memory chunked shuffle): this many bytes of X.
DEFAULT_CHUNK_BYTES = 64 << 20


def is_dask_array(value) -> bool:
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "chunks") and hasattr(value, "blocks")


def is_chunked_input(X) -> bool:
    """Data the fits read chunk by chunk rather than as one array: a Dask array or a memory map."""
    return is_dask_array(X) or isinstance(X, np.memmap)


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


def available_memory() -> int | None:
    """Bytes of memory this machine can still give without swapping (Linux, macOS); None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            return next(int(line.split()[1]) << 10 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def worth_persisting(nbytes: int) -> bool:
    """Whether full-batch descent keeps a Dask array's chunks in memory between epochs: on a
    dask.distributed cluster (its workers' memory is what it is for), or locally when the data
    takes at most half of the memory available now.  Otherwise every epoch reads the chunks from
    their source again, one task at a time, so that data larger than memory still fits."""
    if on_cluster():
        return True
    available = available_memory()
    return available is not None and nbytes <= available // 2


def on_cluster() -> bool:
    """Whether Dask computes on a dask.distributed cluster now (rather than in this process)."""
    import dask.base

    try:
        from distributed import Client
    except ImportError:
        return False
    return isinstance(getattr(dask.base.get_scheduler(), "__self__", None), Client)


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


# -- the work done on one chunk (module-level functions: Dask ships them to its workers) ------------


def _backend(module_name: str):
    return importlib.import_module(module_name)


def _prepare(X, y, weights, dtype, check: bool, first_row: int):
    """The chunk in the working dtype, C-contiguous; NaN/inf named by their row in the whole X."""
    arrays = []
    for name, array in (("X", X), ("y", y), ("sample_weight", weights)):
        if array is None:
            arrays.append(np.empty(0, dtype))
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            converted = np.ascontiguousarray(array, dtype=dtype)
        if check:
            rows = f"{name}[{first_row}:{first_row + converted.shape[0]}]"
            check_finite(converted, rows if np.asarray(array).dtype == dtype else f"{rows} (converted to {dtype})")
            if name == "sample_weight" and (converted < 0).any():
                raise ValueError(f"sample_weight must be >= 0; a value in {rows} is {converted[converted < 0][0]}")
        arrays.append(converted)
    return arrays


def chunk_sums(X, y, weights, first_row, module_name, dtype, theta, residual_clip, n_threads, check):
    """The canonical sums of one chunk's rows at theta (a subtree of the whole data's sum)."""
    X, y, weights = _prepare(X, y, weights, dtype, check, first_row)
    d = X.shape[1]
    return _backend(module_name).row_sums(X, y, theta[:d], theta[d], weights, residual_clip, n_threads)


@dataclass(frozen=True)
class Segment:
    """What one chunk's part of an SGD epoch needs besides the chunk (small: it travels to a worker)."""

    module_name: str
    dtype: np.dtype
    order: np.ndarray  # the chunk's rows in visiting order
    carry: tuple  # (X, y, weights) rows of the previous chunks that did not fill a batch
    last: bool  # the epoch's last chunk: its final batch may be short
    state: tuple  # theta, velocity, average, counters, loss_state, epoch_sums
    lr: np.ndarray
    lr_stride: int
    epoch_size: int
    options: dict  # run_epochs keywords
    check: bool


def chunk_segment(X, y, weights, first_row, job: Segment):
    """Run the chunk's batches of an epoch; returns ``(status, loss, state, carry)``."""
    X, y, weights = _prepare(X, y, weights, job.dtype, job.check, first_row)
    module = _backend(job.module_name)
    theta, velocity, average, counters, loss_state, epoch_sums = job.state
    batch = job.options["batch_size"]
    losses, grad_norms, scores = np.empty(1), np.empty(1), np.empty(1)
    empty = np.empty(0, job.dtype)
    used_rates = 0

    def run(Xs, ys, ws, order):
        nonlocal used_rates
        rows = order.shape[1]
        steps = -(-rows // batch)
        lr = job.lr[used_rates : used_rates + steps] if job.lr_stride else job.lr
        used_rates += steps
        _, status = module.run_epochs(
            Xs, ys, ws, theta, velocity, average, empty, np.empty(0, np.bool_), empty, counters, loss_state,
            order, np.empty(0, np.int64), lr, job.lr_stride, losses, grad_norms, scores, epoch_sums, n_epochs=1,
            sag=False, adaptive=False, tol=math.nan, n_iter_no_change=1, gtol=0.0, growth_limit=math.inf,
            validation_scale=1.0, epoch_size=job.epoch_size, **job.options,
        )  # fmt: skip
        return status

    def result(status, carry):
        return status, float(losses[0]), (theta, velocity, average, counters, loss_state, epoch_sums), carry

    order = job.order
    carry_X, carry_y, carry_w = job.carry
    if carry_X.shape[0]:  # finish the batch that began in earlier chunks
        take = order[: batch - carry_X.shape[0]]
        order = order[take.shape[0] :]
        Xb = np.concatenate([carry_X, X[take]])
        yb = np.concatenate([carry_y, y[take]])
        wb = np.concatenate([carry_w, weights[take]]) if weights.shape[0] else empty
        if Xb.shape[0] < batch and not job.last:
            return result(STATUS_RAN_ALL, (Xb, yb, wb))
        status = run(Xb, yb, wb, np.empty((0, Xb.shape[0]), np.int64))
        if status != STATUS_RAN_ALL:
            return result(status, None)
    whole = order.shape[0] if job.last else order.shape[0] - order.shape[0] % batch
    if whole:
        status = run(X, y, weights, np.ascontiguousarray(order[None, :whole]))
        if status != STATUS_RAN_ALL:
            return result(status, None)
    rest = order[whole:]
    return result(STATUS_RAN_ALL, (X[rest], y[rest], weights[rest] if weights.shape[0] else empty))


# -- where the chunks live ----------------------------------------------------------------------------


class LocalChunks:
    """Chunks of arrays in this process: a memory map, read one chunk after another with the pages
    a chunk occupied handed back to the OS after it (the resident memory stays about one chunk
    however large the file); or an array whose chunk sums ``threads`` threads share (``map``), for
    a backend that sums rows on one thread only."""

    def __init__(self, X, y, weights, sizes, threads: int = 1):
        self.X, self.y, self.weights, self.sizes = X, y, weights, tuple(sizes)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.threads = threads

    def apply(self, chunk: int, func: Callable, *args):
        a, b = int(self.starts[chunk]), int(self.starts[chunk + 1])
        parts = [None if array is None else array[a:b] for array in (self.X, self.y, self.weights)]
        try:
            return func(*parts, a, *args)
        finally:
            for part in parts:
                release_pages(part)

    def map(self, func: Callable, *args) -> list:
        chunks = range(len(self.sizes))
        if self.threads <= 1:
            return [self.apply(chunk, func, *args) for chunk in chunks]
        return list(_pool(self.threads).map(lambda chunk: self.apply(chunk, func, *args), chunks))


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """A pool of this many threads, kept for the next fit (starting threads every epoch costs)."""
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="fastdescent-chunks")
        return _pools[threads]


def _forget_pools_after_fork() -> None:
    # A forked child inherits the pools but not their threads: its tasks would wait forever.
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


class DaskChunks:
    """Chunks of Dask arrays: each task runs where Dask keeps the chunk (any scheduler, including a
    ``dask.distributed`` cluster); only small arrays (theta, sums, a batch's carried rows) travel."""

    def __init__(self, X, y, weights, sizes, persist: bool, dtype):
        import dask

        self.sizes = tuple(sizes)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        arrays = [X.rechunk((self.sizes, X.shape[1])), y.rechunk((self.sizes,))]
        if weights is not None:
            arrays.append(weights.rechunk((self.sizes,)))
        if persist:  # converted once, kept on the workers: every epoch reads the same chunks
            arrays = list(dask.persist(*(array.astype(dtype) for array in arrays)))
        self._arrays = arrays  # holding the persisted arrays keeps their chunks alive on a cluster
        self._delayed = dask.delayed
        self._compute = dask.compute
        blocks = [array.to_delayed().ravel() for array in arrays]
        if weights is None:
            blocks.append([None] * len(self.sizes))
        self.blocks = list(zip(*blocks))

    def _task(self, chunk: int, func: Callable, *args):
        X, y, weights = self.blocks[chunk]
        return self._delayed(func, pure=False)(X, y, weights, int(self.starts[chunk]), *args)

    def apply(self, chunk: int, func: Callable, *args):
        return self._compute(self._task(chunk, func, *args))[0]

    def map(self, func: Callable, *args) -> list:
        return list(self._compute(*[self._task(chunk, func, *args) for chunk in range(len(self.sizes))]))


def release_pages(array) -> None:
    """Tell the OS that this process no longer needs the pages of a memory map's slice (they are
    read again from the file if touched).  Only for shared, file-backed maps ("r", "r+"), where
    dropping a page loses nothing; a no-op elsewhere."""
    if not isinstance(array, np.memmap) or getattr(array, "mode", None) not in ("r", "r+", "readonly", "readwrite"):
        return
    if array.size == 0 or sys.platform == "win32":
        return
    low, high = _byte_bounds(array)
    page = mmap.PAGESIZE
    start = -(-low // page) * page  # whole pages inside the slice only
    stop = high // page * page
    if stop > start:
        _madvise(start, stop - start)


try:
    from numpy.lib.array_utils import byte_bounds as _byte_bounds
except ImportError:  # numpy < 2
    _byte_bounds = np.byte_bounds


@functools.cache
def _libc_madvise():
    try:
        return ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None


def _madvise(address: int, length: int) -> None:
    madvise = _libc_madvise()
    if madvise is not None and hasattr(mmap, "MADV_DONTNEED"):
        madvise(ctypes.c_void_p(address), ctypes.c_size_t(length), ctypes.c_int(mmap.MADV_DONTNEED))


# -- the fit's data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkedData:
    """X, y and the weights, validated in shape and dtype (values are checked chunk by chunk, on the
    first pass), with where the chunks live."""

    n: int
    d: int
    dtype: np.dtype
    chunks: LocalChunks | DaskChunks
    n_threads: int
    checked: bool = False  # values already checked (in-memory data): the first epoch need not

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.chunks.sizes

    @classmethod
    def from_arrays(cls, X, y, sample_weight, *, chunk_rows, full_batch: bool, n_threads, dtype=None,
                    persist: bool | None = None) -> ChunkedData:  # fmt: skip
        """``full_batch``: chunks are made to line up with the canonical tree.  ``dtype``: the working
        dtype if not X's own (a partial_fit continuing a fit of another dtype).  ``persist`` keeps a Dask
        array's chunks in memory between epochs (None: ``worth_persisting`` decides, for full-batch
        descent); otherwise every epoch reads them from their source, one at a time."""
        dtype = working_dtype(X, "X") if dtype is None else np.dtype(dtype)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array (n_samples, n_features); got shape {X.shape}")
        if is_dask_array(X) and any(math.isnan(size) for size in X.shape):
            raise ValueError("X has unknown chunk sizes; call X.compute_chunk_sizes() first")
        n, d = (int(size) for size in X.shape)
        if n == 0 or d == 0:
            raise ValueError(f"X has no samples or no features (shape {X.shape})")
        y = _vector(y, "y", n, like=X)
        weights = None if sample_weight is None else _vector(sample_weight, "sample_weight", n, like=X)
        if chunk_rows is not None:
            sizes = chunk_sizes(n, chunk_rows)
        elif is_dask_array(X):
            sizes = chunk_sizes(n, X.chunks[0])
        else:
            sizes = chunk_sizes(n, default_chunk_rows(d, dtype))
        if full_batch and not is_aligned(sizes):
            sizes = chunk_sizes(n, aligned_chunk_rows(max(sizes)))
        if is_dask_array(X):
            if persist is None:
                persist = full_batch and worth_persisting(n * (d + 2) * dtype.itemsize)
            keep = persist
            chunks = DaskChunks(X, y, weights, sizes, persist=keep, dtype=dtype)
            threads = 1 if n_threads is None else integer(n_threads, "n_threads", low=1)
        else:
            chunks = LocalChunks(X, y, weights, sizes)
            threads = thread_count(n_threads)
        return cls(n, d, dtype, chunks, threads)

    @classmethod
    def threaded(cls, X, y, weights, threads: int) -> ChunkedData:
        """Validated in-memory data cut into aligned chunks for ``threads`` threads (about four
        chunks each): full-batch descent with the same bits on a backend that sums on one thread."""
        n, d = X.shape
        sizes = chunk_sizes(n, balanced_chunk_rows(n, d, threads))
        return cls(n, d, X.dtype, LocalChunks(X, y, weights if weights.shape[0] else None, sizes, threads), 1,
                   checked=True)  # fmt: skip

    def sums(self, module, theta: np.ndarray, residual_clip, check: bool) -> np.ndarray:
        """The canonical sums of all rows at theta: chunk subtrees joined by the pair tree."""
        parts = self.chunks.map(chunk_sums, module.__name__, self.dtype, theta, residual_clip, self.n_threads, check)
        return pair_tree(np.stack(parts))


def _vector(values, name: str, n: int, like):
    """y or the weights as an array of n values; a Dask array if X is one."""
    if is_dask_array(like):
        import dask.array as da

        values = values if is_dask_array(values) else da.from_array(np.asarray(values), chunks=-1)
    elif not isinstance(values, np.ndarray):
        values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {values.dtype}")
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got shape {values.shape}")
    if values.shape[0] != n:
        raise ValueError(f"{name} has {values.shape[0]} values but X has {n} rows")
    return values


# -- the epochs -------------------------------------------------------------------------------------------


class ChunkedEpochs:
    """``advance(n_epochs, losses, grad_norms, scores, following) -> (epochs run, status)`` for
    ``_engine.run`` (``following``, the next call's epochs, matters only to in-memory shuffles)."""

    def __init__(self, module, data: ChunkedData, state, plan, rates, rng):
        self.module, self.data, self.state, self.plan, self.rates, self.rng = module, data, state, plan, rates, rng
        self.checked = data.checked  # else the values of X, y and the weights are checked on the first pass

    def __call__(self, n_epochs, losses, grad_norms, scores, following=0):
        for epoch in range(n_epochs):
            full_batch = is_full_batch(self.plan.batch_size, self.data.n, self.plan.shuffle)
            status = self._full_batch_epoch(losses, epoch) if full_batch else self._minibatch_epoch(losses, epoch)
            self.checked = True
            if status == STATUS_DIVERGED:
                return epoch + 1, status
            steps = -(-self.data.n // self.plan.batch_size)
            losses[epoch], grad_norms[epoch], _, status = finish_epoch(
                self.state.epoch_sums, steps, self.state.theta, self._moving, self._last_rate(),
                self.state.counters, self.state.loss_state, tol=self.plan.tol,
                n_iter_no_change=self.plan.n_iter_no_change, adaptive=self.plan.adaptive, gtol=self.plan.gtol,
                growth_limit=self.plan.growth_limit,
            )  # fmt: skip
            if status != STATUS_RAN_ALL:
                return epoch + 1, status
        return n_epochs, STATUS_RAN_ALL

    @property
    def _moving(self) -> int:
        """Coordinates of theta that move: the coefficients, and the intercept if fitted."""
        return self.data.d + 1 if self.plan.fit_intercept else self.data.d

    def _step(self, lr, stride) -> Step:
        plan, T = self.plan, self.data.dtype.type
        return Step(T, self.data.d, T(plan.momentum), plan.nesterov, T(plan.l2), plan.fit_intercept,
                    plan.average_start, T(plan.clip_norm), lr, stride, self.state.counters[0])  # fmt: skip

    def _last_rate(self):
        lr, _ = self.rates.chunk(int(self.state.counters[0]) - 1, 1)
        return _reference.step_rate(lr[0], self.state.counters[3], self.data.dtype.type)

    def _full_batch_epoch(self, losses, epoch) -> int:
        state, T = self.state, self.data.dtype.type
        S = self.data.sums(self.module, state.theta, T(self.plan.residual_clip), check=not self.checked)
        lr, stride = self.rates.chunk(int(state.counters[0]), 1)
        state.epoch_sums[:] = T(-0.0)
        count = T(self.data.n)
        if not self._step(lr, stride).take(S, count, count, state.theta, state.velocity, state.average,
                                           state.counters, state.epoch_sums,
                                           stop_on_nonfinite=self.plan.residual_clip == 0):  # fmt: skip
            losses[epoch] = state.epoch_sums[0]
            return STATUS_DIVERGED
        return STATUS_RAN_ALL

    def _minibatch_epoch(self, losses, epoch) -> int:
        state, plan, data = self.state, self.plan, self.data
        T = data.dtype.type
        sizes = data.sizes
        if plan.shuffle:
            visits = chunked_shuffle(self.rng, sizes)
        else:
            visits = ((chunk, np.arange(size, dtype=np.int64)) for chunk, size in enumerate(sizes))
        options = dict(batch_size=plan.batch_size, momentum=T(plan.momentum), nesterov=plan.nesterov, l2=T(plan.l2),
                       fit_intercept=plan.fit_intercept, average_start=plan.average_start,
                       clip_norm=T(plan.clip_norm), residual_clip=T(plan.residual_clip),
                       n_threads=data.n_threads)  # fmt: skip
        empty = np.empty(0, data.dtype)
        carry = (np.empty((0, data.d), data.dtype), empty, empty)
        state.epoch_sums[:] = T(-0.0)
        for visited, (chunk, order) in enumerate(visits):
            last = visited == len(sizes) - 1
            rows = carry[0].shape[0] + order.shape[0]
            steps = -(-rows // plan.batch_size) if last else rows // plan.batch_size
            lr, stride = self.rates.chunk(int(state.counters[0]), steps) if steps else (np.empty(1, data.dtype), 0)
            job = Segment(self.module.__name__, data.dtype, order, carry, last,
                          (state.theta, state.velocity, state.average, state.counters, state.loss_state,
                           state.epoch_sums), lr, stride, data.n, options, check=not self.checked)  # fmt: skip
            status, loss, new_state, carry = data.chunks.apply(chunk, chunk_segment, job)
            for mine, theirs in zip(job.state, new_state):
                if mine is not theirs:
                    mine[...] = theirs
            if status != STATUS_RAN_ALL:
                losses[epoch] = loss
                return status
        return STATUS_RAN_ALL

