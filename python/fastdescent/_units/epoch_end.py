"""The end of an epoch whose weights are finite: the gradient norm, the validation score, and the
stopping rules with the learning-rate policy (section 3 of reduction-order.md).

``epoch_sums`` holds the epoch loss, then the sums of the epoch's ``steps`` step gradients (the
moving coordinates: the coefficients, and the intercept if it is fitted).
"""

from __future__ import annotations

import numpy as np

from .. import _status
from . import rate_policy, stopping
from .primitives import lane_dot


def validation_score(validation_loss, validation_scale):
    """R^2 as scikit-learn's ``r2_score`` gives it: ``1 - loss * scale``; targets that do not vary
    (scale inf) score 1 if predicted exactly, else 0; one row (scale NaN) scores NaN, which never
    improves and never stalls."""
    if validation_scale == np.inf:
        return 1.0 if validation_loss == 0 else 0.0
    return 1.0 - validation_loss * validation_scale


def end_epoch(epoch_sums, steps, moving, last_rate, has_validation, validation_loss, validation_scale, progress,
              plan_stopping, plan_rate_policy):  # fmt: skip
    """``(grad_norm, score, status)``; score is NaN without validation rows."""
    T = epoch_sums.dtype.type
    mean_gradient = epoch_sums[1 : moving + 1] / T(steps)
    grad_norm = np.float64(np.sqrt(lane_dot(mean_gradient, mean_gradient)))
    epoch_loss = np.float64(epoch_sums[0])
    score = np.nan
    criterion = epoch_loss
    if has_validation:
        score = validation_score(np.float64(validation_loss), validation_scale)
        criterion = -score
    status = stopping.after_epoch(epoch_loss, grad_norm, criterion, progress, plan_stopping)
    if status == _status.STALLED:
        status = rate_policy.on_stall(np.float64(last_rate), progress, plan_rate_policy)
    return grad_norm, score, status
