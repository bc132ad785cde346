"""An update rule applied to a user's parameter (``fastdescent.optim``): one compiled pass over it."""

from __future__ import annotations

from .._units import rules
from . import units  # noqa: F401  (the units' compiled definitions)
from .intrinsics import borrowed
from .jit import unaliased_kernel


@unaliased_kernel
def rule_step_kernel(param, grad, state, hyper, step):
    param = borrowed(param)
    grad = borrowed(grad)
    state = borrowed(state)
    step = borrowed(step)
    begun = rules.begin_step(hyper, step.lr, step.t, step.table, 0)
    for i in range(param.shape[0]):
        rules.update(param, grad, state, i, hyper, begun)
