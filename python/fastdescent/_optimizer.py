"""The base of ``fastdescent.optim``'s optimizers: parameter groups, per-parameter state, checkpoints.

As in torch.optim: ``params`` is a list of arrays or of groups (dicts with ``"params"`` and any of
the optimizer's options, the others taken from its defaults); ``param_groups`` may be edited
between steps (a schedule or a plateau rule changing ``"lr"``, or any other option: the next step
checks and uses the new values); each parameter has its own state, with its own step count.
``state[param]`` is that state (a dict: ``"step"`` and the rule's arrays, by the names of the rule's
``State``).  A step is one native call per parameter array (``_backends.Backend.rule_step``).
"""

from __future__ import annotations

import bisect
import contextlib
import copy
from types import ModuleType

import numpy as np

from . import _backends
from ._records import StepInput
from ._units.rules.adam import beta
from ._validation import (FLOAT_DTYPES, as_array, as_working_array, check_finite, integer, real_scalar, refuse_masked,
                          working_scalar)
from .schedules import Schedule


class ParameterState:
    """Each parameter's state, looked up by the parameter itself (``opt.state[w]``), as in torch."""

    def __init__(self):
        self._by_id: dict[int, tuple[np.ndarray, dict]] = {}

    def __getitem__(self, param: np.ndarray) -> dict:
        try:
            return self._by_id[id(param)][1]
        except KeyError:
            raise KeyError("this array is not a parameter of the optimizer") from None

    def __contains__(self, param) -> bool:
        return id(param) in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def _set(self, param: np.ndarray, state: dict) -> None:
        self._by_id[id(param)] = (param, state)


def _freeze(value):
    return tuple(_freeze(v) for v in value) if isinstance(value, (list, tuple)) else value


class _CheckedGroup:
    """A group's options as they were checked, and what follows from them, kept while they stay:
    the rule's settings, its hyper-parameters and state layout per dtype, the step's rate."""

    def __init__(self, group: dict, settings, hypers: dict):
        # lr is not among the options that call for a new check: a scheduler that edits it every
        # step would otherwise discard the records each time; rate() checks each value it meets.
        self.options = {name: _freeze(value) for name, value in group.items() if name not in ("params", "lr")}
        self.params = list(group["params"])
        self.settings = settings
        self.hypers = hypers  # per dtype
        self.templates: dict = {}
        self.records: dict = {}
        self._rates: dict = {}

    def unchanged(self, group: dict) -> bool:
        params = group["params"]
        if len(group) != len(self.options) + 2 or len(params) != len(self.params):
            return False
        if any(a is not b for a, b in zip(params, self.params)):
            return False
        for name, value in self.options.items():
            current = group.get(name, self)
            if current is not value and _freeze(current) != value:
                return False
        return True

    def rate(self, lr, scheduled: bool, dtype: np.dtype) -> tuple[float, np.floating]:
        """The step's rate, as a float and in a parameter's dtype: ``lr`` is the group's number or its
        schedule's value for the step, checked once per value and dtype (NaN is never cached)."""
        key = (lr, dtype)
        try:
            rate = self._rates.get(key)
        except TypeError:  # not hashable: checked, not cached
            key, rate = None, None
        if rate is None:
            value = float(lr) if scheduled else real_scalar(lr, "lr", low=0.0, low_open=True)
            rate = (value, working_scalar(value, "lr", dtype, positive=True))
            if key is not None:
                if len(self._rates) > 64:  # a schedule, or edits: a new rate every step
                    self._rates.clear()
                self._rates[key] = rate
        return rate


def _betas(betas) -> tuple:
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a pair (beta1, beta2); got {betas!r}") from None
    return beta(beta1, "betas[0]"), beta(beta2, "betas[1]")  # named as the caller wrote them


def _byte_bounds(array: np.ndarray) -> tuple[int, int]:
    if array.size == 0:
        return (0, 0)
    low = high = array.__array_interface__["data"][0]
    for extent, stride in zip(array.shape, array.strides):
        if stride < 0:
            low += (extent - 1) * stride
        else:
            high += (extent - 1) * stride
    return low, high + array.itemsize


def _overlap_test(params: list[np.ndarray]):
    """Whether an array's bytes meet those of any of the parameters (which never meet each other),
    by bisection: one test per gradient instead of one per gradient and parameter (200 parameters of
    10 values: a step 12 -> 3 ms).  Up to 16 parameters, pairwise: numpy's test of two arrays costs
    0.4 us, the byte bounds of one 3 us in Python (the tests of a step's gradients, measured: 4
    parameters 8 us pairwise against 25, 16 about even, 32 250 us against 120)."""
    if len(params) <= 16:
        return lambda array: any(np.may_share_memory(array, param) for param in params)
    bounds = sorted(_byte_bounds(param) for param in params)
    lows = [low for low, _ in bounds]

    def overlapping(array: np.ndarray) -> bool:
        low, high = _byte_bounds(array)
        k = bisect.bisect_left(lows, high) - 1  # the last parameter that starts before the array ends
        return low < high and k >= 0 and bounds[k][1] > low

    return overlapping


class Optimizer:
    """What every optimizer shares; a subclass names its ``rule`` (``fastdescent._units.rules``) and
    its defaults, one per setting of the rule, by the setting's name (``rule_settings``)."""

    rule: ModuleType

    def __init__(self, params, defaults: dict, backend: str = "auto"):
        self.backend, self._backend = _backends.resolve(backend)
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state = ParameterState()
        self.step_count = 0  # calls of step(): a Schedule's lr is evaluated there
        self._checked: list = []  # per group: its _CheckedGroup, None until checked
        if isinstance(params, np.ndarray):
            params = [params]
        if isinstance(params, (dict, str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(f"params must be a list of numpy arrays, or of parameter groups (dicts); got {params!r}")
        params = list(params)
        if not params:
            raise ValueError("params is empty: give a list of numpy arrays to update in place")
        if all(isinstance(p, dict) for p in params):
            for group in params:
                self.add_param_group(group)
        elif any(isinstance(p, dict) for p in params):
            raise TypeError("params must be all arrays or all parameter groups (dicts), not a mixture")
        else:
            self.add_param_group({"params": params})

    # -- what a subclass defines ------------------------------------------------------------------

    def rule_settings(self, group: dict):
        """The rule's ``Settings`` from a group's options, each setting from the option of its name
        (the rule checks each one); torch's ``betas`` are the settings ``beta1`` and ``beta2``."""
        options = dict(group)
        if "betas" in options:
            options["beta1"], options["beta2"] = _betas(options.pop("betas"))
        return self.rule.settings(**{name: options[name] for name in self.rule.Settings._fields})

    def _table(self, state: dict, settings, dtype: np.dtype):
        """The step's per-step values (the rule's ``Table``, one row) for a parameter's state."""
        return self.rule.table(settings, state["step"], 1, dtype)

    def _after_step(self, state: dict, settings, rate: float) -> None:
        """Scalars of a parameter's state that change with each step (besides ``"step"``)."""

    def _new_state(self, param: np.ndarray, settings) -> dict:
        return {"step": 0}

    def _step_number(self, state: dict) -> int:
        """The t of the rule's ``begin_step``: the parameter's steps so far."""
        return state["step"]

    # -- parameter groups -------------------------------------------------------------------------

    @property
    def params(self) -> list[np.ndarray]:
        """Every parameter, in the order of the groups: the order of ``step``'s gradients."""
        return [param for group in self.param_groups for param in group["params"]]

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with options of its own (torch's ``add_param_group``)."""
        k = len(self.param_groups)
        if not isinstance(group, dict):
            raise TypeError(f"param group {k} must be a dict; got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"param group {k} has no 'params': give the arrays it updates")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"param group {k} has option(s) {unknown} that {type(self).__name__} does not take; "
                             f"its options are {sorted(self.defaults)}")  # fmt: skip
        params = group["params"]
        params = [params] if isinstance(params, np.ndarray) else params
        if isinstance(params, (dict, str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(f"param group {k}: params must be a list of numpy arrays; got {params!r}")
        params = list(params)
        if not params:
            raise ValueError(f"param group {k} has no parameters (params is empty)")
        existing = self.params
        for j, param in enumerate(params):
            self._check_param(param, f"params[{len(existing) + j}]", existing + params[:j])
        group = {**self.defaults, **group, "params": params}
        self.param_groups.append(group)
        self._checked.append(None)
        settings = self._group(k).settings
        for param in params:
            state = self._new_state(param, settings)
            for name, array in zip(self.rule.State._fields, self.rule.state_like(settings, param.view(np.ndarray))):
                state.setdefault(name, array)
            self.state._set(param, state)

    @staticmethod
    def _check_param(param, name: str, others: list[np.ndarray]) -> None:
        if not isinstance(param, np.ndarray):
            raise TypeError(f"{name} must be a numpy array (updated in place); got {type(param).__name__}")
        refuse_masked(param, name)
        if param.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name} must be float32 or float64; got {param.dtype}")
        if not (param.flags.c_contiguous and param.flags.aligned and param.flags.writeable):
            raise ValueError(f"{name} must be C-contiguous, aligned and writeable: it is updated in place")
        if param.size == 0:
            raise ValueError(f"{name} is empty")
        for j, other in enumerate(others):
            if np.may_share_memory(param, other):
                raise ValueError(f"{name} overlaps params[{j}]: each parameter is updated in place on its own")
        check_finite(param, name)

    def _group(self, k: int) -> _CheckedGroup:
        """Group k's checked options, checked again whenever one of them (lr aside) has changed."""
        group = self.param_groups[k]
        checked = self._checked[k]
        if checked is not None and checked.unchanged(group):
            return checked
        with self._naming_group(k):
            settings = self.rule_settings(group)
            hypers = {param.dtype: self.rule.hyper(settings, param.dtype) for param in group["params"]}
            checked = _CheckedGroup(group, settings, hypers)
        self._rates_of(checked, k, group)  # lr too, when the group is checked
        self._checked[k] = checked
        return checked

    @contextlib.contextmanager
    def _naming_group(self, k: int):
        try:
            yield
        except (TypeError, ValueError) as error:
            where = f"param_groups[{k}]: " if len(self.param_groups) > 1 else ""
            raise type(error)(f"{where}{error}") from None

    def _rates_of(self, checked: _CheckedGroup, k: int, group: dict) -> dict:
        """The step's rate of each dtype of group k's parameters: (float, in the dtype)."""
        lr = group["lr"]
        scheduled = isinstance(lr, Schedule)
        if scheduled:
            lr = lr(self.step_count)
        with self._naming_group(k):
            return {dtype: checked.rate(lr, scheduled, dtype) for dtype in checked.hypers}

    def _rule_state(self, checked: _CheckedGroup, state: dict, param: np.ndarray):
        """The rule's ``State`` of a parameter: its arrays, an empty one for each array the settings
        do not use, and a new one (filled as ``state_like`` would) for one they now use."""
        record = checked.records.get(id(param))
        if record is not None and all(a.size == 0 or a is state.get(name) for name, a in zip(record._fields, record)):
            return record
        template = checked.templates.get(param.dtype)
        if template is None:
            template = checked.templates[param.dtype] = self.rule.state_like(checked.settings,
                                                                             np.zeros(1, param.dtype))  # fmt: skip
        arrays = []
        for name, start in zip(self.rule.State._fields, template):
            if start.size == 0:
                arrays.append(start)
                continue
            array = state.get(name)
            if array is None or array.shape != param.shape:
                array = state[name] = np.full(param.shape, start[0], param.dtype)
            arrays.append(array)
        record = checked.records[id(param)] = self.rule.State(*arrays)
        return record

    # -- a step -----------------------------------------------------------------------------------

    def step(self, grads) -> None:
        """One step on every parameter, in place: ``grads[k]`` is the gradient of ``params[k]``."""
        self._step(self._gradients(grads))

    def _step(self, grads: list[np.ndarray], rule_states=None) -> None:
        # Every group's options and rate are checked before any parameter moves: a bad one in a
        # later group must not leave the earlier groups stepped.
        checked_groups = [self._group(g) for g in range(len(self.param_groups))]
        rates_of_groups = [self._rates_of(checked, g, group)
                           for g, (checked, group) in enumerate(zip(checked_groups, self.param_groups))]  # fmt: skip
        k = 0
        for group, checked, rates in zip(self.param_groups, checked_groups, rates_of_groups):
            settings, hypers = checked.settings, checked.hypers
            for param in group["params"]:
                state = self.state[param]
                dtype = param.dtype
                rate, working_rate = rates[dtype]
                rule_state = rule_states[k] if rule_states else self._rule_state(checked, state, param)
                step = StepInput(working_rate, self._step_number(state), self._table(state, settings, dtype))
                target = param if type(param) is np.ndarray else param.view(np.ndarray)  # np.matrix, np.memmap
                self._backend.rule_step(target, grads[k], rule_state, hypers[dtype], step)
                self._after_step(state, settings, rate)
                state["step"] += 1
                k += 1
        self.step_count += 1

    def _gradients(self, grads) -> list[np.ndarray]:
        """The gradients as C-contiguous, aligned arrays of their parameters' dtypes, a copy only if
        needed: a gradient that overlaps a parameter is copied first (the step writes the parameter
        while it reads the gradient; the backends would not agree on what such a step means)."""
        params = self.params
        if isinstance(grads, np.ndarray) and len(params) == 1:
            grads = [grads]
        if isinstance(grads, (str, bytes, np.ndarray, dict)) or not hasattr(grads, "__iter__"):
            raise TypeError(f"grads must be a list of arrays, one per parameter; got {type(grads).__name__}")
        grads = list(grads)
        if len(grads) != len(params):
            raise ValueError(f"grads has {len(grads)} arrays for {len(params)} parameters")
        overlapping = _overlap_test(params)
        checked = []
        for k, (grad, param) in enumerate(zip(grads, params)):
            name = f"grads[{k}]"
            grad = as_array(grad, name)
            if grad.dtype.kind not in "biuf":
                raise TypeError(f"{name} must hold real numbers; got dtype {grad.dtype}")
            if grad.shape != param.shape:
                raise ValueError(f"{name} has shape {grad.shape} but params[{k}] has shape {param.shape}")
            if overlapping(grad):
                grad = grad.copy()
            grad = as_working_array(grad, name, param.dtype)
            checked.append(grad)
        return checked

    # -- checkpoints ------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """A deep copy of everything the next step depends on, torch's layout: ``"state"`` maps each
        parameter's index (in ``params`` order) to its state, ``"param_groups"`` holds each group's
        options with its parameters' indices."""
        index = {id(param): k for k, param in enumerate(self.params)}
        groups = [{**{k: v for k, v in group.items() if k != "params"},
                   "params": [index[id(p)] for p in group["params"]]} for group in self.param_groups]  # fmt: skip
        state = {index[id(param)]: self.state[param] for param in self.params}
        return copy.deepcopy({"optimizer": type(self).__name__, "step_count": self.step_count, "state": state,
                              "param_groups": groups})  # fmt: skip

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume from ``state_dict()``: the same optimizer with groups of the same sizes and
        parameters of the same shapes; the options and every state array are copied in."""
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError("state_dict must be a dict from Optimizer.state_dict() ('state', 'param_groups')")
        name = state_dict.get("optimizer", type(self).__name__)
        if name != type(self).__name__:
            raise ValueError(f"state_dict holds the state of optimizer {name}, not {type(self).__name__}")
        saved = copy.deepcopy(state_dict)
        groups = saved["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(groups)} parameter groups; this optimizer has "
                             f"{len(self.param_groups)}")  # fmt: skip
        for k, (group, mine) in enumerate(zip(groups, self.param_groups)):
            if len(group["params"]) != len(mine["params"]):
                raise ValueError(f"state_dict's parameter group {k} has {len(group['params'])} parameters; this "
                                 f"optimizer's has {len(mine['params'])}")  # fmt: skip
        params = self.params
        states = saved["state"]
        for k, param in enumerate(params):
            if k not in states:
                raise ValueError(f"state_dict has no state for parameter {k}")
            mine = self.state[param]
            unknown = set(states[k]) - set(mine)
            if unknown:
                raise ValueError(f"state_dict's state of parameter {k} has {sorted(unknown)}, which "
                                 f"{type(self).__name__} does not keep")  # fmt: skip
            for key, value in states[k].items():
                if not isinstance(value, np.ndarray) or value.size == 0:
                    continue
                current = mine.get(key)
                shape = current.shape if isinstance(current, np.ndarray) and current.size else param.shape
                if value.shape != shape:
                    raise ValueError(f"state_dict's {key!r} of parameter {k} has shape {value.shape}; this "
                                     f"optimizer's has shape {shape}")  # fmt: skip
                check_finite(value, f"state_dict's {key!r} of parameter {k}")
        previous = [dict(group) for group in self.param_groups], list(self._checked)
        for group, mine in zip(groups, self.param_groups):
            mine.update({key: value for key, value in group.items() if key != "params"})
        self._checked = [None] * len(self.param_groups)  # the records too: the arrays are new
        try:
            for k in range(len(self.param_groups)):
                self._group(k)
        except (TypeError, ValueError):
            for mine, before in zip(self.param_groups, previous[0]):
                mine.clear()
                mine.update(before)
            self._checked = previous[1]
            raise
        for k, param in enumerate(params):
            state = self.state[param]
            for key, value in states[k].items():
                if isinstance(state.get(key), int):  # a count ("step", SGD's "momentum_steps") stays one
                    state[key] = integer(value, key, low=0)
                elif isinstance(value, np.ndarray):
                    state[key] = np.require(value.astype(param.dtype), requirements="CA")
                else:
                    state[key] = value
        self.step_count = integer(saved.get("step_count", 0), "step_count", low=0)
