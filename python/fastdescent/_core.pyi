"""fastdescent's C++ backend (``cpp/bindings/``): the ``_backends.Backend`` interface, and its build.

Every function reads the named records of ``fastdescent._records`` field by field and checks each
array's dtype (float32 or float64, as ``X`` or ``theta``), C order, alignment and size; a failed
check is a ValueError naming the field.  The GIL is released while the kernels run.
"""

from typing import NamedTuple

import numpy as np

from ._records import FitData, FitPlan, FitState, History, Rows, Schedule, StepInput

NAME: str  # "cpp"
SUMS_ON_ONE_THREAD: bool  # False: its sums over rows use the cores (n_threads)

def row_sums(rows: Rows, theta: np.ndarray, loss: NamedTuple, n_threads: int = 1) -> np.ndarray: ...
def objective(
    rows: Rows, theta: np.ndarray, loss: NamedTuple, penalty: NamedTuple, n_threads: int = 1
) -> tuple[float, np.ndarray]: ...
def objective_from_sums(
    sums: np.ndarray, theta: np.ndarray, count: int, loss: NamedTuple, penalty: NamedTuple
) -> tuple[float, np.ndarray]: ...
def run_epochs(
    data: FitData, state: FitState, plan: FitPlan, schedule: Schedule, history: History, n_epochs: int
) -> tuple[int, int]: ...
def run_segment(data: FitData, state: FitState, plan: FitPlan, schedule: Schedule, epoch_rows: int) -> int: ...
def step_from_sums(
    sums: np.ndarray, count: int, state: FitState, plan: FitPlan, schedule: Schedule, epoch_rows: int
) -> int: ...
def end_epoch(state: FitState, plan: FitPlan, history: History, epoch: int, steps: int, last_rate: np.floating) -> int: ...
def rule_step(param: np.ndarray, grad: np.ndarray, state: NamedTuple, hyper: NamedTuple, step: StepInput) -> None: ...
def all_finite(values: np.ndarray) -> bool:
    """Whether every value of a C-contiguous float32/float64 array is finite (on the cores)."""

def build_info() -> dict:
    """compiler, simd (the build in use, or "none: <why>"), simd_builds [(name, runs here)], cores."""

def select_simd(name: str) -> None:
    """Use this SIMD build from now on ("auto": this CPU's default); ValueError if it cannot run here."""
