"""The old ``theano.tensor.nnet.conv.conv2d`` (``image_shape=``, flips filters)."""
from __future__ import annotations

from ...ignored import warn_ignored
from ...ops.conv import conv2d as _conv2d

__all__ = ["conv2d"]


def conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), **kwargs):
    """Old-style 2-D convolution: ``border_mode`` 'valid' or 'full', filters flipped.

    The arguments are in Theano's order (``image_shape`` before ``filter_shape``).
    Theano's other keyword arguments tuned its C code (``unroll_batch``,
    ``unroll_kern``, ``verbose``, ...): they are ignored with an
    :class:`~layerkit.core.ignored.IgnoredArgumentWarning` naming each;
    ``imshp_logical`` and ``kshp_logical``, which change the result, are refused.
    """
    for name in ("imshp_logical", "kshp_logical"):
        if kwargs.get(name) is not None:   # these change the result: not silently
            raise NotImplementedError(f"nnet.conv.conv2d: {name} (a convolution over "
                                      "an upsampled logical shape) is not supported")
    for name in sorted(kwargs):
        warn_ignored("nnet.conv.conv2d", name, "a tuning argument of Theano's old C "
                     "convolution; layerkit's kernels have no such knob")
    if border_mode not in ("valid", "full"):
        raise ValueError(f"nnet.conv.conv2d supports border_mode 'valid' or 'full', got "
                         f"{border_mode!r}; use T.nnet.conv2d for other modes")
    return _conv2d(input, filters, input_shape=image_shape, filter_shape=filter_shape,
                   border_mode=border_mode, subsample=subsample, filter_flip=True)
