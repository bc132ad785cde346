"""Step optimizers for a hand-written training loop: ``opt.step(grads)`` updates numpy arrays in place.

The formulas, parameter names and defaults are torch.optim's (``SGD``, ``ASGD``, ``Adam``, ``AdamW``,
``Adagrad``, ``RMSprop``, ``NAdam``; their single-tensor implementation, each written down in its
rule, ``fastdescent._units.rules``, and in ``docs/reduction-order.md``), so for the same gradients
the trajectory follows torch's; SAG keeps one stored gradient per sample.  Each step is one fused
native pass per parameter array, with no temporaries, and gives the same bits on every backend.
``lr`` may be a number or a :mod:`fastdescent.schedules` object (a function of the step count), but
for ``ASGD``, whose rate is torch's formula of ``lr``, ``lambd`` and ``alpha``.

    params = [w, b]
    opt = fastdescent.optim.Adam(params, lr=1e-3)
    for batch in batches:
        opt.step(gradients(params, batch))   # w and b change in place

As in torch, ``params`` may be a list of parameter groups, dicts with ``"params"`` and options of
their own (``[{"params": [w]}, {"params": [b], "lr": 1e-2}]``); ``opt.param_groups`` may be edited
between steps; ``opt.state[w]`` is w's state; ``state_dict()``/``load_state_dict()`` resume exactly.
"""

from __future__ import annotations

import numpy as np

from ._optimizer import Optimizer
from ._units import powers
from ._units.rules import adagrad, adam, asgd, nadam, rmsprop, sag, sgd
from ._validation import integer
from .schedules import Schedule

__all__ = ["ASGD", "SAG", "SGD", "Adagrad", "Adam", "AdamW", "NAdam", "Optimizer", "RMSprop"]


class SGD(Optimizer):
    """torch.optim.SGD, step for step::

        g <- g + weight_decay * p
        b <- g                                   (the first step with momentum)
        b <- momentum * b + (1 - dampening) * g  (later steps with momentum)
        g <- g + momentum * b   if nesterov else   b
        p <- p - lr * g

    ``state[p]`` holds ``momentum_buffer`` (torch's) and the counts ``step`` and ``momentum_steps``
    (torch tells its first momentum step by a buffer that is still None).
    """

    rule = sgd

    def __init__(self, params, lr=1e-3, momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, *, backend: str = "auto"):  # fmt: skip
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov}, backend)  # fmt: skip

    # torch starts the buffer (b <- g) at a parameter's first step *with momentum*, which is not its
    # first step when momentum is turned on between steps (param_groups edited)
    def _new_state(self, param, settings) -> dict:
        return {"step": 0, "momentum_steps": 0}

    def _step_number(self, state) -> int:
        return state["momentum_steps"]

    def _after_step(self, state, settings, rate) -> None:
        if settings.momentum:
            state["momentum_steps"] += 1


    @property
    def buffers(self) -> list[np.ndarray]:
        """The momentum buffers (none without momentum, as in torch's state)."""
        if not any(group["momentum"] for group in self.param_groups):
            return []
        return [self.state[p]["momentum_buffer"] for p in self.params]


class ASGD(Optimizer):
    """torch.optim.ASGD (averaged SGD), step for step, with t the parameter's step number from 1::

        g <- g + weight_decay * p
        p <- p * (1 - lambd * eta);  p <- p - eta * g
        ax <- p  if mu == 1  else  ax + (p - ax) * mu
        eta <- lr / (1 + lambd * lr * t) ** alpha;  mu <- 1 / max(1, t - t0)

    ``averages`` holds ax, the averaged parameters (``state[p]["average"]``; eta starts at lr, mu at 1).
    """

    rule = asgd

    def __init__(self, params, lr=1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0.0, *, backend: str = "auto"):  # fmt: skip
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay},
                         backend)  # fmt: skip

    def rule_settings(self, group: dict):
        if isinstance(group["lr"], Schedule):
            raise TypeError("ASGD computes its own rate from lr, lambd and alpha: give lr as a number")
        return super().rule_settings(group)

    def _new_state(self, param, settings) -> dict:
        group = self.param_groups[-1]
        return {"step": 0, "eta": float(group["lr"]), "mu": 1.0}

    def _table(self, state, settings, dtype):
        return asgd.table_of(state["eta"], 1.0 - settings.lambd * state["eta"], state["mu"], dtype)

    def _after_step(self, state, settings, rate) -> None:
        t = state["step"] + 1
        state["eta"] = rate / (1 + settings.lambd * rate * t) ** settings.alpha
        state["mu"] = 1 / max(1, t - settings.t0)

    @property
    def averages(self) -> list[np.ndarray]:
        """The averaged parameters (torch's ``ax``)."""
        return [self.state[p]["average"] for p in self.params]


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
        self.n_samples = integer(n_samples, "n_samples", low=1)
        self.seen = np.zeros(self.n_samples, dtype=bool)
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay}, backend)


    def _new_state(self, param, settings) -> dict:
        return {"step": 0, "memory": np.zeros((self.n_samples,) + param.shape, dtype=param.dtype)}

    def _table(self, state, settings, dtype):
        return sag.table_of(self._n_seen, dtype)

    @property
    def memory(self) -> list[np.ndarray]:
        return [self.state[p]["memory"] for p in self.params]

    @property
    def totals(self) -> list[np.ndarray]:
        return [self.state[p]["total"] for p in self.params]

    def step(self, grads, index: int) -> None:
        index = integer(index, "index", low=0)
        if index >= self.n_samples:
            raise ValueError(f"index must be below n_samples={self.n_samples}; got {index}")
        grads = self._gradients(grads)
        self._n_seen = int(self.seen.sum()) + (not self.seen[index])  # with this one: what _table reads
        # memory[index, ...]: a view even for a 0-d parameter (memory[index] would be a copied scalar)
        self._step(grads, [sag.State(memory[index, ...], total) for memory, total in zip(self.memory, self.totals)])
        self.seen[index] = True  # after the step: a step refused (a bad group) has not seen it

    def state_dict(self) -> dict:
        return {**super().state_dict(), "seen": self.seen.copy()}

    def load_state_dict(self, state_dict: dict) -> None:
        seen = np.asarray(state_dict.get("seen", self.seen), dtype=bool)
        if seen.shape != self.seen.shape:
            raise ValueError(f"state_dict's 'seen' has shape {seen.shape}; n_samples is {self.n_samples}")
        super().load_state_dict(state_dict)
        self.seen[...] = seen


class Adam(Optimizer):
    """torch.optim.Adam, step for step (t the parameter's step number from 1)::

        g <- g + weight_decay * p                    (p <- p * (1 - lr * weight_decay): decoupled)
        m <- lerp(m, g, 1 - beta1);  v <- v * beta2 + ((1 - beta2) * g) * g
        v <- vmax <- max(vmax, v)                    (amsgrad)
        p <- p - (lr / (1 - beta1 ** t)) * m / (sqrt(v) / sqrt(1 - beta2 ** t) + eps)

    ``state[p]`` holds ``exp_avg``, ``exp_avg_sq`` and ``max_exp_avg_sq`` (amsgrad), as in torch.
    """

    rule = adam

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, maximize: bool = False, decoupled_weight_decay: bool = False,
                 backend: str = "auto"):  # fmt: skip
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay}, backend)  # fmt: skip



class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay, ``p <- p * (1 - lr * weight_decay)``
    before the step (default weight_decay 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, backend: str = "auto"):  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, backend=backend)  # fmt: skip


class Adagrad(Optimizer):
    """torch.optim.Adagrad (dense gradients), step for step (t the parameter's step number from 1)::

        g <- g + weight_decay * p;  s <- s + g * g       (s starts at initial_accumulator_value)
        p <- p - (lr / (1 + (t - 1) * lr_decay)) * g / (sqrt(s) + eps)

    ``state[p]["sum"]`` is s.
    """

    rule = adagrad

    def __init__(self, params, lr=1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False,
                 backend: str = "auto"):  # fmt: skip
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                                  "maximize": maximize}, backend)  # fmt: skip



class RMSprop(Optimizer):
    """torch.optim.RMSprop, step for step::

        g <- g + weight_decay * p;  sq <- sq * alpha + ((1 - alpha) * g) * g
        avg <- sqrt(sq - ga * ga) + eps, ga <- lerp(ga, g, 1 - alpha) first   (centered)
        avg <- sqrt(sq) + eps                                                 (otherwise)
        b <- b * momentum + g / avg;  p <- p - lr * b                         (momentum > 0)
        p <- p - lr * g / avg                                                 (otherwise)

    ``state[p]`` holds ``square_avg``, ``grad_avg`` (centered) and ``momentum_buffer`` (momentum).
    Where rounding leaves ``sq - ga * ga`` negative, the root is 0 (torch's is NaN).
    """

    rule = rmsprop

    def __init__(self, params, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, *, maximize: bool = False,
                 backend: str = "auto"):  # fmt: skip
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize},
                         backend)  # fmt: skip



class NAdam(Optimizer):
    """torch.optim.NAdam, step for step (t the parameter's step number from 1)::

        g <- g + weight_decay * p                    (p <- p * (1 - lr * weight_decay): decoupled)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay));  prod <- prod * mu_t
        m <- lerp(m, g, 1 - beta1);  v <- v * beta2 + ((1 - beta2) * g) * g
        denom = sqrt(v / (1 - beta2 ** t)) + eps
        p <- p - lr (1 - mu_t) / (1 - prod) * g / denom - lr mu_(t+1) / (1 - prod mu_(t+1)) * m / denom

    ``state[p]`` holds ``mu_product`` (a float64 number), ``exp_avg`` and ``exp_avg_sq``.
    """

    rule = nadam

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 backend: str = "auto"):  # fmt: skip
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize}, backend)  # fmt: skip


    def _new_state(self, param, settings) -> dict:
        return {"step": 0, "mu_product": 1.0}

    @staticmethod
    def _momentum(state, settings) -> tuple[float, float, float]:
        """(mu_t, mu_(t+1), prod_t) of the parameter's next step t, in float64 as torch computes them."""
        t = state["step"] + 1
        mu = powers.nadam_momentum(settings.beta1, settings.momentum_decay, t)
        mu_next = powers.nadam_momentum(settings.beta1, settings.momentum_decay, t + 1)
        return mu, mu_next, float(state["mu_product"]) * mu

    def _table(self, state, settings, dtype):
        mu, mu_next, product = self._momentum(state, settings)
        bias_correction2 = powers.one_minus_powers(settings.beta2, state["step"] + 1, 1)
        return nadam.table_of(mu, mu_next, product, bias_correction2, dtype)

    def _after_step(self, state, settings, rate) -> None:
        state["mu_product"] = self._momentum(state, settings)[2]
