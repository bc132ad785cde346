"""The numpy reference executes the documented order: checked against a plain scalar loop.

The loop below is written from docs/reduction-order.md alone, one numpy scalar operation at a time
(each one correctly rounded in the working dtype), with the pair tree built level by level.
"""

import numpy as np
import pytest
from hypothesis import given
from helpers import assert_same_bits, problems

import fastdescent


def scalar_dot(a, b, T):
    L = 64 // np.dtype(T).itemsize
    lanes = [T(-0.0)] * L
    for j in range(len(a)):
        lanes[j % L] = lanes[j % L] + a[j] * b[j]
    while len(lanes) > 1:
        half = len(lanes) // 2
        lanes = [lanes[k] + lanes[k + half] for k in range(half)]
    return lanes[0]


def scalar_sums(X, y, w, b, T):
    n, d = X.shape
    partials = []
    for start in range(0, n, 256):
        acc = [T(-0.0)] * (d + 2)
        for i in range(start, min(n, start + 256)):
            r = (scalar_dot(X[i], w, T) + b) - y[i]
            for j in range(d):
                acc[j] = acc[j] + r * X[i, j]
            acc[d] = acc[d] + r
            acc[d + 1] = acc[d + 1] + r * r
        partials.append(acc)
    while len(partials) > 1:
        paired = [[u + v for u, v in zip(partials[k], partials[k + 1])] for k in range(0, len(partials) - 1, 2)]
        if len(partials) % 2:
            paired.append(partials[-1])
        partials = paired
    return partials[0]


@pytest.mark.slow
@given(problem=problems(max_n=700, max_d=40))
def test_reference_matches_scalar_loop(problem):
    X, y, w = problem
    T = X.dtype.type
    n, d = X.shape
    b, l2 = T(0.75), T(0.125)
    with np.errstate(over="ignore", invalid="ignore"):
        S = scalar_sums(X, y, w, b, T)
        count, two = T(n), T(2)
        loss = S[d + 1] / count + l2 * scalar_dot(w, w, T)
        grad_w = np.array([two * (S[j] / count) + (two * l2) * w[j] for j in range(d)], dtype=X.dtype)
        grad_b = two * (S[d] / count)
    actual = fastdescent.mse_loss_grad(X, y, w, b, l2=l2, backend="numpy")
    assert_same_bits(actual[0], T(loss), "loss")
    assert_same_bits(actual[1], grad_w, "grad_w")
    assert_same_bits(actual[2], T(grad_b), "grad_b")
