"""torch.optim.SGD's update: plain steps, heavy-ball or Nesterov momentum, dampening, weight decay.

Per element, in this order (t counts steps from 0)::

    g <- g + weight_decay * p                                  (weight_decay != 0)
    b <- g                                                     (t == 0)
    b <- momentum * b + (1 - dampening) * g                    (t > 0; "+ g" when dampening == 0)
    g <- g + momentum * b   if nesterov   else   b             (momentum != 0)
    p <- p - lr * g

The fused fits use it with dampening = weight_decay = 0 (their penalty is part of the gradient).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import flag, real_scalar, working_scalar

NAME = "sgd"
FITS = True  # whether the fused fits may use it (cpp/rules/registry.hpp: FitRules)
# The settings the bitwise tests run every backend with (tests/test_units.py).
EXAMPLES = (
    {},
    {"momentum": 0.9},
    {"momentum": 0.8, "nesterov": True},
    {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01},
)


class Settings(NamedTuple):
    """The validated hyper-parameters, as the user gave them (float64)."""

    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False


class Hyper(NamedTuple):
    """The hyper-parameters in the working dtype T, as the kernels read them."""

    NAME = NAME
    momentum: np.floating
    dampening: np.floating
    keep: np.floating  # 1 - dampening, rounded once in T
    weight_decay: np.floating
    nesterov: bool


class State(NamedTuple):
    momentum_buffer: np.ndarray


class Table(NamedTuple):
    """Nothing per step beyond the rate."""


class Step(NamedTuple):
    lr: np.floating
    first: bool


def settings(*, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) -> Settings:
    momentum = real_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    dampening = real_scalar(dampening, "dampening", low=0.0, high=1.0)
    weight_decay = real_scalar(weight_decay, "weight_decay", low=0.0)
    nesterov = flag(nesterov, "nesterov")
    if nesterov and (momentum == 0 or dampening != 0):
        raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)")
    return Settings(momentum, dampening, weight_decay, nesterov)


def hyper(s: Settings, dtype: np.dtype) -> Hyper:
    T = np.dtype(dtype).type
    dampening = working_scalar(s.dampening, "dampening", dtype)
    return Hyper(working_scalar(s.momentum, "momentum", dtype), dampening, T(1) - dampening,
                 working_scalar(s.weight_decay, "weight_decay", dtype), s.nesterov)  # fmt: skip


def state_like(s: Settings, param: np.ndarray) -> State:
    return State(np.zeros_like(param))


def table(s: Settings, first_step: int, n_steps: int, dtype: np.dtype) -> Table:
    return Table()


def begin_step(hyper: Hyper, lr, t, table: Table, row) -> Step:
    return Step(lr, t == 0)


def update(param, grad, state: State, i, hyper: Hyper, step: Step) -> None:
    g = grad[i]
    if hyper.weight_decay != 0:
        g = g + hyper.weight_decay * param[i]
    if hyper.momentum != 0:
        if step.first:
            buffer = g
        elif hyper.dampening != 0:
            buffer = hyper.momentum * state.momentum_buffer[i] + hyper.keep * g
        else:
            buffer = hyper.momentum * state.momentum_buffer[i] + g
        state.momentum_buffer[i] = buffer
        g = g + hyper.momentum * buffer if hyper.nesterov else buffer
    param[i] = param[i] - step.lr * g
