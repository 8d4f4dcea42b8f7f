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

The cases (:data:`CASES`, one forward and one gradient test each; the few in
:data:`FORWARD_ONLY` have no gradient to check) cover every elementwise op of
``layerkit.core.tensor`` (arithmetic with broadcasting, the exponential,
logarithmic, trigonometric and hyperbolic families, ``erf``, ``sigmoid``,
``softplus``, ``relu``, comparisons), the reductions (``sum``, ``mean``,
``prod``, ``max``/``min`` with the gradient going to every tie, ``var``,
``std``, ``norm``, ``logsumexp``, ``argmax``/``argmin``), ``dot`` on every
pair of ranks, ``@``, ``outer``, ``batched_dot``, ``tensordot``, the softmax
family and both cross-entropies, basic and advanced indexing with
``set_subtensor``/``inc_subtensor`` (repeated indices accumulate), reshapes
(symbolic shapes included), ``flatten``, transposes, ``alloc``,
concatenation, second derivatives, and conv2d (valid, full, half, strided,
dilated, flipped or not, its transpose ``conv2d_grad_wrt_inputs`` and a
gradient of its gradient), pooling in every mode, two chained max-pools and
GoogLeNet's inception block (where max-pools see copies of one cell tied: the
max gradient goes to the first maximum of a window, decision D62). Inputs are
small (a gradient costs two calls per element), odd and non-square.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp

from layerkit.testing.compare import KernelMismatch, assert_close, blame, fail
from layerkit.testing.suite_conv import (ref_conv2d, ref_conv2d_grad_input,
                                         ref_conv2d_grad_weight, ref_pool2d, resolve_padding,
                                         rng_for)
from layerkit.testing.verify_grad import GradientError, verify_grad

__all__ = ["test_op_forward", "test_op_gradient", "test_op_float32_fused_chain",
           "test_op_training_step_updates_in_place"]


def _any(*shape, key=0):
    return rng_for("any", shape, key).uniform(-2.0, 2.0, size=shape)


def _pos(*shape, key=0):
    return rng_for("pos", shape, key).uniform(0.5, 2.0, size=shape)


def _unit(*shape, key=0):
    """Inside (-1, 1), away from the ends: the domain of ``arcsin`` and ``arctanh``."""
    return rng_for("unit", shape, key).uniform(-0.9, 0.9, size=shape)


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


def _conv_second_order_ref(x, w):
    """d/dw of sum(conv2d(x, w) ** 2) (flipped filters): 2 * grad_weight(x, y), flipped back."""
    wf = w[:, :, ::-1, ::-1]
    y = ref_conv2d(x, wf, (1, 1), (0, 0), (1, 1))
    return ref_conv2d_grad_weight(x, 2 * y, w.shape, (1, 1), (0, 0), (1, 1))[:, :, ::-1, ::-1]


def _conv_transposed_ref(gy, w, image_hw):
    """The input gradient of conv2d with flipped filters (the transposed convolution)."""
    return ref_conv2d_grad_input(gy, w[:, :, ::-1, ::-1], (gy.shape[0], w.shape[1]) + image_hw,
                                 (1, 1), (0, 0), (1, 1))


def _comparison_inputs():
    """Two matrices equal at a third of the elements (``eq`` is true somewhere)."""
    a = _any(3, 4, key=5)
    return [a, np.where(np.arange(12).reshape(3, 4) % 3 == 0, a, _any(3, 4, key=6))]


def _pool(mode, ws, stride, pad, ignore_border):
    from layerkit.core.tensor.signal.pool import pool_2d
    return (lambda a: pool_2d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad,
                              mode=mode),
            lambda a: ref_pool2d(a, ws, stride, pad, mode, ignore_border))


def _cases():
    """name -> (builder over symbolic inputs, float64 reference, inputs, kernels)."""
    import layerkit.core.tensor as T

    conv2d = T.nnet.conv2d
    conv2d_transposed = T.nnet.abstract_conv.conv2d_grad_wrt_inputs
    labels = np.array([1, 0, 4])
    onehot_labels = np.eye(5)[labels]
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
        "conv2d_full_unflipped": (lambda a, w: conv2d(a, w, border_mode="full", filter_flip=False),
                                  _conv_ref("full", flip=False),
                                  [_any(1, 2, 5, 4), _any(3, 2, 3, 2)],
                                  ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")),
        "conv2d_second_order": (lambda a, w: T.grad(T.sqr(conv2d(a, w)).sum(), w),
                                _conv_second_order_ref, [_any(1, 2, 4, 5), _any(2, 2, 2, 2)],
                                ("conv2d", "conv2d_grad_weight", "conv2d_grad_input")),
        # composed from 2-D convolutions (the filters' depth must be declared)
        "conv3d_strided_half": (lambda a, w: T.nnet.conv3d(a, w, filter_shape=(2, 2, 3, 3, 3),
                                                           border_mode="half",
                                                           subsample=(1, 2, 1)),
                                lambda a, w: _conv3d_ref(a, w, pad=1, stride=(1, 2, 1)),
                                [_any(1, 2, 4, 5, 3), _any(2, 2, 3, 3, 3)],
                                ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")),
        "conv2d_transposed": (lambda g, w: conv2d_transposed(g, w, (None, 2, 6, 5)),
                              lambda g, w: _conv_transposed_ref(g, w, (6, 5)),
                              [_any(1, 2, 4, 3), _any(2, 2, 3, 3)],
                              ("conv2d_grad_input", "conv2d", "conv2d_grad_weight")),
        # -- elementwise
        "broadcast_subtract": (lambda a, b: a - b.dimshuffle("x", 0), lambda a, b: a - b,
                               [_any(3, 4), _any(4)], ("subtract",)),
        "negative_reciprocal": (lambda a, b: -a * T.inv(b), lambda a, b: -a / b,
                                [_any(5), _pos(5)], ("negative", "reciprocal", "multiply")),
        "log1p_expm1": (lambda a, b: T.log1p(a) + T.expm1(b), lambda a, b: np.log1p(a) + np.expm1(b),
                        [_pos(3), _any(3)], ("log1p", "expm1")),
        "sin_cos_tan": (lambda a, b, c: T.sin(a) + T.cos(b) + T.tan(c),
                        lambda a, b, c: np.sin(a) + np.cos(b) + np.tan(c),
                        [_any(4), _any(4, key=1), _unit(4)], ("sin", "cos", "tan")),
        "arcsin_arctan_arctanh": (lambda a, b, c: T.arcsin(a) + T.arctan(b) + T.arctanh(c),
                                  lambda a, b, c: np.arcsin(a) + np.arctan(b) + np.arctanh(c),
                                  [_unit(4), _any(4), _unit(4, key=1)],
                                  ("arcsin", "arctan", "arctanh")),
        "sinh_cosh": (lambda a, b: T.sinh(a) + T.cosh(b), lambda a, b: np.sinh(a) + np.cosh(b),
                      [_any(3), _any(3, key=1)], ("sinh", "cosh")),
        "minimum": (T.minimum, np.minimum,
                    [_distinct(3, 4, key=2) * 20, _distinct(3, 4, key=3) * 20 + 0.003],
                    ("minimum",)),
        "relu_leaky": (lambda a, b: T.nnet.relu(a) + T.nnet.relu(b, 0.1),
                       lambda a, b: np.maximum(a, 0) + np.where(b >= 0, b, 0.1 * b),
                       [_distinct(3, 4, key=4) * 20 + 0.003, _distinct(3, 4, key=5) * 20 + 0.003],
                       ("maximum", "where", "greater_equal")),
        "comparisons": (lambda a, b: T.or_(a > 0, T.eq(a, b)), lambda a, b: (a > 0) | (a == b),
                        _comparison_inputs(), ("greater", "equal", "logical_or")),
        "second_order_power_sin": (
            lambda a: T.grad(T.grad((a ** 3 + T.sin(a)).sum(), a).sum(), a),
            lambda a: 6 * a - np.sin(a), [_any(4)], ("power", "sin", "cos", "multiply")),
        # -- reductions
        "sum_all_keepdims": (lambda a: a.sum() + T.sum(a, axis=(0, 2), keepdims=True),
                             lambda a: a.sum() + a.sum(axis=(0, 2), keepdims=True),
                             [_any(3, 4, 2)], ("sum",)),
        "min": (lambda a: T.min(a, axis=0), lambda a: a.min(axis=0), [_distinct(3, 5, key=1)],
                ("min", "equal")),
        "max_gradient_ties": (lambda a: T.grad(a.max(axis=1).sum() + a.max(), a),
                              lambda a: (a == a.max(axis=1, keepdims=True)) + 1.0 * (a == a.max()),
                              [np.array([[1.0, 3.0, 3.0, 0.0], [2.0, -1.0, 2.0, 1.0]])],
                              ("max", "equal")),
        "var_std_norm": (lambda a: T.var(a, axis=1) + T.std(a) + T.norm(a, 2, axis=1),
                         lambda a: a.var(axis=1) + a.std() + np.linalg.norm(a, axis=1),
                         [_any(3, 5)], ("mean", "sum", "square", "sqrt", "subtract")),
        "argmax_argmin": (lambda a: a.argmax(axis=1) + T.argmin(a),
                          lambda a: a.argmax(axis=1) + a.argmin(), [_any(3, 4, key=2)],
                          ("argmax", "argmin")),
        # -- products
        "dot_matrix_vector": (lambda m, v, u: T.dot(m, v) + T.dot(u, m.T),
                              lambda m, v, u: m @ v + u @ m.T,
                              [_any(3, 4), _any(4), _any(4, key=1)], ("matmul",)),
        "dot_vector_vector_scalar": (lambda a, b, s: T.dot(a, b) * T.dot(a, s),
                                     lambda a, b, s: np.dot(a, b) * np.dot(a, s),
                                     [_any(5), _any(5, key=1), np.array(1.7)],
                                     ("matmul", "multiply")),
        "dot_3d_matrix": (T.dot, np.dot, [_any(2, 3, 4), _any(4, 5)], ("matmul", "tensordot")),
        "dot_3d_3d": (T.dot, np.dot, [_any(2, 3, 4), _any(3, 4, 2)], ("tensordot",)),
        "matmul_operator_outer": (lambda a, b, u, v: a @ b + T.outer(u, v),
                                  lambda a, b, u, v: a @ b + np.outer(u, v),
                                  [_any(3, 4), _any(4, 2), _any(3), _any(2)],
                                  ("matmul", "multiply")),
        # -- softmax family
        "crossentropy_onehot": (
            lambda a: T.nnet.categorical_crossentropy(T.nnet.softmax(a), onehot_labels),
            lambda a: -sp.log_softmax(a, axis=1)[np.arange(3), labels], [_any(3, 5, key=1)],
            ("log_softmax", "softmax", "sum")),
        # -- indexing and shapes
        "take_axis1": (lambda a: a[:, np.array([1, 1, 3])], lambda a: a[:, [1, 1, 3]],
                       [_any(3, 4)], ("take", "scatter_add")),
        "inc_subtensor_repeated": (lambda a, b: T.inc_subtensor(a[[0, 2, 0]], b),
                                   lambda a, b: _inc_repeated(a, b, [0, 2, 0]),
                                   [_any(3, 2), _any(3, 2, key=1)], ("scatter_add", "take")),
        "reshape_symbolic": (lambda a: a.reshape((a.shape[1], -1)), lambda a: a.reshape(4, -1),
                             [_any(3, 4)], ("reshape",)),
        "flatten_transpose": (lambda a: T.flatten(a, 2).T, lambda a: a.reshape(2, -1).T,
                              [_any(2, 3, 4)], ("reshape", "permute_dims")),
        "alloc_zeros_like": (lambda a, b: T.alloc(a, 3, 2) + T.zeros_like(b) + b * 2,
                             lambda a, b: np.broadcast_to(a, (3, 2)) + 2 * b,
                             [_any(2), _any(3, 2)], ("broadcast_to", "sum")),
    }
    # theano.tensor.extra_ops and nnet.neighbours (issue 18)
    cases.update({
        "cumsum_axis1": (lambda a: T.extra_ops.cumsum(a, axis=1),
                         lambda a: np.cumsum(a, axis=1), [_any(3, 5)], ("cumsum",)),
        "cumprod_axis0": (lambda a: T.extra_ops.cumprod(a, axis=0),
                          lambda a: np.cumprod(a, axis=0), [_pos(4, 3)], ("cumprod", "cumsum")),
        "repeat_diff": (lambda a: T.extra_ops.diff(T.extra_ops.repeat(a, np.array([2, 0, 1, 3]),
                                                                      axis=1), axis=1)
                        + T.extra_ops.repeat(a, 2, axis=0)[:3, 0].dimshuffle(0, "x"),
                        lambda a: np.diff(np.repeat(a, [2, 0, 1, 3], axis=1), axis=1)
                        + np.repeat(a, 2, axis=0)[:3, :1],
                        [_any(3, 4)], ("cumsum", "take", "scatter_add", "broadcast_to")),
        "images2neibs_overlap": (
            lambda a: T.nnet.neighbours.images2neibs(a, (2, 3), (1, 2), mode="ignore_borders"),
            lambda a: _ref_images2neibs(a, (2, 3), (1, 2)), [_any(2, 2, 4, 7)],
            ("getitem", "stack", "reshape")),
    })
    for mode, ws, stride, pad, ib in (("max", (2, 2), (2, 2), (0, 0), False),
                                      ("max", (3, 2), (1, 2), (1, 1), True),
                                      ("sum", (2, 3), (2, 1), (0, 0), False),
                                      ("average_inc_pad", (3, 3), (2, 2), (1, 1), True),
                                      ("average_exc_pad", (3, 2), (2, 2), (1, 0), True)):
        build, ref = _pool(mode, ws, stride, pad, ib)
        name = f"pool_{mode}_ws{ws[0]}{ws[1]}_st{stride[0]}{stride[1]}_pad{pad[0]}{pad[1]}" \
               f"{'_ib' if ib else ''}"
        cases[name] = (build, ref, [_distinct(1, 2, 7, 6)], ("pool2d", "pool2d_grad"))
    # chained max-pools (issue 18, decision D62): an overlapping 3x3 stride-2 pool outputs
    # copies of one cell that tie in the next pool; the cell must be counted once
    cases["pool_max_chain_3x3s2_then_2x2s1"] = (
        lambda a: _pool_build(_pool_build(a, *_CHAIN[0]), *_CHAIN[1]),
        lambda a: _pool_ref(_pool_ref(a, *_CHAIN[0]), *_CHAIN[1]),
        [_distinct(2, 3, 7, 7)], ("pool2d", "pool2d_grad"))
    cases["inception_block_then_max_pool"] = (
        _inception_build, _inception_ref,
        [_distinct(1, 2, 7, 7), _any(2, 2, 1, 1, key=7), _any(3, 2, 3, 3, key=8) * 0.5],
        ("conv2d", "conv2d_grad_input", "conv2d_grad_weight", "pool2d", "pool2d_grad",
         "concatenate"))
    return cases


#: (mode, ws, stride, pad, ignore_border) of the two-pool chain
_CHAIN = (("max", (3, 3), (2, 2), (0, 0), True), ("max", (2, 2), (1, 1), (0, 0), True))
#: the inception block's pools: its 3x3 stride-1 pad-1 branch, the 3x3 stride-2 pool after
_INCEPTION_POOLS = (("max", (3, 3), (1, 1), (1, 1), True), ("max", (3, 3), (2, 2), (0, 0), False))


def _pool_build(a, mode, ws, stride, pad, ignore_border):
    return _pool(mode, ws, stride, pad, ignore_border)[0](a)


def _pool_ref(a, mode, ws, stride, pad, ignore_border):
    return ref_pool2d(a, ws, stride, pad, mode, ignore_border)


def _inception_build(x, w1, w3):
    """GoogLeNet's inception pattern: a 1x1 conv, a 3x3 'half' conv and a 3x3 stride-1
    pad-1 max-pool of ``x``, concatenated along channels, then a 3x3 stride-2 max-pool."""
    import layerkit.core.tensor as T
    cat = T.concatenate([T.nnet.conv2d(x, w1), T.nnet.conv2d(x, w3, border_mode="half"),
                         _pool_build(x, *_INCEPTION_POOLS[0])], axis=1)
    return _pool_build(cat, *_INCEPTION_POOLS[1])


def _inception_ref(x, w1, w3):
    cat = np.concatenate([_conv_ref("valid")(x, w1), _conv_ref("half")(x, w3),
                          _pool_ref(x, *_INCEPTION_POOLS[0])], axis=1)
    return _pool_ref(cat, *_INCEPTION_POOLS[1])


def _set_inc(a, b):
    out = a.copy()
    out[1:3] = b
    out[:, 1] += b[:1].sum()
    return out


def _inc_repeated(a, b, idx):
    out = a.copy()
    np.add.at(out, idx, b)
    return out


def _ref_images2neibs(a, shape, step):
    """Theano's row order: image, channel, window row, window column; each window row-major."""
    (nh, nw), (sh, sw) = shape, step
    rows = (a.shape[2] - nh) // sh + 1
    cols = (a.shape[3] - nw) // sw + 1
    return np.array([a[n, c, r * sh:r * sh + nh, q * sw:q * sw + nw].ravel()
                     for n in range(a.shape[0]) for c in range(a.shape[1])
                     for r in range(rows) for q in range(cols)])


def _conv3d_ref(x, w, pad, stride):
    """Theano's conv3d (a true convolution: the filters flipped) by loops, float64."""
    x = np.pad(x, ((0, 0), (0, 0)) + ((pad, pad),) * 3)
    flipped = w[:, :, ::-1, ::-1, ::-1]
    kd, kh, kw = w.shape[2:]
    sizes = [(x.shape[2 + a] - k) // s + 1 for a, (k, s) in enumerate(zip((kd, kh, kw), stride))]
    out = np.zeros((x.shape[0], w.shape[0], *sizes))
    for d in range(sizes[0]):
        for i in range(sizes[1]):
            for j in range(sizes[2]):
                a, b, c = d * stride[0], i * stride[1], j * stride[2]
                out[:, :, d, i, j] = np.einsum(
                    "ncdhw,ocdhw->no", x[:, :, a:a + kd, b:b + kh, c:c + kw], flipped)
    return out


CASES = _cases()
#: forward tolerances (float64); the rest use 1e-10
FORWARD_TOL = {"erf": 1e-9}
#: cases with integer or boolean results, compared exactly in this dtype
EXACT_DTYPE = {"argmax_argmin": "int64", "comparisons": "bool", "max_gradient_ties": "float64"}
#: cases without a gradient to check: integer or boolean results, and the gradient of
#: max at ties (a finite difference breaks the tie)
FORWARD_ONLY = frozenset({"argmax_argmin", "comparisons", "max_gradient_ties"})


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
    dtype = EXACT_DTYPE.get(name)
    assert_close(got, reference(*arrays), name,
                 f"forward on {[a.shape for a in arrays]} (kernels {', '.join(kernels)})",
                 what="op case", kernels=kernels, rtol=tol, atol=tol, dtype=dtype,
                 exact=dtype is not None)


@pytest.mark.parametrize("name", sorted(set(CASES) - FORWARD_ONLY))
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
