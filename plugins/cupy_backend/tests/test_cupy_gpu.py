"""The cupy backend on a real GPU: every custom kernel compiled by NVRTC and run,
against the generic kernels on the host; cuBLAS products; fused kernels; training
steps. Each test skips with the reason where cupy or a CUDA device is missing.

(The conformance suites run on the GPU too, through ``--layerkit-backend=cupy``:
see ``plugins/cupy_backend/device_check.sh``.)
"""
from __future__ import annotations

import numpy as np
import pytest

from layerkit.backend.kernels import GENERIC_KERNELS as G
from layerkit.testing import suite_conv
from layerkit_cupy import conv, nnet, pool
from layerkit_cupy import random as lkrandom

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _values(case):
    return case.values if hasattr(case, "values") and hasattr(case, "marks") else case


def run(b, name, *arrays, **params):
    out = b.kernel(name)(*[b.from_numpy(a) if isinstance(a, np.ndarray) else a for a in arrays],
                         **params)
    assert b.is_array(out), f"{name} returned {type(out).__name__}, not a cupy array"
    return b.to_numpy(out)


def test_device_and_round_trip(gpu_backend):
    b = gpu_backend
    assert b.device.startswith("cuda:")
    a = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_array_equal(b.to_numpy(b.from_numpy(a)), a)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("itype", ["int", "long long"])
def test_every_custom_kernel_compiles_with_nvrtc(gpu_backend, dtype, itype):
    xp = gpu_backend.xp
    for make in (conv.im2col_source, conv.col2im_source, pool.pool_fwd_source,
                 pool.pool_bwd_source, nnet.softmax_source):
        name, src = make(dtype, itype)
        xp.RawKernel(src, name).compile()
    f = np.dtype(dtype).type
    draws = ((lkrandom.uniform_source, (np.uint64(1), f(1), f(0))),
             (lkrandom.normal_source, (np.uint64(1), np.uint64(2), f(6.283185), f(1), f(0))),
             (lkrandom.binomial_source, (np.uint64(1), np.uint64(2**63), np.int32(1),
                                         np.bool_(False))))
    for make, args in draws:
        in_p, out_p, body, name = make(dtype)
        k = xp.ElementwiseKernel(in_p, out_p, body, name, preamble=lkrandom.PREAMBLE)
        k(*args, xp.empty(4, dtype=dtype))


@pytest.mark.parametrize("shape,stride,padding,dilation",
                         [_values(c)[:4] for c in suite_conv.CONV_CASES])
def test_conv_against_the_generic_kernels(gpu_backend, shape, stride, padding, dilation):
    n, c, h, w, o, kh, kw = shape
    rng = np.random.default_rng(0)
    x, wt = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, kh, kw))
    p = dict(stride=stride, padding=padding, dilation=dilation)
    y = run(gpu_backend, "conv2d", x, wt, **p)
    np.testing.assert_allclose(y, G["conv2d"](x, wt, **p), rtol=1e-10, atol=1e-10)
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(run(gpu_backend, "conv2d_grad_input", gy, wt, x.shape, **p),
                               G["conv2d_grad_input"](gy, wt, x.shape, **p), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(run(gpu_backend, "conv2d_grad_weight", x, gy, wt.shape, **p),
                               G["conv2d_grad_weight"](x, gy, wt.shape, **p), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("layer", [
    ((128, 1, 28, 28), (32, 1, 3, 3), (2, 2)),      # Theano-Tutorials conv net, full mode
    ((128, 32, 15, 15), (64, 32, 3, 3), (0, 0)),
    ((128, 3, 32, 32), (64, 3, 3, 3), (0, 0)),      # the Lasagne net
    ((128, 64, 30, 30), (32, 64, 3, 3), (0, 0)),
])
def test_conv_float32_on_the_benchmark_layers(gpu_backend, layer):
    xs, ws, pad = layer
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(xs).astype("float32"), rng.standard_normal(ws).astype("float32")
    y = run(gpu_backend, "conv2d", x, w, padding=pad)
    want = G["conv2d"](x.astype("float64"), w.astype("float64"), padding=pad)
    assert np.linalg.norm(y - want) / np.linalg.norm(want) < 1e-5
    gy = rng.standard_normal(y.shape).astype("float32")
    gx = run(gpu_backend, "conv2d_grad_input", gy, w, xs, padding=pad)
    want = G["conv2d_grad_input"](gy.astype("float64"), w.astype("float64"), xs, padding=pad)
    assert np.linalg.norm(gx - want) / np.linalg.norm(want) < 1e-5
    gw = run(gpu_backend, "conv2d_grad_weight", x, gy, ws, padding=pad)
    want = G["conv2d_grad_weight"](x.astype("float64"), gy.astype("float64"), ws, padding=pad)
    assert np.linalg.norm(gw - want) / np.linalg.norm(want) < 1e-5


@pytest.mark.parametrize("shape,ws,stride,pad,ignore_border",
                         [_values(c)[:5] for c in suite_conv.POOL_CASES])
def test_pool_is_the_generic_kernel_bit_for_bit(gpu_backend, shape, ws, stride, pad,
                                                ignore_border):
    rng = np.random.default_rng(2)
    for x in (rng.integers(-3, 4, size=shape).astype("float64"),
              rng.standard_normal(shape).astype("float32")):
        for mode in MODES:
            args = (ws, stride, pad, mode, ignore_border)
            want = G["pool2d"](x, *args)
            np.testing.assert_array_equal(run(gpu_backend, "pool2d", x, *args), want)
            gout = rng.standard_normal(want.shape).astype(x.dtype)
            np.testing.assert_array_equal(run(gpu_backend, "pool2d_grad", x, want, gout, *args),
                                          G["pool2d_grad"](x, want, gout, *args))


@pytest.mark.parametrize("cols", [10, nnet.ROW_KERNEL_MAX_COLS + 1, 1000])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax(gpu_backend, cols, dtype):
    import scipy.special as sp
    x = (np.random.default_rng(cols).standard_normal((512, cols)) * 20).astype(dtype)
    x[0, 0] = 1000.0
    tol = 2e-6 if dtype == "float32" else 1e-12
    for name in ("softmax", "log_softmax"):
        np.testing.assert_allclose(run(gpu_backend, name, x),
                                   getattr(sp, name)(x.astype("float64"), axis=-1),
                                   rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_random_draws_are_the_generic_kernels(gpu_backend, dtype):
    b = gpu_backend
    for key, counter, shape in ((42, 7, (3, 5, 7)), (2**65 + 3, 2**64 + 9, (100_000,))):
        for name, params in (("random_uniform", {"low": -2.0, "high": 3.0}),
                             ("random_binomial", {"n": 1, "p": 0.8}),
                             ("random_binomial", {"n": 5, "p": 0.37})):
            got = b.to_numpy(b.kernel(name)(key, counter, shape, dtype, xp=b.xp, **params))
            np.testing.assert_array_equal(got, G[name](key, counter, shape, dtype, xp=np,
                                                       **params), err_msg=name)
        if dtype != "int64":
            got = b.to_numpy(b.kernel("random_normal")(key, counter, shape, dtype, xp=b.xp,
                                                       mean=1.0, std=2.0))
            want = G["random_normal"](key, counter, shape, dtype, xp=np, mean=1.0, std=2.0)
            ulp = np.finfo(dtype).eps
            np.testing.assert_allclose(got, want, rtol=16 * ulp, atol=48 * ulp)


def test_fused_kernels_on_the_gpu(gpu_backend):
    from layerkit_cupy.fusion import build_kernel
    from test_fusion_source import FLOAT_CASES, _floats, _fused_inputs
    import layerkit.core.tensor as T
    xp = gpu_backend.xp
    for dtype, mk in (("float64", T.dmatrix), ("float32", T.fmatrix)):
        for label, build, ref in FLOAT_CASES:
            variables = [mk("x"), mk("y"), mk("z")]
            args = [_floats((64, 33), k, dtype=dtype) for k in range(3)]
            spec, dev = _fused_inputs(xp, build(*variables), dict(zip(variables, args)))
            got = xp.asnumpy(build_kernel(spec)(*dev))
            want = ref(*[a.astype("float64") for a in args])
            tol = 1e-12 if dtype == "float64" else 5e-6
            np.testing.assert_allclose(got, want, rtol=tol, atol=10 * tol, err_msg=label)


def test_training_steps_on_the_gpu(gpu_backend):
    """Shared values resident, updates on the device, numpy or cupy in and out; the
    dropout MLP agrees with the generic kernels on the host (same draws)."""
    import types

    import array_api_compat.numpy as np_compat
    import layerkit.core as theano
    import layerkit.core.tensor as T
    from layerkit.backend import Backend, hookimpl, register_plugin
    from layerkit.backend.registry import isolated
    from test_cupy_host_graphs import _batch, _mlp

    xp = gpu_backend.xp

    class GenericNumpy(Backend):
        name, version, xp = "generic-numpy", "0", np_compat

    plugin = types.ModuleType("generic_numpy_plugin")
    plugin.layerkit_backends = hookimpl(lambda: [GenericNumpy])
    with isolated():
        register_plugin(plugin, "generic-numpy")
        x, y = _batch()
        train_c, ws_c = _mlp("cupy")
        train_g, ws_g = _mlp("generic-numpy")
        for step in range(3):
            np.testing.assert_allclose(train_c(x, y), train_g(x, y), rtol=1e-4)
        for wc, wg in zip(ws_c, ws_g):
            assert isinstance(wc.get_value(return_internal_type=True), xp.ndarray)
            np.testing.assert_allclose(wc.get_value(), wg.get_value(), rtol=1e-3, atol=1e-5)
        X = T.fmatrix("X")
        f = theano.function([X], T.nnet.softmax(X) * 2.0, backend="cupy", on_device=True)
        out = f(xp.asarray(x))
        assert isinstance(out, xp.ndarray)
        np.testing.assert_allclose(xp.asnumpy(out), 2 * G["softmax"](x), rtol=2e-6)
