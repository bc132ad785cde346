"""Polyak-Ruppert averaging of the fit's iterates: their running mean after the first t0 steps.

After step t (counted from 1) with t > t0, and k = t - t0 iterates averaged::

    average <- theta                                   (k == 1)
    average <- average + (theta - average) / T(k)      (k > 1)
"""

from __future__ import annotations


def update(theta, average, i, averaged, count) -> None:
    """``averaged`` is k; ``count`` is k rounded once to T."""
    if averaged == 1:
        average[i] = theta[i]
    else:
        average[i] = average[i] + (theta[i] - average[i]) / count
