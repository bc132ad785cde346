"""fastdescent.SGDRegressor as a drop-in for scikit-learn's: its checks, its quality, its tools."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from helpers import assert_same_bits, make_data  # noqa: E402
from sklearn.datasets import load_diabetes, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import SGDRegressor as ScikitSGDRegressor  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastdescent  # noqa: E402
from fastdescent import SGDRegressor  # noqa: E402

EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight of 2 is not two copies of a row for SGD: the copies are two steps at different "
        "points of the shuffle (scikit-learn's own SGDRegressor fails this check for the same reason)"
    ),
}


# scikit-learn's rule (and message): partial_fit refuses early_stopping=True before a fit, so the
# checks that call partial_fit first fail for its own SGDRegressor(early_stopping=True) too.
PARTIAL_FIT_CHECKS = dict.fromkeys(
    ("check_n_features_in_after_fitting", "check_estimators_partial_fit_n_features"),
    "partial_fit raises 'early_stopping should be False with partial_fit', as scikit-learn's does",
)


@parametrize_with_checks(
    [SGDRegressor(), SGDRegressor(batch_size=8, momentum=0.9, average=True), SGDRegressor(solver="sag"),
     SGDRegressor(loss="huber", penalty=None), SGDRegressor(loss="epsilon_insensitive", penalty="l1"),
     SGDRegressor(loss="squared_epsilon_insensitive", penalty="elasticnet", l1_ratio=0.5),
     SGDRegressor(loss="huber", epsilon=1.0, penalty="elasticnet", batch_size=8, average=True),
     SGDRegressor(loss="huber", solver="adam", learning_rate="constant", eta0=0.001),
     SGDRegressor(early_stopping=True, loss="huber")],
    expected_failed_checks=lambda estimator: {**EXPECTED_FAILURES,
                                              **(PARTIAL_FIT_CHECKS if estimator.early_stopping else {})},
)
def test_scikit_learn_estimator_checks(estimator, check):
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # early stopping on the checks' tiny data
        check(estimator)


DATASETS = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "make_regression": lambda: make_regression(n_samples=2000, n_features=20, noise=10.0, random_state=0),
}
PARAMETERS = [
    {},
    {"learning_rate": "constant", "eta0": 0.001},
    {"learning_rate": "adaptive"},
    {"average": True},
    {"early_stopping": True},
    {"penalty": None, "alpha": 0.0},
    {"alpha": 0.01},
    {"loss": "huber"},
    {"loss": "huber", "epsilon": 1.0, "penalty": "l1"},
    {"loss": "epsilon_insensitive", "epsilon": 0.01},
    {"loss": "squared_epsilon_insensitive"},
    {"penalty": "l1", "alpha": 0.01},
    {"penalty": "elasticnet", "alpha": 0.01, "l1_ratio": 0.5, "average": True},
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("params", PARAMETERS, ids=str)
def test_held_out_r2_matches_scikit_learn(dataset, params):
    X, y = DATASETS[dataset]()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scores = [
        make_pipeline(StandardScaler(), cls(random_state=0, **params)).fit(X_train, y_train).score(X_test, y_test)
        for cls in (ScikitSGDRegressor, SGDRegressor)
    ]
    assert abs(scores[0] - scores[1]) <= 0.01, scores


def test_grid_search_chooses_a_learning_rate():
    X, y = make_regression(n_samples=400, n_features=5, noise=5.0, random_state=1)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SGDRegressor(learning_rate="constant", random_state=0, max_iter=50, tol=None)),
        {"sgdregressor__eta0": [1e-6, 1e-3, 1e-2]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["sgdregressor__eta0"] in (1e-3, 1e-2)
    assert search.best_score_ > 0.95


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"learning_rate": "optimal", "alpha": 0.1},
        {"learning_rate": "adaptive", "batch_size": 4},
        {"average": 10, "momentum": 0.5, "nesterov": True},
        {"solver": "sag", "learning_rate": "constant"},
        {"early_stopping": True, "batch_size": None, "eta0": 0.1},
        {"loss": "huber", "epsilon": 0.05, "penalty": "l1", "alpha": 0.01},
        {"loss": "epsilon_insensitive", "penalty": "elasticnet", "batch_size": 5, "momentum": 0.5, "average": 7},
        {"loss": "huber", "early_stopping": True, "penalty": "elasticnet", "l1_ratio": 0.9},
    ],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_backend_fits_the_same_bits(params, dtype):
    X, y, _ = make_data(3, 300, 6, dtype, low_exp=-1, high_exp=0.3)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=300)
    fits = {
        backend: SGDRegressor(backend=backend, random_state=4, max_iter=20, **params).fit(X, y, sample_weight=weights)
        for backend in fastdescent.available_backends()
    }
    reference = fits["numpy"]
    assert reference.coef_.dtype == dtype and reference.intercept_.shape == (1,)
    for fit in fits.values():
        assert_same_bits(fit.coef_, reference.coef_)
        assert_same_bits(fit.intercept_, reference.intercept_)
        assert fit.n_iter_ == reference.n_iter_ and fit.t_ == reference.t_
    for fit in fits.values():  # scikit-learn refuses early_stopping with partial_fit
        fit.set_params(early_stopping=False).partial_fit(X[:50], y[:50], sample_weight=weights[:50])
    for fit in fits.values():
        assert_same_bits(fit.coef_, reference.coef_)


def test_fitted_attributes_follow_scikit_learn():
    import pandas as pd

    X, y = make_regression(n_samples=120, n_features=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = SGDRegressor(max_iter=7, tol=None, random_state=0).fit(frame, y)
    assert model.n_iter_ == 7 and model.t_ == 7 * 120 + 1
    assert list(model.feature_names_in_) == ["a", "b", "c"] and model.n_features_in_ == 3
    assert model.coef_.shape == (3,) and model.intercept_.shape == (1,)
    assert model.loss_history_.shape == (7,)
    model.partial_fit(frame, y)
    assert model.t_ == 8 * 120 + 1 and model.n_iter_ == 1
    assert set(model.get_params()) >= {"eta0", "batch_size", "momentum", "solver", "backend", "n_threads"}


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"loss": "hinge"}, "loss must be one of .*huber"),
        ({"penalty": "l3"}, "penalty must be one of"),
        ({"penalty": "elasticnet", "l1_ratio": None}, "l1_ratio must be set when penalty is 'elasticnet'"),
        ({"penalty": "elasticnet", "l1_ratio": 1.5}, "l1_ratio"),
        ({"loss": "huber", "epsilon": -0.1}, "epsilon"),
        ({"penalty": "l1", "solver": "adamw"}, "L1 share.* solver 'sgd'.* not with solver 'adamw'"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"l1_ratio": 5.0}, "l1_ratio"),
        ({"penalty": "elasticnet", "solver": "sag"}, "not with solver 'sag'"),
        ({"learning_rate": "pa1"}, "learning_rate must be one of"),
        ({"solver": "lbfgs"}, "solver must be one of"),
        ({"eta0": 0.0}, "eta0"),
        ({"momentum": 1.5}, "momentum"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_threads": 0}, "n_threads"),
        ({"backend": "gpu"}, "backend"),
    ],
)
def test_unsupported_options_are_clear_errors(params, match):
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**params).fit(np.ones((4, 2)), np.arange(4.0))


def test_sparse_input_is_refused_with_a_clear_error():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="dense data is required"):
        SGDRegressor().fit(scipy_sparse.csr_matrix(np.eye(4)), np.arange(4.0))


def test_divergence_is_scikit_learns_value_error():
    X = np.arange(1.0, 6.0)[:, None]
    with pytest.raises(ValueError, match="Floating-point under-/overflow occurred at epoch"):
        SGDRegressor(learning_rate="constant", eta0=1.0, max_iter=100).fit(X * 1e300, X.ravel())


@pytest.mark.parametrize("backend", fastdescent.available_backends())
def test_a_diverged_call_leaves_the_model_as_it_found_it(backend):
    """The next partial_fit goes on from where the failed one started, not from its overflow."""
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    y = y / y.std()
    model = SGDRegressor(random_state=0, shuffle=True, backend=backend).partial_fit(X, y)
    before = model.coef_.copy(), model.t_, model.n_iter_, model.loss_history_.copy()
    model.set_params(learning_rate="constant", eta0=1e12)
    with pytest.raises(ValueError, match="Floating-point under-/overflow"):
        model.partial_fit(X, y)
    assert_same_bits(model.coef_, before[0], "coef_")
    assert (model.t_, model.n_iter_) == before[1:3]
    assert_same_bits(model.loss_history_, before[3], "loss_history_")
    model.set_params(learning_rate="invscaling", eta0=0.01)
    again = SGDRegressor(random_state=0, shuffle=True, backend=backend).partial_fit(X, y).partial_fit(X, y)
    assert_same_bits(model.partial_fit(X, y).coef_, again.coef_, "the call after the failed one")
    with pytest.raises(ValueError, match="Floating-point under-/overflow"):  # a warm fit too
        model.set_params(warm_start=True, learning_rate="constant", eta0=1e12).fit(X, y)
    assert_same_bits(model.set_params(learning_rate="invscaling", eta0=0.01).partial_fit(X, y).coef_,
                     again.partial_fit(X, y).coef_, "the call after a failed fit")  # fmt: skip


@pytest.mark.parametrize(("params", "match"), [
    ({"learning_rate": "bogus"}, "learning_rate must be one of"),
    ({"average": -3}, "average must be"),
    ({"learning_rate": "optimal", "alpha": 0.0}, "alpha must be > 0"),
])  # fmt: skip
def test_partial_fit_checks_parameters_set_after_its_first_call(params, match):
    X, y = make_regression(n_samples=20, n_features=2, random_state=0)
    model = SGDRegressor(random_state=0).partial_fit(X, y)
    with pytest.raises(ValueError, match=match):
        model.set_params(**params).partial_fit(X, y)


def test_t_counts_every_row_with_early_stopping_as_scikit_learn():
    X, y = make_regression(n_samples=60, n_features=2, random_state=0)
    options = {"early_stopping": True, "max_iter": 4, "tol": None, "random_state": 0}
    ours, theirs = SGDRegressor(**options).fit(X, y), ScikitSGDRegressor(**options).fit(X, y)
    assert (ours.t_, ours.n_iter_) == (theirs.t_, theirs.n_iter_) == (1.0 + 4 * 60, 4)


@pytest.mark.parametrize("average", [True, 10])
def test_a_warm_averaged_fit_goes_on_from_the_iterate_as_scikit_learn(average):
    """Not from the average (coef_).  scikit-learn's restarted average keeps a stale share of the
    last one (its accumulator is not cleared), ours starts clean: they differ by ~4e-4 here, where
    starting from coef_ differed by 0.05."""
    X, y = make_regression(n_samples=200, n_features=8, noise=1.0, random_state=0)
    y = y / y.std()
    options = {"warm_start": True, "average": average, "shuffle": False, "tol": None, "max_iter": 5}
    ours = SGDRegressor(**options).fit(X, y).fit(X, y)
    theirs = ScikitSGDRegressor(**options).fit(X, y).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-3)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=2e-3)


def test_partial_fit_that_stops_averaging_goes_on_from_the_average_as_scikit_learn():
    X, y = make_regression(n_samples=100, n_features=4, noise=1.0, random_state=0)
    y = y / y.std()
    fits = [Regressor(average=True, shuffle=False, tol=None).partial_fit(X, y).set_params(average=False)
            .partial_fit(X, y) for Regressor in (SGDRegressor, ScikitSGDRegressor)]  # fmt: skip
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fits[0].intercept_, fits[1].intercept_, rtol=1e-12, atol=1e-14)


def test_convergence_warning_when_max_iter_is_reached():
    X, y = make_regression(n_samples=50, n_features=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration"):
        SGDRegressor(max_iter=2, tol=1e-12).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_clipped_residuals_agree_across_backends():
    """Unscaled data drives residuals past scikit-learn's 1e12 clip; every backend clips alike."""
    X, y, _ = make_data(5, 80, 3, np.float64, low_exp=3, high_exp=5)
    fits = [
        SGDRegressor(learning_rate="constant", eta0=0.05, max_iter=5, random_state=0, backend=backend).fit(X, y * 1e9)
        for backend in fastdescent.available_backends()
    ]
    assert np.isinf(fits[0].loss_history_).any() or fits[0].loss_history_.max() > 1e24
    for fit in fits[1:]:
        assert_same_bits(fit.coef_, fits[0].coef_)
        assert_same_bits(fit.loss_history_, fits[0].loss_history_)


def test_early_stopping_with_partial_fit_is_scikit_learns_error():
    with pytest.raises(ValueError, match="early_stopping should be False with partial_fit"):
        SGDRegressor(early_stopping=True).partial_fit(np.ones((4, 2)), np.arange(4.0))


def test_partial_fit_after_an_early_stopping_fit_goes_on_as_scikit_learn():
    """scikit-learn refuses early_stopping in partial_fit only before the model is fitted."""
    X, y = make_regression(n_samples=80, n_features=3, random_state=0)
    ours = SGDRegressor(early_stopping=True, random_state=0).fit(X, y)
    theirs = ScikitSGDRegressor(early_stopping=True, random_state=0).fit(X, y)
    t_ours, t_theirs = ours.t_, theirs.t_
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    assert ours.t_ - t_ours == X.shape[0] == theirs.t_ - t_theirs


@pytest.mark.parametrize(
    "params", [{"tol": -1.0}, {"tol": np.inf}, {"tol": -np.inf}, {"tol": "x"}, {"eta0": 0.0, "learning_rate": "optimal"},
               {"eta0": "x"}, {"average": 0}, {"average": -2}, {"verbose": -1}, {"verbose": 1.5}, {"verbose": "x"},
               {"max_iter": 5.0}, {"alpha": "a"}, {"fit_intercept": 1}, {"loss": "hinge"}],
    ids=str,
)  # fmt: skip
def test_a_bad_parameter_is_scikit_learns_invalid_parameter_error(params):
    """A ValueError and a TypeError both, naming the parameter, where scikit-learn raises one too."""
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = make_regression(n_samples=20, n_features=2, random_state=0)
    (name,) = [key for key in params if key != "learning_rate"]
    with pytest.raises(InvalidParameterError, match=name):
        SGDRegressor(**params).fit(X, y)
    with pytest.raises(InvalidParameterError):
        ScikitSGDRegressor(**params).fit(X, y)
    with pytest.raises(ValueError):
        SGDRegressor(**params).partial_fit(X, y)
    with pytest.raises(TypeError):
        SGDRegressor(**params).fit(X, y)


def test_the_convergence_warning_follows_scikit_learns_rule_n_iter_equals_max_iter():
    """A fit that stops by tol at its last allowed epoch still warns, as scikit-learn's does."""
    import warnings

    X, y = make_regression(n_samples=50, n_features=3, noise=1.0, random_state=0)
    epochs = SGDRegressor(shuffle=False).fit(X, y).n_iter_
    assert epochs == ScikitSGDRegressor(shuffle=False).fit(X, y).n_iter_
    for Regressor in (SGDRegressor, ScikitSGDRegressor):
        with pytest.warns(ConvergenceWarning):
            assert Regressor(shuffle=False, max_iter=epochs).fit(X, y).n_iter_ == epochs
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            Regressor(shuffle=False, max_iter=epochs + 1).fit(X, y)


def test_early_stopping_scores_constant_targets_as_scikit_learns_r2():
    """r2_score of targets that do not vary is 0 (1 if predicted exactly): no epoch improves."""
    X = np.random.default_rng(0).normal(size=(50, 3))
    for seed in range(3):
        ours = SGDRegressor(early_stopping=True, random_state=seed).fit(X, np.full(50, 3.0))
        theirs = ScikitSGDRegressor(early_stopping=True, random_state=seed).fit(X, np.full(50, 3.0))
        assert ours.n_iter_ == theirs.n_iter_ == 6
        np.testing.assert_array_equal(ours.validation_scores_, np.zeros(6))


def test_early_stopping_on_one_held_out_row_warns_and_runs_to_max_iter_as_scikit_learn():
    from sklearn.exceptions import UndefinedMetricWarning

    X, y = make_regression(n_samples=10, n_features=2, random_state=0)
    for Regressor in (SGDRegressor, ScikitSGDRegressor):
        with pytest.warns(UndefinedMetricWarning), pytest.warns(ConvergenceWarning):
            model = Regressor(early_stopping=True, validation_fraction=0.1, max_iter=12, random_state=0).fit(X, y)
        assert model.n_iter_ == 12


def test_the_stopping_objective_sums_unweighted_losses_as_scikit_learns():
    """With sample weights, tol watches the rows' losses without their weights (and the penalty),
    as scikit-learn's objective_sum: the same epoch stops both fits; every backend the same bits."""
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3)
    y = X @ [1.0, 2.0, -1.0] + 0.5 + 0.3 * rng.randn(50)
    zero_some = np.where(np.arange(50) % 4 == 0, 0.0, 1.0)
    for weights in (np.linspace(0.1, 3, 50), zero_some):
        theirs = ScikitSGDRegressor(shuffle=False).fit(X, y, sample_weight=weights)
        fits = [SGDRegressor(shuffle=False, backend=backend).fit(X, y, sample_weight=weights)
                for backend in fastdescent.available_backends()]  # fmt: skip
        assert fits[0].n_iter_ == theirs.n_iter_
        np.testing.assert_allclose(fits[0].coef_, theirs.coef_, rtol=1e-9)
        for fit in fits[1:]:
            assert_same_bits(fit.loss_history_, fits[0].loss_history_)
            assert_same_bits(fit.coef_, fits[0].coef_)


def test_sparsify_and_densify_as_scikit_learn():
    import scipy.sparse

    X, y = make_regression(n_samples=40, n_features=4, random_state=0)
    model = SGDRegressor(random_state=0).fit(X, y)
    dense = model.predict(X)
    assert model.sparsify() is model and scipy.sparse.issparse(model.coef_)
    assert_same_bits(model.predict(X), dense)
    assert model.score(X, y) == SGDRegressor(random_state=0).fit(X, y).score(X, y)
    model.partial_fit(X, y)  # goes on from the coefficients' values
    model.densify()
    assert isinstance(model.coef_, np.ndarray) and model.coef_.shape == (4,)
    warm = SGDRegressor(random_state=0, warm_start=True).fit(X, y).sparsify().fit(X, y)
    assert warm.coef_.shape == (4,)


def test_negative_power_t_warns_in_fit_not_in_partial_fit_as_scikit_learn():
    import warnings

    X, y = make_regression(n_samples=30, n_features=2, random_state=0)
    for Regressor in (SGDRegressor, ScikitSGDRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            Regressor(power_t=-0.5, eta0=1e-4).partial_fit(X, y)


def test_negative_power_t_warns_and_fits_as_the_installed_scikit_learn():
    X, y = make_regression(n_samples=60, n_features=3, random_state=0)
    with pytest.warns(FutureWarning, match="Negative values for `power_t` are deprecated"):
        ours = SGDRegressor(power_t=-0.5, eta0=1e-4, max_iter=5, tol=None, random_state=0).fit(X, y)
    with pytest.warns(FutureWarning, match="Negative values for `power_t` are deprecated"):
        ScikitSGDRegressor(power_t=-0.5, eta0=1e-4, max_iter=5, tol=None, random_state=0).fit(X, y)
    assert np.isfinite(ours.coef_).all()


def test_one_sample_with_early_stopping_says_so():
    with pytest.raises(ValueError, match="n_samples = 1"):
        SGDRegressor(early_stopping=True).fit(np.ones((1, 2)), np.ones(1))


@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive", "squared_epsilon_insensitive"])
def test_validation_score_is_r2_whatever_the_loss(loss):
    X, y = make_regression(n_samples=400, n_features=4, noise=1.0, random_state=2)
    model = SGDRegressor(loss=loss, epsilon=0.5, early_stopping=True, tol=None, max_iter=5, random_state=0,
                         validation_fraction=0.25).fit(X, y)  # fmt: skip
    assert model.validation_scores_.shape == (5,)
    # R^2 of the last epoch's coefficients on the held-out rows: the same rows the fit held out
    assert -10 < model.validation_scores_[-1] <= 1


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_l1_penalty_zeroes_irrelevant_coefficients_as_scikit_learn(penalty):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 10))
    y = X[:, :3] @ np.array([3.0, -2.0, 1.0]) + 0.1 * rng.normal(size=2000)
    params = {"penalty": penalty, "alpha": 0.05, "l1_ratio": 0.7, "max_iter": 20, "tol": None, "random_state": 0}
    ours = SGDRegressor(**params).fit(X, y)
    theirs = ScikitSGDRegressor(**params).fit(X, y)
    assert (ours.coef_[3:] == 0).sum() >= (theirs.coef_[3:] == 0).sum() - 2
    assert np.abs(ours.coef_ - theirs.coef_).max() < 0.05


def test_a_missing_epsilon_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="epsilon"):
        SGDRegressor(loss="huber", epsilon=None).fit(np.ones((4, 2)), np.arange(4.0))


@pytest.mark.parametrize("name", ["fit_intercept", "warm_start", "early_stopping"])
@pytest.mark.parametrize("value", ["False", "no", 0.5])
def test_flags_must_be_bools(name, value):
    """Read as truthy, fit_intercept="False" fitted an intercept; scikit-learn refuses these too."""
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        SGDRegressor(**{name: value}).fit(X, y)


def test_float32_fits_have_scikit_learns_dtypes():
    """coef_ in float32, intercept_ and predictions in float64, as scikit-learn's (its intercept_ is
    a float64 whatever X's dtype); the float32 intercept is carried exactly."""
    X, y = make_regression(n_samples=80, n_features=3, random_state=0)
    X, y = X.astype(np.float32), y.astype(np.float32)
    params = {"max_iter": 3, "tol": None, "random_state": 0}
    ours, theirs = SGDRegressor(**params).fit(X, y), ScikitSGDRegressor(**params).fit(X, y)
    for attribute in ("coef_", "intercept_"):
        assert getattr(ours, attribute).dtype == getattr(theirs, attribute).dtype
    assert ours.predict(X).dtype == theirs.predict(X).dtype == np.float64
    assert ours.intercept_[0] == np.float32(ours.intercept_[0])
    again = SGDRegressor(**params).fit(X, y).partial_fit(X, y)
    assert again.coef_.dtype == np.float32 and again.intercept_.dtype == np.float64


def test_a_refused_fit_leaves_the_features_the_model_takes():
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    model = SGDRegressor(warm_start=True, max_iter=3, tol=None, random_state=0).fit(X, y)
    before = model.predict(X)
    with pytest.raises(ValueError, match="X has 2 features, but this warm-started SGDRegressor goes on from a fit "
                                         "with 3; set warm_start=False"):  # fmt: skip
        model.fit(X[:, :2], y)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full((40, 2), np.nan), y)
    assert model.n_features_in_ == 3
    assert_same_bits(model.predict(X), before)
    assert model.set_params(warm_start=False).fit(X[:, :2], y).n_features_in_ == 2  # afresh: any features


def test_every_weight_zero_is_scikit_learns_error():
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="at least one non-zero"):
        SGDRegressor().fit(X, y, sample_weight=np.zeros(40))


@pytest.mark.parametrize("options", [{}, {"momentum": 0.5}, {"average": True}, {"average": 30}])
def test_sag_partial_fit_goes_on_with_the_rules_state_and_the_average(options):
    """Each partial_fit's rows are new samples for SAG: only its memory starts afresh.  It used to
    restart the momentum, the average and the step count too.  With full batches and rows in order
    every step stores every row, so k calls are one k-epoch fit, up to the rounding of the memory's
    running sums (rebuilt from zero at each call instead of updated)."""
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    params = {"solver": "sag", "batch_size": None, "learning_rate": "constant", "eta0": 0.01, "tol": None,
              "shuffle": False, **options}  # fmt: skip
    whole = SGDRegressor(max_iter=4, **params).fit(X, y)
    calls = SGDRegressor(**params)
    for _ in range(4):
        calls.partial_fit(X, y)
    np.testing.assert_allclose(calls.coef_, whole.coef_, rtol=1e-12)
    np.testing.assert_allclose(calls.intercept_, whole.intercept_, rtol=1e-12)
    assert calls.t_ == whole.t_


def test_partial_fit_after_the_solver_changed_is_a_clear_error_and_options_may_turn_on():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    model = SGDRegressor(solver="sgd", learning_rate="constant", eta0=0.01).partial_fit(X, y)
    before = model.coef_.copy()
    model.set_params(solver="adam")
    with pytest.raises(ValueError, match="the solver changed since the last call .*'sgd' to 'adam'.*call fit"):
        model.partial_fit(X, y)
    assert_same_bits(model.coef_, before)
    model.set_params(solver="sag").partial_fit(X, y).set_params(solver="sgd").partial_fit(X, y)  # one rule: fine
    for solver, option in [("adam", "amsgrad"), ("rmsprop", "centered")]:
        model = SGDRegressor(solver=solver, learning_rate="constant", eta0=0.01).partial_fit(X, y)
        model.set_params(**{option: True}).partial_fit(X, y)  # its new state starts as state_like starts it
        assert np.isfinite(model.coef_).all()
