"""``fastdescent.SGDRegressor``: scikit-learn's SGDRegressor, on fastdescent's kernels.

Change one import line.  The parameters, their defaults and meanings, the fitted attributes and
the methods are scikit-learn's; the fit runs natively, the same bits on every backend.

The objective is scikit-learn's, ``mean(loss) + alpha * (l1_ratio ||w||_1 + (1 - l1_ratio) / 2
||w||²)``, with its losses (half the squared error, huber, epsilon_insensitive,
squared_epsilon_insensitive: ``_units/losses``), per-sample steps ``eta * (dloss x + alpha (1 -
l1_ratio) w)``, the L1 share by its cumulative truncated gradient after each step, its 1e12 clip
on the loss derivative and its ValueError when the weights overflow.  One difference remains:
scikit-learn shrinks ``w`` by ``max(0, 1 - eta alpha (1 - l1_ratio))`` (we subtract ``eta alpha
(1 - l1_ratio) w``: the same until that product exceeds 1).  The additions (``batch_size``,
``momentum``, the ``solver``s, the backends, Dask input) are fastdescent's.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

try:  # a ValueError and a TypeError both, as scikit-learn raises for a bad parameter
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover - where a later scikit-learn moves it

    class InvalidParameterError(ValueError, TypeError):
        pass


from . import _backends, _status
from ._chunked import ChunkedData, is_dask_array, is_full_batch, shuffle_chunks
from ._driver import Watch, run
from ._errors import DivergenceError
from ._objective_terms import check_solver, loss_plan, sklearn_penalty
from ._records import aligned
from ._plan import (RATE_PIECE, Rates, generator, initial_theta, make_plan, reads_in_chunks, shuffle_mode,
                    split_validation)
from ._state import continued_state, new_state, solution, steps_taken
from ._solvers import solver_plan
from ._units.rules import RULES
from ._validation import as_sample_weight, flag, integer, real_scalar
from .schedules import Schedule

LEARNING_RATES = ("constant", "optimal", "invscaling", "adaptive")
# scikit-learn clips the loss derivative (the residual) to +-1e12 and stops only when the weights
# stop being finite; the estimator does the same, in every backend.
MAX_DLOSS = 1e12


class SGDRegressor(RegressorMixin, BaseEstimator):
    """Linear regression fitted by stochastic gradient descent, scikit-learn's API.

    Parameters are scikit-learn's ``SGDRegressor`` parameters, with its meanings (all but the
    passive-aggressive rates):

    loss : {"squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"}
        scikit-learn's definitions (``docs/solvers.md``); ``epsilon`` is the threshold of the last
        three (accepted and unused by the squared error, as scikit-learn does).
    penalty : {"l2", "l1", "elasticnet", None}, alpha, l1_ratio
        ``alpha * (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||²)`` (l1_ratio is 0 for "l2", 1 for
        "l1"); the L1 share is applied after each step by the cumulative truncated gradient
        (Tsuruoka et al., 2009), as scikit-learn applies it, for any ``batch_size``.  An L1 share
        runs with ``solver="sgd"`` only (momentum and averaging included): "sag" and the adaptive
        solvers raise a ValueError saying so.  With ``average``, each truncation moves the average
        by the share scikit-learn's lazily stored average gives it (docs/solvers.md); each
        ``fit`` and ``partial_fit`` call starts the L1 totals afresh, as scikit-learn's.
    power_t : float
        A negative value is used, and ``fit`` then warns (FutureWarning), as scikit-learn 1.8+ does.
    early_stopping : bool
        As scikit-learn: ``partial_fit`` on a model not yet fitted raises a ValueError; after a
        ``fit`` it goes on (one epoch, no validation rows).

    Sparse X is refused (TypeError), and so are scikit-learn's passive-aggressive rates
    ``learning_rate="pa1"``/``"pa2"`` (ValueError).  The additions:

    batch_size : int or None, default=1
        Rows per step; 1 is scikit-learn's per-sample SGD, None is full-batch gradient descent.
        The learning-rate schedules count samples (scikit-learn's ``t``), whatever the batch size.
    solver : {"sgd", "sag", "adam", "adamw", "adagrad", "rmsprop", "nadam"}
        The update of each step (see :func:`fastdescent.fit_linear`): "sgd" is scikit-learn's; "sag"
        steps along the stochastic average gradient (rows drawn with replacement); the others are
        torch.optim's adaptive rules, their step size the learning rate (``learning_rate`` and
        ``eta0``: for them "constant" with an eta0 near 1e-3 is the usual choice, scikit-learn's MLP
        uses 0.001).
    momentum, nesterov : float, bool
        Heavy-ball momentum as torch.optim.SGD defines it (see :func:`fastdescent.fit_linear`).
    beta_1, beta_2, eps, amsgrad, centered, weight_decay : the adaptive solvers' options
        As in :func:`fastdescent.fit_linear` (None: torch's default for the solver; ``eps`` is the
        denominator's term, scikit-learn's MLP ``epsilon``, a name this estimator's loss has).
    backend : {"auto", "cpp", "numba", "numpy"}
        Every backend gives the same bits.
    learning_rate : str or Schedule
        scikit-learn's names, or a :mod:`fastdescent.schedules` object evaluated at the number of
        samples seen before each step (scikit-learn's ``t - 1``); the rate is scikit-learn's eta.
    n_threads : int or None
        Threads for the sums over rows on the C++ backend (None: all this process may use); the
        bits do not depend on it.  Batches of fewer than a few thousand rows run on one thread.
    shuffle, chunk_rows : bool or "chunked", int or None
        X may be a Dask array (``fit``, ``partial_fit`` and ``predict``) or a memory map: see
        :func:`fastdescent.fit_linear` for the chunked shuffle that a Dask array always uses.

    Attributes
    ----------
    coef_ : ndarray (n_features,), intercept_ : ndarray (1,), n_iter_ : int, t_ : float
        ``coef_`` has the working dtype (float32 for float32 X) and ``intercept_`` is float64 (the
        working value, exactly), as scikit-learn's: float32 X predicts in float64 there too.
        ``t_`` is the number of samples seen plus one, as in scikit-learn.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    loss_history_ : ndarray of the epoch losses of the last fit (scikit-learn's objective: the
        rows' losses without their sample weights, plus the penalty; what ``tol`` watches).
    validation_scores_ : ndarray or None, the R^2 on the validation rows per epoch (early stopping).
    """

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        batch_size=1,
        momentum=0.0,
        nesterov=False,
        solver="sgd",
        beta_1=None,
        beta_2=None,
        eps=None,
        amsgrad=False,
        centered=False,
        weight_decay=None,
        backend="auto",
        n_threads=None,
        chunk_rows=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.momentum = momentum
        self.nesterov = nesterov
        self.solver = solver
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.eps = eps
        self.amsgrad = amsgrad
        self.centered = centered
        self.weight_decay = weight_decay
        self.backend = backend
        self.n_threads = n_threads
        self.chunk_rows = chunk_rows

    # -- scikit-learn's API ------------------------------------------------------------------

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit for up to ``max_iter`` epochs (``tol``/``n_iter_no_change`` may stop it earlier)."""
        self._check_params()
        previous = self._dense_coef() if self.warm_start and getattr(self, "coef_", None) is not None else None
        goes_on = previous is not None and coef_init is None
        if previous is not None:
            theta = self._continued_theta()
            coef_init = theta[:-1] if coef_init is None else coef_init
            intercept_init = theta[-1:] if intercept_init is None else intercept_init
        with self._as_before_if_it_fails():
            X, y, weights = self._validate(X, y, sample_weight, reset=True)
            if goes_on and self.n_features_in_ != previous.shape[0]:
                raise ValueError(f"X has {self.n_features_in_} features, but this warm-started SGDRegressor goes on "
                                 f"from a fit with {previous.shape[0]}; set warm_start=False to start afresh")  # fmt: skip
            start = self._initial_theta(X, coef_init, intercept_init)
            self._rng = generator(self.random_state)
            outcome = self._epochs(X, y, weights, self.max_iter, allow_validation=True, start=start)
        if self.tol is not None and outcome.epochs == self.max_iter:  # scikit-learn's rule: n_iter_ == max_iter
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider increasing max_iter to "
                "improve the fit.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._warn_deprecated()
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X`` (scikit-learn's ``max_iter=1``), continuing from the current state.

        With ``solver="sag"`` each call's rows are new samples: the stored gradients start afresh
        (the momentum, the average and the step count go on, as for every solver).  Another
        ``solver`` set between calls is a ValueError: call ``fit`` to start afresh.
        """
        first_call = getattr(self, "coef_", None) is None
        # Every call, not only the first (scikit-learn checks once): a parameter set since then
        # would otherwise be taken as its default, or fail deep inside the fit.
        self._check_params()
        if self.early_stopping and not hasattr(self, "coef_"):  # scikit-learn's check, message and moment
            raise ValueError("early_stopping should be False with partial_fit")
        with self._as_before_if_it_fails():
            X, y, weights = self._validate(X, y, sample_weight, reset=first_call)
            start = None
            if first_call:
                start = self._initial_theta(X, None, None)
                self._rng = generator(self.random_state)
            else:
                self._state.theta[:] = self._continued_theta()
            self._epochs(X, y, weights, 1, allow_validation=False, start=start, new_samples=self.solver == "sag")
        return self

    def predict(self, X):
        check_is_fitted(self)
        if is_dask_array(X):
            if X.ndim != 2 or X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has shape {X.shape}; this model was fitted with {self.n_features_in_} features")
            # As validate_data does for an ndarray: float32 and float64 stay, anything else is float64;
            # the product then promotes as numpy does (a float64 model predicts in float64).
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
            coef, intercept = self._dense_coef(), self.intercept_
            result = np.result_type(dtype, coef.dtype, intercept.dtype)
            return X.map_blocks(lambda block: block.astype(dtype, copy=False) @ coef + intercept, drop_axis=1,
                                dtype=result)  # fmt: skip
        X = validate_data(self, X, accept_sparse=False, dtype=[np.float64, np.float32], reset=False)
        # numpy's promotion, as scikit-learn: the float64 intercept_ makes every prediction float64
        return X @ self._dense_coef() + self.intercept_

    def densify(self):
        """coef_ as a dense array again (after ``sparsify``), as scikit-learn's; returns self."""
        check_is_fitted(self)
        self.coef_ = self._dense_coef()
        return self

    def sparsify(self):
        """coef_ as a scipy.sparse CSR matrix of one row, as scikit-learn's (``predict`` takes it; a
        warm fit or ``partial_fit`` goes on from its values); returns self.  X is never sparse here."""
        import scipy.sparse

        check_is_fitted(self)
        self.coef_ = scipy.sparse.csr_matrix(self.coef_)
        return self

    def _dense_coef(self) -> np.ndarray:
        coef = self.coef_
        return coef.toarray().ravel() if hasattr(coef, "toarray") else coef

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # -- the fit ------------------------------------------------------------------------------

    _CONTINUED_FROM = ("_state", "_rng", "t_")  # what the next partial_fit or warm fit goes on from
    _KEPT_IF_IT_FAILS = _CONTINUED_FROM + ("n_features_in_", "feature_names_in_")  # and what X the model takes

    def _continued_theta(self) -> np.ndarray:
        """What a warm fit or the next partial_fit goes on from, as scikit-learn's: the last iterate
        while averaging (its _standard_coef; the average then starts again), else coef_ and
        intercept_ (the average when the last call averaged; else the iterate, bit for bit)."""
        if self.average and hasattr(self, "_state"):
            return self._state.theta
        coef = self._dense_coef()
        return np.append(coef, self.intercept_[:1]).astype(coef.dtype, copy=False)

    @contextlib.contextmanager
    def _as_before_if_it_fails(self):
        """A call that raises (bad X, it diverged, a chunk held a bad value, Ctrl-C) leaves what the
        next call continues from, and the features the model takes, as it found them: kept, a diverged
        partial_fit made every later call start from non-finite coefficients and diverge again."""
        kept = {name: getattr(self, name) for name in self._KEPT_IF_IT_FAILS if hasattr(self, name)}
        if "_state" in kept:  # the fit updates the state's arrays in place
            kept["_state"] = copy.deepcopy(kept["_state"])
        rng_state = copy.deepcopy(kept["_rng"].bit_generator.state) if "_rng" in kept else None
        try:
            yield
        except BaseException:
            for name in self._KEPT_IF_IT_FAILS:
                self.__dict__.pop(name, None)
            self.__dict__.update(kept)
            if rng_state is not None:
                self._rng.bit_generator.state = rng_state
            raise

    def _check_params(self) -> None:
        """Every parameter, before any work; a bad one is scikit-learn's InvalidParameterError (a
        ValueError and a TypeError both) naming it."""
        try:
            self._check_each_param()
        except InvalidParameterError:
            raise
        except (TypeError, ValueError) as error:
            raise InvalidParameterError(str(error)) from error

    def _check_each_param(self) -> None:
        self._loss_plan()
        penalty, _ = self._penalty_plan()
        rule, method, _ = self._solver()
        check_solver(penalty, self.solver, rule, method, f"penalty={self.penalty!r} (an L1 share)")
        if not isinstance(self.learning_rate, Schedule) and self.learning_rate not in LEARNING_RATES:
            raise ValueError(
                f"learning_rate must be one of {LEARNING_RATES} or a fastdescent.schedules object; "
                f"got {self.learning_rate!r}"
            )
        real_scalar(self.alpha, "alpha", low=0.0)
        if isinstance(self.learning_rate, str) and self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError("alpha must be > 0 since learning_rate is 'optimal': alpha is used to compute the rate")
        real_scalar(self.eta0, "eta0", low=0.0, low_open=True)  # whatever the rate, as scikit-learn
        real_scalar(self.power_t, "power_t")
        rule, _, rule_params = self._solver()
        RULES[rule].settings(**rule_params)
        integer(self.max_iter, "max_iter", low=1)
        integer(self.n_iter_no_change, "n_iter_no_change", low=1)
        if self.tol is not None:
            real_scalar(self.tol, "tol", low=0.0)
        real_scalar(self.validation_fraction, "validation_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
        if self.batch_size is not None:
            integer(self.batch_size, "batch_size", low=1)
        if self.n_threads is not None:
            integer(self.n_threads, "n_threads", low=1)
        if not isinstance(self.average, (bool, np.bool_)) and (
            not isinstance(self.average, numbers.Integral) or self.average < 1
        ):
            raise ValueError(f"average must be a bool or a positive integer (the sample averaging starts after); got "
                             f"{self.average!r}")  # fmt: skip
        if not isinstance(self.verbose, (bool, np.bool_)):
            integer(self.verbose, "verbose", low=0)
        for name in ("fit_intercept", "warm_start", "early_stopping"):
            flag(getattr(self, name), name)
        shuffle_mode(self.shuffle)
        _backends.resolve(self.backend)

    def _warn_deprecated(self) -> None:
        """scikit-learn's deprecations, after each fit as there (not partial_fit)."""
        if self.power_t < 0:  # as the installed scikit-learn (1.8 deprecated it, 1.10 will refuse it)
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 and will raise an error in 1.10. "
                "Use values in the range [0.0, inf) instead.",
                FutureWarning,
                stacklevel=3,
            )

    def _loss_plan(self) -> tuple[str, dict]:
        # scikit-learn's clip of the loss derivative; epsilon is ignored by the squared error, as there;
        # the objective that tol watches sums the rows' losses without their weights, as there
        name, params = loss_plan(self.loss, self.epsilon, derivative_clip=MAX_DLOSS, half=True)
        return name, {**params, "weighted_value": False}

    def _penalty_plan(self) -> tuple[str, dict]:
        return sklearn_penalty(self.penalty, self.alpha, self.l1_ratio)

    def _solver(self) -> tuple[str, str, dict]:
        return solver_plan(self.solver, momentum=self.momentum, nesterov=self.nesterov, beta_1=self.beta_1,
                           beta_2=self.beta_2, eps=self.eps, amsgrad=self.amsgrad, centered=self.centered,
                           weight_decay=self.weight_decay)  # fmt: skip

    def _validate(self, X, y, sample_weight, reset: bool):
        if reads_in_chunks(X, self.batch_size, shuffle_mode(self.shuffle), sag=self.solver == "sag",
                           early_stopping=self.early_stopping, sag_name="solver='sag'"):  # fmt: skip
            return self._chunked_data(X, y, sample_weight, reset), None, np.empty(0)
        X, y = validate_data(
            self, X, y, accept_sparse=False, dtype=[np.float64, np.float32], order="C", y_numeric=True, reset=reset
        )
        X = np.require(X, requirements="CA")  # aligned too: what the kernels read
        y = np.require(y, dtype=X.dtype, requirements="CA")
        if not reset and X.dtype != self._state.theta.dtype:
            X = X.astype(self._state.theta.dtype)
            y = y.astype(X.dtype)
        weights = np.empty(0, X.dtype)
        if sample_weight is not None:
            weights = as_sample_weight(_check_sample_weight(sample_weight, X, dtype=X.dtype), X.shape[0], X.dtype)
        return X, y, weights

    def _chunked_data(self, X, y, sample_weight, reset: bool) -> ChunkedData:
        if getattr(y, "ndim", 1) == 2 and y.shape[1] == 1:  # as validate_data does in memory
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                          "to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=4)  # fmt: skip
            y = y[:, 0]
        data = ChunkedData.from_arrays(
            X, y, sample_weight, chunk_rows=self.chunk_rows,
            full_batch=is_full_batch(self.batch_size, X.shape[0], shuffle_mode(self.shuffle)),
            n_threads=self.n_threads, dtype=None if reset else self._state.theta.dtype,
        )  # fmt: skip
        if reset:
            self.n_features_in_ = data.d
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif data.d != self.n_features_in_:
            raise ValueError(f"X has {data.d} features, but SGDRegressor is expecting {self.n_features_in_} features")
        return data

    def _initial_theta(self, X, coef_init, intercept_init) -> np.ndarray:
        d = X.d if isinstance(X, ChunkedData) else X.shape[1]
        if coef_init is not None:
            coef_init = np.ravel(coef_init)  # scikit-learn takes any shape of n_features values
        if intercept_init is not None:
            intercept_init = np.ravel(intercept_init)
            if intercept_init.shape != (1,):
                raise ValueError(f"intercept_init must hold one value; got {intercept_init.shape[0]}")
            intercept_init = intercept_init[0]
        self.t_ = 1.0
        return initial_theta(d, X.dtype, coef_init, intercept_init)

    def _epochs(self, X, y, weights, max_iter: int, allow_validation: bool, start=None, new_samples=False):
        """Run up to ``max_iter`` epochs from ``start`` (a theta: a fresh state) or from the state."""
        name, backend = _backends.resolve(self.backend)
        chunked = isinstance(X, ChunkedData)
        n = X.n if chunked else X.shape[0]
        train_rows = validation_rows = None
        if allow_validation and self.early_stopping:
            train_rows, validation_rows = split_validation(self._rng, n, self.validation_fraction)
        epoch_rows = n if train_rows is None else train_rows.shape[0]
        tol = None if self.tol is None else float(self.tol)
        rule, method, rule_params = self._solver()
        (loss, loss_params), (penalty, penalty_params) = self._loss_plan(), self._penalty_plan()
        plan = make_plan(
            X.dtype, epoch_rows, batch_size=self.batch_size, rule=rule, rule_params=rule_params,
            average_after_samples=int(self.average), method=method,
            # scikit-learn's objective: its loss (half the squared error), its penalty
            loss=loss, loss_params=loss_params, penalty=penalty, penalty_params=penalty_params,
            fit_intercept=self.fit_intercept,
            tol=tol, tol_low=None,
            n_iter_no_change=self.n_iter_no_change,
            adaptive=isinstance(self.learning_rate, str) and self.learning_rate == "adaptive",
            shuffle=bool(self.shuffle), n_threads=self.n_threads, loss_growth_limit=math.inf,  # as scikit-learn
            chunks=None if chunked or self.shuffle != "chunked" else shuffle_chunks(n, X.shape[1], X.dtype,
                                                                                    self.chunk_rows),
        )  # fmt: skip
        if start is not None:
            self._state = new_state(start, n, plan)
        else:  # with SAG each partial_fit's rows are new samples: its memory starts afresh
            self._state = continued_state(aligned(self._state), n, plan, new_samples)  # (unpickled: maybe unaligned)
        # A chunked fit checks each chunk's values as it reaches it; a bad one raises, and the
        # caller's _as_before_if_it_fails puts the state and the generator back.
        outcome = run(
            backend, X, y, weights, self._state, plan, max_iter=max_iter,
            rates=self._rates(X.dtype, epoch_rows, plan.batch_size), rng=self._rng, train_rows=train_rows,
            validation_rows=validation_rows, watch=Watch(verbose=int(self.verbose)),
        )  # fmt: skip
        if outcome.status == _status.DIVERGED or not np.isfinite(self._state.theta).all():
            raise DivergenceError(
                f"Floating-point under-/overflow occurred at epoch #{outcome.epochs}. Scaling input data with "
                "StandardScaler or MinMaxScaler might help."
            )
        self.n_iter_ = outcome.epochs
        self.t_ += outcome.epochs * n  # scikit-learn's count: every row, the validation rows too
        self.loss_history_ = outcome.losses
        self.validation_scores_ = outcome.scores
        coef, intercept = solution(self._state, plan.kernel.average_start, plan.kernel.fit_intercept)
        self.coef_ = coef
        self.intercept_ = np.atleast_1d(intercept).astype(np.float64)  # scikit-learn's dtype, whatever X's
        return outcome

    def _rates(self, dtype, epoch_rows: int, batch: int) -> Rates:
        """scikit-learn's rate eta(t), t = 1 + samples seen, for each step."""
        if isinstance(self.learning_rate, str) and self.learning_rate in ("constant", "adaptive"):
            return Rates(dtype, constant=float(self.eta0))
        steps_per_epoch = -(-epoch_rows // batch)
        first_t = self.t_
        first_step_of_call = steps_taken(self._state)
        alpha, eta0, power_t = float(self.alpha), float(self.eta0), float(self.power_t)
        if isinstance(self.learning_rate, str) and self.learning_rate == "optimal":
            typw = math.sqrt(1.0 / math.sqrt(alpha))
            # initial eta0 = typw / max(1, dloss(y=1, p=-typw)): typw, as that dloss is < 1 for every regression loss
            optimal_init = 1.0 / (typw * alpha)

        def rates_at(step: np.ndarray) -> np.ndarray:
            if epoch_rows % batch:  # an epoch's last step is short
                epoch, position = np.divmod(step.astype(np.int64), steps_per_epoch)
                t = first_t + epoch * epoch_rows + position * batch
            else:  # every step takes `batch` rows (per-sample SGD): no division (7 ns a step)
                t = first_t + step * batch  # float64, exact below 2**53 steps
            if isinstance(self.learning_rate, Schedule):
                return self.learning_rate.at(t - 1)
            if self.learning_rate == "optimal":
                return 1.0 / (alpha * (optimal_init + t - 1))
            return eta0 / np.power(t, power_t, out=t)

        def per_step(first: int, count: int) -> np.ndarray:
            # In pieces that stay in cache: temporaries of a whole call's steps (millions) each
            # fault their pages in; steps counted in float64 (no int64 pow or cast: 11 -> 3 ns a step).
            eta = np.empty(count)
            offset = first - first_step_of_call
            for start in range(0, count, RATE_PIECE):
                stop = min(count, start + RATE_PIECE)
                eta[start:stop] = rates_at(np.arange(offset + start, offset + stop, dtype=np.float64))
            return eta

        return Rates(dtype, per_step=per_step)
