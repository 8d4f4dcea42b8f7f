"""2-D convolution (NCHW images, OIHW filters): the ops, their gradients, and the
builders with Theano's semantics (``conv2d``, ``conv2d_grad_wrt_inputs``,
``conv2d_grad_wrt_weights``: border modes, subsampling, dilation, flips); and the
3-D builders (``conv3d`` and its gradients), graphs of the 2-D ops.

Kernels compute cross-correlation with padding already resolved to integer
pairs; ``filter_flip=True`` (true convolution, Theano's default) is a flip of
the filters in the graph, so its gradient comes for free. Pooling is in
:mod:`.pool`.
"""
from __future__ import annotations

import numbers

from ..graph import Apply, as_variable
from ..ignored import warn_ignored
from ..op import Op, ShapeError
from ..types import TensorType, is_float
from .basic import assert_op, cast, int_pair, positive_pair, result_dtype
from .elemwise import le
from .pool import POOL_MODES, Pool2D, Pool2DGrad, pool_output_length
from .shape import (as_shape, concatenate, dimshuffle, reshape, shape_of, stack, static_entries,
                    to_int_tuple, zeros)
from .subtensor import inc_subtensor, set_subtensor

__all__ = ["Conv2D", "Conv2DGradInput", "Conv2DGradWeight", "conv_output_length",
           "conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "resolve_padding",
           "BORDER_MODES", "conv3d", "conv3d_grad_wrt_inputs", "conv3d_grad_wrt_weights",
           # pooling moved to .pool; these names stay importable from here, which
           # functions pickled before the move need (tests/core/test_old_pickles.py)
           "Pool2D", "Pool2DGrad", "pool_output_length", "POOL_MODES"]


def conv_output_length(size, k, stride, pad, dilation):
    """Output length of a cross-correlation (None when a size is unknown)."""
    if size is None or k is None or pad is None:
        return None
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


class _ConvBase(Op):
    __props__ = ("stride", "padding", "dilation")

    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1)) -> None:
        # padding: a pair of ints, or 'full' / 'half' resolved from the filter size
        self.stride, self.dilation = tuple(stride), tuple(dilation)
        self.padding = padding if isinstance(padding, str) else tuple(padding)
        positive_pair("conv2d", "subsample (stride)", self.stride)
        positive_pair("conv2d", "filter_dilation", self.dilation)
        if not isinstance(self.padding, str):
            positive_pair("conv2d", "padding", self.padding, minimum=0)

    def pad_for(self, kernel_hw) -> tuple:
        """Integer padding for filters of size ``kernel_hw`` (entries may be None)."""
        if not isinstance(self.padding, str):
            return self.padding
        if any(k is None for k in kernel_hw):
            return (None, None)
        if self.padding == "full":
            return tuple(d * (k - 1) for k, d in zip(kernel_hw, self.dilation))
        return tuple(_half(k, d) for k, d in zip(kernel_hw, self.dilation))

    def _call(self, fn, *args, kernel_hw):
        return fn(*args, stride=self.stride, padding=self.pad_for(kernel_hw),
                  dilation=self.dilation)


class Conv2D(_ConvBase):
    """``conv2d(x, w)``: cross-correlation of NCHW ``x`` with OIHW ``w``."""

    def make_node(self, x, w) -> Apply:
        x, w = as_variable(x), as_variable(w)
        dtype = result_dtype([x, w])
        if not is_float(dtype):
            dtype = "float64"
        x, w = cast(x, dtype), cast(w, dtype)
        if x.ndim != 4 or w.ndim != 4:
            raise ShapeError(f"conv2d expects a 4-d input (batch, channels, rows, cols) and 4-d "
                             f"filters (out, in, rows, cols); got shapes {x.type.shape} and "
                             f"{w.type.shape}")
        cx, cw = x.type.shape[1], w.type.shape[1]
        if cx is not None and cw is not None and cx != cw:
            raise ShapeError(f"conv2d: the input has {cx} channels but the filters expect {cw} "
                             f"(input shape {x.type.shape}, filter shape {w.type.shape})")
        pad = self.pad_for(w.type.shape[2:])
        rows, cols = (conv_output_length(x.type.shape[2 + i], w.type.shape[2 + i], self.stride[i],
                                         pad[i], self.dilation[i]) for i in range(2))
        for i, n in enumerate((rows, cols)):
            if n is not None and n < 1:
                raise ShapeError(f"conv2d: filters of shape {w.type.shape} do not fit the input of "
                                 f"shape {x.type.shape} with padding {pad} "
                                 f"(output size {n} in dimension {2 + i})")
        shape = (x.type.shape[0], w.type.shape[0], rows, cols)
        return Apply(self, [x, w], [TensorType(dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        x, w = inputs
        g = output_grads[0]
        gx = Conv2DGradInput(self.stride, self.padding, self.dilation)(g, w, shape_of(x))
        gw = Conv2DGradWeight(self.stride, self.padding, self.dilation)(x, g, shape_of(w))
        return [gx, gw]

    def thunk(self, backend, node):
        fn = backend.kernel("conv2d")
        return lambda x, w: self._call(fn, x, w, kernel_hw=w.shape[2:])


class Conv2DGradInput(_ConvBase):
    """The gradient of ``conv2d`` with respect to its input."""

    def make_node(self, gy, w, input_shape) -> Apply:
        gy, w = as_variable(gy), as_variable(w)
        input_shape = as_shape(input_shape)
        return Apply(self, [gy, w, input_shape],
                     [TensorType(gy.dtype, static_entries(input_shape))])

    def grad(self, inputs, outputs, output_grads):
        # grad_input is bilinear in (gy, w) and the adjoint of conv2d in x:
        # <G, grad_input(gy, w)> = <conv2d(G, w), gy> = <w, grad_weight(G, gy)>
        gy, w, _ = inputs
        g = output_grads[0]
        ggy = Conv2D(self.stride, self.padding, self.dilation)(g, w)
        gw = Conv2DGradWeight(self.stride, self.padding, self.dilation)(g, gy, shape_of(w))
        return [ggy, gw, None]

    def thunk(self, backend, node):
        fn = backend.kernel("conv2d_grad_input")
        return lambda gy, w, shape: self._call(fn, gy, w, to_int_tuple(backend, shape),
                                               kernel_hw=w.shape[2:])


class Conv2DGradWeight(_ConvBase):
    """The gradient of ``conv2d`` with respect to its filters."""

    def make_node(self, x, gy, filter_shape) -> Apply:
        x, gy = as_variable(x), as_variable(gy)
        filter_shape = as_shape(filter_shape)
        return Apply(self, [x, gy, filter_shape],
                     [TensorType(gy.dtype, static_entries(filter_shape))])

    def grad(self, inputs, outputs, output_grads):
        # <G, grad_weight(x, gy)> = <conv2d(x, G), gy> = <x, grad_input(gy, G)>
        x, gy, _ = inputs
        g = output_grads[0]
        gx = Conv2DGradInput(self.stride, self.padding, self.dilation)(gy, g, shape_of(x))
        ggy = Conv2D(self.stride, self.padding, self.dilation)(x, g)
        return [gx, ggy, None]

    def thunk(self, backend, node):
        fn = backend.kernel("conv2d_grad_weight")

        def run(x, gy, shape):
            shape = to_int_tuple(backend, shape)
            return self._call(fn, x, gy, shape, kernel_hw=shape[2:])
        return run


# -- builders (Theano's T.nnet.conv2d and its gradients) ----------------------------

BORDER_MODES = ("valid", "full", "half")


def _pair(v, what):
    return int_pair(v, what, "conv2d")


def _half(k: int, d: int) -> int:
    """'half' padding: half the dilated filter's extent, ``((k - 1) * d + 1) // 2``
    (Theano's; ``d * (k // 2)`` agrees for odd k or d = 1, not for even k dilated)."""
    return ((k - 1) * d + 1) // 2


def resolve_padding(border_mode, filter_rows_cols, dilation):
    """Theano's border modes as integer padding per side: valid 0, full (k-1)*d, half
    ((k-1)*d+1)//2."""
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
        return tuple(_half(k, d) for k, d in zip(filter_rows_cols, dilation))
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
    _check_groups("conv2d", num_groups)
    _extra_kwargs("conv2d", kwargs)
    x, w = as_variable(input), as_variable(filters)
    input_shape = input_shape or image_shape
    if input_shape is not None:
        _check_hint(x, input_shape, "input_shape")
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


def _check_hint(x, shape, what, func="conv2d") -> None:
    """``input_shape`` is Theano's hint, not a promise: Lasagne passes the sizes its
    InputLayer declared, and a script may feed smaller images (fully convolutional
    use). Its length must match and its sizes must not contradict the variable's
    static shape; the run-time sizes are not forced to it."""
    shape = tuple(shape)
    if len(shape) != x.ndim:
        raise ShapeError(f"{func}: {what}={shape} has {len(shape)} entries for a {x.ndim}-d variable")
    for s, k in zip(shape, x.type.shape):
        if s is not None and k is not None and k != s:
            raise ShapeError(f"{func}: {what}={shape} disagrees with the variable's shape {x.type.shape}")


def _with_static_shape(x, shape, what, func="conv2d"):
    """Check a declared shape against the variable's and record its known sizes."""
    _check_hint(x, shape, what, func)
    known = [k if s is None else int(s) for s, k in zip(tuple(shape), x.type.shape)]
    if tuple(known) == x.type.shape:
        return x
    return reshape(x, [k if k is not None else x.shape[i] for i, k in enumerate(known)])


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1), filter_flip=True,
                           filter_dilation=(1, 1), num_groups=1):
    """The gradient of ``conv2d`` with respect to its input: a transposed
    convolution (Lasagne's ``TransposedConv2DLayer`` is built on it).

    ``input_shape`` is the shape of the result (ints or symbolic scalars; the
    batch size may be None, taken from ``output_grad``).
    """
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
    _check_groups("conv2d_grad_wrt_weights", num_groups)
    x, gy = as_variable(input), as_variable(output_grad)
    if input_shape is not None:
        x = _with_static_shape(x, input_shape, "input_shape")
    dilation = _pair(filter_dilation, "filter_dilation")
    pad = resolve_padding(border_mode, tuple(filter_shape)[2:], dilation)
    gw = Conv2DGradWeight(_pair(subsample, "subsample"), pad, dilation)(x, gy, list(filter_shape))
    return gw[:, :, ::-1, ::-1] if filter_flip else gw


# -- 3-D convolution (Theano's T.nnet.conv3d and its gradients), composed from 2-D ------
#
# There is no 3-D op or kernel yet: a 3-D correlation of x (batch, channels, depth,
# rows, cols) with w (filters, channels, kd, kh, kw) is one 2-D correlation of the
# depth taps of x stacked as channels (channel c * kd + t holds tap t of channel c),
# with the output depth folded into the batch, and w reshaped to (filters,
# channels * kd, kh, kw). Its gradients are the 2-D ones of the same fold.

def _triple(v, what, func="conv3d", minimum=None):
    """``v`` (an int or three) as a triple of ints, each >= ``minimum`` when given."""
    v = (v, v, v) if isinstance(v, int) else tuple(v)
    if len(v) != 3 or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                              for a in v):
        raise ValueError(f"{func}: {what} must be an int or a triple of ints, got {v}")
    v = tuple(int(a) for a in v)
    if minimum is not None and any(a < minimum for a in v):
        raise ValueError(f"{func}: {what} must be >= {minimum}, got {v}")
    return v


def _sizes_of(x):
    """The sizes of ``x``: the static ones where known, symbolic ones elsewhere."""
    return [x.shape[i] if s is None else s for i, s in enumerate(x.type.shape)]


def _padding3d(func, border_mode, kernel_dhw, dilation):
    """``(depth padding, rows/cols padding)``: an int, and a pair of ints or a border
    mode name that :class:`Conv2D` resolves from the filters at run time."""
    kd = kernel_dhw[0]
    if kd is None:
        raise ShapeError(f"{func}: the filters' depth must be known when the graph is built "
                         "(pass filter_shape=...); the filters' shape is "
                         f"(..., {', '.join(str(k) for k in kernel_dhw)})")
    if isinstance(border_mode, str):
        hw = resolve_padding(border_mode, kernel_dhw[1:], dilation[1:])
        return resolve_padding(border_mode, (kd, kd), (dilation[0],) * 2)[0], hw
    pad = _triple(border_mode, "border_mode", func, minimum=0)
    return pad[0], pad[1:]


def _check_groups3d(func, num_groups, x_channels, w_shape):
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f"{func}: num_groups must be a positive integer, got {num_groups!r}")
    f, c = w_shape[:2]
    if f is not None and f % num_groups:
        raise ShapeError(f"{func}: num_groups={num_groups} must divide the number of "
                         f"filters ({f})")
    if x_channels is not None and c is not None and x_channels != c * num_groups:
        raise ShapeError(f"{func}: the input has {x_channels} channels but the filters "
                         f"(shape {tuple(w_shape)}) expect {c} per group, {num_groups} "
                         f"group(s)")


def _five_d(func, *named):
    for name, v in named:
        if v.ndim != 5:
            raise ShapeError(f"{func} expects a 5-d {name} (batch, channels, depth, rows, "
                             f"cols for images; out, in, depth, rows, cols for filters); "
                             f"got shape {v.type.shape}")


def _depth_taps(x, kd, sd, pd, dd):
    """The depth taps of ``x`` folded for one 2-D correlation: ``(taps, out_depth)``,
    ``taps`` of shape (batch * out_depth, channels * kd, rows, cols). ``x`` is padded
    with ``pd`` zeros in depth; tap ``t`` of output depth ``o`` reads padded depth
    ``o * sd + t * dd``."""
    b, c, d, h, w = _sizes_of(x)
    if pd:
        x = set_subtensor(zeros((b, c, d + 2 * pd, h, w), dtype=x.dtype)[:, :, pd:pd + d], x)
    out_d = (d + 2 * pd - dd * (kd - 1) - 1) // sd + 1
    if isinstance(out_d, int) and out_d < 1:
        raise ShapeError(f"conv3d: filters of depth {kd} (dilation {dd}) do not fit an input "
                         f"of depth {d} with padding {pd}")
    stop = (out_d - 1) * sd + 1
    taps = stack([x[:, :, t * dd:t * dd + stop:sd] for t in range(kd)], axis=2)
    taps = dimshuffle(taps, (0, 3, 1, 2, 4, 5))            # b, od, c, kd, h, w
    return reshape(taps, (b * out_d, c * kd, h, w)), out_d


def _fold_filters(w):
    f, c, kd, kh, kw = _sizes_of(w)
    return reshape(w, (f, c * kd, kh, kw))


def _conv3d_one_group(x, w, stride, pads, dilation):
    """Correlation of 5-d ``x`` with 5-d ``w`` (no flip) through one 2-D convolution."""
    kd = w.type.shape[2]
    taps, out_d = _depth_taps(x, kd, stride[0], pads[0], dilation[0])
    conved = conv2d(taps, _fold_filters(w), border_mode=pads[1], subsample=stride[1:],
                    filter_flip=False, filter_dilation=dilation[1:])
    f = _sizes_of(w)[0]
    conved = reshape(conved, (_sizes_of(x)[0], out_d, f, conved.shape[2], conved.shape[3]))
    return dimshuffle(conved, (0, 2, 1, 3, 4))


def _group_slices(size, num_groups):
    per = size // num_groups
    return [slice(g * per, (g + 1) * per) for g in range(num_groups)]


def conv3d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1, 1), filter_flip=True, filter_dilation=(1, 1, 1), num_groups=1):
    """3-D convolution of a 5-d ``input`` (batch, channels, depth, rows, cols) with
    5-d ``filters`` (out channels, in channels // num_groups, depth, rows, cols),
    Theano's ``T.nnet.conv3d``.

    ``border_mode`` is 'valid', 'full', 'half', an int or a triple;
    ``filter_flip=True`` (the default) flips the filters in all three axes (a true
    convolution), ``False`` gives cross-correlation. The filters' depth must be
    known when the graph is built (from their type or ``filter_shape``).

    There is no 3-D kernel yet: the result is one 2-D convolution of the input's
    depth taps stacked as channels, the output depth folded into the batch (a copy
    of the input per filter depth tap).
    """
    x, w = as_variable(input), as_variable(filters)
    _five_d("conv3d", ("input", x), ("filters", w))
    if input_shape is not None:
        _check_hint(x, input_shape, "input_shape", "conv3d")
    if filter_shape is not None:
        w = _with_static_shape(w, filter_shape, "filter_shape", "conv3d")
    stride = _triple(subsample, "subsample", minimum=1)
    dilation = _triple(filter_dilation, "filter_dilation", minimum=1)
    pads = _padding3d("conv3d", border_mode, w.type.shape[2:], dilation)
    _check_groups3d("conv3d", num_groups, x.type.shape[1], w.type.shape)
    if filter_flip:
        w = w[:, :, ::-1, ::-1, ::-1]
    if num_groups == 1:
        return _conv3d_one_group(x, w, stride, pads, dilation)
    xs = _group_slices(_sizes_of(x)[1], num_groups)
    ws = _group_slices(_sizes_of(w)[0], num_groups)
    return concatenate([_conv3d_one_group(x[:, xg], w[wg], stride, pads, dilation)
                        for xg, wg in zip(xs, ws)], axis=1)


def _fold_output_depth(gy):
    """(batch, filters, depth, rows, cols) to (batch * depth, filters, rows, cols)."""
    b, f, d, h, w = _sizes_of(gy)
    return reshape(dimshuffle(gy, (0, 2, 1, 3, 4)), (b * d, f, h, w))


def _conv3d_grad_input_one_group(gy, w, out_dhw, stride, pads, dilation):
    """The transpose of :func:`_conv3d_one_group`: one transposed 2-D convolution
    gives every depth tap, and tap ``t`` of ``gy``'s depth ``i`` is added at padded
    depth ``i * stride + t * dilation``; the depth padding is then cut off."""
    f, c, kd, kh, kw = _sizes_of(w)
    b, _, di = _sizes_of(gy)[:3]
    (sd, dd), pd = (stride[0], dilation[0]), pads[0]
    out_d, out_h, out_w = out_dhw
    taps = conv2d_grad_wrt_inputs(_fold_output_depth(gy), _fold_filters(w),
                                  [None, c * kd, out_h, out_w], border_mode=pads[1],
                                  subsample=stride[1:], filter_flip=False,
                                  filter_dilation=dilation[1:])
    taps = dimshuffle(reshape(taps, (b, di, c, kd, out_h, out_w)), (0, 2, 3, 1, 4, 5))
    stop = (di - 1) * sd + 1
    length = stop + dd * (kd - 1) + sd - 1      # every depth a stride allows
    if all(isinstance(v, int) for v in (length, out_d)) and pd + out_d > length:
        raise ShapeError(f"conv3d_grad_wrt_inputs: an input depth of {out_d} cannot give "
                         f"an output depth of {di} (filter depth {kd}, stride {sd}, "
                         f"padding {pd}, dilation {dd})")
    full = zeros((b, c, length, out_h, out_w), dtype=taps.dtype)
    for t in range(kd):
        full = inc_subtensor(full[:, :, t * dd:t * dd + stop:sd], taps[:, :, t])
    if not all(isinstance(v, int) for v in (length, out_d)):
        # sizes known only at run time: a depth the gradient cannot come from would be
        # cut short silently by the slice below
        full = assert_op(full, le(pd + out_d, length),
                         message=f"conv3d_grad_wrt_inputs: the requested input depth cannot "
                                 f"give output_grad's depth (filter depth {kd}, stride {sd}, "
                                 f"padding {pd}, dilation {dd})")
    return full[:, :, pd:pd + out_d]


def conv3d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1, 1), filter_flip=True,
                           filter_dilation=(1, 1, 1), num_groups=1):
    """The gradient of :func:`conv3d` with respect to its input: a transposed 3-D
    convolution (Lasagne's ``TransposedConv3DLayer`` is built on it).

    ``input_shape`` is the shape of the result, five entries: the batch size and
    the channels may be None (taken from ``output_grad`` and the filters); depth,
    rows and columns are ints or symbolic scalars.
    """
    gy, w = as_variable(output_grad), as_variable(filters)
    _five_d("conv3d_grad_wrt_inputs", ("output_grad", gy), ("filters", w))
    if filter_shape is not None:
        w = _with_static_shape(w, filter_shape, "filter_shape", "conv3d_grad_wrt_inputs")
    input_shape = list(input_shape)
    if len(input_shape) != 5 or any(s is None for s in input_shape[2:]):
        raise ShapeError(f"conv3d_grad_wrt_inputs: input_shape {tuple(input_shape)} must "
                         "have five entries and give the depth, rows and columns")
    stride = _triple(subsample, "subsample", "conv3d_grad_wrt_inputs", minimum=1)
    dilation = _triple(filter_dilation, "filter_dilation", "conv3d_grad_wrt_inputs", minimum=1)
    pads = _padding3d("conv3d_grad_wrt_inputs", border_mode, w.type.shape[2:], dilation)
    channels = input_shape[1] if isinstance(input_shape[1], int) else None
    _check_groups3d("conv3d_grad_wrt_inputs", num_groups, channels, w.type.shape)
    if filter_flip:
        w = w[:, :, ::-1, ::-1, ::-1]
    if num_groups == 1:
        return _conv3d_grad_input_one_group(gy, w, input_shape[2:], stride, pads, dilation)
    fs = _group_slices(_sizes_of(w)[0], num_groups)
    return concatenate([_conv3d_grad_input_one_group(gy[:, g], w[g], input_shape[2:], stride,
                                                     pads, dilation) for g in fs], axis=1)


def _conv3d_grad_weight_one_group(x, gy, filter_shape, stride, pads, dilation):
    f, c, kd, kh, kw = filter_shape
    taps, _ = _depth_taps(x, kd, stride[0], pads[0], dilation[0])
    gw = conv2d_grad_wrt_weights(taps, _fold_output_depth(gy), (f, c * kd, kh, kw),
                                 border_mode=pads[1], subsample=stride[1:], filter_flip=False,
                                 filter_dilation=dilation[1:])
    return reshape(gw, (f, c, kd, kh, kw))


def conv3d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,
                            border_mode="valid", subsample=(1, 1, 1), filter_flip=True,
                            filter_dilation=(1, 1, 1), num_groups=1):
    """The gradient of :func:`conv3d` with respect to its filters; ``filter_shape``
    gives all five sizes of the result (the depth as an int)."""
    func = "conv3d_grad_wrt_weights"
    x, gy = as_variable(input), as_variable(output_grad)
    _five_d(func, ("input", x), ("output_grad", gy))
    if input_shape is not None:
        x = _with_static_shape(x, input_shape, "input_shape", func)
    filter_shape = tuple(filter_shape)
    if len(filter_shape) != 5 or any(s is None for s in filter_shape):
        raise ShapeError(f"{func}: filter_shape {filter_shape} must give all five sizes")
    stride = _triple(subsample, "subsample", func, minimum=1)
    dilation = _triple(filter_dilation, "filter_dilation", func, minimum=1)
    static = tuple(s if isinstance(s, int) else None for s in filter_shape)
    pads = _padding3d(func, border_mode, static[2:], dilation)
    _check_groups3d(func, num_groups, x.type.shape[1], static)
    per = (filter_shape[0] // num_groups,) + filter_shape[1:]
    xs = _group_slices(_sizes_of(x)[1], num_groups)
    gs = _group_slices(filter_shape[0], num_groups)
    gws = [_conv3d_grad_weight_one_group(x[:, xg], gy[:, g], per, stride, pads, dilation)
           for xg, g in zip(xs, gs)]
    gw = gws[0] if num_groups == 1 else concatenate(gws, axis=0)
    return gw[:, :, ::-1, ::-1, ::-1] if filter_flip else gw
