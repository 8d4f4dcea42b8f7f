"""Matrix products: ``dot`` for every rank combination numpy's accepts, ``tensordot``."""
from __future__ import annotations

from ..graph import Apply, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, is_float
from .basic import cast
from .elemwise import result_dtype

__all__ = ["MatMul", "TensorDot", "dot", "tensordot"]


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
        from ..tensor import basic as T
        a, b = inputs
        g = output_grads[0]
        if a.ndim == 1 and b.ndim == 1:          # inner product
            ga, gb = g * b, g * a
        elif b.ndim == 1:                         # (..., k) @ (k,) -> (...)
            ga = T.outer_last(g, b)
            gb = dot(a.T, g) if a.ndim == 2 else \
                tensordot(a, g, [list(range(a.ndim - 1)), list(range(g.ndim))])
        elif a.ndim == 1:                         # (k,) @ (k, p) -> (p,)
            ga, gb = dot(b, g), T.outer(a, g)
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
        from .shape import dimshuffle
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
    from ..tensor import basic as T
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return T.mul(a, b)
    if b.ndim <= 2:
        return _MATMUL(a, b)
    return tensordot(a, b, [[a.ndim - 1], [b.ndim - 2]])
