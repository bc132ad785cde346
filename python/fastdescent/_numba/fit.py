"""Epochs of a fit as compiled loops: the order of section 3 of reduction-order.md, step for step as
``_reference/fit.py`` and ``cpp/fit/fit.hpp``, from the same units (``fastdescent._units``).

One kernel call runs many steps and allocates its work arrays once; the units are compiled into it
for the plan's rule, loss and penalty (``units.py``).

Each kernel first borrows the records it was called with (``intrinsics.borrowed``): Numba counts
a reference on every array it hands to a helper or reads out of a record, an atomic add and a
subtraction each time, and per-sample SGD spent 60% of its time on them (some per element of a
rule's update); on a borrowed array the count is a null test.  The caller holds the records, and
the work arrays it allocated (``new_workspace``, ``new_scratch``), until the call returns.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _status
from .._units import averaging, epoch_end, objective, penalties, primitives, rate_policy, rules
from . import units  # noqa: F401  (the units' compiled definitions)
from .intrinsics import borrowed
from .jit import inlined, kernel
from .sums import batch_sums

WORK_BETWEEN_POLLS = 1 << 20  # multiply-adds between looks at the stop flag, as in C++


class Scratch(NamedTuple):
    sums: np.ndarray  # (d + 2,) a batch's sums
    grad: np.ndarray  # (d + 1,)
    q: np.ndarray  # a batch's q values (SAG stores them); empty otherwise
    polls: np.ndarray  # (1,) work since the stop flag was last read


def new_scratch(dtype: np.dtype, d: int, sag_batch: int = 0) -> Scratch:
    """Allocated by the caller, in Python, so that a kernel can borrow it."""
    return Scratch(np.empty(d + 2, dtype), np.empty(d + 1, dtype), np.empty(sag_batch, dtype), np.zeros(1, np.int64))


@inlined
def _moving(plan, d):
    return d + 1 if plan.fit_intercept else d  # the intercept stays put without fit_intercept


@inlined
def loss_and_gradient(sums, w, count, loss, penalty, grad):
    d = w.shape[0]
    if count == 1:  # x / 1 is x: a single sample's step needs no division (cpp/fit/objective.hpp)
        for j in range(d + 1):
            grad[j] = loss.scale * sums[j]
    else:
        for j in range(d + 1):
            objective.gradient_from_sums(sums, grad, j, count, loss.scale)
    value = penalties.add_to_loss(objective.loss_from_sums(sums, d, count), w, penalty)
    for j in range(d):
        penalties.add_to_gradient(grad, w, j, penalty)
    return value


@inlined
def _batch_loss(sums, count, w, epoch_sums, plan, rows_per_epoch, grad):
    """The batch's loss into the epoch's, its gradient into ``grad``; False when the loss is not finite
    and the derivative is not clipped (with scikit-learn's clip only non-finite weights stop a fit)."""
    loss = loss_and_gradient(sums, w, count, plan.loss, plan.penalty, grad)
    epoch_sums[0] = epoch_sums[0] + loss * (count / rows_per_epoch)
    return np.isfinite(loss) or plan.loss.derivative_clip != 0


@inlined
def _sag_direction(X, order, first, m, q, residuals, seen, sag_sums, progress, w, plan, grad):
    """Replace the batch's stored residuals, fold the changes into the running sums in position
    order, and put the average of the stored gradients over the samples seen so far into grad.

    Position by position, a row drawn twice in one batch finds its memory already at its residual
    (all residuals are taken at the same theta): its second delta is q - q, as in the reference."""
    d = X.shape[1]
    ordered = order.shape[0] > 0
    p = progress[0]
    for position in range(m):
        i = order[first + position] if ordered else first + position
        delta = q[position] - residuals[i]
        residuals[i] = q[position]
        if not seen[i]:
            seen[i] = True
            p["samples_seen"] += 1
        for j in range(d):
            sag_sums[j] = sag_sums[j] + delta * X[i, j]
        sag_sums[d] = sag_sums[d] + delta
    n_seen = X.dtype.type(p["samples_seen"])
    for j in range(d + 1):
        objective.gradient_from_sums(sag_sums, grad, j, n_seen, plan.loss.scale)
    for j in range(d):
        penalties.add_to_gradient(grad, w, j, plan.penalty)


@inlined
def _step_along(grad, theta, epoch_sums, progress, rule_state, penalty_state, average, lr, table, divisors, plan,
                first_step, stride):  # fmt: skip
    """Clip, the rule's update, averaging, what the penalty accrued (section 3.3-3.6); returns the rate.  ``lr``,
    ``table`` and ``divisors`` are the schedule's and the plan's arrays (read once per call)."""
    T = theta.dtype.type
    k = _moving(plan, theta.shape[0] - 1)
    for j in range(k):  # the epoch's mean gradient is of the directions before clipping
        epoch_sums[1 + j] = epoch_sums[1 + j] + grad[j]
    if plan.clip_norm > 0:
        size = np.sqrt(primitives.lane_dot(grad[:k], grad[:k]))
        if size > plan.clip_norm:
            scale = plan.clip_norm / size
            for j in range(k):
                grad[j] = grad[j] * scale
    p = progress[0]
    t = p["steps"]
    row = (t - first_step) * stride
    rate = rate_policy.rate(lr[row], p["rate_divisions"], divisors)
    hyper = plan.rule
    step = rules.begin_step(hyper, rate, t, table, row)
    for j in range(k):
        rules.update(theta, grad, rule_state, j, hyper, step)
    p["steps"] = t + 1
    averages = plan.average_start >= 0 and t + 1 > plan.average_start
    count = T(0)
    if averages:
        averaged = t + 1 - plan.average_start
        count = T(averaged)
        for j in range(k):
            averaging.update(theta, average, j, averaged, count)
    penalty = plan.penalty
    accrued = penalties.accrue(penalty_state, penalty, rate, count)  # after averaging, as scikit-learn
    for j in range(theta.shape[0] - 1):
        penalties.apply_accrued(theta, average, averages, penalty_state, j, penalty, accrued)
    return rate


@inlined
def _run_batches(data, order, state, plan, schedule, rows_per_epoch, work, scratch, stop_flag):
    """The batches of ``order`` (its length: the epoch's rows, or a segment's), each a step:
    ``(status, steps, the last step's rate)``."""
    rows = data.rows
    X, y, weights = rows.X, rows.y, rows.sample_weight
    theta, epoch_sums, progress, average, sag = state.theta, state.epoch_sums, state.progress, state.average, state.sag
    sums, grad, q, polls = scratch.sums, scratch.grad, scratch.q, scratch.polls
    d = X.shape[1]
    T = X.dtype.type
    epoch_rows = order.shape[0] if order.shape[0] > 0 else X.shape[0]
    w = theta[:d]
    rate = T(0)
    steps = 0
    for start in range(0, epoch_rows, plan.batch_size):
        m = min(plan.batch_size, epoch_rows - start)
        count = T(m)
        batch_sums(X, y, weights, order, start, m, w, theta[d], plan.loss, work.stack, work.covered, sums, q)
        if not _batch_loss(sums, count, w, epoch_sums, plan, rows_per_epoch, grad):
            return _status.DIVERGED, steps, rate
        if plan.sag:
            _sag_direction(X, order, start, m, q, sag.residuals, sag.seen, sag.sums, progress, w, plan, grad)
        rate = _step_along(grad, theta, epoch_sums, progress, state.rule, state.penalty, average, schedule.lr,
                           schedule.table, plan.rate_policy.divisors, plan, schedule.first_step,
                           schedule.stride)  # fmt: skip
        steps += 1
        polls[0] += m * (d + 1)
        if polls[0] >= WORK_BETWEEN_POLLS:
            polls[0] = 0
            if stop_flag[0]:
                return _status.INTERRUPTED, steps, rate
    return _status.RAN_ALL, steps, rate


@inlined
def _theta_is_finite(theta):
    for j in range(theta.shape[0]):
        if not np.isfinite(theta[j]):
            return False
    return True


@inlined
def _finish_epoch(theta, epoch_sums, progress, plan, history, epoch, steps, last_rate, has_validation,
                  validation_loss, validation_scale):  # fmt: skip
    history.losses[epoch] = epoch_sums[0]
    if not _theta_is_finite(theta):
        history.grad_norms[epoch] = np.nan
        return _status.DIVERGED
    grad_norm, score, status = epoch_end.end_epoch(
        epoch_sums, steps, _moving(plan, theta.shape[0] - 1), last_rate, has_validation, validation_loss,
        validation_scale, progress, plan.stopping, plan.rate_policy,
    )  # fmt: skip
    history.grad_norms[epoch] = grad_norm
    history.scores[epoch] = score
    return status


@kernel
def run_epochs_kernel(data, state, plan, schedule, history, n_epochs, work, scratch, stop_flag):
    data = borrowed(data)
    state = borrowed(state)
    plan = borrowed(plan)
    schedule = borrowed(schedule)
    history = borrowed(history)
    work = borrowed(work)
    scratch = borrowed(scratch)
    stop_flag = borrowed(stop_flag)
    rows = data.rows
    X = rows.X
    d = X.shape[1]
    T = X.dtype.type
    orders, validation = data.orders, data.validation_rows
    theta, epoch_sums = state.theta, state.epoch_sums
    rows_per_epoch = T(orders.shape[1])
    for epoch in range(n_epochs):
        order = orders[epoch % orders.shape[0]] if orders.shape[0] > 0 else work.natural_order
        for j in range(d + 2):
            epoch_sums[j] = T(-0.0)
        status, steps, rate = _run_batches(data, order, state, plan, schedule, rows_per_epoch, work, scratch,
                                           stop_flag)  # fmt: skip
        if status == _status.INTERRUPTED:
            return epoch, status
        if status != _status.RAN_ALL:
            history.losses[epoch] = epoch_sums[0]
            return epoch + 1, status
        validation_loss = T(np.nan)
        if validation.shape[0] > 0 and _theta_is_finite(theta):
            batch_sums(X, rows.y, rows.sample_weight, validation, 0, validation.shape[0], theta[:d], theta[d],
                       plan.validation_loss, work.stack, work.covered, scratch.sums, scratch.q[:0])  # fmt: skip
            validation_loss = objective.loss_from_sums(scratch.sums, d, T(validation.shape[0]))
        status = _finish_epoch(theta, epoch_sums, state.progress, plan, history, epoch, steps, rate,
                               validation.shape[0] > 0, validation_loss, data.validation_scale)  # fmt: skip
        if status != _status.RAN_ALL:
            return epoch + 1, status
    return n_epochs, _status.RAN_ALL


@kernel
def run_segment_kernel(data, state, plan, schedule, epoch_rows, work, scratch, stop_flag):
    data = borrowed(data)
    state = borrowed(state)
    plan = borrowed(plan)
    schedule = borrowed(schedule)
    work = borrowed(work)
    scratch = borrowed(scratch)
    stop_flag = borrowed(stop_flag)
    order = data.orders[0] if data.orders.shape[0] > 0 else work.natural_order
    status, _, _ = _run_batches(data, order, state, plan, schedule, data.rows.X.dtype.type(epoch_rows), work, scratch,
                                stop_flag)  # fmt: skip
    return status


@kernel
def step_from_sums_kernel(sums, count, state, plan, schedule, epoch_rows, grad):
    sums = borrowed(sums)
    state = borrowed(state)
    plan = borrowed(plan)
    schedule = borrowed(schedule)
    grad = borrowed(grad)
    theta = state.theta
    T = theta.dtype.type
    d = theta.shape[0] - 1
    if not _batch_loss(sums, T(count), theta[:d], state.epoch_sums, plan, T(epoch_rows), grad):
        return _status.DIVERGED
    _step_along(grad, theta, state.epoch_sums, state.progress, state.rule, state.penalty, state.average, schedule.lr,
                schedule.table, plan.rate_policy.divisors, plan, schedule.first_step, schedule.stride)  # fmt: skip
    return _status.RAN_ALL


@kernel
def end_epoch_kernel(state, plan, history, epoch, steps, last_rate):
    state = borrowed(state)
    plan = borrowed(plan)
    history = borrowed(history)
    return _finish_epoch(state.theta, state.epoch_sums, state.progress, plan, history, epoch, steps, last_rate, False,
                         last_rate, 1.0)  # fmt: skip


@kernel
def objective_kernel(rows, theta, loss, penalty, work, sums, grad):
    rows = borrowed(rows)
    theta = borrowed(theta)
    work = borrowed(work)
    sums = borrowed(sums)
    grad = borrowed(grad)
    X = rows.X
    d = X.shape[1]
    batch_sums(X, rows.y, rows.sample_weight, work.natural_order, 0, X.shape[0], theta[:d], theta[d], loss, work.stack,
               work.covered, sums, sums[:0])  # fmt: skip
    return loss_and_gradient(sums, theta[:d], X.dtype.type(X.shape[0]), loss, penalty, grad)


@kernel
def objective_from_sums_kernel(sums, theta, count, loss, penalty, grad):
    sums = borrowed(sums)
    theta = borrowed(theta)
    grad = borrowed(grad)
    d = theta.shape[0] - 1
    return loss_and_gradient(sums, theta[:d], theta.dtype.type(count), loss, penalty, grad)


@kernel
def row_sums_kernel(rows, theta, loss, work, sums):
    rows = borrowed(rows)
    theta = borrowed(theta)
    work = borrowed(work)
    sums = borrowed(sums)
    X = rows.X
    d = X.shape[1]
    batch_sums(X, rows.y, rows.sample_weight, work.natural_order, 0, X.shape[0], theta[:d], theta[d], loss, work.stack,
               work.covered, sums, sums[:0])  # fmt: skip
