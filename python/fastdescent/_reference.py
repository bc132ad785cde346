"""The numpy reference backend: the canonical order of operations, executed in vectorised numpy.

Every floating-point reduction here follows ``docs/reduction-order.md``; the C++ and Numba backends
reproduce it bit for bit.  Nothing here may call ``@``, ``dot``, ``einsum``, ``sum`` or BLAS: their
order depends on the CPU, the thread count and the memory layout.  ``np.add.accumulate`` is used
where a sequential sum is wanted, because each of its outputs is by definition the previous output
plus the next input (the first output is the first input, which equals ``-0.0 + input`` bit for bit).

The backend interface (shared with ``_numba`` and the C++ ``_core``):

- ``loss_grad(X, y, w, b, l2) -> (loss, grad_w, grad_b)`` on all rows in order;
- ``row_sums(X, y, w, b, sample_weight, residual_clip) -> S``, the unscaled canonical sums of all
  rows in order (d + 2 values), a part of a larger sum for chunked data (``fastdescent._chunked``);
- ``run_epochs(...)`` runs whole epochs of a fit on a state it updates in place; see
  ``fastdescent._fit`` for the meaning of each argument.
"""

from __future__ import annotations

import numpy as np

LANE_BYTES = 64
BLOCK_ROWS = 256

STATUS_RAN_ALL = 0
STATUS_CONVERGED = 1
STATUS_DIVERGED = 2
STATUS_INTERRUPTED = 3
STATUS_GRADIENT_SMALL = 4

# A fit whose epoch loss grows past this multiple of its first epoch's loss has diverged: stop it
# before it overflows (documented in fit_linear).
LOSS_GROWTH_LIMIT = 1e10


def lane_count(dtype: np.dtype) -> int:
    return LANE_BYTES // np.dtype(dtype).itemsize


def row_dots(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Canonical dot product of every row of ``X`` (m, d) with ``w`` (d,).

    Lane ``j mod L`` accumulates ``x_j * w_j`` in increasing ``j`` from -0.0; the lanes then combine
    by halving.  The tail (``d mod L`` features) is a masked add into the first lanes.
    """
    m, d = X.shape
    L = lane_count(X.dtype)
    n_chunks = d // L
    full = n_chunks * L
    if n_chunks:
        products = (X[:, :full] * w[:full]).reshape(m, n_chunks, L)
        lanes = np.add.accumulate(products, axis=1)[:, -1, :].copy()
    else:
        lanes = np.full((m, L), -0.0, dtype=X.dtype)
    if d > full:
        lanes[:, : d - full] += X[:, full:] * w[full:]
    while lanes.shape[1] > 1:
        half = lanes.shape[1] // 2
        lanes = lanes[:, :half] + lanes[:, half:]
    return lanes[:, 0]


def pair_tree(partials: np.ndarray) -> np.ndarray:
    """Combine block partials (rows) by the adjacent-pair tree; an odd last one passes up."""
    while partials.shape[0] > 1:
        pairs = partials.shape[0] // 2
        combined = partials[0 : 2 * pairs : 2] + partials[1 : 2 * pairs : 2]
        if partials.shape[0] % 2:
            combined = np.concatenate([combined, partials[-1:]])
        partials = combined
    return partials[0]


def blocked_sum(C: np.ndarray) -> np.ndarray:
    """Canonical sum over the rows of ``C`` (m, k): sequential inside blocks of 256 rows, then the tree."""
    m, k = C.shape
    n_full = m // BLOCK_ROWS
    partials = []
    if n_full:
        blocks = C[: n_full * BLOCK_ROWS].reshape(n_full, BLOCK_ROWS, k)
        partials.append(np.add.accumulate(blocks, axis=1)[:, -1, :])
    if m > n_full * BLOCK_ROWS:
        partials.append(np.add.accumulate(C[n_full * BLOCK_ROWS :], axis=0)[-1:])
    return pair_tree(np.concatenate(partials))


def residuals(X: np.ndarray, y: np.ndarray, w: np.ndarray, b) -> np.ndarray:
    return (row_dots(X, w) + b) - y


def batch_sums(X: np.ndarray, y: np.ndarray, w: np.ndarray, b, weights=None, clip=0):
    """Return ``(S, q)``: S = (sum q_i x_i, sum q_i, sum s_i r_i r_i) in canonical order.

    q_i = s_i * r_i is what the gradient uses (``s_i * clip(r_i)`` with ``clip > 0``: scikit-learn
    bounds the loss derivative); without weights q is the residual itself (the same bits as 1 * r).
    """
    m, d = X.shape
    r = residuals(X, y, w, b)
    loss_q = r if weights is None else weights * r
    q = loss_q
    if clip > 0:
        clipped = np.where(r < -clip, -clip, np.where(r > clip, clip, r))
        q = clipped if weights is None else weights * clipped
    C = np.empty((m, d + 2), dtype=X.dtype)
    C[:, :d] = q[:, None] * X
    C[:, d] = q
    C[:, d + 1] = loss_q * r
    return blocked_sum(C), q


def loss_and_gradient(S: np.ndarray, w: np.ndarray, count, l2):
    """Objective and gradient (w and b stacked, length d+1) from the canonical sums of ``count`` rows."""
    T = w.dtype.type
    d = w.shape[0]
    two = T(2)
    loss = S[d + 1] / count
    grad = np.empty(d + 1, dtype=w.dtype)
    grad[:d] = two * (S[:d] / count)
    grad[d] = two * (S[d] / count)
    if l2 != 0:
        loss = loss + l2 * row_dots(w[None, :], w)[0]
        grad[:d] = grad[:d] + (two * l2) * w
    return T(loss), grad


# Overflow is not an error here: a fit that overflows is reported as diverged, as in the native backends.
_quiet_overflow = np.errstate(over="ignore", invalid="ignore")


@_quiet_overflow
def loss_grad(X, y, w, b, l2, sample_weight, n_threads=1):
    T = X.dtype.type
    S, _ = batch_sums(X, y, w, T(b), sample_weight if sample_weight.shape[0] else None)
    loss, grad = loss_and_gradient(S, w, T(X.shape[0]), T(l2))
    return loss, grad[:-1].copy(), grad[-1]


@_quiet_overflow
def row_sums(X, y, w, b, sample_weight, residual_clip, n_threads=1):
    T = X.dtype.type
    S, _ = batch_sums(X, y, w, T(b), sample_weight if sample_weight.shape[0] else None, T(residual_clip))
    return S


@_quiet_overflow
def run_epochs(
    X, y, sample_weight, theta, velocity, average, sag_memory, sag_seen, sag_sum, counters, loss_state,
    orders, validation_rows, lr, lr_stride, losses, grad_norms, scores, epoch_sums,
    *, n_epochs, batch_size, momentum, nesterov, l2, fit_intercept, average_start, sag, tol, n_iter_no_change,
    clip_norm, adaptive, gtol, growth_limit, validation_scale, residual_clip, n_threads=1, epoch_size=0,
):  # fmt: skip
    """Run up to ``n_epochs`` epochs, updating the state arrays in place; return ``(epochs_run, status)``.

    ``epoch_sums`` (d + 2) holds the running epoch loss, then the sums of the epoch's step gradients.
    With ``epoch_size > 0`` the call is one segment of an epoch of that many rows instead: its batches
    continue the sums in ``epoch_sums``, and the caller ends the epoch (``finish_epoch``); it returns
    ``(0, STATUS_RAN_ALL)`` unless a loss became non-finite.

    See ``fastdescent._fit`` for the meaning of each argument; ``docs/reduction-order.md`` for the order.
    """
    T = X.dtype.type
    n, d = X.shape
    weights = sample_weight if sample_weight.shape[0] else None
    epoch_rows = orders.shape[1]
    segment = epoch_size != 0
    rows_per_epoch = T(epoch_size) if segment else T(epoch_rows)
    step = Step(T, d, momentum, nesterov, l2, fit_intercept, average_start, clip_norm, lr, lr_stride, counters[0])
    residual_clip = T(residual_clip)
    for epoch in range(n_epochs):
        order = orders[epoch % orders.shape[0]] if orders.shape[0] else np.arange(n)
        if not segment:
            epoch_sums[:] = T(-0.0)
        for start in range(0, epoch_rows, batch_size):
            rows = order[start : start + batch_size]
            Xb = X[rows]
            S, q = batch_sums(Xb, y[rows], theta[:d], theta[d], None if weights is None else weights[rows],
                              residual_clip)  # fmt: skip
            sag_direction = None
            if sag:
                def sag_direction(grad, Xb=Xb, q=q, rows=rows):  # the batch's SAG direction
                    return _sag_direction(Xb, q, rows, sag_memory, sag_seen, sag_sum, counters, theta[:d], step.two,
                                          step.two_l2, step.l2)  # fmt: skip
            # With a residual clip (scikit-learn's overflow behaviour) only non-finite weights stop a fit.
            if not step.take(S, T(rows.shape[0]), rows_per_epoch, theta, velocity, average, counters, epoch_sums,
                             stop_on_nonfinite=residual_clip == 0, sag_direction=sag_direction):  # fmt: skip
                losses[epoch] = epoch_sums[0]
                return epoch + 1, STATUS_DIVERGED
        if segment:
            return 0, STATUS_RAN_ALL

        def validation_score():
            if not validation_rows.shape[0]:
                return None
            S, _ = batch_sums(X[validation_rows], y[validation_rows], theta[:d], theta[d],
                              None if weights is None else weights[validation_rows])  # fmt: skip
            return 1.0 - float(S[d + 1] / T(validation_rows.shape[0])) * validation_scale

        steps = -(-epoch_rows // batch_size)
        losses[epoch], grad_norms[epoch], score, status = finish_epoch(
            epoch_sums, steps, theta, step.moving, step.rate, counters, loss_state, validation_score, tol=tol,
            n_iter_no_change=n_iter_no_change, adaptive=adaptive, gtol=gtol, growth_limit=growth_limit,
        )  # fmt: skip
        if score is not None:
            scores[epoch] = score
        if status != STATUS_RAN_ALL:
            return epoch + 1, status
    return n_epochs, STATUS_RAN_ALL


class Step:
    """One step of a fit from the canonical sums of its batch (``docs/reduction-order.md``, section 3),
    shared by the reference's epochs and by the fits on chunked data, whose batch sums come in parts."""

    def __init__(self, T, d, momentum, nesterov, l2, fit_intercept, average_start, clip_norm, lr, lr_stride,
                 first_step):  # fmt: skip
        self.T, self.d = T, d
        self.two = T(2)
        self.momentum, self.l2, self.clip_norm = T(momentum), T(l2), T(clip_norm)
        self.two_l2 = self.two * self.l2
        self.nesterov, self.average_start = nesterov, average_start
        self.moving = d + 1 if fit_intercept else d  # coordinates of theta that move
        self.lr, self.lr_stride, self.first_step = lr, lr_stride, first_step
        self.rate = T(0)

    def take(self, S, count, rows_per_epoch, theta, velocity, average, counters, epoch_sums, *, stop_on_nonfinite,
             sag_direction=None) -> bool:  # fmt: skip
        """Add the batch's share to the epoch loss, step; False (no step) when its loss is not finite."""
        T, d, k = self.T, self.d, self.moving
        loss, grad = loss_and_gradient(S, theta[:d], count, self.l2)
        epoch_sums[0] = epoch_sums[0] + loss * (count / rows_per_epoch)
        if not np.isfinite(loss) and stop_on_nonfinite:
            return False
        if sag_direction is not None:
            grad = sag_direction(grad)
        g = grad[:k]
        epoch_sums[1 : k + 1] = epoch_sums[1 : k + 1] + g
        if self.clip_norm > 0:
            norm = np.sqrt(row_dots(g[None, :], g)[0])
            if norm > self.clip_norm:
                g = g * (self.clip_norm / norm)
        step = counters[0]
        self.rate = step_rate(self.lr[(step - self.first_step) * self.lr_stride], counters[3], T)
        momentum = self.momentum
        if momentum != 0:
            if step == 0:
                velocity[:k] = g
            else:
                velocity[:k] = momentum * velocity[:k] + g
            g = g + momentum * velocity[:k] if self.nesterov else velocity[:k]
        theta[:k] = theta[:k] - self.rate * g
        counters[0] = step + 1
        if self.average_start >= 0 and step + 1 > self.average_start:
            seen = step + 1 - self.average_start
            if seen == 1:
                average[:k] = theta[:k]
            else:
                average[:k] = average[:k] + (theta[:k] - average[:k]) / T(seen)
        return True


def step_rate(rate, divisions, T):
    """The rate of a step after the adaptive schedule divided it by 5 ``divisions`` times."""
    return rate / T(5 ** int(divisions)) if divisions else T(rate)


def finish_epoch(epoch_sums, steps, theta, moving, rate, counters, loss_state, validation_score=None, *, tol,
                 n_iter_no_change, adaptive, gtol, growth_limit):  # fmt: skip
    """End an epoch: ``(loss, grad_norm, validation score or None, status)`` and the stopping rules.

    ``epoch_sums`` holds the epoch loss and the sums of its ``steps`` step gradients; ``rate`` is the
    last step's rate.  ``validation_score()`` (optional) gives the R^2 on held-out rows.
    """
    T = theta.dtype.type
    loss = float(epoch_sums[0])
    if not np.isfinite(theta).all():
        return loss, np.nan, None, STATUS_DIVERGED
    mean_gradient = epoch_sums[1 : moving + 1] / T(steps)
    grad_norm = float(np.sqrt(row_dots(mean_gradient[None, :], mean_gradient)[0]))
    criterion = loss
    score = validation_score() if validation_score is not None else None
    if score is not None:
        criterion = -score
    status = _after_epoch(loss, grad_norm, criterion, float(rate), counters, loss_state, tol, n_iter_no_change,
                          adaptive, gtol, growth_limit)  # fmt: skip
    return loss, grad_norm, score, status


def _after_epoch(epoch_loss, grad_norm, criterion, rate, counters, loss_state, tol, n_iter_no_change, adaptive,
                 gtol, growth_limit):  # fmt: skip
    """The stopping rules, in float64, in this order: growth (divergence), gradient norm, tol.

    tol is scikit-learn's rule on the criterion (the epoch loss, or minus the validation score):
    an epoch improves when it is below best - tol; after n_iter_no_change epochs without, the fit
    has converged, unless ``adaptive`` and the rate is still above 1e-6: then the rate is divided by 5.
    loss_state holds (best criterion, first epoch loss); counters[2] the epochs without improvement,
    counters[3] how often the rate was divided.
    """
    if np.isnan(loss_state[1]):
        loss_state[1] = epoch_loss
    elif loss_state[1] > 0 and epoch_loss > growth_limit * loss_state[1]:
        return STATUS_DIVERGED
    if grad_norm < gtol:
        return STATUS_GRADIENT_SMALL
    if np.isnan(tol):
        return STATUS_RAN_ALL
    if criterion > loss_state[0] - tol:
        counters[2] += 1
    else:
        counters[2] = 0
    if criterion < loss_state[0]:
        loss_state[0] = criterion
    if counters[2] >= n_iter_no_change:
        if adaptive and rate > 1e-6:
            counters[3] += 1
            counters[2] = 0
        else:
            return STATUS_CONVERGED
    return STATUS_RAN_ALL


def _sag_direction(Xb, r, rows, memory, seen, total, counters, w, two, two_l2, l2):
    """Replace the batch's stored (weighted) residuals, update the running sum, return the average gradient."""
    T = Xb.dtype.type
    d = Xb.shape[1]
    index = rows
    # Rows are drawn with replacement, so a batch may hold a row twice.  Row by row, its second
    # occurrence finds the memory already at r (same theta): delta = r - r = +0.0, as here.
    _, first = np.unique(index, return_index=True)
    repeated = np.ones(index.shape[0], dtype=bool)
    repeated[first] = False
    delta = r - memory[index]
    delta[repeated] = r[repeated] - r[repeated]
    memory[index] = r
    counters[1] += int(np.count_nonzero(~seen[index[first]]))
    seen[index] = True
    updates = np.empty((delta.shape[0] + 1, d + 1), dtype=Xb.dtype)
    updates[0] = total
    updates[1:, :d] = delta[:, None] * Xb
    updates[1:, d] = delta
    total[:] = np.add.accumulate(updates, axis=0)[-1]
    n_seen = T(counters[1])
    grad = np.empty(d + 1, dtype=Xb.dtype)
    grad[:d] = two * (total[:d] / n_seen)
    grad[d] = two * (total[d] / n_seen)
    if l2 != 0:
        grad[:d] = grad[:d] + two_l2 * w
    return grad


# -- update rules for user-supplied gradients (fastdescent.optim); element-wise, same order as cpp/steps.hpp


def sgd_step(param, grad, buffer, *, lr, momentum, dampening, weight_decay, nesterov, first_step):
    T = param.dtype.type
    g = grad
    if weight_decay != 0:
        g = g + weight_decay * param
    if momentum != 0:
        if first_step:
            b = g.copy()
        else:
            b = momentum * buffer + ((T(1) - dampening) * g if dampening != 0 else g)
        buffer[...] = b
        g = g + momentum * b if nesterov else b
    param[...] = param - lr * g


def asgd_step(param, grad, average, *, eta, decay, mu, weight_decay):
    g = grad + weight_decay * param if weight_decay != 0 else grad
    p = param * decay
    p = p - eta * g
    param[...] = p
    average[...] = p if mu == 1 else average + (p - average) * mu


def sag_step(param, grad, memory, total, *, lr, seen, weight_decay):
    total[...] = total + (grad - memory)
    memory[...] = grad
    direction = total / seen
    if weight_decay != 0:
        direction = direction + weight_decay * param
    param[...] = param - lr * direction
