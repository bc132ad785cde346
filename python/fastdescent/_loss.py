"""The least-squares objective, evaluated by one backend."""

from __future__ import annotations

import numpy as np

from . import _backends
from ._chunked import ChunkedData, is_chunked_input
from ._fit import as_sample_weight
from ._reference import loss_and_gradient
from ._validation import as_data, as_float_array, real_scalar, thread_count


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
    name, module = _backends.resolve(backend)
    if is_chunked_input(X):
        return _chunked_loss_grad(module, X, y, w, b, l2, sample_weight, n_threads)
    X, y = as_data(X, y)
    T = X.dtype.type
    w = as_float_array(w, "w", X.dtype, ndim=1)
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"w has {w.shape[0]} values but X has {X.shape[1]} features (X shape {X.shape})")
    b = real_scalar(b, "b")
    l2 = real_scalar(l2, "l2", low=0.0)
    weights = as_sample_weight(sample_weight, X.shape[0], X.dtype)
    loss, grad_w, grad_b = module.loss_grad(X, y, w, T(b), T(l2), weights, thread_count(n_threads))
    return T(loss), np.asarray(grad_w, dtype=X.dtype), T(grad_b)


def _chunked_loss_grad(module, X, y, w, b, l2, sample_weight, n_threads):
    data = ChunkedData.from_arrays(X, y, sample_weight, chunk_rows=None, full_batch=True, n_threads=n_threads,
                                   persist=False)  # one pass: nothing to keep
    T = data.dtype.type
    w = as_float_array(w, "w", data.dtype, ndim=1)
    if w.shape[0] != data.d:
        raise ValueError(f"w has {w.shape[0]} values but X has {data.d} features (X shape {(data.n, data.d)})")
    b = real_scalar(b, "b")
    l2 = real_scalar(l2, "l2", low=0.0)
    theta = np.append(w, T(b))
    S = data.sums(module, theta, T(0), check=True)
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grad = loss_and_gradient(S, w, T(data.n), T(l2))
    return T(loss), grad[:-1].copy(), T(grad[-1])
