"""softmax, log-softmax and logsumexp over the last axis, computed stably."""
from __future__ import annotations

from array_api_compat import array_namespace

__all__ = ["NNET_KERNELS"]


def softmax(x):
    xp = array_namespace(x)
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def log_softmax(x):
    xp = array_namespace(x)
    shifted = x - xp.max(x, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def logsumexp(x, axis=None, keepdims=False):
    xp = array_namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isinf(m), xp.zeros_like(m), m)   # all -inf rows stay -inf, not NaN
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = xp.squeeze(out, axis=tuple(range(x.ndim)) if axis is None else axis)
    return out


NNET_KERNELS = {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp}
