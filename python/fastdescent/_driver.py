"""The driver shared by every least-squares fit (``fit_linear``, ``SGDRegressor``).

Everything random or transcendental (shuffles, validation splits, learning rates) is computed here,
once, in numpy, and handed to the backend; the backend runs whole epochs natively and updates a
state that lives here.  Keeping the state here lets one fit span several native calls — to bound
the memory of the shuffles and rates, to call back every k epochs, to draw a progress bar — without
changing a bit: the calls only decide when Python looks in.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import _status
from ._chunked import ChunkedData, ChunkedEpochs
from ._chunked.sources import retire_pool
from ._errors import DivergenceError
from ._plan import LOSS_GROWTH_LIMIT, Plan, Rates
from ._records import FitData, FitState, History, Rows
from ._shuffles import Shuffles, row_orders
from ._state import solution, steps_taken
from ._units import rate_policy

try:  # the warning scikit-learn's r2_score gives for one row, for code that filters it
    from sklearn.exceptions import UndefinedMetricWarning
except ImportError:  # fit_linear without scikit-learn
    UndefinedMetricWarning = UserWarning

# One native call is handed at most this many row indices (shuffles) and per-step rates.
ORDER_BUDGET = 1 << 22
RATE_BUDGET = 1 << 22
# and at most this many epochs: every fit may stop early (it may diverge), and each call's history
# is allocated for all of its epochs (max_iter = 1e8 took 0.77 GB for a fit that diverged in epoch 3)
EPOCH_BUDGET = 1 << 16
# From this many rows per epoch, a fit draws the next call's shuffles and computes its rates while
# the kernel runs (a permutation costs 9-17 ns a row, scikit-learn's invscaling rate 5 ns a step: a
# third of a per-sample step at ten features; the helper thread ~0.1 ms).
DRAW_AHEAD_ROWS = 1 << 12
# A backend that sums rows on one thread (Numba: its parallel layer is not safe for fits running in
# several Python threads) gets the cores through the chunked full-batch path, from this many values.
THREADED_CHUNK_VALUES = 1 << 20


@dataclass(frozen=True)
class EpochInfo:
    """What a ``callback`` sees after an epoch (``epoch`` counts from 1); ``coef`` and ``intercept``
    are what the fit would return after it (the average once averaging has begun)."""

    epoch: int
    loss: float
    grad_norm: float
    lr: float
    coef: np.ndarray
    intercept: float
    validation_score: float | None


@dataclass(frozen=True)
class Watch:
    """How the caller looks in between epochs: ``callback(EpochInfo)`` every ``callback_every``
    epochs (a true answer stops the fit), a progress bar, scikit-learn's ``verbose`` lines."""

    callback: Callable[[EpochInfo], object] | None = None
    callback_every: int = 1
    progress: bool = False
    verbose: int = 0


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
            _status.CONVERGED: "early_stopping" if self.scores is not None else "tol",
            _status.GRADIENT_SMALL: "gtol",
            _status.RAN_ALL: "max_iter",
        }[self.status]


def run(
    backend,
    X: np.ndarray | ChunkedData,
    y: np.ndarray | None,
    weights: np.ndarray,
    state: FitState,
    plan: Plan,
    *,
    max_iter: int,
    rates: Rates,
    rng: np.random.Generator,
    train_rows: np.ndarray | None = None,
    validation_rows: np.ndarray | None = None,
    watch: Watch = Watch(),
) -> Outcome:
    """Run up to ``max_iter`` epochs of ``plan`` on ``backend``, in as few native calls as the
    shuffles, the rates, the callback and the progress bar allow.

    ``X`` is an array, or a ``ChunkedData`` (y and the weights are then inside it): its epochs run
    chunk by chunk, one epoch per call.
    """
    chunked = isinstance(X, ChunkedData)
    if not chunked and _threads_through_chunks(backend, X, plan, train_rows):
        X, chunked = ChunkedData.threaded(X, y, weights, plan.kernel.n_threads), True
    n = X.n if chunked else X.shape[0]
    epoch_rows = n if train_rows is None else train_rows.shape[0]
    batch = plan.batch_size
    steps_per_epoch = -(-epoch_rows // batch)
    shuffled = plan.shuffle and epoch_rows > 1
    validation = np.empty(0, np.int64) if validation_rows is None else validation_rows
    rows = None if chunked else Rows(X, y, weights)

    history = _GrowingHistory()
    per_call = min(max_iter, EPOCH_BUDGET)
    if shuffled:
        per_call = min(per_call, max(1, ORDER_BUDGET // epoch_rows))
    if watch.callback is not None:
        per_call = min(per_call, watch.callback_every)
    if watch.verbose or chunked:
        per_call = 1
    # A fit that may stop early starts with short calls and doubles them, so that shuffles and rates
    # are not drawn for epochs that never run; one that cannot, takes the longest calls at once,
    # unless its shuffles or rates are long enough to be worth drawing while the kernel runs (below).
    may_stop_early = plan.may_stop_early
    ahead = (not chunked and (shuffled or rates.per_step is not None) and not may_stop_early and watch.callback is None
             and epoch_rows >= DRAW_AHEAD_ROWS)  # fmt: skip
    sizes = _call_sizes(max_iter, per_call, 1 if may_stop_early or ahead else per_call,
                        max(1, RATE_BUDGET // steps_per_epoch) if rates.per_step is not None else max_iter,
                        watch.callback_every if watch.callback is not None else None)  # fmt: skip
    helper = ThreadPoolExecutor(1, thread_name_prefix="fastdescent-ahead") if ahead else None
    shuffles = Shuffles(rng, lambda generator, k, marks: row_orders(generator, n, train_rows, k, shuffled, plan.sag,
                                                                    plan.chunks, marks), helper)  # fmt: skip
    if chunked:
        advance = ChunkedEpochs(backend, X, state, plan, rates, rng)
    else:
        # the validation loss is the squared error's value: (half of) the mean squared residual
        validation_scale = _validation_scale(y, weights, validation) / float(plan.kernel.validation_loss.value_scale)
        schedules = _Schedules(plan, rates, helper)

        def advance(n_epochs, history, following=0):
            first = steps_taken(state)
            schedule = schedules.take(first, n_epochs * steps_per_epoch)
            data = FitData(rows, shuffles.take(n_epochs, following), validation, validation_scale)
            if following:
                schedules.prepare(first + n_epochs * steps_per_epoch, following * steps_per_epoch)
            return backend.run_epochs(data, state, plan.kernel, schedule, history, n_epochs)

    bar = _progress_bar(max_iter) if watch.progress else None
    started = time.perf_counter()

    done, status, stopped_by_callback = 0, _status.RAN_ALL, False
    interrupted = True
    try:
        n_epochs = next(sizes, 0)
        while n_epochs and status == _status.RAN_ALL and not stopped_by_callback:
            following = next(sizes, 0)
            ran, status = advance(n_epochs, history.from_epoch(done, n_epochs), following)
            n_epochs = following
            done += int(ran)
            shuffles.used(int(ran))
            if bar is not None:
                bar.update(int(ran))
            if watch.verbose:
                runs = history.first(done)
                _report(state, done, runs.losses[done - 1], runs.scores[done - 1], started)
            if watch.callback is not None and status != _status.DIVERGED and done % watch.callback_every == 0:
                info = _epoch_info(state, plan, done, history.first(done), validation, rates)
                stopped_by_callback = bool(watch.callback(info))
        shuffles.settle()
        interrupted = False
    finally:
        if helper is not None:  # interrupted: do not wait for a draw under way on its copy
            helper.shutdown(wait=not interrupted, cancel_futures=True)
        if interrupted:  # Ctrl-C may land between two chunk maps: no pool worker outlives the fit
            retire_pool()
        if bar is not None:
            bar.close()
    runs = history.first(done)
    return Outcome(
        epochs=done,
        status=status,
        losses=runs.losses.copy(),
        grad_norms=runs.grad_norms.copy(),
        scores=runs.scores.copy() if validation.shape[0] else None,
        stopped_by_callback=stopped_by_callback,
    )


class _Schedules:
    """The per-step values of each native call; with ``ahead``, the next call's computed on the
    helper thread while the kernel runs (numpy releases the GIL).  What was prepared for a call
    that does not come is dropped; a bad rate raises when its call takes it, as without ``ahead``."""

    def __init__(self, plan: Plan, rates: Rates, ahead: Executor | None) -> None:
        self.plan, self.rates, self.ahead = plan, rates, ahead
        self.prepared: tuple[tuple[int, int], Future] | None = None

    def take(self, first_step: int, n_steps: int):
        prepared, self.prepared = self.prepared, None
        if prepared is not None and prepared[0] == (first_step, n_steps):
            return prepared[1].result()
        return self.plan.schedule(self.rates, first_step, n_steps)

    def prepare(self, first_step: int, n_steps: int) -> None:
        if self.ahead is not None and self.rates.per_step is not None:
            self.prepared = (first_step, n_steps), self.ahead.submit(self.plan.schedule, self.rates, first_step,
                                                                     n_steps)  # fmt: skip


class _GrowingHistory:
    """The per-epoch history of a fit, grown (doubling) as epochs run: its memory follows the epochs
    run, not max_iter (scikit-learn's users set max_iter=1e8 with a tol that stops after 20)."""

    def __init__(self) -> None:
        self._parts = History(np.empty(0), np.empty(0), np.empty(0))

    def from_epoch(self, done: int, n_epochs: int) -> History:
        """Room for epochs ``done .. done + n_epochs - 1``, as views a kernel writes into."""
        if done + n_epochs > self._parts.losses.shape[0]:
            size = max(done + n_epochs, 2 * self._parts.losses.shape[0], 16)
            grown = History(np.empty(size), np.empty(size), np.full(size, np.nan))
            for old, new in zip(self._parts, grown):
                new[:done] = old[:done]
            self._parts = grown
        return History(*(part[done:] for part in self._parts))

    def first(self, done: int) -> History:
        return History(*(part[:done] for part in self._parts))


def raise_if_diverged(outcome: Outcome, *, solver: str, hint: str = "try a smaller learning rate") -> None:
    """A diverged fit's error, with what ended it: a non-finite loss, its growth past the limit,
    or a step that made the coefficients non-finite while the loss was finite (0/0 in a step)."""
    if outcome.status != _status.DIVERGED:
        return
    last, first, epoch = outcome.losses[-1], outcome.losses[0], outcome.epochs
    if not np.isfinite(last):
        cause = f"the loss became {last} in epoch {epoch}"
    elif first > 0 and last > LOSS_GROWTH_LIMIT * first:
        cause = f"the loss became {last} in epoch {epoch}, over {LOSS_GROWTH_LIMIT:g} times the first epoch's {first}"
    else:
        cause = (f"a step of epoch {epoch} made the coefficients NaN or infinite while the loss was finite ({last}): "
                 "an overflow in the step, or 0/0 (eps=0 where a gradient is 0)")  # fmt: skip
    raise DivergenceError(f"the fit diverged: {cause} (solver={solver!r}); {hint}")


def _threads_through_chunks(backend, X, plan: Plan, train_rows) -> bool:
    full_batch = plan.batch_size >= X.shape[0] and not plan.shuffle
    return (
        backend.SUMS_ON_ONE_THREAD and plan.kernel.n_threads > 1 and full_batch and train_rows is None
        and not plan.sag and X.size >= THREADED_CHUNK_VALUES
    )  # fmt: skip


def _call_sizes(max_iter: int, per_call: int, first: int, rate_limit: int, period: int | None = None) -> Iterator[int]:
    """Epochs per native call: from ``first``, doubling up to ``per_call`` (and the rate budget),
    made one at a time (a fit that stops after 20 of max_iter = 1e8 epochs makes a few).  No call
    crosses a multiple of ``period`` (the callback's): the callback runs after every such epoch
    (doubling from 1 ended calls at epochs 1, 3, 5, ...: callback_every=2 was never called)."""
    done, next_call = 0, min(first, per_call)
    while done < max_iter:
        size = min(next_call, max_iter - done, rate_limit)
        if period is not None:
            size = min(size, period - done % period)
        yield size
        done += size
        next_call = min(2 * next_call, per_call)


def _validation_scale(y, weights, validation) -> float:
    """R^2 = 1 - validation_loss * scale: scale = rows / (weighted sum of squares about the mean);
    inf when the targets do not vary, NaN for one row (``epoch_end.validation_score``: scikit-learn's
    ``r2_score``, which warns there)."""
    if not validation.shape[0]:
        return 1.0
    if validation.shape[0] == 1:
        warnings.warn("R^2 score is not well-defined with less than two samples: the one row held out for early "
                      "stopping scores NaN every epoch, and the fit runs to max_iter; give a larger "
                      "validation_fraction", UndefinedMetricWarning, stacklevel=4)  # fmt: skip
        return math.nan
    values = y[validation].astype(np.float64)
    w = np.ones_like(values) if not weights.shape[0] else weights[validation].astype(np.float64)
    if not w.sum() > 0:
        raise ValueError(
            f"every one of the {validation.shape[0]} rows held out for early stopping has sample_weight 0: their "
            "score is undefined; give them weight, or a larger validation_fraction"
        )
    spread = float(np.sum(w * (values - np.average(values, weights=w)) ** 2))
    return validation.shape[0] / spread if spread > 0 else math.inf


def _epoch_info(state: FitState, plan: Plan, done: int, history: History, validation, rates: Rates) -> EpochInfo:
    coef, intercept = solution(state, plan.kernel.average_start, plan.kernel.fit_intercept)
    last_rate = rate_policy.rate(rates.at(steps_taken(state) - 1), state.progress[0]["rate_divisions"],
                                 plan.kernel.rate_policy.divisors)
    return EpochInfo(
        epoch=done,
        loss=float(history.losses[done - 1]),
        grad_norm=float(history.grad_norms[done - 1]),
        lr=float(last_rate),
        coef=coef,
        intercept=float(intercept),
        validation_score=float(history.scores[done - 1]) if validation.shape[0] else None,
    )


def _report(state: FitState, epoch: int, loss: float, score: float, started: float) -> None:
    """scikit-learn's verbose lines, one epoch at a time."""
    d = state.theta.shape[0] - 1
    w = state.theta[:d].astype(np.float64)
    line = (
        f"Norm: {math.sqrt(float(np.dot(w, w))):.2f}, NNZs: {int(np.count_nonzero(w))}, "
        f"Bias: {float(state.theta[d]):.6f}, T: {steps_taken(state)}, Avg. loss: {loss:.6f}"
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
