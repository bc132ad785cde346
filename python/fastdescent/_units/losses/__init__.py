"""Losses of a linear model's residual, one module per loss, registered here once.

A loss module defines ``NAME``, ``Hyper`` (its parameters in the working dtype, with ``scale``: the
gradient of a batch is ``scale * (sums / count)``), ``hyper(dtype, ...)`` and
``row_terms(r, s, weighted, hyper) -> (q, loss term)``: a row adds ``q * x`` to the gradient's sums
and its loss term to the loss's; every ``Hyper`` ends with ``weighted_value``: 1, or 0 for a weighted
row's loss term without its weight (its q keeps it; scikit-learn's stopping objective sums the rows'
losses unweighted).
``cpp/losses/<name>.hpp`` is the same loss in C++.
"""

from __future__ import annotations

from types import ModuleType

from .. import registry
from . import epsilon_insensitive, huber, squared_epsilon_insensitive, squared_error

LOSSES: dict[str, ModuleType] = registry.by_name(squared_error, huber, epsilon_insensitive, squared_epsilon_insensitive)

BY_HYPER: dict[type, ModuleType] = {loss.Hyper: loss for loss in LOSSES.values()}


def of(hyper) -> ModuleType:
    return BY_HYPER[type(hyper)]


def row_terms(r, s, weighted, hyper):
    """The loss of ``hyper``'s row terms (looked up once per kernel under Numba: ``_numba/units.py``)."""
    return of(hyper).row_terms(r, s, weighted, hyper)
