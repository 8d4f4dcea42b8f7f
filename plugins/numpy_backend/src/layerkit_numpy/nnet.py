"""softmax, log-softmax and logsumexp (scipy's), computed stably."""
from __future__ import annotations

import numpy as np
import scipy.special as sp

__all__ = ["NNET_KERNELS"]


def softmax(x, axis=-1):
    # subtracting the maximum keeps exp from overflowing; in place saves two temporaries
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def logsumexp(x, axis=None, keepdims=False):
    return sp.logsumexp(x, axis=axis, keepdims=keepdims)


NNET_KERNELS = {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp}
