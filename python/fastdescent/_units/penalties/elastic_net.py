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
    averaging: avg_j = avg_j + (w_j - z) * share

The last line is scikit-learn's arithmetic: its average is stored lazily (Bottou's ``(aw + a w) /
b``), and ``l1penalty`` writes w without telling ``aw``, so each truncation moves the average by
``a / b`` times the coefficient's move in its scaled units.  ``a / b`` is ``S / count`` (``S``: the
sum of the weight scales of the averaged steps since the call began, ``count``: the averaged
steps so far), and the weight scale ``s`` (the product of the L2 share's shrinkage ``1 - 2 *
strength * eta`` since the call began, back to 1 when it falls below 1e-9, as scikit-learn's
``reset_wscale``) turns the move into coefficient units: ``share = S / (count * s)``.  So, after
each step ``accrue`` also updates ``s = s * (1 - twice_strength * eta)`` (``s < 1e-9``: ``s = 1``,
``S = 0``) and, averaging, ``S = S + s``, and returns ``Accrued(total, share)``; the average moves by
``moved * share``.  With no L2 share in one call, ``share`` is ``count / count``, 1 exactly.
``u``, ``q``, ``s`` and ``S`` persist across steps and epochs of one call; each call of ``fit`` and
``partial_fit`` starts them afresh, as scikit-learn's ``_plain_sgd`` does.  Only a step of one rate for every coordinate has an eta:
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
    scale: np.ndarray  # (1,) s: scikit-learn's weight scale, the L2 share's shrinkage since the call began
    scale_sum: np.ndarray  # (1,) S: the sum of s over the averaged steps since the call began (or s's reset)


class Accrued(NamedTuple):
    total: np.floating  # u after this step
    average_share: np.floating  # what part of a coefficient's truncation moves its average


# scikit-learn's WeightVector folds its scale into the coefficients below this.
SCALE_FLOOR = 1e-9


def hyper(dtype: np.dtype, l1: float = 0.0, strength: float = 0.0, name: str = "l1", l2_name: str = "l2") -> Hyper:
    T = np.dtype(dtype).type
    share = l2.hyper(dtype, strength, l2_name)
    l1 = working_scalar(real_scalar(l1, name, low=0.0), name, dtype)
    return Hyper(share.strength, share.twice_strength, l1, T(0))


def state_like(hyper: Hyper, d: int, dtype: np.dtype) -> State:
    return State(np.zeros(1, dtype), np.zeros(1, dtype), np.zeros(d, dtype), np.ones(1, dtype), np.zeros(1, dtype))


def add_to_loss(loss, w, hyper: Hyper):
    loss = l2.add_to_loss(loss, w, hyper)
    if hyper.l1 != 0:
        return loss + hyper.l1 * lane_abs_sum(w)
    return loss


def add_to_gradient(grad, w, i, hyper: Hyper) -> None:
    l2.add_to_gradient(grad, w, i, hyper)


def accrue(state: State, hyper: Hyper, rate, averaged_count) -> Accrued:
    """The new total u and the average's share of a truncation (``averaged_count``: the averaged
    steps so far, this one included; 0 before averaging), stored and returned (``apply_accrued``
    takes them as values: read from the state inside the element loop, they were loaded again
    after every store to w)."""
    T = type(hyper.zero)
    increment = hyper.l1 * rate - state.compensation[0]
    total = state.total[0] + increment
    state.compensation[0] = (total - state.total[0]) - increment
    state.total[0] = total
    scale = state.scale[0] * (T(1) - hyper.twice_strength * rate)
    scale_sum = state.scale_sum[0]
    if scale < T(SCALE_FLOOR):
        scale = T(1)
        scale_sum = T(0)
    share = T(0)
    if averaged_count > T(0):
        scale_sum = scale_sum + scale
        share = scale_sum / (averaged_count * scale)
    state.scale[0] = scale
    state.scale_sum[0] = scale_sum
    return Accrued(total, share)


def apply_accrued(w, average, averaging, state: State, i, hyper: Hyper, accrued: Accrued) -> None:
    u = accrued.total
    z = w[i]
    q = state.applied[i]
    down = z - (u + q)
    up = z + (u - q)
    truncated = select(z > hyper.zero, select(down > hyper.zero, down, hyper.zero),
                       select(z < hyper.zero, select(up < hyper.zero, up, hyper.zero), z))  # fmt: skip
    moved = truncated - z  # before w[i] is written: in numpy z is a view of it
    state.applied[i] = q + moved
    if averaging:
        average[i] = average[i] + moved * accrued.average_share
    w[i] = truncated
