"""Nonlinearities (Lasagne's ``lasagne.nonlinearities``): functions of an
expression that return an expression, for a layer's ``nonlinearity=``.

>>> import layerkit.core as theano, layerkit.core.tensor as T
>>> from layerkit.nonlinearities import rectify, LeakyRectify
>>> x = T.dvector("x")
>>> theano.function([x], LeakyRectify(0.1)(x))([-1.0, 2.0])
array([-0.1,  2. ])
"""
from __future__ import annotations

from .core import tensor as T

__all__ = ["sigmoid", "softmax", "tanh", "ScaledTanH", "ScaledTanh", "rectify",
           "LeakyRectify", "leaky_rectify", "very_leaky_rectify", "elu", "SELU", "selu",
           "softplus", "linear", "identity"]


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``."""
    return T.nnet.sigmoid(x)


def softmax(x):
    """Row-wise softmax of a matrix: ``exp(x) / sum(exp(x), axis=1)``."""
    return T.nnet.softmax(x)


def tanh(x):
    """The hyperbolic tangent."""
    return T.tanh(x)


class ScaledTanH:
    """``scale_out * tanh(scale_in * x)``; LeCun's choice is ``ScaledTanH(2/3, 1.7159)``."""

    def __init__(self, scale_in=1, scale_out=1):
        self.scale_in = scale_in
        self.scale_out = scale_out

    def __call__(self, x):
        return T.tanh(x * self.scale_in) * self.scale_out


ScaledTanh = ScaledTanH


def rectify(x):
    """``max(0, x)``."""
    return T.nnet.relu(x)


class LeakyRectify:
    """``x`` for positive ``x``, else ``leakiness * x`` (default 0.01)."""

    def __init__(self, leakiness=0.01):
        self.leakiness = leakiness

    def __call__(self, x):
        return T.nnet.relu(x, self.leakiness)


leaky_rectify = LeakyRectify()
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x):
    """Exponential linear unit: ``x`` for ``x > 0``, else ``exp(x) - 1``."""
    return T.switch(T.gt(x, 0), x, T.expm1(x))


class SELU:
    """``scale * x`` for ``x > 0``, else ``scale * scale_neg * (exp(x) - 1)``."""

    def __init__(self, scale=1, scale_neg=1):
        self.scale = scale
        self.scale_neg = scale_neg

    def __call__(self, x):
        return self.scale * T.switch(T.gt(x, 0), x, self.scale_neg * T.expm1(x))


# the self-normalising constants of Klambauer et al. (2017)
selu = SELU(scale=1.0507009873554804934193349852946,
            scale_neg=1.6732632423543772848170429916717)


def softplus(x):
    """``log(1 + exp(x))``, computed stably."""
    return T.nnet.softplus(x)


def linear(x):
    """The identity: ``x`` unchanged."""
    return x


identity = linear
