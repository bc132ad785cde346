"""fastdescent: gradient-descent optimizers whose C++, Numba and numpy backends agree bit for bit."""

from __future__ import annotations

from ._backends import available_backends
from ._config import show_config
from . import optim, schedules
from ._fit import DivergenceError, EpochInfo, FitResult, fit_linear
from ._loss import linear_loss_grad, mse_loss_grad
from ._minimize import minimize, scipy_method

__version__ = "0.1.0"


def __getattr__(name: str):
    # SGDRegressor needs scikit-learn, plot needs matplotlib: optional, imported on first use only.
    if name == "SGDRegressor":
        from ._sgd_regressor import SGDRegressor

        return SGDRegressor
    if name == "plot":  # needs matplotlib only when used
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'fastdescent' has no attribute {name!r}")

__all__ = [
    "DivergenceError",
    "EpochInfo",
    "FitResult",
    "SGDRegressor",
    "__version__",
    "available_backends",
    "fit_linear",
    "minimize",
    "linear_loss_grad",
    "mse_loss_grad",
    "optim",
    "schedules",
    "scipy_method",
    "show_config",
]
