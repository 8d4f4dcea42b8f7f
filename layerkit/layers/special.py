"""Small layers: nonlinearity, bias, scale, expressions."""
from __future__ import annotations

from .. import init, nonlinearities
from .base import Layer

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer"]


class NonlinearityLayer(Layer):
    """Apply ``nonlinearity`` elementwise (default ``rectify``; ``None`` means linear).

    >>> from layerkit.layers import InputLayer, NonlinearityLayer
    >>> from layerkit.nonlinearities import softmax
    >>> NonlinearityLayer(InputLayer((None, 10)), softmax).output_shape
    (None, 10)
    """

    def __init__(self, incoming, nonlinearity=nonlinearities.rectify, **kwargs):
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity

    def get_output_for(self, input, **kwargs):
        return self.nonlinearity(input)


def _broadcast_pattern(ndim, shared_axes):
    return ["x" if a in shared_axes else None for a in range(ndim)]


class BiasLayer(Layer):
    """Add a learned bias, shared over ``shared_axes`` ('auto': all but axis 1)."""

    def __init__(self, incoming, b=init.Constant(0), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = tuple(shared_axes)
        if b is None:
            self.b = None
        else:
            shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.shared_axes]
            if any(s is None for s in shape):
                raise ValueError(f"BiasLayer needs specified input sizes for all axes that biases "
                                 f"are not shared over; got {self.input_shape}")
            self.b = self.add_param(b, shape, "b", regularizable=False)

    def get_output_for(self, input, **kwargs):
        if self.b is None:
            return input
        pattern, k = [], 0
        for axis in range(input.ndim):
            if axis in self.shared_axes:
                pattern.append("x")
            else:
                pattern.append(k)
                k += 1
        return input + self.b.dimshuffle(*pattern)


class ScaleLayer(Layer):
    """Multiply by a learned scale, shared over ``shared_axes``."""

    def __init__(self, incoming, scales=init.Constant(1), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = tuple(shared_axes)
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.shared_axes]
        if any(s is None for s in shape):
            raise ValueError(f"ScaleLayer needs specified input sizes for all axes that scales "
                             f"are not shared over; got {self.input_shape}")
        self.scales = self.add_param(scales, shape, "scales", regularizable=False)

    def get_output_for(self, input, **kwargs):
        pattern, k = [], 0
        for axis in range(input.ndim):
            if axis in self.shared_axes:
                pattern.append("x")
            else:
                pattern.append(k)
                k += 1
        return input * self.scales.dimshuffle(*pattern)


class ExpressionLayer(Layer):
    """Apply ``function(input)``; ``output_shape`` is a shape, a callable, or None (same)."""

    def __init__(self, incoming, function, output_shape=None, **kwargs):
        super().__init__(incoming, **kwargs)
        self.function = function
        if output_shape is None:
            self._output_shape = None
        elif output_shape == "auto":
            self._output_shape = "auto"
        elif callable(output_shape):
            self.get_output_shape_for = output_shape
        else:
            self._output_shape = tuple(output_shape)

    def get_output_shape_for(self, input_shape):
        if getattr(self, "_output_shape", None) is None:
            return input_shape
        if self._output_shape == "auto":
            raise NotImplementedError("ExpressionLayer: output_shape='auto' is not supported; "
                                      "give the shape or a function of the input shape")
        return self._output_shape

    def get_output_for(self, input, **kwargs):
        return self.function(input)
