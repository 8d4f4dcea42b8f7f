"""softmax and log-softmax along one axis (the last by default), and logsumexp,
computed stably.

Each subtracts the maximum first, so exp never overflows and at least one
term of each sum is exp(0) = 1, so the log never sees 0.
"""
from __future__ import annotations

from ._namespace import namespace

__all__ = ["NNET_KERNELS"]


def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (an int, negative from the end)."""
    xp = namespace(x)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """``(x - max) - log(sum(exp(x - max)))`` along ``axis`` (an int, negative from the end)."""
    xp = namespace(x)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``; all -inf gives -inf and a +inf gives +inf, not NaN."""
    xp = namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isinf(m), xp.zeros_like(m), m)
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return out
    if axis is None:
        return xp.reshape(out, ())
    return xp.squeeze(out, axis=tuple(axis) if isinstance(axis, (tuple, list)) else axis)


NNET_KERNELS = {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp}
