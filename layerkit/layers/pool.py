"""Pooling layers."""
from __future__ import annotations

from ..core import tensor as T
from ..core.tensor.signal.pool import pool_2d
from ..utils import as_tuple
from .base import Layer

__all__ = ["Pool2DLayer", "MaxPool2DLayer", "Pool1DLayer", "MaxPool1DLayer", "GlobalPoolLayer",
           "Upscale2DLayer", "pool_output_length"]


def pool_output_length(input_length, pool_size, stride, pad, ignore_border):
    """Lasagne's (and Theano's) pooled length; partial windows count without ignore_border."""
    if input_length is None or pool_size is None:
        return None
    if ignore_border:
        out = input_length + 2 * pad - pool_size + 1
        return (out + stride - 1) // stride
    if pad != 0:
        raise NotImplementedError("padding requires ignore_border=True")
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


class Pool2DLayer(Layer):
    """Pool over the two trailing axes; ``mode`` 'max', 'average_inc_pad',
    'average_exc_pad' or 'sum'."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True,
                 mode="max", **kwargs):
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError(f"{type(self).__name__}: tried to create a 2D pooling layer with "
                             f"input shape {self.input_shape}; expected 4 input dimensions "
                             "(batchsize, channels, 2 spatial dimensions)")
        self.pool_size = as_tuple(pool_size, 2)
        self.stride = self.pool_size if stride is None else as_tuple(stride, 2)
        self.pad = as_tuple(pad, 2)
        self.ignore_border, self.mode = ignore_border, mode

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        for k in (0, 1):
            shape[2 + k] = pool_output_length(input_shape[2 + k], self.pool_size[k],
                                              self.stride[k], self.pad[k], self.ignore_border)
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        return pool_2d(input, ws=self.pool_size, stride=self.stride,
                       ignore_border=self.ignore_border, pad=self.pad, mode=self.mode)


class MaxPool2DLayer(Pool2DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class Pool1DLayer(Layer):
    """Pool over the trailing axis of (batch, channels, length) input."""

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True,
                 mode="max", **kwargs):
        super().__init__(incoming, **kwargs)
        self.pool_size = as_tuple(pool_size, 1)[0]
        self.stride = self.pool_size if stride is None else as_tuple(stride, 1)[0]
        self.pad = as_tuple(pad, 1)[0]
        self.ignore_border, self.mode = ignore_border, mode

    def get_output_shape_for(self, input_shape):
        return input_shape[:2] + (pool_output_length(input_shape[2], self.pool_size, self.stride,
                                                     self.pad, self.ignore_border),)

    def get_output_for(self, input, **kwargs):
        out = pool_2d(input.dimshuffle(0, 1, 2, "x"), ws=(self.pool_size, 1),
                      stride=(self.stride, 1), ignore_border=self.ignore_border,
                      pad=(self.pad, 0), mode=self.mode)
        return out[:, :, :, 0]


class MaxPool1DLayer(Pool1DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class GlobalPoolLayer(Layer):
    """Pool over every trailing axis (from axis 2) with ``pool_function`` (default mean)."""

    def __init__(self, incoming, pool_function=T.mean, **kwargs):
        super().__init__(incoming, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape):
        return input_shape[:2]

    def get_output_for(self, input, **kwargs):
        return self.pool_function(T.flatten(input, 3), axis=2)


class Upscale2DLayer(Layer):
    """Repeat rows and columns ``scale_factor`` times ('repeat' mode)."""

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super().__init__(incoming, **kwargs)
        self.scale_factor = as_tuple(scale_factor, 2)
        if any(isinstance(f, bool) or not isinstance(f, int) or f < 1
               for f in self.scale_factor):
            raise ValueError(f"Upscale2DLayer: the scale factor must be integers >= 1, got "
                             f"scale_factor={scale_factor!r}")
        if mode not in ("repeat", "dilate"):
            raise ValueError(f"Upscale2DLayer: mode must be 'repeat' or 'dilate', got {mode!r}")
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        for k in (0, 1):
            if shape[2 + k] is not None:
                shape[2 + k] *= self.scale_factor[k]
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        a, b = self.scale_factor
        n, c, h, w = (input.shape[i] for i in range(4))
        if self.mode == "dilate":
            out = T.zeros((n, c, h * a, w * b), dtype=input.dtype)
            return T.set_subtensor(out[:, :, ::a, ::b], input)
        x = input.dimshuffle(0, 1, 2, "x", 3, "x")
        x = x * T.ones((1, 1, 1, a, 1, b), dtype=input.dtype)
        return T.reshape(x, (n, c, h * a, w * b))
