"""The functions of ``layerkit.core.tensor`` (Theano's ``T``): math, reductions,
shaping and indexing, each a thin graph builder over the core ops."""
from __future__ import annotations

import builtins

import numpy as np

from ..graph import Constant, Variable, as_variable
from ..ignored import warn_ignored
from ..grad import grad
from ..ops.basic import cast, disconnected_grad
from ..ops.elemwise import elemwise
from ..ops.linalg import dot, tensordot
from ..ops.nnet import log_softmax as _log_softmax, softmax as _softmax
from ..ops.reduce import ArgReduce, normalize_axis, reduce, reduce_acc
from ..ops.shape import (Alloc, Arange, Concatenate, as_shape, dimshuffle, reshape as _reshape,
                         shape_of)
from ..ops.subtensor import getitem, inc_subtensor as _inc
from ..rewrite import stabilize
from ..types import TensorType, as_dtype, is_float

__all__ = [
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "isnan",
    "isinf",
    "abs",
    "as_tensor",
    "bitwise_not",
    "logical_not",
    "bitwise_and",
    "logical_and",
    "bitwise_or",
    "logical_or",
    "bitwise_xor",
    "logical_xor",
    "square",
    "sign",
    "reciprocal",
    "floor_div",
    "divide",
    "where",
    "exp",
    "abs_",
    "add",
    "addbroadcast",
    "all",
    "alloc",
    "and_",
    "any",
    "arange",
    "arctan2",
    "argmax",
    "argmin",
    "as_tensor_variable",
    "batched_dot",
    "cast",
    "ceil",
    "clip",
    "concatenate",
    "constant",
    "dimshuffle",
    "disconnected_grad",
    "divide",
    "dot",
    "eq",
    "erf",
    "exp",
    "expm1",
    "fill",
    "flatten",
    "floor",
    "ge",
    "getitem",
    "grad",
    "gt",
    "inc_subtensor",
    "int_div",
    "inv",
    "invert",
    "join",
    "le",
    "log",
    "log1p",
    "log_softmax",
    "logsoftmax",
    "logsumexp",
    "lt",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mod",
    "mul",
    "neg",
    "neq",
    "norm",
    "ones",
    "ones_like",
    "or_",
    "outer",
    "outer_last",
    "patternbroadcast",
    "pow",
    "prod",
    "relu",
    "reshape",
    "round",
    "set_subtensor",
    "sgn",
    "shape_padaxis",
    "shape_padleft",
    "shape_padright",
    "sigmoid",
    "softmax",
    "softplus",
    "sqr",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "switch",
    "tensordot",
    "transpose",
    "true_div",
    "trunc",
    "unbroadcast",
    "var",
    "where",
    "xor",
    "zeros",
    "zeros_like",
]

as_tensor_variable = as_tensor = as_variable


def constant(x, name=None, dtype=None):
    return as_variable(x, dtype=dtype, name=name)


# -- elementwise -------------------------------------------------------------

def _unary(kernel, doc):
    def f(x):
        return elemwise(kernel, x)
    f.__doc__ = doc
    return f


neg = _unary("negative", "-x")
abs_ = abs = _unary("abs", "|x|")
exp = _unary("exp", "e**x")
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
sigmoid = _unary("sigmoid", "the logistic function 1 / (1 + exp(-x)), computed stably")
softplus = _unary("softplus", "log(1 + exp(x)), computed stably")
erf = _unary("erf", "the error function")
invert = bitwise_not = logical_not = _unary("logical_not", "not x (booleans)")
isnan, isinf = _unary("isnan", "x is NaN"), _unary("isinf", "x is +-inf")


def log(x):
    """Natural logarithm; ``log(softmax)`` and ``log(sigmoid)`` become stable forms."""
    stable = stabilize.log_of(as_variable(x))
    return elemwise("log", x) if stable is None else stable


def exp(x):  # noqa: F811 - re-defined to add the exp(log_softmax) form
    """e**x."""
    stable = stabilize.exp_of(as_variable(x))
    return elemwise("exp", x) if stable is None else stable


def _binary(kernel, doc):
    def f(a, b):
        return elemwise(kernel, a, b)
    f.__doc__ = doc
    return f


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


def true_div(a, b):
    """a / b; integers give floatX; ``1/(1+exp(-z))`` becomes a sigmoid."""
    a, b = as_variable(a), as_variable(b)
    stable = stabilize.divide(a, b)
    return elemwise("divide", a, b) if stable is None else stable


divide = true_div


def switch(cond, ift, iff):
    """``where``: ``ift`` where ``cond`` is true, else ``iff`` (Theano's ``switch``)."""
    return elemwise("where", cond, ift, iff)


where = switch


def clip(x, a_min, a_max):
    return elemwise("clip", x, a_min, a_max)


def relu(x, alpha=0):
    """Rectifier; with ``alpha`` the leaky variant ``max(x, alpha * x)`` for alpha < 1."""
    x = as_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return maximum(x, 0)
    # x times its slope (1 or alpha): the backward pass is then one product with the
    # slope the forward pass already computed, not a switch of the two branches
    slope = switch(ge(x, 0), np.asarray(1, dtype=x.dtype), alpha)
    return x * slope


# -- reductions ----------------------------------------------------------------

def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """The sum; ``dtype`` is the result's dtype, ``acc_dtype`` the accumulator's
    (see :func:`layerkit.core.ops.reduce.reduce_acc`)."""
    return reduce_acc("sum", x, axis, keepdims, dtype, acc_dtype)


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """The product; ``dtype`` and ``acc_dtype`` as in :func:`sum`."""
    return reduce_acc("prod", x, axis, keepdims, dtype, acc_dtype)


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """The mean; of integers or booleans it is floatX unless ``dtype`` says otherwise.
    ``acc_dtype`` is the accumulator's dtype, as in :func:`sum`."""
    return reduce_acc("mean", x, axis, keepdims, dtype, acc_dtype)


def max(x, axis=None, keepdims=False):
    return reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return reduce("min", x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    return reduce("any", x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    return reduce("all", x, axis, keepdims)


def _arg(name, x, axis, keepdims):
    x = as_variable(x)
    axes = normalize_axis(axis, x.ndim, name)
    if axes is not None and len(axes) > 1:
        raise ValueError(f"{name} takes one axis or None, got {axis}")
    return ArgReduce(name, None if axes is None else axes[0], keepdims)(x)


def argmax(x, axis=None, keepdims=False):
    return _arg("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg("argmin", x, axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0, corrected=False):
    x = as_variable(x)
    centred = x - mean(x, axis=axis, keepdims=True)
    v = mean(sqr(centred), axis=axis, keepdims=keepdims)
    if ddof or corrected:
        d = ddof or 1
        n = prod(shape_of(x)) if axis is None else prod(
            stack([x.shape[a] for a in normalize_axis(axis, x.ndim, "var")]))
        v = v * cast(n, v.dtype) / cast(n - d, v.dtype)
    return v


def std(x, axis=None, keepdims=False, ddof=0, corrected=False):
    return sqrt(var(x, axis, keepdims, ddof, corrected))


def norm(x, L=2, axis=None, keepdims=False):
    if L == 1:
        return sum(abs_(x), axis=axis, keepdims=keepdims)
    if L == 2:
        return sqrt(sum(sqr(x), axis=axis, keepdims=keepdims))
    return pow(sum(pow(abs_(x), L), axis=axis, keepdims=keepdims), 1.0 / L)


# -- creation ------------------------------------------------------------------

def alloc(value, *shape):
    """``value`` broadcast to ``shape`` (given as scalars)."""
    value = as_variable(value)
    return Alloc()(value, list(shape))


def fill(model, value):
    """``value`` broadcast to the shape of ``model``."""
    model = as_variable(model)
    return Alloc()(as_variable(value), shape_of(model)) if model.ndim else \
        cast(as_variable(value), as_variable(value).dtype)


def zeros(shape, dtype=None):
    return Alloc()(np.zeros((), dtype=as_dtype(dtype)), _shape_arg(shape))


def ones(shape, dtype=None):
    return Alloc()(np.ones((), dtype=as_dtype(dtype)), _shape_arg(shape))


def _shape_arg(shape):
    if isinstance(shape, Variable):
        return shape
    return list(shape) if isinstance(shape, (list, tuple)) else [shape]


def zeros_like(x, dtype=None):
    x = as_variable(x)
    z = as_variable(np.zeros((), dtype=as_dtype(dtype or x.dtype)))
    return Alloc()(z, shape_of(x)) if x.ndim else z


def ones_like(x, dtype=None):
    x = as_variable(x)
    o = as_variable(np.ones((), dtype=as_dtype(dtype or x.dtype)))
    return Alloc()(o, shape_of(x)) if x.ndim else o


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    parts = [as_variable(v) for v in (start, stop, step)]
    if dtype is None:
        dtype = np.result_type(*[p.dtype for p in parts]).name
        if builtins.all(p.dtype.startswith(("int", "uint")) for p in parts):
            dtype = "int64"
    return Arange(as_dtype(dtype))(*parts)


# -- shaping -------------------------------------------------------------------

def reshape(x, newshape, ndim=None):
    """``x`` with the shape ``newshape`` (ints, scalars, or an int vector).

    ``ndim`` is the number of dimensions of the result: needed when
    ``newshape`` is a symbolic vector whose length is not known when the graph
    is built (its length is then checked when the function runs), and checked
    against ``newshape`` otherwise.
    """
    x = as_variable(x)
    shape = _shape_arg(newshape)
    if ndim is not None:
        ndim = int(ndim)
        known = shape.type.shape[0] if isinstance(shape, Variable) and shape.ndim == 1 \
            else (1 if isinstance(shape, Variable) else len(shape))
        if known is None:
            # a vector of unknown length: reshaping it to (ndim,) gives it a static
            # length and raises at run time when its real length differs
            shape = _reshape(shape, [ndim])
        elif known != ndim:
            raise ValueError(f"reshape: ndim={ndim} but the new shape {newshape} has "
                             f"{known} entries")
    return _reshape(x, shape)


def flatten(x, ndim=1, outdim=None):
    """Keep the first ``ndim - 1`` dimensions and flatten the rest into one."""
    x = as_variable(x)
    ndim = outdim if outdim is not None else ndim
    if not 1 <= ndim <= builtins.max(x.ndim, 1):
        raise ValueError(f"flatten: ndim={ndim} is invalid for a {x.ndim}-d input")
    lead = [x.shape[i] for i in range(ndim - 1)]
    tail = x.type.shape[ndim - 1:]
    last = int(np.prod(tail)) if builtins.all(s is not None for s in tail) else -1
    return _reshape(x, lead + [last])


def transpose(x, axes=None):
    x = as_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    return dimshuffle(x, axes)


def shape_padleft(x, n_ones=1):
    x = as_variable(x)
    return dimshuffle(x, ["x"] * n_ones + list(range(x.ndim)))


def shape_padright(x, n_ones=1):
    x = as_variable(x)
    return dimshuffle(x, list(range(x.ndim)) + ["x"] * n_ones)


def shape_padaxis(x, axis):
    x = as_variable(x)
    order = list(range(x.ndim))
    order.insert(axis % (x.ndim + 1), "x")
    return dimshuffle(x, order)


def addbroadcast(x, *axes):
    """Declare dimensions of size 1 (checked at run time by the kernels' shapes)."""
    x = as_variable(x)
    shape = list(x.type.shape)
    for a in axes:
        if shape[a] not in (None, 1):
            raise ValueError(f"addbroadcast: dimension {a} of {x.type.shape} is not 1")
        shape[a] = 1
    return _reshape(x, [1 if s == 1 else x.shape[i] for i, s in enumerate(shape)])


def patternbroadcast(x, broadcastable):
    x = as_variable(x)
    return addbroadcast(x, *[i for i, b in enumerate(broadcastable) if b])


def unbroadcast(x, *axes):
    """``x`` itself: a static size of 1 is information here, and broadcasting is
    decided by the run-time shapes (as in numpy), so there is nothing to undo."""
    return as_variable(x)


def squeeze(x):
    x = as_variable(x)
    return dimshuffle(x, [i for i, s in enumerate(x.type.shape) if s != 1])


def concatenate(tensor_list, axis=0):
    xs = [as_variable(t) for t in tensor_list]
    if not xs:
        raise ValueError("concatenate needs at least one tensor")
    ndim = xs[0].ndim
    return Concatenate(int(axis) % ndim if ndim else 0)(*xs)


join = lambda axis, *tensors: concatenate(tensors, axis)  # noqa: E731 - Theano's argument order


def stack(*tensors, axis=0):
    """Join along a new axis; accepts a list or several arguments."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    xs = [as_variable(t) for t in tensors]
    if not xs:
        raise ValueError("stack needs at least one tensor")
    if builtins.all(x.ndim == 0 for x in xs) and axis == 0:
        from ..ops.shape import MakeVector
        from ..ops.elemwise import result_dtype
        return MakeVector(result_dtype(xs))(*xs)
    return concatenate([shape_padaxis(x, axis) for x in xs], axis=axis)


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
    from ..op import ShapeError
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        return
    sa, sb = a.type.shape, b.type.shape
    pairs = [(0, 0, "batch size"), (a.ndim - 1, 1, "summed")]
    for ka, kb, what in pairs:
        if sa[ka] is not None and sb[kb] is not None and sa[ka] != sb[kb]:
            raise ShapeError(f"batched_dot: shapes {sa} and {sb} do not agree in the "
                             f"{what} dimension ({sa[ka]} (dim {ka}) != {sb[kb]} (dim {kb}))")


# -- indexing --------------------------------------------------------------------

def _inplace_flags(func, inplace, tolerate_inplace_aliasing):
    why = ("the result is always a new value; the compiler decides what runs in place "
           "(Theano's own advice was not to pass it)")
    if inplace:
        warn_ignored(func, "inplace", why, stacklevel=4)
    if tolerate_inplace_aliasing:
        warn_ignored(func, "tolerate_inplace_aliasing", why, stacklevel=4)


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """``x`` with ``y`` written into its indexed part (``x`` must be an indexing of a
    variable). ``inplace`` and ``tolerate_inplace_aliasing`` are accepted and ignored
    with a warning."""
    _inplace_flags("set_subtensor", inplace, tolerate_inplace_aliasing)
    return _inc(as_variable(x), y, set_instead_of_inc=True)


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False, tolerate_inplace_aliasing=False):
    """``x`` with ``y`` added to its indexed part (or written: ``set_instead_of_inc``);
    ``inplace`` and ``tolerate_inplace_aliasing`` as in :func:`set_subtensor`."""
    _inplace_flags("inc_subtensor", inplace, tolerate_inplace_aliasing)
    return _inc(as_variable(x), y, set_instead_of_inc=set_instead_of_inc)


# -- nnet (also in T.nnet) ----------------------------------------------------------

def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis, keepdims=True)``, computed stably.

    ``axis``: an int, negative counting from the end (default: the last axis,
    Theano's rows of a matrix), or None for every element at once (as
    ``scipy.special.softmax`` and PyTensor).
    """
    return _softmax(as_variable(x), axis)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis, keepdims=True)``, computed stably; ``axis`` as in
    :func:`softmax`."""
    return _log_softmax(as_variable(x), axis)


logsoftmax = log_softmax


def logsumexp(x, axis=None, keepdims=False):
    x = as_variable(x)
    m = disconnected_grad(max(x, axis=axis, keepdims=True))
    out = log(sum(exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        axes = normalize_axis(axis, x.ndim, "logsumexp")
        out = dimshuffle(out, [i for i in range(x.ndim) if axes is not None and i not in axes]
                         if axes is not None else [])
    return out


# re-exported here so internal modules can reach every builder as ``basic.X``
from ..ops.shape import dimshuffle  # noqa: E402,F401
getitem = getitem
