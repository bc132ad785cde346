"""``fastdescent.plot.convergence``: loss against epoch for several fits (needs matplotlib)."""

from __future__ import annotations

import numpy as np

__all__ = ["convergence"]


def convergence(results, labels=None, *, ax=None, logy: bool = True, logx: bool = False, title: str | None = None):
    """Draw the ``loss_history`` of each result (FitResult, OptimizeResult, a fitted SGDRegressor
    or a plain sequence of losses) against its epoch (or iteration) and return the Axes.

    ``results`` is a sequence, or a dict whose keys are the labels.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("fastdescent.plot needs matplotlib: pip install 'fastdescent[plot]'") from error
    if isinstance(results, dict):
        labels, results = list(results), list(results.values())
    results = list(results)
    if labels is None:
        labels = [f"run {k + 1}" for k in range(len(results))]
    if len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} results")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", [None])
    for k, (result, label) in enumerate(zip(results, labels)):
        history = _history(result)
        epochs = np.arange(1, history.shape[0] + 1)
        # past the colour cycle, the next lap of colours is dashed (then dotted): no two lines alike
        style = ("-", "--", ":", "-.")[(k // len(colors)) % 4]
        ax.plot(epochs, history, label=str(label), linewidth=1.5, linestyle=style, color=colors[k % len(colors)])
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=2 if len(results) > 6 else 1, fontsize="small" if len(results) > 6 else None)
    if title:
        ax.set_title(title)
    return ax


def _history(result) -> np.ndarray:
    for name in ("loss_history", "loss_history_"):
        history = getattr(result, name, None)
        if history is None and isinstance(result, dict):
            history = result.get(name)
        if history is not None:
            return np.asarray(history, dtype=np.float64)
    history = np.asarray(result, dtype=np.float64)
    if history.ndim != 1:
        raise TypeError(f"cannot find a loss history in {type(result).__name__}")
    return history
