"""One place turns a fit's parameters into a validated plan: ``fit_linear``, ``SGDRegressor`` and the
chunked fits build theirs here, so that each check and its message exist once.

A ``Plan`` holds the record the backends read (``kernel``: ``_records.FitPlan``, in the working
dtype) and what the driver does around the kernels (shuffles, chunks, learning rates).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import NamedTuple

import numpy as np

from . import _records
from ._chunked.sources import is_chunked_input, is_dask_array
from ._objective_terms import check_solver
from ._units import losses, penalties, rate_policy, rules
from ._units.stopping import Stopping
from ._validation import as_float_array, integer, real_scalar, thread_count, working_scalar
from .schedules import Schedule

# A fit whose epoch loss grows past this multiple of its first epoch's loss has diverged: stop it
# before it overflows (documented in fit_linear).
LOSS_GROWTH_LIMIT = 1e10

METHODS = ("sgd", "sag")


@dataclass(frozen=True)
class Plan:
    """A validated fit: what every step does (``kernel``) and how its rows are ordered."""

    kernel: _records.FitPlan
    dtype: np.dtype
    rule: ModuleType  # the update rule's unit (``_units.rules``)
    rule_settings: NamedTuple
    shuffle: bool  # a fresh order of the rows each epoch
    chunks: tuple[int, ...] | None  # chunk sizes of the in-memory chunked shuffle; None: shuffle all rows

    @property
    def batch_size(self) -> int:
        return self.kernel.batch_size

    @property
    def sag(self) -> bool:
        return self.kernel.sag

    @property
    def may_stop_early(self) -> bool:
        return not math.isnan(self.kernel.stopping.tol) or self.kernel.stopping.gtol > 0

    def schedule(self, rates: Rates, first_step: int, n_steps: int) -> _records.Schedule:
        """The per-step values of steps ``first_step .. first_step + n_steps - 1``."""
        table = self.rule.table(self.rule_settings, first_step, n_steps, self.dtype)
        if n_steps == 0:  # a part of an epoch too short for a step: nothing is read
            return _records.Schedule(np.zeros(1, self.dtype), 0, table, first_step)
        lr, stride = rates.chunk(first_step, n_steps)
        if len(table) and not stride:  # the rule's values change every step: so does the row
            lr, stride = np.full(n_steps, lr[0]), 1
        return _records.Schedule(lr, stride, table, first_step)


def make_plan(
    dtype: np.dtype,
    epoch_rows: int,
    *,
    batch_size: int | None,
    rule: str = "sgd",
    rule_params: dict | None = None,
    loss: str = "squared_error",
    loss_params: dict | None = None,
    penalty: str = "l2",
    penalty_params: dict | None = None,
    average_start: int = -1,
    average_after_samples: int | None = None,
    method: str = "sgd",
    fit_intercept: bool = True,
    tol: float | None = None,
    tol_low: float | None = 0.0,
    n_iter_no_change: int = 1,
    clip_norm: float | None = None,
    gtol: float | None = None,
    adaptive: bool = False,
    shuffle: bool = True,
    n_threads: int | None = None,
    chunks: tuple[int, ...] | None = None,
    loss_growth_limit: float = LOSS_GROWTH_LIMIT,
) -> Plan:
    """``batch_size`` None is full-batch descent (all ``epoch_rows`` in order).  ``rule``, ``loss`` and
    ``penalty`` name registered units (``_units``); their ``*_params`` go to the rule's ``settings``
    and to the loss's and the penalty's ``hyper``, which check them.  ``tol`` None turns the tol rule
    off (``tol_low`` None: any number, as scikit-learn allows); averaging starts after
    ``average_start`` steps, or once ``average_after_samples`` rows have been seen (scikit-learn's
    ``average``).  An epoch loss above ``loss_growth_limit`` times the first's has diverged (inf:
    only non-finite weights end the fit, scikit-learn's rule)."""
    dtype = np.dtype(dtype)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    batch = epoch_rows if batch_size is None else min(integer(batch_size, "batch_size", low=1), epoch_rows)
    unit = rules.RULES[rule]
    if not unit.FITS:
        raise ValueError(f"the update rule {rule!r} does not run in the fused fits")
    settings = unit.settings(**(rule_params or {}))
    stopping = Stopping(
        tol=math.nan if tol is None else float(tol) if tol_low is None else real_scalar(tol, "tol", low=tol_low),
        n_iter_no_change=integer(n_iter_no_change, "n_iter_no_change", low=1),
        gtol=0.0 if gtol is None else real_scalar(gtol, "gtol", low=0.0),
        growth_limit=float(loss_growth_limit),
    )
    if average_after_samples is not None:
        average_start = math.ceil(average_after_samples / batch) - 1 if average_after_samples else -1
    clip = 0.0 if clip_norm is None else real_scalar(clip_norm, "clip_norm", low=0.0, low_open=True)
    penalty_unit = penalties.PENALTIES[penalty]
    check_solver(penalty, "sag" if method == "sag" else rule, rule, method, "an L1 penalty (l1 > 0)")
    kernel = _records.FitPlan(
        batch_size=int(batch),
        fit_intercept=bool(fit_intercept),
        loss=losses.LOSSES[loss].hyper(dtype, **(loss_params or {})),
        validation_loss=losses.squared_error.hyper(dtype),
        penalty=penalty_unit.hyper(dtype, **(penalty_params or {})),
        rule=unit.hyper(settings, dtype),
        average_start=int(average_start),
        sag=method == "sag",
        clip_norm=working_scalar(clip, "clip_norm", dtype),
        stopping=stopping,
        rate_policy=rate_policy.policy(dtype, adaptive),
        n_threads=thread_count(n_threads),
    )
    return Plan(kernel, dtype, unit, settings, shuffle=batch_size is not None and bool(shuffle), chunks=chunks)


def average_start(average) -> int:
    """Steps after which iterate averaging starts (``average``: a bool or a step count t0); -1: none."""
    if average is True or average is np.True_:
        return 0
    if average is False or average is np.False_ or average is None:
        return -1
    if isinstance(average, numbers.Integral) and average >= 0:
        return int(average)
    raise ValueError(f"average must be a bool or an integer number of steps t0 >= 0; got {average!r}")


def initial_theta(d: int, dtype: np.dtype, coef_init=None, intercept_init=0.0) -> np.ndarray:
    """The starting coefficients and intercept, stacked (zeros by default)."""
    theta = np.zeros(d + 1, dtype=dtype)
    if coef_init is not None:
        coef = as_float_array(coef_init, "coef_init", dtype, ndim=1)
        if coef.shape[0] != d:
            raise ValueError(f"coef_init has {coef.shape[0]} values but X has {d} features (coef_init shape {coef.shape}, "
                             f"X shape (n, {d}))")
        theta[:d] = coef
    if intercept_init is not None:
        theta[d] = working_scalar(real_scalar(intercept_init, "intercept_init"), "intercept_init", dtype)
    return theta


def generator(random_state) -> np.random.Generator:
    """numpy's Generator for the shuffles; a legacy RandomState (scikit-learn style) seeds one."""
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(0, 2**32 - 1, dtype=np.int64))
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as error:
        raise type(error)(
            "random_state must be None, a non-negative integer, a numpy SeedSequence, Generator or "
            f"RandomState; got {random_state!r}"
        ) from error


def split_validation(rng, n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows), both sorted, the validation share drawn from rng."""
    n_validation = math.ceil(fraction * n)
    if not 0 < n_validation < n:
        raise ValueError(
            f"validation_fraction={fraction} leaves {n - n_validation} training and {n_validation} "
            f"validation rows out of n_samples = {n}; early stopping needs at least one of each"
        )
    rows = rng.permutation(n)
    return np.sort(rows[n_validation:]), np.sort(rows[:n_validation])


def shuffle_mode(shuffle) -> bool | str:
    if isinstance(shuffle, str):
        if shuffle != "chunked":
            raise ValueError(f'shuffle must be True, False or "chunked"; got {shuffle!r}')
        return shuffle
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f'shuffle must be True, False or "chunked"; got {shuffle!r}')
    return bool(shuffle)


def reads_in_chunks(X, batch_size, shuffle, *, sag: bool, early_stopping: bool, sag_name: str) -> bool:
    """Whether a fit reads X chunk by chunk: always for a Dask array; for a memory map unless its
    rows are read at random anyway (SGD with shuffle=True, SAG, early stopping), which the in-memory
    path does in place with the same bits.  Refuses what needs random rows that chunks cannot give."""
    random_access = sag or early_stopping
    if random_access and shuffle == "chunked":
        raise ValueError(f'shuffle="chunked" does not apply to {sag_name} (rows drawn with replacement) or to '
                         "early_stopping (random rows held out)")  # fmt: skip
    if is_dask_array(X):
        if random_access:
            raise ValueError(f"{sag_name} and early_stopping draw random rows from all of X; they are not available "
                             "for a Dask array (use plain SGD, or the data in memory)")  # fmt: skip
        return True
    return is_chunked_input(X) and not random_access and (batch_size is None or shuffle is not True)


# Steps whose rates are computed and checked together (64 KiB of float64: they stay in cache).
RATE_PIECE = 1 << 13


@dataclass(frozen=True)
class Rates:
    """The learning rate of every step: one constant, or ``per_step(first_step, n_steps)`` giving
    float64 rates that are converted to the working dtype here, once, for all backends."""

    dtype: np.dtype
    constant: float | None = None
    per_step: Callable[[int, int], np.ndarray] | None = None

    def chunk(self, first_step: int, n_steps: int) -> tuple[np.ndarray, int]:
        """(rates, stride) for the kernels: stride 0 means one constant rate."""
        if self.per_step is None:
            return np.full(1, self.constant, dtype=self.dtype), 0
        values = np.ascontiguousarray(self.per_step(first_step, n_steps), dtype=np.float64)
        if values.shape != (n_steps,):
            raise ValueError(f"the learning rates of steps {first_step}..{first_step + n_steps - 1} are {values!r}; "
                             f"expected {n_steps} rates")  # fmt: skip
        # Checked and converted in pieces that stay in cache, float64 rates not copied: over a whole
        # call's steps each pass faulted in fresh pages (per-sample SGD: 7-11 ns a step, now 5).
        rates = values if self.dtype == np.float64 else np.empty(n_steps, self.dtype)
        for start in range(0, n_steps, RATE_PIECE):
            piece = values[start : start + RATE_PIECE]
            if not (np.isfinite(piece).all() and (piece >= 0).all()):
                bad = start + int(np.argmin(np.isfinite(piece) & (piece >= 0)))
                raise ValueError(f"the learning rate of step {first_step + bad} is {float(values[bad])!r}; "
                                 "rates must be finite and >= 0")  # fmt: skip
            if rates is not values:
                converted = rates[start : start + RATE_PIECE]
                with np.errstate(over="ignore"):  # a rate too large for the dtype becomes inf: refused next
                    converted[...] = piece
                if not np.isfinite(converted).all():
                    raise ValueError(f"a learning rate overflows {self.dtype}")
        return rates, 1

    def at(self, step: int) -> np.floating:
        """The rate of one step, in the working dtype."""
        return self.chunk(step, 1)[0][0]


def learning_rates(lr, dtype: np.dtype, n_steps: int) -> Rates:
    """A positive number, an array of at least ``n_steps`` rates >= 0, or a Schedule."""
    if isinstance(lr, Schedule):
        return Rates(dtype, per_step=lambda first, count: lr.rates(count, start=first))
    if np.ndim(lr) == 0:
        value = real_scalar(lr, "lr", low=0.0, low_open=True)
        working_scalar(value, "lr", dtype, positive=True)
        return Rates(dtype, constant=value)
    rates = np.asarray(lr)
    if rates.ndim != 1 or rates.dtype.kind not in "biuf":
        raise ValueError(f"lr must be a positive number, a 1-D array of rates or a Schedule; got shape {rates.shape}")
    if rates.shape[0] < n_steps:
        raise ValueError(
            f"lr has {rates.shape[0]} rates but the fit may take {n_steps} steps "
            "(max_iter * ceil(n_samples / batch_size)); give one rate per step"
        )
    rates = as_float_array(rates, "lr", np.dtype(np.float64), ndim=1)
    if not (rates >= 0).all():
        bad = int(np.argmin(rates >= 0))
        raise ValueError(f"lr must be >= 0; lr[{bad}] = {rates[bad]}")
    return Rates(dtype, per_step=lambda first, count: rates[first : first + count])
