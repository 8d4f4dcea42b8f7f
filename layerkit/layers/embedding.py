"""Embedding layers (Lasagne's ``lasagne.layers.embedding``)."""
from __future__ import annotations

import numbers

from .. import init
from .base import Layer

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    """Look up a learned vector for every integer of the input: ``W[input]``.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
        Integer input (indices in ``[0, input_size)``), of any shape.
    input_size : int
        The number of distinct indices (the vocabulary size).
    output_size : int
        The length of each vector.
    W : initializer, array or shared variable
        The table, of shape ``(input_size, output_size)``. Default ``Normal()``.

    The output has the input's shape plus a last axis of ``output_size``;
    the gradient of ``W`` adds up over repeated indices.

    >>> import layerkit.core.tensor as T
    >>> from layerkit.layers import InputLayer, EmbeddingLayer
    >>> l_in = InputLayer((None, 7), input_var=T.imatrix())
    >>> EmbeddingLayer(l_in, input_size=100, output_size=16).output_shape
    (None, 7, 16)
    """

    def __init__(self, incoming, input_size, output_size, W=init.Normal(), **kwargs):
        super().__init__(incoming, **kwargs)
        for what, value in (("input_size", input_size), ("output_size", output_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"{self!r}: {what} must be a positive integer, "
                                 f"got {what}={value!r}")
        self.input_size, self.output_size = int(input_size), int(output_size)
        self.W = self.add_param(W, (input_size, output_size), name="W")

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape) + (self.output_size,)

    def get_output_for(self, input, **kwargs):
        return self.W[input]
