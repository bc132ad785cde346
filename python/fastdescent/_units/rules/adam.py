"""torch.optim.Adam and AdamW, with AMSGrad (the single-tensor implementation).  Per element, t the
step number from 1::

    g    <- -g                                             (maximize)
    p    <- p * (1 - lr * weight_decay)                    (decoupled weight decay: AdamW)
    g    <- g + weight_decay * p                           (coupled weight decay: Adam)
    m    <- lerp(m, g, 1 - beta1)                          (primitives.lerp: torch's two branches)
    v    <- v * beta2 + ((1 - beta2) * g) * g
    vmax <- max(vmax, v);  v <- vmax                       (amsgrad)
    p    <- p + (-(lr / bc1)) * (m / (sqrt(v) / root_bc2 + eps))

``bc1 = 1 - beta1 ** t`` and ``root_bc2 = (1 - beta2 ** t) ** 0.5`` are computed in float64 in Python
(``powers``) and rounded once to the working dtype T; ``1 - beta1``, ``1 - beta2`` likewise;
``lr / bc1`` and ``1 - lr * weight_decay`` are computed in T when the step begins.
AdamW is this rule with ``decoupled_weight_decay=True``, as in torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import flag, real_scalar
from .. import moments, powers
from ..primitives import maximum

NAME = "adam"
FITS = True  # whether the fused fits may use it (cpp/rules/registry.hpp: FitRules)
EXAMPLES = (  # for tests/test_units.py
    {},
    {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05},
    {"amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True},
    {"beta1": 0.3, "maximize": True, "amsgrad": True},  # beta1 < 0.5: lerp's other branch
)


class Settings(NamedTuple):
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    decoupled_weight_decay: bool = False
    maximize: bool = False


class Hyper(moments.Hyper):  # Adam's moments' hyper-parameters (_units/moments.py)
    __slots__ = ()
    NAME = NAME


class State(NamedTuple):
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray  # empty without amsgrad (the update tests its size, as C++ does)


class Table(NamedTuple):
    bias_correction1: np.ndarray  # 1 - beta1 ** t
    root_bias_correction2: np.ndarray  # (1 - beta2 ** t) ** 0.5


class Step(NamedTuple):
    neg_step_size: np.floating  # -(lr / bias_correction1)
    root_bias_correction2: np.floating
    decay: np.floating  # 1 - lr * weight_decay (decoupled weight decay)


def beta(value, name: str) -> float:
    return real_scalar(value, name, low=0.0, high=1.0, high_open=True)


def settings(*, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False,
             maximize=False) -> Settings:  # fmt: skip
    return Settings(beta(beta1, "beta1"), beta(beta2, "beta2"), real_scalar(eps, "eps", low=0.0),
                    real_scalar(weight_decay, "weight_decay", low=0.0), flag(amsgrad, "amsgrad"), flag(decoupled_weight_decay, "decoupled_weight_decay"),
                    flag(maximize, "maximize"))  # fmt: skip


def hyper(s: Settings, dtype: np.dtype) -> Hyper:
    return moments.hyper(Hyper, s, dtype)


def state_like(s: Settings, param: np.ndarray) -> State:
    unused = np.empty(0, param.dtype)  # not param[:0]: a 0-d param has no slices
    return State(np.zeros_like(param), np.zeros_like(param), np.zeros_like(param) if s.amsgrad else unused)


def table(s: Settings, first_step: int, n_steps: int, dtype: np.dtype) -> Table:
    """The steps first_step .. first_step + n_steps - 1 (counted from 0: step k is torch's t = k + 1)."""
    bias_correction1 = powers.one_minus_powers(s.beta1, first_step + 1, n_steps)
    bias_correction2 = powers.one_minus_powers(s.beta2, first_step + 1, n_steps)
    return Table(bias_correction1.astype(dtype), powers.square_roots(bias_correction2).astype(dtype))


def begin_step(hyper: Hyper, lr, t, table: Table, row) -> Step:
    return Step(-(lr / table.bias_correction1[row]), table.root_bias_correction2[row],
                hyper.one - lr * hyper.weight_decay)


def update(param, grad, state: State, i, hyper: Hyper, step: Step) -> None:
    p, g = moments.decayed(param, grad, i, hyper, step.decay)
    m, v = moments.moments(state, i, g, hyper)
    if state.max_exp_avg_sq.size:
        v = maximum(state.max_exp_avg_sq[i], v)
        state.max_exp_avg_sq[i] = v
    param[i] = p + step.neg_step_size * (m / (np.sqrt(v) / step.root_bias_correction2 + hyper.eps))
