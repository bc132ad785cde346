"""The L2 penalty ``strength * ||w||**2`` on the coefficients (never the intercept).

Its value is ``strength * dot(w, w)`` (the canonical lane dot) added to the batch loss, and its
gradient ``(2 * strength) * w_j`` (2 * strength rounded once in T) added to each coefficient's.
With strength 0 neither is added: the loss and the gradient are the loss's alone, bit for bit.
It acts through the gradient only: nothing accrues between steps (``accrue`` returns the rate
unused and ``apply_accrued`` does nothing; its ``State`` is empty).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import real_scalar, working_scalar
from ..primitives import lane_dot

NAME = "l2"
EXAMPLES = ({}, {"strength": 0.05})  # for tests/test_units.py
RULES = None  # every update rule of the fits


class Hyper(NamedTuple):
    NAME = NAME
    strength: np.floating
    twice_strength: np.floating


class State(NamedTuple):
    pass


def hyper(dtype: np.dtype, strength: float = 0.0, name: str = "l2") -> Hyper:
    strength = working_scalar(real_scalar(strength, name, low=0.0), name, dtype)
    return Hyper(strength, np.dtype(dtype).type(2) * strength)


def state_like(hyper: Hyper, d: int, dtype: np.dtype) -> State:
    return State()


def add_to_loss(loss, w, hyper):
    if hyper.strength != 0:
        return loss + hyper.strength * lane_dot(w, w)
    return loss


def add_to_gradient(grad, w, i, hyper) -> None:
    if hyper.strength != 0:
        grad[i] = grad[i] + hyper.twice_strength * w[i]


def accrue(state, hyper, rate, averaged_count):
    return rate


def apply_accrued(w, average, averaging, state, i, hyper, accrued) -> None:
    pass
