"""A fit's state (``_records.FitState``) from its start to its answer."""

from __future__ import annotations

import numpy as np

from ._records import FitState, SagMemory, new_progress
from ._units import penalties, rules


def new_state(theta: np.ndarray, n_samples: int, plan) -> FitState:
    """The state of a fit starting at ``theta`` on ``n_samples`` rows (``plan``: a ``_plan.Plan``)."""
    d = theta.shape[0] - 1
    return FitState(
        theta=theta,
        rule=plan.rule.state_like(plan.rule_settings, theta),
        penalty=penalties.state_like(plan.kernel.penalty, d, theta.dtype),
        average=np.zeros_like(theta),
        sag=new_sag_memory(n_samples if plan.sag else 0, d if plan.sag else -1, theta.dtype),
        progress=new_progress(),
        epoch_sums=np.full(d + 2, -0.0, dtype=theta.dtype),
    )


def new_sag_memory(n_samples: int, d: int, dtype) -> SagMemory:
    """SAG's memory of n samples (none: n = 0, d = -1), started afresh: nothing seen."""
    return SagMemory(np.zeros(n_samples, dtype=dtype), np.zeros(n_samples, dtype=np.bool_),
                     np.full(d + 1, -0.0, dtype=dtype))  # fmt: skip


def continued_state(state: FitState, n_samples: int, plan, new_samples: bool) -> FitState:
    """The state a new call (partial_fit) goes on from, fitted to its plan, which may differ from
    the last call's (set_params): the rule's arrays are kept where their shapes are the same, and
    started as ``state_like`` starts them where an option now uses one (amsgrad, centered); SAG's
    memory starts afresh when the rows are new samples (or SAG is new), and is dropped without
    SAG.  The average and the step count go on (so another rule cannot: its step count would not
    be its own); the L1 totals and the tol rule start afresh, as scikit-learn's _plain_sgd."""
    theta = state.theta
    d = theta.shape[0] - 1
    fresh = plan.rule.state_like(plan.rule_settings, theta)
    if type(state.rule) is not type(fresh):
        before = next(name for name, rule in rules.RULES.items() if isinstance(state.rule, rule.State))
        raise ValueError(f"the solver changed since the last call (from the rule {before!r} to {plan.rule.NAME!r}): "
                         "its state cannot go on; call fit to start afresh")  # fmt: skip
    rule = type(fresh)(*(old if old.shape == new.shape else new for old, new in zip(state.rule, fresh)))
    sag = state.sag
    if not plan.sag:
        sag = new_sag_memory(0, -1, theta.dtype)
    elif new_samples or sag.residuals.shape[0] != n_samples:
        sag = new_sag_memory(n_samples, d, theta.dtype)
        state.progress[0]["samples_seen"] = 0  # the count its average divides by
    continued = state._replace(rule=rule, sag=sag, penalty=penalties.state_like(plan.kernel.penalty, d, theta.dtype))
    restart_tol(continued)
    return continued


def restart_tol(state: FitState) -> None:
    """A new call to fit (partial_fit) starts the tol rule afresh, as scikit-learn does."""
    progress = state.progress[0]
    progress["stale_epochs"] = 0
    progress["best_criterion"] = np.inf
    progress["first_loss"] = np.nan


def steps_taken(state: FitState) -> int:
    return int(state.progress[0]["steps"])


def solution(state: FitState, average_start: int, fit_intercept: bool) -> tuple[np.ndarray, np.generic]:
    """Coefficients and intercept: the average once averaging has begun, else the iterate."""
    d = state.theta.shape[0] - 1
    averaged = average_start >= 0 and steps_taken(state) > average_start
    source = state.average if averaged else state.theta
    intercept = source[d] if fit_intercept else state.theta[d]
    return source[:d].copy(), state.theta.dtype.type(intercept)
