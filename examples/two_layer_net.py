"""A two-layer network in plain numpy, its gradients written by hand, trained with optim.Adam.

    python examples/two_layer_net.py

The network is ``y = tanh(x W1 + b1) W2 + b2`` fitted to a noisy sine by minibatch steps of
``fastdescent.optim.Adam``: the loop, the model and the gradients are the user's; each step is one
native pass per parameter array, torch.optim.Adam's formula, updating the arrays in place.
"""

from __future__ import annotations

import numpy as np

import fastdescent


def forward(params, x):
    W1, b1, W2, b2 = params
    hidden = np.tanh(x @ W1 + b1)
    return hidden, hidden @ W2 + b2


def loss_and_gradients(params, x, y):
    """Mean squared error and its gradient for each parameter (backpropagation by hand)."""
    W1, b1, W2, b2 = params
    hidden, prediction = forward(params, x)
    residual = prediction - y
    loss = float(np.mean(residual**2))
    d_prediction = 2 * residual / len(x)
    d_hidden = (d_prediction @ W2.T) * (1 - hidden**2)
    return loss, [x.T @ d_hidden, d_hidden.sum(axis=0), hidden.T @ d_prediction, d_prediction.sum(axis=0)]


def main(epochs: int = 300, batch_size: int = 32, hidden_units: int = 32, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, size=(1000, 1))
    y = np.sin(2 * x) + 0.1 * rng.normal(size=x.shape)
    params = [rng.normal(scale=1.0, size=(1, hidden_units)), np.zeros(hidden_units),
              rng.normal(scale=1 / np.sqrt(hidden_units), size=(hidden_units, 1)), np.zeros(1)]  # fmt: skip
    opt = fastdescent.optim.Adam(params, lr=1e-2)
    # the rate decays on a plateau by editing the parameter group, as with torch.optim
    best, stale = np.inf, 0
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            rows = order[start : start + batch_size]
            _, grads = loss_and_gradients(params, x[rows], y[rows])
            opt.step(grads)  # params change in place
        loss, _ = loss_and_gradients(params, x, y)
        best, stale = (loss, 0) if loss < best - 1e-4 else (best, stale + 1)
        if stale == 20:
            opt.param_groups[0]["lr"] *= 0.5
            stale = 0
        if epoch % 50 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:4d}  loss {loss:.5f}  lr {opt.param_groups[0]['lr']:.2e}")
    return loss


if __name__ == "__main__":
    final = main()
    print(f"final mean squared error {final:.4f} (the noise alone is 0.0100)")
