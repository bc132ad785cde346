"""The driver shared by every least-squares fit (``fit_linear``, ``SGDRegressor``).

Everything random or transcendental (shuffles, validation splits, learning rates) is computed here,
once, in numpy, and handed to the backend; the backend runs whole epochs natively and updates a
state that lives here.  Keeping the state here lets one fit span several native calls — to bound
the memory of the shuffles and rates, to call back every k epochs, to draw a progress bar — without
changing a bit: the chunks only decide when Python looks in.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ._chunked import ChunkedData, ChunkedEpochs, chunked_shuffle_order
from ._reference import (
    STATUS_CONVERGED,
    STATUS_DIVERGED,
    STATUS_GRADIENT_SMALL,
    STATUS_RAN_ALL,
)

# One native call is handed at most this many row indices (shuffles) and per-step rates.
ORDER_BUDGET = 1 << 22
RATE_BUDGET = 1 << 22
# From this many rows per epoch, a fit draws the next call's shuffles while the kernel runs.
DRAW_AHEAD_ROWS = 1 << 14


class DivergenceError(FloatingPointError, ValueError):
    """A fit whose loss became NaN or infinite, or grew without bound; it stopped instead of
    returning such coefficients.  A ValueError too, as scikit-learn raises for overflow."""


@dataclass(frozen=True)
class EpochInfo:
    """What a ``callback`` sees after an epoch (``epoch`` counts from 1)."""

    epoch: int
    loss: float
    grad_norm: float
    lr: float
    coef: np.ndarray
    intercept: float
    validation_score: float | None


@dataclass
class State:
    """Everything a fit carries from one step (and one native call) to the next."""

    theta: np.ndarray  # coefficients, then the intercept
    velocity: np.ndarray
    average: np.ndarray
    sag_memory: np.ndarray  # last weighted residual of each sample
    sag_seen: np.ndarray
    sag_sum: np.ndarray  # sum over samples of memory_i * (x_i, 1)
    # steps taken, samples seen by SAG, epochs without improvement, divisions of the rate by 5
    counters: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    loss_state: np.ndarray = field(default_factory=lambda: np.array([np.inf, np.nan]))  # best criterion, first loss
    epoch_sums: np.ndarray | None = None  # the running epoch loss and step-gradient sums (d + 2)

    def __post_init__(self) -> None:
        if self.epoch_sums is None:
            self.epoch_sums = np.full(self.theta.shape[0] + 1, -0.0, dtype=self.theta.dtype)

    @classmethod
    def start(cls, theta: np.ndarray, n_samples: int, sag: bool) -> State:
        return cls(
            theta=theta,
            velocity=np.zeros_like(theta),
            average=np.zeros_like(theta),
            sag_memory=np.zeros(n_samples if sag else 0, dtype=theta.dtype),
            sag_seen=np.zeros(n_samples if sag else 0, dtype=np.bool_),
            sag_sum=np.full(theta.shape[0] if sag else 0, -0.0, dtype=theta.dtype),
        )

    def restart_tol(self) -> None:
        """A new call to fit (partial_fit) starts the tol rule afresh, as scikit-learn does."""
        self.counters[2] = 0
        self.loss_state[:] = (np.inf, np.nan)

    def solution(self, average_start: int, fit_intercept: bool) -> tuple[np.ndarray, np.generic]:
        """Coefficients and intercept: the average once averaging has begun, else the iterate."""
        d = self.theta.shape[0] - 1
        averaged = average_start >= 0 and self.counters[0] > average_start
        source = self.average if averaged else self.theta
        intercept = source[d] if fit_intercept else self.theta[d]
        return source[:d].copy(), self.theta.dtype.type(intercept)


@dataclass(frozen=True)
class Plan:
    """What every step of a fit does, validated, in the working dtype where it is arithmetic."""

    batch_size: int
    momentum: float = 0.0
    nesterov: bool = False
    l2: float = 0.0
    fit_intercept: bool = True
    average_start: int = -1
    sag: bool = False
    tol: float = math.nan
    n_iter_no_change: int = 1
    clip_norm: float = 0.0
    adaptive: bool = False
    gtol: float = 0.0
    growth_limit: float = math.inf
    shuffle: bool = True
    residual_clip: float = 0.0  # scikit-learn's 1e12 bound on the loss derivative; 0: none
    n_threads: int = 1
    chunks: tuple[int, ...] | None = None  # chunk sizes of the chunked shuffle; None: shuffle all rows


@dataclass(frozen=True)
class Outcome:
    epochs: int
    status: int
    losses: np.ndarray
    grad_norms: np.ndarray
    scores: np.ndarray | None
    stopped_by_callback: bool

    @property
    def stop_reason(self) -> str:
        if self.stopped_by_callback:
            return "callback"
        return {
            STATUS_CONVERGED: "early_stopping" if self.scores is not None else "tol",
            STATUS_GRADIENT_SMALL: "gtol",
            STATUS_RAN_ALL: "max_iter",
        }[self.status]


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
        values = np.asarray(self.per_step(first_step, n_steps), dtype=np.float64)
        if values.shape != (n_steps,) or not (np.isfinite(values).all() and (values >= 0).all()):
            bad = int(np.argmin(np.isfinite(values) & (values >= 0))) if values.shape == (n_steps,) else None
            raise ValueError(
                f"the learning rate of step {first_step + (bad or 0)} is {values[bad] if bad is not None else values!r}; "
                "rates must be finite and >= 0"
            )
        with np.errstate(over="ignore"):  # a rate too large for the dtype becomes inf: refused next
            rates = values.astype(self.dtype)
        if not np.isfinite(rates).all():
            raise ValueError(f"a learning rate overflows {self.dtype}")
        return rates, 1


def run(
    module,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    state: State,
    plan: Plan,
    *,
    max_iter: int,
    rates: Rates,
    rng: np.random.Generator,
    train_rows: np.ndarray | None = None,
    validation_rows: np.ndarray | None = None,
    callback: Callable[[EpochInfo], object] | None = None,
    callback_every: int = 1,
    progress: bool = False,
    verbose: int = 0,
) -> Outcome:
    """Run up to ``max_iter`` epochs of ``plan`` on ``module`` (a backend), in as few native calls
    as the shuffles, the rates, the callback and the progress bar allow.

    ``X`` is an array, or a ``_chunked.ChunkedData`` (y and the weights are then inside it): its
    epochs run chunk by chunk, one epoch per call.
    """
    chunked = isinstance(X, ChunkedData)
    if not chunked and _threads_through_chunks(module, X, plan, train_rows):
        X, chunked = ChunkedData.threaded(X, y, weights, plan.n_threads), True
    T = X.dtype.type
    n = X.n if chunked else X.shape[0]
    epoch_rows = n if train_rows is None else train_rows.shape[0]
    batch = min(plan.batch_size, epoch_rows)
    steps_per_epoch = -(-epoch_rows // batch)
    shuffled = plan.shuffle and epoch_rows > 1
    validation = np.empty(0, np.int64) if validation_rows is None else validation_rows
    validation_scale = 1.0 if chunked else _validation_scale(y, weights, validation)

    losses = np.empty(max_iter, dtype=np.float64)
    grad_norms = np.empty(max_iter, dtype=np.float64)
    scores = np.full(max_iter, np.nan, dtype=np.float64)
    per_call = max_iter
    if shuffled:
        per_call = min(per_call, max(1, ORDER_BUDGET // epoch_rows))
    if callback is not None:
        per_call = min(per_call, callback_every)
    if verbose or chunked:
        per_call = 1
    # A fit that may stop early starts with short calls and doubles them, so that shuffles and rates
    # are not drawn for epochs that never run; one that cannot, takes the longest calls at once,
    # unless its shuffles are long enough to be worth drawing while the kernel runs (below).
    may_stop_early = not math.isnan(plan.tol) or plan.gtol > 0
    ahead = not chunked and shuffled and not may_stop_early and callback is None and epoch_rows >= DRAW_AHEAD_ROWS
    sizes = _call_sizes(max_iter, per_call, 1 if may_stop_early or ahead else per_call,
                        max(1, RATE_BUDGET // steps_per_epoch) if rates.per_step is not None else max_iter)  # fmt: skip
    shuffles = _Shuffles(rng, lambda k, marks: _orders(rng, n, train_rows, k, shuffled, plan.sag, plan.chunks, marks),
                         ahead)  # fmt: skip
    if chunked:
        advance = ChunkedEpochs(module, X, state, plan, rates, rng)
    else:

        def advance(n_epochs, losses, grad_norms, scores, following=0):
            lr, stride = rates.chunk(int(state.counters[0]), n_epochs * steps_per_epoch)
            orders = shuffles.take(n_epochs, following)
            return module.run_epochs(
                X, y, weights,
                state.theta, state.velocity, state.average, state.sag_memory, state.sag_seen, state.sag_sum,
                state.counters, state.loss_state, orders, validation, lr, stride,
                losses, grad_norms, scores, state.epoch_sums,
                n_epochs=n_epochs, batch_size=batch, momentum=T(plan.momentum), nesterov=plan.nesterov,
                l2=T(plan.l2), fit_intercept=plan.fit_intercept, average_start=plan.average_start, sag=plan.sag,
                tol=plan.tol, n_iter_no_change=plan.n_iter_no_change, clip_norm=T(plan.clip_norm),
                adaptive=plan.adaptive, gtol=plan.gtol, growth_limit=plan.growth_limit,
                validation_scale=validation_scale, residual_clip=T(plan.residual_clip), n_threads=plan.n_threads,
            )  # fmt: skip

    bar = _progress_bar(max_iter) if progress else None
    started = time.perf_counter()

    done, status, stopped_by_callback = 0, STATUS_RAN_ALL, False
    try:
        for call, n_epochs in enumerate(sizes):
            if status != STATUS_RAN_ALL or stopped_by_callback:
                break
            following = sizes[call + 1] if call + 1 < len(sizes) else 0
            ran, status = advance(n_epochs, losses[done:], grad_norms[done:], scores[done:], following)
            done += int(ran)
            shuffles.used(int(ran))
            if bar is not None:
                bar.update(int(ran))
            if verbose:
                _report(state, done, losses[done - 1], scores[done - 1], steps_per_epoch, batch, started)
            if callback is not None and status != STATUS_DIVERGED and done % callback_every == 0:
                info = _epoch_info(state, done, losses, grad_norms, scores, validation, rates, status)
                stopped_by_callback = bool(callback(info))
        shuffles.settle()
    finally:
        shuffles.close()
        if bar is not None:
            bar.close()
    return Outcome(
        epochs=done,
        status=status,
        losses=losses[:done].copy(),
        grad_norms=grad_norms[:done].copy(),
        scores=scores[:done].copy() if validation.shape[0] else None,
        stopped_by_callback=stopped_by_callback,
    )


# A backend that sums rows on one thread (Numba: its parallel layer is not safe for fits running in
# several Python threads) gets the cores through the chunked full-batch path, from this many values.
THREADED_CHUNK_VALUES = 1 << 20


def _threads_through_chunks(module, X, plan, train_rows) -> bool:
    full_batch = plan.batch_size >= X.shape[0] and not plan.shuffle
    return (
        getattr(module, "SUMS_ON_ONE_THREAD", False) and plan.n_threads > 1 and full_batch and train_rows is None
        and not plan.sag and X.size >= THREADED_CHUNK_VALUES
    )  # fmt: skip


def _call_sizes(max_iter: int, per_call: int, first: int, rate_limit: int) -> list[int]:
    """Epochs per native call: from ``first``, doubling up to ``per_call`` (and the rate budget)."""
    sizes, done, next_call = [], 0, first
    while done < max_iter:
        sizes.append(min(next_call, per_call, max_iter - done, rate_limit))
        done += sizes[-1]
        next_call *= 2
    return sizes


class _Shuffles:
    """The row orders of each native call, drawn in call order from the fit's generator.

    With ``ahead``, the next call's orders are drawn by a helper thread while the kernel runs: both
    release the GIL, and on a minibatch fit a permutation of n rows costs a third of an epoch.
    Whatever was drawn for epochs that did not run (a fit that stopped early, a call drawn ahead) is
    given back by ``settle``: the generator goes back to where it stood after the last epoch run,
    so the next fit or partial_fit on it sees the same stream however the epochs were cut into calls.
    """

    def __init__(self, rng: np.random.Generator, draw: Callable[[int, list], np.ndarray], ahead: bool):
        self.rng, self.draw = rng, draw
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="fastdescent-shuffles") if ahead else None
        self.pending = None
        self.current = None  # (generator state before the current call's draw, after each of its epochs)
        self.ran = 0  # epochs of the current call that ran

    def _draw(self, n_epochs: int):
        marks: list = []
        before = self.rng.bit_generator.state
        return (before, marks), self.draw(n_epochs, marks)

    def take(self, n_epochs: int, following: int) -> np.ndarray:
        self.current, orders = self.pending.result() if self.pending is not None else self._draw(n_epochs)
        self.ran = 0
        self.pending = self.pool.submit(self._draw, following) if self.pool is not None and following else None
        return orders

    def used(self, epochs: int) -> None:
        self.ran = epochs

    def settle(self) -> None:
        if self.pending is not None:
            self.pending.result()
        if self.current is not None:
            before, marks = self.current
            if self.pending is not None or self.ran < len(marks):
                self.rng.bit_generator.state = marks[self.ran - 1] if self.ran else before
        self.pending = self.current = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def _orders(rng, n, train_rows, n_epochs, shuffled, sag, chunks=None, marks=None):
    """Row orders, one per epoch: SGD visits every row once; SAG draws rows with replacement, as
    published (with a fresh permutation per epoch its stale gradients oscillate at rates that
    sampling with replacement tolerates).  No shuffle: one fixed order, or none (rows 0..n-1).
    With ``chunks``, the chunked shuffle of the data larger than memory (``_chunked.chunked_shuffle``).
    ``marks`` (a list) receives the generator's state after each epoch's draw."""
    if not shuffled:
        return np.empty((0, n), np.int64) if train_rows is None else train_rows[None, :]
    epoch_rows = n if train_rows is None else train_rows.shape[0]
    orders = np.empty((n_epochs, epoch_rows), dtype=np.int64)
    for row in orders:
        if chunks is not None:
            row[:] = chunked_shuffle_order(rng, chunks)
        else:
            row[:] = rng.integers(0, epoch_rows, size=epoch_rows) if sag else rng.permutation(epoch_rows)
        if train_rows is not None:
            row[:] = train_rows[row]
        if marks is not None:
            marks.append(rng.bit_generator.state)
    return orders


def _validation_scale(y, weights, validation):
    """R^2 = 1 - validation_loss * scale: scale = rows / (weighted sum of squares about the mean)."""
    if not validation.shape[0]:
        return 1.0
    values = y[validation].astype(np.float64)
    w = np.ones_like(values) if not weights.shape[0] else weights[validation].astype(np.float64)
    spread = float(np.sum(w * (values - np.average(values, weights=w)) ** 2))
    return validation.shape[0] / spread if spread > 0 else 1.0


def split_validation(rng, n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows), both sorted, the validation share drawn from rng."""
    n_validation = math.ceil(fraction * n)
    if not 0 < n_validation < n:
        raise ValueError(
            f"validation_fraction={fraction} leaves {n - n_validation} training and {n_validation} "
            f"validation rows out of {n}; both need at least one"
        )
    rows = rng.permutation(n)
    return np.sort(rows[n_validation:]), np.sort(rows[:n_validation])


def _epoch_info(state, done, losses, grad_norms, scores, validation, rates, status) -> EpochInfo:
    d = state.theta.shape[0] - 1
    lr, _ = rates.chunk(int(state.counters[0]) - 1, 1)
    return EpochInfo(
        epoch=done,
        loss=float(losses[done - 1]),
        grad_norm=float(grad_norms[done - 1]),
        lr=float(lr[0]) / 5 ** int(state.counters[3]),
        coef=state.theta[:d].copy(),
        intercept=float(state.theta[d]),
        validation_score=float(scores[done - 1]) if validation.shape[0] else None,
    )


def _report(state, epoch, loss, score, steps_per_epoch, batch, started) -> None:
    """scikit-learn's verbose lines, one epoch at a time."""
    d = state.theta.shape[0] - 1
    w = state.theta[:d].astype(np.float64)
    line = (
        f"Norm: {math.sqrt(float(np.dot(w, w))):.2f}, NNZs: {int(np.count_nonzero(w))}, "
        f"Bias: {float(state.theta[d]):.6f}, T: {int(state.counters[0])}, Avg. loss: {loss:.6f}"
    )
    if not np.isnan(score):
        line += f", Validation score: {score:.6f}"
    print(f"-- Epoch {epoch}\n{line}\nTotal training time: {time.perf_counter() - started:.2f} seconds.")
    sys.stdout.flush()


def _progress_bar(total: int):
    try:
        from tqdm.auto import tqdm
    except ImportError as error:
        raise ImportError(
            "progress=True needs tqdm: pip install 'fastdescent[progress]' (or pip install tqdm)"
        ) from error
    return tqdm(total=total, unit="epoch", desc="fastdescent")
