"""Update rules: how a parameter moves given its gradient.  One module per rule, registered here once.

A rule module defines, for every backend and every entry point (the fused fits, ``optim``,
``minimize``):

- ``NAME``; ``FITS`` (whether the fused fits may use it); ``Settings`` (its validated
  hyper-parameters, float64) and ``settings(**params)``, which checks each one and names it in its
  error;
- ``Hyper`` (the hyper-parameters in the working dtype) and ``hyper(settings, dtype)``;
- ``State`` (its arrays, each shaped like the parameter, or empty when the settings leave one
  unused) and ``state_like(settings, param)``, its starting values;
- ``Table`` (values that change every step and are computed in Python: powers, counts), with
  ``table(settings, first_step, n_steps, dtype)`` for the fits' steps, and ``Step`` (one step's
  scalars), with ``begin_step(hyper, lr, t, table, row)``;
- ``update(param, grad, state, i, hyper, step)``: the element-wise update of element(s) ``i``.

``cpp/rules/<name>.hpp`` is the same rule in C++, registered in ``cpp/rules/registry.hpp``.
See ``docs/architecture.md`` for adding one.
"""

from __future__ import annotations

from types import ModuleType

from .. import registry
from . import adagrad, adam, asgd, nadam, rmsprop, sag, sgd

RULES: dict[str, ModuleType] = registry.by_name(sgd, asgd, sag, adam, adagrad, rmsprop, nadam)

BY_HYPER: dict[type, ModuleType] = {rule.Hyper: rule for rule in RULES.values()}


def of(hyper) -> ModuleType:
    """The rule whose hyper-parameter record ``hyper`` is."""
    return BY_HYPER[type(hyper)]


# The rule of a record, for code that runs in numpy and in Numba alike: in numpy these look the rule
# up; compiled by Numba (``_numba/units.py``) the lookup happens once, when the kernel is compiled.


def update(param, grad, state, i, hyper, step) -> None:
    of(hyper).update(param, grad, state, i, hyper, step)


def begin_step(hyper, lr, t, table, row):
    return of(hyper).begin_step(hyper, lr, t, table, row)
