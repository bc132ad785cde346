"""torch.optim.NAdam.  Per element, t the step number from 1::

    g <- -g                                                     (maximize)
    p <- p * (1 - lr * weight_decay)                            (decoupled_weight_decay)
    g <- g + weight_decay * p                                   (otherwise)
    m <- lerp(m, g, 1 - beta1)
    v <- v * beta2 + ((1 - beta2) * g) * g
    denom <- sqrt(v / bc2) + eps
    p <- p + c_g * (g / denom);   p <- p + c_m * (m / denom)

with ``bc2 = 1 - beta2 ** t``, the momentum coefficients ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t *
momentum_decay))`` and their running product ``prod_t = prod_(t-1) * mu_t`` computed in float64 in
Python (``powers``) and rounded once to T, and in T when the step begins::

    c_g = (-lr * (1 - mu_t)) / (1 - prod_t);   c_m = (-lr * mu_(t+1)) / (1 - prod_t * mu_(t+1))

(torch multiplies ``prod_t * mu_(t+1)`` in float64; the table holds ``1 - prod_t * mu_(t+1)``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import flag, real_scalar
from .. import moments, powers
from .adam import beta

NAME = "nadam"
FITS = True  # whether the fused fits may use it (cpp/rules/registry.hpp: FitRules)
EXAMPLES = (  # for tests/test_units.py
    {},
    {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05, "momentum_decay": 0.01},
    {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    {"beta1": 0.3},  # lerp's other branch
)


class Settings(NamedTuple):
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum_decay: float = 4e-3
    decoupled_weight_decay: bool = False
    maximize: bool = False


class Hyper(moments.Hyper):  # Adam's moments' hyper-parameters (_units/moments.py)
    __slots__ = ()
    NAME = NAME


class State(NamedTuple):
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


class Table(NamedTuple):
    one_minus_mu: np.ndarray  # 1 - mu_t
    mu_next: np.ndarray  # mu_(t+1)
    one_minus_product: np.ndarray  # 1 - prod_t
    one_minus_product_next: np.ndarray  # 1 - prod_t * mu_(t+1)
    bias_correction2: np.ndarray  # 1 - beta2 ** t


class Step(NamedTuple):
    grad_coefficient: np.floating
    average_coefficient: np.floating
    bias_correction2: np.floating
    decay: np.floating  # 1 - lr * weight_decay


def settings(*, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
             decoupled_weight_decay=False, maximize=False) -> Settings:  # fmt: skip
    return Settings(beta(beta1, "beta1"), beta(beta2, "beta2"), real_scalar(eps, "eps", low=0.0),
                    real_scalar(weight_decay, "weight_decay", low=0.0),
                    real_scalar(momentum_decay, "momentum_decay", low=0.0), flag(decoupled_weight_decay, "decoupled_weight_decay"),
                    flag(maximize, "maximize"))  # fmt: skip


def hyper(s: Settings, dtype: np.dtype) -> Hyper:
    return moments.hyper(Hyper, s, dtype)


def state_like(s: Settings, param: np.ndarray) -> State:
    return State(np.zeros_like(param), np.zeros_like(param))


def table_of(mu, mu_next, product, bias_correction2, dtype: np.dtype) -> Table:
    """The table of steps whose mu_t, mu_(t+1), prod_t and 1 - beta2 ** t (float64) are given."""
    values = (1.0 - mu, mu_next, 1.0 - product, 1.0 - product * mu_next, bias_correction2)
    return Table(*(np.asarray(value, dtype=np.float64).reshape(-1).astype(dtype) for value in values))


def table(s: Settings, first_step: int, n_steps: int, dtype: np.dtype) -> Table:
    """The steps first_step .. first_step + n_steps - 1 (counted from 0: step k is torch's t = k + 1)."""
    schedule = powers.nadam_schedule(s.beta1, s.momentum_decay)
    mu, product = schedule.at(first_step + 1, n_steps)
    mu_next, _ = schedule.at(first_step + 2, n_steps)
    return table_of(mu, mu_next, product, powers.one_minus_powers(s.beta2, first_step + 1, n_steps), dtype)


def begin_step(hyper: Hyper, lr, t, table: Table, row) -> Step:
    neg_lr = -lr
    return Step((neg_lr * table.one_minus_mu[row]) / table.one_minus_product[row],
                (neg_lr * table.mu_next[row]) / table.one_minus_product_next[row], table.bias_correction2[row],
                hyper.one - lr * hyper.weight_decay)  # fmt: skip


def update(param, grad, state: State, i, hyper: Hyper, step: Step) -> None:
    p, g = moments.decayed(param, grad, i, hyper, step.decay)
    m, v = moments.moments(state, i, g, hyper)
    denom = np.sqrt(v / step.bias_correction2) + hyper.eps
    p = p + step.grad_coefficient * (g / denom)
    param[i] = p + step.average_coefficient * (m / denom)
