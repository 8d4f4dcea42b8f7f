"""2-D convolution (NCHW images, OIHW filters): the ops, their gradients, and the
builders with Theano's semantics (``conv2d``, ``conv2d_grad_wrt_inputs``,
``conv2d_grad_wrt_weights``: border modes, subsampling, dilation, flips).

Kernels compute cross-correlation with padding already resolved to integer
pairs; ``filter_flip=True`` (true convolution, Theano's default) is a flip of
the filters in the graph, so its gradient comes for free. Pooling is in
:mod:`.pool`.
"""
from __future__ import annotations

from ..graph import Apply, as_variable
from ..ignored import warn_ignored
from ..op import Op, ShapeError
from ..types import TensorType, is_float
from .basic import cast, positive_pair, result_dtype
from .pool import POOL_MODES, Pool2D, Pool2DGrad, pool_output_length
from .shape import as_shape, reshape, shape_of, static_entries, to_int_tuple

__all__ = ["Conv2D", "Conv2DGradInput", "Conv2DGradWeight", "conv_output_length",
           "conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "resolve_padding",
           "BORDER_MODES",
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
        return tuple(d * (k // 2) for k, d in zip(kernel_hw, self.dilation))

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
