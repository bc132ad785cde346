"""scikit-learn's own SGD tests, run against ``fastdescent.SGDRegressor``.

The test file scikit-learn ships (``sklearn/linear_model/tests/test_sgd.py`` of the installed
version) is read at test time, never copied here: its ``linear_model.SGDRegressor`` (and so its
``SGDRegressor(**kwargs)`` factory) is made ours, and every test that fits the dense regressor runs with it, the other estimators
(classifiers, one-class SVM, the sparse wrappers) left out of each parametrisation.  A test of
ours fails where scikit-learn's would fail on our class.  ``EXCLUDED`` names the tests that cannot
apply, and why; every other dense-regressor test must pass.
"""

from __future__ import annotations

import inspect
import pathlib
import types

import pytest

sklearn = pytest.importorskip("sklearn")

import fastdescent  # noqa: E402

SOURCE = pathlib.Path(sklearn.__file__).parent / "linear_model" / "tests" / "test_sgd.py"
# The file's `linear_model` becomes scikit-learn's module with our SGDRegressor in it: its factory
# SGDRegressor(**kwargs) and the tests that name linear_model.SGDRegressor build ours.
IMPORT = "from sklearn import datasets, linear_model, metrics\n"
PYTEST_MARKS = {"parametrize", "filterwarnings", "skip", "skipif", "xfail"}

# Tests of the dense regressor that read scikit-learn's internals rather than its API.
EXCLUDED = {
    "test_sgd_averaged_computed_correctly": "asserts agreement to 16 decimals with its helper asgd(), which "
    "rounds each step as scikit-learn does (w scaled by 1 - eta alpha, then the update added; a running "
    "average by multiply-add-divide): our steps are the same formulas rounded in our canonical order",
    "test_sgd_averaged_partial_fit": "the same 16-decimal comparison with asgd() as test_sgd_averaged_computed_correctly",
    "test_average_sparse": "the same 16-decimal comparison with asgd(), on data with zeros",
    "test_loss_function_epsilon": "reads the private loss_functions table of scikit-learn's estimator",
    "test_plain_has_no_average_attr": "asserts scikit-learn's private _average_coef, _standard_coef, ... attributes",
    "test_validation_set_not_used_for_training": "expects scikit-learn's exact ShuffleSplit validation rows; ours "
    "are drawn from the estimator's seeded numpy Generator (the same rows on every backend, not its)",
}


def _suite() -> types.ModuleType:
    text = SOURCE.read_text()
    if text.count(IMPORT) != 1:
        pytest.skip(f"{SOURCE} no longer imports linear_model as this module expects", allow_module_level=True)
    import sklearn.linear_model

    module = types.ModuleType("sklearn_test_sgd_on_fastdescent")
    module.__file__ = str(SOURCE)
    module._linear_model = types.SimpleNamespace(**{**vars(sklearn.linear_model),
                                                    "SGDRegressor": fastdescent.SGDRegressor})  # fmt: skip
    text = text.replace(IMPORT, "from sklearn import datasets, metrics\nlinear_model = _linear_model\n")
    exec(compile(text, str(SOURCE), "exec"), module.__dict__)
    return module


if not SOURCE.exists():
    pytest.skip(f"scikit-learn's tests are not installed ({SOURCE})", allow_module_level=True)
suite = _suite()
ESTIMATORS = [suite.__dict__[name] for name in ("SGDClassifier", "SGDRegressor", "SGDOneClassSVM", "SparseSGDClassifier",
                                                "SparseSGDRegressor", "SparseSGDOneClassSVM")]  # fmt: skip
ESTIMATORS += [suite.linear_model.SGDClassifier, suite.linear_model.SGDRegressor, suite.linear_model.SGDOneClassSVM]


def _values(value):
    value = value.values if hasattr(value, "values") and hasattr(value, "marks") else value  # pytest.param
    return value if isinstance(value, (tuple, list)) else (value,)


DENSE_REGRESSORS = (suite.SGDRegressor, fastdescent.SGDRegressor)  # the file's factory, and the class


def _is_estimator(value) -> bool:
    return any(value is estimator for estimator in ESTIMATORS)


def _is_ours(value) -> bool:
    return any(value is regressor for regressor in DENSE_REGRESSORS)


def _dense_regressor_only(function):
    """The function with each estimator parametrisation reduced to the dense regressor, or None if
    it does not test that estimator."""
    marks, uses = [], False
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize":
            argvalues = mark.args[1]
            estimator_values = [value for value in argvalues if any(_is_estimator(v) for v in _values(value))]
            if estimator_values:
                kept = [value for value in argvalues if any(_is_ours(v) for v in _values(value))]
                if not kept:
                    return None
                uses = True
                mark = pytest.mark.parametrize(mark.args[0], kept, **mark.kwargs).mark
        if mark.name in PYTEST_MARKS:  # scikit-learn's own markers are its conftest's, not registered here
            marks.append(mark)
    if not uses:
        body = inspect.getsource(function)
        if "SGDRegressor(" not in body.replace("SparseSGDRegressor(", "") or "SGDClassifier(" in body:
            return None
    function.pytestmark = marks
    return function


@pytest.fixture
def global_random_seed():
    return 42  # scikit-learn's conftest's default


for _name, _function in list(vars(suite).items()):
    if _name.startswith("test_") and inspect.isfunction(_function):
        _test = _dense_regressor_only(_function)
        if _test is None:
            continue
        if _name in EXCLUDED:
            _test = pytest.mark.skip(reason=EXCLUDED[_name])(_test)
        globals()[_name] = _test


def test_exclusions_are_dense_regressor_tests():
    """Each exclusion names a test this module would run: none is stale."""
    assert set(EXCLUDED) <= set(globals())
