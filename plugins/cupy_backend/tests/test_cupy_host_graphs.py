"""Compiled functions on the cupy backend, created on the host emulation of cupy:
what issue 12 promises of the backend, checked on the CPU.

* shared values live on the device after the first call; updates stay there;
* results come back as numpy, or as device arrays with ``on_device=True``;
* inputs may be numpy or device arrays;
* training steps (dense with dropout and RMSprop, a conv net with Nesterov
  momentum) agree with the generic kernels' backend, dropout masks included
  (cupy's draws are the generic ones), and replay exactly from the same seed.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import cupy_host_emulation as emulation
import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.backend import Backend, hookimpl, register_plugin
from layerkit.core.tensor.nnet import conv2d
from layerkit.core.tensor.signal.downsample import max_pool_2d


@pytest.fixture
def generic_backend(host_backend):
    """The generic kernels on numpy (same random draws as cupy), in the same registry."""
    import array_api_compat.numpy as np_compat

    class GenericNumpy(Backend):
        name = "generic-numpy"
        version = "0"
        xp = np_compat

    plugin = types.ModuleType("generic_numpy_plugin")
    plugin.layerkit_backends = hookimpl(lambda: [GenericNumpy])
    register_plugin(plugin, "generic-numpy")
    return "generic-numpy"


def _mlp(backend, seed=0, dropout=True):
    """784-32-10 relu MLP, dropout, RMSprop (bench/nets.py's modern MLP, smaller)."""
    rng = np.random.RandomState(seed)
    srng = theano.RandomStreams(seed)
    X, Y = T.fmatrix("X"), T.ivector("Y")
    ws = [theano.shared((rng.randn(*s) * 0.1).astype("float32")) for s in ((20, 32), (32, 10))]

    def drop(h, p):
        if not dropout:
            return h
        return h * srng.binomial(h.shape, p=1 - p, dtype="float32") / (1 - p)

    h = T.maximum(T.dot(drop(X, 0.2), ws[0]), 0.0)
    out = T.nnet.softmax(T.dot(drop(h, 0.5), ws[1]))
    loss = T.mean(T.nnet.categorical_crossentropy(out, Y))
    updates = []
    for p, g in zip(ws, T.grad(loss, ws)):
        acc = theano.shared(p.get_value() * 0.0)
        acc_new = 0.9 * acc + 0.1 * g ** 2
        updates += [(acc, acc_new), (p, p - 0.01 * g / T.sqrt(acc_new + 1e-6))]
    return theano.function([X, Y], loss, updates=updates, backend=backend), ws


def _batch(seed=1):
    rng = np.random.RandomState(seed)
    return rng.rand(16, 20).astype("float32"), rng.randint(0, 10, 16).astype("int32")


def test_shared_values_live_on_the_device_and_results_come_back_as_numpy(host_backend):
    train, ws = _mlp("cupy")
    x, y = _batch()
    loss = train(x, y)
    assert type(loss) is np.ndarray and loss.shape == () and loss.dtype == np.float32
    for w in ws:
        assert isinstance(w.get_value(return_internal_type=True), emulation.DeviceArray)
        assert type(w.get_value()) is np.ndarray
    before = [w.get_value() for w in ws]
    train(x, y)
    assert all(not np.array_equal(b, w.get_value()) for b, w in zip(before, ws))


def test_on_device_results_and_device_inputs(host_backend, host_cupy):
    x, b = T.fmatrix("x"), T.fvector("b")
    expr = T.nnet.sigmoid(x + b) * 2.0
    xv = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    bv = np.array([0.1, -0.2, 0.3], dtype="float32")
    want = 2 / (1 + np.exp(-(xv + bv)))
    f = theano.function([x, b], expr, backend="cupy")
    g = theano.function([x, b], [expr, x.sum()], backend="cupy", on_device=True)
    np.testing.assert_allclose(f(xv, bv), want, rtol=1e-6)
    np.testing.assert_allclose(f(host_cupy.asarray(xv), bv), want, rtol=1e-6)
    r, s = g(xv, host_cupy.asarray(bv))
    assert isinstance(r, emulation.DeviceArray) and isinstance(s, emulation.DeviceArray)
    np.testing.assert_allclose(host_backend.to_numpy(r), want, rtol=1e-6)
    with pytest.raises(TypeError, match="float32"):      # a device array is not cast
        f(host_cupy.asarray(xv.astype("float64")), bv)


def test_mlp_with_dropout_matches_the_generic_kernels(host_backend, generic_backend):
    x, y = _batch()
    train_c, ws_c = _mlp("cupy")
    train_g, ws_g = _mlp(generic_backend)
    for step in range(3):
        lc, lg = train_c(x, y), train_g(x, y)
        np.testing.assert_allclose(lc, lg, rtol=2e-5, err_msg=f"step {step}")
    for wc, wg in zip(ws_c, ws_g):
        np.testing.assert_allclose(wc.get_value(), wg.get_value(), rtol=1e-4, atol=1e-6)


def test_dropout_replays_exactly_from_the_same_seed(host_backend):
    x, y = _batch()
    runs = []
    for _ in range(2):
        train, ws = _mlp("cupy", seed=3)
        runs.append(([float(train(x, y)) for _ in range(3)], [w.get_value() for w in ws]))
    assert runs[0][0] == runs[1][0]
    assert len(set(runs[0][0])) == 3        # masks differ from step to step
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_conv_net_step_matches_the_numpy_backend(host_backend):
    """conv (full) -> relu -> max-pool (ignore_border=False) -> dense softmax, Nesterov."""
    def build(backend):
        rng = np.random.RandomState(0)
        w1 = theano.shared((rng.randn(4, 2, 3, 3) * 0.3).astype("float32"))
        w2 = theano.shared((rng.randn(4 * 5 * 4, 3) * 0.3).astype("float32"))
        b1 = theano.shared(np.zeros(4, "float32"))
        X, Y = T.ftensor4("X"), T.ivector("Y")
        h = T.maximum(conv2d(X, w1, border_mode="full") + b1.dimshuffle("x", 0, "x", "x"), 0.0)
        h = max_pool_2d(h, (2, 2), ignore_border=False)
        out = T.nnet.softmax(T.dot(T.flatten(h, outdim=2), w2))
        loss = T.mean(T.nnet.categorical_crossentropy(out, Y))
        params = [w1, b1, w2]
        updates = []
        for p, g in zip(params, T.grad(loss, params)):
            v = theano.shared(p.get_value() * 0.0)
            v_new = 0.9 * v - 0.05 * g
            updates += [(v, v_new), (p, p + 0.9 * v_new - 0.05 * g)]
        return theano.function([X, Y], loss, updates=updates, backend=backend), params

    rng = np.random.RandomState(2)
    x = rng.rand(3, 2, 7, 6).astype("float32")
    y = rng.randint(0, 3, 3).astype("int32")
    train_c, pc = build("cupy")
    train_n, pn = build("numpy")
    for step in range(3):
        np.testing.assert_allclose(train_c(x, y), train_n(x, y), rtol=2e-5, err_msg=f"step {step}")
    for a, b in zip(pc, pn):
        assert isinstance(a.get_value(return_internal_type=True), emulation.DeviceArray)
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-4, atol=1e-6)
