"""Where the chunks live: in this process (a memory map, or an array shared by threads) or in Dask."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .memory import available_memory, release_pages


def is_dask_array(value) -> bool:
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "chunks") and hasattr(value, "blocks")


def is_chunked_input(X) -> bool:
    """Data the fits read chunk by chunk rather than as one array: a Dask array or a memory map."""
    return is_dask_array(X) or isinstance(X, np.memmap)


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
        """``func`` on every chunk, on up to ``threads`` threads of the shared pool, each taking the
        next chunk as it frees up; the results in chunk order."""
        n_chunks = len(self.sizes)
        threads = min(self.threads, n_chunks, POOL_THREADS)
        if threads <= 1:
            return [self.apply(chunk, func, *args) for chunk in range(n_chunks)]
        results: list = [None] * n_chunks
        chunks = itertools.count()  # next() is atomic under the GIL
        stop = threading.Event()

        def work() -> None:
            for chunk in iter(lambda: next(chunks), None):
                if chunk >= n_chunks or stop.is_set():
                    return
                results[chunk] = self.apply(chunk, func, *args)

        futures = [submit(work) for _ in range(threads)]
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C: no chunk is started after it, and no worker outlives the fit
            stop.set()
            retire_pool()
            raise
        return results


# One pool for every fit of this process, as many threads as it may use cores: a fit asking for
# more threads gets these (the bits do not depend on the count), and the threads of a pool per
# distinct n_threads (3 -> 50 idle threads after n_threads = 2, 64 and 1000) are never made.
POOL_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_shared_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def submit(work: Callable):
    global _shared_pool
    with _pool_lock:
        if _shared_pool is None:
            _shared_pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="fastdescent-chunks")
        return _shared_pool.submit(work)


def retire_pool() -> None:
    """Shut the pool down, its workers done with their current chunk; the next fit makes another."""
    global _shared_pool
    with _pool_lock:
        pool, _shared_pool = _shared_pool, None
    if pool is not None:
        pool.shutdown(wait=True)


def _forget_pool_after_fork() -> None:
    # A forked child inherits the pool but not its threads: its tasks would wait forever.
    global _shared_pool, _pool_lock
    _shared_pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def aligned_block(block: np.ndarray) -> np.ndarray:
    """A chunk in C order and aligned (data sent to dask.distributed workers arrives unaligned, and
    the kernels read aligned arrays only): the same array when it is already."""
    return np.require(block, requirements="CA")


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
        if persist:  # converted once, aligned, kept on the workers: every epoch reads the same chunks
            arrays = list(dask.persist(*(array.astype(dtype).map_blocks(aligned_block, dtype=dtype) for array in arrays)))
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
