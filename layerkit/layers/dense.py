"""Fully connected layers (Lasagne's ``lasagne.layers.dense``)."""
from __future__ import annotations

import math
import numbers

from .. import init, nonlinearities
from ..core import tensor as T
from .base import Layer

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(Layer):
    """A fully connected layer: ``nonlinearity(dot(input, W) + b)``.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
        The layer feeding into this one, or the expected input shape.
    num_units : int
        The number of units (outputs per example).
    W : initializer, numpy array, shared variable or expression
        The weights, of shape ``(num_inputs, num_units)`` where ``num_inputs``
        is the product of the trailing input dimensions. Default
        ``GlorotUniform()``.
    b : initializer, numpy array, shared variable, expression or None
        The biases, of shape ``(num_units,)``; ``None`` for no bias. Default
        ``Constant(0.)``. Not regularizable.
    nonlinearity : callable or None
        Applied to the activation; ``None`` means linear. Default ``rectify``.
    num_leading_axes : int
        How many leading axes to keep (one output row per position along
        them); the remaining, trailing axes are flattened into the dot
        product. Negative values count from the end. Default 1.

    >>> from layerkit.layers import InputLayer, DenseLayer
    >>> l_in = InputLayer((None, 10, 20, 30))
    >>> DenseLayer(l_in, num_units=50).output_shape
    (None, 50)
    >>> DenseLayer(l_in, num_units=50, num_leading_axes=2).output_shape
    (None, 10, 50)
    >>> DenseLayer(l_in, num_units=50, num_leading_axes=-1).output_shape
    (None, 10, 20, 50)
    """

    def __init__(self, incoming, num_units, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, num_leading_axes=1, **kwargs):
        super().__init__(incoming, **kwargs)
        if isinstance(num_units, bool) or not isinstance(num_units, numbers.Integral) \
                or num_units <= 0:
            raise ValueError(f"{self!r}: num_units must be a positive integer, "
                             f"got num_units={num_units!r}")
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = int(num_units)
        ndim = len(self.input_shape)
        if num_leading_axes >= ndim:
            raise ValueError(f"{self!r}: got num_leading_axes={num_leading_axes} for a "
                             f"{ndim}-dimensional input {self.input_shape}, leaving no "
                             "trailing axes for the dot product")
        if num_leading_axes < -ndim:
            raise ValueError(f"{self!r}: got num_leading_axes={num_leading_axes} for a "
                             f"{ndim}-dimensional input {self.input_shape}, requesting more "
                             "trailing axes than there are input dimensions")
        self.num_leading_axes = num_leading_axes
        trailing = self.input_shape[num_leading_axes:]
        if any(s is None for s in trailing):
            raise ValueError(f"{self!r} requires a fixed input shape except for the leading "
                             f"axes; got input shape {self.input_shape} for "
                             f"num_leading_axes={num_leading_axes}")
        num_inputs = math.prod(trailing)
        self.W = self.add_param(W, (num_inputs, self.num_units), name="W")
        if b is None:
            self.b = None
        else:
            self.b = self.add_param(b, (self.num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape[:self.num_leading_axes]) + (self.num_units,)

    def get_output_for(self, input, **kwargs):
        leading = self.num_leading_axes
        if leading < 0:
            leading += input.ndim
        if input.ndim > leading + 1:
            # the trailing axes become one: (leading..., prod(trailing))
            input = T.flatten(input, leading + 1)
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
