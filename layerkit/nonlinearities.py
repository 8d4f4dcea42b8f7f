"""Nonlinearities (Lasagne's ``lasagne.nonlinearities``): graph builders."""
from __future__ import annotations

from .core import tensor as T

__all__ = ["sigmoid", "softmax", "tanh", "ScaledTanH", "ScaledTanh", "rectify",
           "LeakyRectify", "leaky_rectify", "very_leaky_rectify", "elu", "SELU", "selu",
           "softplus", "linear", "identity"]


def sigmoid(x):
    return T.nnet.sigmoid(x)


def softmax(x):
    return T.nnet.softmax(x)


def tanh(x):
    return T.tanh(x)


class ScaledTanH:
    """``scale_out * tanh(scale_in * x)``."""

    def __init__(self, scale_in=1, scale_out=1):
        self.scale_in, self.scale_out = scale_in, scale_out

    def __call__(self, x):
        return self.scale_out * T.tanh(self.scale_in * x)


ScaledTanh = ScaledTanH


def rectify(x):
    return T.nnet.relu(x)


class LeakyRectify:
    """``max(x, leakiness * x)``."""

    def __init__(self, leakiness=0.01):
        self.leakiness = leakiness

    def __call__(self, x):
        return T.nnet.relu(x, self.leakiness)


leaky_rectify = LeakyRectify()
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x):
    return T.switch(x > 0, x, T.expm1(x))


class SELU:
    def __init__(self, scale=1.0507009873554805, scale_neg=1.6732632423543772):
        self.scale, self.scale_neg = scale, scale_neg

    def __call__(self, x):
        return self.scale * T.switch(x > 0, x, self.scale_neg * T.expm1(x))


selu = SELU()


def softplus(x):
    return T.nnet.softplus(x)


def linear(x):
    return x


identity = linear
