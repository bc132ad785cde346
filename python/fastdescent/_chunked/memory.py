"""Memory: how much this machine can still give, and giving back a memory map's pages."""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import sys

import numpy as np


def available_memory() -> int | None:
    """Bytes of memory this machine can still give without swapping (Linux, macOS); None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            return next(int(line.split()[1]) << 10 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


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
