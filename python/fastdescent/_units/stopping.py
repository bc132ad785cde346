"""The rules that end a fit after an epoch, in float64, in this order: growth, gradient norm, tol.

- growth: an epoch loss above ``growth_limit`` times the first epoch's (when that was > 0) has
  diverged;
- gtol: the norm of the epoch's mean step gradient below ``gtol`` ends the fit;
- tol (scikit-learn's rule, ``tol`` NaN: off): an epoch improves when its criterion (the epoch
  loss, or minus the validation score) is below ``best - tol``; after ``n_iter_no_change`` epochs
  in a row without, the fit has stalled, and the learning-rate policy (``rate_policy``) decides
  whether that is convergence or a smaller rate.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _status


class Stopping(NamedTuple):
    tol: float  # NaN: no tol rule
    n_iter_no_change: int
    gtol: float  # 0: none
    growth_limit: float  # inf: none


def after_epoch(epoch_loss, grad_norm, criterion, progress, plan: Stopping) -> int:
    p = progress[0]
    if np.isnan(p["first_loss"]):
        p["first_loss"] = epoch_loss
    elif p["first_loss"] > 0 and epoch_loss > plan.growth_limit * p["first_loss"]:
        return _status.DIVERGED
    if grad_norm < plan.gtol:
        return _status.GRADIENT_SMALL
    if np.isnan(plan.tol):
        return _status.RAN_ALL
    if criterion > p["best_criterion"] - plan.tol:
        p["stale_epochs"] += 1
    else:
        p["stale_epochs"] = 0
    if criterion < p["best_criterion"]:
        p["best_criterion"] = criterion
    if p["stale_epochs"] >= plan.n_iter_no_change:
        return _status.STALLED
    return _status.RAN_ALL
