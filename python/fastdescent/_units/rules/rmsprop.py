"""torch.optim.RMSprop, plain or centered, with or without momentum.  Per element::

    g   <- -g                                          (maximize)
    g   <- g + weight_decay * p                        (weight_decay != 0)
    sq  <- sq * alpha + ((1 - alpha) * g) * g
    ga  <- lerp(ga, g, 1 - alpha)                      (centered)
    avg <- sqrt(max(sq - ga * ga, 0)) + eps            (centered; torch takes sqrt(sq - ga * ga))
    avg <- sqrt(sq) + eps                              (otherwise)
    b   <- b * momentum + g / avg;  p <- p + (-lr) * b (momentum > 0)
    p   <- p + (-lr) * (g / avg)                       (otherwise)

One departure from torch: where rounding leaves ``sq - ga * ga`` below zero (a gradient that has
stayed constant for long enough), torch's root is NaN and the parameter becomes NaN; here it is 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import flag, real_scalar, working_scalar
from ..primitives import lerp, maximum

NAME = "rmsprop"
FITS = True  # whether the fused fits may use it (cpp/rules/registry.hpp: FitRules)
EXAMPLES = (  # for tests/test_units.py
    {},
    {"alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.9},
    {"centered": True, "momentum": 0.5},
    {"centered": True, "alpha": 0.3, "maximize": True},  # 1 - alpha >= 0.5: lerp's other branch
)


class Settings(NamedTuple):
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False
    maximize: bool = False


class Hyper(NamedTuple):
    NAME = NAME
    alpha: np.floating
    square_weight: np.floating  # 1 - alpha
    average_keep: np.floating  # 1 - square_weight, in T (lerp's other branch)
    eps: np.floating
    weight_decay: np.floating
    momentum: np.floating
    zero: np.floating
    maximize: bool


class State(NamedTuple):
    square_avg: np.ndarray
    # The update tests these arrays' sizes, as C++ does (never a flag that might disagree with them).
    grad_avg: np.ndarray  # empty unless centered
    momentum_buffer: np.ndarray  # empty without momentum


class Table(NamedTuple):
    """Nothing per step beyond the rate."""


class Step(NamedTuple):
    neg_lr: np.floating


def settings(*, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False) -> Settings:
    return Settings(real_scalar(alpha, "alpha", low=0.0, high=1.0, high_open=True), real_scalar(eps, "eps", low=0.0),
                    real_scalar(weight_decay, "weight_decay", low=0.0),
                    real_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True), flag(centered, "centered"),
                    flag(maximize, "maximize"))  # fmt: skip


def hyper(s: Settings, dtype: np.dtype) -> Hyper:
    T = np.dtype(dtype).type
    square_weight = working_scalar(1.0 - s.alpha, "1 - alpha", dtype)
    return Hyper(working_scalar(s.alpha, "alpha", dtype), square_weight, T(1) - square_weight,
                 working_scalar(s.eps, "eps", dtype), working_scalar(s.weight_decay, "weight_decay", dtype),
                 working_scalar(s.momentum, "momentum", dtype), T(0), s.maximize)  # fmt: skip


def state_like(s: Settings, param: np.ndarray) -> State:
    def zeros(needed: bool) -> np.ndarray:
        return np.zeros_like(param) if needed else np.empty(0, param.dtype)  # not param[:0]: a 0-d param has none

    return State(np.zeros_like(param), zeros(s.centered), zeros(s.momentum > 0))


def table(s: Settings, first_step: int, n_steps: int, dtype: np.dtype) -> Table:
    return Table()


def begin_step(hyper: Hyper, lr, t, table: Table, row) -> Step:
    return Step(-lr)


def update(param, grad, state: State, i, hyper: Hyper, step: Step) -> None:
    g = -grad[i] if hyper.maximize else grad[i]
    if hyper.weight_decay != 0:
        g = g + hyper.weight_decay * param[i]
    square = state.square_avg[i] * hyper.alpha + (hyper.square_weight * g) * g
    state.square_avg[i] = square
    if state.grad_avg.size:
        average = lerp(state.grad_avg[i], g, hyper.square_weight, hyper.average_keep)
        state.grad_avg[i] = average
        spread = np.sqrt(maximum(square - average * average, hyper.zero)) + hyper.eps
    else:
        spread = np.sqrt(square) + hyper.eps
    if state.momentum_buffer.size:
        buffer = state.momentum_buffer[i] * hyper.momentum + g / spread
        state.momentum_buffer[i] = buffer
        param[i] = param[i] + step.neg_lr * buffer
    else:
        param[i] = param[i] + step.neg_lr * (g / spread)
