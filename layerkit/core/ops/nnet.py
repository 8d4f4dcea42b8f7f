"""Softmax and log-softmax along an axis (the ops, their builders and the stable
forms that produce them), and the check of integer class labels."""
from __future__ import annotations

import inspect
import math

import numpy as np

from ..config import config
from ..graph import Apply, Constant, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, is_float, is_int
from .basic import cast
from .elemwise import exp, log, scalar_name, softplus, stable_form
from .reduce import Reduce
from .reduce import sum as sum_
from .shape import arange, flatten, reshape

__all__ = ["Softmax", "LogSoftmax", "softmax", "log_softmax", "logsoftmax",
           "normalize_softmax_axis", "CheckClassLabels", "check_class_labels",
           "categorical_crossentropy", "binary_crossentropy", "sigmoid_binary_crossentropy"]


def normalize_softmax_axis(axis, ndim: int, who: str = "softmax"):
    """``axis`` as a non-negative int, or None (every axis); -1 is the last axis.

    Refuses what would otherwise be ignored: a bool, a float, a tuple, an axis
    outside ``-ndim .. ndim - 1``.
    """
    if axis is None:
        return None
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{who}: axis must be an int or None, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for a {ndim}-d input "
                         f"(valid: {-ndim} .. {ndim - 1}, or None for all axes)")
    return axis % ndim


def _takes_axis(fn) -> bool:
    """True when the kernel ``fn`` accepts ``axis=`` (a plugin written for the old
    last-axis-only contract does not: the op then moves the axis last itself)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "axis" or p.kind is p.VAR_KEYWORD for p in params)


class _AxisOp(Op):
    """Normalised over one axis (a non-negative int) or over every element (None)."""

    __props__ = ("axis",)
    kernel = ""

    def __init__(self, axis=-1) -> None:
        # negative axes are resolved in make_node, when the input's ndim is known
        if axis is not None and (isinstance(axis, (bool, np.bool_))
                                 or not isinstance(axis, (int, np.integer))):
            raise TypeError(f"{type(self).__name__}: axis must be an int or None, got {axis!r}")
        self.axis = None if axis is None else int(axis)

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        if not is_float(x.dtype):
            x = cast(x, config.floatX)
        name = "softmax" if self.kernel == "softmax" else "log_softmax"
        if x.ndim == 0:
            raise ValueError(f"{name} needs at least a 1-d input")
        axis = normalize_softmax_axis(self.axis, x.ndim, name)
        if axis != self.axis:
            return type(self)(axis).make_node(x)
        return Apply(self, [x], [x.type])

    def _sum(self, v):
        return v.sum(axis=self.axis, keepdims=True)

    def thunk(self, backend, node):
        fn = backend.kernel(self.kernel)
        ndim = node.inputs[0].ndim
        axis = self.axis
        if axis == ndim - 1 or (axis is None and ndim == 1):
            return fn                                   # the last axis: every kernel's default
        if axis is None:                                # every element: one long row
            reshape = backend.kernel("reshape")
            return lambda x: reshape(fn(reshape(x, (-1,))), x.shape)
        if _takes_axis(fn):
            return lambda x: fn(x, axis=axis)
        permute = backend.kernel("permute_dims")
        order = tuple(k for k in range(ndim) if k != axis) + (axis,)
        back = tuple(int(i) for i in np.argsort(order))
        return lambda x: permute(fn(permute(x, order)), back)


class Softmax(_AxisOp):
    """``exp(x) / sum(exp(x), axis)``, computed as ``exp(x - max)`` first."""

    kernel = "softmax"

    def grad(self, inputs, outputs, output_grads):
        sm, g = outputs[0], output_grads[0]
        gs = g * sm
        return [gs - sm * self._sum(gs)]


class LogSoftmax(_AxisOp):
    """``x - log(sum(exp(x), axis))``, computed as ``x - max`` first."""

    kernel = "log_softmax"

    def grad(self, inputs, outputs, output_grads):
        lsm, g = outputs[0], output_grads[0]
        return [g - exp(lsm) * self._sum(g)]


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis, keepdims=True)``, computed stably.

    ``axis``: an int, negative counting from the end (default: the last axis,
    Theano's rows of a matrix), or None for every element at once (as
    ``scipy.special.softmax`` and PyTensor).
    """
    return Softmax(axis)(as_variable(x))


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis, keepdims=True)``, computed stably; ``axis`` as in
    :func:`softmax`."""
    return LogSoftmax(axis)(as_variable(x))


logsoftmax = log_softmax


# -- the stable forms that produce softmax and log-softmax (see elemwise.STABLE_FORMS) --

def _made_by(v, op_class):
    return v.owner is not None and isinstance(v.owner.op, op_class)


@stable_form("log")
def log_of_softmax(x):
    """``log(softmax(z, axis)) -> log_softmax(z, axis)`` (the same axis, or None)."""
    return log_softmax(x.owner.inputs[0], axis=x.owner.op.axis) if _made_by(x, Softmax) else None


@stable_form("exp")
def exp_of_log_softmax(x):
    """``exp(log_softmax(z, axis)) -> softmax(z, axis)`` (the same axis)."""
    return softmax(x.owner.inputs[0], axis=x.owner.op.axis) if _made_by(x, LogSoftmax) else None


@stable_form("divide")
def softmax_of_division(a, b):
    """``exp(x - m) / sum(exp(x - m), axis, keepdims=True) -> softmax(x, axis)`` when the
    sum is over one axis (or over every axis: ``axis=None``) and ``m`` is constant
    along it (size 1 there)."""
    if scalar_name(a) != "exp" or a.ndim < 1 or not _made_by(b, Reduce) \
            or b.owner.op.name != "sum":
        return None
    op = b.owner.op
    axes = _sum_axes(op.axis, a.ndim)
    if b.owner.inputs[0] is not a or not op.keepdims or axes is None:
        return None
    z = a.owner.inputs[0]
    if scalar_name(z) == "subtract":
        m = z.owner.inputs[1]
        m_shape = (1,) * (z.ndim - m.ndim) + tuple(m.type.shape)
        x = z.owner.inputs[0]
        # softmax(x - m) == softmax(x) when m is constant along the axes, and only if
        # m does not broadcast x to a larger shape (only axes known to be 1 broadcast)
        if m.ndim <= z.ndim and all(m_shape[k] == 1 for k in axes) and x.ndim == z.ndim \
                and not any(xs == 1 and ms != 1 for xs, ms in zip(x.type.shape, m_shape)):
            z = x
    if z.ndim != a.ndim:
        return None
    return softmax(z, axis=axes[0] if len(axes) == 1 else None)


def _sum_axes(axis, ndim: int):
    """The reduced axes as a tuple when they are one axis or all of them, else None
    (a sum over some but not all of several axes is no softmax the op computes)."""
    axes = tuple(range(ndim)) if axis is None else tuple(sorted(int(k) % ndim for k in axis))
    if len(axes) == 1 or axes == tuple(range(ndim)):
        return axes
    return None


# -- integer class labels -------------------------------------------------------------

def _label_error(who: str, labels: np.ndarray, n_classes: int) -> IndexError:
    bad = np.argwhere((labels < 0) | (labels >= n_classes))[0]
    value = int(labels[tuple(bad)])
    where = f"row {int(bad[0])}" if labels.ndim == 1 else f"index {tuple(int(b) for b in bad)}"
    return IndexError(f"{who}: target {value} is out of bounds for {n_classes} classes "
                      f"(labels must be in 0..{n_classes - 1}), at {where} of the targets")


def _shape_error(who, pred_shape, target_shape, cls=ValueError):
    return cls(f"{who}: dimension mismatch between predictions of shape {tuple(pred_shape)} "
               f"and integer targets of shape {tuple(target_shape)} (the targets need the "
               f"predictions' shape without its last, class, axis: "
               f"{tuple(pred_shape)[:-1]})")


class CheckClassLabels(Op):
    """The integer targets ``t`` of predictions ``p`` (a copy), once checked:
    ``t.shape == p.shape[:-1]`` and ``0 <= t < p.shape[-1]``.

    Class indices never wrap: a negative label, or one equal to the number of
    classes (labels 1..C instead of 0..C-1), raises ``IndexError`` naming the
    label, the number of classes and the row; a shape mismatch raises
    ``ValueError`` naming both shapes. Every use of the labels (the loss and
    its gradient, in any rewritten form) reads them through this node.
    """

    __props__ = ("who",)

    def __init__(self, who: str = "categorical_crossentropy") -> None:
        self.who = who

    def make_node(self, labels, predictions) -> Apply:
        t, p = as_variable(labels), as_variable(predictions)
        if not is_int(t.dtype):
            raise TypeError(f"{self.who}: class labels must be integers, got {t.dtype}")
        if p.ndim == 0:
            raise ValueError(f"{self.who}: predictions must have a class axis, got a scalar")
        if t.ndim != p.ndim - 1:
            raise _shape_error(self.who, p.type.shape, t.type.shape, ShapeError)
        for a, b in zip(p.type.shape, t.type.shape):
            if a is not None and b is not None and a != b:
                raise _shape_error(self.who, p.type.shape, t.type.shape, ShapeError)
        if isinstance(t, Constant):
            data = np.asarray(t.data)
            n = p.type.shape[-1]
            if data.size and (data.min() < 0 or (n is not None and data.max() >= n)):
                if n is None:
                    bad = np.argwhere(data < 0)[0]
                    where = f"row {int(bad[0])}" if data.ndim == 1 else f"index {tuple(bad)}"
                    raise IndexError(f"{self.who}: target {int(data[tuple(bad)])} is negative, "
                                     f"at {where} of the targets (labels must be in 0..C-1)")
                raise _label_error(self.who, data, n)
        shape = tuple(b if b is not None else a for a, b in zip(p.type.shape, t.type.shape))
        return Apply(self, [t, p], [TensorType(t.dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        return [None, None]

    def thunk(self, backend, node):
        lo, hi, copy = backend.kernel("min"), backend.kernel("max"), backend.kernel("copy")
        to_numpy, who = backend.to_numpy, self.who

        def run(t, p):
            want = tuple(p.shape[:-1])
            if tuple(t.shape) != want:
                raise _shape_error(who, p.shape, t.shape)
            n = int(p.shape[-1])
            if math.prod(t.shape) and (int(to_numpy(lo(t))) < 0 or int(to_numpy(hi(t))) >= n):
                raise _label_error(who, np.asarray(to_numpy(t)), n)
            return copy(t)
        return run


def check_class_labels(labels, predictions, who: str = "categorical_crossentropy"):
    """``labels`` checked against ``predictions`` (see :class:`CheckClassLabels`)."""
    return CheckClassLabels(who)(labels, predictions)


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
        logp = log(p)
        # checked against log(p), which is computed anyway (p itself may be rewritten away)
        t = check_class_labels(t, logp, "categorical_crossentropy")
        if p.ndim == 2:
            return -logp[arange(t.shape[0]), t]
        flat = reshape(logp, (-1, p.shape[-1]))
        ft = flatten(t)
        return reshape(-flat[arange(ft.shape[0]), ft], t.shape)
    if t.ndim != p.ndim:
        raise ValueError(f"categorical_crossentropy: one-hot targets of shape {t.type.shape} "
                         f"do not match predictions of shape {p.type.shape}")
    for k, (a, b) in enumerate(zip(p.type.shape, t.type.shape)):
        if a is not None and b is not None and a != b and 1 not in (a, b):
            raise ShapeError(f"categorical_crossentropy: predictions of shape {p.type.shape} "
                             f"and one-hot targets of shape {t.type.shape} differ in "
                             f"dimension {k}")
    return -sum_(t * log(p), axis=p.ndim - 1)


def binary_crossentropy(output, target):
    """``-(t * log(p) + (1 - t) * log(1 - p))``; stable when ``p`` is a sigmoid."""
    p, t = as_variable(output), as_variable(target)
    return -(t * log(p) + (1 - t) * log(1 - p))


def sigmoid_binary_crossentropy(logits, target):
    z, t = as_variable(logits), as_variable(target)
    return t * softplus(-z) + (1 - t) * softplus(z)
