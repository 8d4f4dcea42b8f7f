"""Convolution layers: one base class over the number of spatial dimensions."""
from __future__ import annotations

from .. import init, nonlinearities
from ..core import tensor as T
from ..utils import as_tuple
from .base import Layer

__all__ = ["BaseConvLayer", "Conv1DLayer", "Conv2DLayer", "conv_output_length"]


def conv_output_length(input_length, filter_size, stride, pad=0):
    """Lasagne's rule for 'valid', 'full', 'same' or integer padding."""
    if input_length is None:
        return None
    if pad == "valid":
        out = input_length - filter_size + 1
    elif pad == "full":
        out = input_length + filter_size - 1
    elif pad == "same":
        out = input_length
    elif isinstance(pad, int):
        out = input_length + 2 * pad - filter_size + 1
    else:
        raise ValueError(f"invalid pad: {pad!r}")
    return (out + stride - 1) // stride


class BaseConvLayer(Layer):
    """An ``n``-dimensional convolution; subclasses implement :meth:`convolve`."""

    def __init__(self, incoming, num_filters, filter_size, stride=1, pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, n=None, **kwargs):
        super().__init__(incoming, **kwargs)
        if n is None:
            n = len(self.input_shape) - 2
        elif n != len(self.input_shape) - 2:
            raise ValueError(f"{type(self).__name__}: tried to create a {n}D convolution layer "
                             f"with input shape {self.input_shape}; expected {n + 2} input "
                             f"dimensions (batchsize, channels, {n} spatial dimensions)")
        self.n = n
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, n, int)
        self.flip_filters = flip_filters
        self.stride = as_tuple(stride, n, int)
        self.untie_biases = untie_biases
        if pad == "same":
            if any(s % 2 == 0 for s in self.filter_size):
                raise NotImplementedError("`same` padding requires odd filter size")
        if pad == "valid":
            self.pad = as_tuple(0, n)
        elif pad in ("full", "same"):
            self.pad = pad
        else:
            self.pad = as_tuple(pad, n, int)
        if self.input_shape[1] is None:
            raise ValueError(f"{type(self).__name__}: the number of input channels must be known; "
                             f"got input shape {self.input_shape}")
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_filters,) + tuple(self.output_shape[2:]) if untie_biases else (num_filters,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_W_shape(self):
        return (self.num_filters, self.input_shape[1]) + self.filter_size

    def get_output_shape_for(self, input_shape):
        pad = self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, f, s, p)
            for i, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, pad))

    def get_output_for(self, input, **kwargs):
        conved = self.convolve(input, **kwargs)
        if self.b is None:
            activation = conved
        elif self.untie_biases:
            activation = conved + T.shape_padleft(self.b, 1)
        else:
            activation = conved + self.b.dimshuffle(("x", 0) + ("x",) * self.n)
        return self.nonlinearity(activation)

    def convolve(self, input, **kwargs):
        raise NotImplementedError


class Conv2DLayer(BaseConvLayer):
    """2-D convolution over (batch, channels, rows, columns) input.

    >>> from layerkit.layers import InputLayer, Conv2DLayer
    >>> Conv2DLayer(InputLayer((None, 3, 32, 32)), 16, 5, pad='same').output_shape
    (None, 16, 32, 32)
    """

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=True, convolution=None,
                 **kwargs):
        self.convolution = convolution or T.nnet.conv2d
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                         nonlinearity, flip_filters, n=2, **kwargs)

    def convolve(self, input, **kwargs):
        border_mode = "half" if self.pad == "same" else self.pad
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(),
                                subsample=self.stride, border_mode=border_mode,
                                filter_flip=self.flip_filters)


class Conv1DLayer(BaseConvLayer):
    """1-D convolution over (batch, channels, length) input (a 2-D convolution of height 1)."""

    def __init__(self, incoming, num_filters, filter_size, stride=1, pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, **kwargs):
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                         nonlinearity, flip_filters, n=1, **kwargs)

    def convolve(self, input, **kwargs):
        if self.pad == "same":
            border = (0, self.filter_size[0] // 2)
        elif self.pad == "full":
            border = (0, self.filter_size[0] - 1)
        else:
            border = (0, self.pad[0])
        x4 = input.dimshuffle(0, 1, "x", 2)
        w4 = self.W.dimshuffle(0, 1, "x", 2)
        conved = T.nnet.conv2d(x4, w4, subsample=(1, self.stride[0]), border_mode=border,
                               filter_flip=self.flip_filters)
        return conved[:, :, 0, :]
