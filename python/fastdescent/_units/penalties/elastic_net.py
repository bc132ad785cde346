"""The elastic-net penalty ``l1 * ||w||_1 + strength * ||w||**2`` on the coefficients (never the
intercept), its L1 share applied as scikit-learn applies it: the truncated gradient with the
cumulative L1 penalty of Tsuruoka, Tsujii and Ananiadou (2009), ``l1penalty`` in scikit-learn's
``_sgd_fast.pyx.tp``.  scikit-learn's ``penalty="l1"`` is ``l1 = alpha`` with no L2 share, its
``"elasticnet"`` ``l1 = alpha * l1_ratio``, ``strength = alpha * (1 - l1_ratio) / 2``.

The L2 share is the ``l2`` penalty's own code (the same field names): its value, and its gradient
in the step.  The L1 share's value ``l1 * sum |w_j|`` (``lane_abs_sum``: the lane dot of ``|w|``
with ones) is in the loss; it is not in the gradient.  After each step (the rule's
update and averaging) of rate eta, ``accrue`` adds ``l1 * eta`` to the total ``u`` (in T, step by
step, compensated: Kahan's sum with ``State.compensation``, so that a float32 total does not stall
when ``l1 * eta`` falls below half an ulp of it -- scikit-learn keeps u in float64; uncompensated,
a float32 u was 15% short after 10^7 steps), and ``apply_accrued`` truncates each coefficient by
what it has not yet paid of it::

    z = w_j
    w_j > 0:  w_j = max(0, z - (u + q_j))
    w_j < 0:  w_j = min(0, z + (u - q_j))
    q_j = q_j + (w_j - z)
    averaging: avg_j = avg_j + (w_j - z)

The last line is scikit-learn's arithmetic: its average is stored lazily (Bottou's ``(aw +
a w) / b``, ``a / b = 1``), and ``l1penalty`` writes w, so each truncation moves its average by as
much as the coefficient.  (With elastic net's L2 share its weight scale makes that factor differ
from 1 by the accumulated shrinkage ``eta * alpha``; we move the average by the full amount.)
``u`` and ``q`` persist across steps and epochs of one call; each call of ``partial_fit`` starts
them afresh, as scikit-learn's ``_plain_sgd`` does.  Only a step of one rate for every coordinate has an eta:
the fits run this penalty with the ``sgd`` rule (momentum and averaging included), not SAG or the
adaptive rules (``RULES``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._validation import real_scalar, working_scalar
from ..primitives import lane_abs_sum, select
from . import l2

NAME = "elastic_net"
EXAMPLES = ({"l1": 0.05}, {"l1": 0.02, "strength": 0.05})  # for tests/test_units.py
RULES = ("sgd",)  # the update rules of the fits it runs with


class Hyper(NamedTuple):
    NAME = NAME
    strength: np.floating  # the L2 share, as the l2 penalty's
    twice_strength: np.floating
    l1: np.floating
    zero: np.floating


class State(NamedTuple):
    total: np.ndarray  # (1,) u: the L1 penalty every coefficient has had to pay so far
    compensation: np.ndarray  # (1,) what Kahan's sum of u has not yet added
    applied: np.ndarray  # (d,) q: what each has paid


def hyper(dtype: np.dtype, l1: float = 0.0, strength: float = 0.0, name: str = "l1", l2_name: str = "l2") -> Hyper:
    T = np.dtype(dtype).type
    share = l2.hyper(dtype, strength, l2_name)
    l1 = working_scalar(real_scalar(l1, name, low=0.0), name, dtype)
    return Hyper(share.strength, share.twice_strength, l1, T(0))


def state_like(hyper: Hyper, d: int, dtype: np.dtype) -> State:
    return State(np.zeros(1, dtype), np.zeros(1, dtype), np.zeros(d, dtype))


def add_to_loss(loss, w, hyper: Hyper):
    loss = l2.add_to_loss(loss, w, hyper)
    if hyper.l1 != 0:
        return loss + hyper.l1 * lane_abs_sum(w)
    return loss


def add_to_gradient(grad, w, i, hyper: Hyper) -> None:
    l2.add_to_gradient(grad, w, i, hyper)


def accrue(state: State, hyper: Hyper, rate):
    """The new total u, stored and returned (``apply_accrued`` takes it as a value: read from the
    state inside the element loop, it was loaded again after every store to w)."""
    increment = hyper.l1 * rate - state.compensation[0]
    total = state.total[0] + increment
    state.compensation[0] = (total - state.total[0]) - increment
    state.total[0] = total
    return total


def apply_accrued(w, average, averaging, state: State, i, hyper: Hyper, total) -> None:
    u = total
    z = w[i]
    q = state.applied[i]
    down = z - (u + q)
    up = z + (u - q)
    truncated = select(z > hyper.zero, select(down > hyper.zero, down, hyper.zero),
                       select(z < hyper.zero, select(up < hyper.zero, up, hyper.zero), z))  # fmt: skip
    moved = truncated - z  # before w[i] is written: in numpy z is a view of it
    state.applied[i] = q + moved
    if averaging:
        average[i] = average[i] + moved
    w[i] = truncated
