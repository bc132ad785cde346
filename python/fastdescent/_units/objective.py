"""A batch's loss and gradient from its canonical sums (section 3.1 of reduction-order.md).

``sums`` holds (sum q x_j for each feature, sum q, sum of the loss terms) over the batch's rows:

    loss   = sums[d + 1] / count                 then the penalty's value
    grad_j = scale * (sums[j] / count)           j = 0..d (the intercept last), then the penalty's
                                                 gradient on the coefficients

``count`` is the batch's row count in T (SAG: the samples seen, over its stored sums).
"""

from __future__ import annotations


def gradient_from_sums(sums, grad, i, count, scale) -> None:
    grad[i] = scale * (sums[i] / count)


def loss_from_sums(sums, d, count):
    return sums[d + 1] / count
