"""The numpy plugin's ``where``: ``np.where``'s result bit for bit (NaN payloads,
signed zeros, infinities), every dtype and broadcast, on both sides of the size
from which it selects bit patterns instead of branching."""
import numpy as np
import pytest

from layerkit_numpy.elemwise import SELECT_MIN_SIZE, where

N = SELECT_MIN_SIZE


def _specials(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    x = rng.normal(size=shape).astype(dtype)
    flat = x.reshape(-1)
    odd_nan = np.array(np.nan, dtype)
    odd_nan.view(f"u{np.dtype(dtype).itemsize}")[...] += 1     # a NaN with another payload
    flat[:6] = [np.inf, -np.inf, 0.0, -0.0, np.nan, odd_nan]
    return x


def _bits(x):
    x = np.asarray(x)
    if x.dtype.kind == "c":
        return x.view(f"u{x.dtype.itemsize // 2}")
    return x.view(f"u{x.dtype.itemsize}") if x.dtype.kind != "b" else x


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int32", "int64", "float16",
                                   "float32", "float64", "complex64"])
@pytest.mark.parametrize("size", [N - 1, N, 3 * N + 5])
def test_same_bits_as_np_where(dtype, size):
    cond = np.random.default_rng(size).random(size) > 0.5
    a, b = _specials(dtype, size, 1), _specials(dtype, size, 2)
    got, want = where(cond, a, b), np.where(cond, a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("case", ["scalar branches", "array and zero", "row broadcast",
                                  "strided", "small condition, large branch",
                                  "sorted condition", "cast branch", "one block and a bit",
                                  "a single value with more axes"])
def test_broadcasts_scalars_and_views(case):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 2 * N // 64)).astype("float32")
    cond = x >= 0
    a, b = {
        "scalar branches": (np.float32(1), np.float32(0.01)),
        "array and zero": (x * 3, np.float32(0)),
        "row broadcast": (x[0], x),
        "strided": (x.T.copy().T[:, ::2], x[:, 1::2]),
        "small condition, large branch": (x, -x),
        "sorted condition": (x, np.float32(0)),
        "cast branch": (x, x.astype("float64")),
        "one block and a bit": (x, -x),
        "a single value with more axes": (x, np.zeros((1, 1, 1), "float32")),
    }[case]
    if case == "sorted condition":
        cond = np.sort(x.reshape(-1)).reshape(x.shape) >= 0
    if case == "one block and a bit":
        from layerkit_numpy.elemwise import SELECT_BLOCK
        x = rng.normal(size=SELECT_BLOCK + 7).astype("float32")
        cond, a, b = x >= 0, x, -x
    if case == "strided":
        cond = cond[:, ::2]
    if case == "small condition, large branch":
        cond = cond[0]
    got, want = where(cond, a, b), np.where(cond, a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(_bits(got), _bits(want))
    assert not np.shares_memory(got, x)


def test_a_non_bool_condition_is_numpys():
    x = np.arange(2 * N, dtype="float32") - N
    cond = (x > 0).astype("int8") * 7
    np.testing.assert_array_equal(where(cond, x, -x), np.abs(x))
