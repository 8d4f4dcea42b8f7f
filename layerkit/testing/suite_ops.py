"""The backend-parametrised op suite: graphs compiled on the backend, their
results against float64 references and their gradients against finite differences.

Run it against any backend by importing it into a test module::

    from layerkit.testing.suite_ops import *  # noqa: F401,F403

with the pytest plugin loaded (``-p layerkit.testing.plugin``), or with the
rest of the kit (``pytest -p layerkit.testing --layerkit-backend=NAME``).

The kernel suites call each kernel directly; this one goes through the core
as a user does (``theano.function(..., backend=NAME)``), so it also checks
what only a compiled graph exercises: the gradient ops of every kernel
(``verify_grad``, central differences in float64, as Theano had), elementwise
fusion (``Backend.fuse`` where the backend has it), results written into
``out=`` buffers, and a training step whose updates overwrite their shared
variables in place. References are SciPy and numpy in float64; convolution and
pooling reuse the references of ``suite_conv``. Each case lists the kernels it
is about; a failure is a :class:`~layerkit.testing.compare.KernelMismatch`
naming the case, those kernels and the mismatch (an indirect one: the kernel
suites say which kernel is wrong on its own).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp

from layerkit.testing.compare import KernelMismatch, assert_close, blame, fail
from layerkit.testing.suite_conv import ref_conv2d, ref_pool2d, resolve_padding, rng_for
from layerkit.testing.verify_grad import GradientError, verify_grad

__all__ = ["test_op_forward", "test_op_gradient", "test_op_float32_fused_chain",
           "test_op_training_step_updates_in_place"]


def _any(*shape, key=0):
    return rng_for("any", shape, key).uniform(-2.0, 2.0, size=shape)


def _pos(*shape, key=0):
    return rng_for("pos", shape, key).uniform(0.5, 2.0, size=shape)


def _distinct(*shape, key=0):
    """Values at least 0.01 apart: a finite-difference step never changes a max."""
    n = int(np.prod(shape))
    return (rng_for("distinct", shape, key).permutation(n) * 0.01 - n * 0.005).reshape(shape)


def _conv_ref(padding, stride=(1, 1), dilation=(1, 1), flip=True):
    def ref(x, w):
        wf = w[:, :, ::-1, ::-1] if flip else w
        return ref_conv2d(x, wf, stride, resolve_padding(padding, w.shape[2:], dilation),
                          dilation)
    return ref


def _pool(mode, ws, stride, pad, ignore_border):
    from layerkit.core.tensor.signal.pool import pool_2d
    return (lambda a: pool_2d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad,
                              mode=mode),
            lambda a: ref_pool2d(a, ws, stride, pad, mode, ignore_border))


def _cases():
    """name -> (builder over symbolic inputs, float64 reference, inputs, kernels)."""
    import layerkit.core.tensor as T

    conv2d = T.nnet.conv2d
    labels = np.array([1, 0, 4])
    onehot_y = np.array([0.0, 1.0, 1.0, 0.0])
    cases = {
        "sigmoid": (T.nnet.sigmoid, sp.expit, [_any(3, 4) * 4], ("sigmoid",)),
        "softplus": (T.nnet.softplus, lambda x: np.logaddexp(0.0, x), [_any(3, 4) * 4],
                     ("softplus",)),
        "tanh": (T.tanh, np.tanh, [_any(3, 5)], ("tanh",)),
        "erf": (T.erf, sp.erf, [_any(5)], ("erf",)),
        "exp_log": (lambda a, b: T.exp(a) * T.log(b), lambda a, b: np.exp(a) * np.log(b),
                    [_any(2, 5), _pos(2, 5)], ("exp", "log", "multiply")),
        "fused_chain": (lambda a, b: T.tanh(a * b + 0.5) / (1 + T.sqr(a)) - T.sqrt(T.abs(b) + 1),
                        lambda a, b: np.tanh(a * b + 0.5) / (1 + a * a) - np.sqrt(np.abs(b) + 1),
                        [_any(3, 4), _any(3, 4, key=1) + 0.05],
                        ("multiply", "add", "tanh", "square", "divide", "sqrt", "abs",
                         "subtract")),
        "power": (lambda a, b: a ** b, np.power, [_pos(3, 2), _any(3, 2)], ("power",)),
        "maximum_clip": (lambda a, b: T.maximum(a, b) + T.clip(a, -0.5, 0.7),
                         lambda a, b: np.maximum(a, b) + np.clip(a, -0.5, 0.7),
                         [_distinct(3, 4) * 20, _distinct(3, 4, key=1) * 20 + 0.003],
                         ("maximum", "clip")),
        "switch": (lambda a, b: T.switch(a > 0, a * b, b), lambda a, b: np.where(a > 0, a * b, b),
                   [_distinct(3, 4) * 20 + 0.001, _any(3, 4)], ("where", "greater")),
        "sum_mean": (lambda a: a.sum(axis=1) + T.mean(a, axis=(1, 2), keepdims=True)[:, :, 0],
                     lambda a: a.sum(axis=1) + a.mean(axis=(1, 2), keepdims=True)[:, :, 0],
                     [_any(2, 3, 4)], ("sum", "mean")),
        "prod": (lambda a: a.prod(axis=1), lambda a: a.prod(axis=1), [_pos(3, 4)], ("prod",)),
        "max": (lambda a: a.max(axis=1), lambda a: a.max(axis=1), [_distinct(3, 5)], ("max",)),
        "logsumexp": (lambda a: T.logsumexp(a, axis=1), lambda a: sp.logsumexp(a, axis=1),
                      [_any(3, 4) * 3], ("logsumexp",)),
        "dot": (T.dot, np.dot, [_any(3, 4), _any(4, 2)], ("matmul",)),
        "batched_dot": (T.batched_dot, lambda a, b: np.einsum("nij,njk->nik", a, b),
                        [_any(2, 3, 4), _any(2, 4, 5)], ("matmul",)),
        "tensordot": (lambda a, b: T.tensordot(a, b, [[1, 2], [0, 1]]),
                      lambda a, b: np.tensordot(a, b, [[1, 2], [0, 1]]),
                      [_any(2, 3, 4), _any(3, 4, 5)], ("tensordot",)),
        "softmax": (T.nnet.softmax, lambda x: sp.softmax(x, axis=-1), [_any(3, 5) * 3],
                    ("softmax",)),
        "log_softmax": (T.nnet.logsoftmax, lambda x: sp.log_softmax(x, axis=-1),
                        [_any(3, 5) * 3], ("log_softmax",)),
        "softmax_axis": (lambda a: T.nnet.softmax(a, axis=1) + T.nnet.logsoftmax(a, axis=0),
                         lambda x: sp.softmax(x, axis=1) + sp.log_softmax(x, axis=0),
                         [_any(2, 3, 4) * 3], ("softmax", "log_softmax")),
        "crossentropy": (lambda a: T.nnet.categorical_crossentropy(T.nnet.softmax(a), labels),
                         lambda a: -sp.log_softmax(a, axis=1)[np.arange(3), labels],
                         [_any(3, 5)], ("log_softmax", "take", "scatter_add", "min", "max",
                                        "copy")),
        "binary_crossentropy": (
            lambda a: T.nnet.binary_crossentropy(T.nnet.sigmoid(a), onehot_y),
            lambda a: -(onehot_y * np.log(sp.expit(a)) + (1 - onehot_y) * np.log(sp.expit(-a))),
            [_any(4) * 3], ("sigmoid", "softplus", "log")),
        "second_order_sigmoid": (lambda a: T.grad(T.nnet.sigmoid(a).sum(), a),
                                 lambda a: sp.expit(a) * (1 - sp.expit(a)), [_any(2, 3) * 2],
                                 ("sigmoid",)),
        "advanced_indexing": (lambda a: a[T.arange(3), np.array([1, 0, 3])] * 2,
                              lambda a: a[np.arange(3), [1, 0, 3]] * 2, [_any(3, 4)],
                              ("take", "scatter_add")),
        "take_repeated": (lambda a: a[[2, 0, 2]], lambda a: a[[2, 0, 2]], [_any(3, 4)],
                          ("take", "scatter_add")),
        "slices": (lambda a: a[1:, ::2] + a[-2, ::2], lambda a: a[1:, ::2] + a[-2, ::2],
                   [_any(3, 5)], ("getitem", "setitem")),
        "set_inc_subtensor": (
            lambda a, b: T.inc_subtensor(T.set_subtensor(a[1:3], b)[:, 1], b[:1].sum()),
            lambda a, b: _set_inc(a, b), [_any(4, 4), _any(4)], ("setitem", "getitem")),
        "reshape_dimshuffle": (lambda a: a.reshape((4, 6)).dimshuffle(1, "x", 0),
                               lambda a: a.reshape(4, 6).T[:, None, :], [_any(2, 3, 4)],
                               ("reshape", "permute_dims")),
        "concatenate_stack": (lambda a, b: T.concatenate([a, T.stack([b, b * 2], axis=1)], axis=1),
                              lambda a, b: np.concatenate([a, np.stack([b, b * 2], 1)], 1),
                              [_any(3, 2), _any(3)], ("concatenate", "stack")),
        "conv2d_valid": (lambda a, w: conv2d(a, w), _conv_ref("valid"),
                         [_any(2, 2, 5, 4), _any(3, 2, 3, 2)],
                         ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")),
        "conv2d_half_strided": (lambda a, w: conv2d(a, w, border_mode="half", subsample=(2, 1)),
                                _conv_ref("half", (2, 1)), [_any(1, 2, 5, 6), _any(2, 2, 3, 3)],
                                ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")),
        "conv2d_dilated_unflipped": (
            lambda a, w: conv2d(a, w, border_mode=(1, 2), filter_dilation=(2, 1),
                                filter_flip=False),
            _conv_ref((1, 2), (1, 1), (2, 1), flip=False), [_any(1, 2, 7, 5), _any(2, 2, 2, 3)],
            ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")),
    }
    for mode, ws, stride, pad, ib in (("max", (2, 2), (2, 2), (0, 0), False),
                                      ("max", (3, 2), (1, 2), (1, 1), True),
                                      ("sum", (2, 3), (2, 1), (0, 0), False),
                                      ("average_inc_pad", (3, 3), (2, 2), (1, 1), True),
                                      ("average_exc_pad", (3, 2), (2, 2), (1, 0), True)):
        build, ref = _pool(mode, ws, stride, pad, ib)
        name = f"pool_{mode}_ws{ws[0]}{ws[1]}_st{stride[0]}{stride[1]}_pad{pad[0]}{pad[1]}" \
               f"{'_ib' if ib else ''}"
        cases[name] = (build, ref, [_distinct(1, 2, 7, 6)], ("pool2d", "pool2d_grad"))
    return cases


def _set_inc(a, b):
    out = a.copy()
    out[1:3] = b
    out[:, 1] += b[:1].sum()
    return out


CASES = _cases()
#: forward tolerances (float64); the rest use 1e-10
FORWARD_TOL = {"erf": 1e-9}


def _call(name, kernels, what, fn):
    """Run ``fn``; any failure becomes one that names the case and its kernels."""
    try:
        return fn()
    except KernelMismatch:
        raise
    except GradientError as err:
        raise fail(kernels, f"op case {name!r} (kernels {', '.join(kernels)}), {what}: "
                            f"{err}", direct=False) from err
    except Exception as err:
        raise blame(err, *kernels, direct=False)


def _inputs(arrays, dtype="float64"):
    import layerkit.core.tensor as T
    return [T.tensor(dtype, shape=(None,) * a.ndim, name=f"x{i}") for i, a in enumerate(arrays)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_forward(backend, name):
    import layerkit.core as theano

    build, reference, arrays, kernels = CASES[name]
    xs = _inputs(arrays)
    got = _call(name, kernels, "forward",
                lambda: theano.function(xs, build(*xs), backend=backend.name)(*arrays))
    tol = FORWARD_TOL.get(name, 1e-10)
    assert_close(got, reference(*arrays), name,
                 f"forward on {[a.shape for a in arrays]} (kernels {', '.join(kernels)})",
                 what="op case", kernels=kernels, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_gradient(backend, name):
    build, _, arrays, kernels = CASES[name]
    _call(name, kernels, f"gradient on {[a.shape for a in arrays]} against finite differences",
          lambda: verify_grad(build, arrays, backend=backend.name))


def test_op_float32_fused_chain(backend):
    """A float32 chain stays float32, matches float64 within float32 rounding, and
    writes correctly into the buffers fusion reuses (two calls, fresh results)."""
    import layerkit.core as theano
    import layerkit.core.tensor as T

    kernels = ("multiply", "add", "tanh", "sigmoid", "softplus")
    x, y = T.matrix("x", dtype="float32"), T.matrix("y", dtype="float32")
    out = T.tanh(x * y + 0.5) * T.nnet.sigmoid(x) - T.nnet.softplus(y) * 0.25
    f = _call("float32_fused_chain", kernels, "compile",
              lambda: theano.function([x, y], out, backend=backend.name))
    results = []
    for key in (1, 2):
        a, b = (_any(5, 7, key=key) * 3).astype("float32"), _any(5, 7, key=key + 9).astype("float32")
        got = _call("float32_fused_chain", kernels, "call", lambda: f(a, b))
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        want = np.tanh(a64 * b64 + 0.5) * sp.expit(a64) - np.logaddexp(0, b64) * 0.25
        results.append((np.array(got, copy=True), got, want))
    for i, (copy, got, want) in enumerate(results):
        assert_close(got, want, "float32_fused_chain", f"call {i + 1} of 2 (kernels "
                     f"{', '.join(kernels)})", what="op case", kernels=kernels, dtype="float32",
                     rtol=1e-5, atol=1e-6)
        assert_close(got, copy, "float32_fused_chain", f"result of call {i + 1} unchanged by "
                     f"the next call", what="op case", kernels=kernels, exact=True)


def test_op_training_step_updates_in_place(backend):
    """Logistic regression in float32: three steps of gradient descent, the updates
    written into the shared variables, against the same steps by hand in float64."""
    import layerkit.core as theano
    import layerkit.core.tensor as T

    kernels = ("matmul", "sigmoid", "softplus", "mean", "subtract", "multiply")
    rng = rng_for("training step")
    xv = rng.standard_normal((16, 5)).astype("float32")
    yv = (rng.random(16) > 0.5).astype("float32")
    w = theano.shared(np.zeros(5, "float32"), name="w")
    b = theano.shared(np.float32(0.0), name="b")
    x, y = T.matrix("x", dtype="float32"), T.vector("y", dtype="float32")
    p = T.nnet.sigmoid(T.dot(x, w) + b)
    cost = T.nnet.binary_crossentropy(p, y).mean()
    gw, gb = T.grad(cost, [w, b])
    train = _call("training_step", kernels, "compile", lambda: theano.function(
        [x, y], cost, updates=[(w, w - 0.5 * gw), (b, b - 0.5 * gb)], backend=backend.name))
    w64, b64 = np.zeros(5), 0.0
    x64, y64 = xv.astype(np.float64), yv.astype(np.float64)
    for step in range(3):
        got = _call("training_step", kernels, f"step {step + 1}", lambda: train(xv, yv))
        z = x64 @ w64 + b64
        want = np.mean(np.logaddexp(0, z) - y64 * z)
        q = sp.expit(z)
        w64, b64 = w64 - 0.5 * x64.T @ (q - y64) / 16, b64 - 0.5 * np.mean(q - y64)
        case = f"step {step + 1} (kernels {', '.join(kernels)})"
        assert_close(got, want, "training_step", f"cost at {case}", what="op case",
                     kernels=kernels, dtype="float32", rtol=1e-5, atol=1e-6)
        assert_close(w.get_value(), w64, "training_step", f"w after {case}", what="op case",
                     kernels=kernels, dtype="float32", rtol=1e-5, atol=1e-6)
        assert_close(b.get_value(), b64, "training_step", f"b after {case}", what="op case",
                     kernels=kernels, dtype="float32", rtol=1e-5, atol=1e-6)
