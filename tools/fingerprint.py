"""Bit patterns of a fixed grid of calls through the public API, to compare two versions.

A refactor must not change a bit (or only where it says so): run this with the version before and
the version after, each in its own environment, and compare the files::

    python tools/fingerprint.py save before.npz      # with the old version installed
    python tools/fingerprint.py save after.npz       # with the new one
    python tools/fingerprint.py compare before.npz after.npz

Every backend available is run; results are stored as raw bytes, so signed zeros and NaN payloads
count.  Only the public API is used, so any two versions can be compared.
"""

from __future__ import annotations

import inspect
import itertools
import sys
import warnings

import numpy as np

import fastdescent
from fastdescent import optim, schedules


def _data(seed, n, d, dtype):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-1.5, 0.5, size=(n, d))).astype(dtype)
    X[rng.random((n, d)) < 0.05] = -0.0
    y = (X.astype(np.float64) @ rng.normal(size=d) + rng.normal(scale=0.1, size=n)).astype(dtype)
    return X, y


FITS = {
    "gd": {},
    "gd-l2-momentum": {"l2": 0.05, "momentum": 0.5},
    "sgd": {"batch_size": 1},
    "minibatch": {"batch_size": 32},
    "momentum": {"batch_size": 8, "momentum": 0.9},
    "nesterov": {"batch_size": 16, "momentum": 0.8, "nesterov": True, "l2": 0.01},
    "averaged": {"batch_size": 4, "average": 20},
    "sag": {"batch_size": 1, "method": "sag", "l2": 0.01},
    "sag-minibatch": {"batch_size": 5, "method": "sag", "momentum": 0.3, "fit_intercept": False},
    "ordered-tol": {"batch_size": 50, "shuffle": False, "tol": 1e-4, "n_iter_no_change": 2},
    "clipped": {"batch_size": 16, "momentum": 0.9, "clip_norm": 1.0},
    "weighted": {"batch_size": 7, "sample_weight": "linspace"},
    "early-stopping": {"batch_size": 10, "early_stopping": True, "tol": 1e-3, "validation_fraction": 0.2},
    "scheduled-gtol": {"batch_size": 7, "lr": "exponential", "gtol": 1e-3},
    "chunked-shuffle": {"batch_size": 8, "shuffle": "chunked", "chunk_rows": 100},
}


def _fit_options(options, n):
    options = dict(options)
    if options.get("sample_weight") == "linspace":
        options["sample_weight"] = np.linspace(0, 2, n)
    if options.get("lr") == "exponential":
        options["lr"] = schedules.exponential_decay(0.02, 0.5, 100)
    options.setdefault("lr", 0.01)
    if "method" in options and "solver" in inspect.signature(fastdescent.fit_linear).parameters:
        options["solver"] = options.pop("method")  # its name since version 0.2
    return options


def _record(out, key, value):
    array = np.ascontiguousarray(np.asarray(value))
    out[key] = np.frombuffer(array.tobytes(), dtype=np.uint8).copy()
    out[key + ".dtype"] = np.array(str(array.dtype))


def fingerprint() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    backends = fastdescent.available_backends()
    for backend, dtype, d in itertools.product(backends, (np.float32, np.float64), (3, 16, 33)):
        X, y = _data(d, 700, d, dtype)
        tag = f"{backend}/{np.dtype(dtype).name}/d{d}"
        for name, options in FITS.items():
            try:
                fit = fastdescent.fit_linear(X, y, max_iter=3, random_state=7, backend=backend,
                                             **_fit_options(options, X.shape[0]))  # fmt: skip
            except fastdescent.DivergenceError as error:
                out[f"{tag}/{name}/error"] = np.array(str(error))
                continue
            for field in ("coef", "intercept", "loss_history", "grad_norm_history", "validation_scores"):
                if getattr(fit, field) is not None:
                    _record(out, f"{tag}/{name}/{field}", getattr(fit, field))
            _record(out, f"{tag}/{name}/steps", np.array([fit.n_iter, fit.n_steps]))
        w = np.linspace(-1, 1, d).astype(dtype)
        for l2 in (0.0, 0.25):
            for k, part in enumerate(fastdescent.mse_loss_grad(X, y, w, -0.0, l2=l2, backend=backend)):
                _record(out, f"{tag}/loss_grad/{l2}/{k}", part)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, params in {"default": {}, "adaptive": {"learning_rate": "adaptive", "tol": 1e-2},
                                 "minibatch-avg": {"batch_size": 16, "average": 10, "momentum": 0.5}}.items():  # fmt: skip
                model = fastdescent.SGDRegressor(max_iter=3, random_state=0, backend=backend, **params).fit(X, y)
                model.partial_fit(X[:100], y[:100])
                _record(out, f"{tag}/sgdregressor/{name}/coef", model.coef_)
                _record(out, f"{tag}/sgdregressor/{name}/intercept", model.intercept_)
    for backend, dtype in itertools.product(backends, (np.float32, np.float64)):
        rng = np.random.default_rng(1)
        for name, make in {
            "sgd": lambda p: optim.SGD(p, lr=0.1, backend=backend),
            "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01, backend=backend),
            "nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, backend=backend),
            "dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.3, backend=backend),
            "asgd": lambda p: optim.ASGD(p, lr=0.05, lambd=1e-3, alpha=0.75, t0=5, weight_decay=0.01, backend=backend),
            "sag": lambda p: optim.SAG(p, lr=0.05, n_samples=7, weight_decay=0.01, backend=backend),
        }.items():
            params = [rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=5).astype(dtype)]
            opt = make(params)
            for k in range(20):
                grads = [rng.normal(size=p.shape).astype(dtype) for p in params]
                opt.step(grads, k % 7) if name == "sag" else opt.step(grads)
            for k, p in enumerate(params):
                _record(out, f"{backend}/{np.dtype(dtype).name}/optim/{name}/{k}", p)
        for method in ("sgd", "momentum", "nesterov", "averaged"):
            result = fastdescent.minimize(lambda x: float(np.sum((x - 1.5) ** 2 * [1.0, 3.0])), np.zeros(2, dtype),
                                          jac=lambda x: 2 * (x - 1.5) * [1.0, 3.0], method=method, lr=0.05,
                                          maxiter=200, backend=backend)  # fmt: skip
            _record(out, f"{backend}/{np.dtype(dtype).name}/minimize/{method}", result.x)
    return out


def compare(before: str, after: str) -> int:
    old, new = np.load(before), np.load(after)
    differ = [key for key in old.files if key in new.files and not np.array_equal(old[key], new[key])]
    missing = sorted(set(old.files) ^ set(new.files))
    for key in differ:
        print(f"differs: {key}")
    for key in missing:
        print(f"only in {'the first' if key in old.files else 'the second'}: {key}")
    print(f"{len(old.files)} and {len(new.files)} entries; {len(differ)} differ, {len(missing)} in one only")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "save":
        np.savez(sys.argv[2], **fingerprint())
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
