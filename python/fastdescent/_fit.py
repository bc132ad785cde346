"""``fit_linear``: least squares by gradient descent, SGD, momentum, averaging or SAG, on one backend."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from . import _backends
from ._chunked import ChunkedData, is_chunked_input, is_dask_array, is_full_batch, shuffle_chunks
from ._engine import DivergenceError, EpochInfo, Plan, Rates, State, run, split_validation
from ._reference import LOSS_GROWTH_LIMIT, STATUS_DIVERGED
from ._validation import as_data, as_float_array, integer, real_scalar, thread_count
from .schedules import Schedule

METHODS = ("sgd", "sag")

__all__ = ["DivergenceError", "EpochInfo", "FitResult", "fit_linear"]


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit_linear`.

    ``coef`` and ``intercept`` have the working dtype of X.  With averaging they are the running
    average of the iterates.  Per epoch: ``loss_history`` is the loss of the iterates themselves
    (the average of the minibatch objectives seen during the epoch, each weighted by its share of
    the rows), ``grad_norm_history`` the norm of the epoch's mean step gradient (for full-batch GD,
    the gradient), ``validation_scores`` the R^2 on the held-out rows with early stopping.
    ``stop_reason`` is one of "max_iter", "tol", "gtol", "early_stopping", "callback".
    """

    coef: np.ndarray
    intercept: np.floating
    n_iter: int
    converged: bool
    loss_history: np.ndarray
    n_steps: int
    backend: str
    message: str = ""
    stop_reason: str = "max_iter"
    grad_norm_history: np.ndarray = field(default_factory=lambda: np.empty(0))
    validation_scores: np.ndarray | None = None


def fit_linear(
    X,
    y,
    *,
    lr=0.01,
    batch_size: int | None = None,
    momentum: float = 0.0,
    nesterov: bool = False,
    average: bool | int = False,
    method: str = "sgd",
    l2: float = 0.0,
    fit_intercept: bool = True,
    max_iter: int = 100,
    tol: float | None = None,
    n_iter_no_change: int = 1,
    shuffle: bool | str = True,
    random_state=None,
    coef_init=None,
    intercept_init: float = 0.0,
    clip_norm: float | None = None,
    sample_weight=None,
    gtol: float | None = None,
    early_stopping: bool = False,
    validation_fraction: float = 0.1,
    callback=None,
    callback_every: int = 1,
    progress: bool = False,
    verbose: int = 0,
    n_threads: int | None = None,
    chunk_rows=None,
    backend: str = "auto",
) -> FitResult:
    """Fit ``y ≈ X @ coef + intercept`` by minimising ``mean(r**2) + l2 * ||coef||**2``.

    Parameters
    ----------
    lr : float, 1-D array or Schedule
        The learning rate; one rate per step (at least ``max_iter * ceil(n / batch_size)`` of
        them); or a :mod:`fastdescent.schedules` object, a function of the step count.
    batch_size : int or None
        None is full-batch gradient descent; an integer is minibatch SGD over a fresh seeded shuffle
        of the rows each epoch (``shuffle=False`` keeps their order).  A batch larger than n is n.
        An epoch is n rows, split into ceil(n / batch_size) steps.
    shuffle : bool or "chunked"
        True: a fresh permutation of all rows each epoch.  "chunked": the chunked shuffle of data
        larger than memory: the chunks (``chunk_rows``) in a seeded order, then the rows of each chunk
        in a seeded order; a Dask array is always shuffled so (``docs/larger-than-memory.md``).
        The two agree bit for bit for the same chunks, in memory, on a memory map or on Dask.
    chunk_rows : int, sequence of ints or None
        The chunks of the chunked shuffle and of a memory map's reading (an int: all chunks that
        size but the last; a sequence: each size).  None: a Dask array's own chunks, else about
        64 MiB of X per chunk.  Full-batch descent rechunks to ``256 * 2**k`` rows (same bits).
    momentum, nesterov : float, bool
        Heavy-ball momentum as torch.optim.SGD defines it: ``v <- momentum * v + g`` (the first step
        sets ``v = g``), then ``theta <- theta - lr * v``; with ``nesterov=True`` the step is
        ``lr * (g + momentum * v)``.  The rate stays outside the velocity.
    average : bool or int
        Polyak–Ruppert iterate averaging.  True averages every iterate; an integer ``t0`` starts
        after ``t0`` steps.  The returned coefficients are the average.
    method : {"sgd", "sag"}
        "sag" is the stochastic average gradient (Le Roux, Schmidt and Bach): each sample's last
        residual is kept and every step follows the average of the stored gradients over the
        samples seen so far.  Its rows are drawn with replacement (n draws per epoch) unless
        ``shuffle=False``, which cycles through the rows in order.
    max_iter : int
        Number of epochs (passes over the data) at most.
    tol, n_iter_no_change : float or None, int
        Stop once the epoch loss has failed to drop below ``best - tol`` for ``n_iter_no_change``
        epochs in a row (scikit-learn's rule); ``converged`` then is True.  None runs all epochs.
    random_state : None, int, SeedSequence, numpy Generator or RandomState
        Seeds the shuffles (``numpy.random.default_rng``); a Generator or RandomState passed in
        is advanced (it is the caller's stream).
    coef_init, intercept_init : array, float
        Starting point (zeros by default).
    clip_norm : float or None
        Clip each step's gradient (the SAG direction for SAG) to this Euclidean norm, taken over
        the coefficients and the fitted intercept, before momentum: ``g <- g * (clip_norm / ||g||)``
        when ``||g|| > clip_norm``.  For the exploding-gradient case.
    sample_weight : 1-D array or None
        Per-row weights s_i >= 0: the objective becomes ``mean(s * r**2) + l2 * ||coef||**2``
        (the mean is over rows, not weights, so a weight scales that row's step as in scikit-learn).
    gtol : float or None
        Stop once the norm of the epoch's mean step gradient is below gtol.
    early_stopping, validation_fraction : bool, float
        Hold out a seeded ``validation_fraction`` of the rows; the tol rule then watches the R^2 on
        them (scikit-learn's early stopping) instead of the training loss.
    callback, callback_every : callable, int
        ``callback(info)`` with an :class:`EpochInfo` every ``callback_every`` epochs; returning
        True stops the fit.  The native loop runs in chunks of that many epochs in between.
    progress, verbose : bool, int
        A tqdm progress bar (``pip install fastdescent[progress]``); scikit-learn-style lines per epoch.
    n_threads : int or None
        Threads for the sums over rows on the C++ backend (None: every core this process may use;
        for a Dask array, one per task: Dask runs the chunks in parallel).
        The result is the same bit for bit for any thread count.
    backend : {"auto", "cpp", "numba", "numpy"}
        Every backend returns the same bits; see :func:`fastdescent.available_backends`.

    Raises
    ------
    DivergenceError
        When a minibatch loss becomes NaN or infinite, or an epoch loss grows past
        ``LOSS_GROWTH_LIMIT`` (1e10) times the first epoch's loss; the fit stops at once.
        A smaller learning rate (or ``clip_norm``) usually helps.
    """
    name, module = _backends.resolve(backend)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    shuffle = shuffle_mode(shuffle)
    data = None
    if reads_in_chunks(X, batch_size, shuffle, sag=method == "sag", early_stopping=early_stopping,
                       sag_name="method='sag'"):  # fmt: skip
        if batch_size is not None:
            integer(batch_size, "batch_size", low=1)
        full_batch = is_full_batch(batch_size, X.shape[0], shuffle)
        data = ChunkedData.from_arrays(X, y, sample_weight, chunk_rows=chunk_rows, full_batch=full_batch,
                                       n_threads=n_threads)  # fmt: skip
        dtype, (n, d) = data.dtype, (data.n, data.d)
        X, y, weights = data, None, np.empty(0, dtype)
    else:
        X, y = as_data(X, y)
        dtype, (n, d) = X.dtype, X.shape
        weights = as_sample_weight(sample_weight, n, dtype)
    T = dtype.type

    momentum = real_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    if nesterov and momentum == 0:
        raise ValueError("nesterov=True needs momentum > 0 (momentum is in [0, 1))")
    max_iter = integer(max_iter, "max_iter", low=1)
    callback_every = integer(callback_every, "callback_every", low=1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {callback!r}")
    rng = _generator(random_state)
    train_rows = validation_rows = None
    if early_stopping:
        fraction = real_scalar(validation_fraction, "validation_fraction", low=0.0, high=1.0, low_open=True,
                               high_open=True)  # fmt: skip
        train_rows, validation_rows = split_validation(rng, n, fraction)
    epoch_rows = n if train_rows is None else train_rows.shape[0]
    batch = epoch_rows if batch_size is None else min(integer(batch_size, "batch_size", low=1), epoch_rows)
    plan = Plan(
        batch_size=batch,
        momentum=momentum,
        nesterov=bool(nesterov),
        l2=real_scalar(l2, "l2", low=0.0),
        fit_intercept=bool(fit_intercept),
        average_start=_average_start(average),
        sag=method == "sag",
        tol=math.nan if tol is None else real_scalar(tol, "tol", low=0.0),
        n_iter_no_change=integer(n_iter_no_change, "n_iter_no_change", low=1),
        clip_norm=0.0 if clip_norm is None else real_scalar(clip_norm, "clip_norm", low=0.0, low_open=True),
        gtol=0.0 if gtol is None else real_scalar(gtol, "gtol", low=0.0),
        growth_limit=LOSS_GROWTH_LIMIT,
        shuffle=batch_size is not None and bool(shuffle),
        n_threads=thread_count(n_threads),
        chunks=shuffle_chunks(n, d, dtype, chunk_rows) if shuffle == "chunked" and data is None else None,
    )
    rates = learning_rates(lr, dtype, max_iter * -(-epoch_rows // batch))

    theta = np.zeros(d + 1, dtype=dtype)
    if coef_init is not None:
        coef_init = as_float_array(coef_init, "coef_init", dtype, ndim=1)
        if coef_init.shape[0] != d:
            raise ValueError(f"coef_init has {coef_init.shape[0]} values but X has {d} features")
        theta[:d] = coef_init
    theta[d] = T(real_scalar(intercept_init, "intercept_init"))
    state = State.start(theta, n, sag=plan.sag)

    outcome = run(
        module, X, y, weights, state, plan, max_iter=max_iter, rates=rates, rng=rng, train_rows=train_rows,
        validation_rows=validation_rows, callback=callback, callback_every=callback_every, progress=progress,
        verbose=verbose,
    )  # fmt: skip
    raise_if_diverged(outcome, method=method)
    coef, intercept = state.solution(plan.average_start, plan.fit_intercept)
    if not (np.isfinite(coef).all() and np.isfinite(intercept)):
        raise DivergenceError(
            f"the fit diverged: the coefficients overflowed after epoch {outcome.epochs}; try a smaller learning rate"
        )
    reason = outcome.stop_reason
    messages = {
        "max_iter": f"stopped after max_iter={max_iter} epochs",
        "tol": f"converged: the epoch loss improved by less than tol={tol} for {plan.n_iter_no_change} epoch(s)",
        "early_stopping": f"converged: the validation score improved by less than tol={tol} "
        f"for {plan.n_iter_no_change} epoch(s)",
        "gtol": f"converged: the gradient norm fell below gtol={gtol}",
        "callback": f"stopped by the callback after epoch {outcome.epochs}",
    }
    return FitResult(
        coef=coef,
        intercept=intercept,
        n_iter=outcome.epochs,
        converged=reason in ("tol", "early_stopping", "gtol"),
        loss_history=outcome.losses,
        n_steps=int(state.counters[0]),
        backend=name,
        message=messages[reason],
        stop_reason=reason,
        grad_norm_history=outcome.grad_norms,
        validation_scores=outcome.scores,
    )


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


def raise_if_diverged(outcome, *, method: str, hint: str = "try a smaller learning rate") -> None:
    if outcome.status != STATUS_DIVERGED:
        return
    history = outcome.losses
    growth = "" if not np.isfinite(history[-1]) else f", over {LOSS_GROWTH_LIMIT:g} times the first epoch's {history[0]}"
    raise DivergenceError(
        f"the fit diverged: the loss became {history[-1]} in epoch {outcome.epochs}{growth} "
        f"(method={method!r}); {hint}"
    )


def as_sample_weight(sample_weight, n: int, dtype: np.dtype) -> np.ndarray:
    """Validated weights in the working dtype, or an empty array for none."""
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    weights = as_float_array(sample_weight, "sample_weight", dtype, ndim=1)
    if weights.shape[0] != n:
        raise ValueError(f"sample_weight has {weights.shape[0]} values but X has {n} rows")
    if (weights < 0).any():
        bad = int(np.argmax(weights < 0))
        raise ValueError(f"sample_weight must be >= 0; sample_weight[{bad}] = {weights[bad]}")
    return weights


def _generator(random_state) -> np.random.Generator:
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


def _average_start(average) -> int:
    """Steps after which iterate averaging starts; -1 for none."""
    if average is True or average is np.True_:
        return 0
    if average is False or average is np.False_ or average is None:
        return -1
    if isinstance(average, numbers.Integral) and average >= 0:
        return int(average)
    raise ValueError(f"average must be a bool or an integer number of steps t0 >= 0; got {average!r}")


def learning_rates(lr, dtype: np.dtype, n_steps: int) -> Rates:
    """A positive number, an array of at least ``n_steps`` rates >= 0, or a Schedule."""
    if isinstance(lr, Schedule):
        return Rates(dtype, per_step=lambda first, count: lr.rates(count, start=first))
    if np.ndim(lr) == 0:
        value = real_scalar(lr, "lr", low=0.0, low_open=True)
        with np.errstate(over="ignore", under="ignore"):  # judged just below
            rounded = np.asarray(value, dtype=dtype)
        if not np.isfinite(rounded) or rounded == 0:
            raise ValueError(f"lr={value} is not a positive finite {dtype} number")
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
