"""Helpers for the tests: bit comparison, and data with what breaks naive reductions.

The data has exact and negative zeros, magnitudes over twelve decades, feature counts below, at and
beside multiples of the lane counts (8 and 16), and row counts beyond one block of 256.
"""

import numpy as np
from hypothesis import strategies as st


def bits(value):
    """The bit patterns of a float array or scalar: equal bits, signed zeros included."""
    array = np.asarray(value)
    return array.view({4: np.uint32, 8: np.uint64}[array.dtype.itemsize])


def assert_same_bits(actual, expected, what=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    differ = bits(actual) != bits(expected)
    assert not differ.any(), (
        f"{what}: {int(differ.sum())} values differ in their bits, first at "
        f"{np.argwhere(differ)[0].tolist()}: {actual[differ].ravel()[0]!r} != {expected[differ].ravel()[0]!r}"
    )


DTYPES = st.sampled_from([np.float32, np.float64])
FEATURES = st.one_of(
    st.integers(1, 20),
    st.sampled_from([7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 130]),
)


def make_data(seed: int, n: int, d: int, dtype, *, low_exp=-6.0, high_exp=6.0, zero_share=0.1):
    """X, y with magnitudes 10**[low_exp, high_exp], random signs, exact +0.0 and -0.0 sprinkled in."""
    rng = np.random.default_rng(seed)

    def values(shape):
        out = rng.choice([-1.0, 1.0], size=shape) * 10.0 ** rng.uniform(low_exp, high_exp, size=shape)
        out[rng.random(shape) < zero_share] = 0.0
        out[rng.random(shape) < zero_share] = -0.0
        return out.astype(dtype)

    return values((n, d)), values(n), values(d)


@st.composite
def problems(draw, max_n=3000, max_d=None, exponents=((-6.0, -3.0, 0.0), (0.0, 3.0, 6.0))):
    """(X, y, w) of a random shape and dtype; magnitudes 10**[low, high] from the given choices."""
    dtype = draw(DTYPES)
    d = draw(FEATURES if max_d is None else st.integers(1, max_d))
    n = draw(st.one_of(st.integers(1, 40), st.sampled_from([255, 256, 257, 512, 513]), st.integers(1, max_n)))
    n = min(n, max_n)
    low = draw(st.sampled_from(exponents[0]))
    high = draw(st.sampled_from(exponents[1]))
    seed = draw(st.integers(0, 2**32 - 1))
    return make_data(seed, n, d, dtype, low_exp=min(low, high), high_exp=high)


def assert_every_lane_tail_matches_the_reference(backend, dtype):
    """Every feature count from 1 to two 64-byte lane groups and past, every whole number of lane
    groups to 9 (the C++ kernels keep up to 8 in registers), batches below, at and beside the
    row-group sizes, with weights, momentum, SAG, L1 and elastic net, averaging, scikit-learn's
    clipping and signed zeros."""
    import fastdescent

    lanes = 64 // np.dtype(dtype).itemsize
    for d in [*range(1, 2 * lanes + 3), 3 * lanes - 1, *(groups * lanes for groups in range(3, 10)), 4 * lanes + 5]:
        X, y, w = make_data(d, 53, d, dtype, low_exp=-1.5, high_exp=-0.5, zero_share=0.2)
        weights = np.abs(make_data(d + 1, 53, 1, dtype)[1]) % 3
        for options in ({"batch_size": 1}, {"batch_size": 7, "momentum": 0.5}, {"batch_size": 17},
                        {"batch_size": 16, "solver": "sag"}, {},
                        # per-sample steps take the one-pass path, with the penalty's norms over w's tail
                        {"batch_size": 1, "l1": 0.01, "l2": 0.01, "loss": "epsilon_insensitive", "epsilon": 0.05},
                        {"batch_size": 1, "l1": 0.01, "average": 40, "fit_intercept": False}):  # fmt: skip
            kwargs = dict(lr=0.01, max_iter=2, random_state=1, sample_weight=weights, **options)
            expected = fastdescent.fit_linear(X, y, backend="numpy", **kwargs)
            fit = fastdescent.fit_linear(X, y, backend=backend, **kwargs)
            assert_same_bits(fit.coef, expected.coef, f"d={d} {options}")
            assert_same_bits(fit.loss_history, expected.loss_history, f"d={d} {options}")
        for a, e in zip(fastdescent.mse_loss_grad(X, y, w, -0.0, backend=backend),
                        fastdescent.mse_loss_grad(X, y, w, -0.0, backend="numpy")):  # fmt: skip
            assert_same_bits(a, e, f"d={d}")
        regressor = {"max_iter": 2, "tol": None, "random_state": 0, "batch_size": 19, "eta0": 1e-3}
        expected = fastdescent.SGDRegressor(backend="numpy", **regressor).fit(X, y)
        fitted = fastdescent.SGDRegressor(backend=backend, **regressor).fit(X, y)
        assert_same_bits(fitted.coef_, expected.coef_, f"d={d} SGDRegressor")
