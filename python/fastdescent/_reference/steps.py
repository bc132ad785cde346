"""An update rule applied to a user's parameter (``fastdescent.optim``), on the whole array at once."""

from __future__ import annotations

from .._units import rules


def rule_step(param, grad, state, hyper, step) -> None:
    rules.update(param, grad, state, ..., hyper, rules.begin_step(hyper, step.lr, step.t, step.table, 0))
