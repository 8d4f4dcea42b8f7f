"""2-D convolution and pooling ops (NCHW images, OIHW filters).

Kernels compute cross-correlation with padding already resolved to integer
pairs; ``filter_flip=True`` (true convolution, Theano's default) is a flip of
the filters in the graph, so its gradient comes for free.
"""
from __future__ import annotations

import numbers

from ..graph import Apply, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, is_float
from .basic import cast
from .elemwise import result_dtype
from .shape import shape_of, to_int_tuple

__all__ = ["Conv2D", "Conv2DGradInput", "Conv2DGradWeight", "Pool2D", "Pool2DGrad",
           "conv_output_length", "pool_output_length", "POOL_MODES"]

POOL_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def conv_output_length(size, k, stride, pad, dilation):
    """Output length of a cross-correlation (None when a size is unknown)."""
    if size is None or k is None or pad is None:
        return None
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def pool_output_length(size, ws, stride, pad, ignore_border):
    """Theano's rule; without ``ignore_border`` a partial window at the end counts."""
    if size is None:
        return None
    if ignore_border:
        return max(0, (size + 2 * pad - ws) // stride + 1)
    if stride >= ws:
        return (size - 1) // stride + 1
    return max(0, (size - 1 - ws + stride) // stride) + 1


def _positive_pair(fn: str, what: str, pair, minimum: int = 1) -> None:
    """Refuse a size pair that is not two ints >= ``minimum`` (naming the parameter)."""
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                 for v in pair) or any(v < minimum for v in pair):
        raise ValueError(f"{fn}: {what} must be a pair of ints >= {minimum}, got {pair}")


class _ConvBase(Op):
    __props__ = ("stride", "padding", "dilation")

    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1)) -> None:
        # padding: a pair of ints, or 'full' / 'half' resolved from the filter size
        self.stride, self.dilation = tuple(stride), tuple(dilation)
        self.padding = padding if isinstance(padding, str) else tuple(padding)
        _positive_pair("conv2d", "subsample (stride)", self.stride)
        _positive_pair("conv2d", "filter_dilation", self.dilation)
        if not isinstance(self.padding, str):
            _positive_pair("conv2d", "padding", self.padding, minimum=0)

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
        from .shape import as_shape, static_entries
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
        from .shape import as_shape, static_entries
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


class _PoolBase(Op):
    __props__ = ("ws", "stride", "pad", "mode", "ignore_border")

    def __init__(self, ws, stride, pad, mode, ignore_border) -> None:
        if mode not in POOL_MODES:
            raise ValueError(f"pooling mode must be one of {POOL_MODES}, got {mode!r}")
        self.ws, self.stride, self.pad = tuple(ws), tuple(stride), tuple(pad)
        self.mode, self.ignore_border = mode, bool(ignore_border)
        _positive_pair("pool_2d", "ws (window)", self.ws)
        _positive_pair("pool_2d", "stride", self.stride)
        _positive_pair("pool_2d", "pad", self.pad, minimum=0)
        if any(p > 0 for p in self.pad) and not self.ignore_border:
            raise ValueError("pooling with padding needs ignore_border=True (as in Theano)")
        if any(p >= w for p, w in zip(self.pad, self.ws)):
            raise ValueError(f"pooling padding {self.pad} must be smaller than the window {self.ws}")

    def _params(self):
        return dict(ws=self.ws, stride=self.stride, pad=self.pad, mode=self.mode,
                    ignore_border=self.ignore_border)


class Pool2D(_PoolBase):
    """Pool the last two dimensions of a 4-d input."""

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        if x.ndim != 4:
            raise ShapeError(f"pool2d expects a 4-d input, got shape {x.type.shape}")
        rows, cols = (pool_output_length(x.type.shape[2 + i], self.ws[i], self.stride[i],
                                         self.pad[i], self.ignore_border) for i in range(2))
        return Apply(self, [x], [TensorType(x.dtype, x.type.shape[:2] + (rows, cols))])

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        return [Pool2DGrad(self.ws, self.stride, self.pad, self.mode, self.ignore_border)(
            x, outputs[0], output_grads[0])]

    def thunk(self, backend, node):
        fn, params = backend.kernel("pool2d"), self._params()
        return lambda x: fn(x, **params)


class Pool2DGrad(_PoolBase):
    """The gradient of pooling: to every maximum (Theano's rule) or spread over windows."""

    def make_node(self, x, out, gout) -> Apply:
        x, out, gout = as_variable(x), as_variable(out), as_variable(gout)
        return Apply(self, [x, out, cast(gout, x.dtype)], [x.type])

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError("second derivatives through pooling are not implemented yet")

    def thunk(self, backend, node):
        fn, params = backend.kernel("pool2d_grad"), self._params()
        return lambda x, out, gout: fn(x, out, gout, **params)
