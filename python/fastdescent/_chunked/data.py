"""The data of a fit read in chunks: X, y and the weights validated in shape and dtype, with where
the chunks live, and the work done on one chunk (module-level functions: Dask ships them to its
workers, where they call the fit's backend by its module name)."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import numpy as np

from .._order import pair_tree
from .._records import Rows, aligned
from .._validation import check_finite, check_some_weight, integer, refuse_sparse, thread_count, working_dtype
from .sizes import aligned_chunk_rows, balanced_chunk_rows, chunk_sizes, default_chunk_rows, is_aligned
from .sources import DaskChunks, LocalChunks, is_dask_array, worth_persisting


def backend_named(module_name: str):
    return importlib.import_module(module_name)


def prepare_chunk(X, y, weights, dtype, check: bool, first_row: int):
    """The chunk in the working dtype, C-contiguous; NaN/inf named by their row in the whole X."""
    arrays = []
    for name, array in (("X", X), ("y", y), ("sample_weight", weights)):
        if array is None:
            arrays.append(np.empty(0, dtype))
            continue
        refuse_sparse(array, f"the chunk of {name} from row {first_row}")
        with np.errstate(over="ignore", invalid="ignore"):
            # Aligned too: chunks that travel between dask.distributed workers arrive unaligned.
            converted = np.require(array, dtype=dtype, requirements="CA")
        if check:
            rows = f"{name}[{first_row}:{first_row + converted.shape[0]}]"
            check_finite(converted, rows if np.asarray(array).dtype == dtype else f"{rows} (converted to {dtype})")
            if name == "sample_weight" and (converted < 0).any():
                raise ValueError(f"sample_weight must be >= 0; a value in {rows} is {converted[converted < 0][0]}")
        arrays.append(converted)
    return arrays


def chunk_sums(X, y, weights, first_row, module_name, dtype, theta, loss, n_threads, check):
    """The canonical sums of one chunk's rows at theta (a subtree of the whole data's sum)."""
    rows = Rows(*prepare_chunk(X, y, weights, dtype, check, first_row))
    return backend_named(module_name).row_sums(rows, aligned(theta), loss, n_threads)


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
        refuse_sparse(getattr(X, "_meta", None), "X's chunks")  # a Dask array's meta: what its chunks are
        if is_dask_array(X) and any(math.isnan(size) for size in X.shape):
            raise ValueError("X has unknown chunk sizes; call X.compute_chunk_sizes() first")
        n, d = (int(size) for size in X.shape)
        if n == 0 or d == 0:
            raise ValueError(f"X has no samples or no features (shape {X.shape})")
        y = _vector(y, "y", n, like=X)
        weights = None if sample_weight is None else _vector(sample_weight, "sample_weight", n, like=X)
        if weights is not None:  # one read of the weights, as the in-memory check makes
            nonzero = weights.any()
            check_some_weight(bool(nonzero.compute() if is_dask_array(nonzero) else nonzero))
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

    def sums(self, backend, theta: np.ndarray, loss, check: bool) -> np.ndarray:
        """The canonical sums of all rows at theta: chunk subtrees joined by the pair tree."""
        parts = self.chunks.map(chunk_sums, backend.__name__, self.dtype, theta, loss, self.n_threads, check)
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
    if math.isnan(values.shape[0]):
        raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first")
    if values.shape[0] != n:
        raise ValueError(f"{name} has {values.shape[0]} values but X has {n} rows")
    return values
