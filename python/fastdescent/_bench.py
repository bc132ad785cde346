"""``python -m fastdescent bench``: fastdescent against its peers, all measured in the same run.

Every figure is the median of several runs on this machine, and every ratio compares two figures
of this run: ``peer time / our time`` (above 1: we are faster).  The machine is named first.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from . import _backends, _validation
from ._fit import fit_linear


@dataclass
class Row:
    workload: str
    name: str
    seconds: float
    ours: bool = False
    note: str = ""


@dataclass
class Report:
    machine: dict
    rows: list[Row] = field(default_factory=list)
    scaling: list[dict] = field(default_factory=list)


def machine() -> dict:
    """CPU model, cores usable, SIMD path, threads, library versions."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            fields = dict(line.split(":", 1) for line in cpuinfo.read().split("\n\n")[0].splitlines() if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        model = fields.get("model name", model)
        if "cpu family" in fields and "model" in fields:  # a VM's name can be as bare as "AMD EPYC"
            model += f" (family {fields['cpu family']}, model {fields['model']})"
    except OSError:
        pass
    info = {
        "cpu": model,
        "cores": _validation.thread_count(None),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "backends": list(_backends.available_backends()),
    }
    core = _backends.load("cpp")
    if core is not None:
        build = core.build_info()
        info["simd"] = build["simd"]
        info["compiler"] = build["compiler"]
    info["threads"] = info["cores"]
    return info


def _settle() -> None:
    """Let the OS finish with freshly allocated arrays before timing them: on the development VM the
    first fits after allocating X ran ~20% slower for about a second (transparent huge pages being
    assembled), whichever peer came first."""
    time.sleep(1.5)


# A full run repeats a short figure until it fills this much time (up to MAX_REPEATS runs): the
# median of five 10 ms runs on a shared VM moved by 10-20% from one bench run to the next.
FULL_RUN_TIMING_SECONDS = 0.5
MAX_REPEATS = 50
_timing_seconds = 0.0  # set by run()


def _time_together(functions: dict[Hashable, tuple[Callable[[], object], int]]) -> dict[Hashable, list[float]]:
    """The run times of every function, taken in rounds: a round runs each function that still needs
    runs once (at least its ``repeats``, then until its runs fill the timing budget, at most
    MAX_REPEATS).  All the figures of a workload then see the same stretch of the machine: on the
    shared development VM its speed drifted by 10-30% over seconds, and figures timed one after
    another gave ratios that moved as much from run to run."""
    for function, _ in functions.values():
        function()  # warm up: compile, fault pages in, fill caches
    times: dict[Hashable, list[float]] = {name: [] for name in functions}

    def needs_runs(name: Hashable) -> bool:
        runs, repeats = times[name], functions[name][1]
        return len(runs) < repeats or (sum(runs) < _timing_seconds and len(runs) < MAX_REPEATS)

    while pending := [name for name in functions if needs_runs(name)]:
        for name in pending:
            _wait_until_quiet()
            start = time.perf_counter()
            functions[name][0]()
            times[name].append(time.perf_counter() - start)
    return times


def _wait_until_quiet(window: float = 0.01, limit: float = 0.5) -> None:
    """Waits (up to ``limit`` seconds) until this process uses under a fifth of a core: a peer's
    thread pool can keep spinning after it returns (OpenBLAS's workers spun 0.11 s of CPU after
    each ``X @ v`` here), and in interleaved rounds that stole a core from the next figure."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        before = time.process_time()
        time.sleep(window)
        if time.process_time() - before < 0.2 * window:
            return


def _median_time(function, repeats: int) -> float:
    return statistics.median(_time_together({"": (function, repeats)})[""])


def _marginal(long_runs: list[float], short_runs: list[float], more: int) -> float:
    """Seconds per epoch from fits of 1 + more and 1 epochs; NaN when the extra epochs did not take
    measurably longer (a quick run's smallest shapes): a difference of noise is no figure."""
    extra = statistics.median(long_runs) - statistics.median(short_runs)
    return extra / more if extra > 0 else math.nan


# -- peers ------------------------------------------------------------------------------------


def numpy_full_batch(X, y, lr, epochs):
    """The idiomatic numpy loop (BLAS matrix-vector products)."""
    w, b = np.zeros(X.shape[1], X.dtype), X.dtype.type(0)
    n = X.shape[0]
    for _ in range(epochs):
        r = X @ w + b - y
        w -= lr * (2 * (X.T @ r) / n)
        b -= lr * 2 * r.mean()
    return w


def numpy_minibatch(X, y, lr, epochs, batch, momentum=0.0, rng=None):
    rng = rng or np.random.default_rng(0)
    w, b = np.zeros(X.shape[1], X.dtype), 0.0
    vw, vb = np.zeros_like(w), 0.0
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            Xb = X[rows]
            r = Xb @ w + b - y[rows]
            gw, gb = 2 * (Xb.T @ r) / len(rows), 2 * r.mean()
            if momentum:
                vw, vb = momentum * vw + gw, momentum * vb + gb
                gw, gb = vw, vb
            w -= lr * gw
            b -= lr * gb
    return w


def _naive_numba():
    import numba

    @numba.njit(cache=True)
    def minibatch(X, y, lr, orders, batch):
        n, d = X.shape
        w = np.zeros(d, X.dtype)
        b = 0.0
        gw = np.zeros(d, X.dtype)
        for order in orders:
            for start in range(0, n, batch):
                stop = min(n, start + batch)
                gw[:] = 0.0
                gb = 0.0
                for p in range(start, stop):
                    i = order[p]
                    r = b - y[i]
                    for j in range(d):
                        r += X[i, j] * w[j]
                    for j in range(d):
                        gw[j] += r * X[i, j]
                    gb += r
                for j in range(d):
                    w[j] -= lr * 2 * gw[j] / (stop - start)
                b -= lr * 2 * gb / (stop - start)
        return w

    @numba.njit(cache=True)
    def shuffled_minibatch(X, y, lr, epochs, batch, seed):
        """The loop with its shuffles drawn inside, as a user writes it (and as every other peer,
        and fastdescent, pays for them)."""
        np.random.seed(seed)
        orders = np.empty((epochs, X.shape[0]), np.int64)
        for epoch in range(epochs):
            orders[epoch] = np.random.permutation(X.shape[0])
        return minibatch(X, y, lr, orders, batch)

    def full_batch(X, y, lr, epochs):
        """The same loop with one batch of all rows in order, every epoch."""
        order = np.broadcast_to(np.arange(X.shape[0]), (epochs, X.shape[0]))
        return minibatch(X, y, lr, order, X.shape[0])

    return full_batch, shuffled_minibatch


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# -- workloads --------------------------------------------------------------------------------


_FLOOR_BLAS, _FLOOR_MAX = "floor: BLAS X @ v", "floor: np.max on the cores"  # timed, shown as one floor


def w1(report: Report, quick: bool, repeats: int) -> None:
    n, d, epochs = (20_000, 64, 10) if quick else (200_000, 64, 50)
    rng = np.random.default_rng(0)
    X64 = rng.normal(size=(n, d))
    y64 = X64 @ rng.normal(size=d) + rng.normal(scale=0.1, size=n)
    _settle()
    torch = _torch()
    naive = _naive_numba()[0] if "numba" in _backends.available_backends() else None
    cores = report.machine["cores"]
    for dtype in (np.float64, np.float32):
        X, y = X64.astype(dtype), y64.astype(dtype)
        name = f"W1 full-batch GD {np.dtype(dtype).name} n={n} d={d} {epochs} epochs"
        lr = 0.01
        functions = {}
        for backend in _backends.available_backends():
            if backend == "numpy" and not quick and dtype == np.float32:
                continue  # the reference is the same algorithm in both precisions: timed once
            functions[f"fastdescent {backend}"] = (
                lambda backend=backend: fit_linear(X, y, lr=lr, max_iter=epochs, backend=backend),
                1 if backend == "numpy" else repeats,
            )
        functions["numpy loop (X @ w, BLAS)"] = (lambda: numpy_full_batch(X, y, lr, epochs), repeats)
        if naive is not None:
            functions["naive Numba loop"] = (lambda: naive(X, y, dtype(lr), epochs), repeats)
        if torch is not None:
            functions["torch.optim.SGD (CPU)"] = (lambda: _torch_full_batch(torch, X, y, lr, epochs), repeats)
        # The floor: the fastest numpy read of all of X (a STREAM-style read), BLAS X @ v on all
        # cores or np.max of one slice of rows per core on as many threads (numpy releases the
        # GIL).  Neither is always the faster: OpenBLAS's gemv reads at the memory's speed on some
        # CPUs and at a third of it on others (AMD Zen 4).
        ones, slices = np.ones(d, dtype=dtype), np.array_split(X, cores)
        with ThreadPoolExecutor(cores) as pool:
            functions[_FLOOR_BLAS] = (lambda: X @ ones, repeats)
            functions[_FLOOR_MAX] = (lambda: list(pool.map(np.max, slices)), repeats)
            times = _time_together(functions)
        ours = f"fastdescent {report.machine['backends'][0]}"
        for row_name, runs in times.items():
            if row_name not in (_FLOOR_BLAS, _FLOOR_MAX):
                report.rows.append(Row(name, row_name, statistics.median(runs), ours=row_name == ours))
        if torch is None:
            report.rows.append(Row(name, "torch.optim.SGD (CPU)", float("nan"), note="torch not installed: skipped"))
        # A floor bounds the others from below: its fastest run, not its median.
        blas, reduction = min(times[_FLOOR_BLAS]), min(times[_FLOOR_MAX])
        how = ("BLAS X @ v on all cores (faster here than np.max on the cores' threads)" if blas <= reduction
               else f"np.max of X on {cores} threads (faster here than BLAS X @ v)")  # fmt: skip
        report.rows.append(Row(name, "floor: one read pass of X per epoch", min(blas, reduction) * epochs, note=how))


def _torch_full_batch(torch, X, y, lr, epochs):
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=Xt.dtype, requires_grad=True)
    b = torch.zeros((), dtype=Xt.dtype, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.mean((Xt @ w + b - yt) ** 2)
        loss.backward()
        opt.step()


def w2(report: Report, quick: bool, repeats: int) -> None:
    n, d, epochs, batch = (20_000, 32, 2, 32) if quick else (100_000, 32, 3, 32)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(scale=0.1, size=n)
    _settle()
    name = f"W2 minibatch SGD float64 n={n} d={d} batch {batch}, {epochs} epochs"
    methods = {
        "plain": {},
        "momentum": {"momentum": 0.9},
        "Nesterov": {"momentum": 0.9, "nesterov": True},
        "averaged": {"average": True},
        "SAG": {"solver": "sag"},
        "Adam": {"solver": "adam"},
    }
    first = report.machine["backends"][0]
    functions = {}
    for method, options in methods.items():
        for backend in _backends.available_backends():
            if backend == "numpy" and method != "plain":
                continue
            functions[(method, f"fastdescent {backend}")] = (
                lambda backend=backend, options=options: fit_linear(
                    X, y, lr=0.005, batch_size=batch, max_iter=epochs, random_state=0, backend=backend, **options
                ),
                1 if backend == "numpy" else repeats,
            )
    functions[("plain", "numpy minibatch loop")] = (lambda: numpy_minibatch(X, y, 0.005, epochs, batch), 1)
    if "numba" in _backends.available_backends():
        naive = _naive_numba()[1]
        functions[("plain", "naive Numba loop")] = (lambda: naive(X, y, 0.005, epochs, batch, 0), repeats)
    sklearn_name = "scikit-learn SGDRegressor (batch 1) x epochs"
    try:
        from sklearn.linear_model import SGDRegressor

        functions[("plain", sklearn_name)] = (
            lambda: SGDRegressor(max_iter=1, tol=None, learning_rate="constant", eta0=0.001, random_state=0).fit(X, y),
            repeats,
        )
    except ImportError:
        pass
    torch = _torch()
    if torch is not None:
        functions[("plain", "torch.optim.SGD (CPU)")] = (lambda: _torch_minibatch(torch, X, y, epochs, batch), 1)
    times = _time_together(functions)
    for (method, row_name), runs in times.items():
        seconds = statistics.median(runs)
        if row_name == sklearn_name:
            report.rows.append(Row(f"{name}: {method}", row_name, seconds * epochs,
                                   note="scikit-learn's per-epoch time (it updates after every sample) times the epochs"))  # fmt: skip
        else:
            ours = row_name == f"fastdescent {first}"
            report.rows.append(Row(f"{name}: {method}", row_name, seconds, ours=ours))
    plain = f"{name}: plain"
    if ("plain", sklearn_name) not in times:
        report.rows.append(Row(plain, sklearn_name, float("nan"), note="not installed: skipped"))
    if torch is None:
        report.rows.append(Row(plain, "torch.optim.SGD (CPU)", float("nan"), note="torch not installed: skipped"))


def _torch_minibatch(torch, X, y, epochs, batch):
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=Xt.dtype, requires_grad=True)
    b = torch.zeros((), dtype=Xt.dtype, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.005)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(X.shape[0], generator=generator)
        for start in range(0, X.shape[0], batch):
            rows = order[start : start + batch]
            opt.zero_grad()
            torch.mean((Xt[rows] @ w + b - yt[rows]) ** 2).backward()
            opt.step()


def w3(report: Report, quick: bool, repeats: int) -> None:
    from .optim import SGD

    size, steps = (100_000, 20) if quick else (1_000_000, 100)
    rng = np.random.default_rng(2)
    grad = rng.normal(size=size)
    name = f"W3 step optimizer, momentum 0.9, {size} parameters, {steps} steps"
    first = report.machine["backends"][0]
    functions = {}
    for backend in _backends.available_backends():
        def ours(backend=backend):
            params = [np.zeros(size)]
            opt = SGD(params, lr=0.01, momentum=0.9, backend=backend)
            for _ in range(steps):
                opt.step([grad])
        functions[f"fastdescent.optim.SGD {backend}"] = (ours, repeats)

    def numpy_in_place():
        p, buf = np.zeros(size), np.zeros(size)
        for _ in range(steps):
            buf *= 0.9
            buf += grad
            p -= 0.01 * buf

    functions["numpy in-place update"] = (numpy_in_place, repeats)
    torch = _torch()
    if torch is not None:
        def torch_sgd():
            p = torch.zeros(size, dtype=torch.float64, requires_grad=True)
            opt = torch.optim.SGD([p], lr=0.01, momentum=0.9)
            g = torch.from_numpy(grad)
            for _ in range(steps):
                p.grad = g
                opt.step()
        functions["torch.optim.SGD (CPU)"] = (torch_sgd, repeats)
    for row_name, runs in _time_together(functions).items():
        report.rows.append(Row(name, row_name, statistics.median(runs), ours=row_name == f"fastdescent.optim.SGD {first}"))
    if torch is None:
        report.rows.append(Row(name, "torch.optim.SGD (CPU)", float("nan"), note="torch not installed: skipped"))


# scikit-learn's SGDRegressor losses and penalties beside its defaults (squared error, L2): each
# should cost within 15% of the defaults per epoch.
W5_VARIANTS = (
    ("squared/l2", {}),
    ("huber", {"loss": "huber"}),
    ("epsilon_insensitive", {"loss": "epsilon_insensitive"}),
    ("squared_epsilon_insensitive", {"loss": "squared_epsilon_insensitive"}),
    ("l1", {"penalty": "l1"}),
    ("elasticnet", {"penalty": "elasticnet"}),
)


def w5(report: Report, quick: bool, repeats: int) -> None:
    """Per-sample SGD at scikit-learn's defaults (batch 1, invscaling, L2 1e-4), tol=None: the
    marginal time of an epoch (fits of 1 and 1 + k epochs, the difference over k), so that the
    set-up of a fit does not count."""
    from sklearn.linear_model import SGDRegressor as SklearnSGDRegressor

    from ._sgd_regressor import SGDRegressor

    shapes = ((1_000, 10), (1_000, 50), (3_000, 32)) if quick else ((15_000, 10), (15_000, 50), (100_000, 32))
    more = 10 if quick else 20
    backends = [name for name in ("cpp", "numba") if name in report.machine["backends"]]
    rng = np.random.default_rng(5)
    for n, d in shapes:
        X = rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + rng.standard_t(3, size=n)
        name = f"W5 per-sample SGD, SGDRegressor defaults, n={n} d={d}, per epoch"
        functions = {}
        for variant, params in W5_VARIANTS:
            peers = {"scikit-learn": lambda epochs, params=params: SklearnSGDRegressor(
                max_iter=epochs, tol=None, random_state=0, **params).fit(X, y)}  # fmt: skip
            for backend in backends if variant == "squared/l2" else backends[:1]:
                peers[f"ours {backend}"] = lambda epochs, backend=backend, params=params: SGDRegressor(
                    max_iter=epochs, tol=None, random_state=0, backend=backend, **params).fit(X, y)  # fmt: skip
            for peer, fit in peers.items():
                for epochs in (1, 1 + more):
                    functions[(peer, variant, epochs)] = (lambda fit=fit, epochs=epochs: fit(epochs), repeats)
        _settle()
        times = _time_together(functions)
        per_epoch = {(peer, variant): _marginal(times[(peer, variant, 1 + more)], times[(peer, variant, 1)], more)
                     for peer, variant, epochs in times if epochs == 1}  # fmt: skip
        ours = f"ours {backends[0]}" if backends else None
        for (peer, variant), seconds in per_epoch.items():
            note = ""
            if np.isnan(seconds):
                note = "not timed: the extra epochs took no measurable time (a quick run's shape)"
            elif peer == ours and variant != "squared/l2":
                note = f"{seconds / per_epoch[(ours, 'squared/l2')]:.2f}x our squared/l2"
            elif peer == "scikit-learn" and variant != "squared/l2" and (ours, variant) in per_epoch:
                note = f"{seconds / per_epoch[(ours, variant)]:.2f}x our time for {variant}"
            report.rows.append(Row(name, f"{peer} {variant}", seconds, ours=(peer, variant) == (ours, "squared/l2"),
                                   note=note))  # fmt: skip


def _one_read_floor(functions: dict, X: np.ndarray, y: np.ndarray, pool: ThreadPoolExecutor, parts: int,
                    repeats: int) -> None:  # fmt: skip
    """Adds "floor", one read of X and y: np.max of one slice of rows per thread of the pool (parts threads)."""
    slices = [(part, y[rows[0] : rows[-1] + 1]) for part, rows in
              zip(np.array_split(X, parts), np.array_split(np.arange(X.shape[0]), parts))]  # fmt: skip
    functions["floor"] = (lambda: list(pool.map(lambda part: (np.max(part[0]), np.max(part[1])), slices)), repeats)


def _few_features(rng, n, d):
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + rng.normal(scale=0.1, size=n)


def w6(report: Report, quick: bool, repeats: int) -> None:
    """Full-batch GD at a handful of features, where a row is a few bytes: the per-row cost, not the
    bytes, sets the pace (the seed example's shape is d = 1)."""
    n, epochs = (20_000, 20) if quick else (200_000, 200)
    naive = _naive_numba()[0] if "numba" in _backends.available_backends() else None
    rng = np.random.default_rng(6)
    for d in (1, 2, 4, 8):
        X, y = _few_features(rng, n, d)
        name = f"W6 few features, full-batch GD float64 n={n} d={d}, {epochs} epochs"
        functions = {}
        for backend in report.machine["backends"]:
            if backend != "numpy":
                functions[f"fastdescent {backend}"] = (
                    lambda backend=backend: fit_linear(X, y, lr=0.01, max_iter=epochs, backend=backend), repeats)
        functions["numpy loop (X @ w, BLAS)"] = (lambda: numpy_full_batch(X, y, 0.01, epochs), repeats)
        if naive is not None:
            functions["naive Numba loop"] = (lambda: naive(X, y, 0.01, epochs), repeats)
        _settle()
        with ThreadPoolExecutor(report.machine["cores"]) as pool:
            _one_read_floor(functions, X, y, pool, report.machine["cores"], repeats)
            times = _time_together(functions)
        ours = f"fastdescent {report.machine['backends'][0]}"
        for row_name, runs in times.items():
            if row_name == "floor":  # a floor bounds the others from below: its fastest run
                report.rows.append(Row(name, "floor: one read of X and y per epoch", min(runs) * epochs,
                                       note=f"np.max on {report.machine['cores']} threads"))  # fmt: skip
            else:
                report.rows.append(Row(name, row_name, statistics.median(runs), ours=row_name == ours))


def w7(report: Report, quick: bool, repeats: int) -> None:
    """Shuffled minibatches of 32 rows at a handful of features: the step, not the data, sets the
    pace.  Seconds per epoch (the numpy loop runs fewer epochs than the kernels)."""
    n, epochs, numpy_epochs = (20_000, 5, 1) if quick else (200_000, 20, 1)
    rng = np.random.default_rng(7)
    for d in (1, 4, 8):
        X, y = _few_features(rng, n, d)
        name = f"W7 small batches, batch 32 shuffled float64 n={n} d={d}, per epoch"
        functions = {}
        for backend in report.machine["backends"]:
            if backend != "numpy":
                functions[f"fastdescent {backend}"] = (lambda backend=backend: fit_linear(
                    X, y, lr=0.01, batch_size=32, max_iter=epochs, random_state=0, backend=backend), repeats)  # fmt: skip
        functions["numpy minibatch loop"] = (lambda: numpy_minibatch(X, y, 0.01, numpy_epochs, 32), 1 if not quick else repeats)
        _settle()
        times = _time_together(functions)
        ours = f"fastdescent {report.machine['backends'][0]}"
        for row_name, runs in times.items():
            per = numpy_epochs if row_name == "numpy minibatch loop" else epochs
            report.rows.append(Row(name, row_name, statistics.median(runs) / per, ours=row_name == ours))


def _numpy_adam(size, dtype, grad, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """The idiomatic in-place numpy Adam (one temporary, reused), as a hand-written loop has it: a
    function that takes one step."""
    p, m, v, work = (np.zeros(size, dtype) for _ in range(4))
    beta1, beta2 = betas
    t = 0

    def step():
        nonlocal t
        t += 1
        g = grad
        if weight_decay and not decoupled:
            g = grad + weight_decay * p
        if weight_decay and decoupled:
            p[...] *= 1 - lr * weight_decay
        m[...] *= beta1
        m[...] += (1 - beta1) * g
        v[...] *= beta2
        np.multiply(g, g, out=work)
        work[...] *= 1 - beta2
        v[...] += work
        np.sqrt(v, out=work)
        work[...] /= (1 - beta2**t) ** 0.5
        work[...] += eps
        np.divide(m, work, out=work)
        work[...] *= lr / (1 - beta1**t)
        p[...] -= work

    return step


def _repeated(step, steps):
    step()  # the state made and its pages touched before any timing: a step in steady state
    return lambda: [step() for _ in range(steps)]


def w8(report: Report, quick: bool, repeats: int) -> None:
    """One Adam (AdamW) step on a large parameter array, in steady state (each optimizer made and a
    first step taken before the timing, so that no figure counts the first touch of its state's
    pages): fastdescent.optim, torch.optim with its default CPU implementation (single tensor) and
    fused=True, numpy's in-place formula, and the floor: the bytes an Adam step must move (read p,
    g, m, v; write p, m, v) at the speed at which this machine's cores read and write memory in
    place (``a += b`` on one slice per core)."""
    from . import optim

    torch = _torch()
    sizes = (10_000, 100_000) if quick else (1_000_000, 10_000_000)
    backends = _backends.available_backends()
    first = report.machine["backends"][0]
    cores = report.machine["cores"]
    rng = np.random.default_rng(8)
    for method, size, dtype in itertools.product(("Adam", "AdamW"), sizes, (np.float32, np.float64)):
        grad = rng.normal(size=size).astype(dtype)
        steps = 20 if size <= 1_000_000 else 5
        name = f"W8 {method} step, {size:.0e} parameters {np.dtype(dtype).name} (time per step)"
        options = {"weight_decay": 0.01} if method == "AdamW" else {}
        functions = {}
        for backend in backends:
            opt = getattr(optim, method)([np.zeros(size, dtype)], lr=1e-3, backend=backend, **options)
            functions[f"fastdescent.optim.{method} {backend}"] = (
                _repeated(lambda opt=opt: opt.step([grad]), steps), 1 if backend == "numpy" else repeats)
        numpy_step = _numpy_adam(size, dtype, grad, weight_decay=options.get("weight_decay", 0.0),
                                 decoupled=method == "AdamW")  # fmt: skip
        functions["numpy in-place formula"] = (_repeated(numpy_step, steps), repeats)
        if torch is not None:
            for label, fused in (("default", None), ("fused=True", True)):
                p = torch.zeros(size, dtype=torch.from_numpy(grad).dtype)
                p.grad = torch.from_numpy(grad)
                peer = getattr(torch.optim, method)([p], lr=1e-3, fused=fused, **options)
                functions[f"torch.optim.{method} {label}"] = (_repeated(peer.step, steps), repeats)
        a, b = np.ones(size, dtype), np.ones(size, dtype)
        pieces = list(zip(np.array_split(a, cores), np.array_split(b, cores)))

        def in_place(ab):
            for _ in range(steps):  # each thread its passes: no hand-off per pass in the figure
                np.add(*ab, out=ab[0])

        with ThreadPoolExecutor(cores) as pool:
            functions["floor"] = (lambda: list(pool.map(in_place, pieces)), repeats)
            times = _time_together(functions)
        for row_name, runs in times.items():
            if row_name != "floor":
                report.rows.append(Row(name, row_name, statistics.median(runs) / steps,
                                       ours=row_name == f"fastdescent.optim.{method} {first}"))  # fmt: skip
        if torch is None:
            report.rows.append(Row(name, f"torch.optim.{method}", float("nan"), note="torch not installed: skipped"))
        report.rows.append(Row(name, "floor: the bytes of a step, in place", min(times["floor"]) / steps * 7 / 3,
                               note=f"a += b on {cores} threads (3 array passes), scaled to Adam's 7"))  # fmt: skip


SCALING_BATCHES = (None, 1, 32)  # full batch, per sample, minibatches of 32 (shuffled)
NUMPY_STEP_ROWS = 4_096  # the numpy loop's per-step cost does not depend on n: a batched epoch is timed on this many rows


def scaling(report: Report, quick: bool, repeats: int) -> None:
    """fit_linear's time per epoch (the marginal epoch, as W5) on the default backend as n and d grow,
    for full batches, single samples and minibatches of 32, each beside the numpy loop of the same
    shape (its minibatch loop timed on the first NUMPY_STEP_ROWS rows and scaled to n: its cost is
    per step)."""
    backend = report.machine["backends"][0]
    rng = np.random.default_rng(3)
    ns = (1_000, 10_000, 100_000) if quick else (1_000, 10_000, 100_000, 1_000_000)
    ds = (1, 2, 4, 8, 16, 256) if quick else (1, 2, 4, 8, 16, 64, 256, 1024)
    shapes = [(n, 32) for n in ns] + [(20_000, d) for d in ds]
    for n, d in shapes:
        X = rng.normal(size=(n, d))
        y = X[:, 0].copy()
        lr = 0.1 / d  # per-sample steps stay stable at every d
        entry = {"n": n, "d": d}
        for batch in SCALING_BATCHES:
            # enough extra epochs to take milliseconds (~2e7 values full batch, ~5e5 rows per step), not noise
            more = min(2_000, max(50, -(-20_000_000 // (n * d))) if batch is None else max(3, -(-500_000 // n)))

            def fit(epochs, batch=batch):
                return fit_linear(X, y, lr=lr, batch_size=batch, max_iter=epochs, random_state=0, backend=backend)

            # the marginal epoch, as W5: a fit's fixed cost (checks, plan: ~0.3 ms) is not an epoch's
            times = _time_together({epochs: (lambda epochs=epochs: fit(epochs), repeats) for epochs in (1, 1 + more)})
            seconds = _marginal(times[1 + more], times[1], more)
            if batch is None:
                numpy = _median_time(lambda: numpy_full_batch(X, y, lr, more), repeats) / more
            else:
                rows = min(n, NUMPY_STEP_ROWS)
                numpy = _median_time(lambda: numpy_minibatch(X[:rows], y[:rows], lr, 1, batch), 1) * n / rows
            key = "full" if batch is None else f"batch_{batch}"
            entry[key] = {"seconds_per_epoch": seconds, "ns_per_value": seconds / (n * d) * 1e9,
                          "numpy_ratio": numpy / seconds}  # fmt: skip
        report.scaling.append(entry)


def dask_workload(report: Report, quick: bool, repeats: int) -> None:
    """The cost of going out of core: seconds per epoch of the same fit in memory, on a memory map,
    on Dask's threads and on a LocalCluster of 2 worker processes (data persisted on the workers).

    Epoch time = (time of a 1 + k epoch fit - time of a 1 epoch fit) / k: set-up (rechunking,
    persisting, starting tasks) is left out of it and shown on its own.
    """
    import tempfile

    import dask
    import dask.array as da
    import distributed

    n, d, chunk, extra = (131_072, 32, 16_384, 2) if quick else (1_048_576, 32, 131_072, 4)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(scale=0.1, size=n)
    _settle()
    backend = report.machine["backends"][0]
    fits = {
        f"W4 full-batch GD float64 n={n} d={d}, chunks of {chunk} rows, s/epoch": dict(lr=0.01),
        f"W4 minibatch SGD batch 256, chunked shuffle, n={n} d={d}, s/epoch": dict(lr=0.001, batch_size=256,
                                                                               shuffle="chunked", chunk_rows=chunk),
    }  # fmt: skip

    def per_epoch(data, target, options):
        def fit(epochs):
            return lambda: fit_linear(data, target, max_iter=epochs, random_state=0, backend=backend, **options)

        one = _median_time(fit(1), repeats)
        more = _median_time(fit(1 + extra), repeats)
        epoch = max(more - one, 0.0) / extra
        return epoch, max(one - epoch, 0.0)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.f64")
        X.tofile(path)
        mapped = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
        Xd, yd = da.from_array(X, chunks=(chunk, d)), da.from_array(y, chunks=chunk)
        for name, options in fits.items():
            seconds, _ = per_epoch(X, y, options)
            report.rows.append(Row(name, f"in memory ({backend})", seconds, ours=True))
            seconds, setup = per_epoch(mapped, y, options)
            report.rows.append(Row(name, "memory map, chunk by chunk", seconds, note=f"set-up {setup:.3f} s"))
            dask_options = {key: value for key, value in options.items() if key not in ("shuffle", "chunk_rows")}
            with dask.config.set(scheduler="threads"):
                seconds, setup = per_epoch(Xd, yd, dask_options)
            report.rows.append(Row(name, "Dask, threads scheduler", seconds, note=f"set-up {setup:.3f} s"))
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                          silence_logs=40) as cluster, distributed.Client(cluster):  # fmt: skip
                with warnings.catch_warnings():  # "sending a large graph": the data goes to the workers once
                    warnings.simplefilter("ignore", UserWarning)
                    on_workers = dask.persist(Xd, yd)
                seconds, setup = per_epoch(*on_workers, dask_options)
            report.rows.append(Row(name, "Dask, LocalCluster 2 processes", seconds, note=f"set-up {setup:.3f} s"))


# -- output -----------------------------------------------------------------------------------


def format_report(report: Report) -> str:
    m = report.machine
    lines = [
        f"machine: {m['cpu']}; {m['cores']} cores usable; SIMD path {m.get('simd', 'n/a')}; "
        f"threads {m['threads']}; Python {m['python']}, numpy {m['numpy']}; backends {', '.join(m['backends'])}",
        "ratio = peer time / our time (above 1: fastdescent is faster); all figures from this run",
    ]
    workloads = list(dict.fromkeys(row.workload for row in report.rows))
    for workload in workloads:
        rows = [row for row in report.rows if row.workload == workload]
        ours = next((row for row in rows if row.ours), None)
        lines += ["", workload, f"  {'':<46} {'median [s]':>11} {'ratio':>8}"]
        for row in rows:
            comparable = ours is not None and row is not ours and ours.seconds > 0 and not np.isnan(row.seconds)
            ratio = f"{row.seconds / ours.seconds:8.2f}" if comparable else ""
            marker = " (ours)" if row.ours else ""
            seconds = "skipped" if np.isnan(row.seconds) else f"{row.seconds:11.4f}"
            lines.append(f"  {row.name + marker:<46} {seconds:>11} {ratio:>8}  {row.note}".rstrip())
    if report.scaling:
        lines += ["", f"Scaling (fit_linear, {report.machine['backends'][0]} backend): seconds per epoch, and the numpy "
                  "loop of the same shape over ours (x numpy)"]  # fmt: skip
        header = f"  {'n':>9} {'d':>6}"
        for batch in SCALING_BATCHES:
            header += f" {'full batch' if batch is None else f'batch {batch}':>11} {'x numpy':>8}"
        lines.append(header)
        for entry in report.scaling:
            line = f"  {entry['n']:>9} {entry['d']:>6}"
            for batch in SCALING_BATCHES:
                cell = entry["full" if batch is None else f"batch_{batch}"]
                if np.isnan(cell["seconds_per_epoch"]):
                    line += f" {'too short':>11} {'':>8}"
                else:
                    line += f" {cell['seconds_per_epoch']:>11.5f} {cell['numpy_ratio']:>8.1f}"
            lines.append(line)
    return "\n".join(lines)


def run(quick: bool = False, json_path: str | None = None, plot_path: str | None = None, print_=print,
        dask: bool = False) -> Report:  # fmt: skip
    """W1-W3, W5-W8 and the scaling table; with ``dask``, the in-memory vs memory-map vs Dask comparison instead."""
    global _timing_seconds
    repeats = 3 if quick else 5
    _timing_seconds = 0.0 if quick else FULL_RUN_TIMING_SECONDS
    report = Report(machine=machine())
    print_(f"benchmarking on {report.machine['cpu']} ({'quick' if quick else 'full'} run)...")
    for workload in (dask_workload,) if dask else (w1, w2, w3, w5, w6, w7, w8, scaling):
        workload(report, quick, repeats)
    print_(format_report(report))
    if json_path:
        with open(json_path, "w") as out:
            json.dump({"machine": report.machine, "rows": [vars(r) for r in report.rows], "scaling": report.scaling},
                      out, indent=2, default=float)  # fmt: skip
        print_(f"\nfigures written to {json_path}")
    if plot_path:
        _plot(report, plot_path)
        print_(f"bar chart written to {plot_path}")
    return report


def _plot(report: Report, path: str) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(row.workload for row in report.rows if not np.isnan(row.seconds)))
    fig, axes = plt.subplots(len(workloads), 1, figsize=(9, 2.2 * len(workloads)))
    for ax, workload in zip(np.atleast_1d(axes), workloads):
        rows = [row for row in report.rows if row.workload == workload and not np.isnan(row.seconds)]
        ax.barh([row.name for row in rows], [row.seconds for row in rows],
                color=["tab:orange" if row.ours else "tab:blue" for row in rows])  # fmt: skip
        ax.set_xscale("log")
        # Bars start at half the fastest time: on a log axis, lengths then compare honestly
        # (matplotlib would start at the shortest bar and draw it with no length at all).
        ax.set_xlim(left=0.5 * min(row.seconds for row in rows), right=1.5 * max(row.seconds for row in rows))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(workload, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.supxlabel("median seconds (log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":  # pragma: no cover
    run(quick=bool(os.environ.get("QUICK")))
