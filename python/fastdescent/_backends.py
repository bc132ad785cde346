"""The backends: what each must do (``Backend``), which ones work here, and which one a call uses.

A backend is a module: ``fastdescent._core`` (C++, its stub ``_core.pyi``), ``fastdescent._numba``
and ``fastdescent._reference`` (numpy).  They are imported lazily: importing fastdescent never
compiles or loads Numba.  Every function takes and returns the named records of ``_records``, and
every backend returns the same bits for the same call.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NamedTuple, Protocol

import numpy as np

from ._records import FitData, FitPlan, FitState, History, Rows, Schedule, StepInput

BACKEND_NAMES = ("cpp", "numba", "numpy")
ENV_VAR = "FASTDESCENT_BACKEND"


class Backend(Protocol):
    """The whole interface between the driver and a backend."""

    NAME: str
    # Whether its sums over rows run on one thread: the driver then gives large full-batch fits the
    # cores by cutting X into aligned chunks (the path of data read in chunks, the same bits).
    SUMS_ON_ONE_THREAD: bool

    def row_sums(self, rows: Rows, theta: np.ndarray, loss: NamedTuple, n_threads: int) -> np.ndarray:
        """The unscaled canonical sums (d + 2 values) of all rows in order at theta: a part of a
        larger sum when the rows are one chunk of the data."""

    def objective(self, rows: Rows, theta: np.ndarray, loss: NamedTuple, penalty: NamedTuple,
                  n_threads: int) -> tuple[np.floating, np.ndarray]:  # fmt: skip
        """The loss and its gradient (d + 1 values, the intercept last) on all rows."""

    def objective_from_sums(self, sums: np.ndarray, theta: np.ndarray, count: int, loss: NamedTuple,
                            penalty: NamedTuple) -> tuple[np.floating, np.ndarray]:  # fmt: skip
        """The same from the canonical sums of ``count`` rows."""

    def run_epochs(self, data: FitData, state: FitState, plan: FitPlan, schedule: Schedule, history: History,
                   n_epochs: int) -> tuple[int, int]:  # fmt: skip
        """Up to ``n_epochs`` whole epochs, each ended by the stopping rules: ``(epochs run, status)``."""

    def run_segment(self, data: FitData, state: FitState, plan: FitPlan, schedule: Schedule, epoch_rows: int) -> int:
        """The batches of one part of an epoch of ``epoch_rows`` rows (``data.orders[0]``, or all of
        ``data``'s rows), continuing ``state.epoch_sums``; the caller ends the epoch.  A status."""

    def step_from_sums(self, sums: np.ndarray, count: int, state: FitState, plan: FitPlan, schedule: Schedule,
                       epoch_rows: int) -> int:  # fmt: skip
        """One step whose batch of ``count`` rows has these canonical sums (full batch on chunks)."""

    def end_epoch(self, state: FitState, plan: FitPlan, history: History, epoch: int, steps: int,
                  last_rate: np.floating) -> int:  # fmt: skip
        """The end of an epoch run in segments or steps (no validation rows): history[epoch], rules."""

    def rule_step(self, param: np.ndarray, grad: np.ndarray, state: NamedTuple, hyper: NamedTuple,
                  step: StepInput) -> None:  # fmt: skip
        """``hyper``'s update rule on a user's parameter and its state, in place."""


_MODULES = {"cpp": "fastdescent._core", "numba": "fastdescent._numba", "numpy": "fastdescent._reference"}
_loaded: dict[str, ModuleType | None] = {}
_why_missing: dict[str, str] = {}


def load(name: str) -> Backend | None:
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


def resolve(backend: str = "auto") -> tuple[str, Backend]:
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


def _require(name: str, source: str) -> tuple[str, Backend]:
    if name not in BACKEND_NAMES:
        raise ValueError(f"{source} must be one of {('auto',) + BACKEND_NAMES}; got {name!r}")
    module = load(name)
    if module is None:
        raise ValueError(
            f"{source}={name!r} is not available here ({_why_missing[name]}); "
            f"available backends: {available_backends()}"
        )
    return name, module
