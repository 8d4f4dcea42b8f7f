"""``lasagne.layers.dnn``: Lasagne's cuDNN layer names, as the portable layers.

Lasagne's ``dnn`` module offered cuDNN-backed versions of its convolution,
pooling and batch-normalization layers (and refused to import without a GPU).
Here each name is the portable layer with the ``dnn`` signature and defaults,
so a script that imports ``lasagne.layers.dnn`` builds the same network on any
backend (a backend may give the kernels a faster implementation; the layer
does not choose one). What differs from the portable layer is only what
Lasagne's ``dnn`` layer did differently:

- ``Conv2DDNNLayer`` (like cuDNN's default) does **not** flip its filters
  (``flip_filters=False``), where ``Conv2DLayer`` does;
- the pooling layers always ignore the border, as cuDNN does
  (``ignore_border=False`` raises ``NotImplementedError``, as in Lasagne);
- ``BatchNormDNNLayer`` only normalizes over the first axis or over every axis
  but the second (cuDNN's 'per-activation' and 'spatial' modes).

The 3-D layers and spatial pyramid pooling map to the portable
``Conv3DLayer`` (in ``conv.py``), ``Pool3DLayer``, ``MaxPool3DLayer`` and
``SpatialPyramidPoolingLayer`` (in ``pool.py``), looked up when this module is
imported; the portable 3-D layers are compositions of 2-D convolutions and
poolings (no dedicated 3-D kernel yet). Were one of them missing, its ``dnn``
name would still exist (a script that only imports it works) and constructing
it would raise ``NotImplementedError`` naming the missing layer.

>>> from layerkit.layers import InputLayer
>>> from layerkit.layers.dnn import Conv2DDNNLayer, MaxPool2DDNNLayer
>>> conv = Conv2DDNNLayer(InputLayer((None, 3, 8, 8)), 4, 3, pad=1)
>>> MaxPool2DDNNLayer(conv, 2).output_shape
(None, 4, 4, 4)
"""
from __future__ import annotations

import inspect

from .. import init, nonlinearities
from . import conv as _conv
from . import pool as _pool
from .base import Layer
from .normalization import BatchNormLayer, insert_batch_norm

__all__ = ["Conv2DDNNLayer", "Conv3DDNNLayer", "Pool2DDNNLayer", "MaxPool2DDNNLayer",
           "Pool3DDNNLayer", "MaxPool3DDNNLayer", "SpatialPyramidPoolingDNNLayer",
           "BatchNormDNNLayer", "batch_norm_dnn"]

def _accepts(cls, name: str) -> bool:
    return cls is not None and name in inspect.signature(cls.__init__).parameters


def _groups(layer_name: str, portable, num_groups, kwargs: dict) -> None:
    """Pass ``num_groups`` on where the portable layer takes it; 1 means none."""
    if _accepts(portable, "num_groups"):
        kwargs["num_groups"] = num_groups
    elif num_groups != 1:
        raise NotImplementedError(
            f"{layer_name}: grouped convolution (num_groups={num_groups}) is not supported "
            f"yet by {portable.__name__} (issue 18)")


def _not_yet(name: str, portable: str, module: str, doc: str):
    """A class named ``name`` whose construction raises NotImplementedError: the portable
    layer ``portable`` it stands for does not exist yet."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"layerkit.layers.dnn.{name}: it maps to the portable layer "
            f"layerkit.layers.{portable} (in layerkit/layers/{module}.py), which does not "
            f"exist yet (issue 18); importing {name} works, constructing it does not")

    return type(name, (Layer,), {"__init__": __init__, "__doc__": doc,
                                       "__module__": __name__})


# -- convolution ---------------------------------------------------------------------

class Conv2DDNNLayer(_conv.Conv2DLayer):
    """Lasagne's ``Conv2DDNNLayer``: :class:`Conv2DLayer` without filter flipping by default.

    ``Conv2DDNNLayer(incoming, num_filters, filter_size, stride=(1, 1), pad=0,
    untie_biases=False, W=GlorotUniform(), b=Constant(0.), nonlinearity=rectify,
    flip_filters=False, num_groups=1, **kwargs)``; ``pad`` takes an int, a pair,
    'valid', 'full' or 'same'.
    """

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=False, num_groups=1,
                 **kwargs):
        _groups("Conv2DDNNLayer", _conv.Conv2DLayer, num_groups, kwargs)
        super().__init__(incoming, num_filters, filter_size, stride=stride, pad=pad,
                         untie_biases=untie_biases, W=W, b=b, nonlinearity=nonlinearity,
                         flip_filters=flip_filters, **kwargs)


_Conv3D = getattr(_conv, "Conv3DLayer", None)
if _Conv3D is not None:
    class Conv3DDNNLayer(_Conv3D):
        """Lasagne's ``Conv3DDNNLayer``: :class:`Conv3DLayer` without filter flipping
        by default (``flip_filters=False``)."""

        def __init__(self, incoming, num_filters, filter_size, stride=(1, 1, 1), pad=0,
                     untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                     nonlinearity=nonlinearities.rectify, flip_filters=False, num_groups=1,
                     **kwargs):
            _groups("Conv3DDNNLayer", _Conv3D, num_groups, kwargs)
            super().__init__(incoming, num_filters, filter_size, stride=stride, pad=pad,
                             untie_biases=untie_biases, W=W, b=b, nonlinearity=nonlinearity,
                             flip_filters=flip_filters, **kwargs)
else:
    Conv3DDNNLayer = _not_yet("Conv3DDNNLayer", "Conv3DLayer", "conv",
                              "Lasagne's Conv3DDNNLayer; not available yet (issue 18).")


# -- pooling -------------------------------------------------------------------------

def _border(name: str, ignore_border) -> None:
    if not ignore_border:
        raise NotImplementedError(f"{name} does not support ignore_border=False (cuDNN's "
                                  "pooling always ignores the border, as in Lasagne); use "
                                  f"{'Pool3DLayer' if '3D' in name else 'Pool2DLayer'} for "
                                  "partial windows")


class Pool2DDNNLayer(_pool.Pool2DLayer):
    """Lasagne's ``Pool2DDNNLayer``: :class:`Pool2DLayer` that always ignores the border.

    ``Pool2DDNNLayer(incoming, pool_size, stride=None, pad=(0, 0),
    ignore_border=True, mode='max', **kwargs)``; ``mode`` 'max',
    'average_inc_pad' or 'average_exc_pad'.
    """

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True,
                 mode="max", **kwargs):
        _border(type(self).__name__, ignore_border)
        super().__init__(incoming, pool_size, stride=stride, pad=pad, ignore_border=True,
                         mode=mode, **kwargs)


class MaxPool2DDNNLayer(Pool2DDNNLayer):
    """Lasagne's ``MaxPool2DDNNLayer``: :class:`Pool2DDNNLayer` with ``mode='max'``."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True,
                 **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


_Pool3D = getattr(_pool, "Pool3DLayer", None)
if _Pool3D is not None:
    class Pool3DDNNLayer(_Pool3D):
        """Lasagne's ``Pool3DDNNLayer``: :class:`Pool3DLayer` that always ignores the border."""

        def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True,
                     mode="max", **kwargs):
            _border(type(self).__name__, ignore_border)
            super().__init__(incoming, pool_size, stride=stride, pad=pad, ignore_border=True,
                             mode=mode, **kwargs)

    _MaxPool3D = getattr(_pool, "MaxPool3DLayer", _Pool3D)

    class MaxPool3DDNNLayer(Pool3DDNNLayer, _MaxPool3D):
        """Lasagne's ``MaxPool3DDNNLayer``: :class:`Pool3DDNNLayer` with ``mode='max'``
        (also a :class:`MaxPool3DLayer`)."""

        def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True,
                     **kwargs):
            _border(type(self).__name__, ignore_border)
            _Pool3D.__init__(self, incoming, pool_size, stride=stride, pad=pad,
                             ignore_border=True, mode="max", **kwargs)
else:
    Pool3DDNNLayer = _not_yet("Pool3DDNNLayer", "Pool3DLayer", "pool",
                              "Lasagne's Pool3DDNNLayer; not available yet (issue 18).")
    MaxPool3DDNNLayer = _not_yet("MaxPool3DDNNLayer", "MaxPool3DLayer", "pool",
                                 "Lasagne's MaxPool3DDNNLayer; not available yet (issue 18).")


_SPP = getattr(_pool, "SpatialPyramidPoolingLayer", None)
if _SPP is not None:
    class SpatialPyramidPoolingDNNLayer(_SPP):
        """Lasagne's ``SpatialPyramidPoolingDNNLayer``: :class:`SpatialPyramidPoolingLayer`
        with the ``dnn`` signature ``(incoming, pool_dims=[4, 2, 1], mode='max')``."""

        def __init__(self, incoming, pool_dims=(4, 2, 1), mode="max", **kwargs):
            super().__init__(incoming, pool_dims=list(pool_dims), mode=mode, **kwargs)
else:
    SpatialPyramidPoolingDNNLayer = _not_yet(
        "SpatialPyramidPoolingDNNLayer", "SpatialPyramidPoolingLayer", "pool",
        "Lasagne's SpatialPyramidPoolingDNNLayer; not available yet (issue 18).")


# -- batch normalization ---------------------------------------------------------------

class BatchNormDNNLayer(BatchNormLayer):
    """Lasagne's ``BatchNormDNNLayer``: :class:`BatchNormLayer` restricted to cuDNN's two
    modes, normalizing over axis 0 ('per-activation') or over every axis but the
    second ('spatial', the default ``axes='auto'``). Same parameters, same numbers."""

    def __init__(self, incoming, axes="auto", epsilon=1e-4, alpha=0.1, beta=init.Constant(0),
                 gamma=init.Constant(1), mean=init.Constant(0), inv_std=init.Constant(1),
                 **kwargs):
        super().__init__(incoming, axes, epsilon, alpha, beta, gamma, mean, inv_std, **kwargs)
        spatial = (0,) + tuple(range(2, len(self.input_shape)))
        if self.axes not in ((0,), spatial):
            raise ValueError(f"BatchNormDNNLayer normalizes over the first axis or over all "
                             f"but the second axis {spatial}; got axes={axes!r}")


def batch_norm_dnn(layer, **kwargs):
    """Lasagne's ``batch_norm_dnn``: :func:`batch_norm` with a :class:`BatchNormDNNLayer`.

    The layer's nonlinearity moves to a :class:`NonlinearityLayer` on top, its
    bias is removed, and a ``BatchNormDNNLayer`` (named ``<layer name>_bn``;
    keyword arguments go to it) goes in between.
    """
    return insert_batch_norm(layer, BatchNormDNNLayer, **kwargs)
