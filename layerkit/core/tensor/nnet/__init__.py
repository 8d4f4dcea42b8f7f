"""``T.nnet``: activations, softmax and the cross-entropies (Theano's names)."""
from __future__ import annotations

import warnings

from ...graph import as_variable
from ...ops import nnet as _nnet
from ...ops.elemwise import elu, hard_sigmoid, relu, selu, sigmoid, softplus
from ...ops.nnet import (binary_crossentropy, categorical_crossentropy, log_softmax, logsoftmax,
                         sigmoid_binary_crossentropy)
from ...ops.shape import shape_padleft
from . import abstract_conv, conv, neighbours
from .abstract_conv import conv2d, conv3d
from .neighbours import images2neibs, neibs2images

__all__ = ["conv2d", "conv3d", "conv", "neighbours", "images2neibs", "neibs2images", "sigmoid", "softmax", "log_softmax", "logsoftmax", "relu", "softplus",
           "ultra_fast_sigmoid", "hard_sigmoid", "categorical_crossentropy",
           "binary_crossentropy", "sigmoid_binary_crossentropy", "elu", "selu"]

ultra_fast_sigmoid = sigmoid

_LAST = object()
_WARNED_VECTOR = []


def softmax(c, axis=_LAST):
    """Theano's ``T.nnet.softmax``: :func:`layerkit.core.tensor.softmax` along
    ``axis`` (default the last), except that a vector given without ``axis`` is
    taken as one row and a ``(1, n)`` matrix returned, as Theano's did (old
    scripts index ``s[:, 0, :]`` of it); ``T.softmax(v)`` keeps a vector a vector."""
    c = as_variable(c)
    if axis is _LAST and c.ndim == 1:
        if not _WARNED_VECTOR:
            _WARNED_VECTOR.append(True)
            warnings.warn("T.nnet.softmax of a vector returns a (1, n) matrix, as Theano's "
                          "did; use T.softmax(v) (or pass axis=-1) for a vector",
                          UserWarning, stacklevel=2)
        c = shape_padleft(c)
    return _nnet.softmax(c, -1 if axis is _LAST else axis)
