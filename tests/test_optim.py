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
    "adam": lambda p, b: optim.Adam(p, lr=0.05, weight_decay=0.01, backend=b),
    "amsgrad": lambda p, b: optim.Adam(p, lr=schedules.cosine_decay(0.1, 20), betas=(0.3, 0.9), amsgrad=True, backend=b),
    "adamw": lambda p, b: optim.AdamW(p, lr=0.05, weight_decay=0.1, backend=b),
    "adagrad": lambda p, b: optim.Adagrad(p, lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1, backend=b),
    "rmsprop": lambda p, b: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5, weight_decay=0.01, backend=b),
    "nadam": lambda p, b: optim.NAdam(p, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, backend=b),
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


# -- the adaptive rules against torch.optim -------------------------------------------------------

# (fastdescent's class, torch's class name, options), a grid of each method's options; torch's names.
TORCH_GRID = [
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.9), "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-6}),
    ("RMSprop", {"lr": 1e-3}),
    ("RMSprop", {"lr": 1e-3, "centered": True}),
    ("RMSprop", {"lr": 1e-3, "momentum": 0.9, "alpha": 0.9, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 1e-3, "centered": True, "momentum": 0.5, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.01, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "betas": (0.3, 0.9), "maximize": True}),
]

SCALES = np.linspace(0.5, 3.0, 12).reshape(4, 3)


def _gradient(p, k, maximize=False):
    """A quadratic bowl's gradient plus a deterministic wobble of the step k: the same function of
    the parameters on both sides, so the trajectories differ only by the updates' rounding."""
    g = [SCALES * (p[0] - 1.0) + 0.1 * np.sin(k + SCALES), 2.0 * p[1] + 0.05 * np.cos(k + np.arange(5.0))]
    return [-x for x in g] if maximize else g


def _run_torch(name, options, start, steps, dtype):
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    # torch keeps its per-step scalars (NAdam's mu_product) in the default dtype: float64 here, as
    # fastdescent computes them.
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        tensors = [torch.tensor(p.copy()) for p in start]
        opt = getattr(torch.optim, name)(tensors, **options)
        history = []
        for k in range(steps):
            grads = _gradient([t.detach().numpy().astype(np.float64) for t in tensors], k, options.get("maximize"))
            for t, g in zip(tensors, grads):
                t.grad = torch.tensor(g.astype(dtype))
            opt.step()
            history.append([t.detach().numpy().copy() for t in tensors])
        return history
    finally:
        torch.set_default_dtype(previous)


def _run_ours(name, options, start, steps, dtype, backend="auto"):
    params = [p.copy() for p in start]
    opt = getattr(optim, name)(params, **options, backend=backend)
    history = []
    for k in range(steps):
        opt.step([g.astype(dtype) for g in _gradient([p.astype(np.float64) for p in params], k, options.get("maximize"))])
        history.append([p.copy() for p in params])
    return history


@pytest.mark.parametrize(("name", "options"), TORCH_GRID, ids=[f"{n}-{k}" for k, (n, _) in enumerate(TORCH_GRID)])
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-5)], ids=["float64", "float32"])
def test_adaptive_trajectories_match_torch_for_1000_steps(name, options, dtype, rtol):
    start = [np.full((4, 3), 3.0, dtype), np.linspace(-2, 2, 5).astype(dtype)]
    expected = _run_torch(name, options, start, 1000, dtype)
    got = _run_ours(name, options, start, 1000, dtype)
    for k, (ours, theirs) in enumerate(zip(got, expected)):
        for p, e in zip(ours, theirs):
            assert p.dtype == dtype
            scale = np.linalg.norm(e.astype(np.float64))
            assert np.linalg.norm(p.astype(np.float64) - e) <= rtol * scale, f"step {k}: {name} {options}"


def test_param_groups_and_their_edits_follow_torch():
    """Two groups with options of their own, and a rate and betas changed between steps."""
    torch = pytest.importorskip("torch")
    start = [np.full((4, 3), 3.0), np.linspace(-2, 2, 5)]
    params = [p.copy() for p in start]
    tensors = [torch.tensor(p.copy()) for p in start]
    ours = optim.Adam([{"params": [params[0]]}, {"params": params[1], "lr": 0.05, "amsgrad": True}], lr=0.01)
    theirs = torch.optim.Adam([{"params": [tensors[0]]}, {"params": [tensors[1]], "lr": 0.05, "amsgrad": True}],
                              lr=0.01)  # fmt: skip
    for k in range(300):
        if k == 100:
            for opt in (ours, theirs):
                opt.param_groups[0]["lr"] = 0.002
                opt.param_groups[1]["betas"] = (0.5, 0.99)
        for t, g in zip(tensors, _gradient([t.detach().numpy() for t in tensors], k)):
            t.grad = torch.tensor(g)
        theirs.step()
        ours.step(_gradient(params, k))
        for p, t in zip(params, tensors):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert ours.state[params[1]]["step"] == 300
    assert ours.state[params[1]]["max_exp_avg_sq"].shape == (5,)


@pytest.mark.parametrize("name", ["adam", "amsgrad", "adamw", "adagrad", "rmsprop", "nadam", "asgd", "sag"])
def test_every_optimizer_resumes_from_its_state_dict_exactly(name):
    opt, params, _ = _trajectory(OPTIMIZERS[name], np.float64, steps=10)
    saved = opt.state_dict()
    clone = OPTIMIZERS[name]([p.copy() for p in params], "auto")
    clone.load_state_dict(saved)
    rng = np.random.default_rng(3)
    for k in range(5):
        g = [rng.normal(size=p.shape) for p in params]
        (opt.step(g, k), clone.step(g, k)) if name == "sag" else (opt.step(g), clone.step(g))
    for a, b in zip(opt.params, clone.params):
        assert_same_bits(a, b)


def test_a_state_dict_of_another_optimizer_or_shape_is_refused():
    adam = optim.Adam([np.zeros(3)], lr=0.1)
    adam.step([np.ones(3)])
    with pytest.raises(ValueError, match="state of optimizer Adam, not SGD"):
        optim.SGD([np.zeros(3)], lr=0.1).load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([np.zeros(4)], lr=0.1).load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match="this optimizer has 2"):
        optim.Adam([{"params": [np.zeros(3)]}, {"params": [np.zeros(1)]}], lr=0.1).load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match="state_dict must be a dict"):
        adam.load_state_dict({"step_count": 3})


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
        (lambda p: optim.NAdam(p, betas=(0.9, 1.5)), ValueError, r"betas\[1\]"),
        (lambda p: optim.Adam(p, betas=0.9), TypeError, "betas"),
        (lambda p: optim.Adam(p, eps=-1e-8), ValueError, "eps"),
        (lambda p: optim.Adam(p, lr=-1e-3), ValueError, "lr"),
        (lambda p: optim.Adam(p, amsgrad="yes"), TypeError, "amsgrad"),
        (lambda p: optim.AdamW(p, weight_decay=-0.1), ValueError, "weight_decay"),
        (lambda p: optim.NAdam(p, momentum_decay=-1.0), ValueError, "momentum_decay"),
        (lambda p: optim.RMSprop(p, alpha=1.5), ValueError, "alpha"),
        (lambda p: optim.RMSprop(p, momentum=-0.5), ValueError, "momentum"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "lr_decay"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), ValueError, "initial_accumulator_value"),
        (lambda p: optim.Adam([{"lr": 0.1}]), ValueError, "no 'params'"),
        (lambda p: optim.Adam([{"params": []}]), ValueError, "no parameters"),
        (lambda p: optim.Adam([{"params": p, "betas1": 0.5}]), ValueError, "betas1"),
        (lambda p: optim.Adam([{"params": p}, p[0]]), TypeError, "mixture"),
        (lambda p: optim.Adam([{"params": p}, {"params": p}]), ValueError, "overlaps"),
    ],
)
def test_invalid_adaptive_optimizers_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make([np.zeros(3)])


def test_an_edited_group_is_checked_at_the_next_step_and_named():
    opt = optim.Adam([{"params": [np.zeros(3)]}, {"params": [np.zeros(2)]}], lr=0.1)
    opt.param_groups[1]["betas"] = (0.9, 1.0)
    with pytest.raises(ValueError, match=r"param_groups\[1\]: betas\[1\]"):
        opt.step([np.ones(3), np.ones(2)])
    opt.param_groups[1]["betas"] = (0.9, 0.99)
    opt.param_groups[0]["lr"] = float("nan")
    with pytest.raises(ValueError, match=r"param_groups\[0\]: lr"):
        opt.step([np.ones(3), np.ones(2)])


def test_groups_added_later_start_their_own_step_count():
    w, b = np.zeros(3), np.zeros(2)
    opt = optim.Adam([w], lr=0.1)
    opt.step([np.ones(3)])
    opt.add_param_group({"params": [b], "lr": 0.01})
    opt.step([np.ones(3), np.ones(2)])
    assert opt.state[w]["step"] == 2 and opt.state[b]["step"] == 1
    # Adam's first step moves every coordinate by lr (bias-corrected m / sqrt(v) is 1)
    np.testing.assert_allclose(b, -0.01, rtol=1e-6)


class _NanAfterTwo(schedules.Schedule):
    def _values(self, t):
        return np.where(t < 2, 0.1, np.nan)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_schedule_that_turns_nan_is_refused_before_the_step(dtype):
    param = np.ones(4, dtype)
    opt = optim.Adam([param], lr=_NanAfterTwo())
    opt.step([np.ones(4, dtype)])
    opt.step([np.ones(4, dtype)])
    before = param.copy()
    with pytest.raises(ValueError, match="lr"):
        opt.step([np.ones(4, dtype)])
    np.testing.assert_array_equal(param, before)


def test_a_rate_edited_every_step_keeps_the_checked_group_and_is_still_checked():
    # A scheduler or plateau rule writes param_groups[i]["lr"] each step: the group's records stay.
    opt = optim.Adam([np.zeros(3)], lr=0.1)
    opt.step([np.ones(3)])
    checked = opt._checked[0]
    for rate in (0.05, 0.02, 0.01):
        opt.param_groups[0]["lr"] = rate
        opt.step([np.ones(3)])
        assert opt._checked[0] is checked
    for bad in (-0.1, float("nan"), "0.1"):
        opt.param_groups[0]["lr"] = bad
        with pytest.raises((ValueError, TypeError), match="lr"):
            opt.step([np.ones(3)])
    opt.param_groups[0]["betas"] = (0.5, 0.9)  # any other option is checked again
    opt.param_groups[0]["lr"] = 0.1
    opt.step([np.ones(3)])
    assert opt._checked[0] is not checked


def test_a_gradient_that_overlaps_any_of_many_parameters_is_read_before_the_step():
    base = np.arange(200.0)
    params = [base[10 * k : 10 * k + 10] for k in range(20)]  # more than 16: the test by bisection
    grads = [np.ones(10) for _ in params]
    grads[7] = base[15:25]  # inside params[1] and params[2]
    expected = [p.copy() for p in params]
    reference_grads = [g.copy() for g in grads]
    for p, g in zip(expected, reference_grads):
        p -= 0.1 * g
    optim.SGD(params, lr=0.1).step(grads)
    for got, want in zip(params, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n_params", [3, 40])
def test_every_overlap_of_a_gradient_and_a_parameter_is_found(n_params):
    from fastdescent._optimizer import _overlap_test

    base = np.zeros(10 * n_params + 50)
    params = [base[10 * k : 10 * k + 8] for k in range(n_params)]  # gaps of 2 values between them
    overlapping = _overlap_test(params)
    for start in range(0, base.size - 3, 3):
        for length in (1, 2, 5):
            for view in (base[start : start + length], base[start : start + length][::-1]):
                assert overlapping(view) == any(np.may_share_memory(view, p) for p in params), (start, length)
    assert not overlapping(np.zeros(5)) and not overlapping(base[:0])


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_0d_parameter_steps_as_a_one_element_one(name, backend):
    """Adam, AdamW and RMSprop raised IndexError on a 0-d parameter (their unused state was param[:0])."""
    scalar, vector = np.array(0.75), np.array([0.75])
    ours, reference = OPTIMIZERS[name]([scalar], backend), OPTIMIZERS[name]([vector], backend)
    for k, g in enumerate([0.5, -1.5, 0.25, 2.0]):
        if isinstance(ours, optim.SAG):
            ours.step([np.array(g)], k % 7), reference.step([np.array([g])], k % 7)
        else:
            ours.step([np.array(g)]), reference.step([np.array([g])])
    assert scalar.shape == ()
    assert_same_bits(scalar.reshape(1), vector)


def test_momentum_turned_on_between_steps_starts_its_buffer_as_torch():
    """torch sets b <- g at a parameter's first step with momentum, undampened, whatever its step count."""
    torch = pytest.importorskip("torch")
    ours = [np.zeros(2)]
    theirs = [torch.zeros(2, dtype=torch.float64)]
    ours_opt, theirs_opt = optim.SGD(ours, lr=1.0), torch.optim.SGD(theirs, lr=1.0)
    for k in range(6):
        if k in (1, 4):  # on, and on again with other options after a step without
            for opt in (ours_opt, theirs_opt):
                opt.param_groups[0].update(momentum=0.9 if k == 1 else 0.5, dampening=0.5 if k == 1 else 0.25)
        if k == 3:
            for opt in (ours_opt, theirs_opt):
                opt.param_groups[0]["momentum"] = 0.0
        g = np.array([1.0, -0.5]) * (k + 1)
        theirs[0].grad = torch.tensor(g)
        theirs_opt.step()
        ours_opt.step([g])
        np.testing.assert_allclose(ours[0], theirs[0].numpy(), rtol=1e-15)
    np.testing.assert_allclose(ours_opt.state[ours[0]]["momentum_buffer"],
                               theirs_opt.state[theirs[0]]["momentum_buffer"].numpy(), rtol=1e-15)  # fmt: skip
    resumed = optim.SGD([np.zeros(2)], lr=1.0)
    resumed.load_state_dict(ours_opt.state_dict())
    assert resumed.state[resumed.params[0]]["momentum_steps"] == ours_opt.state[ours[0]]["momentum_steps"] == 4


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.1}], lr=0.01, momentum=0.9),
    lambda p: optim.SAG([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.1}], lr=0.01, n_samples=3),
])  # fmt: skip
def test_a_bad_later_group_leaves_every_parameter_and_state_unstepped(make):
    params = [np.ones(3), np.ones(2)]
    opt = make(params)
    before = opt.state_dict()
    opt.param_groups[1]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"param_groups\[1\]: lr"):
        opt.step([np.ones(3), np.ones(2)], 1) if isinstance(opt, optim.SAG) else opt.step([np.ones(3), np.ones(2)])
    after = opt.state_dict()
    assert_same_bits(params[0], np.ones(3))
    assert after["step_count"] == before["step_count"]
    for k, state in before["state"].items():
        assert after["state"][k]["step"] == state["step"]
    if isinstance(opt, optim.SAG):
        assert not opt.seen.any()
