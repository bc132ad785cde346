"""Stopping rules, callbacks, progress bars, verbose lines, histories and the convergence plot."""

import numpy as np
import pytest
from helpers import assert_same_bits, make_data

import fastdescent


@pytest.fixture(scope="module")
def data():
    X, _, w = make_data(0, 400, 5, np.float64, low_exp=-1, high_exp=0)
    noise = np.random.default_rng(1).normal(scale=0.01, size=400)
    return X, X @ (10 * w) + 1.0 + noise


def test_callback_every_k_epochs_sees_the_fit_and_changes_no_bit(backend, data):
    X, y = data
    infos = []
    with_callback = fastdescent.fit_linear(X, y, lr=0.01, batch_size=16, max_iter=9, random_state=0, backend=backend,
                                           callback=infos.append, callback_every=3)  # fmt: skip
    plain = fastdescent.fit_linear(X, y, lr=0.01, batch_size=16, max_iter=9, random_state=0, backend=backend)
    assert_same_bits(with_callback.coef, plain.coef)
    assert [info.epoch for info in infos] == [3, 6, 9]
    assert [info.loss for info in infos] == list(plain.loss_history[[2, 5, 8]])
    assert infos[-1].grad_norm == plain.grad_norm_history[-1] and infos[-1].lr == 0.01
    assert infos[0].coef.shape == (5,) and infos[0].validation_score is None


@pytest.mark.parametrize("stopping", [{"tol": 1e-12, "n_iter_no_change": 50}, {"gtol": 1e-12}, {}])
@pytest.mark.parametrize("every", [1, 2, 4, 5])
def test_callback_every_k_epochs_also_when_the_fit_may_stop_early(data, stopping, every):
    """A fit that may stop early runs 1, 2, 4, ... epochs a call: the calls ended at epochs 1, 3,
    5, ..., and callback_every=2 was never called (4: only at epoch 8, by chance)."""
    X, y = data
    infos = []
    fit = fastdescent.fit_linear(X, y, lr=0.01, batch_size=16, max_iter=11, random_state=0, callback=infos.append,
                                 callback_every=every, **stopping)  # fmt: skip
    assert [info.epoch for info in infos] == list(range(every, fit.n_iter + 1, every))


@pytest.mark.parametrize("average", [True, 40])
def test_a_callback_sees_the_coefficients_the_fit_would_return(backend, data, average):
    """Once averaging has begun those are the average's (the callback saw the iterate)."""
    X, y = data
    infos = []
    options = {"lr": 0.01, "batch_size": 16, "random_state": 0, "average": average, "backend": backend}
    fastdescent.fit_linear(X, y, max_iter=3, callback=infos.append, **options)
    for info in infos:
        fit = fastdescent.fit_linear(X, y, max_iter=info.epoch, **options)
        assert_same_bits(info.coef, fit.coef)
        assert_same_bits(np.float64(info.intercept), np.float64(fit.intercept))


def test_a_callback_returning_true_stops(backend, data):
    X, y = data
    fit = fastdescent.fit_linear(X, y, lr=0.01, max_iter=100, backend=backend, callback=lambda info: info.epoch >= 4)
    assert fit.n_iter == 4 and fit.stop_reason == "callback" and not fit.converged


def test_gradient_norm_tolerance(backend, data):
    X, y = data
    fit = fastdescent.fit_linear(X, y, lr=0.3, max_iter=10_000, gtol=1e-6, backend=backend)
    assert fit.converged and fit.stop_reason == "gtol" and fit.grad_norm_history[-1] < 1e-6
    assert (fit.grad_norm_history[:-1] >= 1e-6).all()
    _, grad_w, grad_b = fastdescent.mse_loss_grad(X, y, fit.coef, fit.intercept, backend="numpy")
    assert np.linalg.norm(np.append(grad_w, grad_b)) < 1e-5


def test_n_iter_no_change_follows_scikit_learn(backend, data):
    X, y = data
    histories = {k: fastdescent.fit_linear(X, y, lr=0.1, max_iter=10_000, tol=1e-3, n_iter_no_change=k,
                                           backend=backend) for k in (1, 5)}  # fmt: skip
    assert histories[5].n_iter >= histories[1].n_iter + 4
    loss = histories[1].loss_history
    assert loss[-1] > loss[:-1].min() - 1e-3 and all(np.diff(loss[:-1]) < -1e-3)


def test_early_stopping_on_a_validation_fraction(backend, data):
    X, y = data
    fit = fastdescent.fit_linear(X, y, lr=0.01, batch_size=8, max_iter=500, tol=1e-4, early_stopping=True,
                                 validation_fraction=0.25, random_state=0, backend=backend)  # fmt: skip
    assert fit.stop_reason == "early_stopping" and fit.converged and fit.n_iter < 500
    assert fit.validation_scores.shape == (fit.n_iter,) and fit.validation_scores[-1] > 0.9


def test_progress_bar_and_verbose_lines(capsys, data):
    pytest.importorskip("tqdm")
    X, y = data
    fit = fastdescent.fit_linear(X, y, lr=0.01, max_iter=20, progress=True, verbose=1)
    captured = capsys.readouterr()
    assert "-- Epoch 20" in captured.out and "Avg. loss:" in captured.out and "Total training time" in captured.out
    assert "20/20" in captured.err
    assert fit.n_iter == 20


def test_progress_without_tqdm_is_a_clear_error(monkeypatch, data):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"fastdescent\[progress\]"):
        fastdescent.fit_linear(*data, max_iter=2, progress=True)


def test_convergence_plot(tmp_path, data):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = data
    fits = {name: fastdescent.fit_linear(X, y, lr=0.01, max_iter=30, **options)
            for name, options in {"GD": {}, "SGD": {"batch_size": 8}}.items()}  # fmt: skip
    ax = fastdescent.plot.convergence(fits, title="methods")
    assert [line.get_label() for line in ax.get_lines()] == ["GD", "SGD"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), fits["GD"].loss_history)
    path = tmp_path / "convergence.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_demo_writes_its_table_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from fastdescent.__main__ import main

    path = tmp_path / "demo.png"
    assert main(["demo", "--n", "300", "--backend", "numpy", "--plot", str(path)]) == 0
    assert path.stat().st_size > 1000


@pytest.mark.slow
def test_bench_quick_runs_and_writes_its_figures(tmp_path, capsys):
    """The benchmark's plumbing (no timing is asserted: figures belong in the report, not in tests)."""
    import json

    from fastdescent.__main__ import main

    path = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["machine"]["cores"] >= 1 and report["machine"]["backends"]
    workloads = {row["workload"].split()[0] for row in report["rows"]}
    assert workloads == {"W1", "W2", "W3", "W5", "W6", "W7", "W8"} and report["scaling"]
    assert "ratio = peer time / our time" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "match"), [
    (["demo", "--n", "0"], "at least one point"),
    (["demo", "--n", "ten"], "a whole number"),
    (["demo", "--plot", "/no/such/directory/demo.png"], "does not exist"),
    (["bench", "--json", "/no/such/directory/figures.json"], "does not exist"),
])  # fmt: skip
def test_the_command_line_refuses_bad_arguments_before_it_runs(argv, match, capsys):
    from fastdescent.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert match in capsys.readouterr().err


def test_the_demos_averaging_starts_inside_its_run_at_any_size():
    """At n = 2000 the averaging used to start after step 3000, past the run's 1890 steps."""
    from fastdescent._demo import run

    rows = run(sizes=(5, 2000), backends=("numpy",), print_=lambda *_: None)
    larger = {row["method"]: row for row in rows if row["n"] == 2000}
    assert larger["averaged"]["coef"] != larger["SGD"]["coef"]
