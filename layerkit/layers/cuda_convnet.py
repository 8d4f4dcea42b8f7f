"""``lasagne.layers.cuda_convnet``: Lasagne's cuda-convnet layer names, as portable layers.

Lasagne wrapped Krizhevsky's cuda-convnet kernels (through pylearn2), which
work in the ``c01b`` axis order (channels, rows, columns, batch) instead of
Theano's ``bc01``. Here every name is built from the portable layers and runs
on any backend:

- ``Conv2DCCLayer``: a 2-D convolution without filter flipping by default
  (``flip_filters=False``); with ``dimshuffle=True`` (the default) it takes
  and returns ``bc01`` like :class:`Conv2DLayer`, with ``dimshuffle=False``
  it takes and returns ``c01b`` and its ``W`` is ``(channels, rows, columns,
  filters)``, as in Lasagne.
- ``MaxPool2DCCLayer``: max-pooling that keeps partial windows at the border
  (``ignore_border=False`` by default), in ``bc01`` or ``c01b``.
- ``ShuffleBC01ToC01BLayer`` / ``bc01_to_c01b`` and ``ShuffleC01BToBC01Layer`` /
  ``c01b_to_bc01``: the axis reorderings; ``NINLayer_c01b``: a
  network-in-network layer over ``c01b`` input.

cuda-convnet's kernel limits (square filters and strides, a multiple of 16
filters, 1-3 or a multiple of 4 input channels) do not apply to the portable
layers, so they are not enforced.

>>> from layerkit.layers import InputLayer
>>> from layerkit.layers.cuda_convnet import Conv2DCCLayer, MaxPool2DCCLayer
>>> MaxPool2DCCLayer(Conv2DCCLayer(InputLayer((None, 3, 9, 9)), 16, 3), 2).output_shape
(None, 16, 4, 4)
"""
from __future__ import annotations

from .. import init, nonlinearities
from ..core import tensor as T
from ..core.ignored import warn_ignored
from ..core.tensor.signal.pool import pool_2d
from ..utils import as_tuple
from .base import Layer
from .conv import Conv2DLayer
from .pool import pool_output_length

__all__ = ["CCLayer", "Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer",
           "bc01_to_c01b", "ShuffleC01BToBC01Layer", "c01b_to_bc01", "NINLayer_c01b"]


def _to_bc01(shape):
    return (shape[3], shape[0], shape[1], shape[2])


def _to_c01b(shape):
    return (shape[1], shape[2], shape[3], shape[0])


class CCLayer(Layer):
    """Lasagne's base class of the cuda-convnet layers (for ``isinstance`` checks)."""


class Conv2DCCLayer(Conv2DLayer, CCLayer):
    """``Conv2DCCLayer(incoming, num_filters, filter_size, stride=(1, 1), pad=0,
    untie_biases=False, W=None, b=Constant(0.), nonlinearity=rectify,
    dimshuffle=True, flip_filters=False, partial_sum=1, **kwargs)``.

    ``W=None`` is ``GlorotUniform()`` (``GlorotUniform(c01b=True)`` with
    ``dimshuffle=False``). ``partial_sum`` tuned cuda-convnet's weight-gradient
    kernel and does not change a result: it is accepted and ignored.
    """

    groups_supported = False          # its convolution has no groups

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0,
                 untie_biases=False, W=None, b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, dimshuffle=True, flip_filters=False,
                 partial_sum=1, **kwargs):
        if W is None:
            W = init.GlorotUniform() if dimshuffle else init.GlorotUniform(c01b=True)
        self.dimshuffle = dimshuffle
        self.partial_sum = partial_sum
        if partial_sum != 1:
            warn_ignored("Conv2DCCLayer", "partial_sum", "it tuned cuda-convnet's kernel and "
                         "changes no result")
        # the base class sizes untied biases from bc01 axes; in c01b they are
        # (filters, rows, columns) of the c01b output, added here
        untied_c01b = not dimshuffle and untie_biases and b is not None
        super().__init__(incoming, num_filters, filter_size, stride=stride, pad=pad,
                         untie_biases=untie_biases, W=W, b=None if untied_c01b else b,
                         nonlinearity=nonlinearity, flip_filters=flip_filters, **kwargs)
        if untied_c01b:
            self.b = self.add_param(b, (num_filters,) + tuple(self.output_shape[1:3]),
                                    name="b", regularizable=False)

    @property
    def _bc01_input_shape(self):
        return self.input_shape if self.dimshuffle else _to_bc01(self.input_shape)

    def get_W_shape(self):
        channels = self._bc01_input_shape[1]
        if self.dimshuffle:
            return (self.num_filters, channels) + self.filter_size
        return (channels,) + self.filter_size + (self.num_filters,)

    def get_output_shape_for(self, input_shape):
        if self.dimshuffle:
            return super().get_output_shape_for(input_shape)
        return _to_c01b(super().get_output_shape_for(_to_bc01(input_shape)))

    def get_output_for(self, input, **kwargs):
        if self.dimshuffle:
            return super().get_output_for(input, **kwargs)
        # c01b: compute in bc01 with W as (filters, channels, rows, columns), then move back
        conved = T.nnet.conv2d(
            input.dimshuffle(3, 0, 1, 2), self.W.dimshuffle(3, 0, 1, 2),
            _to_bc01(self.input_shape), (self.num_filters, self._bc01_input_shape[1])
            + self.filter_size, subsample=self.stride,
            border_mode="half" if self.pad == "same" else self.pad,
            filter_flip=self.flip_filters)
        if self.b is not None:
            if self.untie_biases:
                conved = conved + T.shape_padleft(self.b, 1)
            else:
                conved = conved + self.b.dimshuffle("x", 0, "x", "x")
        return self.nonlinearity(conved).dimshuffle(1, 2, 3, 0)


class MaxPool2DCCLayer(CCLayer):
    """``MaxPool2DCCLayer(incoming, pool_size, stride=None, ignore_border=False,
    dimshuffle=True, **kwargs)``: max-pooling over rows and columns, ``bc01``
    (``dimshuffle=True``) or ``c01b``; partial windows at the border count
    unless ``ignore_border=True``. Padding is not supported (as in Lasagne)."""

    def __init__(self, incoming, pool_size, stride=None, ignore_border=False, dimshuffle=True,
                 **kwargs):
        pad = kwargs.pop("pad", 0)
        if as_tuple(pad, 2) != (0, 0):
            raise NotImplementedError("MaxPool2DCCLayer does not support padding (as in "
                                      "Lasagne); use MaxPool2DLayer")
        super().__init__(incoming, **kwargs)
        self.pool_size = as_tuple(pool_size, 2)
        self.stride = self.pool_size if stride is None else as_tuple(stride, 2)
        self.ignore_border = ignore_border
        self.dimshuffle = dimshuffle

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape if self.dimshuffle else _to_bc01(input_shape))
        for k in (0, 1):
            shape[2 + k] = pool_output_length(shape[2 + k], self.pool_size[k], self.stride[k],
                                              0, self.ignore_border)
        return tuple(shape) if self.dimshuffle else _to_c01b(tuple(shape))

    def get_output_for(self, input, **kwargs):
        if not self.dimshuffle:
            input = input.dimshuffle(3, 0, 1, 2)
        pooled = pool_2d(input, ws=self.pool_size, stride=self.stride,
                         ignore_border=self.ignore_border, mode="max")
        return pooled if self.dimshuffle else pooled.dimshuffle(1, 2, 3, 0)


class ShuffleBC01ToC01BLayer(Layer):
    """Reorder 4-d input from ``bc01`` (batch, channels, rows, columns) to ``c01b``."""

    def get_output_shape_for(self, input_shape):
        return _to_c01b(tuple(input_shape))

    def get_output_for(self, input, **kwargs):
        return input.dimshuffle(1, 2, 3, 0)


class ShuffleC01BToBC01Layer(Layer):
    """Reorder 4-d input from ``c01b`` (channels, rows, columns, batch) to ``bc01``."""

    def get_output_shape_for(self, input_shape):
        return _to_bc01(tuple(input_shape))

    def get_output_for(self, input, **kwargs):
        return input.dimshuffle(3, 0, 1, 2)


bc01_to_c01b = ShuffleBC01ToC01BLayer
c01b_to_bc01 = ShuffleC01BToBC01Layer


class NINLayer_c01b(Layer):  # noqa: N801 - Lasagne's name
    """A network-in-network layer over ``c01b`` input: ``W`` is ``(num_units, channels)``
    and the units replace the channels on axis 0. ``NINLayer_c01b(incoming, num_units,
    untie_biases=False, W=GlorotUniform(), b=Constant(0.), nonlinearity=rectify)``."""

    def __init__(self, incoming, num_units, untie_biases=False, W=init.GlorotUniform(),
                 b=init.Constant(0.), nonlinearity=nonlinearities.rectify, **kwargs):
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units, self.untie_biases = num_units, untie_biases
        self.W = self.add_param(W, (num_units, self.input_shape[0]), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_units,) + tuple(self.output_shape[1:-1]) if untie_biases \
                else (num_units,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (self.num_units,) + tuple(input_shape[1:])

    def get_output_for(self, input, **kwargs):
        out = T.tensordot(self.W, input, axes=[[1], [0]])
        if self.b is not None:
            rest = input.ndim - 1
            pattern = (list(range(rest)) + ["x"]) if self.untie_biases else [0] + ["x"] * rest
            out = out + self.b.dimshuffle(*pattern)
        return self.nonlinearity(out)
