"""``python -m fastdescent demo``: the classic line fit, by every method, on every backend."""

from __future__ import annotations

import time

import numpy as np

from ._backends import available_backends
from ._fit import fit_linear
from ._loss import mse_loss_grad

# Per method: the options for the 5-point example and for the larger sample.
METHODS = {
    "GD": ({"lr": 0.05, "max_iter": 3000}, {"lr": 0.05, "max_iter": 3000}),
    "SGD": ({"lr": 0.02, "batch_size": 1, "max_iter": 1000}, {"lr": 0.01, "batch_size": 32, "max_iter": 30}),
    "momentum": (
        {"lr": 0.005, "batch_size": 1, "momentum": 0.9, "max_iter": 1000},
        {"lr": 0.002, "batch_size": 32, "momentum": 0.9, "max_iter": 30},
    ),
    "Nesterov": (
        {"lr": 0.005, "batch_size": 1, "momentum": 0.9, "nesterov": True, "max_iter": 1000},
        {"lr": 0.002, "batch_size": 32, "momentum": 0.9, "nesterov": True, "max_iter": 30},
    ),
    "averaged": (
        {"lr": 0.02, "batch_size": 1, "average": 2500, "max_iter": 1000},
        {"lr": 0.01, "batch_size": 32, "max_iter": 30},  # average: AVERAGE_AFTER_EPOCHS
    ),
    "SAG": (
        {"lr": 0.02, "batch_size": 1, "solver": "sag", "max_iter": 1000},
        {"lr": 0.01, "batch_size": 32, "solver": "sag", "max_iter": 30},
    ),
}
# The adaptive rates, torch.optim's formulas in the fused fits: (solver, rate for 5 points, for the sample).
ADAPTIVE = {"Adam": ("adam", 0.01, 0.003), "AdamW": ("adamw", 0.01, 0.003), "Adagrad": ("adagrad", 0.2, 0.2),
            "RMSprop": ("rmsprop", 0.003, 0.003), "NAdam": ("nadam", 0.01, 0.003)}  # fmt: skip
METHODS.update({
    name: ({"lr": small, "batch_size": 1, "solver": solver, "max_iter": 1000},
           {"lr": large, "batch_size": 32, "solver": solver, "max_iter": 30})
    for name, (solver, small, large) in ADAPTIVE.items()
})  # fmt: skip


# The larger sample's averaged SGD starts averaging after this many epochs (of batch 32), at any n.
AVERAGE_AFTER_EPOCHS = 5


def classic_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x = 1..5`` when n == 5, else n points uniform in [1, 5]; ``y = 2x + 3 + noise``."""
    rng = np.random.default_rng(seed)
    x = np.arange(1.0, 6.0) if n == 5 else rng.uniform(1.0, 5.0, size=n)
    return x[:, None], 2.0 * x + 3.0 + rng.normal(scale=0.1, size=n)


def _bits(result) -> bytes:
    return result.coef.tobytes() + np.asarray(result.intercept).tobytes() + result.loss_history.tobytes()


HEADER = f"{'method':<10} {'backend':<7} {'coef':>10} {'intercept':>10} {'final MSE':>10} {'epochs':>6} {'time [ms]':>10}  bits agree"


def run(sizes=(5, 20_000), backends=None, print_=print, plot_path=None) -> list[dict]:
    """Fit every method on every backend; print one table per data size and return its rows.

    With ``plot_path``, draw the loss per epoch of every method on the larger sample to that PNG.
    """
    backends = tuple(backends or available_backends())
    rows = []
    curves = {}
    for size_index, n in enumerate(sizes):
        X, y = classic_data(n)
        print_(f"\ny = 2x + 3 + noise, n = {n} (true coefficient 2, intercept 3)")
        print_(HEADER)
        for method, options in METHODS.items():
            kwargs = {**options[min(size_index, 1)], "random_state": 0}
            if method == "averaged" and size_index:
                kwargs["average"] = AVERAGE_AFTER_EPOCHS * -(-n // kwargs["batch_size"])
            if n > 5:  # five points make a noisy epoch loss: run those to max_iter
                kwargs.update(tol=1e-12, n_iter_no_change=5)
            fits, seconds = {}, {}
            for backend in backends:
                fit_linear(X[:2], y[:2], backend=backend, **{**kwargs, "max_iter": 1})  # JIT compile, warm caches
                start = time.perf_counter()
                fits[backend] = fit_linear(X, y, backend=backend, **kwargs)
                seconds[backend] = time.perf_counter() - start
            agree = len({_bits(fit) for fit in fits.values()}) == 1
            curves[method] = fits[backends[0]]
            for backend, fit in fits.items():
                mse = float(mse_loss_grad(X, y, fit.coef, fit.intercept, backend="numpy")[0])
                rows.append(
                    {"n": n, "method": method, "backend": backend, "coef": float(fit.coef[0]),
                     "intercept": float(fit.intercept), "mse": mse, "epochs": fit.n_iter,
                     "seconds": seconds[backend], "bits_agree": agree}
                )  # fmt: skip
                print_(
                    f"{method:<10} {backend:<7} {fit.coef[0]:>10.6f} {fit.intercept:>10.6f} {mse:>10.3e} "
                    f"{fit.n_iter:>6d} {1e3 * seconds[backend]:>10.2f}  {'yes' if agree else 'NO'}"
                )
    if plot_path is not None:
        _plot(curves, sizes[-1], plot_path, print_)
    return rows


def _plot(curves, n, path, print_) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from .plot import convergence
    except ImportError:
        print_("\n(no convergence plot: pip install 'fastdescent[plot]' for matplotlib)")
        return
    ax = convergence(curves, logx=True, title=f"y = 2x + 3 + noise, n = {n}: epoch loss by method")
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=120)
    print_(f"\nconvergence plot written to {path}")
