"""Which backends work here, and which one a call uses.

Each backend is a module with the same two functions, ``loss_grad`` and ``run_epochs`` (see
``_reference``).  They are imported lazily: importing fastdescent never compiles or loads Numba.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

BACKEND_NAMES = ("cpp", "numba", "numpy")
ENV_VAR = "FASTDESCENT_BACKEND"

_MODULES = {"cpp": "fastdescent._core", "numba": "fastdescent._numba", "numpy": "fastdescent._reference"}
_loaded: dict[str, ModuleType | None] = {}
_why_missing: dict[str, str] = {}


def load(name: str) -> ModuleType | None:
    if name not in _loaded:
        try:
            _loaded[name] = importlib.import_module(_MODULES[name])
        except ImportError as error:  # a missing extension or Numba: the backend is simply not here
            _loaded[name] = None
            _why_missing[name] = f"{type(error).__name__}: {error}"
    return _loaded[name]


def available_backends() -> tuple[str, ...]:
    """The backends that work here, in preference order, from ``("cpp", "numba", "numpy")``."""
    return tuple(name for name in BACKEND_NAMES if load(name) is not None)


def resolve(backend: str = "auto") -> tuple[str, ModuleType]:
    """Return ``(name, module)`` for ``backend``: a name from BACKEND_NAMES or ``"auto"``.

    ``"auto"`` takes the environment variable FASTDESCENT_BACKEND if it is set, else the first
    available backend.  An explicit name that is unavailable is an error, never a silent fallback.
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, one of {('auto',) + BACKEND_NAMES}; got {backend!r}")
    if backend == "auto":
        forced = os.environ.get(ENV_VAR, "").strip()
        if forced and forced != "auto":
            return _require(forced, source=f"environment variable {ENV_VAR}")
        return next((name, module) for name in BACKEND_NAMES if (module := load(name)) is not None)
    return _require(backend, source="backend")


def _require(name: str, source: str) -> tuple[str, ModuleType]:
    if name not in BACKEND_NAMES:
        raise ValueError(f"{source} must be one of {('auto',) + BACKEND_NAMES}; got {name!r}")
    module = load(name)
    if module is None:
        raise ValueError(
            f"{source}={name!r} is not available here ({_why_missing[name]}); "
            f"available backends: {available_backends()}"
        )
    return name, module
