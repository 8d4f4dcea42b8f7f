"""2-D pooling (max, sum, averages) over the last two dimensions: the ops, the
gradient, and Theano's builders ``pool_2d`` and ``max_pool_2d``.

The max gradient differs from Theano's on purpose (decision D62): each window
sends its output gradient to **one** input cell, the first real cell in window
order (row-major within the window) equal to the window's maximum, as PyTorch
and cuDNN do; padding never receives it. Theano sent it to every tied cell,
which double-counts a cell when max-pools are chained (an overlapping pool
outputs copies of one cell, the next pool sees them tied) and disagrees with
finite differences. Sums and averages spread the gradient over the window."""
from __future__ import annotations

import warnings

from ..graph import Apply, as_variable
from ..op import Op, ShapeError
from ..types import TensorType
from .basic import cast, int_pair, positive_pair
from .shape import reshape

__all__ = ["Pool2D", "Pool2DGrad", "pool_output_length", "POOL_MODES", "pool_2d", "max_pool_2d",
           "max_pool_2d_same_size"]

POOL_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def pool_output_length(size, ws, stride, pad, ignore_border):
    """Theano's rule; without ``ignore_border`` a partial window at the end counts."""
    if size is None:
        return None
    if ignore_border:
        return max(0, (size + 2 * pad - ws) // stride + 1)
    if stride >= ws:
        return (size - 1) // stride + 1
    return max(0, (size - 1 - ws + stride) // stride) + 1


class _PoolBase(Op):
    __props__ = ("ws", "stride", "pad", "mode", "ignore_border")

    def __init__(self, ws, stride, pad, mode, ignore_border) -> None:
        if mode not in POOL_MODES:
            raise ValueError(f"pooling mode must be one of {POOL_MODES}, got {mode!r}")
        self.ws, self.stride, self.pad = tuple(ws), tuple(stride), tuple(pad)
        self.mode, self.ignore_border = mode, bool(ignore_border)
        positive_pair("pool_2d", "ws (window)", self.ws)
        positive_pair("pool_2d", "stride", self.stride)
        positive_pair("pool_2d", "pad", self.pad, minimum=0)
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
    """The gradient of pooling: for max, each window's gradient to its first maximum in
    window order (row-major within the window, never padding; not every tie as in
    Theano, see the module's docstring); sums and averages spread over the window."""

    def make_node(self, x, out, gout) -> Apply:
        x, out, gout = as_variable(x), as_variable(out), as_variable(gout)
        return Apply(self, [x, out, cast(gout, x.dtype)], [x.type])

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError("second derivatives through pooling are not implemented yet")

    def thunk(self, backend, node):
        fn, params = backend.kernel("pool2d_grad"), self._params()
        return lambda x, out, gout: fn(x, out, gout, **params)


# -- builders ------------------------------------------------------------------------

def _pair(v, what):
    return None if v is None else int_pair(v, what, "pool_2d")


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max",
            ds=None, st=None, padding=None):
    """Pool the last two dimensions of ``input`` over windows ``ws``.

    ``mode``: 'max', 'sum', 'average_inc_pad' or 'average_exc_pad'. An omitted
    ``ignore_border`` means False, with Theano 1.0's warning. The gradient of
    'max' goes to one cell per window, the first maximum in window order
    (row-major within the window; PyTorch's and cuDNN's rule), not to every tied
    cell as in Theano: chained max-pools then agree with finite differences.
    """
    ws = _pair(ws if ws is not None else ds, "ws")
    if ws is None:
        raise TypeError("pool_2d: the window size ws is required")
    stride = _pair(stride if stride is not None else st, "stride") or ws
    pad = _pair(padding if padding is not None else pad, "pad")
    if ignore_border is None:
        warnings.warn("pool_2d: ignore_border was not given; it defaults to False as in Theano "
                      "(partial windows at the border are pooled). Pass it explicitly to "
                      "silence this.", UserWarning, stacklevel=2)
        ignore_border = False
    if mode == "average":
        mode = "average_inc_pad"
    x = as_variable(input)
    if x.ndim < 2:
        raise ValueError(f"pool_2d needs at least a 2-d input, got shape {x.type.shape}")
    op = Pool2D(ws, stride, pad, mode, ignore_border)
    if x.ndim == 4:
        return op(x)
    lead = [x.shape[i] for i in range(x.ndim - 2)]
    rows, cols = x.shape[x.ndim - 2], x.shape[x.ndim - 1]
    x4 = reshape(x, [-1, 1, rows, cols])
    out = op(x4)
    return reshape(out, lead + [out.shape[2], out.shape[3]])


def max_pool_2d(input, ds, ignore_border=False, st=None, padding=(0, 0), mode="max"):
    """The old interface: keywords ``ds``, ``st``, ``padding``; ``ignore_border=False``.
    As ``pool_2d``, the max gradient goes to each window's first maximum in window order."""
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)


def max_pool_2d_same_size(input, patch_size):
    raise NotImplementedError("max_pool_2d_same_size is not implemented")
