"""Penalties on the coefficients, one module per penalty, registered here once.

A penalty module defines ``NAME``, ``Hyper``, ``hyper(dtype, ...)``, ``add_to_loss(loss, w, hyper)``
and ``add_to_gradient(grad, w, i, hyper)`` (element-wise, coefficients only).
``cpp/penalties/<name>.hpp`` is the same penalty in C++.
"""

from __future__ import annotations

from types import ModuleType

from .. import registry
from . import l2

PENALTIES: dict[str, ModuleType] = registry.by_name(l2)

BY_HYPER: dict[type, ModuleType] = {penalty.Hyper: penalty for penalty in PENALTIES.values()}


def of(hyper) -> ModuleType:
    return BY_HYPER[type(hyper)]


# The penalty of a record (looked up once per kernel under Numba: ``_numba/units.py``).


def add_to_loss(loss, w, hyper):
    return of(hyper).add_to_loss(loss, w, hyper)


def add_to_gradient(grad, w, i, hyper) -> None:
    of(hyper).add_to_gradient(grad, w, i, hyper)
