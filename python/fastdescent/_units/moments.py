"""Adam's moments, shared by the rules ``adam`` (AdamW, AMSGrad) and ``nadam``: the gradient as the
rule sees it (maximize, then weight decay, coupled or decoupled) and the two running averages, the
operations torch's single-tensor Adam and NAdam both take in this order.  ``cpp/moments.hpp`` is the
same in C++.  Both rules' ``Hyper`` is this one's (a subclass each: a record's class names its
rule), and their ``State`` has ``exp_avg`` and ``exp_avg_sq``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import working_scalar
from .primitives import lerp


class Hyper(NamedTuple):
    beta2: np.floating
    average_weight: np.floating  # 1 - beta1 (lerp's weight)
    average_keep: np.floating  # 1 - average_weight, in T (lerp's other branch)
    square_weight: np.floating  # 1 - beta2
    eps: np.floating
    weight_decay: np.floating
    one: np.floating  # 1 in T (1 - lr * weight_decay stays in T in Numba too)
    decoupled: bool
    maximize: bool


def hyper(record: type, s, dtype: np.dtype):
    """A rule's ``Hyper`` (a subclass of this module's) from its settings (``beta1``, ``beta2``,
    ``eps``, ``weight_decay``, ``decoupled_weight_decay``, ``maximize``) in the working dtype."""
    T = np.dtype(dtype).type
    average_weight = working_scalar(1.0 - s.beta1, "1 - beta1", dtype)
    return record(working_scalar(s.beta2, "beta2", dtype), average_weight, T(1) - average_weight,
                  working_scalar(1.0 - s.beta2, "1 - beta2", dtype), working_scalar(s.eps, "eps", dtype),
                  working_scalar(s.weight_decay, "weight_decay", dtype), T(1), s.decoupled_weight_decay,
                  s.maximize)  # fmt: skip


def decayed(param, grad, i, hyper, decay):
    """(p, g): the parameter after decoupled weight decay (``decay = 1 - lr * weight_decay``) and
    the gradient after maximize and coupled weight decay."""
    g = -grad[i] if hyper.maximize else grad[i]
    p = param[i]
    if hyper.weight_decay != 0:
        if hyper.decoupled:
            p = p * decay
        else:
            g = g + hyper.weight_decay * p
    return p, g


def moments(state, i, g, hyper):
    """(m, v), stored: ``m <- lerp(m, g, 1 - beta1)``, ``v <- v * beta2 + ((1 - beta2) * g) * g``."""
    m = lerp(state.exp_avg[i], g, hyper.average_weight, hyper.average_keep)
    state.exp_avg[i] = m
    v = state.exp_avg_sq[i] * hyper.beta2 + (hyper.square_weight * g) * g
    state.exp_avg_sq[i] = v
    return m, v
