"""Input checks shared by every public entry point: one call per argument, before any native code runs."""

from __future__ import annotations

import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def refuse_sparse(value, name: str) -> None:
    """A scipy sparse matrix (or a Dask chunk of one): numpy would read it as an object scalar."""
    if type(value).__module__.split(".")[:2] == ["scipy", "sparse"]:
        raise TypeError(f"{name}: a scipy sparse {type(value).__name__}; fastdescent fits dense arrays "
                        "(convert it with .toarray())")  # fmt: skip


def refuse_masked(value, name: str) -> None:
    """A masked array: the kernels would read the values under its mask, numpy's reductions skip them."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} is a numpy masked array, whose mask would be ignored: fill it first "
                        f"({name}.filled(value))")  # fmt: skip


def as_array(value, name: str) -> np.ndarray:
    """Any array-like (a list, a pandas object, a CPU tensor: anything numpy reads) as a plain
    ndarray in the machine's byte order, converted once (a subclass such as np.matrix or np.memmap
    as a view); what numpy cannot read (ragged lists, tensors it cannot see), and masked arrays, are
    refused by name."""
    if type(value) is np.ndarray and value.dtype.isnative:
        return value
    refuse_masked(value, name)
    if isinstance(value, np.ndarray):
        array = value.view(np.ndarray)
        return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))
    refuse_sparse(value, name)
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be a rectangular array of real numbers; numpy cannot read it: {error}") from error


def working_dtype(X, name: str = "X") -> np.dtype:
    """The precision a computation on ``X`` runs in.

    float32 and float64 keep their precision; float16 is computed in float32; bool and integer
    data in float64.  Complex, object and string data are refused.
    """
    dtype = X.dtype if isinstance(X, np.ndarray) or _is_dask(X) else as_array(X, name).dtype
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"{name} must hold real numbers (float32, float64, integers or bool); got dtype {dtype}")
    if dtype in FLOAT_DTYPES:
        return dtype
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    raise TypeError(f"{name} must hold real numbers (float32, float64, integers or bool); got dtype {dtype}")


def as_float_array(value, name: str, dtype: np.dtype, ndim: int) -> np.ndarray:
    """A C-contiguous array of ``dtype`` with ``ndim`` dimensions and only finite values.

    The caller's array is never written to: a view is returned only when no conversion is needed.
    """
    array = as_array(value, name)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}")
    if array.ndim != ndim:
        shape_word = {1: "a 1-D array", 2: "a 2-D array (n_samples, n_features)"}[ndim]
        raise ValueError(f"{name} must be {shape_word}; got shape {array.shape}")
    return as_working_array(array, name, dtype)


def as_working_array(array: np.ndarray, name: str, dtype: np.dtype) -> np.ndarray:
    """A real ``array`` as the kernels read it: C-contiguous, aligned, of ``dtype`` (a copy only if
    it is not already), and only finite values."""
    flags = array.flags
    if array.dtype == dtype and flags.c_contiguous and flags.aligned:
        check_finite(array, name)
        return array
    converted = array.dtype != dtype
    with np.errstate(over="ignore", invalid="ignore"):  # a value too large for dtype becomes inf: reported next
        array = np.require(array, dtype=dtype, requirements="CA")
    check_finite(array, name if not converted else f"{name} (converted to {dtype})")
    return array


# From this many values a float32/float64 array is checked by the C++ extension when it is here
# (vectorised, on the cores; a tenth of a millisecond saved per million values); below, numpy.
NATIVE_CHECK_SIZE = 1 << 16


def _all_finite(array: np.ndarray) -> bool:
    """Whether every value is finite, in one pass that allocates nothing."""
    if array.size >= NATIVE_CHECK_SIZE and array.dtype in FLOAT_DTYPES and array.flags.c_contiguous:
        from . import _backends

        core = _backends.load("cpp")
        if core is not None:
            return core.all_finite(array)
    # The sum of an array is finite only if every value is (a non-finite sum may also be an
    # overflow: the caller then looks closer).
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.add.reduce(array, axis=None)))


def check_finite(array: np.ndarray, name: str) -> None:
    """A ValueError naming the array and its first NaN or infinity, if it has one."""
    if _all_finite(array):
        return
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.unravel_index(int(np.argmin(finite)), array.shape) if array.ndim else ()
        where = f" at index {tuple(int(i) for i in bad) if len(bad) > 1 else int(bad[0])}" if bad else ""
        raise ValueError(f"{name} contains NaN or infinity{where}: {array[bad] if bad else array}")


def _is_dask(value) -> bool:
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "chunks")


def as_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate a design matrix and its targets; both come back in the working dtype of X."""
    X = as_array(X, "X")
    dtype = working_dtype(X, "X")
    X = as_float_array(X, "X", dtype, ndim=2)
    n, d = X.shape
    if n == 0:
        raise ValueError(f"X has no samples (shape {X.shape}); at least one row is needed")
    if d == 0:
        raise ValueError(f"X has no features (shape {X.shape}); at least one column is needed")
    y = as_float_array(y, "y", dtype, ndim=1)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} values but X has {n} rows (X shape {X.shape}, y shape {y.shape})")
    return X, y


def as_sample_weight(sample_weight, n: int, dtype: np.dtype) -> np.ndarray:
    """Validated weights in the working dtype, or an empty array for none."""
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    weights = as_float_array(sample_weight, "sample_weight", dtype, ndim=1)
    if weights.shape[0] != n:
        raise ValueError(f"sample_weight has {weights.shape[0]} values but X has {n} rows (sample_weight shape "
                         f"{weights.shape})")
    if (weights < 0).any():
        bad = int(np.argmax(weights < 0))
        raise ValueError(f"sample_weight must be >= 0; sample_weight[{bad}] = {weights[bad]}")
    check_some_weight(bool(weights.any()))
    return weights


def check_some_weight(any_nonzero: bool) -> None:
    """Every weight zero makes the objective zero at every w: there is nothing to fit (scikit-learn
    refuses it too), and a fit would return its starting point as if it had converged."""
    if not any_nonzero:
        raise ValueError("sample_weight must contain at least one non-zero number; all of them are 0")


def real_scalar(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number inside the given range, or a ValueError that names the range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond float64's range
        value = math.inf if value > 0 else -math.inf
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        bounds = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must be a finite number in {bounds}; got {value!r}")
    return value


def working_scalar(value: float, name: str, dtype, *, positive: bool = False) -> np.floating:
    """A validated number rounded to the working dtype, where it must stay finite and, unless it is
    zero, non-zero: a float64 value that overflows float32 (or vanishes in it) is refused by name."""
    dtype = np.dtype(dtype)
    if dtype == np.float64 and math.isfinite(value):  # the common case: no rounding, nothing else to check
        return np.float64(value)
    with np.errstate(over="ignore", under="ignore"):
        rounded = dtype.type(value)
    if not np.isfinite(rounded) or (value != 0 and rounded == 0):
        kind = "positive finite" if positive else "finite non-zero" if value != 0 else "finite"
        raise ValueError(f"{name}={value!r} is not a {kind} {dtype} number (it rounds to {rounded})")
    return rounded


def flag(value, name: str) -> bool:
    """A bool (numpy's too): a string or a number is refused rather than read as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def integer(value, name: str, *, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def thread_count(n_threads) -> int:
    """``n_threads``: None means every core this process may use."""
    if n_threads is None:
        import os

        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return integer(n_threads, "n_threads", low=1)
