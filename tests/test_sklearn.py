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


@parametrize_with_checks(
    [SGDRegressor(), SGDRegressor(batch_size=8, momentum=0.9, average=True), SGDRegressor(solver="sag")],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_scikit_learn_estimator_checks(estimator, check):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
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
    for fit in fits.values():
        fit.partial_fit(X[:50], y[:50], sample_weight=weights[:50])
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
        ({"loss": "huber"}, "loss='huber' is not supported.*squared_error"),
        ({"penalty": "l1"}, "penalty='l1' is not supported.*'l2' or None"),
        ({"penalty": "elasticnet"}, "penalty='elasticnet'"),
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
