"""``fastdescent.minimize``: gradient descent on any differentiable function, with scipy's conventions.

The objective and its gradient are the user's Python functions, so the loop is Python; each step
is the native update of :mod:`fastdescent.optim` (one fused pass, the same bits on every backend).
Each method is usable through scipy too: ``scipy.optimize.minimize(fun, x0, jac=grad,
method=fastdescent.scipy_method("momentum"), options={...})``.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from . import optim
from ._validation import as_float_array, integer, real_scalar, working_dtype
from .schedules import Schedule

# The adaptive methods: fastdescent.optim's optimizers, their options (torch's names) passed through.
ADAPTIVE = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad, "rmsprop": optim.RMSprop,
            "nadam": optim.NAdam}  # fmt: skip
METHODS = ("sgd", "momentum", "nesterov", "averaged", *ADAPTIVE)

SUCCESS, MAXITER, DIVERGED, CALLBACK = 0, 1, 2, 3
MESSAGES = {
    SUCCESS: "Optimization terminated successfully.",
    MAXITER: "Maximum number of iterations has been exceeded.",
    DIVERGED: "Stopped: the function or its gradient became NaN or infinite; try a smaller lr.",
    CALLBACK: "Stopped by the callback.",
}


def _optimize_result(**fields):
    try:
        from scipy.optimize import OptimizeResult
    except ImportError:  # scipy is optional: a dict with attribute access, as scipy's is
        class OptimizeResult(dict):
            __getattr__ = dict.__getitem__

    return OptimizeResult(**fields)


def minimize(fun, x0, args=(), *, jac=None, method: str = "sgd", lr=None, schedule: Schedule | None = None,
             momentum: float | None = None, t0: int | None = None, maxiter: int = 1000, tol: float | None = None,
             gtol: float = 1e-5, callback=None, backend: str = "auto", **options):  # fmt: skip
    """Minimise ``fun(x, *args)`` from ``x0`` by gradient descent.

    Parameters
    ----------
    jac : callable, True or None
        The gradient ``jac(x, *args)``; True when ``fun`` returns ``(value, gradient)`` (scipy's
        convention); None for forward differences (n extra calls of ``fun`` per step).
    method : {"sgd", "momentum", "nesterov", "averaged", "adam", "adamw", "adagrad", "rmsprop", "nadam"}
        Plain steps ``x <- x - lr g``; heavy-ball or Nesterov momentum (torch.optim.SGD's rule);
        plain steps whose running average (Polyak–Ruppert) is returned: with "averaged" the
        stopping rules look at the average, which costs one more evaluation per step; or one of
        torch.optim's adaptive rules (:mod:`fastdescent.optim`'s ``Adam``, ``AdamW``, ...).
    lr, schedule : float or None, Schedule
        The step size (None: 1e-3, or the adaptive optimizer's default), or a
        :mod:`fastdescent.schedules` object of the step number (overrides lr); "averaged" takes a
        number only (its rate is torch's ASGD formula of lr).
    momentum : float or None
        "momentum" and "nesterov": the momentum (None: 0.9); "rmsprop": its momentum (None: 0).
    t0 : int or None
        "averaged": the average starts after t0 steps (torch's ASGD ``t0``, scikit-learn's
        ``average``).  None: half of ``maxiter``, averaging the second half of the run (tail
        averaging), which leaves a deterministic problem's answer unbiased once the iterates have
        converged; 0 averages every iterate (its early ones bias the answer: on
        ``0.5 x'Ax - c'x``, A = diag(1, 3, 10), 5000 steps of lr = 0.05 leave it 3.6e-3 off).
    **options
        Passed to the optimizer (torch's names): ``betas``, ``eps``, ``weight_decay``, ``amsgrad``,
        ``alpha``, ``centered``, ``lr_decay``, ``momentum_decay``, ... for the adaptive methods;
        ``weight_decay`` and ``dampening`` for the others.
    maxiter, tol, gtol : int, float, float
        At most maxiter steps.  Success when ``||g|| <= gtol``, or when ``|f_k - f_(k-1)| <= tol``
        (if tol is given).
    callback : callable
        ``callback(intermediate_result)`` (an OptimizeResult) if its parameter has that name, else
        ``callback(xk)``; returning True or raising StopIteration stops.

    Returns
    -------
    scipy.optimize.OptimizeResult with ``x, fun, jac, nit, nfev, njev, success, status, message``
    and ``loss_history`` (fun at every iterate).  A run whose value or gradient becomes non-finite
    stops with ``success=False``, status 2 and the last finite point: never NaN coefficients.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable; got {fun!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    dtype = working_dtype(x0, "x0")
    x = as_float_array(np.atleast_1d(x0).reshape(-1), "x0", dtype, ndim=1).copy()
    shape = np.shape(x0)
    maxiter = integer(maxiter, "maxiter", low=0)
    gtol = real_scalar(gtol, "gtol", low=0.0)
    tol = None if tol is None else real_scalar(tol, "tol", low=0.0)
    optimizer = _optimizer(method, x, schedule if schedule is not None else lr, momentum, t0, maxiter, options,
                           backend)  # fmt: skip
    evaluate = _objective(fun, jac, args, shape)
    wants_result = callback is not None and "intermediate_result" in inspect.signature(callback).parameters

    counts = {"nfev": 0, "njev": 0}
    value, grad = evaluate(x, counts)
    history = [value]
    best_x, best_value, best_grad = x.copy(), value, grad
    previous = value
    status, nit = MAXITER, 0
    if not (math.isfinite(value) and _finite_in(grad, x.dtype)):
        status = DIVERGED
    elif _norm(grad) <= gtol:
        status = SUCCESS
    while status == MAXITER and nit < maxiter:
        optimizer.step([grad])
        nit += 1
        value, grad = evaluate(x, counts)
        point, point_value, point_grad = x, value, grad
        if method == "averaged":  # the iterate steps; the answer, and the stopping rules, are the average's
            point = optimizer.averages[0]
            point_value, point_grad = evaluate(point, counts)
        finite = [math.isfinite(value), math.isfinite(point_value), _finite_in(grad, x.dtype), np.isfinite(point).all()]
        if not all(finite):
            status = DIVERGED
            break
        history.append(point_value)
        best_x, best_value, best_grad = point.copy(), point_value, point_grad
        if _norm(point_grad) <= gtol or (tol is not None and abs(previous - point_value) <= tol):
            status = SUCCESS
        elif callback is not None and _stop(callback, wants_result, point.reshape(shape).copy(), point_value, nit):
            status = CALLBACK
        previous = point_value
    return _optimize_result(
        x=best_x.reshape(shape), fun=best_value, jac=best_grad.reshape(shape), nit=nit, nfev=counts["nfev"],
        njev=counts["njev"], success=status == SUCCESS, status=status, message=MESSAGES[status],
        loss_history=np.asarray(history, dtype=np.float64),
    )  # fmt: skip


def _optimizer(method, x, rate, momentum, t0, maxiter, options, backend):
    """The optimizer that steps x for ``method``, its options checked by name."""
    if method in ADAPTIVE:
        cls = ADAPTIVE[method]
        if momentum is not None:
            options = {**options, "momentum": momentum}
    else:
        cls = optim.ASGD if method == "averaged" else optim.SGD
    fixed = {"params", "backend", "lr"} | ({"lambd", "alpha", "t0"} if cls is optim.ASGD else set())
    fixed |= {"momentum", "nesterov"} if cls is optim.SGD else set()
    accepted = set(inspect.signature(cls).parameters) - fixed
    if t0 is not None and method != "averaged":
        raise ValueError(f"t0 applies to method='averaged', not {method!r}")
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"method={method!r} takes no option {unknown}; its options are {sorted(accepted)}")
    if rate is not None:
        options = {**options, "lr": rate}
    if method in ADAPTIVE:
        return cls([x], **options, backend=backend)
    options.setdefault("lr", 1e-3)
    if method == "sgd":
        if momentum is not None:
            raise ValueError("momentum applies to method='momentum', 'nesterov' or 'rmsprop', not 'sgd'")
        return optim.SGD([x], **options, backend=backend)
    if method in ("momentum", "nesterov"):
        mu = 0.9 if momentum is None else momentum
        mu = real_scalar(mu, "momentum", low=0.0, high=1.0, low_open=True, high_open=True)
        return optim.SGD([x], momentum=mu, nesterov=method == "nesterov", **options, backend=backend)
    if isinstance(options["lr"], Schedule):
        raise TypeError("method='averaged' takes lr as a number")
    if momentum is not None:
        raise ValueError("momentum applies to method='momentum', 'nesterov' or 'rmsprop', not 'averaged'")
    start = maxiter // 2 if t0 is None else integer(t0, "t0", low=0)
    return optim.ASGD([x], lambd=0.0, alpha=0.0, t0=float(start), **options, backend=backend)


def _finite_in(gradient, dtype) -> bool:
    """Finite, also once the step converts it to x's dtype (float32 x: a float64 gradient past 3.4e38 is not)."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(gradient.astype(dtype, copy=False)).all())


def _scalar(value, name: str) -> float:
    """fun's value as scipy takes it: a real number, or an array of one."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must return a real number; got {value!r}")
    if array.size != 1:
        raise ValueError(f"{name} must return one number (the objective); got an array of shape {array.shape}")
    return float(array.reshape(()))


def _norm(gradient) -> float:
    with np.errstate(over="ignore"):  # a huge finite gradient has an infinite norm: not below gtol
        return float(np.linalg.norm(gradient))


def _objective(fun, jac, args, shape):
    """(value, gradient) at x, counting calls as scipy does."""

    def value_only(x, counts):
        counts["nfev"] += 1
        return _scalar(fun(x.reshape(shape), *args), "fun")

    def gradient(g, x):
        g = np.asarray(g)
        if g.dtype.kind not in "biuf":
            raise TypeError(f"the gradient must hold real numbers; got dtype {g.dtype}")
        g = g.astype(np.float64, copy=False).reshape(-1)
        if g.shape != x.shape:
            raise ValueError(f"the gradient has {g.size} values but x has {x.size}")
        return g

    if jac is True:

        def evaluate(x, counts):
            counts["nfev"] += 1
            counts["njev"] += 1
            f, g = fun(x.reshape(shape), *args)
            return _scalar(f, "fun"), gradient(g, x)

    elif callable(jac):

        def evaluate(x, counts):
            f = value_only(x, counts)
            counts["njev"] += 1
            return f, gradient(jac(x.reshape(shape), *args), x)

    elif jac is None:

        def evaluate(x, counts):
            f = value_only(x, counts)
            step = math.sqrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(x.astype(np.float64)))
            g = np.empty(x.shape, dtype=np.float64)
            for k in range(x.size):
                shifted = x.astype(np.float64)
                shifted[k] += step[k]
                g[k] = (value_only(shifted, counts) - f) / step[k]
            return f, g

    else:
        raise TypeError(f"jac must be callable, True or None; got {jac!r}")
    return evaluate


def _stop(callback, wants_result, x, value, nit) -> bool:
    try:
        if wants_result:
            return bool(callback(intermediate_result=_optimize_result(x=x, fun=value, nit=nit)))
        return bool(callback(x))
    except StopIteration:
        return True


def scipy_method(name: str):
    """A custom ``method`` for ``scipy.optimize.minimize`` running fastdescent's ``name`` method.

    Options (``options={...}``): ``lr``, ``schedule``, ``momentum``, ``t0``, ``maxiter``, ``gtol``,
    ``backend`` and the optimizer's own (``betas``, ``eps``, ``amsgrad``, ...: see :func:`minimize`);
    scipy's ``tol`` becomes ``tol``.
    """
    if name not in METHODS:
        raise ValueError(f"name must be one of {METHODS}; got {name!r}")

    def method(fun, x0, args=(), jac=None, hess=None, hessp=None, bounds=None, constraints=(), callback=None,
               tol=None, **options):  # fmt: skip
        if bounds is not None or constraints:
            raise ValueError(f"fastdescent's {name!r} method does not support bounds or constraints")
        if callback is not None:  # scipy hands its wrapped callback, which takes the intermediate result
            user = callback

            def callback(intermediate_result):
                return user(intermediate_result)

        return minimize(fun, x0, args, jac=jac if callable(jac) or jac is True else None, method=name,
                        callback=callback, tol=tol, **options)  # fmt: skip

    method.__name__ = f"fastdescent_{name}"
    return method
