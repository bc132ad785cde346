"""How the Numba backend compiles: one set of options for every kernel, and a cache that knows
what its kernels are made of.

No ``fastmath`` (no reassociation, no FMA contraction): the kernels must return the reference's
bits.  ``error_model="numpy"``: a float division by zero gives inf or nan as in the reference,
never a ZeroDivisionError.  ``nogil``: fits in several Python threads run in parallel.

Numba's cache checks only the source file of the function it cached, but a kernel here inlines
units from ``fastdescent._units`` and helpers from other files: after an edit to one of those, a
cached kernel would run the old code.  This package's kernels are therefore cached in a folder
named by a digest of every source file they can reach: another version of those files (an edit,
an upgrade) never reads this one's cache.  (A stamp alone would not do: Numba unpickles an index
before it compares stamps, and an index that names a record class that no longer exists fails.)
"""

from __future__ import annotations

import functools
import hashlib
import pathlib

import numba
from numba.core import caching, compiler

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
_KERNEL_SOURCES = ("_numba", "_units", "_order.py", "_status.py", "_records.py")

OPTIONS = {"fastmath": False, "error_model": "numpy", "nogil": True}

kernel = functools.partial(numba.njit, cache=True, **OPTIONS)  # an entry point, compiled once and cached
# The kernels' helpers are inlined into them by Numba (as calls they were slower: each call counts
# references, and LLVM inlines them late or not at all).  Never build a record of arrays in compiled
# code and hand it to an inlined helper that writes into it: Numba's dead-code elimination takes it
# for a fresh tuple nobody reads and drops the writes (Numba 0.68); records come from the kernels'
# arguments (borrowed: intrinsics.borrowed tells that analysis what they alias).
inlined = functools.partial(numba.njit, inline="always", **OPTIONS)


class _NoAliasCompiler(compiler.Compiler):
    def define_pipelines(self):
        self.state.flags.noalias = True
        return super().define_pipelines()


# An entry point whose arrays never overlap, promised to LLVM (``noalias`` on every pointer
# argument): its loops are vectorised without run-time overlap tests.  Only for kernels whose
# callers guarantee it (an optimizer step: a gradient that overlaps its parameter is copied first,
# overlapping parameters are refused, the state arrays are the optimizer's own).
unaliased_kernel = functools.partial(numba.njit, cache=True, pipeline_class=_NoAliasCompiler, **OPTIONS)


@functools.cache
def sources_digest() -> str:
    digest = hashlib.sha256()
    for name in _KERNEL_SOURCES:
        root = _PACKAGE / name
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _aware_of_dependencies(locator: type) -> type:
    class Locator(locator):
        def get_cache_path(self):
            return str(pathlib.Path(super().get_cache_path()) / f"fastdescent-{sources_digest()[:16]}")

        def get_source_stamp(self):
            return super().get_source_stamp(), sources_digest()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not pathlib.Path(py_file).resolve().is_relative_to(_PACKAGE / "_numba"):
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = f"Fastdescent{locator.__name__}"
    return Locator


def _install_locators() -> None:
    implementation = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    if implementation is None:  # another Numba: its default locators (a stale cache needs clearing by hand)
        return
    if any(locator.__name__.startswith("Fastdescent") for locator in implementation._locator_classes):
        return
    ours = [_aware_of_dependencies(locator) for locator in implementation._locator_classes
            if "IPython" not in locator.__name__ and "Zip" not in locator.__name__]  # fmt: skip
    implementation._locator_classes = ours + list(implementation._locator_classes)


_install_locators()
