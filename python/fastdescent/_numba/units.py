"""The units of ``fastdescent._units`` made callable from compiled code.

Every unit function is registered with Numba as it is (``register_jitable``: the same Python
function, compiled where a kernel calls it); three primitives get compiled definitions of their
own (the lanes as LLVM vectors; a scalar clip, select and maximum); and the family functions that find the unit of a
record (``rules.update``, ``losses.row_terms``, ...) look it up by the record's class when the
kernel is compiled, so a kernel is specialised for its rule, loss and penalty at no run-time cost.
Import this module before compiling anything that calls a unit.

A unit called once per element or per step (a rule's update, a loss's row terms, the step's rate)
is inlined into its caller by Numba itself (``inline="always"``): a call to a compiled function
that takes arrays counts references on each of them, which made a rule's update cost 30 ns per
element instead of one, and per-sample SGD 4x slower.  The units of an epoch's end stay calls:
inlining them too made the first compile of a fit 30% longer, for nothing measurable.
"""

from __future__ import annotations

import inspect

from numba import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from .._units import (averaging, epoch_end, losses, moments, objective, penalties, primitives, rate_policy, rules,
                      stopping)
from .intrinsics import lane_abs_sum, lane_dot_at
from .intrinsics import select as select_value
from .jit import OPTIONS


@overload(primitives.lane_dot, jit_options=OPTIONS, inline="always")
def _lane_dot(a, b):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array) and a.layout == "C" and b.layout == "C"):
        raise TypingError("lane_dot takes C-contiguous arrays")

    def lane_dot(a, b):
        return lane_dot_at(a, 0, b)

    return lane_dot


@overload(primitives.lane_abs_sum, jit_options=OPTIONS, inline="always")
def _lane_abs_sum(w):
    if not (isinstance(w, types.Array) and w.layout == "C"):
        raise TypingError("lane_abs_sum takes a C-contiguous array")

    def abs_sum(w):
        return lane_abs_sum(w)

    return abs_sum


@overload(primitives.clip, jit_options=OPTIONS, inline="always")
def _clip(value, bound):
    def clip(value, bound):
        return -bound if value < -bound else (bound if value > bound else value)

    return clip


@overload(primitives.select, jit_options=OPTIONS, inline="always")
def _select(condition, if_true, if_false):
    def select(condition, if_true, if_false):
        return select_value(condition, if_true, if_false)

    return select


@overload(primitives.maximum, jit_options=OPTIONS, inline="always")
def _maximum(a, b):
    def maximum(a, b):
        return b if a < b else a

    return maximum


register_jitable(inline="always", **OPTIONS)(primitives.lerp)

# The units' functions that run once per epoch: compiled on their own (every other one is inlined).
PER_EPOCH = frozenset({"end_epoch", "after_epoch", "on_stall"})


def _register(module) -> None:
    for name, function in vars(module).items():
        if inspect.isfunction(function) and function.__module__ == module.__name__ and not name.startswith("_"):
            register_jitable(inline="never" if name in PER_EPOCH else "always", **OPTIONS)(function)


for _family in (rules, losses, penalties):
    for _unit in _family.BY_HYPER.values():
        _register(_unit)
for _module in (objective, averaging, stopping, rate_policy, epoch_end, moments):
    _register(_module)


def _unit_of(family, hyper):
    unit = family.BY_HYPER.get(getattr(hyper, "instance_class", None))
    if unit is None:
        raise TypingError(f"no unit of {family.__name__} has the record {hyper}")
    return unit


@overload(rules.update, jit_options=OPTIONS, inline="always")
def _rule_update(param, grad, state, i, hyper, step):
    update = _unit_of(rules, hyper).update

    def rule_update(param, grad, state, i, hyper, step):
        update(param, grad, state, i, hyper, step)

    return rule_update


@overload(rules.begin_step, jit_options=OPTIONS, inline="always")
def _rule_begin_step(hyper, lr, t, table, row):
    begin_step = _unit_of(rules, hyper).begin_step

    def rule_begin_step(hyper, lr, t, table, row):
        return begin_step(hyper, lr, t, table, row)

    return rule_begin_step


@overload(losses.row_terms, jit_options=OPTIONS, inline="always")
def _loss_row_terms(r, s, weighted, hyper):
    row_terms = _unit_of(losses, hyper).row_terms

    def loss_row_terms(r, s, weighted, hyper):
        return row_terms(r, s, weighted, hyper)

    return loss_row_terms


@overload(penalties.add_to_loss, jit_options=OPTIONS, inline="always")
def _penalty_add_to_loss(loss, w, hyper):
    add_to_loss = _unit_of(penalties, hyper).add_to_loss

    def penalty_add_to_loss(loss, w, hyper):
        return add_to_loss(loss, w, hyper)

    return penalty_add_to_loss


@overload(penalties.add_to_gradient, jit_options=OPTIONS, inline="always")
def _penalty_add_to_gradient(grad, w, i, hyper):
    add_to_gradient = _unit_of(penalties, hyper).add_to_gradient

    def penalty_add_to_gradient(grad, w, i, hyper):
        add_to_gradient(grad, w, i, hyper)

    return penalty_add_to_gradient


@overload(penalties.accrue, jit_options=OPTIONS, inline="always")
def _penalty_accrue(state, hyper, rate, averaged_count):
    accrue = _unit_of(penalties, hyper).accrue

    def penalty_accrue(state, hyper, rate, averaged_count):
        return accrue(state, hyper, rate, averaged_count)

    return penalty_accrue


@overload(penalties.apply_accrued, jit_options=OPTIONS, inline="always")
def _penalty_apply_accrued(w, average, averaging, state, i, hyper, accrued):
    apply_accrued = _unit_of(penalties, hyper).apply_accrued

    def penalty_apply_accrued(w, average, averaging, state, i, hyper, accrued):
        apply_accrued(w, average, averaging, state, i, hyper, accrued)

    return penalty_apply_accrued
