"""``lasagne.layers.corrmm``: Lasagne's ``Conv2DMMLayer`` (Theano's GEMM-based GPU
convolution), as the portable :class:`Conv2DLayer`.

The only difference from ``Conv2DLayer`` is Lasagne's default for this layer:
its filters are not flipped (``flip_filters=False``, a correlation).

>>> from layerkit.layers import InputLayer
>>> from layerkit.layers.corrmm import Conv2DMMLayer
>>> Conv2DMMLayer(InputLayer((None, 3, 8, 8)), 4, 3, pad='same').output_shape
(None, 4, 8, 8)
"""
from __future__ import annotations

from .. import init, nonlinearities
from .conv import Conv2DLayer
from .dnn import _groups

__all__ = ["Conv2DMMLayer"]


class Conv2DMMLayer(Conv2DLayer):
    """``Conv2DMMLayer(incoming, num_filters, filter_size, stride=(1, 1), pad=0,
    untie_biases=False, W=GlorotUniform(), b=Constant(0.), nonlinearity=rectify,
    flip_filters=False, num_groups=1, **kwargs)``."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=False, num_groups=1,
                 **kwargs):
        _groups("Conv2DMMLayer", Conv2DLayer, num_groups, kwargs)
        super().__init__(incoming, num_filters, filter_size, stride=stride, pad=pad,
                         untie_biases=untie_biases, W=W, b=b, nonlinearity=nonlinearity,
                         flip_filters=flip_filters, **kwargs)
