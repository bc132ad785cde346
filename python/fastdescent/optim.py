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
from ._validation import FLOAT_DTYPES, check_finite, integer, real_scalar
from .schedules import Schedule

__all__ = ["ASGD", "SAG", "SGD", "Optimizer"]


class Optimizer:
    """The parameters, the backend and the step count shared by every optimizer."""

    def __init__(self, params, lr, backend: str = "auto"):
        self.backend, self._kernels = _backends.resolve(backend)
        if isinstance(params, np.ndarray):
            params = [params]
        self.params = list(params)
        if not self.params:
            raise ValueError("params is empty: give a list of numpy arrays to update in place")
        for k, param in enumerate(self.params):
            name = f"params[{k}]"
            if not isinstance(param, np.ndarray):
                raise TypeError(f"{name} must be a numpy array (updated in place); got {type(param).__name__}")
            if param.dtype not in FLOAT_DTYPES:
                raise TypeError(f"{name} must be float32 or float64; got {param.dtype}")
            if not (param.flags.c_contiguous and param.flags.writeable):
                raise ValueError(f"{name} must be C-contiguous and writeable: it is updated in place")
            if param.size == 0:
                raise ValueError(f"{name} is empty")
            check_finite(param, name)
        if isinstance(lr, Schedule):
            self.lr = lr
        else:
            self.lr = real_scalar(lr, "lr", low=0.0, low_open=True)
        self.step_count = 0

    def _rate(self) -> float:
        return self.lr(self.step_count) if isinstance(self.lr, Schedule) else self.lr

    def _gradients(self, grads) -> list[np.ndarray]:
        """The gradients as C-contiguous arrays of their parameters' dtypes (a copy only if needed)."""
        if isinstance(grads, np.ndarray) and len(self.params) == 1:
            grads = [grads]
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"grads has {len(grads)} arrays for {len(self.params)} parameters")
        checked = []
        for k, (grad, param) in enumerate(zip(grads, self.params)):
            grad = np.asarray(grad)
            if grad.dtype.kind not in "biuf":
                raise TypeError(f"grads[{k}] must hold real numbers; got dtype {grad.dtype}")
            if grad.shape != param.shape:
                raise ValueError(f"grads[{k}] has shape {grad.shape} but params[{k}] has shape {param.shape}")
            grad = np.ascontiguousarray(grad, dtype=param.dtype)
            check_finite(grad, f"grads[{k}]")
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

    def __init__(self, params, lr, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
                 dampening: float = 0.0, *, backend: str = "auto"):  # fmt: skip
        super().__init__(params, lr, backend)
        self.momentum = real_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True)
        self.dampening = real_scalar(dampening, "dampening", low=0.0, high=1.0)
        self.weight_decay = real_scalar(weight_decay, "weight_decay", low=0.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)")
        self.buffers = [np.zeros_like(p) for p in self.params] if self.momentum else []

    def step(self, grads) -> None:
        grads = self._gradients(grads)
        rate = self._rate()
        for k, (param, grad) in enumerate(zip(self.params, grads)):
            T = param.dtype.type
            self._kernels.sgd_step(
                param, grad, self.buffers[k] if self.buffers else param,
                lr=T(rate), momentum=T(self.momentum), dampening=T(self.dampening),
                weight_decay=T(self.weight_decay), nesterov=self.nesterov, first_step=self.step_count == 0,
            )  # fmt: skip
        self.step_count += 1

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

    def __init__(self, params, lr=1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0.0, *, backend: str = "auto"):  # fmt: skip
        super().__init__(params, lr, backend)
        if isinstance(self.lr, Schedule):
            raise TypeError("ASGD computes its own rate from lr, lambd and alpha: give lr as a number")
        self.lambd = real_scalar(lambd, "lambd", low=0.0)
        self.alpha = real_scalar(alpha, "alpha", low=0.0)
        self.t0 = real_scalar(t0, "t0", low=0.0)
        self.weight_decay = real_scalar(weight_decay, "weight_decay", low=0.0)
        self.eta, self.mu = self.lr, 1.0
        self.averages = [np.zeros_like(p) for p in self.params]

    def step(self, grads) -> None:
        grads = self._gradients(grads)
        decay = 1.0 - self.lambd * self.eta
        for param, grad, average in zip(self.params, grads, self.averages):
            T = param.dtype.type
            self._kernels.asgd_step(param, grad, average, eta=T(self.eta), decay=T(decay), mu=T(self.mu),
                                    weight_decay=T(self.weight_decay))  # fmt: skip
        self.step_count += 1
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

    def __init__(self, params, lr, n_samples: int, weight_decay: float = 0.0, *, backend: str = "auto"):
        super().__init__(params, lr, backend)
        self.n_samples = integer(n_samples, "n_samples", low=1)
        self.weight_decay = real_scalar(weight_decay, "weight_decay", low=0.0)
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
        rate = self._rate()
        for param, grad, memory, total in zip(self.params, grads, self.memory, self.totals):
            T = param.dtype.type
            self._kernels.sag_step(param, grad, memory[index], total, lr=T(rate), seen=T(n_seen),
                                   weight_decay=T(self.weight_decay))  # fmt: skip
        self.step_count += 1

    def _state(self) -> dict:
        return {"memory": self.memory, "totals": self.totals, "seen": self.seen}

    def _load(self, state: dict) -> None:
        self._load_arrays(self.memory, state["memory"], "memory")
        self._load_arrays(self.totals, state["totals"], "totals")
        self.seen[...] = np.asarray(state["seen"], dtype=bool)
