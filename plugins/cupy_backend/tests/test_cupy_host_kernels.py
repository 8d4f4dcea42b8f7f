"""The plugin's kernels run end to end on the host emulation of cupy (the CUDA
source compiled by the host C++ compiler, numpy for cupy's own functions) and
compared with the generic kernels: conv and pool over the conformance suite's
grids, both index types, chunked columns, odd launch shapes; softmax on both of
its paths; the random draws bit for bit. Skipped where no C++ compiler exists.
"""
from __future__ import annotations

import numpy as np
import pytest

import cupy_host_emulation as emulation
from layerkit.backend.kernels import GENERIC_KERNELS as G
from layerkit.testing import suite_conv
from layerkit_cupy import _cuda, conv, nnet, pool

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _values(case):
    return case.values if hasattr(case, "values") and hasattr(case, "marks") else case


CONV_CASES = [_values(c)[:4] for c in suite_conv.CONV_CASES]
POOL_CASES = [_values(c)[:5] for c in suite_conv.POOL_CASES]


def run(backend, name, *arrays, **params):
    args = [backend.from_numpy(a) if isinstance(a, np.ndarray) else a for a in arrays]
    out = backend.kernel(name)(*args, **params)
    assert isinstance(out, emulation.DeviceArray), f"{name} returned {type(out).__name__}"
    return backend.to_numpy(out)


def _conv_check(b, shape, stride, padding, dilation, dtype="float64", seed=0):
    n, c, h, w, o, kh, kw = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    p = dict(stride=stride, padding=padding, dilation=dilation)
    tol = dict(rtol=1e-11, atol=1e-11) if dtype == "float64" else dict(rtol=2e-5, atol=2e-5)
    y = run(b, "conv2d", x, wt, **p)
    np.testing.assert_allclose(y, G["conv2d"](x, wt, **p), **tol)
    gy = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(run(b, "conv2d_grad_input", gy, wt, x.shape, **p),
                               G["conv2d_grad_input"](gy, wt, x.shape, **p), **tol)
    np.testing.assert_allclose(run(b, "conv2d_grad_weight", x, gy, wt.shape, **p),
                               G["conv2d_grad_weight"](x, gy, wt.shape, **p), **tol)


@pytest.mark.parametrize("shape,stride,padding,dilation", CONV_CASES)
def test_conv_against_the_generic_kernels(host_backend, shape, stride, padding, dilation):
    _conv_check(host_backend, shape, stride, padding, dilation)


def test_conv_float32_and_non_contiguous_inputs(host_backend):
    b = host_backend
    _conv_check(b, (2, 3, 9, 8, 4, 3, 3), (1, 1), (1, 1), (1, 1), dtype="float32")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 8, 2, 7)).transpose(0, 2, 3, 1)[:, :, ::2, :5]   # (3, 2, 4, 5)
    w = rng.standard_normal((3, 2, 2, 2))
    np.testing.assert_allclose(run(b, "conv2d", x, w), G["conv2d"](x, w), rtol=1e-12)


def test_conv_in_chunks_of_samples(host_backend, monkeypatch):
    p = conv.ConvPlan((5, 2, 6, 7), (3, 2, 3, 2), (1, 2), (1, 1), (1, 1))
    monkeypatch.setattr(conv, "CHUNK_BYTES", 2 * p.k * p.length * 8)   # 2 samples a chunk
    assert len(p.chunks(8)) == 3
    _conv_check(host_backend, (5, 2, 6, 7, 3, 3, 2), (1, 2), (1, 1), (1, 1))
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)                          # 1 sample a chunk
    _conv_check(host_backend, (5, 2, 6, 7, 3, 3, 2), (2, 1), (0, 2), (2, 1))


def test_conv_with_64_bit_indices(host_backend, monkeypatch):
    monkeypatch.setattr(conv, "index_type", lambda *sizes: "long long")
    monkeypatch.setattr(pool, "index_type", lambda *sizes: "long long")
    monkeypatch.setattr(conv.ConvPlan, "itype", lambda self, n: "long long")
    _conv_check(host_backend, (2, 3, 7, 6, 4, 3, 2), (2, 1), (1, 2), (1, 2))
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 6))
    for mode in MODES:
        y = run(host_backend, "pool2d", x, (3, 2), (2, 1), (1, 0), mode, True)
        np.testing.assert_array_equal(y, G["pool2d"](x, (3, 2), (2, 1), (1, 0), mode, True))


@pytest.mark.parametrize("block,max_grid", [(1, 1), (3, 2), (32, 5)])
def test_any_launch_shape_gives_the_same_result(host_backend, monkeypatch, block, max_grid):
    """Grid-stride loops: fewer threads than elements, a partial last block."""
    monkeypatch.setattr(_cuda, "BLOCK", block)
    monkeypatch.setattr(_cuda, "MAX_GRID", max_grid)
    monkeypatch.setattr(_cuda.launch, "__defaults__", (block,))
    _conv_check(host_backend, (2, 3, 5, 6, 2, 3, 3), (2, 2), (1, 1), (1, 1))
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 6))
    y = run(host_backend, "pool2d", x, (2, 2), (1, 2), (0, 0), "max", False)
    np.testing.assert_array_equal(y, G["pool2d"](x, (2, 2), (1, 2), (0, 0), "max", False))
    z = np.random.default_rng(5).standard_normal((7, 10))
    np.testing.assert_allclose(run(host_backend, "softmax", z), G["softmax"](z), rtol=1e-13)


def _tied(shape, seed):
    return np.random.default_rng(seed).integers(-3, 4, size=shape).astype("float64")


@pytest.mark.parametrize("shape,ws,stride,pad,ignore_border", POOL_CASES)
def test_pool_is_the_generic_kernel_bit_for_bit(host_backend, shape, ws, stride, pad,
                                                ignore_border):
    """Same cells, same order of additions: equal results, ties included."""
    b = host_backend
    for x in (_tied(shape, 0), np.random.default_rng(1).standard_normal(shape)):
        for mode in MODES:
            args = (ws, stride, pad, mode, ignore_border)
            want = G["pool2d"](x, *args)
            np.testing.assert_array_equal(run(b, "pool2d", x, *args), want, err_msg=mode)
            gout = np.random.default_rng(2).standard_normal(want.shape)
            np.testing.assert_array_equal(run(b, "pool2d_grad", x, want, gout, *args),
                                          G["pool2d_grad"](x, want, gout, *args), err_msg=mode)


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64", "uint8"])
def test_pool_other_dtypes(host_backend, dtype):
    x = np.random.default_rng(6).integers(0, 50, size=(2, 3, 7, 5)).astype(dtype)
    for ib, pad in ((False, (0, 0)), (True, (1, 1))):
        modes = MODES if dtype == "float32" else ("max", "sum")
        for mode in modes:
            args = ((3, 2), (2, 2), pad, mode, ib)
            want = G["pool2d"](x, *args)
            got = run(host_backend, "pool2d", x, *args)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
            if mode == "max":
                gout = np.ones(want.shape, dtype)
                np.testing.assert_array_equal(run(host_backend, "pool2d_grad", x, want, gout, *args),
                                              G["pool2d_grad"](x, want, gout, *args))


def test_pool_nan_propagates_like_numpy_maximum(host_backend):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    got = run(host_backend, "pool2d", x, (2, 2), (2, 2), (0, 0), "max", True)
    np.testing.assert_array_equal(got, G["pool2d"](x, (2, 2), (2, 2), (0, 0), "max", True))
    assert np.isnan(got[0, 0, 0, 0])


def test_pool_errors_are_the_generic_kernels(host_backend):
    x = host_backend.from_numpy(np.zeros((1, 1, 4, 4)))
    k = host_backend.kernel("pool2d")
    with pytest.raises(ValueError, match="ignore_border=True"):
        k(x, (2, 2), (2, 2), (1, 1), "max", False)
    with pytest.raises(ValueError, match="pooling mode must be one of"):
        k(x, (2, 2), (2, 2), (0, 0), "median", True)
    with pytest.raises(TypeError, match="needs a floating-point input"):
        k(host_backend.from_numpy(np.zeros((1, 1, 4, 4), "int32")), (2, 2), (2, 2), (0, 0),
          "average_inc_pad", True)


@pytest.mark.parametrize("cols", [1, 3, 10, nnet.ROW_KERNEL_MAX_COLS, nnet.ROW_KERNEL_MAX_COLS + 1, 300])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_row_kernel_and_long_rows(host_backend, cols, dtype):
    rng = np.random.default_rng(cols)
    x = (rng.standard_normal((2, 5, cols)) * 30).astype(dtype)
    x[0, 0, 0] = 1000.0
    x[1, 1, :] = -1000.0
    rtol = 1e-6 if dtype == "float32" else 1e-13
    for name in ("softmax", "log_softmax"):
        got = run(host_backend, name, x)
        assert got.dtype == np.dtype(dtype) and np.isfinite(got).all()
        np.testing.assert_allclose(got, G[name](x), rtol=rtol, atol=rtol, err_msg=name)
        np.testing.assert_allclose(run(host_backend, name, x[0, 1]), G[name](x[0, 1]),
                                   rtol=rtol, atol=rtol)


DRAWS = [("random_uniform", {"low": -2.0, "high": 3.0}), ("random_uniform", {}),
         ("random_binomial", {"n": 1, "p": 0.8}), ("random_binomial", {"n": 5, "p": 0.37}),
         ("random_binomial", {"n": 2, "p": 1.0}), ("random_binomial", {"n": 3, "p": 0.0})]


@pytest.mark.parametrize("name,params", DRAWS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_uniform_and_binomial_are_the_generic_draws_bit_for_bit(host_backend, name, params,
                                                                 dtype):
    if name == "random_uniform" and dtype == "bool":
        pytest.skip("a bool uniform is not a thing")
    for key, counter, shape in ((42, 7, (3, 5, 7)), (2**65 + 3, 2**64 + 9, (1000,)), (1, 0, ())):
        got = host_backend.to_numpy(host_backend.kernel(name)(
            key, counter, shape, dtype, xp=host_backend.xp, **params))
        want = G[name](key, counter, shape, dtype, xp=np, **params)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_is_the_generic_draw_to_a_few_ulp(host_backend, dtype):
    for mean, std in ((0.0, 1.0), (1.0, 2.0)):
        got = host_backend.to_numpy(host_backend.kernel("random_normal")(
            9, 3, (50, 40), dtype, xp=host_backend.xp, mean=mean, std=std))
        want = G["random_normal"](9, 3, (50, 40), dtype, xp=np, mean=mean, std=std)
        ulp = np.finfo(dtype).eps
        np.testing.assert_allclose(got, want, rtol=8 * ulp, atol=8 * ulp * (abs(mean) + std))


def test_emulation_refuses_what_cupy_would_misread(host_cupy):
    """The emulation's strictness is what makes a CPU pass meaningful for the GPU."""
    name, src = conv.im2col_source("float32", "int")
    kern = host_cupy.RawKernel(src, name)
    x = host_cupy.zeros((1, 1, 2, 2), dtype="float32")
    cols = host_cupy.empty((1, 1, 4), dtype="float32")
    good = (x, cols, np.int32(4)) + conv.ConvPlan((1, 1, 2, 2), (1, 1, 1, 1), (1, 1), (0, 0),
                                                  (1, 1)).geometry_args()
    kern((1,), (4,), good)
    with pytest.raises(TypeError, match="expected a numpy int32 scalar"):
        kern((1,), (4,), good[:2] + (np.int64(4),) + good[3:])
    with pytest.raises(TypeError, match="expected a numpy int32 scalar"):
        kern((1,), (4,), good[:2] + (4,) + good[3:])
    with pytest.raises(TypeError, match="array of float64, expected float32"):
        kern((1,), (4,), (x.astype("float64"),) + good[1:])
    with pytest.raises(ValueError, match="not C-contiguous"):
        kern((1,), (4,), (host_cupy.zeros((1, 1, 2, 4), dtype="float32")[..., ::2],) + good[1:])
    with pytest.raises(TypeError, match="expected a device array"):
        kern((1,), (4,), (np.zeros((1, 1, 2, 2), "float32"),) + good[1:])
