"""Epochs of a fit as compiled loops: the order of section 3 of reduction-order.md, step for step as
``_reference/fit.py`` and ``cpp/fit/fit.hpp``, from the same units (``fastdescent._units``).

One kernel call runs many steps and allocates its work arrays once; the units are compiled into it
for the plan's rule, loss and penalty (``units.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _status
from .._units import averaging, epoch_end, objective, penalties, primitives, rate_policy, rules
from . import units  # noqa: F401  (the units' compiled definitions)
from .jit import inlined, kernel
from .sums import batch_sums, workspace

WORK_BETWEEN_POLLS = 1 << 20  # multiply-adds between looks at the stop flag, as in C++


class Scratch(NamedTuple):
    sums: np.ndarray  # (d + 2,) a batch's sums
    grad: np.ndarray  # (d + 1,)
    q: np.ndarray  # a batch's q values (SAG stores them); empty otherwise
    polls: np.ndarray  # (1,) work since the stop flag was last read


@inlined
def _scratch(X, plan):
    d = X.shape[1]
    return Scratch(np.empty(d + 2, X.dtype), np.empty(d + 1, X.dtype), np.empty(plan.batch_size if plan.sag else 0,
                   X.dtype), np.zeros(1, np.int64))  # fmt: skip


@inlined
def _moving(plan, d):
    return d + 1 if plan.fit_intercept else d  # the intercept stays put without fit_intercept


@inlined
def loss_and_gradient(sums, w, count, loss, penalty, grad):
    d = w.shape[0]
    for j in range(d + 1):
        objective.gradient_from_sums(sums, grad, j, count, loss.scale)
    value = penalties.add_to_loss(objective.loss_from_sums(sums, d, count), w, penalty)
    for j in range(d):
        penalties.add_to_gradient(grad, w, j, penalty)
    return value


@inlined
def _batch_loss(sums, count, state, plan, rows_per_epoch, grad):
    """The batch's loss into the epoch's, its gradient into ``grad``; False when the loss is not finite
    and the derivative is not clipped (with scikit-learn's clip only non-finite weights stop a fit)."""
    d = state.theta.shape[0] - 1
    loss = loss_and_gradient(sums, state.theta[:d], count, plan.loss, plan.penalty, grad)
    state.epoch_sums[0] = state.epoch_sums[0] + loss * (count / rows_per_epoch)
    return np.isfinite(loss) or plan.loss.derivative_clip != 0


@inlined
def _sag_direction(rows, order, first, m, q, memory, progress, w, loss, penalty, grad):
    """Replace the batch's stored residuals, fold the changes into the running sums in position
    order, and put the average of the stored gradients over the samples seen so far into grad.

    Position by position, a row drawn twice in one batch finds its memory already at its residual
    (all residuals are taken at the same theta): its second delta is q - q, as in the reference."""
    X = rows.X
    d = X.shape[1]
    ordered = order.shape[0] > 0
    p = progress[0]
    for position in range(m):
        i = order[first + position] if ordered else first + position
        delta = q[position] - memory.residuals[i]
        memory.residuals[i] = q[position]
        if not memory.seen[i]:
            memory.seen[i] = True
            p["samples_seen"] += 1
        for j in range(d):
            memory.sums[j] = memory.sums[j] + delta * X[i, j]
        memory.sums[d] = memory.sums[d] + delta
    n_seen = X.dtype.type(p["samples_seen"])
    for j in range(d + 1):
        objective.gradient_from_sums(memory.sums, grad, j, n_seen, loss.scale)
    for j in range(d):
        penalties.add_to_gradient(grad, w, j, penalty)


@inlined
def _step_along(grad, state, plan, schedule):
    """Clip, the rule's update, averaging (section 3.3-3.5); returns the rate it used."""
    T = state.theta.dtype.type
    d = state.theta.shape[0] - 1
    k = _moving(plan, d)
    for j in range(k):  # the epoch's mean gradient is of the directions before clipping
        state.epoch_sums[1 + j] = state.epoch_sums[1 + j] + grad[j]
    if plan.clip_norm > 0:
        size = np.sqrt(primitives.lane_dot(grad[:k], grad[:k]))
        if size > plan.clip_norm:
            scale = plan.clip_norm / size
            for j in range(k):
                grad[j] = grad[j] * scale
    p = state.progress[0]
    t = p["steps"]
    row = (t - schedule.first_step) * schedule.stride
    rate = rate_policy.rate(schedule.lr[row], state.progress, plan.rate_policy)
    step = rules.begin_step(plan.rule, rate, t, schedule.table, row)
    for j in range(k):
        rules.update(state.theta, grad, state.rule, j, plan.rule, step)
    p["steps"] = t + 1
    if plan.average_start >= 0 and t + 1 > plan.average_start:
        averaged = t + 1 - plan.average_start
        count = T(averaged)
        for j in range(k):
            averaging.update(state.theta, state.average, j, averaged, count)
    return rate


@inlined
def _run_batches(rows, order, state, plan, schedule, rows_per_epoch, work, scratch, stop_flag):
    """The batches of ``order`` (its length: the epoch's rows, or a segment's), each a step:
    ``(status, steps, the last step's rate)``."""
    X = rows.X
    d = X.shape[1]
    T = X.dtype.type
    epoch_rows = order.shape[0] if order.shape[0] > 0 else X.shape[0]
    w = state.theta[:d]
    rate = T(0)
    steps = 0
    for start in range(0, epoch_rows, plan.batch_size):
        m = min(plan.batch_size, epoch_rows - start)
        count = T(m)
        batch_sums(rows, order, start, m, w, state.theta[d], plan.loss, work, scratch.sums, scratch.q)
        if not _batch_loss(scratch.sums, count, state, plan, rows_per_epoch, scratch.grad):
            return _status.DIVERGED, steps, rate
        if plan.sag:
            _sag_direction(rows, order, start, m, scratch.q, state.sag, state.progress, w, plan.loss, plan.penalty,
                           scratch.grad)  # fmt: skip
        rate = _step_along(scratch.grad, state, plan, schedule)
        steps += 1
        scratch.polls[0] += m * (d + 1)
        if scratch.polls[0] >= WORK_BETWEEN_POLLS:
            scratch.polls[0] = 0
            if stop_flag[0]:
                return _status.INTERRUPTED, steps, rate
    return _status.RAN_ALL, steps, rate


@inlined
def _finish_epoch(state, plan, history, epoch, steps, last_rate, has_validation, validation_loss, validation_scale):
    history.losses[epoch] = state.epoch_sums[0]
    for j in range(state.theta.shape[0]):
        if not np.isfinite(state.theta[j]):
            history.grad_norms[epoch] = np.nan
            return _status.DIVERGED
    grad_norm, score, status = epoch_end.end_epoch(
        state.epoch_sums, steps, _moving(plan, state.theta.shape[0] - 1), last_rate, has_validation,
        validation_loss, validation_scale, state.progress, plan.stopping, plan.rate_policy,
    )  # fmt: skip
    history.grad_norms[epoch] = grad_norm
    history.scores[epoch] = score
    return status


@inlined
def _theta_is_finite(theta):
    for j in range(theta.shape[0]):
        if not np.isfinite(theta[j]):
            return False
    return True


@kernel
def run_epochs_kernel(data, state, plan, schedule, history, n_epochs, stop_flag):
    rows = data.rows
    X = rows.X
    d = X.shape[1]
    T = X.dtype.type
    orders = data.orders
    rows_per_epoch = T(orders.shape[1])
    work = workspace(X)
    scratch = _scratch(X, plan)
    validation = data.validation_rows
    for epoch in range(n_epochs):
        order = orders[epoch % orders.shape[0]] if orders.shape[0] > 0 else work.natural_order
        for j in range(d + 2):
            state.epoch_sums[j] = T(-0.0)
        status, steps, rate = _run_batches(rows, order, state, plan, schedule, rows_per_epoch, work, scratch,
                                           stop_flag)  # fmt: skip
        if status == _status.INTERRUPTED:
            return epoch, status
        if status != _status.RAN_ALL:
            history.losses[epoch] = state.epoch_sums[0]
            return epoch + 1, status
        validation_loss = T(np.nan)
        if validation.shape[0] > 0 and _theta_is_finite(state.theta):
            batch_sums(rows, validation, 0, validation.shape[0], state.theta[:d], state.theta[d], plan.loss, work,
                       scratch.sums, scratch.q[:0])  # fmt: skip
            validation_loss = objective.loss_from_sums(scratch.sums, d, T(validation.shape[0]))
        status = _finish_epoch(state, plan, history, epoch, steps, rate, validation.shape[0] > 0, validation_loss,
                               data.validation_scale)  # fmt: skip
        if status != _status.RAN_ALL:
            return epoch + 1, status
    return n_epochs, _status.RAN_ALL


@kernel
def run_segment_kernel(data, state, plan, schedule, epoch_rows, stop_flag):
    X = data.rows.X
    work = workspace(X)
    order = data.orders[0] if data.orders.shape[0] > 0 else work.natural_order
    status, _, _ = _run_batches(data.rows, order, state, plan, schedule, X.dtype.type(epoch_rows), work,
                                _scratch(X, plan), stop_flag)  # fmt: skip
    return status


@kernel
def step_from_sums_kernel(sums, count, state, plan, schedule, epoch_rows):
    T = state.theta.dtype.type
    grad = np.empty(state.theta.shape[0], state.theta.dtype)
    if not _batch_loss(sums, T(count), state, plan, T(epoch_rows), grad):
        return _status.DIVERGED
    _step_along(grad, state, plan, schedule)
    return _status.RAN_ALL


@kernel
def end_epoch_kernel(state, plan, history, epoch, steps, last_rate):
    return _finish_epoch(state, plan, history, epoch, steps, last_rate, False, last_rate, 1.0)


@kernel
def objective_kernel(rows, theta, loss, penalty):
    X = rows.X
    d = X.shape[1]
    work = workspace(X)
    sums = np.empty(d + 2, X.dtype)
    grad = np.empty(d + 1, X.dtype)
    batch_sums(rows, work.natural_order, 0, X.shape[0], theta[:d], theta[d], loss, work, sums, sums[:0])
    value = loss_and_gradient(sums, theta[:d], X.dtype.type(X.shape[0]), loss, penalty, grad)
    return value, grad


@kernel
def objective_from_sums_kernel(sums, theta, count, loss, penalty):
    d = theta.shape[0] - 1
    grad = np.empty(d + 1, theta.dtype)
    value = loss_and_gradient(sums, theta[:d], theta.dtype.type(count), loss, penalty, grad)
    return value, grad


@kernel
def row_sums_kernel(rows, theta, loss):
    X = rows.X
    d = X.shape[1]
    work = workspace(X)
    sums = np.empty(d + 2, X.dtype)
    batch_sums(rows, work.natural_order, 0, X.shape[0], theta[:d], theta[d], loss, work, sums, sums[:0])
    return sums
