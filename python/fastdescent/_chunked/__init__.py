"""Fits on data held in chunks of rows: a ``dask.array`` (each chunk is worked on where Dask keeps it)
or a ``numpy.memmap`` (read one chunk at a time, its pages released after each), with the bits of
the in-memory fit (``docs/larger-than-memory.md``).

- ``sizes``: chunk sizes, alignment with the canonical tree, the chunked shuffle;
- ``sources``: where the chunks live (this process, or Dask) and what a task on one costs;
- ``memory``: the memory available, and pages handed back;
- ``data``: the fit's data in chunks, and the canonical sums of a chunk;
- ``epochs``: full-batch and minibatch epochs over the chunks.
"""

from __future__ import annotations

from .data import ChunkedData
from .epochs import ChunkedEpochs
from .sizes import chunk_sizes, chunked_shuffle_order, is_full_batch, shuffle_chunks
from .sources import is_chunked_input, is_dask_array

__all__ = [
    "ChunkedData",
    "ChunkedEpochs",
    "chunk_sizes",
    "chunked_shuffle_order",
    "is_chunked_input",
    "is_dask_array",
    "is_full_batch",
    "shuffle_chunks",
]
