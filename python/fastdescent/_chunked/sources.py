"""Where the chunks live: in this process (a memory map, or an array shared by threads) or in Dask."""

from __future__ import annotations

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
