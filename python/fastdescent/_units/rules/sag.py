"""The stochastic average gradient for a user's sum of terms (``fastdescent.optim.SAG``).

The state is the stored gradient of the step's sample (``memory``, one row of the optimizer's
memory) and the running total of the stored gradients.  Per element::

    total  <- total + (g - memory);   memory <- g
    p      <- p - lr * (total / seen + weight_decay * p)       ("+ weight_decay * p" when != 0)

``seen`` (the samples seen so far) comes from the caller in ``Table``.  The fused fits' SAG keeps
one residual per sample instead (a linear model's gradient is that residual times the row): it is
the gradient estimator of ``_reference/sag.py``, not this rule.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import real_scalar, working_scalar

NAME = "sag"
FITS = False  # whether the fused fits may use it (cpp/rules/registry.hpp: FitRules)
EXAMPLES = ({}, {"weight_decay": 0.01})  # for tests/test_units.py


class Settings(NamedTuple):
    weight_decay: float = 0.0


class Hyper(NamedTuple):
    NAME = NAME
    weight_decay: np.floating


class State(NamedTuple):
    memory: np.ndarray  # the stored gradient of this step's sample
    total: np.ndarray


class Table(NamedTuple):
    seen: np.ndarray


class Step(NamedTuple):
    lr: np.floating
    seen: np.floating


def settings(*, weight_decay=0.0) -> Settings:
    return Settings(real_scalar(weight_decay, "weight_decay", low=0.0))


def hyper(s: Settings, dtype: np.dtype) -> Hyper:
    return Hyper(working_scalar(s.weight_decay, "weight_decay", dtype))


def state_like(s: Settings, param: np.ndarray) -> State:
    """One sample's stored gradient and the total (optim.SAG keeps a memory row per sample)."""
    return State(np.zeros_like(param), np.zeros_like(param))


def table_of(seen: int, dtype: np.dtype) -> Table:
    return Table(np.full(1, seen, dtype=dtype))


def begin_step(hyper: Hyper, lr, t, table: Table, row) -> Step:
    return Step(lr, table.seen[row])


def update(param, grad, state: State, i, hyper: Hyper, step: Step) -> None:
    state.total[i] = state.total[i] + (grad[i] - state.memory[i])
    state.memory[i] = grad[i]
    direction = state.total[i] / step.seen
    if hyper.weight_decay != 0:
        direction = direction + hyper.weight_decay * param[i]
    param[i] = param[i] - step.lr * direction
