"""The Numba backend: the canonical order of ``docs/reduction-order.md`` as explicit loops.

It mirrors the C++ kernels (``cpp/``) loop for loop and must return the reference's bits, so:
no ``fastmath`` (no reassociation, no FMA contraction), no ``np.sum``/``np.dot`` inside kernels,
and no float64 literal in float32 arithmetic: constants come from ``array.dtype.type(...)``.
Kernels release the GIL (``nogil``), so fits in several Python threads run in parallel.
"""

from __future__ import annotations

import functools
import threading

import numba
import numpy as np

from . import _reference
from ._reference import (
    BLOCK_ROWS,
    LANE_BYTES,
    STATUS_DIVERGED,
    STATUS_INTERRUPTED,
    STATUS_RAN_ALL,
)

WORK_BETWEEN_POLLS = 1 << 20  # multiply-adds between looks at the stop flag, as in C++
MAX_TREE_DEPTH = 64  # the pair tree of up to 2**63 blocks

_jit = functools.partial(numba.njit, fastmath=False, cache=True, nogil=True)


@_jit
def _lane_dot(a, b, lanes):
    """Lane j % L accumulates a_j * b_j from -0.0; a masked tail; lanes combine by halving."""
    L = lanes.shape[0]
    d = a.shape[0]
    negative_zero = lanes.dtype.type(-0.0)
    for lane in range(L):
        lanes[lane] = negative_zero
    full = d - d % L
    for start in range(0, full, L):
        for lane in range(L):
            lanes[lane] = lanes[lane] + a[start + lane] * b[start + lane]
    for lane in range(d - full):
        lanes[lane] = lanes[lane] + a[full + lane] * b[full + lane]
    half = L // 2
    while half >= 1:
        for lane in range(half):
            lanes[lane] = lanes[lane] + lanes[lane + half]
        half //= 2
    return lanes[0]


@_jit
def _merge_top(stack, blocks, depth):
    left, right = stack[depth - 2], stack[depth - 1]
    for k in range(left.shape[0]):
        left[k] = left[k] + right[k]
    blocks[depth - 2] += blocks[depth - 1]
    return depth - 1


@_jit
def _batch_sums(X, y, weights, order, first, m, w, b, clip, stack, blocks, lanes, sums, q_out):
    """(sum q x, sum q, sum s r r) over batch positions first..first+m-1 of ``order``, q = s r.

    ``order`` empty means rows in their natural order; ``weights`` empty means unweighted (q = r);
    with ``clip > 0`` the gradient's q uses r clipped to [-clip, clip] (scikit-learn's bound).
    Blocks of 256 positions add rows one after another from -0.0; block partials combine by the
    adjacent-pair tree, streamed as a binary counter (merge the top two while they cover equal
    numbers of blocks, fold from the right at the end) exactly as cpp/canonical_sum.hpp does.
    """
    d = X.shape[1]
    negative_zero = X.dtype.type(-0.0)
    ordered = order.shape[0] > 0
    weighted = weights.shape[0] > 0
    keep_q = q_out.shape[0] > 0
    depth = 0
    for block_start in range(0, m, BLOCK_ROWS):
        acc = stack[depth]
        for k in range(d + 2):
            acc[k] = negative_zero
        for p in range(block_start, min(m, block_start + BLOCK_ROWS)):
            i = order[first + p] if ordered else first + p
            x = X[i]
            r = (_lane_dot(x, w, lanes) + b) - y[i]
            loss_q = weights[i] * r if weighted else r
            q = loss_q
            if clip > 0:
                clipped = -clip if r < -clip else (clip if r > clip else r)
                q = weights[i] * clipped if weighted else clipped
            for j in range(d):
                acc[j] = acc[j] + q * x[j]
            acc[d] = acc[d] + q
            acc[d + 1] = acc[d + 1] + loss_q * r
            if keep_q:
                q_out[p] = q
        blocks[depth] = 1
        depth += 1
        while depth >= 2 and blocks[depth - 1] == blocks[depth - 2]:
            depth = _merge_top(stack, blocks, depth)
    while depth >= 2:
        depth = _merge_top(stack, blocks, depth)
    for k in range(d + 2):
        sums[k] = stack[0, k]


@_jit
def _loss_and_gradient(sums, w, count, l2, grad, lanes):
    """loss = S_rr / count (+ l2 w.w); grad = 2 (S / count) (+ 2 l2 w), intercept last."""
    d = w.shape[0]
    two = w.dtype.type(2)
    loss = sums[d + 1] / count
    for j in range(d + 1):
        grad[j] = two * (sums[j] / count)
    if l2 != 0:
        loss = loss + l2 * _lane_dot(w, w, lanes)
        two_l2 = two * l2
        for j in range(d):
            grad[j] = grad[j] + two_l2 * w[j]
    return loss


def _workspace(X):
    d = X.shape[1]
    lanes = np.empty(LANE_BYTES // X.dtype.itemsize, dtype=X.dtype)
    return np.empty((MAX_TREE_DEPTH, d + 2), X.dtype), np.empty(MAX_TREE_DEPTH, np.int64), lanes


@_jit
def _loss_grad_kernel(X, y, w, b, l2, sample_weight, stack, blocks, lanes):
    n, d = X.shape
    sums = np.empty(d + 2, X.dtype)
    grad = np.empty(d + 1, X.dtype)
    no_order = np.empty(0, np.int64)
    _batch_sums(X, y, sample_weight, no_order, 0, n, w, b, X.dtype.type(0), stack, blocks, lanes, sums, sums[:0])
    loss = _loss_and_gradient(sums, w, X.dtype.type(n), l2, grad, lanes)
    return loss, grad


def loss_grad(X, y, w, b, l2, sample_weight, n_threads=1):  # Numba's kernels run on one thread
    T = X.dtype.type
    loss, grad = _loss_grad_kernel(X, y, w, T(b), T(l2), sample_weight, *_workspace(X))
    return T(loss), grad[:-1].copy(), grad[-1]


@_jit
def _sag_direction(X, order, first, m, residuals, memory, seen, total, counters, w, l2, grad):
    """Replace the batch's stored weighted residuals, fold the changes into the running sum in
    position order, and put the average of the stored gradients over the samples seen so far into grad."""
    d = X.shape[1]
    ordered = order.shape[0] > 0
    for p in range(m):
        i = order[first + p] if ordered else first + p
        delta = residuals[p] - memory[i]
        memory[i] = residuals[p]
        if not seen[i]:
            seen[i] = True
            counters[1] += 1
        x = X[i]
        for j in range(d):
            total[j] = total[j] + delta * x[j]
        total[d] = total[d] + delta
    two = X.dtype.type(2)
    n_seen = X.dtype.type(counters[1])
    for j in range(d + 1):
        grad[j] = two * (total[j] / n_seen)
    if l2 != 0:
        two_l2 = two * l2
        for j in range(d):
            grad[j] = grad[j] + two_l2 * w[j]


@_jit
def _norm(v, lanes):
    return np.sqrt(_lane_dot(v, v, lanes))


@_jit
def _take_step(theta, velocity, average, grad, counters, lr, lr_stride, first_step, moving, momentum, nesterov,
               average_start, clip_norm, lanes):  # fmt: skip
    """Clip, torch.optim.SGD's momentum (v = g on the first step), the step, then averaging.

    Returns the rate it used (the adaptive schedule's divisions by 5 included)."""
    if clip_norm > 0:
        size = _norm(grad[:moving], lanes)
        if size > clip_norm:
            scale = clip_norm / size
            for j in range(moving):
                grad[j] = grad[j] * scale
    step = counters[0]
    rate = lr[(step - first_step) * lr_stride]
    if counters[3] != 0:
        divisor = 1
        for _ in range(counters[3]):
            divisor *= 5
        rate = rate / theta.dtype.type(divisor)
    for j in range(moving):
        g = grad[j]
        if momentum != 0:
            v = g if step == 0 else momentum * velocity[j] + g
            velocity[j] = v
            g = g + momentum * v if nesterov else v
        theta[j] = theta[j] - rate * g
    taken = step + 1
    counters[0] = taken
    if average_start >= 0 and taken > average_start:
        averaged = taken - average_start
        if averaged == 1:
            for j in range(moving):
                average[j] = theta[j]
        else:
            count = theta.dtype.type(averaged)
            for j in range(moving):
                average[j] = average[j] + (theta[j] - average[j]) / count
    return rate


# The stopping rules are plain float64 logic, not arithmetic on the data: the reference's own
# function, compiled, is the one definition.
_after_epoch = _jit(_reference._after_epoch)


@_jit
def _run_epochs_kernel(X, y, sample_weight, theta, velocity, average, sag_memory, sag_seen, sag_sum, counters,
                       loss_state, orders, validation_rows, lr, lr_stride, losses, grad_norms, scores, n_epochs,
                       batch_size, momentum, nesterov, l2, fit_intercept, average_start, sag, tol, n_iter_no_change,
                       clip_norm, adaptive, gtol, growth_limit, validation_scale, residual_clip, stop_flag, stack,
                       blocks, lanes):  # fmt: skip
    d = X.shape[1]
    T = X.dtype.type
    epoch_rows = orders.shape[1]
    rows_per_epoch = T(epoch_rows)
    moving = d + 1 if fit_intercept else d
    sums = np.empty(d + 2, X.dtype)
    grad = np.empty(d + 1, X.dtype)
    gradient_sum = np.empty(d + 1, X.dtype)
    q = np.empty(batch_size if sag else 0, X.dtype)
    w = theta[:d]
    natural_order = np.empty(0, np.int64)
    first_step = counters[0]
    rate = T(0)
    work_since_poll = 0
    for epoch in range(n_epochs):
        order = orders[epoch % orders.shape[0]] if orders.shape[0] > 0 else natural_order
        epoch_loss = T(-0.0)
        for j in range(d + 1):
            gradient_sum[j] = T(-0.0)
        steps = 0
        for start in range(0, epoch_rows, batch_size):
            m = min(batch_size, epoch_rows - start)
            count = T(m)
            _batch_sums(X, y, sample_weight, order, start, m, w, theta[d], residual_clip, stack, blocks, lanes, sums, q)
            loss = _loss_and_gradient(sums, w, count, l2, grad, lanes)
            epoch_loss = epoch_loss + loss * (count / rows_per_epoch)
            if not np.isfinite(loss) and residual_clip == 0:
                losses[epoch] = epoch_loss
                return epoch + 1, STATUS_DIVERGED
            if sag:
                _sag_direction(X, order, start, m, q, sag_memory, sag_seen, sag_sum, counters, w, l2, grad)
            for j in range(moving):
                gradient_sum[j] = gradient_sum[j] + grad[j]
            steps += 1
            rate = _take_step(theta, velocity, average, grad, counters, lr, lr_stride, first_step, moving, momentum,
                              nesterov, average_start, clip_norm, lanes)  # fmt: skip
            work_since_poll += m * (d + 1)
            if work_since_poll >= WORK_BETWEEN_POLLS:
                work_since_poll = 0
                if stop_flag[0]:
                    return epoch, STATUS_INTERRUPTED
        losses[epoch] = epoch_loss
        for j in range(d + 1):
            if not np.isfinite(theta[j]):
                return epoch + 1, STATUS_DIVERGED
        step_count = T(steps)
        for j in range(moving):
            gradient_sum[j] = gradient_sum[j] / step_count
        grad_norms[epoch] = _norm(gradient_sum[:moving], lanes)
        criterion = losses[epoch]
        if validation_rows.shape[0] > 0:
            _batch_sums(X, y, sample_weight, validation_rows, 0, validation_rows.shape[0], w, theta[d], T(0), stack,
                        blocks, lanes, sums, q[:0])  # fmt: skip
            validation_loss = sums[d + 1] / T(validation_rows.shape[0])
            scores[epoch] = 1.0 - np.float64(validation_loss) * validation_scale
            criterion = -scores[epoch]
        status = _after_epoch(losses[epoch], grad_norms[epoch], criterion, np.float64(rate), counters, loss_state, tol,
                              n_iter_no_change, adaptive, gtol, growth_limit)  # fmt: skip
        if status != STATUS_RAN_ALL:
            return epoch + 1, status
    return n_epochs, STATUS_RAN_ALL


def run_epochs(X, y, sample_weight, theta, velocity, average, sag_memory, sag_seen, sag_sum, counters, loss_state,
               orders, validation_rows, lr, lr_stride, losses, grad_norms, scores, *, n_epochs, batch_size, momentum,
               nesterov, l2, fit_intercept, average_start, sag, tol, n_iter_no_change, clip_norm, adaptive, gtol,
               growth_limit, validation_scale, residual_clip, n_threads=1):  # fmt: skip
    """Run up to ``n_epochs`` epochs natively; see ``_reference.run_epochs`` for the contract.

    Ctrl-C only reaches the main thread between Python bytecodes, never inside compiled code, so
    there the kernel runs in a worker thread (it holds no GIL) while the main thread waits; an
    interrupt raises a stop flag that the kernel reads between batches, then propagates.
    """
    stop_flag = np.zeros(1, dtype=np.int8)
    call = functools.partial(
        _run_epochs_kernel, X, y, sample_weight, theta, velocity, average, sag_memory, sag_seen, sag_sum, counters,
        loss_state, orders, validation_rows, lr, lr_stride, losses, grad_norms, scores, n_epochs, batch_size,
        momentum, nesterov, l2, fit_intercept, average_start, sag, tol, n_iter_no_change, clip_norm, adaptive, gtol,
        growth_limit, validation_scale, residual_clip, stop_flag, *_workspace(X),
    )  # fmt: skip
    if threading.current_thread() is not threading.main_thread():
        return call()
    outcome = []
    finished = threading.Event()
    worker = threading.Thread(target=_capture, args=(call, outcome, finished), daemon=True)
    worker.start()
    try:
        # Wait on an Event, not on join(): an interrupted join() can leave the thread looking alive.
        while not finished.wait(0.05):
            pass
    except BaseException:  # KeyboardInterrupt: stop the kernel, wait for it, let the interrupt go on
        stop_flag[0] = 1
        finished.wait()
        raise
    finally:
        worker.join()
    result, error = outcome[0]
    if error is not None:
        raise error
    return result


def _capture(call, outcome, finished):
    try:
        outcome.append((call(), None))
    except BaseException as error:  # re-raised in the calling thread
        outcome.append((None, error))
    finally:
        finished.set()


# -- update rules for user-supplied gradients (fastdescent.optim); element-wise, as cpp/steps.hpp


@_jit
def _sgd_step(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, first_step):
    keep = param.dtype.type(1) - dampening
    for i in range(param.shape[0]):
        g = grad[i]
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        if momentum != 0:
            if first_step:
                b = g
            else:
                b = momentum * buffer[i] + (keep * g if dampening != 0 else g)
            buffer[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = param[i] - lr * g


@_jit
def _asgd_step(param, grad, average, eta, decay, mu, weight_decay):
    for i in range(param.shape[0]):
        g = grad[i]
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        p = param[i] * decay
        p = p - eta * g
        param[i] = p
        average[i] = p if mu == 1 else average[i] + (p - average[i]) * mu


@_jit
def _sag_step(param, grad, memory, total, lr, seen, weight_decay):
    for i in range(param.shape[0]):
        total[i] = total[i] + (grad[i] - memory[i])
        memory[i] = grad[i]
        direction = total[i] / seen
        if weight_decay != 0:
            direction = direction + weight_decay * param[i]
        param[i] = param[i] - lr * direction


def _flat(*arrays):
    return [a.reshape(-1) for a in arrays]


def sgd_step(param, grad, buffer, *, lr, momentum, dampening, weight_decay, nesterov, first_step):
    _sgd_step(*_flat(param, grad, buffer), lr, momentum, dampening, weight_decay, nesterov, first_step)


def asgd_step(param, grad, average, *, eta, decay, mu, weight_decay):
    _asgd_step(*_flat(param, grad, average), eta, decay, mu, weight_decay)


def sag_step(param, grad, memory, total, *, lr, seen, weight_decay):
    _sag_step(*_flat(param, grad, memory, total), lr, seen, weight_decay)
