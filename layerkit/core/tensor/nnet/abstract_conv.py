"""``T.nnet.conv2d`` with Theano's semantics (border modes, subsampling, dilation, flips)."""
from __future__ import annotations

from ...graph import as_variable
from ...ops.conv import Conv2D
from ...ignored import warn_ignored
from ...op import ShapeError

__all__ = ["conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "resolve_padding"]

BORDER_MODES = ("valid", "full", "half")


def _pair(v, what):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"conv2d: {what} must be an int or a pair, got {v}")
    return v


def resolve_padding(border_mode, filter_rows_cols, dilation):
    """Theano's border modes as integer padding per side: valid 0, full k-1, half k//2."""
    if isinstance(border_mode, str):
        if border_mode not in BORDER_MODES:
            raise ValueError(f"conv2d: border_mode must be one of {BORDER_MODES}, an int or a "
                             f"pair of ints, got {border_mode!r}")
        if border_mode == "valid":
            return (0, 0)
        if any(k is None for k in filter_rows_cols):
            return border_mode  # resolved from the filters' size at run time
        if border_mode == "full":
            return tuple(d * (k - 1) for k, d in zip(filter_rows_cols, dilation))
        return tuple(d * (k // 2) for k, d in zip(filter_rows_cols, dilation))
    pad = _pair(border_mode, "border_mode")
    if any(p < 0 for p in pad):
        raise ValueError(f"conv2d: padding must be >= 0, got {pad}")
    return pad


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_flip=True, image_shape=None, filter_dilation=(1, 1),
           num_groups=1, **kwargs):
    """2-D convolution of a 4-d ``input`` (batch, channels, rows, cols) with 4-d
    ``filters`` (out channels, in channels, rows, cols).

    ``filter_flip=True`` (the default, as in Theano) flips the filters: a true
    convolution; ``False`` gives cross-correlation.
    """
    from .. import basic as T
    _check_groups("conv2d", num_groups)
    _extra_kwargs("conv2d", kwargs)
    x, w = as_variable(input), as_variable(filters)
    input_shape = input_shape or image_shape
    if input_shape is not None:
        x = _with_static_shape(x, input_shape, "input_shape")
    if filter_shape is not None:
        w = _with_static_shape(w, filter_shape, "filter_shape")
    dilation = _pair(filter_dilation, "filter_dilation")
    stride = _pair(subsample, "subsample")
    if w.ndim != 4:
        raise ShapeError(f"conv2d expects 4-d filters, got shape {w.type.shape}")
    pad = resolve_padding(border_mode, w.type.shape[2:], dilation)
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    return Conv2D(stride, pad, dilation)(x, w)


def _check_groups(func, num_groups):
    if num_groups != 1:
        raise NotImplementedError(f"{func}: grouped convolution (num_groups > 1) is not "
                                  "supported yet")


def _extra_kwargs(func, kwargs):
    """Theano's conv2d takes ``**kwargs`` for old tuning arguments and ignores them."""
    if kwargs.pop("unshared", False):
        raise NotImplementedError(f"{func}: unshared (locally connected) convolution is not "
                                  "supported")
    for name in sorted(kwargs):
        warn_ignored(func, name, "not an argument layerkit's convolution knows (Theano kept "
                     "such arguments only for compatibility)", stacklevel=4)


def _with_static_shape(x, shape, what):
    """Check a declared shape against the variable's and record its known sizes."""
    from .. import basic as T
    shape = tuple(shape)
    if len(shape) != x.ndim:
        raise ShapeError(f"conv2d: {what}={shape} has {len(shape)} entries for a {x.ndim}-d variable")
    known = list(x.type.shape)
    for i, (s, k) in enumerate(zip(shape, known)):
        if s is None:
            continue
        if k is not None and k != s:
            raise ShapeError(f"conv2d: {what}={shape} disagrees with the variable's shape {x.type.shape}")
        known[i] = int(s)
    if tuple(known) == x.type.shape:
        return x
    return T.reshape(x, [k if k is not None else x.shape[i] for i, k in enumerate(known)])


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1), filter_flip=True,
                           filter_dilation=(1, 1), num_groups=1):
    """The gradient of ``conv2d`` with respect to its input: a transposed
    convolution (Lasagne's ``TransposedConv2DLayer`` is built on it).

    ``input_shape`` is the shape of the result (ints or symbolic scalars; the
    batch size may be None, taken from ``output_grad``).
    """
    from .. import basic as T
    from ...ops.conv import Conv2DGradInput
    _check_groups("conv2d_grad_wrt_inputs", num_groups)
    gy, w = as_variable(output_grad), as_variable(filters)
    if filter_shape is not None:
        w = _with_static_shape(w, filter_shape, "filter_shape")
    dilation = _pair(filter_dilation, "filter_dilation")
    pad = resolve_padding(border_mode, w.type.shape[2:], dilation)
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    shape = [gy.shape[0] if (i == 0 and s is None) else s for i, s in enumerate(input_shape)]
    if any(s is None for s in shape):
        raise ShapeError(f"conv2d_grad_wrt_inputs: input_shape {tuple(input_shape)} must give "
                         "every size but the batch")
    return Conv2DGradInput(_pair(subsample, "subsample"), pad, dilation)(gy, w, shape)


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,
                            border_mode="valid", subsample=(1, 1), filter_flip=True,
                            filter_dilation=(1, 1), num_groups=1):
    """The gradient of ``conv2d`` with respect to its filters."""
    from .. import basic as T
    from ...ops.conv import Conv2DGradWeight
    _check_groups("conv2d_grad_wrt_weights", num_groups)
    x, gy = as_variable(input), as_variable(output_grad)
    if input_shape is not None:
        x = _with_static_shape(x, input_shape, "input_shape")
    dilation = _pair(filter_dilation, "filter_dilation")
    pad = resolve_padding(border_mode, tuple(filter_shape)[2:], dilation)
    gw = Conv2DGradWeight(_pair(subsample, "subsample"), pad, dilation)(x, gy, list(filter_shape))
    return gw[:, :, ::-1, ::-1] if filter_flip else gw
