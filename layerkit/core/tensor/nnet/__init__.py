"""``T.nnet``: activations, softmax and the cross-entropies (Theano's names)."""
from __future__ import annotations

from ...graph import as_variable
from ...op import ShapeError
from ...ops.nnet import check_class_labels
from .. import basic as _T
from ..basic import log_softmax, logsoftmax, relu, sigmoid, softmax, softplus
from . import abstract_conv, conv, neighbours
from .abstract_conv import conv2d
from .neighbours import images2neibs, neibs2images

__all__ = ["conv2d", "conv", "neighbours", "images2neibs", "neibs2images", "sigmoid", "softmax", "log_softmax", "logsoftmax", "relu", "softplus",
           "ultra_fast_sigmoid", "hard_sigmoid", "categorical_crossentropy",
           "binary_crossentropy", "sigmoid_binary_crossentropy", "elu", "selu"]

ultra_fast_sigmoid = sigmoid


def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid: clip(0.2 * x + 0.5, 0, 1)."""
    return _T.clip(0.2 * as_variable(x) + 0.5, 0, 1)


def categorical_crossentropy(coding_dist, true_dist):
    """``-sum(true * log(coding), axis=-1)``; integer targets pick one class per row.

    With ``coding_dist = softmax(z)`` (along any axis) the log is taken as
    ``log_softmax(z)`` along the same axis, so logits of +-1000 give finite
    losses and gradients.

    Integer targets are class indices ``0 .. C-1`` for ``C = coding_dist.shape[-1]``,
    one per row: their shape must be ``coding_dist.shape[:-1]``. A label outside
    ``0 .. C-1`` (a negative one, or ``C`` from labels counted from 1) raises
    ``IndexError`` naming the label, ``C`` and the row, and a shape mismatch raises
    ``ValueError`` naming both shapes: at build time where the shapes or labels
    are known, otherwise when the function runs (in the loss and in its gradient).
    No label is ignored (there is no ``ignore_index``).
    """
    p = as_variable(coding_dist)
    t = as_variable(true_dist)
    if t.dtype.startswith(("int", "uint")):
        logp = _T.log(p)
        # checked against log(p), which is computed anyway (p itself may be rewritten away)
        t = check_class_labels(t, logp, "categorical_crossentropy")
        if p.ndim == 2:
            return -logp[_T.arange(t.shape[0]), t]
        flat = _T.reshape(logp, (-1, p.shape[-1]))
        ft = _T.flatten(t)
        return _T.reshape(-flat[_T.arange(ft.shape[0]), ft], t.shape)
    if t.ndim != p.ndim:
        raise ValueError(f"categorical_crossentropy: one-hot targets of shape {t.type.shape} "
                         f"do not match predictions of shape {p.type.shape}")
    for k, (a, b) in enumerate(zip(p.type.shape, t.type.shape)):
        if a is not None and b is not None and a != b and 1 not in (a, b):
            raise ShapeError(f"categorical_crossentropy: predictions of shape {p.type.shape} "
                             f"and one-hot targets of shape {t.type.shape} differ in "
                             f"dimension {k}")
    return -_T.sum(t * _T.log(p), axis=p.ndim - 1)


def binary_crossentropy(output, target):
    """``-(t * log(p) + (1 - t) * log(1 - p))``; stable when ``p`` is a sigmoid."""
    p, t = as_variable(output), as_variable(target)
    return -(t * _T.log(p) + (1 - t) * _T.log(1 - p))


def sigmoid_binary_crossentropy(logits, target):
    z, t = as_variable(logits), as_variable(target)
    return t * _T.softplus(-z) + (1 - t) * _T.softplus(z)


def elu(x, alpha=1.0):
    x = as_variable(x)
    return _T.switch(_T.gt(x, 0), x, alpha * _T.expm1(x))


def selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(x, alpha)
