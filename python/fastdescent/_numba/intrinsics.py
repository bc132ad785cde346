"""LLVM code that Numba cannot write by itself: a prefetch, and a row's 64-byte lanes as one vector.

Each is an ``@intrinsic``: a hint that changes no value (the prefetch), or the canonical order of
section 1 of reduction-order.md written with LLVM vectors (the lanes), which Numba's own loops keep
as scalars.  No fast-math flag is set on any operation.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils, ir_utils
from numba.extending import intrinsic

from .._order import LANE_BYTES

@intrinsic
def prefetch(typingctx, array, index):
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


@intrinsic
def lane_dot_at(typingctx, data, offset, w):
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
        result = cgutils.alloca_once(builder, element)
        with builder.if_else(builder.icmp_signed(">", tail, intp(0)), likely=False) as (has_tail, no_tail):
            with no_tail:
                builder.store(_halve(builder, builder.load(lane), lanes), result)
            with has_tail:
                # The tail and the halving on the lanes as scalars, as cpp/canonical_sum.hpp's lane_dot:
                # a vector loaded after scalar stores into it waits for them (~20 cycles a row).  The
                # same pairs are added, but not lanes no value reached: they hold -0.0, and x + -0.0 is x.
                scalars = cgutils.alloca_once(builder, vector)  # not `lane`: it stays a register in the loop above
                builder.store(builder.load(lane), scalars)
                array = builder.bitcast(scalars, element.as_pointer())
                with cgutils.for_range(builder, tail, intp=intp) as loop:
                    source = builder.add(full, loop.index)
                    slot = builder.gep(array, [loop.index])
                    product = builder.fmul(builder.load(builder.gep(row, [source])), builder.load(builder.gep(w_data, [source])))
                    builder.store(builder.fadd(builder.load(slot), product), slot)
                values = [builder.load(builder.gep(array, [intp(k)])) for k in range(lanes)]
                live = builder.select(builder.icmp_signed(">", full, intp(0)), intp(lanes), d)  # lanes past it: -0.0
                half = lanes // 2
                while half >= 1:
                    for k in range(half):
                        reached = builder.icmp_signed("<", intp(k + half), live)
                        values[k] = builder.select(reached, builder.fadd(values[k], values[k + half]), values[k])
                    live = builder.select(builder.icmp_signed("<", live, intp(half)), live, intp(half))
                    half //= 2
                builder.store(values[0], result)
        return builder.load(result)

    return data.dtype(data, offset, w), codegen


def _halve(builder, value, lanes):
    """The lanes of ``value`` combined by halving (section 1 of reduction-order.md): lane 0's sum."""
    half = lanes // 2
    while half >= 1:
        low = ir.Constant(ir.VectorType(ir.IntType(32), half), list(range(half)))
        high = ir.Constant(ir.VectorType(ir.IntType(32), half), list(range(half, 2 * half)))
        value = builder.fadd(builder.shuffle_vector(value, value, low), builder.shuffle_vector(value, value, high))
        half //= 2
    return builder.extract_element(value, ir.IntType(32)(0))


@intrinsic
def lane_abs_sum(typingctx, w):
    """sum(|w|) in the canonical lane order: lane_dot(|w|, ones) (x * 1 is x), as ``lane_dot_at``
    with |x| for the product.  The tail's padded lanes add -0.0, as there (|-0.0| would be +0.0,
    so the tail takes |x| element by element into a vector of -0.0).  C-contiguous only."""
    if not (isinstance(w, types.Array) and w.layout == "C" and w.ndim == 1 and isinstance(w.dtype, types.Float)):
        return None
    lanes = LANE_BYTES // (w.dtype.bitwidth // 8)

    def codegen(context, builder, signature, args):
        element = context.get_value_type(w.dtype)
        vector = ir.VectorType(element, lanes)
        itemsize = w.dtype.bitwidth // 8
        intp = context.get_value_type(types.intp)
        w_array = context.make_array(signature.args[0])(context, builder, args[0])
        d = cgutils.unpack_tuple(builder, w_array.shape, 1)[0]
        data = w_array.data
        bits = w.dtype.bitwidth
        vector_abs = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector]),
                                                    f"llvm.fabs.v{lanes}f{bits}")  # fmt: skip
        element_abs = cgutils.get_or_insert_function(builder.module, ir.FunctionType(element, [element]),
                                                     f"llvm.fabs.f{bits}")  # fmt: skip
        minus_zero = ir.Constant(vector, [ir.Constant(element, -0.0)] * lanes)
        lane = cgutils.alloca_once_value(builder, minus_zero)
        full = builder.mul(builder.udiv(d, intp(lanes)), intp(lanes))
        with cgutils.for_range_slice(builder, intp(0), full, intp(lanes), intp=intp) as (j, _):
            loaded = builder.load(builder.bitcast(builder.gep(data, [j]), vector.as_pointer()), align=itemsize)
            builder.store(builder.fadd(builder.load(lane), builder.call(vector_abs, [loaded])), lane)
        tail = builder.sub(d, full)
        with builder.if_then(builder.icmp_signed(">", tail, intp(0)), likely=False):
            padded = cgutils.alloca_once_value(builder, minus_zero)
            with cgutils.for_range(builder, tail, intp=intp) as loop:
                slot = builder.gep(builder.bitcast(padded, element.as_pointer()), [loop.index])
                value = builder.load(builder.gep(data, [builder.add(full, loop.index)]))
                builder.store(builder.call(element_abs, [value]), slot)
            builder.store(builder.fadd(builder.load(lane), builder.load(padded)), lane)
        return _halve(builder, builder.load(lane), lanes)

    return w.dtype(w), codegen


@intrinsic
def add_scaled_at(typingctx, acc, data, offset, q):
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


@intrinsic
def borrowed(typingctx, value):
    """``value`` (an array, or a record of arrays and scalars, nested) without ownership: the same
    arrays with no memory-info pointer, so that Numba's reference counting on them is a null test
    instead of an atomic add.  Only for values whose owner outlives every use of the borrowed one:
    the records a kernel was called with, which its caller holds until the call returns.

    A kernel that hands arrays to helpers counts a reference at every hand-off (Numba increments and
    decrements the count of each array a function binds, and of each array it reads out of a
    record); per-sample SGD spent 60% of its time on those atomic adds (``perf``: NRT_incref,
    NRT_decref), some of them per element of a rule's update.

    Borrow one value per statement (``state = borrowed(state)``), never several in one tuple
    assignment: Numba's alias analysis does not see through the tuple, takes the borrowed record
    for a fresh one, and its dead-code elimination drops the writes into it.
    """
    if not _borrowable(value):
        return None

    def codegen(context, builder, signature, args):
        return _borrow(context, builder, signature.args[0], args[0])

    return value(value), codegen


def _borrowable(typ) -> bool:
    """Arrays, numbers, booleans, records and tuples of them (no lists, dicts or Python objects)."""
    if isinstance(typ, (types.Array, types.Number, types.Boolean, types.Record)):
        return True
    if isinstance(typ, types.BaseTuple):
        return all(_borrowable(member) for member in typ)
    return False


def _has_arrays(typ) -> bool:
    if isinstance(typ, types.Array):
        return True
    return isinstance(typ, types.BaseTuple) and any(_has_arrays(member) for member in typ)


def _borrow(context, builder, typ, value):
    if isinstance(typ, types.Array):
        view = context.make_array(typ)(context, builder, value)
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()
    if isinstance(typ, types.BaseTuple):
        for index, member in enumerate(typ):
            if _has_arrays(member):
                part = _borrow(context, builder, member, builder.extract_value(value, index))
                value = builder.insert_value(value, part, index)
    return value


def _borrowed_is_its_argument(lhs, args, alias_map, arg_aliases):
    ir_utils._add_alias(lhs, args[0].name, alias_map, arg_aliases)


# Numba's dead-code elimination drops the writes into arrays it believes are fresh and unread, and
# a call's result is fresh unless registered as an alias of its argument: without this, the writes
# of an inlined rule into its borrowed state vanished.
ir_utils.alias_func_extensions[("borrowed", __name__)] = _borrowed_is_its_argument


@intrinsic
def select(typingctx, condition, if_true, if_false):
    """``if_true if condition else if_false`` as one LLVM select, without a branch: the units' per-element
    choices (the losses' pieces) inlined as branches made Numba's SSA pass warn of variables out of
    scope (NumbaIRAssumptionWarning) once several were nested."""
    if not (isinstance(condition, types.Boolean) and if_true == if_false and isinstance(if_true, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        flag = context.cast(builder, args[0], signature.args[0], types.boolean)
        return builder.select(builder.trunc(flag, ir.IntType(1)) if flag.type != ir.IntType(1) else flag, args[1], args[2])

    return if_true(condition, if_true, if_false), codegen
