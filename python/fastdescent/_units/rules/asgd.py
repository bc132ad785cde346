"""torch.optim.ASGD (averaged SGD): a decayed step and the running average of the iterates.

Per element, in this order::

    g  <- g + weight_decay * p                     (weight_decay != 0)
    p  <- p * decay;   p <- p - eta * g            (decay = 1 - lambd * eta)
    ax <- p   if mu == 1   else   ax + (p - ax) * mu

eta, decay and mu change every step (``eta = lr / (1 + lambd * lr * t) ** alpha``,
``mu = 1 / max(1, t - t0)``): the caller computes them in float64 and hands them down in ``Table``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import real_scalar, working_scalar

NAME = "asgd"
FITS = False  # whether the fused fits may use it (cpp/rules/registry.hpp: FitRules)
EXAMPLES = ({}, {"lambd": 1e-3, "alpha": 0.75, "t0": 5.0, "weight_decay": 0.01})  # for tests/test_units.py


class Settings(NamedTuple):
    lambd: float = 1e-4
    alpha: float = 0.75
    t0: float = 1e6
    weight_decay: float = 0.0


class Hyper(NamedTuple):
    NAME = NAME
    weight_decay: np.floating


class State(NamedTuple):
    average: np.ndarray  # torch's "ax"


class Table(NamedTuple):
    eta: np.ndarray
    decay: np.ndarray
    mu: np.ndarray


class Step(NamedTuple):
    eta: np.floating
    decay: np.floating
    mu: np.floating


def settings(*, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0) -> Settings:
    return Settings(real_scalar(lambd, "lambd", low=0.0), real_scalar(alpha, "alpha", low=0.0),
                    real_scalar(t0, "t0", low=0.0), real_scalar(weight_decay, "weight_decay", low=0.0))  # fmt: skip


def hyper(s: Settings, dtype: np.dtype) -> Hyper:
    return Hyper(working_scalar(s.weight_decay, "weight_decay", dtype))


def state_like(s: Settings, param: np.ndarray) -> State:
    return State(np.zeros_like(param))


def table_of(eta: float, decay: float, mu: float, dtype: np.dtype) -> Table:
    """One step's values, rounded once to the working dtype."""
    return Table(*(np.full(1, value, dtype=dtype) for value in (eta, decay, mu)))


def begin_step(hyper: Hyper, lr, t, table: Table, row) -> Step:
    return Step(table.eta[row], table.decay[row], table.mu[row])


def update(param, grad, state: State, i, hyper: Hyper, step: Step) -> None:
    g = grad[i]
    if hyper.weight_decay != 0:
        g = g + hyper.weight_decay * param[i]
    p = param[i] * step.decay
    p = p - step.eta * g
    param[i] = p
    state.average[i] = p if step.mu == 1 else state.average[i] + (p - state.average[i]) * step.mu
