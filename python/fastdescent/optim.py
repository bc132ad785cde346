"""Step optimizers for a hand-written training loop: ``opt.step(grads)`` updates numpy arrays in place.

The formulas are torch.optim's (``SGD``, ``ASGD``), documented on each class, so for the same
gradients the trajectory follows torch's; SAG keeps one stored gradient per sample.  Each step is
one fused native pass per parameter array, with no temporaries, and gives the same bits on every
backend.  ``lr`` may be a number or a :mod:`fastdescent.schedules` object (a function of the step).

    params = [w, b]
    opt = fastdescent.optim.SGD(params, lr=0.01, momentum=0.9)
    for batch in batches:
        opt.step(gradients(params, batch))   # w and b change in place
"""

from __future__ import annotations

import copy

import numpy as np

from . import _backends
from ._records import StepInput
from ._units.rules import asgd, sag, sgd
from ._validation import FLOAT_DTYPES, as_array, check_finite, integer, real_scalar, working_scalar
from .schedules import Schedule

__all__ = ["ASGD", "SAG", "SGD", "Optimizer"]


class Optimizer:
    """The parameters, the backend and the step count shared by every optimizer."""

    rule = sgd  # the update rule (``fastdescent._units.rules``) every subclass sets

    def __init__(self, params, lr, backend: str = "auto"):
        self.backend, self._backend = _backends.resolve(backend)
        if isinstance(params, np.ndarray):
            params = [params]
        try:
            self.params = list(params)
        except TypeError:
            raise TypeError(f"params must be a list of numpy arrays to update in place; got {params!r}") from None
        if not self.params:
            raise ValueError("params is empty: give a list of numpy arrays to update in place")
        for k, param in enumerate(self.params):
            name = f"params[{k}]"
            if not isinstance(param, np.ndarray):
                raise TypeError(f"{name} must be a numpy array (updated in place); got {type(param).__name__}")
            if param.dtype not in FLOAT_DTYPES:
                raise TypeError(f"{name} must be float32 or float64; got {param.dtype}")
            if not (param.flags.c_contiguous and param.flags.aligned and param.flags.writeable):
                raise ValueError(f"{name} must be C-contiguous, aligned and writeable: it is updated in place")
            if param.size == 0:
                raise ValueError(f"{name} is empty")
            for j, other in enumerate(self.params[:k]):
                if np.may_share_memory(param, other):
                    raise ValueError(f"{name} overlaps params[{j}]: each parameter is updated in place on its own")
            check_finite(param, name)
        if isinstance(lr, Schedule):
            self.lr = lr
        else:
            self.lr = real_scalar(lr, "lr", low=0.0, low_open=True)
            for param in self.params:  # the rate of every step, in each parameter's dtype
                working_scalar(self.lr, "lr", param.dtype, positive=True)
        self.step_count = 0
        self._hypers: dict = {}

    def _rate(self) -> float:
        return self.lr(self.step_count) if isinstance(self.lr, Schedule) else self.lr

    def _hyper(self, dtype: np.dtype):
        """The rule's hyper-parameters in ``dtype`` (each parameter array steps in its own dtype)."""
        if dtype not in self._hypers:
            self._hypers[dtype] = self.rule.hyper(self._settings, dtype)
        return self._hypers[dtype]

    def _apply(self, grads, states, tables, rate: float = 0.0) -> None:
        """One step of the rule on every parameter: ``states[k]`` is parameter k's rule state,
        ``tables(dtype)`` the step's per-step values (``Table``) in a dtype."""
        for param, grad, state in zip(self.params, grads, states):
            lr = working_scalar(rate, "lr", param.dtype, positive=True)
            step = StepInput(lr, self.step_count, tables(param.dtype))
            self._backend.rule_step(param, grad, state, self._hyper(param.dtype), step)
        self.step_count += 1

    def _gradients(self, grads) -> list[np.ndarray]:
        """The gradients as C-contiguous, aligned arrays of their parameters' dtypes, a copy only if
        needed: a gradient that overlaps a parameter is copied first (the step writes the parameter
        while it reads the gradient; the backends would not agree on what such a step means)."""
        if isinstance(grads, np.ndarray) and len(self.params) == 1:
            grads = [grads]
        if isinstance(grads, (str, bytes, np.ndarray)) or not hasattr(grads, "__iter__"):
            raise TypeError(f"grads must be a list of arrays, one per parameter; got {type(grads).__name__}")
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"grads has {len(grads)} arrays for {len(self.params)} parameters")
        checked = []
        for k, (grad, param) in enumerate(zip(grads, self.params)):
            name = f"grads[{k}]"
            grad = as_array(grad, name)
            if grad.dtype.kind not in "biuf":
                raise TypeError(f"{name} must hold real numbers; got dtype {grad.dtype}")
            if grad.shape != param.shape:
                raise ValueError(f"{name} has shape {grad.shape} but params[{k}] has shape {param.shape}")
            if any(np.may_share_memory(grad, p) for p in self.params):
                grad = grad.copy()
            grad = np.require(grad, dtype=param.dtype, requirements="CA")
            check_finite(grad, name)
            checked.append(grad)
        return checked

    def state_dict(self) -> dict:
        """A deep copy of everything the next step depends on (for checkpoints)."""
        return copy.deepcopy({"step_count": self.step_count, "state": self._state()})

    def load_state_dict(self, state: dict) -> None:
        state = copy.deepcopy(state)
        self.step_count = integer(state["step_count"], "step_count", low=0)
        self._load(state["state"])

    def _state(self) -> dict:
        return {}

    def _load(self, state: dict) -> None:
        pass

    @staticmethod
    def _load_arrays(targets: list[np.ndarray], values, name: str) -> None:
        if len(values) != len(targets):
            raise ValueError(f"state {name} has {len(values)} arrays for {len(targets)} parameters")
        for target, value in zip(targets, values):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"state {name}: shape {value.shape} does not match {target.shape}")
            target[...] = value


class SGD(Optimizer):
    """torch.optim.SGD, step for step::

        g <- g + weight_decay * p
        b <- g                                   (first step)
        b <- momentum * b + (1 - dampening) * g  (later steps)
        g <- g + momentum * b   if nesterov else   b
        p <- p - lr * g
    """

    rule = sgd

    def __init__(self, params, lr, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
                 dampening: float = 0.0, *, backend: str = "auto"):  # fmt: skip
        super().__init__(params, lr, backend)
        self._settings = sgd.settings(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov)  # fmt: skip
        self.momentum, self.dampening, self.weight_decay, self.nesterov = self._settings
        self._states = [sgd.state_like(p) for p in self.params]

    @property
    def buffers(self) -> list[np.ndarray]:
        """The momentum buffers (none without momentum, as in torch's state)."""
        return [state.momentum_buffer for state in self._states] if self.momentum else []

    def step(self, grads) -> None:
        self._apply(self._gradients(grads), self._states, lambda dtype: sgd.Table(), self._rate())

    def _state(self) -> dict:
        return {"momentum_buffers": self.buffers}

    def _load(self, state: dict) -> None:
        self._load_arrays(self.buffers, state["momentum_buffers"], "momentum_buffers")


class ASGD(Optimizer):
    """torch.optim.ASGD (averaged SGD), step for step, with t the step number from 1::

        g <- g + weight_decay * p
        p <- p * (1 - lambd * eta);  p <- p - eta * g
        ax <- p  if mu == 1  else  ax + (p - ax) * mu
        eta <- lr / (1 + lambd * lr * t) ** alpha;  mu <- 1 / max(1, t - t0)

    ``averages`` holds ax, the averaged parameters (eta starts at lr, mu at 1).
    """

    rule = asgd

    def __init__(self, params, lr=1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0.0, *, backend: str = "auto"):  # fmt: skip
        super().__init__(params, lr, backend)
        if isinstance(self.lr, Schedule):
            raise TypeError("ASGD computes its own rate from lr, lambd and alpha: give lr as a number")
        self._settings = asgd.settings(lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay)
        self.lambd, self.alpha, self.t0, self.weight_decay = self._settings
        self.eta, self.mu = self.lr, 1.0
        self._states = [asgd.state_like(p) for p in self.params]

    @property
    def averages(self) -> list[np.ndarray]:
        """The averaged parameters (torch's ``ax``)."""
        return [state.average for state in self._states]

    def step(self, grads) -> None:
        grads = self._gradients(grads)
        eta, decay, mu = self.eta, 1.0 - self.lambd * self.eta, self.mu
        self._apply(grads, self._states, lambda dtype: asgd.table_of(eta, decay, mu, dtype))
        self.eta = self.lr / (1 + self.lambd * self.lr * self.step_count) ** self.alpha
        self.mu = 1 / max(1, self.step_count - self.t0)

    def _state(self) -> dict:
        return {"averages": self.averages, "eta": self.eta, "mu": self.mu}

    def _load(self, state: dict) -> None:
        self._load_arrays(self.averages, state["averages"], "averages")
        self.eta, self.mu = float(state["eta"]), float(state["mu"])


class SAG(Optimizer):
    """Stochastic average gradient for a sum over ``n_samples`` terms.

    ``step(grads, index)`` stores the gradient of sample ``index`` and steps along the average of
    the stored gradients over the samples seen so far::

        total <- total + (g - memory[index]);  memory[index] <- g
        p <- p - lr * (total / seen + weight_decay * p)

    It keeps ``n_samples`` gradients of every parameter array (memory grows with both).
    """

    rule = sag

    def __init__(self, params, lr, n_samples: int, weight_decay: float = 0.0, *, backend: str = "auto"):
        super().__init__(params, lr, backend)
        self.n_samples = integer(n_samples, "n_samples", low=1)
        self._settings = sag.settings(weight_decay=weight_decay)
        self.weight_decay = self._settings.weight_decay
        self.memory = [np.zeros((self.n_samples,) + p.shape, dtype=p.dtype) for p in self.params]
        self.totals = [np.zeros_like(p) for p in self.params]
        self.seen = np.zeros(self.n_samples, dtype=bool)

    def step(self, grads, index: int) -> None:
        index = integer(index, "index", low=0)
        if index >= self.n_samples:
            raise ValueError(f"index must be below n_samples={self.n_samples}; got {index}")
        grads = self._gradients(grads)
        self.seen[index] = True
        n_seen = int(self.seen.sum())
        # memory[index, ...]: a view even for a 0-d parameter (memory[index] would be a copied scalar)
        states = [sag.State(memory[index, ...], total) for memory, total in zip(self.memory, self.totals)]
        self._apply(grads, states, lambda dtype: sag.table_of(n_seen, dtype), self._rate())

    def _state(self) -> dict:
        return {"memory": self.memory, "totals": self.totals, "seen": self.seen}

    def _load(self, state: dict) -> None:
        self._load_arrays(self.memory, state["memory"], "memory")
        self._load_arrays(self.totals, state["totals"], "totals")
        self.seen[...] = np.asarray(state["seen"], dtype=bool)
