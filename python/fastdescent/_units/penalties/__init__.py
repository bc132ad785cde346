"""Penalties on the coefficients, one module per penalty, registered here once.

A penalty module defines ``NAME``, ``RULES`` (the fits' update rules it runs with; None: all),
``Hyper``, ``State``, ``hyper(dtype, ...)``, ``state_like(hyper, d, dtype)``, ``add_to_loss(loss, w,
hyper)``, ``add_to_gradient(grad, w, i, hyper)`` (what the step's gradient carries, element-wise,
coefficients only), and what acts after each step: ``accrued = accrue(state, hyper, rate,
averaged_count)`` once (``averaged_count``: the averaged steps so far, 0 before averaging), then
``apply_accrued(w, average, averaging, state, i, hyper, accrued)`` per coefficient (moving the
running average too once ``averaging``).
``cpp/penalties/<name>.hpp`` is the same penalty in C++.
"""

from __future__ import annotations

from types import ModuleType

from .. import registry
from . import elastic_net, l2

PENALTIES: dict[str, ModuleType] = registry.by_name(l2, elastic_net)

BY_HYPER: dict[type, ModuleType] = {penalty.Hyper: penalty for penalty in PENALTIES.values()}


def of(hyper) -> ModuleType:
    return BY_HYPER[type(hyper)]


# The penalty of a record (looked up once per kernel under Numba: ``_numba/units.py``).


def add_to_loss(loss, w, hyper):
    return of(hyper).add_to_loss(loss, w, hyper)


def add_to_gradient(grad, w, i, hyper) -> None:
    of(hyper).add_to_gradient(grad, w, i, hyper)


def state_like(hyper, d, dtype):
    return of(hyper).state_like(hyper, d, dtype)


def accrue(state, hyper, rate, averaged_count):
    return of(hyper).accrue(state, hyper, rate, averaged_count)


def apply_accrued(w, average, averaging, state, i, hyper, accrued) -> None:
    of(hyper).apply_accrued(w, average, averaging, state, i, hyper, accrued)
