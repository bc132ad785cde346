"""The Numba backend: the canonical order of ``docs/reduction-order.md`` as explicit loops.

It mirrors the C++ kernels (``cpp/``) loop for loop and must return the reference's bits, so:
no ``fastmath`` (no reassociation, no FMA contraction), no ``np.sum``/``np.dot`` inside kernels,
and no float64 literal in float32 arithmetic: constants come from ``array.dtype.type(...)``.
A whole ``run_epochs`` call is one compiled call that allocates its work arrays once.  Kernels
release the GIL (``nogil``), so fits in several Python threads run in parallel.
"""

from __future__ import annotations

import functools
import threading
from collections import namedtuple

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from . import _reference
from ._reference import (
    BLOCK_ROWS,
    LANE_BYTES,
    STATUS_DIVERGED,
    STATUS_INTERRUPTED,
    STATUS_RAN_ALL,
)

WORK_BETWEEN_POLLS = 1 << 20  # multiply-adds between looks at the stop flag, as in C++
# The kernels run on one thread; the engine gives full-batch fits the cores through aligned chunks.
SUMS_ON_ONE_THREAD = True
PREFETCH_ROWS = 8  # a shuffled batch asks for the row this many positions ahead, as in C++
MAX_TREE_DEPTH = 64  # the pair tree of up to 2**63 blocks

# error_model="numpy": a float division by zero gives inf or nan as in the reference, never a
# ZeroDivisionError (and the kernels carry no raise paths for it).
_jit = functools.partial(numba.njit, fastmath=False, error_model="numpy", cache=True, nogil=True)


def _lane_count(X):
    return LANE_BYTES // X.itemsize


@overload(_lane_count)
def _lane_count_constant(X):
    # In compiled code ``X.itemsize`` is read from the array at run time; as a compile-time
    # constant the lane loops unroll and the branches on the lane count disappear.
    lanes = LANE_BYTES // (X.dtype.bitwidth // 8)

    def lane_count(X):
        return lanes

    return lane_count


def _element(A, i, j):
    return A[i, j] if A.ndim == 2 else A[j]


@overload(_element)
def _element_of_row_or_vector(A, i, j):
    # Lets one dot kernel serve the rows of X and plain vectors (w, gradients) without the view
    # that a row slice or a reshape would make: each view is an atomic reference count, and per
    # row or per step those add up to more than the arithmetic.
    if A.ndim == 2:

        def element(A, i, j):
            return A[i, j]

    else:

        def element(A, i, j):
            return A[j]

    return element


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask for the cache line of ``array.flat[index]`` (C-contiguous): a hint, it changes no value.

    A shuffled row is a cache miss; Numba has no prefetch of its own, so this emits LLVM's.
    """
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        itemsize = context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))
        offset = builder.mul(context.cast(builder, args[1], signature.args[1], types.intp),
                             context.get_constant(types.intp, itemsize))  # fmt: skip
        address = builder.gep(builder.bitcast(data, ir.IntType(8).as_pointer()), [offset])
        i32 = ir.IntType(32)
        pointer = ir.IntType(8).as_pointer()
        # declare_intrinsic mangles the name for the llvmlite at hand (typed or opaque pointers)
        prefetch = builder.module.declare_intrinsic(
            "llvm.prefetch", [pointer], ir.FunctionType(ir.VoidType(), [pointer, i32, i32, i32])
        )
        builder.call(prefetch, [address, i32(0), i32(2), i32(1)])  # read, into L2 (prefetcht1), data
        return context.get_dummy_value()

    return types.none(array, index), codegen


@_jit
def _prefetch_row(X, y, i):
    # Every 64 bytes from the row's start, and its last value: together every cache line it
    # touches (numpy's large arrays start 16 bytes past a page, so rows straddle lines).
    d = X.shape[1]
    for k in range(0, d, LANE_BYTES // X.itemsize):
        _prefetch(X, i * d + k)
    _prefetch(X, i * d + d - 1)
    _prefetch(y, i)


# Scratch space of one kernel call: the pair tree's stack of block partials and the number of
# blocks each covers, and an empty row list (rows in natural order).
_Work = namedtuple("_Work", ["stack", "covered", "natural_order"])


@_jit
def _workspace(X):
    width = X.shape[1] + 2
    return _Work(
        np.empty((MAX_TREE_DEPTH, width), X.dtype),
        np.empty(MAX_TREE_DEPTH, np.int64),
        np.empty(0, np.int64),
    )


@intrinsic
def _lane_dot_at(typingctx, data, offset, w):
    """dot(data.flat[offset : offset + d], w) for d = len(w), in the canonical lane order.

    The lanes are one LLVM vector of 64 bytes (a register or two on the CPU at hand) rather than
    scalars, which Numba's LLVM keeps apart: a vector add per 64 bytes, and the halving as vector
    shuffles.  The tail (d % L values) is copied into a vector padded with -0.0, times a vector of w
    padded with +0.0: the padded lanes add (-0.0) * (+0.0) = -0.0, which leaves every lane's bits
    as they were, exactly the masked add of the canonical order.  Only C-contiguous arrays.
    """
    if not (
        isinstance(data, types.Array) and isinstance(w, types.Array) and data.layout == "C" and w.layout == "C"
        and w.ndim == 1 and isinstance(data.dtype, types.Float) and data.dtype == w.dtype
        and isinstance(offset, types.Integer)
    ):  # fmt: skip
        return None
    lanes = LANE_BYTES // (data.dtype.bitwidth // 8)

    def codegen(context, builder, signature, args):
        element = context.get_value_type(data.dtype)
        vector = ir.VectorType(element, lanes)
        itemsize = data.dtype.bitwidth // 8
        intp = context.get_value_type(types.intp)
        w_array = context.make_array(signature.args[2])(context, builder, args[2])
        d = cgutils.unpack_tuple(builder, w_array.shape, 1)[0]
        row = builder.gep(context.make_array(signature.args[0])(context, builder, args[0]).data,
                          [context.cast(builder, args[1], signature.args[1], types.intp)])  # fmt: skip
        w_data = w_array.data

        def load(pointer, index):
            return builder.load(builder.bitcast(builder.gep(pointer, [index]), vector.as_pointer()), align=itemsize)

        def splat(value):
            return ir.Constant(vector, [ir.Constant(element, value)] * lanes)

        lane = cgutils.alloca_once_value(builder, splat(-0.0))
        full = builder.mul(builder.udiv(d, intp(lanes)), intp(lanes))
        with cgutils.for_range_slice(builder, intp(0), full, intp(lanes), intp=intp) as (j, _):
            builder.store(builder.fadd(builder.load(lane), builder.fmul(load(row, j), load(w_data, j))), lane)
        tail = builder.sub(d, full)
        with builder.if_then(builder.icmp_signed(">", tail, intp(0)), likely=False):
            x_tail = cgutils.alloca_once_value(builder, splat(-0.0))
            w_tail = cgutils.alloca_once_value(builder, splat(0.0))
            with cgutils.for_range(builder, tail, intp=intp) as loop:
                source = builder.add(full, loop.index)
                for padded, pointer in ((x_tail, row), (w_tail, w_data)):
                    slot = builder.gep(builder.bitcast(padded, element.as_pointer()), [loop.index])
                    builder.store(builder.load(builder.gep(pointer, [source])), slot)
            product = builder.fmul(builder.load(x_tail), builder.load(w_tail))
            builder.store(builder.fadd(builder.load(lane), product), lane)
        value = builder.load(lane)
        half = lanes // 2
        while half >= 1:
            low = ir.Constant(ir.VectorType(ir.IntType(32), half), list(range(half)))
            high = ir.Constant(ir.VectorType(ir.IntType(32), half), list(range(half, 2 * half)))
            value = builder.fadd(builder.shuffle_vector(value, value, low), builder.shuffle_vector(value, value, high))
            half //= 2
        return builder.extract_element(value, ir.IntType(32)(0))

    return data.dtype(data, offset, w), codegen


@intrinsic
def _add_scaled_at(typingctx, acc, data, offset, q):
    """acc[j] += q * data.flat[offset + j] for j < len(acc) - 2 (each element on its own: no order
    to keep across j), a 64-byte vector at a time; C-contiguous arrays only."""
    if not (
        isinstance(acc, types.Array) and isinstance(data, types.Array) and acc.layout == "C" and data.layout == "C"
        and acc.ndim == 1 and isinstance(data.dtype, types.Float) and data.dtype == acc.dtype
        and isinstance(offset, types.Integer) and q == data.dtype
    ):  # fmt: skip
        return None
    lanes = LANE_BYTES // (data.dtype.bitwidth // 8)

    def codegen(context, builder, signature, args):
        element = context.get_value_type(data.dtype)
        vector = ir.VectorType(element, lanes)
        itemsize = data.dtype.bitwidth // 8
        intp = context.get_value_type(types.intp)
        acc_array = context.make_array(signature.args[0])(context, builder, args[0])
        d = builder.sub(cgutils.unpack_tuple(builder, acc_array.shape, 1)[0], intp(2))
        row = builder.gep(context.make_array(signature.args[1])(context, builder, args[1]).data,
                          [context.cast(builder, args[2], signature.args[2], types.intp)])  # fmt: skip
        sums = acc_array.data
        q_value = args[3]
        scale = cgutils.alloca_once_value(builder, ir.Constant(vector, ir.Undefined))
        q_vector = builder.load(scale)
        for k in range(lanes):
            q_vector = builder.insert_element(q_vector, q_value, ir.IntType(32)(k))

        def address(pointer, index):
            return builder.bitcast(builder.gep(pointer, [index]), vector.as_pointer())

        full = builder.mul(builder.udiv(d, intp(lanes)), intp(lanes))
        with cgutils.for_range_slice(builder, intp(0), full, intp(lanes), intp=intp) as (j, _):
            x = builder.load(address(row, j), align=itemsize)
            total = builder.load(address(sums, j), align=itemsize)
            builder.store(builder.fadd(total, builder.fmul(q_vector, x)), address(sums, j), align=itemsize)
        with cgutils.for_range_slice(builder, full, d, intp(1), intp=intp) as (j, _):
            slot = builder.gep(sums, [j])
            builder.store(builder.fadd(builder.load(slot), builder.fmul(q_value, builder.load(builder.gep(row, [j])))), slot)
        return context.get_dummy_value()

    return types.none(acc, data, offset, q), codegen


@_jit
def _lane_dot(a, b):
    """dot(a, b) of two vectors by the same rule as a row of X (the L2 term and the norms use it)."""
    return _lane_dot_at(a, 0, b)


@_jit
def _norm(v):
    return np.sqrt(_lane_dot(v, v))


@_jit
def _merge_top(stack, covered, depth):
    left, right = stack[depth - 2], stack[depth - 1]
    for k in range(left.shape[0]):
        left[k] = left[k] + right[k]
    covered[depth - 2] += covered[depth - 1]
    return depth - 1


@_jit
def _batch_sums(X, y, weights, order, first, m, w, b, clip, work, sums, q_out):
    """(sum q x, sum q, sum s r r) over batch positions first..first+m-1 of ``order``, q = s r.

    ``order`` empty means rows in their natural order; ``weights`` empty means unweighted (q = r);
    with ``clip > 0`` the gradient's q uses r clipped to [-clip, clip] (scikit-learn's bound).
    When ``q_out`` is not empty, q of position p goes to q_out[p] (SAG stores it).

    Blocks of 256 positions add rows one after another from -0.0; block partials combine by the
    adjacent-pair tree, streamed as a binary counter (merge the top two while they cover equal
    numbers of blocks, fold from the right at the end) exactly as cpp/canonical_sum.hpp does.
    Each row's dot product and its share of the sums are vector code inlined into this loop
    (``_lane_dot_at``, ``_add_scaled_at``), while the row is in the first-level cache.
    """
    d = X.shape[1]
    negative_zero = X.dtype.type(-0.0)
    ordered = order.shape[0] > 0
    weighted = weights.shape[0] > 0
    keep_q = q_out.shape[0] > 0
    stack, covered = work.stack, work.covered
    depth = 0
    for block_start in range(0, m, BLOCK_ROWS):
        size = min(BLOCK_ROWS, m - block_start)
        acc = stack[depth]
        for k in range(d + 2):
            acc[k] = negative_zero
        for p in range(size):
            position = first + block_start + p
            if ordered and position + PREFETCH_ROWS < order.shape[0]:
                _prefetch_row(X, y, order[position + PREFETCH_ROWS])  # rows of the next batch too
            i = order[position] if ordered else position
            r = (_lane_dot_at(X, i * d, w) + b) - y[i]
            loss_q = weights[i] * r if weighted else r
            q = loss_q
            if clip > 0:
                clipped = -clip if r < -clip else (clip if r > clip else r)
                q = weights[i] * clipped if weighted else clipped
            _add_scaled_at(acc, X, i * d, q)
            acc[d] = acc[d] + q
            acc[d + 1] = acc[d + 1] + loss_q * r
            if keep_q:
                q_out[block_start + p] = q
        covered[depth] = 1
        depth += 1
        while depth >= 2 and covered[depth - 1] == covered[depth - 2]:
            depth = _merge_top(stack, covered, depth)
    while depth >= 2:
        depth = _merge_top(stack, covered, depth)
    for k in range(d + 2):
        sums[k] = stack[0, k]


@_jit
def _loss_and_gradient(sums, w, count, l2, grad):
    """loss = S_rr / count (+ l2 w.w); grad = 2 (S / count) (+ 2 l2 w), intercept last."""
    d = w.shape[0]
    two = w.dtype.type(2)
    loss = sums[d + 1] / count
    for j in range(d + 1):
        grad[j] = two * (sums[j] / count)
    if l2 != 0:
        loss = loss + l2 * _lane_dot(w, w)
        two_l2 = two * l2
        for j in range(d):
            grad[j] = grad[j] + two_l2 * w[j]
    return loss


@_jit
def _loss_grad_kernel(X, y, w, b, l2, sample_weight):
    n, d = X.shape
    work = _workspace(X)
    sums = np.empty(d + 2, X.dtype)
    grad = np.empty(d + 1, X.dtype)
    zero = X.dtype.type(0)
    _batch_sums(X, y, sample_weight, work.natural_order, 0, n, w, b, zero, work, sums, sums[:0])
    loss = _loss_and_gradient(sums, w, X.dtype.type(n), l2, grad)
    return loss, grad


@_jit
def _row_sums_kernel(X, y, w, b, sample_weight, residual_clip):
    work = _workspace(X)
    sums = np.empty(X.shape[1] + 2, X.dtype)
    _batch_sums(X, y, sample_weight, work.natural_order, 0, X.shape[0], w, b, residual_clip, work, sums, sums[:0])
    return sums


def row_sums(X, y, w, b, sample_weight, residual_clip, n_threads=1):
    T = X.dtype.type
    return _row_sums_kernel(X, y, w, T(b), sample_weight, T(residual_clip))


def loss_grad(X, y, w, b, l2, sample_weight, n_threads=1):  # Numba's kernels run on one thread
    T = X.dtype.type
    loss, grad = _loss_grad_kernel(X, y, w, T(b), T(l2), sample_weight)
    return T(loss), grad[:-1].copy(), grad[-1]


@_jit
def _sag_direction(X, order, first, m, residuals, memory, seen, total, counters, w, l2, grad):
    """Replace the batch's stored weighted residuals, fold the changes into the running sum in
    position order, and put the average of the stored gradients over the samples seen so far into grad.

    Position by position, a row drawn twice in one batch finds its memory already at its residual
    (all residuals are taken at the same theta): its second delta is r - r, as in the reference."""
    d = X.shape[1]
    ordered = order.shape[0] > 0
    for p in range(m):
        i = order[first + p] if ordered else first + p
        delta = residuals[p] - memory[i]
        memory[i] = residuals[p]
        if not seen[i]:
            seen[i] = True
            counters[1] += 1
        for j in range(d):
            total[j] = total[j] + delta * X[i, j]
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
def _take_step(theta, velocity, average, grad, counters, lr, lr_stride, first_step, moving, momentum, nesterov,
               average_start, clip_norm):  # fmt: skip
    """Clip, torch.optim.SGD's momentum (v = g on the first step), the step, then averaging.

    Returns the rate it used (the adaptive schedule's divisions by 5 included)."""
    if clip_norm > 0:
        size = _norm(grad[:moving])
        if size > clip_norm:
            scale = clip_norm / size
            for j in range(moving):
                grad[j] = grad[j] * scale
    step = counters[0]
    rate = lr[(step - first_step) * lr_stride]
    if counters[3] != 0:
        # The reference divides by T(5 ** k): the exact integer, rounded once to T.
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
                       loss_state, orders, validation_rows, lr, lr_stride, losses, grad_norms, scores, epoch_sums,
                       n_epochs, batch_size, momentum, nesterov, l2, fit_intercept, average_start, sag, tol, n_iter_no_change,
                       clip_norm, adaptive, gtol, growth_limit, validation_scale, residual_clip, epoch_size,
                       stop_flag):  # fmt: skip
    d = X.shape[1]
    T = X.dtype.type
    epoch_rows = orders.shape[1]
    segment = epoch_size != 0  # one part of an epoch: its sums carry in epoch_sums, the caller ends it
    rows_per_epoch = T(epoch_size) if segment else T(epoch_rows)
    moving = d + 1 if fit_intercept else d  # the intercept stays put without fit_intercept
    work = _workspace(X)
    sums = np.empty(d + 2, X.dtype)
    grad = np.empty(d + 1, X.dtype)
    gradient_sum = epoch_sums[1:]
    q = np.empty(batch_size if sag else 0, X.dtype)
    w = theta[:d]
    first_step = counters[0]
    rate = T(0)
    work_since_poll = 0
    for epoch in range(n_epochs):
        order = orders[epoch % orders.shape[0]] if orders.shape[0] > 0 else work.natural_order
        if not segment:
            for j in range(d + 2):
                epoch_sums[j] = T(-0.0)
        epoch_loss = epoch_sums[0]
        steps = 0
        for start in range(0, epoch_rows, batch_size):
            m = min(batch_size, epoch_rows - start)
            count = T(m)
            _batch_sums(X, y, sample_weight, order, start, m, w, theta[d], residual_clip, work, sums, q)
            loss = _loss_and_gradient(sums, w, count, l2, grad)
            epoch_loss = epoch_loss + loss * (count / rows_per_epoch)
            epoch_sums[0] = epoch_loss
            # With a residual clip (scikit-learn's overflow behaviour) only non-finite weights stop a fit.
            if not np.isfinite(loss) and residual_clip == 0:
                losses[epoch] = epoch_loss
                return epoch + 1, STATUS_DIVERGED
            if sag:
                _sag_direction(X, order, start, m, q, sag_memory, sag_seen, sag_sum, counters, w, l2, grad)
            # The epoch's mean gradient is of the directions before clipping, as in the reference.
            for j in range(moving):
                gradient_sum[j] = gradient_sum[j] + grad[j]
            steps += 1
            rate = _take_step(theta, velocity, average, grad, counters, lr, lr_stride, first_step, moving, momentum,
                              nesterov, average_start, clip_norm)  # fmt: skip
            work_since_poll += m * (d + 1)
            if work_since_poll >= WORK_BETWEEN_POLLS:
                work_since_poll = 0
                if stop_flag[0]:
                    return epoch, STATUS_INTERRUPTED
        if segment:
            return 0, STATUS_RAN_ALL
        losses[epoch] = epoch_loss
        for j in range(d + 1):
            if not np.isfinite(theta[j]):
                return epoch + 1, STATUS_DIVERGED
        step_count = T(steps)
        for j in range(moving):
            gradient_sum[j] = gradient_sum[j] / step_count
        grad_norms[epoch] = _norm(gradient_sum[:moving])
        criterion = losses[epoch]
        if validation_rows.shape[0] > 0:
            _batch_sums(X, y, sample_weight, validation_rows, 0, validation_rows.shape[0], w, theta[d], T(0), work,
                        sums, q[:0])  # fmt: skip
            validation_loss = sums[d + 1] / T(validation_rows.shape[0])
            scores[epoch] = 1.0 - np.float64(validation_loss) * validation_scale
            criterion = -scores[epoch]
        status = _after_epoch(losses[epoch], grad_norms[epoch], criterion, np.float64(rate), counters, loss_state, tol,
                              n_iter_no_change, adaptive, gtol, growth_limit)  # fmt: skip
        if status != STATUS_RAN_ALL:
            return epoch + 1, status
    return n_epochs, STATUS_RAN_ALL


def run_epochs(X, y, sample_weight, theta, velocity, average, sag_memory, sag_seen, sag_sum, counters, loss_state,
               orders, validation_rows, lr, lr_stride, losses, grad_norms, scores, epoch_sums, *, n_epochs, batch_size,
               momentum, nesterov, l2, fit_intercept, average_start, sag, tol, n_iter_no_change, clip_norm, adaptive,
               gtol, growth_limit, validation_scale, residual_clip, n_threads=1, epoch_size=0):  # fmt: skip
    """Run up to ``n_epochs`` epochs natively; see ``_reference.run_epochs`` for the contract.

    Ctrl-C only reaches the main thread between Python bytecodes, never inside compiled code, so
    there the kernel runs in a worker thread (it holds no GIL) while the main thread waits; an
    interrupt raises a stop flag that the kernel reads between batches, then propagates.
    """
    stop_flag = np.zeros(1, dtype=np.int8)
    call = functools.partial(
        _run_epochs_kernel, X, y, sample_weight, theta, velocity, average, sag_memory, sag_seen, sag_sum, counters,
        loss_state, orders, validation_rows, lr, lr_stride, losses, grad_norms, scores, epoch_sums, n_epochs,
        batch_size, momentum, nesterov, l2, fit_intercept, average_start, sag, tol, n_iter_no_change, clip_norm,
        adaptive, gtol, growth_limit, validation_scale, residual_clip, epoch_size, stop_flag,
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
