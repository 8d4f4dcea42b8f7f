"""Elementwise ops: one :class:`Elemwise` op class over a table of scalar ops,
and their builders (``add``, ``exp``, ``sigmoid``, ``switch``...).

The table gives, per kernel name, the number of inputs, the dtype rule and
the gradient rule (written with the builders below and the operators of
variables). Inputs are cast to one dtype and left-padded to one rank at build
time, so kernels never see mixed dtypes.

Some builders return a numerically stable form of what they were asked for
(``log(sigmoid(z))`` is ``-softplus(-z)``): the rules are in
:data:`STABLE_FORMS`, each next to the op it produces (sigmoid's below,
softmax's in :mod:`.nnet`), and run when the expression is built, so the
gradient is taken of the stable form too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..config import config
from ..graph import Apply, Constant, Variable, as_variable
from ..op import CheckedThunk, Op, ShapeError
from ..types import TensorType, is_float
from .basic import ViewOp, cast, result_dtype
from .shape import pad_left, sum_to, zeros_like

__all__ = ["Elemwise", "SCALAR_OPS", "elemwise", "broadcast_shapes", "result_dtype",
           "with_broadcast_check", "STABLE_FORMS", "stable_form", "scalar_name", "is_constant",
           "neg", "abs_", "abs", "exp", "log", "log1p", "expm1", "sqrt", "sqr", "square", "sgn",
           "sign", "floor", "ceil", "round", "trunc", "sin", "cos", "tan", "arcsin", "arccos",
           "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "inv",
           "reciprocal", "sigmoid", "softplus", "erf", "invert", "bitwise_not", "logical_not",
           "isnan", "isinf", "add", "sub", "mul", "int_div", "floor_div", "mod", "pow",
           "maximum", "minimum", "arctan2", "eq", "neq", "lt", "le", "gt", "ge", "and_",
           "bitwise_and", "logical_and", "or_", "bitwise_or", "logical_or", "xor",
           "bitwise_xor", "logical_xor", "true_div", "divide", "switch", "where", "clip",
           "relu", "hard_sigmoid", "elu", "selu", "GradClip", "grad_clip", "ZeroGrad",
           "zero_grad", "COMPARISONS"]

#: the scalar ops whose results are comparisons: such a variable has no truth value
#: (``if a < b:`` raises, as in Theano; every other variable is true)
COMPARISONS = frozenset(("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"))


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
    return [g * b * pow(a, b - 1), g * z * log(a)]


SCALAR_OPS: dict[str, ScalarOp] = {op.name: op for op in [
    # unary
    ScalarOp("negative", 1, "same", lambda x, z, g: [-g]),
    ScalarOp("abs", 1, "same", lambda x, z, g: [g * sgn(x)]),
    ScalarOp("exp", 1, "float", lambda x, z, g: [g * z]),
    ScalarOp("log", 1, "float", lambda x, z, g: [g / x]),
    ScalarOp("log1p", 1, "float", lambda x, z, g: [g / (x + 1)]),
    ScalarOp("expm1", 1, "float", lambda x, z, g: [g * (z + 1)]),
    ScalarOp("sqrt", 1, "float", lambda x, z, g: [g * 0.5 / z]),
    ScalarOp("square", 1, "same", lambda x, z, g: [g * 2 * x]),
    ScalarOp("sign", 1, "same", lambda x, z, g: [zeros_like(x)]),
    ScalarOp("floor", 1, "same", lambda x, z, g: [zeros_like(x)]),
    ScalarOp("ceil", 1, "same", lambda x, z, g: [zeros_like(x)]),
    ScalarOp("round", 1, "same", lambda x, z, g: [zeros_like(x)]),
    ScalarOp("trunc", 1, "same", lambda x, z, g: [zeros_like(x)]),
    ScalarOp("sin", 1, "float", lambda x, z, g: [g * cos(x)]),
    ScalarOp("cos", 1, "float", lambda x, z, g: [-g * sin(x)]),
    ScalarOp("tan", 1, "float", lambda x, z, g: [g * (1 + z * z)]),
    ScalarOp("arcsin", 1, "float", lambda x, z, g: [g / sqrt(1 - x * x)]),
    ScalarOp("arccos", 1, "float", lambda x, z, g: [-g / sqrt(1 - x * x)]),
    ScalarOp("arctan", 1, "float", lambda x, z, g: [g / (1 + x * x)]),
    ScalarOp("sinh", 1, "float", lambda x, z, g: [g * cosh(x)]),
    ScalarOp("cosh", 1, "float", lambda x, z, g: [g * sinh(x)]),
    ScalarOp("tanh", 1, "float", lambda x, z, g: [g * (1 - z * z)]),
    ScalarOp("arcsinh", 1, "float", lambda x, z, g: [g / sqrt(x * x + 1)]),
    ScalarOp("arccosh", 1, "float", lambda x, z, g: [g / sqrt(x * x - 1)]),
    ScalarOp("arctanh", 1, "float", lambda x, z, g: [g / (1 - x * x)]),
    ScalarOp("reciprocal", 1, "float", lambda x, z, g: [-g * z * z]),
    ScalarOp("sigmoid", 1, "float", lambda x, z, g: [g * z * (1 - z)]),
    ScalarOp("softplus", 1, "float", lambda x, z, g: [g * sigmoid(x)]),
    ScalarOp("erf", 1, "float",
             lambda x, z, g: [g * (2 / math.sqrt(math.pi)) * exp(-x * x)]),
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
             lambda a, b, z, g: [g, -g * floor_div(a, b)]),
    ScalarOp("power", 2, "same", _g_pow),
    # a switch, not g * (a >= b): multiplying by a boolean mask would cast it first
    ScalarOp("maximum", 2, "same",
             lambda a, b, z, g: [switch(ge(a, b), g, 0), switch(lt(a, b), g, 0)]),
    ScalarOp("minimum", 2, "same",
             lambda a, b, z, g: [switch(le(a, b), g, 0), switch(gt(a, b), g, 0)]),
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
        None, switch(c, g, 0), switch(c, 0, g)]),
    ScalarOp("clip", 3, "same", lambda x, lo, hi, z, g: [
        switch(and_(ge(x, lo), le(x, hi)), g, 0),
        switch(lt(x, lo), g, 0), switch(gt(x, hi), g, 0)]),
]}


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
    def is_comparison(self) -> bool:
        """Whether the results are comparisons (read by ``Variable.__bool__``)."""
        return self.name in COMPARISONS

    @property
    def scalar(self) -> ScalarOp:
        return SCALAR_OPS[self.name]

    def make_node(self, *inputs) -> Apply:
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
    itself when the build-time check was enough: a
    :class:`~layerkit.core.op.CheckedThunk`, whose comparisons the emitter
    writes inline."""
    check = _broadcast_check(node)
    if check is None:
        return fn
    return CheckedThunk(fn, check.risks, check)


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




# -- build-time stable forms -------------------------------------------------------

#: builder name -> the rules it tries, in order, on its operands; a rule returns the
#: stable replacement or None. A rule sits with the op it produces and is added
#: there with :func:`stable_form` (sigmoid's below, softmax's in :mod:`.nnet`).
STABLE_FORMS: dict[str, list[Callable]] = {"log": [], "exp": [], "divide": []}


def stable_form(builder: str):
    """Decorator: try the rule whenever ``builder`` is called (see :data:`STABLE_FORMS`)."""
    def register(rule):
        STABLE_FORMS[builder].append(rule)
        return rule
    return register


def _stable(builder: str, *operands):
    for rule in STABLE_FORMS[builder]:
        out = rule(*operands)
        if out is not None:
            return out
    return None


def scalar_name(v) -> str | None:
    """The scalar op of the :class:`Elemwise` node that made ``v`` (``"exp"``), or None."""
    owner = v.owner if isinstance(v, Variable) else None
    return owner.op.name if owner is not None and isinstance(owner.op, Elemwise) else None


def is_constant(v, value) -> bool:
    """``v`` is a constant (or a Python number) of one element equal to ``value``."""
    return isinstance(v, Constant) and v.data.size == 1 and float(v.data.reshape(())) == value \
        or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == value)


# -- builders ------------------------------------------------------------------------

_CACHE: dict[str, Elemwise] = {}


def elemwise(name: str, *inputs) -> Variable:
    op = _CACHE.get(name)
    if op is None:
        op = _CACHE[name] = Elemwise(name)
    return op.make_node(*inputs).outputs[0]


def _unary(kernel, doc):
    def f(x):
        return elemwise(kernel, x)
    f.__doc__ = doc
    return f


def _binary(kernel, doc):
    def f(a, b):
        return elemwise(kernel, a, b)
    f.__doc__ = doc
    return f


neg = _unary("negative", "-x")
abs_ = abs = _unary("abs", "|x|")
log1p = _unary("log1p", "log(1 + x), accurate for small x")
expm1 = _unary("expm1", "exp(x) - 1")
sqrt = _unary("sqrt", "square root")
sqr = square = _unary("square", "x * x")
sgn = sign = _unary("sign", "the sign of x (-1, 0, 1)")
floor = _unary("floor", "round down")
ceil = _unary("ceil", "round up")
round = _unary("round", "round half to even")
trunc = _unary("trunc", "round toward zero")
sin, cos, tan = _unary("sin", "sine"), _unary("cos", "cosine"), _unary("tan", "tangent")
arcsin, arccos, arctan = (_unary("arcsin", ""), _unary("arccos", ""), _unary("arctan", ""))
sinh, cosh, tanh = _unary("sinh", ""), _unary("cosh", ""), _unary("tanh", "hyperbolic tangent")
arcsinh, arccosh, arctanh = (_unary("arcsinh", ""), _unary("arccosh", ""), _unary("arctanh", ""))
inv = reciprocal = _unary("reciprocal", "1 / x")
erf = _unary("erf", "the error function")
invert = bitwise_not = logical_not = _unary("logical_not", "not x (booleans)")
isnan, isinf = _unary("isnan", "x is NaN"), _unary("isinf", "x is +-inf")

add = _binary("add", "a + b")
sub = _binary("subtract", "a - b")
mul = _binary("multiply", "a * b")
int_div = floor_div = _binary("floor_divide", "a // b")
mod = _binary("remainder", "a % b")
pow = _binary("power", "a ** b")
maximum = _binary("maximum", "elementwise maximum")
minimum = _binary("minimum", "elementwise minimum")
arctan2 = _binary("arctan2", "atan2(a, b)")
eq = _binary("equal", "a == b (symbolic)")
neq = _binary("not_equal", "a != b (symbolic)")
lt = _binary("less", "a < b")
le = _binary("less_equal", "a <= b")
gt = _binary("greater", "a > b")
ge = _binary("greater_equal", "a >= b")
and_ = bitwise_and = logical_and = _binary("logical_and", "a and b (booleans)")
or_ = bitwise_or = logical_or = _binary("logical_or", "a or b (booleans)")
xor = bitwise_xor = logical_xor = _binary("logical_xor", "a xor b (booleans)")


def log(x):
    """Natural logarithm; ``log(softmax)`` and ``log(sigmoid)`` become stable forms."""
    x = as_variable(x)
    stable = _stable("log", x)
    return elemwise("log", x) if stable is None else stable


def exp(x):
    """e**x; ``exp(log_softmax)`` is ``softmax``."""
    x = as_variable(x)
    stable = _stable("exp", x)
    return elemwise("exp", x) if stable is None else stable


def true_div(a, b):
    """a / b; integers give floatX; ``1/(1+exp(-z))`` becomes a sigmoid."""
    a, b = as_variable(a), as_variable(b)
    stable = _stable("divide", a, b)
    return elemwise("divide", a, b) if stable is None else stable


divide = true_div


def switch(cond, ift, iff):
    """``where``: ``ift`` where ``cond`` is true, else ``iff`` (Theano's ``switch``)."""
    return elemwise("where", cond, ift, iff)


where = switch


def clip(x, a_min, a_max):
    return elemwise("clip", x, a_min, a_max)


@stable_form("log")
def log_of_exp(x):
    """``log(exp(z)) -> z``."""
    return x.owner.inputs[0] if scalar_name(x) == "exp" else None


# -- activations: sigmoid, softplus, relu --------------------------------------------
# sigmoid and softplus are scalar ops of the table above (kernel, dtype rule, gradient);
# here are their builders and the stable forms that produce them.

sigmoid = _unary("sigmoid", "the logistic function 1 / (1 + exp(-x)), computed stably")
softplus = _unary("softplus", "log(1 + exp(x)), computed stably")


@stable_form("log")
def log_of_sigmoid(x):
    """``log(sigmoid(z)) -> -softplus(-z)``; ``log(1 - sigmoid(z)) -> -softplus(z)``."""
    name = scalar_name(x)
    if name == "sigmoid":
        return -softplus(-x.owner.inputs[0])
    if name == "subtract":
        a, b = x.owner.inputs
        if is_constant(a, 1) and scalar_name(b) == "sigmoid":
            return -softplus(b.owner.inputs[0])
    return None


@stable_form("divide")
def sigmoid_of_division(a, b):
    """``1 / (1 + exp(-z)) -> sigmoid(z)``."""
    if is_constant(a, 1) and scalar_name(b) == "add":
        u, v = b.owner.inputs
        for one, e in ((u, v), (v, u)):
            if is_constant(one, 1) and scalar_name(e) == "exp":
                return sigmoid(-e.owner.inputs[0])
    return None


def relu(x, alpha=0):
    """Rectifier; with ``alpha`` the leaky variant ``max(x, alpha * x)`` for alpha < 1."""
    x = as_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return maximum(x, 0)
    # x times its slope (1 or alpha): the backward pass is then one product with the
    # slope the forward pass already computed, not a switch of the two branches
    slope = switch(ge(x, 0), np.asarray(1, dtype=x.dtype), alpha)
    return x * slope


def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid: clip(0.2 * x + 0.5, 0, 1)."""
    return clip(0.2 * as_variable(x) + 0.5, 0, 1)


def elu(x, alpha=1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    x = as_variable(x)
    return switch(gt(x, 0), x, alpha * expm1(x))


def selu(x):
    """The self-normalizing ELU, with its fixed alpha and scale."""
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(x, alpha)


class GradClip(ViewOp):
    """Forward identity; the gradient is clipped to ``[lower, upper]`` (Theano's
    ``theano.gradient.grad_clip``)."""

    __props__ = ("lower", "upper")

    def __init__(self, lower: float, upper: float) -> None:
        if not lower <= upper:
            raise ValueError(f"grad_clip: lower ({lower}) must not exceed upper ({upper})")
        self.lower, self.upper = float(lower), float(upper)

    def grad(self, inputs, outputs, output_grads):
        return [clip(output_grads[0], self.lower, self.upper)]


def grad_clip(x, lower_bound, upper_bound) -> Variable:
    """``x``, whose gradient is clipped elementwise to ``[lower_bound, upper_bound]``."""
    return GradClip(lower_bound, upper_bound)(x)


class ZeroGrad(ViewOp):
    """Forward identity; the gradient through it is zeros (Theano's ``zero_grad``: unlike
    ``disconnected_grad`` the input still counts as connected)."""

    def grad(self, inputs, outputs, output_grads):
        return [zeros_like(inputs[0])]


def zero_grad(x) -> Variable:
    """``x`` with a zero gradient (``theano.gradient.zero_grad``)."""
    return ZeroGrad()(x)
