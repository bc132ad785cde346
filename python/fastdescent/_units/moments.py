"""Adam's moments, shared by the rules ``adam`` (AdamW, AMSGrad) and ``nadam``: the gradient as the
rule sees it (maximize, then weight decay, coupled or decoupled) and the two running averages, the
operations torch's single-tensor Adam and NAdam both take in this order.  ``cpp/moments.hpp`` is the
same in C++.  The rules' records carry the fields these read (``maximize``, ``weight_decay``,
``decoupled``, ``average_weight``, ``average_keep``, ``beta2``, ``square_weight``; ``exp_avg``,
``exp_avg_sq``)."""

from __future__ import annotations

from .primitives import lerp


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
