import os

import pytest
from hypothesis import HealthCheck, settings

import fastdescent

# CI runs a bounded number of examples so the suite stays within its time budget; a developer can
# ask for more with HYPOTHESIS_PROFILE=thorough.
settings.register_profile(
    "ci", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Tests name their backend; an override from the shell would make "auto" mean something else.
os.environ.pop("FASTDESCENT_BACKEND", None)
BACKENDS = fastdescent.available_backends()


def pytest_report_header(config):
    return f"fastdescent backends available: {', '.join(BACKENDS)}"


@pytest.fixture(params=BACKENDS, scope="session")
def backend(request):
    """Every test that takes this fixture runs once per available backend."""
    return request.param


def pytest_configure(config):
    """Register the markers of scikit-learn's test_sgd.py (its conftest's), which
    test_sklearn_suite.py runs against our estimator, so that --strict-markers accepts them."""
    import importlib.util
    import pathlib
    import re

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return
    source = pathlib.Path(spec.origin).parent / "linear_model" / "tests" / "test_sgd.py"
    if source.exists():
        for name in sorted(set(re.findall(r"@pytest\.mark\.(\w+)", source.read_text())) - {"parametrize"}):
            config.addinivalue_line("markers", f"{name}: a marker of scikit-learn's test_sgd.py")
