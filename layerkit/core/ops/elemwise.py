"""Elementwise ops: one :class:`Elemwise` op class over a table of scalar ops.

The table gives, per kernel name, the number of inputs, the dtype rule and
the gradient rule. Inputs are cast to one dtype and left-padded to one rank
at build time, so kernels never see mixed dtypes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..config import config
from ..graph import Apply, Constant, Variable, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, is_float

__all__ = ["Elemwise", "SCALAR_OPS", "elemwise", "broadcast_shapes", "result_dtype"]


def _T():
    from ..tensor import basic
    return basic


@dataclass(frozen=True)
class ScalarOp:
    name: str
    nin: int
    #: "same" (common dtype), "float" (ints become floatX), "bool" (compare, bool out),
    #: "logical" (bool in, bool out), "where" (bool, then common), "int" (no floats)
    kind: str
    grad: Callable | None = None


def _zero(*xs):
    return [None for _ in xs]


def _g_pow(a, b, z, g):
    T = _T()
    return [g * b * T.pow(a, b - 1), g * z * T.log(a)]


SCALAR_OPS: dict[str, ScalarOp] = {op.name: op for op in [
    # unary
    ScalarOp("negative", 1, "same", lambda x, z, g: [-g]),
    ScalarOp("abs", 1, "same", lambda x, z, g: [g * _T().sgn(x)]),
    ScalarOp("exp", 1, "float", lambda x, z, g: [g * z]),
    ScalarOp("log", 1, "float", lambda x, z, g: [g / x]),
    ScalarOp("log1p", 1, "float", lambda x, z, g: [g / (x + 1)]),
    ScalarOp("expm1", 1, "float", lambda x, z, g: [g * (z + 1)]),
    ScalarOp("sqrt", 1, "float", lambda x, z, g: [g * 0.5 / z]),
    ScalarOp("square", 1, "same", lambda x, z, g: [g * 2 * x]),
    ScalarOp("sign", 1, "same", lambda x, z, g: [_T().zeros_like(x)]),
    ScalarOp("floor", 1, "same", lambda x, z, g: [_T().zeros_like(x)]),
    ScalarOp("ceil", 1, "same", lambda x, z, g: [_T().zeros_like(x)]),
    ScalarOp("round", 1, "same", lambda x, z, g: [_T().zeros_like(x)]),
    ScalarOp("trunc", 1, "same", lambda x, z, g: [_T().zeros_like(x)]),
    ScalarOp("sin", 1, "float", lambda x, z, g: [g * _T().cos(x)]),
    ScalarOp("cos", 1, "float", lambda x, z, g: [-g * _T().sin(x)]),
    ScalarOp("tan", 1, "float", lambda x, z, g: [g * (1 + z * z)]),
    ScalarOp("arcsin", 1, "float", lambda x, z, g: [g / _T().sqrt(1 - x * x)]),
    ScalarOp("arccos", 1, "float", lambda x, z, g: [-g / _T().sqrt(1 - x * x)]),
    ScalarOp("arctan", 1, "float", lambda x, z, g: [g / (1 + x * x)]),
    ScalarOp("sinh", 1, "float", lambda x, z, g: [g * _T().cosh(x)]),
    ScalarOp("cosh", 1, "float", lambda x, z, g: [g * _T().sinh(x)]),
    ScalarOp("tanh", 1, "float", lambda x, z, g: [g * (1 - z * z)]),
    ScalarOp("arcsinh", 1, "float", lambda x, z, g: [g / _T().sqrt(x * x + 1)]),
    ScalarOp("arccosh", 1, "float", lambda x, z, g: [g / _T().sqrt(x * x - 1)]),
    ScalarOp("arctanh", 1, "float", lambda x, z, g: [g / (1 - x * x)]),
    ScalarOp("reciprocal", 1, "float", lambda x, z, g: [-g * z * z]),
    ScalarOp("sigmoid", 1, "float", lambda x, z, g: [g * z * (1 - z)]),
    ScalarOp("softplus", 1, "float", lambda x, z, g: [g * _T().sigmoid(x)]),
    ScalarOp("erf", 1, "float",
             lambda x, z, g: [g * (2 / math.sqrt(math.pi)) * _T().exp(-x * x)]),
    ScalarOp("logical_not", 1, "logical", _zero),
    ScalarOp("isnan", 1, "bool", _zero),
    ScalarOp("isinf", 1, "bool", _zero),
    # binary
    ScalarOp("add", 2, "same", lambda a, b, z, g: [g, g]),
    ScalarOp("subtract", 2, "same", lambda a, b, z, g: [g, -g]),
    ScalarOp("multiply", 2, "same", lambda a, b, z, g: [g * b, g * a]),
    ScalarOp("divide", 2, "float", lambda a, b, z, g: [g / b, -g * z / b]),
    ScalarOp("floor_divide", 2, "same", _zero),
    ScalarOp("remainder", 2, "same",
             lambda a, b, z, g: [g, -g * _T().floor_div(a, b)]),
    ScalarOp("power", 2, "same", _g_pow),
    # a switch, not g * (a >= b): multiplying by a boolean mask would cast it first
    ScalarOp("maximum", 2, "same",
             lambda a, b, z, g: [_T().switch(_T().ge(a, b), g, 0), _T().switch(_T().lt(a, b), g, 0)]),
    ScalarOp("minimum", 2, "same",
             lambda a, b, z, g: [_T().switch(_T().le(a, b), g, 0), _T().switch(_T().gt(a, b), g, 0)]),
    ScalarOp("arctan2", 2, "float",
             lambda a, b, z, g: [g * b / (a * a + b * b), -g * a / (a * a + b * b)]),
    ScalarOp("equal", 2, "bool", _zero),
    ScalarOp("not_equal", 2, "bool", _zero),
    ScalarOp("less", 2, "bool", _zero),
    ScalarOp("less_equal", 2, "bool", _zero),
    ScalarOp("greater", 2, "bool", _zero),
    ScalarOp("greater_equal", 2, "bool", _zero),
    ScalarOp("logical_and", 2, "logical", _zero),
    ScalarOp("logical_or", 2, "logical", _zero),
    ScalarOp("logical_xor", 2, "logical", _zero),
    # ternary
    ScalarOp("where", 3, "where", lambda c, a, b, z, g: [
        None, _T().switch(c, g, 0), _T().switch(c, 0, g)]),
    ScalarOp("clip", 3, "same", lambda x, lo, hi, z, g: [
        _T().switch(_T().and_(_T().ge(x, lo), _T().le(x, hi)), g, 0),
        _T().switch(_T().lt(x, lo), g, 0), _T().switch(_T().gt(x, hi), g, 0)]),
]}


def result_dtype(inputs: list[Variable]) -> str:
    """numpy 2's promotion, with Python scalars (weak constants) as numpy treats them."""
    strong = [v.dtype for v in inputs if not (isinstance(v, Constant) and v.weak is not None)]
    weak = [v.weak for v in inputs if isinstance(v, Constant) and v.weak is not None]
    if not strong:
        return np.result_type(*[v.data for v in inputs]).name
    return np.result_type(*strong, *weak).name


def broadcast_shapes(opname: str, inputs: list[Variable], given=None) -> tuple:
    """Theano's rule: only dims known to be 1 broadcast; known sizes must agree.

    ``inputs`` are padded to one rank; ``given`` (the variables as the user gave
    them) only serve the message, so it shows the shapes the user wrote.
    """
    ndim = max(v.ndim for v in inputs)
    out = []
    for axis in range(ndim):
        sizes = [v.type.shape[axis] for v in inputs]
        known = {s for s in sizes if s is not None and s != 1}
        if len(known) > 1:
            shapes = " and ".join(str(v.type.shape) for v in (given or inputs))
            where = f"dimension {axis}" if given is None or all(v.ndim == ndim for v in given) \
                else f"dimension {axis - ndim} (counting from the end)"
            raise ShapeError(f"{opname}: shapes {shapes} do not match in {where} "
                             f"(sizes {sorted(known)})")
        if known:
            out.append(known.pop())
        elif all(s == 1 for s in sizes):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


class Elemwise(Op):
    """Apply the scalar op ``name`` elementwise, with Theano's broadcasting."""

    __props__ = ("name",)

    def __init__(self, name: str) -> None:
        if name not in SCALAR_OPS:
            raise ValueError(f"unknown elementwise op {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return self.name

    @property
    def scalar(self) -> ScalarOp:
        return SCALAR_OPS[self.name]

    def make_node(self, *inputs) -> Apply:
        from .basic import cast
        from .shape import pad_left

        scal = self.scalar
        if len(inputs) != scal.nin:
            raise TypeError(f"{self.name} takes {scal.nin} inputs, got {len(inputs)}")
        inputs = [as_variable(x) for x in inputs]
        kind = scal.kind
        if kind == "where":
            common = result_dtype(inputs[1:])
            in_dtypes = ["bool", common, common]
        elif kind == "logical":
            in_dtypes = ["bool"] * scal.nin
        else:
            common = result_dtype(inputs)
            if kind == "float" and not is_float(common):
                common = config.floatX
            in_dtypes = [common] * scal.nin
        if kind in ("bool", "logical"):
            out_dtype = "bool"
        else:
            out_dtype = in_dtypes[-1]
        ndim = max(v.ndim for v in inputs)
        given = inputs
        inputs = [pad_left(cast(v, d), ndim) for v, d in zip(inputs, in_dtypes)]
        shape = broadcast_shapes(self.name, inputs, given)
        return Apply(self, inputs, [TensorType(out_dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        from .reduce import sum_to
        from .basic import cast

        grads = self.scalar.grad(*inputs, outputs[0], output_grads[0])
        result = []
        for x, gx in zip(inputs, grads):
            if gx is None or not is_float(x.dtype):
                result.append(None)
                continue
            result.append(cast(sum_to(gx, x.type), x.dtype))
        return result

    def thunk(self, backend, node):
        fn = backend.kernel(self.name)
        fn = getattr(fn, "direct", fn)   # the contract: same call, cheaper (numpy: the ufunc)
        return with_broadcast_check(fn, node)


def with_broadcast_check(fn, node: Apply):
    """``fn`` checking Theano's broadcasting rule on its arguments first, or ``fn``
    itself when the build-time check was enough. The wrapper carries ``unchecked``,
    ``risks`` and ``check`` for the linker, which writes the comparisons inline."""
    check = _broadcast_check(node)
    if check is None:
        return fn

    def checked(*args, out=None):
        check(args)
        return fn(*args) if out is None else fn(*args, out=out)
    checked.accepts_out = getattr(fn, "accepts_out", False)
    checked.unchecked, checked.risks, checked.check = fn, check.risks, check
    return checked


def _broadcast_check(node: Apply):
    """A run-time check that unknown sizes agree (a run-time 1 must not broadcast).

    Only axes where two or more inputs are not known to be 1, and some size is
    unknown, can go wrong; elsewhere the build-time check was enough.
    """
    inputs = node.inputs
    if len(inputs) < 2:
        return None
    risky = []
    for axis in range(inputs[0].ndim):
        free = [i for i, v in enumerate(inputs) if v.type.shape[axis] != 1]
        if len(free) > 1 and any(inputs[i].type.shape[axis] is None for i in free):
            risky.append((axis, free))
    if not risky:
        return None
    name = node.op.name

    def check(args):
        for axis, free in risky:
            size = args[free[0]].shape[axis]
            for i in free[1:]:
                if args[i].shape[axis] != size:
                    shapes = " and ".join(str(a.shape) for a in args)
                    raise ValueError(
                        f"{name}: input shapes {shapes} do not match in "
                        f"dimension {axis}. Only dimensions known at build time to be 1 "
                        "broadcast; use dimshuffle('x', ...) or T.addbroadcast to mark a "
                        "broadcasting dimension.")
    #: [(axis, input positions that must agree on it)], for code that checks inline
    check.risks = risky
    return check


_CACHE: dict[str, Elemwise] = {}


def elemwise(name: str, *inputs) -> Variable:
    op = _CACHE.get(name)
    if op is None:
        op = _CACHE[name] = Elemwise(name)
    return op.make_node(*inputs).outputs[0]
