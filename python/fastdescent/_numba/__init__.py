"""The Numba backend: the canonical order of ``docs/reduction-order.md`` as compiled loops.

It mirrors the C++ kernels (``cpp/``) loop for loop and returns the reference's bits: no
``fastmath``, no ``np.sum``/``np.dot`` inside kernels, no float64 literal in float32 arithmetic
(constants come from ``array.dtype.type(...)``; scalars arrive in the working dtype).  The units of
a fit are the reference's own (``fastdescent._units``), compiled (``units.py``).  Kernels release
the GIL, so fits in several Python threads run in parallel.  It implements
``fastdescent._backends.Backend``.

- ``intrinsics``: LLVM code (a prefetch, a row's lanes as one vector);
- ``sums``: a batch's canonical sums; ``fit``: the epochs; ``steps``: a rule on a user's parameter;
- ``units``: the units made callable from compiled code; ``interrupt``: Ctrl-C; ``jit``: options, cache.
"""

from __future__ import annotations

import numpy as np

from .fit import (
    end_epoch_kernel,
    new_scratch,
    objective_from_sums_kernel,
    objective_kernel,
    row_sums_kernel,
    run_epochs_kernel,
    run_segment_kernel,
    step_from_sums_kernel,
)
from .interrupt import run_interruptibly
from .steps import rule_step_kernel
from .._chunked.sources import POOL_THREADS, submit
from .sums import new_workspace

NAME = "numba"
# The kernels run on one thread (Numba's parallel layer is not safe for fits running in several
# Python threads); the driver gives large full-batch fits the cores through aligned chunks.
SUMS_ON_ONE_THREAD = True

# The kernels borrow their arrays (_numba/intrinsics.py: borrowed): every array they use is
# allocated here, and held by these functions until the kernel returns.


def row_sums(rows, theta, loss, n_threads=1):
    dtype, d = rows.X.dtype, rows.X.shape[1]
    sums = np.empty(d + 2, dtype)
    row_sums_kernel(rows, theta, loss, new_workspace(dtype, d), sums)
    return sums


def objective(rows, theta, loss, penalty, n_threads=1):
    dtype, d = rows.X.dtype, rows.X.shape[1]
    grad = np.empty(d + 1, dtype)
    value = objective_kernel(rows, theta, loss, penalty, new_workspace(dtype, d), np.empty(d + 2, dtype), grad)
    return dtype.type(value), grad


def objective_from_sums(sums, theta, count, loss, penalty):
    grad = np.empty(theta.shape[0], theta.dtype)
    value = objective_from_sums_kernel(sums, theta, count, loss, penalty, grad)
    return theta.dtype.type(value), grad


def _work(data, plan):
    dtype, d = data.rows.X.dtype, data.rows.X.shape[1]
    return new_workspace(dtype, d), new_scratch(dtype, d, plan.batch_size if plan.sag else 0)


def run_epochs(data, state, plan, schedule, history, n_epochs):
    return run_interruptibly(run_epochs_kernel, data, state, plan, schedule, history, n_epochs, *_work(data, plan))


def run_segment(data, state, plan, schedule, epoch_rows):
    return run_interruptibly(run_segment_kernel, data, state, plan, schedule, epoch_rows, *_work(data, plan))


def step_from_sums(sums, count, state, plan, schedule, epoch_rows):
    grad = np.empty(state.theta.shape[0], state.theta.dtype)
    return step_from_sums_kernel(sums, count, state, plan, schedule, epoch_rows, grad)


def end_epoch(state, plan, history, epoch, steps, last_rate):
    return end_epoch_kernel(state, plan, history, epoch, steps, last_rate)


# A rule is element-wise: cut into contiguous pieces, it runs on the cores with the same bits.
# From a larger size than in C++ (cpp/bindings/rules.cpp: 65 536), whose pool spins: handing a piece
# to a Python thread cost 250-300 us on the development VM (an Adam step on 10^5 float32 values:
# 330 us on two threads, 85-110 us on one; on 3 * 10^6, 2.4-3.1 ms against 3.7 ms).
PARALLEL_ELEMENTS = 1 << 19


def rule_step(param, grad, state, hyper, step):
    param, grad = param.reshape(-1), grad.reshape(-1)
    if param.shape[0] == 0:
        return
    arrays = [a.reshape(-1) for a in state]
    pieces = POOL_THREADS if param.shape[0] >= PARALLEL_ELEMENTS else 1
    bounds = [param.shape[0] * k // pieces for k in range(pieces + 1)]

    def piece(k: int) -> None:
        a, b = bounds[k], bounds[k + 1]
        here = param[a:b]
        # An unused optional array (empty) goes in as an empty view at the piece of param: LLVM
        # turns the branch it guards into AVX-512 masked loads and stores (all masked off) at that
        # array's address plus i, and where no memory is mapped there each one took a microcode
        # assist (RMSprop on 10^7 float32 values: 90 ms a step instead of 6; perf put 70% of the
        # samples beside the masked accesses).  Inside param nothing faults; the kernel is compiled
        # with noalias arguments (steps.py), so LLVM adds no overlap test that the view would fail.
        rule_step_kernel(here, grad[a:b], type(state)(*(x[a:b] if x.shape[0] else here[:0] for x in arrays)), hyper,
                         step)  # fmt: skip

    if pieces == 1:
        piece(0)
        return
    others = [submit(lambda k=k: piece(k)) for k in range(1, pieces)]
    try:
        piece(0)
    finally:
        for other in others:  # no piece outlives the call, Ctrl-C or not
            other.result()
