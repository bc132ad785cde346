"""``fit_linear``: a linear model (squared error, Huber or epsilon-insensitive losses; L1, L2 or
elastic-net penalties) by gradient descent, SGD, momentum, averaging, SAG or the adaptive
rates (Adam, AdamW, Adagrad, RMSprop, NAdam), on one backend."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _backends
from ._chunked import ChunkedData, is_full_batch, shuffle_chunks
from ._driver import EpochInfo, Watch, raise_if_diverged, run
from ._errors import DivergenceError
from ._plan import (
    average_start,
    generator,
    initial_theta,
    learning_rates,
    make_plan,
    reads_in_chunks,
    shuffle_mode,
    split_validation,
)
from ._objective_terms import check_solver, loss_plan, penalty_plan
from ._solvers import solver_plan
from ._state import new_state, solution, steps_taken
from ._validation import as_data, as_sample_weight, flag, integer, real_scalar

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
    solver: str = "sgd",
    momentum: float = 0.0,
    nesterov: bool = False,
    beta_1: float | None = None,
    beta_2: float | None = None,
    eps: float | None = None,
    amsgrad: bool = False,
    centered: bool = False,
    weight_decay: float | None = None,
    average: bool | int = False,
    loss: str = "squared_error",
    epsilon: float | None = None,
    l1: float = 0.0,
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
    method: str | None = None,
) -> FitResult:
    """Fit ``y ≈ X @ coef + intercept`` by minimising ``mean(loss(r)) + l1 * ||coef||_1 + l2 * ||coef||**2``,
    ``r = X @ coef + intercept - y``; the default loss is ``r**2`` (torch's ``MSELoss``).

    Parameters
    ----------
    loss, epsilon : str, float or None
        "squared_error" (``r**2``), or scikit-learn's "huber" (``r**2 / 2`` where ``|r| <= epsilon``,
        else ``epsilon * (|r| - epsilon / 2)``), "epsilon_insensitive" (``max(0, |r| - epsilon)``),
        "squared_epsilon_insensitive" (``max(0, |r| - epsilon)**2``): ``docs/solvers.md``.
        ``epsilon`` (default 0.1) is for those three only.
    l1, l2 : float
        The penalties on the coefficients (never the intercept).  ``l2`` acts through the gradient;
        ``l1`` is applied after each step by the cumulative truncated gradient of Tsuruoka, Tsujii
        and Ananiadou (2009), as scikit-learn applies it: it needs ``solver="sgd"`` (a ValueError
        otherwise, ``docs/solvers.md``).
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
    solver : {"sgd", "sag", "adam", "adamw", "adagrad", "rmsprop", "nadam"}
        The update each step makes with its gradient g (of the coefficients and the intercept
        together), torch.optim's formula for each (``fastdescent.optim``; ``docs/solvers.md``):
        "sgd" plain steps or momentum; "sag" the stochastic average gradient (Le Roux, Schmidt and
        Bach): each sample's last residual is kept and every step follows the average of the stored
        gradients over the samples seen so far, its rows drawn with replacement (n draws per epoch)
        unless ``shuffle=False``, which cycles through the rows in order; "adam" (with
        ``amsgrad``), "adamw" (Adam with decoupled weight decay), "adagrad", "rmsprop", "nadam":
        the adaptive rates, with ``lr`` (or the schedule) as their step size.
    momentum, nesterov : float, bool
        Heavy-ball momentum ("sgd", "sag", "rmsprop") as torch.optim.SGD defines it:
        ``v <- momentum * v + g`` (the first step sets ``v = g``), then ``theta <- theta - lr * v``;
        with ``nesterov=True`` ("sgd", "sag") the step is ``lr * (g + momentum * v)``.
    beta_1, beta_2, eps, amsgrad, centered : float or None, float or None, float or None, bool, bool
        The adaptive solvers' options (scikit-learn's MLP names; None is torch's default): the decay
        of the gradients' average (beta_1: "adam", "adamw", "nadam"; 0.9) and of the squared
        gradients' (beta_2: "adam", "adamw", "nadam", 0.999; "rmsprop", its alpha, 0.99); the
        denominator's term (eps: 1e-8; "adagrad" 1e-10); AMSGrad's maximum ("adam", "adamw");
        centered RMSprop.  An option given to a solver that does not use it is a ValueError.
    weight_decay : float or None
        torch's weight decay, on every coordinate the step moves, the intercept included (``l2``
        is the penalty on the coefficients only): added to the gradient (``g + weight_decay *
        theta``), or for "adamw" decoupled, ``theta <- theta * (1 - lr * weight_decay)`` before the
        step (None: 0.01 for "adamw", else 0).
    average : bool or int
        Polyak–Ruppert iterate averaging.  True averages every iterate; an integer ``t0`` starts
        after ``t0`` steps.  The returned coefficients are the average.
    method : {"sgd", "sag"} or None
        Deprecated: the former name of ``solver``.
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
        Per-row weights s_i >= 0, not all zero: the objective's mean becomes ``mean(s * loss(r))``
        (the mean is over rows, not weights, so a weight scales that row's step as in scikit-learn).
    gtol : float or None
        Stop once the norm of the epoch's mean step gradient is below gtol.
    early_stopping, validation_fraction : bool, float
        Hold out a seeded ``validation_fraction`` of the rows; the tol rule then watches the R^2 on
        them (scikit-learn's early stopping) instead of the training loss.  It needs ``tol`` (with
        ``tol=None`` nothing stops the fit early), and the fit returns its last coefficients, not
        the best epoch's, as scikit-learn's SGD does.
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
    name, backend = _backends.resolve(backend)
    if method is not None:
        warnings.warn("fit_linear's method= is now solver= (the same names); method= will be removed",
                      FutureWarning, stacklevel=2)  # fmt: skip
        solver = method
    solver_name = "solver" if method is None else "method"  # an error names what the caller passed
    rule, method, rule_params = solver_plan(solver, momentum=momentum, nesterov=nesterov, beta_1=beta_1,
                                            beta_2=beta_2, eps=eps, amsgrad=amsgrad, centered=centered,
                                            weight_decay=weight_decay, name=solver_name)  # fmt: skip
    loss_name, loss_params = loss_plan(loss, epsilon)
    penalty, penalty_params = penalty_plan(l1, l2)
    check_solver(penalty, solver, rule, method, f"l1={l1!r}")
    shuffle = shuffle_mode(shuffle)
    fit_intercept, early_stopping = flag(fit_intercept, "fit_intercept"), flag(early_stopping, "early_stopping")
    progress = flag(progress, "progress")
    data = None
    if reads_in_chunks(X, batch_size, shuffle, sag=method == "sag", early_stopping=early_stopping,
                       sag_name="solver='sag'"):  # fmt: skip
        if batch_size is not None:
            integer(batch_size, "batch_size", low=1)
        data = ChunkedData.from_arrays(X, y, sample_weight, chunk_rows=chunk_rows,
                                       full_batch=is_full_batch(batch_size, X.shape[0], shuffle), n_threads=n_threads)  # fmt: skip
        dtype, (n, d) = data.dtype, (data.n, data.d)
        X, y, weights = data, None, np.empty(0, dtype)
    else:
        X, y = as_data(X, y)
        dtype, (n, d) = X.dtype, X.shape
        weights = as_sample_weight(sample_weight, n, dtype)

    max_iter = integer(max_iter, "max_iter", low=1)
    callback_every = integer(callback_every, "callback_every", low=1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {callback!r}")
    rng = generator(random_state)
    train_rows = validation_rows = None
    if early_stopping:
        fraction = real_scalar(validation_fraction, "validation_fraction", low=0.0, high=1.0, low_open=True,
                               high_open=True)  # fmt: skip
        train_rows, validation_rows = split_validation(rng, n, fraction)
    epoch_rows = n if train_rows is None else train_rows.shape[0]
    plan = make_plan(
        dtype, epoch_rows, batch_size=batch_size, rule=rule, rule_params=rule_params,
        average_start=average_start(average), method=method, loss=loss_name, loss_params=loss_params,
        penalty=penalty, penalty_params=penalty_params, fit_intercept=fit_intercept, tol=tol,
        n_iter_no_change=n_iter_no_change, clip_norm=clip_norm, gtol=gtol, shuffle=shuffle, n_threads=n_threads,
        chunks=shuffle_chunks(n, d, dtype, chunk_rows) if shuffle == "chunked" and data is None else None,
    )  # fmt: skip
    rates = learning_rates(lr, dtype, max_iter * -(-epoch_rows // plan.batch_size))
    state = new_state(initial_theta(d, dtype, coef_init, intercept_init), n, plan)

    outcome = run(
        backend, X, y, weights, state, plan, max_iter=max_iter, rates=rates, rng=rng, train_rows=train_rows,
        validation_rows=validation_rows, watch=Watch(callback, callback_every, progress, verbose),
    )  # fmt: skip
    raise_if_diverged(outcome, solver=solver)
    coef, intercept = solution(state, plan.kernel.average_start, plan.kernel.fit_intercept)
    if not (np.isfinite(coef).all() and np.isfinite(intercept)):
        raise DivergenceError(
            f"the fit diverged: the coefficients overflowed after epoch {outcome.epochs}; try a smaller learning rate"
        )
    reason = outcome.stop_reason
    stopping = plan.kernel.stopping
    messages = {
        "max_iter": f"stopped after max_iter={max_iter} epochs",
        "tol": f"converged: the epoch loss improved by less than tol={tol} for {stopping.n_iter_no_change} epoch(s)",
        "early_stopping": f"converged: the validation score improved by less than tol={tol} "
        f"for {stopping.n_iter_no_change} epoch(s)",
        "gtol": f"converged: the gradient norm fell below gtol={gtol}",
        "callback": f"stopped by the callback after epoch {outcome.epochs}",
    }
    return FitResult(
        coef=coef,
        intercept=intercept,
        n_iter=outcome.epochs,
        converged=reason in ("tol", "early_stopping", "gtol"),
        loss_history=outcome.losses,
        n_steps=steps_taken(state),
        backend=name,
        message=messages[reason],
        stop_reason=reason,
        grad_norm_history=outcome.grad_norms,
        validation_scores=outcome.scores,
    )
