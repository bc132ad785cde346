"""Step optimizers: torch's formulas, in place, the same bits on every backend, checkpoints."""

import numpy as np
import pytest
from helpers import assert_same_bits

import fastdescent
from fastdescent import optim, schedules

BACKENDS = fastdescent.available_backends()


def _trajectory(make, dtype, steps=25, seed=0, backend="numpy"):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=5).astype(dtype)]
    grads = [[rng.normal(size=p.shape).astype(dtype) for p in params] for _ in range(steps)]
    opt = make(params, backend)
    history = []
    for k, g in enumerate(grads):
        opt.step(g, k % 7) if isinstance(opt, optim.SAG) else opt.step(g)
        history.append([p.copy() for p in params])
    return opt, params, history


OPTIMIZERS = {
    "sgd": lambda p, b: optim.SGD(p, lr=0.1, backend=b),
    "momentum": lambda p, b: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01, backend=b),
    "nesterov": lambda p, b: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, backend=b),
    "dampening": lambda p, b: optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.3, backend=b),
    "scheduled": lambda p, b: optim.SGD(p, lr=schedules.cosine_decay(0.1, 20, warmup_steps=3), momentum=0.9, backend=b),
    "asgd": lambda p, b: optim.ASGD(p, lr=0.05, lambd=1e-3, alpha=0.75, t0=5, weight_decay=0.01, backend=b),
    "sag": lambda p, b: optim.SAG(p, lr=0.05, n_samples=7, weight_decay=0.01, backend=b),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_backend_steps_the_same_bits(name, dtype):
    runs = {b: _trajectory(OPTIMIZERS[name], dtype, backend=b) for b in BACKENDS}
    reference_history = runs["numpy"][2]
    for _, _, history in runs.values():
        assert len(history) == len(reference_history)
        for step, reference in zip(history, reference_history):
            for a, e in zip(step, reference):
                assert a.dtype == dtype
                assert_same_bits(a, e)


def _torch_trajectory(name, params, grads):
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    make = {
        "sgd": lambda t: torch.optim.SGD(t, lr=0.1),
        "momentum": lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.9, weight_decay=0.01),
        "nesterov": lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.8, nesterov=True),
        "dampening": lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.5, dampening=0.3),
        "asgd": lambda t: torch.optim.ASGD(t, lr=0.05, lambd=1e-3, alpha=0.75, t0=5, weight_decay=0.01),
    }[name]
    opt = make(tensors)
    history = []
    for g in grads:
        for t, gk in zip(tensors, g):
            t.grad = torch.tensor(gk)
        opt.step()
        history.append([t.detach().numpy().copy() for t in tensors])
    return history


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "dampening", "asgd"])
def test_trajectory_matches_torch(name):
    rng = np.random.default_rng(1)
    params = [rng.normal(size=(4, 3)), rng.normal(size=5)]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(40)]
    expected = _torch_trajectory(name, params, grads)
    opt = OPTIMIZERS[name]([p.copy() for p in params], "auto")
    # torch keeps ASGD's eta and mu in float32 tensors even for float64 parameters (torch.as_tensor
    # of a Python float); fastdescent keeps them in float64, so ASGD agrees to float32 precision only.
    rtol, atol = (1e-6, 1e-8) if name == "asgd" else (1e-12, 1e-14)
    for g, reference in zip(grads, expected):
        opt.step(g)
        for p, e in zip(opt.params, reference):
            np.testing.assert_allclose(p, e, rtol=rtol, atol=atol)


def test_updates_in_place_and_checkpoints_resume_exactly():
    opt, params, _ = _trajectory(OPTIMIZERS["momentum"], np.float64, steps=10)
    assert opt.params[0] is params[0]
    saved = opt.state_dict()
    snapshot = [p.copy() for p in params]
    rng = np.random.default_rng(5)
    more = [[rng.normal(size=p.shape) for p in params] for _ in range(5)]
    for g in more:
        opt.step(g)
    after = [p.copy() for p in params]
    restored = optim.SGD([s.copy() for s in snapshot], lr=0.05, momentum=0.9, weight_decay=0.01)
    restored.load_state_dict(saved)
    for g in more:
        restored.step(g)
    for a, b in zip(restored.params, after):
        assert_same_bits(a, b)


def test_asgd_and_sag_checkpoints():
    for name in ("asgd", "sag"):
        opt, params, _ = _trajectory(OPTIMIZERS[name], np.float64, steps=9)
        state = opt.state_dict()
        clone = OPTIMIZERS[name]([p.copy() for p in params], "auto")
        clone.load_state_dict(state)
        g = [np.ones_like(p) for p in params]
        (opt.step(g, 3), clone.step(g, 3)) if name == "sag" else (opt.step(g), clone.step(g))
        for a, b in zip(opt.params, clone.params):
            assert_same_bits(a, b)


def test_sag_steps_along_the_average_of_stored_gradients():
    p = np.zeros(2)
    opt = optim.SAG([p], lr=1.0, n_samples=3)
    opt.step([np.array([3.0, 0.0])], 0)  # average over seen: (3, 0)
    np.testing.assert_array_equal(p, [-3.0, 0.0])
    opt.step([np.array([0.0, 6.0])], 1)  # ((3, 0) + (0, 6)) / 2
    np.testing.assert_array_equal(p, [-4.5, -3.0])
    opt.step([np.array([1.0, 0.0])], 0)  # sample 0 replaced: ((1, 0) + (0, 6)) / 2
    np.testing.assert_array_equal(p, [-5.0, -6.0])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: optim.SGD([np.zeros(2)], lr=0.0), ValueError, "lr"),
        (lambda: optim.SGD([np.zeros(2)], lr=0.1, momentum=1.0), ValueError, "momentum"),
        (lambda: optim.SGD([np.zeros(2)], lr=0.1, nesterov=True), ValueError, "nesterov"),
        (lambda: optim.SGD([np.zeros(2)], lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
        (lambda: optim.SGD([[0.0, 1.0]], lr=0.1), TypeError, "numpy array"),
        (lambda: optim.SGD([np.zeros(2, int)], lr=0.1), TypeError, "float32 or float64"),
        (lambda: optim.SGD([np.zeros((3, 2))[:, 0]], lr=0.1), ValueError, "C-contiguous"),
        (lambda: optim.SGD([], lr=0.1), ValueError, "empty"),
        (lambda: optim.SAG([np.zeros(2)], lr=0.1, n_samples=0), ValueError, "n_samples"),
    ],
)
def test_invalid_optimizers(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_invalid_gradients():
    opt = optim.SGD([np.zeros(2), np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="grads has 1 arrays"):
        opt.step([np.zeros(2)])
    with pytest.raises(ValueError, match=r"grads\[1\] has shape"):
        opt.step([np.zeros(2), np.zeros(4)])
    with pytest.raises(ValueError, match=r"grads\[0\] contains NaN"):
        opt.step([np.array([np.nan, 0.0]), np.zeros(3)])
    sag = optim.SAG([np.zeros(2)], lr=0.1, n_samples=2)
    with pytest.raises(ValueError, match="index"):
        sag.step([np.zeros(2)], 2)
