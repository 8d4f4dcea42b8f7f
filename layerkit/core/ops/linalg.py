"""Matrix products: ``dot`` for every rank combination numpy's accepts,
``tensordot``, and the products built from elementwise ones (``outer``,
``batched_dot``)."""
from __future__ import annotations

from ..graph import Apply, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, is_float
from .basic import cast, result_dtype
from .elemwise import mul
from .reduce import sum
from .shape import DimShuffle, dimshuffle, flatten, shape_padaxis, shape_padright

__all__ = ["MatMul", "TensorDot", "dot", "tensordot", "outer", "outer_last", "batched_dot"]


def _check_inner(a, b, ka, kb, opname):
    sa, sb = a.type.shape[ka], b.type.shape[kb]
    if sa is not None and sb is not None and sa != sb:
        raise ShapeError(f"{opname}: shapes {a.type.shape} and {b.type.shape} are not aligned "
                         f"({sa} (dim {ka}) != {sb} (dim {kb}))")


class MatMul(Op):
    """``a @ b`` with numpy's matmul semantics for 1-d and 2-d operands, and an
    n-d ``a`` times a 2-d ``b`` (numpy's ``dot`` agrees with matmul there)."""

    def make_node(self, a, b) -> Apply:
        a, b = as_variable(a), as_variable(b)
        dtype = result_dtype([a, b])
        a, b = cast(a, dtype), cast(b, dtype)
        if a.ndim == 0 or b.ndim == 0 or b.ndim > 2:
            raise ShapeError(f"matmul takes a >= 1-d left and a 1-d or 2-d right operand, got "
                             f"shapes {a.type.shape} and {b.type.shape}")
        ka = a.ndim - 1
        kb = 0
        _check_inner(a, b, ka, kb, "dot")
        shape = a.type.shape[:-1] + (b.type.shape[1:] if b.ndim == 2 else ())
        return Apply(self, [a, b], [TensorType(dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        g = output_grads[0]
        if a.ndim == 1 and b.ndim == 1:          # inner product
            ga, gb = g * b, g * a
        elif b.ndim == 1:                         # (..., k) @ (k,) -> (...)
            ga = outer_last(g, b)
            gb = dot(a.T, g) if a.ndim == 2 else \
                tensordot(a, g, [list(range(a.ndim - 1)), list(range(g.ndim))])
        elif a.ndim == 1:                         # (k,) @ (k, p) -> (p,)
            ga, gb = dot(b, g), outer(a, g)
        else:                                     # (..., k) @ (k, p) -> (..., p)
            ga = dot(g, b.T)
            # a 2-d input is a BLAS product with a transposed view, not a tensordot
            gb = dot(a.T, g) if a.ndim == 2 else \
                tensordot(a, g, [list(range(a.ndim - 1)), list(range(g.ndim - 1))])
        return [ga if is_float(a.dtype) else None, gb if is_float(b.dtype) else None]

    def thunk(self, backend, node):
        return backend.kernel("matmul")

    def explain_failure(self, node, args):
        a, b = (tuple(getattr(v, "shape", ())) for v in args)
        if a and b and a[-1] != b[0]:
            return (f"dot: shapes {a} and {b} are not aligned ({a[-1]} (dim {len(a) - 1}) != "
                    f"{b[0]} (dim 0))")
        return None


class TensorDot(Op):
    """Sum products over the axes ``axes[0]`` of ``a`` and ``axes[1]`` of ``b``."""

    __props__ = ("axes",)

    def __init__(self, axes) -> None:
        self.axes = (tuple(axes[0]), tuple(axes[1]))

    def make_node(self, a, b) -> Apply:
        a, b = as_variable(a), as_variable(b)
        dtype = result_dtype([a, b])
        a, b = cast(a, dtype), cast(b, dtype)
        xa, xb = self.axes
        if len(xa) != len(xb):
            raise ShapeError(f"tensordot: axes {self.axes} pair different numbers of axes")
        for ka, kb in zip(xa, xb):
            if not (0 <= ka < a.ndim and 0 <= kb < b.ndim):
                raise ShapeError(f"tensordot: axes {self.axes} out of range for shapes "
                                 f"{a.type.shape} and {b.type.shape}")
            _check_inner(a, b, ka, kb, "tensordot")
        shape = tuple(s for i, s in enumerate(a.type.shape) if i not in xa) + \
            tuple(s for i, s in enumerate(b.type.shape) if i not in xb)
        return Apply(self, [a, b], [TensorType(dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        g = output_grads[0]
        xa, xb = self.axes
        free_a = [i for i in range(a.ndim) if i not in xa]
        free_b = [i for i in range(b.ndim) if i not in xb]
        na = len(free_a)
        # ga[free_a, xa] = sum over free_b of g[free_a, free_b] * b[xb, free_b]
        ga = tensordot(g, b, [list(range(na, g.ndim)), free_b])      # (free_a..., xb order)
        order_a = free_a + list(xa)
        ga = dimshuffle(ga, [order_a.index(i) for i in range(a.ndim)])
        gb = tensordot(a, g, [free_a, list(range(na))])               # (xa order..., free_b)
        order_b = list(xb) + free_b
        gb = dimshuffle(gb, [order_b.index(i) for i in range(b.ndim)])
        return [ga if is_float(a.dtype) else None, gb if is_float(b.dtype) else None]

    def explain_failure(self, node, args):
        a, b = (tuple(getattr(v, "shape", ())) for v in args)
        for ka, kb in zip(*self.axes):
            if ka < len(a) and kb < len(b) and a[ka] != b[kb]:
                return (f"tensordot: shapes {a} and {b} are not aligned ({a[ka]} (dim {ka}) "
                        f"!= {b[kb]} (dim {kb}))")
        return None

    def thunk(self, backend, node):
        fn = backend.kernel("tensordot")
        axes = self.axes
        return lambda a, b: fn(a, b, axes=axes)


def tensordot(a, b, axes=2):
    a, b = as_variable(a), as_variable(b)
    if isinstance(axes, int):
        axes = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
    xa = [int(i) % a.ndim if a.ndim else 0 for i in ([axes[0]] if isinstance(axes[0], int) else axes[0])]
    xb = [int(i) % b.ndim if b.ndim else 0 for i in ([axes[1]] if isinstance(axes[1], int) else axes[1])]
    return TensorDot((tuple(xa), tuple(xb)))(a, b)


_MATMUL = MatMul()


def dot(a, b):
    """numpy's ``dot``: scalars multiply, 1-d/2-d use matmul, n-d contracts the last
    axis of ``a`` with the second-to-last of ``b``."""
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if b.ndim <= 2:
        return _MATMUL(a, b)
    return tensordot(a, b, [[a.ndim - 1], [b.ndim - 2]])


def transposed_product(v):
    """``[a, b]`` when ``v`` is ``dot(a.T, b)`` of two matrices (a weight's gradient
    ``x.T @ g``), else None: a sum of such products over several ``(a, b)`` is one
    product of the stacked rows (the scan gradient and a rewrite use this)."""
    node = v.owner
    if node is None or not isinstance(node.op, MatMul) or v.ndim != 2:
        return None
    left, right = node.inputs
    if left.owner is None or not isinstance(left.owner.op, DimShuffle) \
            or left.owner.op.new_order != (1, 0) or right.ndim != 2:
        return None
    return [left.owner.inputs[0], right]


def outer(a, b):
    """Theano's ``outer``: the outer product of two vectors; an input that is not a
    vector is flattened first."""
    a, b = as_variable(a), as_variable(b)
    a = a if a.ndim == 1 else flatten(a)
    b = b if b.ndim == 1 else flatten(b)
    return dimshuffle(a, [0, "x"]) * dimshuffle(b, ["x", 0])


def outer_last(a, b):
    """``a[..., None] * b``: the gradient of a matrix-vector product."""
    a, b = as_variable(a), as_variable(b)
    return shape_padright(a) * b


def batched_dot(a, b):
    """Per-sample products: ``(n, i, j) x (n, j, k) -> (n, i, k)`` (and vector forms)."""
    a, b = as_variable(a), as_variable(b)
    _check_batched(a, b)
    if a.ndim == 2 and b.ndim == 2:
        return sum(a * b, axis=1)
    if a.ndim == 3 and b.ndim == 3:
        return sum(shape_padright(a) * shape_padaxis(b, 1), axis=2)
    if a.ndim == 3 and b.ndim == 2:
        return sum(a * shape_padaxis(b, 1), axis=2)
    if a.ndim == 2 and b.ndim == 3:
        return sum(shape_padright(a) * b, axis=1)
    raise TypeError(f"batched_dot supports 2-d and 3-d operands, got {a.ndim}-d and {b.ndim}-d")


def _check_batched(a, b):
    """batched_dot's operands must agree in the batch size and the summed axis."""
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        return
    sa, sb = a.type.shape, b.type.shape
    pairs = [(0, 0, "batch size"), (a.ndim - 1, 1, "summed")]
    for ka, kb, what in pairs:
        if sa[ka] is not None and sb[kb] is not None and sa[ka] != sb[kb]:
            raise ShapeError(f"batched_dot: shapes {sa} and {sb} do not agree in the "
                             f"{what} dimension ({sa[ka]} (dim {ka}) != {sb[kb]} (dim {kb}))")
