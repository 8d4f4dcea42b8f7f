"""Fully connected layers."""
from __future__ import annotations

import numpy as np

from .. import init, nonlinearities
from ..core import tensor as T
from .base import Layer

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(Layer):
    """A fully connected layer: ``nonlinearity(dot(input, W) + b)``.

    Parameters
    ----------
    incoming : a Layer or a shape tuple
    num_units : int, the number of outputs
    W, b : initializers, arrays or shared variables (``b=None``: no bias)
    nonlinearity : callable (default rectify; None means linear)
    num_leading_axes : int, the leading axes kept (the rest are flattened);
        negative counts from the end

    >>> from layerkit.layers import InputLayer, DenseLayer
    >>> DenseLayer(InputLayer((None, 20)), num_units=50).output_shape
    (None, 50)
    """

    def __init__(self, incoming, num_units, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, num_leading_axes=1, **kwargs):
        super().__init__(incoming, **kwargs)
        if not isinstance(num_units, (int, np.integer)) or num_units <= 0:
            raise ValueError(f"DenseLayer: expected a positive integer num_units, got "
                             f"num_units={num_units!r}")
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = int(num_units)
        if num_leading_axes >= len(self.input_shape):
            raise ValueError(f"DenseLayer: got num_leading_axes={num_leading_axes} for a "
                             f"{len(self.input_shape)}-dimensional input; leaving no trailing "
                             "dimensions for the dot product")
        if num_leading_axes < -len(self.input_shape):
            raise ValueError(f"DenseLayer: got num_leading_axes={num_leading_axes} for a "
                             f"{len(self.input_shape)}-dimensional input; requesting more "
                             "trailing dimensions than there are input dimensions")
        self.num_leading_axes = num_leading_axes
        trailing = self.input_shape[num_leading_axes:]
        if any(s is None for s in trailing):
            raise ValueError(f"DenseLayer: a DenseLayer requires a fixed input shape (except "
                             f"for the leading axes); got {self.input_shape} for "
                             f"num_leading_axes={num_leading_axes}")
        num_inputs = int(np.prod(trailing))
        self.W = self.add_param(W, (num_inputs, num_units), name="W")
        self.b = None if b is None else self.add_param(b, (num_units,), name="b",
                                                       regularizable=False)

    def get_output_shape_for(self, input_shape):
        return input_shape[:self.num_leading_axes] + (self.num_units,)

    def get_output_for(self, input, **kwargs):
        n = self.num_leading_axes
        if n < 0:
            n += input.ndim
        if input.ndim > n + 1:
            # flatten the trailing axes into one
            input = T.flatten(input, n + 1)
        activation = T.dot(input, self.W)
        if self.b is not None:
            activation = activation + self.b
        return self.nonlinearity(activation)


class NINLayer(Layer):
    """A network-in-network layer: a dense layer over the channels (axis 1) of every position."""

    def __init__(self, incoming, num_units, untie_biases=False, W=init.GlorotUniform(),
                 b=init.Constant(0.), nonlinearity=nonlinearities.rectify, **kwargs):
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units, self.untie_biases = num_units, untie_biases
        num_input_channels = self.input_shape[1]
        self.W = self.add_param(W, (num_input_channels, num_units), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_units,) + tuple(self.output_shape[2:]) if untie_biases else (num_units,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_units) + tuple(input_shape[2:])

    def get_output_for(self, input, **kwargs):
        # move the channels last, contract them with W, and move the units back to axis 1
        rest = list(range(2, input.ndim))
        out = T.tensordot(input.dimshuffle(0, *rest, 1), self.W, axes=1)
        out = out.dimshuffle(0, input.ndim - 1, *range(1, input.ndim - 1))
        if self.b is not None:
            if self.untie_biases:
                out = out + self.b.dimshuffle("x", *range(self.b.ndim))
            else:
                out = out + self.b.dimshuffle("x", 0, *(["x"] * (input.ndim - 2)))
        return self.nonlinearity(out)
