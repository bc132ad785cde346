"""examples/: they run, and the two-layer network's hand-written gradients are right."""

import importlib.util
import pathlib

import numpy as np

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_layer_net_gradients_match_finite_differences():
    net = _load("two_layer_net")
    rng = np.random.default_rng(1)
    params = [rng.normal(size=(1, 5)), rng.normal(size=5), rng.normal(size=(5, 1)), rng.normal(size=1)]
    x, y = rng.normal(size=(20, 1)), rng.normal(size=(20, 1))
    _, grads = net.loss_and_gradients(params, x, y)
    for param, grad in zip(params, grads):
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + 1e-6
            up = net.loss_and_gradients(params, x, y)[0]
            param[index] = saved - 1e-6
            down = net.loss_and_gradients(params, x, y)[0]
            param[index] = saved
            np.testing.assert_allclose(grad[index], (up - down) / 2e-6, rtol=1e-5, atol=1e-8)


def test_two_layer_net_learns_the_sine(capsys):
    loss = _load("two_layer_net").main(epochs=60)
    assert loss < 0.1  # from 0.44 at the start; the noise alone is 0.01
    assert "epoch" in capsys.readouterr().out
