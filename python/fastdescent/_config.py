"""``fastdescent.show_config()``: what a bug report needs to say about this installation."""

from __future__ import annotations

import platform
import sys

import numpy as np

from . import _backends


def config() -> dict:
    """Version, backends (and why any is missing), the C++ build, and the library versions."""
    from . import __version__

    available = _backends.available_backends()
    try:
        default = _backends.resolve("auto")[0]
    except ValueError as error:  # a bad FASTDESCENT_BACKEND: what a bug report needs to show, not a crash
        default = f"none: {error}"
    info = {
        "fastdescent": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": np.__version__,
        "backends": available,
        "default backend": default,
        "missing backends": dict(_backends._why_missing),
    }
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    core = _backends._loaded.get("cpp")
    if core is not None:
        build = core.build_info()
        info["cpp compiler"] = build["compiler"]
        info["simd path"] = build["simd"]
        info["simd builds"] = ", ".join(f"{name}{'' if ok else ' (not on this CPU)'}" for name, ok in build["simd_builds"])
        info["threads"] = build["cores"]
    return info


def show_config(file=None) -> None:
    """Print :func:`config` one line per item (paste it into bug reports)."""
    for key, value in config().items():
        print(f"{key + ':':<18} {value}", file=file or sys.stdout)
