"""A linear model's objective and its gradient, evaluated by one backend."""

from __future__ import annotations

import numpy as np

from . import _backends
from ._chunked import ChunkedData, is_chunked_input
from ._objective_terms import loss_plan
from ._records import Rows
from ._units import losses, penalties
from ._validation import as_data, as_float_array, as_sample_weight, real_scalar, thread_count, working_scalar


def mse_loss_grad(X, y, w, b=0.0, *, l2: float = 0.0, sample_weight=None, n_threads: int | None = None,
                  backend: str = "auto"):
    """Mean squared error of a linear model, and its gradient.

    With residuals ``r = X @ w + b - y`` (n of them)::

        loss   = mean(r**2) + l2 * ||w||**2
        grad_w = 2 * X.T @ r / n + 2 * l2 * w
        grad_b = 2 * mean(r)

    With ``sample_weight`` s, ``r**2`` becomes ``s * r**2`` and ``r`` becomes ``s * r`` in the
    means (still divided by n, the number of rows).

    This is torch's ``MSELoss`` scaling; estimators that follow another convention map onto it
    exactly (multiplying by 2 is exact in floating point).  Every reduction follows the canonical
    order of ``docs/reduction-order.md``, so each backend returns the same bits.

    ``X`` may also be a Dask array or a memory map: the sums over its chunks are joined along the
    same tree (``docs/larger-than-memory.md``), so the bits are those of the in-memory call.

    Returns ``(loss, grad_w, grad_b)`` in the working dtype of ``X`` (float32 stays float32).
    """
    return linear_loss_grad(X, y, w, b, l2=l2, sample_weight=sample_weight, n_threads=n_threads, backend=backend)


def linear_loss_grad(X, y, w, b=0.0, *, loss: str = "squared_error", epsilon: float | None = None, l2: float = 0.0,
                     sample_weight=None, n_threads: int | None = None, backend: str = "auto"):
    """``mse_loss_grad`` for any loss of :func:`fastdescent.fit_linear`: with ``r = X @ w + b - y``,

        loss   = mean(loss(r)) + l2 * ||w||**2
        grad_w = X.T @ loss'(r) / n + 2 * l2 * w
        grad_b = mean(loss'(r))

    ``loss`` "squared_error" (``r**2``: this is ``mse_loss_grad``), "huber", "epsilon_insensitive"
    or "squared_epsilon_insensitive" with ``epsilon`` (default 0.1), scikit-learn's definitions
    (``docs/solvers.md``; a kink's derivative is scikit-learn's: 0 inside an epsilon tube).  With
    ``sample_weight`` s each row's loss and derivative are multiplied by s.  An L1 penalty has no
    gradient; the fits apply it by truncation (``fit_linear(l1=...)``).  The same bits on every
    backend, for Dask arrays and memory maps too.  Returns ``(loss, grad_w, grad_b)``.
    """
    loss_name, loss_params = loss_plan(loss, epsilon)
    _, backend = _backends.resolve(backend)
    if is_chunked_input(X):
        X = ChunkedData.from_arrays(X, y, sample_weight, chunk_rows=None, full_batch=True, n_threads=n_threads,
                                    persist=False)  # one pass: nothing to keep
        dtype, n, d = X.dtype, X.n, X.d
    else:
        X, y = as_data(X, y)
        dtype, (n, d) = X.dtype, X.shape
        weights = as_sample_weight(sample_weight, n, dtype)
    w = as_float_array(w, "w", dtype, ndim=1)
    if w.shape[0] != d:
        raise ValueError(f"w has {w.shape[0]} values but X has {d} features (X shape {(n, d)}, w shape {w.shape})")
    theta = np.append(w, working_scalar(real_scalar(b, "b"), "b", dtype))
    loss, penalty = losses.LOSSES[loss_name].hyper(dtype, **loss_params), penalties.l2.hyper(dtype, l2)
    if isinstance(X, ChunkedData):  # the chunks' sums joined along the tree, then the loss from them
        value, grad = backend.objective_from_sums(X.sums(backend, theta, loss, check=True), theta, n, loss, penalty)
    else:
        value, grad = backend.objective(Rows(X, y, weights), theta, loss, penalty, thread_count(n_threads))
    if not (np.isfinite(value) and np.isfinite(grad).all()):  # finite input, so an overflow: inf, or inf * 0 = NaN
        raise FloatingPointError(
            f"the {loss_name} objective overflowed {dtype} at this w and b (loss {value}): the residuals "
            "X @ w + b - y, or their squares, are too large for it; scale X and y, or start from a smaller w"
        )
    T = dtype.type
    return T(value), grad[:d].copy(), T(grad[d])
