"""``T.nnet``: activations, softmax and the cross-entropies (Theano's names)."""
from __future__ import annotations

from ...ops.elemwise import elu, hard_sigmoid, relu, selu, sigmoid, softplus
from ...ops.nnet import (binary_crossentropy, categorical_crossentropy, log_softmax, logsoftmax,
                         sigmoid_binary_crossentropy, softmax)
from . import abstract_conv, conv, neighbours
from .abstract_conv import conv2d, conv3d
from .neighbours import images2neibs, neibs2images

__all__ = ["conv2d", "conv3d", "conv", "neighbours", "images2neibs", "neibs2images", "sigmoid", "softmax", "log_softmax", "logsoftmax", "relu", "softplus",
           "ultra_fast_sigmoid", "hard_sigmoid", "categorical_crossentropy",
           "binary_crossentropy", "sigmoid_binary_crossentropy", "elu", "selu"]

ultra_fast_sigmoid = sigmoid
