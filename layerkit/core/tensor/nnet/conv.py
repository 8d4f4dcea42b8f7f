"""The old ``theano.tensor.nnet.conv.conv2d`` (``image_shape=``, flips filters)."""
from __future__ import annotations

from .abstract_conv import conv2d as _conv2d

__all__ = ["conv2d"]


def conv2d(input, filters, filter_shape=None, image_shape=None, border_mode="valid",
           subsample=(1, 1), **kwargs):
    """Old-style 2-D convolution: ``border_mode`` 'valid' or 'full', filters flipped."""
    if border_mode not in ("valid", "full"):
        raise ValueError(f"nnet.conv.conv2d supports border_mode 'valid' or 'full', got "
                         f"{border_mode!r}; use T.nnet.conv2d for other modes")
    return _conv2d(input, filters, input_shape=image_shape, filter_shape=filter_shape,
                   border_mode=border_mode, subsample=subsample, filter_flip=True)
