"""Numerically stable forms of what people write by hand (DESIGN 4a).

These run when the expression is built, so the gradient is taken of the
stable form too: ``log(softmax(x))`` would otherwise differentiate into
``1/softmax(x)``, which is infinite at logits of +-1000.

Each function takes the operands of the op being built and returns the
stable replacement, or None when the pattern does not apply.
"""
from __future__ import annotations

from ..graph import Constant, Variable

__all__ = ["log_of", "divide", "subtract_from_one", "exp_of"]


def _op_name(v) -> str | None:
    if isinstance(v, Variable) and v.owner is not None:
        op = v.owner.op
        return getattr(op, "name", None) or type(op).__name__
    return None


def _is_const(v, value) -> bool:
    return isinstance(v, Constant) and v.data.size == 1 and float(v.data.reshape(())) == value \
        or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == value)


def log_of(x):
    """``log(softmax(z, axis)) -> log_softmax(z, axis)`` (the same axis, or None);
    ``log(sigmoid(z)) -> -softplus(-z)``;
    ``log(1 - sigmoid(z)) -> -softplus(z)`` (found through :func:`subtract_from_one`)."""
    from ..tensor import basic as T
    name = _op_name(x)
    if name == "Softmax":
        return T.log_softmax(x.owner.inputs[0], axis=x.owner.op.axis)
    if name == "sigmoid":
        return -T.softplus(-x.owner.inputs[0])
    if name == "subtract":
        a, b = x.owner.inputs
        if _is_const(a, 1) and _op_name(b) == "sigmoid":
            return -T.softplus(b.owner.inputs[0])
    if name == "exp":
        return x.owner.inputs[0]
    return None


def divide(a, b):
    """``1 / (1 + exp(-z)) -> sigmoid(z)``; ``exp(x - m) / sum(exp(x - m), axis,
    keepdims=True) -> softmax(x, axis)`` when the sum is over one axis (or over
    every axis: ``axis=None``) and ``m`` is constant along it (size 1 there)."""
    from ..tensor import basic as T
    if _is_const(a, 1) and _op_name(b) == "add":
        u, v = b.owner.inputs
        for one, e in ((u, v), (v, u)):
            if _is_const(one, 1) and _op_name(e) == "exp":
                return T.sigmoid(-e.owner.inputs[0])
    if _op_name(a) == "exp" and _op_name(b) == "sum" and a.ndim >= 1:
        op = b.owner.op
        axes = _sum_axes(op.axis, a.ndim)
        if b.owner.inputs[0] is a and op.keepdims and axes is not None:
            z = a.owner.inputs[0]
            if _op_name(z) == "subtract":
                m = z.owner.inputs[1]
                m_shape = (1,) * (z.ndim - m.ndim) + tuple(m.type.shape)
                if m.ndim <= z.ndim and all(m_shape[k] == 1 for k in axes):
                    z = z.owner.inputs[0]  # softmax(x - m) == softmax(x): m constant along axes
            if z.ndim != a.ndim:
                return None
            return T.softmax(z, axis=axes[0] if len(axes) == 1 else None)
    return None


def _sum_axes(axis, ndim: int):
    """The reduced axes as a tuple when they are one axis or all of them, else None
    (a sum over some but not all of several axes is no softmax the op computes)."""
    axes = tuple(range(ndim)) if axis is None else tuple(sorted(int(k) % ndim for k in axis))
    if len(axes) == 1 or axes == tuple(range(ndim)):
        return axes
    return None


def subtract_from_one(a, b):
    """Nothing to rewrite at build time (``log_of`` recognises ``1 - sigmoid``)."""
    return None


def exp_of(x):
    """``exp(log_softmax(z, axis)) -> softmax(z, axis)`` (the same axis)."""
    from ..tensor import basic as T
    if _op_name(x) == "LogSoftmax":
        return T.softmax(x.owner.inputs[0], axis=x.owner.op.axis)
    return None
