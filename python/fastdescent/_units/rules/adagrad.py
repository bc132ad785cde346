"""torch.optim.Adagrad (dense gradients).  Per element, t the step number from 1::

    g <- -g                                            (maximize)
    g <- g + weight_decay * p                          (weight_decay != 0)
    s <- s + g * g                                     (s starts at initial_accumulator_value)
    p <- p + (-clr) * (g / (sqrt(s) + eps))            clr = lr / (1 + (t - 1) * lr_decay)

``1 + (t - 1) * lr_decay`` is computed in float64 in Python, rounded once to T; ``clr`` in T.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import flag, real_scalar, working_scalar

NAME = "adagrad"
FITS = True  # whether the fused fits may use it (cpp/rules/registry.hpp: FitRules)
EXAMPLES = (  # for tests/test_units.py
    {},
    {"lr_decay": 0.01, "weight_decay": 0.01, "eps": 1e-6, "initial_accumulator_value": 0.1},
    {"maximize": True},
)


class Settings(NamedTuple):
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10
    maximize: bool = False


class Hyper(NamedTuple):
    NAME = NAME
    weight_decay: np.floating
    eps: np.floating
    maximize: bool


class State(NamedTuple):
    sum: np.ndarray


class Table(NamedTuple):
    rate_divisor: np.ndarray  # 1 + (t - 1) * lr_decay


class Step(NamedTuple):
    neg_lr: np.floating  # -clr


def settings(*, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, maximize=False) -> Settings:
    return Settings(real_scalar(lr_decay, "lr_decay", low=0.0), real_scalar(weight_decay, "weight_decay", low=0.0),
                    real_scalar(initial_accumulator_value, "initial_accumulator_value", low=0.0),
                    real_scalar(eps, "eps", low=0.0), flag(maximize, "maximize"))  # fmt: skip


def hyper(s: Settings, dtype: np.dtype) -> Hyper:
    working_scalar(s.initial_accumulator_value, "initial_accumulator_value", dtype)
    return Hyper(working_scalar(s.weight_decay, "weight_decay", dtype), working_scalar(s.eps, "eps", dtype),
                 s.maximize)  # fmt: skip


def state_like(s: Settings, param: np.ndarray) -> State:
    return State(np.full_like(param, s.initial_accumulator_value))


def table(s: Settings, first_step: int, n_steps: int, dtype: np.dtype) -> Table:
    """The steps first_step .. first_step + n_steps - 1 (counted from 0: torch's t - 1)."""
    steps = np.arange(first_step, first_step + n_steps, dtype=np.float64)
    return Table((1 + steps * s.lr_decay).astype(dtype))


def begin_step(hyper: Hyper, lr, t, table: Table, row) -> Step:
    return Step(-(lr / table.rate_divisor[row]))


def update(param, grad, state: State, i, hyper: Hyper, step: Step) -> None:
    g = -grad[i] if hyper.maximize else grad[i]
    if hyper.weight_decay != 0:
        g = g + hyper.weight_decay * param[i]
    total = state.sum[i] + g * g
    state.sum[i] = total
    param[i] = param[i] + step.neg_lr * (g / (np.sqrt(total) + hyper.eps))
