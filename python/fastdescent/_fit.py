"""``fit_linear``: least squares by gradient descent, SGD, momentum, averaging or SAG, on one backend.

Everything random or transcendental (the shuffles, the learning rates) is computed here, once, in
numpy, and passed to the backend; the backend runs whole epochs natively and updates a state that
lives here.  The state is what lets a fit run in several native calls (when the shuffles of all
epochs would not fit in memory at once) with the same bits as in one.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from . import _backends
from ._reference import LOSS_GROWTH_LIMIT, STATUS_CONVERGED, STATUS_DIVERGED
from ._validation import as_data, as_float_array, integer, real_scalar

METHODS = ("sgd", "sag")

# The shuffles handed to one native call hold at most this many row indices (32 MiB of int64);
# a fit with more epochs * rows runs in several calls, which changes no bit of the result.
ORDER_BUDGET = 1 << 22


class DivergenceError(FloatingPointError):
    """A fit whose loss became NaN or infinite; it stopped instead of returning such coefficients."""


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit_linear`.

    ``coef`` and ``intercept`` have the working dtype of X.  With averaging they are the running
    average of the iterates; ``loss_history`` is always the loss of the iterates themselves, one
    value per epoch (the average of the minibatch objectives seen during that epoch, each weighted
    by its share of the rows).
    """

    coef: np.ndarray
    intercept: np.floating
    n_iter: int
    converged: bool
    loss_history: np.ndarray
    n_steps: int
    backend: str
    message: str = field(default="")


@dataclass
class _State:
    """Everything a fit carries from one step (and one native call) to the next."""

    theta: np.ndarray  # coefficients, then the intercept
    velocity: np.ndarray
    average: np.ndarray
    sag_memory: np.ndarray  # last residual of each sample
    sag_seen: np.ndarray
    sag_sum: np.ndarray  # sum over samples of memory_i * (x_i, 1)
    counters: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))  # steps, seen, epochs w/o gain
    loss_state: np.ndarray = field(default_factory=lambda: np.array([np.inf, np.nan]))  # best, first epoch

    @classmethod
    def start(cls, theta: np.ndarray, n_samples: int, sag: bool) -> _State:
        dtype = theta.dtype
        return cls(
            theta=theta,
            velocity=np.zeros_like(theta),
            average=np.zeros_like(theta),
            sag_memory=np.zeros(n_samples if sag else 0, dtype=dtype),
            sag_seen=np.zeros(n_samples if sag else 0, dtype=np.bool_),
            sag_sum=np.full(theta.shape[0] if sag else 0, -0.0, dtype=dtype),
        )


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
    shuffle: bool = True,
    random_state=None,
    coef_init=None,
    intercept_init: float = 0.0,
    clip_norm: float | None = None,
    backend: str = "auto",
) -> FitResult:
    """Fit ``y ≈ X @ coef + intercept`` by minimising ``mean(r**2) + l2 * ||coef||**2``.

    Parameters
    ----------
    lr : float or 1-D array
        The learning rate, or one rate per step (at least ``max_iter * ceil(n / batch_size)`` of them).
    batch_size : int or None
        None is full-batch gradient descent; an integer is minibatch SGD over a fresh seeded shuffle
        of the rows each epoch (``shuffle=False`` keeps their order).  A batch larger than n is n.
        An epoch is n rows, split into ceil(n / batch_size) steps.
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
    X, y = as_data(X, y)
    dtype = X.dtype
    T = dtype.type
    n, d = X.shape

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if batch_size is None:
        batch, shuffled = n, False
    else:
        batch, shuffled = min(integer(batch_size, "batch_size", low=1), n), bool(shuffle) and n > 1
    momentum = real_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    if nesterov and momentum == 0:
        raise ValueError("nesterov=True needs momentum > 0 (momentum is in [0, 1))")
    l2 = real_scalar(l2, "l2", low=0.0)
    max_iter = integer(max_iter, "max_iter", low=1)
    n_iter_no_change = integer(n_iter_no_change, "n_iter_no_change", low=1)
    tol_value = math.nan if tol is None else real_scalar(tol, "tol", low=0.0)
    average_start = _average_start(average)
    clip_value = 0.0 if clip_norm is None else real_scalar(clip_norm, "clip_norm", low=0.0, low_open=True)

    steps_per_epoch = -(-n // batch)
    lr_array, lr_stride = _learning_rates(lr, dtype, max_iter * steps_per_epoch)

    theta = np.zeros(d + 1, dtype=dtype)
    if coef_init is not None:
        coef_init = as_float_array(coef_init, "coef_init", dtype, ndim=1)
        if coef_init.shape[0] != d:
            raise ValueError(f"coef_init has {coef_init.shape[0]} values but X has {d} features")
        theta[:d] = coef_init
    theta[d] = T(real_scalar(intercept_init, "intercept_init"))
    state = _State.start(theta, n, sag=(method == "sag"))

    rng = _generator(random_state)
    epochs_per_call = max(1, ORDER_BUDGET // n) if shuffled else max_iter
    losses = np.empty(max_iter, dtype=np.float64)
    epochs_done, status = 0, 0
    while epochs_done < max_iter and status == 0:
        n_epochs = min(epochs_per_call, max_iter - epochs_done)
        if shuffled:
            orders = np.empty((n_epochs, n), dtype=np.int64)
            for row in orders:
                # SGD visits every row once per epoch; SAG draws rows with replacement, as published
                # (with a fresh permutation per epoch its stale gradients oscillate at rates that
                # sampling with replacement tolerates).
                row[:] = rng.integers(0, n, size=n) if method == "sag" else rng.permutation(n)
        else:
            orders = np.empty((0, n), dtype=np.int64)
        ran, status = module.run_epochs(
            X, y,
            state.theta, state.velocity, state.average,
            state.sag_memory, state.sag_seen, state.sag_sum,
            state.counters, state.loss_state,
            orders, lr_array, lr_stride, losses[epochs_done:epochs_done + n_epochs],
            n_epochs=n_epochs, batch_size=batch, momentum=T(momentum), nesterov=bool(nesterov),
            l2=T(l2), fit_intercept=bool(fit_intercept), average_start=average_start,
            sag=(method == "sag"), tol=tol_value, n_iter_no_change=n_iter_no_change, clip_norm=T(clip_value),
        )  # fmt: skip
        epochs_done += int(ran)

    history = losses[:epochs_done].copy()
    if status == STATUS_DIVERGED:
        growth = "" if not np.isfinite(history[-1]) else f", over {LOSS_GROWTH_LIMIT:g} times the first epoch's {history[0]}"
        raise DivergenceError(
            f"the fit diverged: the loss became {history[-1]} in epoch {epochs_done}{growth} "
            f"(method={method!r}, lr={lr if np.ndim(lr) == 0 else 'array'}); try a smaller learning rate"
        )
    n_steps = int(state.counters[0])
    averaged = average_start >= 0 and n_steps > average_start
    solution = state.average if averaged else state.theta
    coef = solution[:d].copy()
    intercept = T(solution[d] if fit_intercept else state.theta[d])
    if not (np.isfinite(coef).all() and np.isfinite(intercept)):
        raise DivergenceError(
            f"the fit diverged: the coefficients overflowed after epoch {epochs_done}; try a smaller learning rate"
        )
    converged = status == STATUS_CONVERGED
    message = (
        f"converged: the epoch loss improved by less than tol={tol} for {n_iter_no_change} epoch(s)"
        if converged
        else f"stopped after max_iter={max_iter} epochs"
    )
    return FitResult(coef, intercept, epochs_done, converged, history, n_steps, name, message)


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


def _learning_rates(lr, dtype: np.dtype, n_steps: int) -> tuple[np.ndarray, int]:
    """The rates as an array of the working dtype, and the stride the kernels index it with."""
    if np.ndim(lr) == 0:
        return np.full(1, real_scalar(lr, "lr", low=0.0, low_open=True), dtype=dtype), 0
    rates = np.asarray(lr)
    if rates.ndim != 1 or rates.dtype.kind not in "biuf":
        raise ValueError(f"lr must be a positive number or a 1-D array of them; got shape {rates.shape}")
    if rates.shape[0] < n_steps:
        raise ValueError(
            f"lr has {rates.shape[0]} rates but the fit may take {n_steps} steps "
            "(max_iter * ceil(n_samples / batch_size)); give one rate per step"
        )
    rates = as_float_array(rates, "lr", dtype, ndim=1)
    if not (rates > 0).all():
        bad = int(np.argmin(rates > 0))
        raise ValueError(f"lr must be positive; lr[{bad}] = {rates[bad]}")
    return rates, 1
