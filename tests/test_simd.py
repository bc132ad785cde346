"""Every SIMD build of the C++ kernels on this CPU returns the reference's bits."""

import os
import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_every_lane_tail_matches_the_reference, assert_same_bits, make_data

import fastdescent

core = pytest.importorskip("fastdescent._core") if "cpp" in fastdescent.available_backends() else None
pytestmark = pytest.mark.skipif(core is None, reason="the C++ extension is not built")
PATHS = [name for name, supported in core.build_info()["simd_builds"] if supported] if core else []


@pytest.fixture
def use_simd():
    """Select a SIMD build for one test (the choice is made once per process otherwise)."""
    yield core.select_simd
    core.select_simd("auto")

CASES = [
    ({}, np.float64, 700, 9),
    ({"batch_size": 1, "momentum": 0.9, "l2": 0.01}, np.float32, 300, 17),
    ({"batch_size": 40, "solver": "sag", "average": 5}, np.float64, 520, 33),
    ({"batch_size": 300, "nesterov": True, "momentum": 0.5, "clip_norm": 1.0}, np.float32, 800, 130),
    ({"batch_size": 300, "momentum": 0.9}, np.float64, 600, 32),  # w and the sums in registers, blocks of 256
    ({}, np.float32, 1100, 64),
    ({"loss": "huber", "epsilon": 0.5, "l1": 0.01, "batch_size": 1}, np.float32, 300, 17),
    ({"loss": "squared_epsilon_insensitive", "l1": 0.005, "l2": 0.01, "batch_size": 40, "average": 3}, np.float64,
     520, 33),
    ({"loss": "epsilon_insensitive", "epsilon": 0.01}, np.float32, 1100, 64),
    # a handful of features: one register per row (its last rows of X copied, not read past the end)
    ({}, np.float64, 700, 1),
    ({"batch_size": 32}, np.float64, 650, 2),
    ({"loss": "huber", "epsilon": 0.3, "l2": 0.01}, np.float64, 333, 3),
    ({"batch_size": 32, "momentum": 0.9}, np.float64, 517, 4),
    ({"batch_size": 7, "solver": "sag"}, np.float64, 300, 7),
    ({}, np.float32, 901, 5),
    ({"batch_size": 32, "loss": "epsilon_insensitive", "epsilon": 0.01}, np.float32, 411, 15),
    ({"batch_size": 1}, np.float64, 300, 3),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("options", "dtype", "n", "d"), CASES)
def test_every_simd_path_gives_the_reference_bits(use_simd, path, options, dtype, n, d):
    X, y, w = make_data(n + d, n, d, dtype, low_exp=-1.5, high_exp=-0.5)
    expected = fastdescent.fit_linear(X, y, lr=0.01, max_iter=3, random_state=0, backend="numpy", **options)
    expected_loss = fastdescent.mse_loss_grad(X, y, w, 0.5, l2=0.1, backend="numpy")
    use_simd(path)
    assert core.build_info()["simd"] == path
    fit = fastdescent.fit_linear(X, y, lr=0.01, max_iter=3, random_state=0, backend="cpp", **options)
    assert_same_bits(fit.coef, expected.coef)
    assert_same_bits(fit.loss_history, expected.loss_history)
    for a, e in zip(fastdescent.mse_loss_grad(X, y, w, 0.5, l2=0.1, backend="cpp"), expected_loss):
        assert_same_bits(a, e)


def _cpuinfo() -> dict:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            first = cpuinfo.read().split("\n\n")[0]
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in first.splitlines() if ":" in line)}


def test_auto_picks_the_widest_build_or_on_zen_4_the_mix(use_simd):
    """Read against /proc/cpuinfo, not against the dispatcher's own cpuid: AMD family 25 with
    AVX-512 (Zen 4) takes avx512-sums-avx2, any other CPU its widest pure build."""
    use_simd("auto")
    supported = [name for name, ok in core.build_info()["simd_builds"] if ok]
    info = _cpuinfo()
    if not info or "avx512" not in supported:
        pytest.skip("needs /proc/cpuinfo and an AVX-512 CPU to tell the choice")
    zen_4 = info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"
    assert core.build_info()["simd"] == ("avx512-sums-avx2" if zen_4 else "avx512")


def test_an_unknown_or_unsupported_path_is_a_clear_error(use_simd):
    unsupported = [name for name, supported in core.build_info()["simd_builds"] if not supported]
    with pytest.raises(ValueError, match="simd=sse9 is not one of: auto, baseline"):
        use_simd("sse9")
    with pytest.raises(ValueError, match="simd=sse9 is not one of: auto, baseline"):
        fastdescent.mse_loss_grad(np.ones((2, 2)), np.ones(2), np.ones(2), backend="cpp")
    assert core.build_info()["simd"].startswith("none: simd=sse9")
    if unsupported:
        with pytest.raises(ValueError, match="cannot run"):
            use_simd(unsupported[0])
        with pytest.raises(ValueError, match="cannot run"):
            fastdescent.mse_loss_grad(np.ones((2, 2)), np.ones(2), np.ones(2), backend="cpp")


def _in_a_fresh_process(simd: str, code: str) -> str:
    environment = {**os.environ, "FASTDESCENT_SIMD": simd}
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def test_the_environment_chooses_the_build_once_when_the_extension_loads():
    """FASTDESCENT_SIMD is read once; an unusable name is the error of every later kernel call."""
    chosen = _in_a_fresh_process(PATHS[0], "import os, fastdescent._core as c; os.environ['FASTDESCENT_SIMD'] = 'x'; "
                                           "print(c.build_info()['simd'])")  # fmt: skip
    assert chosen == PATHS[0]
    refused = _in_a_fresh_process(
        "sse9",
        "import numpy as np, fastdescent\n"
        "try:\n    fastdescent.mse_loss_grad(np.ones((2, 2)), np.ones(2), np.ones(2), backend='cpp')\n"
        "except ValueError as error:\n    print(error)",
    )
    assert "FASTDESCENT_SIMD=sse9 is not one of: auto, baseline" in refused


@pytest.mark.skipif(shutil.which("valgrind") is None or platform.machine() not in ("x86_64", "AMD64"),
                    reason="needs valgrind on x86-64")
@pytest.mark.skipif("LD_PRELOAD" in os.environ, reason="valgrind does not run a sanitizer's runtime (tools/sanitize.sh)")
def test_the_extension_loads_on_a_cpu_without_avx512():
    """Nothing compiled for a SIMD target runs before dispatch: valgrind's CPU has no AVX-512.

    The avx512 build's kernel tables were once filled at load time by code compiled for AVX-512, and
    importing the extension was an illegal instruction on every CPU without it (an AMD EPYC with
    AVX2 only). Under valgrind any AVX-512 instruction is one too, whatever this machine's CPU.
    """
    loaded = subprocess.run(
        ["valgrind", "--tool=none", "-q", sys.executable, "-c",
         "import fastdescent._core as c; print(c.build_info()['simd'])"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "FASTDESCENT_SIMD": "auto"},
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() in PATHS


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5000, 9 * 256 + 17])
@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_thread_count_changes_no_bit(dtype, n, loss):
    X, y, w = make_data(n, n, 29, dtype, low_exp=-1.5, high_exp=-0.5)
    options = {"lr": 0.05, "max_iter": 4, "momentum": 0.5, "loss": loss}
    expected = fastdescent.fit_linear(X, y, backend="numpy", **options)
    expected_loss = fastdescent.linear_loss_grad(X, y, w, 0.25, loss=loss, backend="numpy")
    for threads in (1, 2, 3, 4, 8):
        fit = fastdescent.fit_linear(X, y, backend="cpp", n_threads=threads, **options)
        assert_same_bits(fit.coef, expected.coef)
        assert_same_bits(fit.loss_history, expected.loss_history)
        got = fastdescent.linear_loss_grad(X, y, w, 0.25, loss=loss, backend="cpp", n_threads=threads)
        for a, e in zip(got, expected_loss):
            assert_same_bits(a, e)


def test_a_fit_uses_x_in_place_and_allocates_little():
    """No copy of a C-contiguous X: the Python-side allocations of a fit stay O(n + d), far below size(X)."""
    import tracemalloc

    X, y, _ = make_data(7, 100_000, 50, np.float64, low_exp=-1, high_exp=0)  # 40 MB
    fastdescent.fit_linear(X, y, max_iter=1, backend="cpp")
    for options in ({}, {"batch_size": 64, "momentum": 0.9}, {"batch_size": 1, "solver": "sag"}):
        tracemalloc.start()
        fastdescent.fit_linear(X, y, lr=1e-3, max_iter=2, random_state=0, backend="cpp", **options)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 8 * X.shape[0] * 4 + 64 * X.shape[1] + 1_000_000, (options, peak)  # a few n-sized arrays
    fortran = np.asfortranarray(X)
    tracemalloc.start()
    fastdescent.fit_linear(fortran, y, max_iter=3, backend="cpp")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert X.nbytes <= peak < 1.2 * X.nbytes  # another layout: converted once, never per epoch



@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_simd_path_on_every_lane_tail_and_row_group(use_simd, path, dtype):
    """Rows are summed a register's worth at a time (up to 16) with a one-row tail, and a row's
    features a 64-byte group of lanes at a time with a masked tail."""
    use_simd(path)
    assert_every_lane_tail_matches_the_reference("cpp", dtype)
