"""Epochs of a fit, in vectorised numpy: the order of section 3 of reduction-order.md, executed.

Every backend runs the same steps (``cpp/fit/fit.hpp``, ``_numba/fit.py``) from the same units
(``fastdescent._units``): this file only sequences them, on whole arrays.
"""

from __future__ import annotations

import numpy as np

from .. import _status
from .._order import row_dots
from .._units import averaging, epoch_end, penalties, rate_policy, rules
from .objective import loss_and_gradient
from .sag import direction as sag_direction
from .sums import batch_sums, weights_of

# Overflow is not an error here: a fit that overflows is reported as diverged, as in the native backends.
quiet_overflow = np.errstate(over="ignore", invalid="ignore")


def moving_coordinates(plan, d: int) -> int:
    """Coordinates of theta that move: the coefficients, and the intercept if it is fitted."""
    return d + 1 if plan.fit_intercept else d


@quiet_overflow
def run_epochs(data, state, plan, schedule, history, n_epochs):
    n = data.rows.X.shape[0]
    orders = data.orders
    epoch_rows = orders.shape[1]
    T = data.rows.X.dtype.type
    for epoch in range(n_epochs):
        order = orders[epoch % orders.shape[0]] if orders.shape[0] else np.arange(n)
        state.epoch_sums[:] = T(-0.0)
        status, steps, last_rate = _run_batches(data.rows, order, state, plan, schedule, T(epoch_rows))
        if status != _status.RAN_ALL:
            history.losses[epoch] = state.epoch_sums[0]
            return epoch + 1, status
        status = _end_epoch(state, plan, history, epoch, steps, last_rate, _validation_loss(data, state, plan),
                            data.validation_scale)  # fmt: skip
        if status != _status.RAN_ALL:
            return epoch + 1, status
    return n_epochs, _status.RAN_ALL


@quiet_overflow
def run_segment(data, state, plan, schedule, epoch_rows):
    n = data.rows.X.shape[0]
    order = data.orders[0] if data.orders.shape[0] else np.arange(n)
    status, _, _ = _run_batches(data.rows, order, state, plan, schedule, data.rows.X.dtype.type(epoch_rows))
    return status


@quiet_overflow
def step_from_sums(sums, count, state, plan, schedule, epoch_rows):
    T = state.theta.dtype.type
    status, _ = take_step(sums, T(count), state, plan, schedule, T(epoch_rows))
    return status


@quiet_overflow
def end_epoch(state, plan, history, epoch, steps, last_rate):
    return _end_epoch(state, plan, history, epoch, steps, last_rate, None, 1.0)


def _run_batches(rows, order, state, plan, schedule, rows_per_epoch):
    """The batches of ``order``, each a step: ``(status, steps taken, the last step's rate)``."""
    X, y = rows.X, rows.y
    d = X.shape[1]
    T = X.dtype.type
    steps, rate = 0, T(0)
    for start in range(0, order.shape[0], plan.batch_size):
        batch = order[start : start + plan.batch_size]
        Xb = X[batch]
        sums, q = batch_sums(Xb, y[batch], state.theta[:d], state.theta[d], weights_of(rows, batch), plan.loss)
        status, rate = take_step(sums, T(batch.shape[0]), state, plan, schedule, rows_per_epoch,
                                 (Xb, q, batch) if plan.sag else None)  # fmt: skip
        if status != _status.RAN_ALL:
            return status, steps, rate
        steps += 1
    return _status.RAN_ALL, steps, rate


def take_step(sums, count, state, plan, schedule, rows_per_epoch, sag_batch=None):
    """One step from a batch's sums: ``(status, rate)``; no step when the batch loss is not finite."""
    T = state.theta.dtype.type
    d = state.theta.shape[0] - 1
    k = moving_coordinates(plan, d)
    w = state.theta[:d]
    loss, grad = loss_and_gradient(sums, w, count, plan.loss, plan.penalty)
    state.epoch_sums[0] = state.epoch_sums[0] + loss * (count / rows_per_epoch)
    # With a clipped derivative (scikit-learn's overflow behaviour) only non-finite weights stop a fit.
    if not np.isfinite(loss) and plan.loss.derivative_clip == 0:
        return _status.DIVERGED, T(0)
    if sag_batch is not None:
        grad = sag_direction(*sag_batch, state.sag, state.progress, w, plan.loss, plan.penalty)
    moving = slice(0, k)
    state.epoch_sums[1 : k + 1] = state.epoch_sums[1 : k + 1] + grad[moving]  # before clipping
    if plan.clip_norm > 0:
        norm = np.sqrt(row_dots(grad[None, moving], grad[moving])[0])
        if norm > plan.clip_norm:
            grad[moving] = grad[moving] * (plan.clip_norm / norm)
    progress = state.progress[0]
    t = progress["steps"]
    row = (t - schedule.first_step) * schedule.stride
    rate = rate_policy.rate(schedule.lr[row], progress["rate_divisions"], plan.rate_policy.divisors)
    step = rules.begin_step(plan.rule, rate, t, schedule.table, row)
    rules.update(state.theta, grad, state.rule, moving, plan.rule, step)
    progress["steps"] = t + 1
    averages = plan.average_start >= 0 and t + 1 > plan.average_start
    count = T(0)
    if averages:
        averaged = t + 1 - plan.average_start
        count = T(averaged)
        averaging.update(state.theta, state.average, moving, averaged, count)
    accrued = penalties.accrue(state.penalty, plan.penalty, rate, count)  # after averaging, as scikit-learn
    penalties.apply_accrued(state.theta, state.average, averages, state.penalty, slice(0, d), plan.penalty,
                            accrued)  # fmt: skip
    return _status.RAN_ALL, rate


def _validation_loss(data, state, plan):
    rows = data.validation_rows
    if not rows.shape[0]:
        return None
    X = data.rows.X
    d = X.shape[1]
    sums, _ = batch_sums(X[rows], data.rows.y[rows], state.theta[:d], state.theta[d], weights_of(data.rows, rows),
                         plan.validation_loss)  # fmt: skip
    return sums[d + 1] / X.dtype.type(rows.shape[0])


def _end_epoch(state, plan, history, epoch, steps, last_rate, validation_loss, validation_scale):
    history.losses[epoch] = state.epoch_sums[0]
    if not np.isfinite(state.theta).all():
        history.grad_norms[epoch] = np.nan
        return _status.DIVERGED
    has_validation = validation_loss is not None
    grad_norm, score, status = epoch_end.end_epoch(
        state.epoch_sums, steps, moving_coordinates(plan, state.theta.shape[0] - 1), last_rate, has_validation,
        validation_loss if has_validation else np.nan, validation_scale, state.progress, plan.stopping,
        plan.rate_policy,
    )  # fmt: skip
    history.grad_norms[epoch] = grad_norm
    history.scores[epoch] = score
    return status
