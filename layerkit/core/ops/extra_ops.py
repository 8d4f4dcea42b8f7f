"""Theano's ``theano.tensor.extra_ops``: running sums and products (one op,
:class:`CumOp`, with the kernels ``cumsum`` and ``cumprod``), and ``repeat``,
``diff``, ``to_one_hot``, ``bincount``, ``squeeze``, and ``theano.tensor.nnet.neighbours``
``images2neibs`` / ``neibs2images``, built from the ops below (their gradients
come from those ops)."""
from __future__ import annotations

import numbers

import numpy as np

from ..config import config
from ..graph import Apply, Constant, Variable, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, as_dtype, is_float
from .basic import assert_op, cast
from .elemwise import and_, eq, ge, lt, maximum, or_
from .reduce import max as max_
from .reduce import normalize_axis
from .reduce import sum as sum_
from .shape import alloc, arange, dimshuffle, flatten, reshape, squeeze, stack
from .subtensor import getitem, set_subtensor

__all__ = ["CumOp", "cumsum", "cumprod", "repeat", "diff", "to_one_hot", "bincount", "squeeze",
           "images2neibs", "neibs2images"]


def _reversed(x: Variable, axis: int) -> Variable:
    key = [slice(None)] * x.ndim
    key[axis] = slice(None, None, -1)
    return getitem(x, tuple(key))


class CumOp(Op):
    """Running sums (``mode='add'``) or products (``mode='mul'``) along ``axis``."""

    __props__ = ("mode", "axis")

    def __init__(self, axis: int, mode: str = "add") -> None:
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis, self.mode = int(axis), mode

    def __repr__(self) -> str:
        return f"{'cumsum' if self.mode == 'add' else 'cumprod'}{{axis={self.axis}}}"

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        dtype = np.zeros(1, dtype=x.dtype).cumsum().dtype.name   # numpy's: narrow ints widen
        x = cast(x, dtype)
        return Apply(self, [x], [TensorType(dtype, x.type.shape)])

    def grad(self, inputs, outputs, output_grads):
        (x,), (z,), (g,) = inputs, outputs, output_grads
        if not is_float(x.dtype):
            return [None]
        if self.mode == "add":
            # d/dx_i of sum_j g_j z_j is the sum of g over j >= i: a reversed running sum
            return [_reversed(CumOp(self.axis)(_reversed(g, self.axis)), self.axis)]
        # z_j = prod_{k <= j} x_k, so dz_j/dx_i = z_j / x_i for j >= i (Theano's rule;
        # like Theano's, it divides by x)
        return [_reversed(CumOp(self.axis)(_reversed(g * z, self.axis)), self.axis) / x]

    def thunk(self, backend, node):
        fn = backend.kernel("cumsum" if self.mode == "add" else "cumprod")
        axis = self.axis
        return lambda x: fn(x, axis=axis)


def _cum(x, axis, mode):
    x = as_variable(x)
    if axis is None:
        x, axis = flatten(x), 0
    elif x.ndim == 0:
        raise ValueError("cumsum/cumprod: a 0-d input has no axis; pass axis=None")
    else:
        (axis,) = normalize_axis(axis, x.ndim, "cumsum" if mode == "add" else "cumprod")
    return CumOp(axis, mode)(x)


def cumsum(x, axis=None) -> Variable:
    """Running sums along ``axis`` (None: of the flattened input), as ``numpy.cumsum``."""
    return _cum(x, axis, "add")


def cumprod(x, axis=None) -> Variable:
    """Running products along ``axis`` (None: of the flattened input), as ``numpy.cumprod``."""
    return _cum(x, axis, "mul")


def _is_scalar(r) -> bool:
    return isinstance(r, numbers.Integral) or (isinstance(r, Variable) and r.ndim == 0)


def repeat(x, repeats, axis=None) -> Variable:
    """``numpy.repeat``: each element along ``axis`` (None: of the flattened input)
    repeated ``repeats`` times (an int, or an int vector with one count per element)."""
    x = as_variable(x)
    if axis is None:
        x, axis = flatten(x), 0
    else:
        (axis,) = normalize_axis(axis, x.ndim, "repeat")
    if isinstance(repeats, (list, tuple, np.ndarray)) and np.size(repeats) == 1:
        repeats = int(np.asarray(repeats).reshape(()))   # one count: numpy's scalar case
    if isinstance(repeats, numbers.Integral) and repeats < 0:
        raise ValueError(f"repeat: repeats must not be negative, got {repeats}")
    if _is_scalar(repeats):
        r = repeats if isinstance(repeats, numbers.Integral) else cast(repeats, "int64")
        # a new axis after ``axis``, broadcast to r, merged into ``axis``
        order = list(range(axis + 1)) + ["x"] + list(range(axis + 1, x.ndim))
        sizes = [x.shape[i] for i in range(x.ndim)]
        y = alloc(dimshuffle(x, order), *sizes[:axis + 1], r, *sizes[axis + 1:])
        return reshape(y, sizes[:axis] + [sizes[axis] * r] + sizes[axis + 1:])
    reps = as_variable(repeats)
    if reps.ndim != 1 or reps.dtype.startswith("float"):
        raise TypeError(f"repeat: repeats must be an int or a vector of ints, got {reps.type}")
    n = x.shape[axis]
    if isinstance(reps, Constant) and reps.data.shape[0] != 1 and x.type.shape[axis] is not None \
            and reps.data.shape[0] != x.type.shape[axis]:
        raise ValueError(f"repeat: {reps.data.shape[0]} counts for {x.type.shape[axis]} "
                         f"elements along axis {axis}")
    reps = assert_op(cast(reps, "int64"),
                     or_(eq(reps.shape[0], n), eq(reps.shape[0], 1)),
                     message=f"repeat: repeats must hold one count per element along axis "
                             f"{axis} (or a single count)")
    reps = assert_op(alloc(reps, n), ge(reps, 0).all(),
                     message="repeat: repeats must not be negative")
    ends = cumsum(reps)
    # output position k reads element i = the number of ends <= k
    k = arange(sum_(reps), dtype="int64")
    index = sum_(cast(ge(dimshuffle(k, (0, "x")), dimshuffle(ends, ("x", 0))), "int64"), axis=1)
    return getitem(x, (slice(None),) * axis + (index,))


def diff(x, n=1, axis=-1) -> Variable:
    """``numpy.diff``: the ``n``-th differences along ``axis``."""
    x = as_variable(x)
    (axis,) = normalize_axis(axis, x.ndim, "diff")
    for _ in range(int(n)):
        hi = [slice(None)] * x.ndim
        lo = [slice(None)] * x.ndim
        hi[axis], lo[axis] = slice(1, None), slice(None, -1)
        x = getitem(x, tuple(hi)) - getitem(x, tuple(lo))
    return x


def to_one_hot(y, nb_class, dtype=None) -> Variable:
    """A ``(len(y), nb_class)`` matrix, row ``i`` one at column ``y[i]`` (floatX by default)."""
    y = as_variable(y)
    if y.ndim != 1:
        raise TypeError(f"to_one_hot: y must be a vector of class indices, got {y.ndim}-d")
    if not y.dtype.startswith(("int", "uint")):
        raise TypeError(f"to_one_hot: y must hold integer class indices, got {y.dtype}")
    # int64 columns: a narrow label dtype (uint8) would wrap them around
    y = cast(y, "int64")
    y = assert_op(y, and_(ge(y, 0), lt(y, nb_class)).all(),
                  message=f"to_one_hot: a class index is outside 0 .. {nb_class} - 1",
                  error="IndexError")
    hot = eq(dimshuffle(y, (0, "x")), dimshuffle(arange(nb_class, dtype="int64"), ("x", 0)))
    return cast(hot, as_dtype(dtype) if dtype is not None else config.floatX)


def bincount(x, weights=None, minlength=None, assert_nonneg=False) -> Variable:
    """``numpy.bincount``: how often each of ``0 .. max(x)`` occurs in the int vector
    ``x`` (at least ``minlength`` bins), or the sums of ``weights`` per value (then
    differentiable in ``weights``)."""
    x = as_variable(x)
    if x.ndim != 1 or not x.dtype.startswith(("int", "uint")):
        raise TypeError(f"bincount: x must be a vector of ints, got {x.type}")
    x = cast(x, "int64")
    if isinstance(x, Constant) and (x.data < 0).any():
        raise ValueError("bincount: x holds negative values")
    # numpy refuses negative values, with or without Theano's assert_nonneg
    x = assert_op(x, ge(x, 0).all(), message="bincount: x holds negative values")
    bins = max_(x) + 1
    if minlength is not None:
        bins = maximum(bins, minlength)
    hot = eq(dimshuffle(x, (0, "x")), dimshuffle(arange(bins, dtype="int64"), ("x", 0)))
    if weights is None:
        return sum_(cast(hot, "int64"), axis=0)
    w = as_variable(weights)
    if w.ndim != 1:
        raise TypeError(f"bincount: weights must be a vector, got {w.ndim}-d")
    if not is_float(w.dtype):
        w = cast(w, "float64")
    return sum_(cast(hot, w.dtype) * dimshuffle(w, (0, "x")), axis=0)



# -- theano.tensor.nnet.neighbours ------------------------------------------------

def _pair(what: str, pair) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in pair)
    except (TypeError, ValueError):
        raise TypeError(f"images2neibs: {what} must be a pair of ints, got {pair!r}") from None
    if a < 1 or b < 1:
        raise ValueError(f"images2neibs: {what} must be positive, got {pair!r}")
    return a, b


def images2neibs(ten4, neib_shape, neib_step=None, mode="valid") -> Variable:
    """Theano's ``images2neibs``: every ``neib_shape`` window of the last two axes of the
    4-d ``ten4`` (windows ``neib_step`` apart; default: ``neib_shape``, no overlap) as a
    row of a matrix of ``neib_shape[0] * neib_shape[1]`` columns, rows ordered by
    (image, channel, window row, window column), each window read row by row.

    ``mode``: ``'valid'`` (the windows must tile the image exactly: refused at build
    time when the sizes are known), ``'ignore_borders'`` (cells no whole window covers
    are left out), ``'half'`` / ``'full'`` (zero padding of ``neib_shape // 2`` /
    ``neib_shape - 1`` on each side, then ``'ignore_borders'``). Built from slices, so
    its gradient is that of the slices (overlapping windows add up)."""
    x = as_variable(ten4)
    if x.ndim != 4:
        raise TypeError(f"images2neibs: ten4 must be 4-d, got {x.ndim}-d")
    nh, nw = _pair("neib_shape", neib_shape)
    sh, sw = _pair("neib_step", neib_step) if neib_step is not None else (nh, nw)
    if mode in ("half", "full"):
        ph, pw = (nh // 2, nw // 2) if mode == "half" else (nh - 1, nw - 1)
        sizes = [x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw]
        x = set_subtensor(getitem(alloc(np.zeros((), dtype=x.dtype), *sizes),
                                  (slice(None), slice(None), slice(ph, ph + x.shape[2]),
                                   slice(pw, pw + x.shape[3]))), x)
    elif mode == "valid":
        for size, n, s, name in ((x.type.shape[2], nh, sh, "rows"),
                                 (x.type.shape[3], nw, sw, "columns")):
            if size is not None and (size < n or (size - n) % s):
                raise ShapeError(f"images2neibs(mode='valid'): {size} {name} are not tiled "
                                 f"by windows of {n} every {s}; use mode='ignore_borders'")
        # sizes known only when the function runs: checked then
        rows_ok = and_(ge(x.shape[2], nh), eq((x.shape[2] - nh) % sh, 0))
        cols_ok = and_(ge(x.shape[3], nw), eq((x.shape[3] - nw) % sw, 0))
        x = assert_op(x, rows_ok, cols_ok,
                      message=f"images2neibs(mode='valid'): the image is not tiled by windows "
                              f"of {(nh, nw)} every {(sh, sw)}; use mode='ignore_borders'")
    elif mode != "ignore_borders":
        raise NotImplementedError(f"images2neibs: mode {mode!r} is not supported ('valid', "
                                  "'ignore_borders', 'half' and 'full' are)")
    rows = (x.shape[2] - nh) // sh + 1
    cols = (x.shape[3] - nw) // sw + 1
    patches = [getitem(x, (slice(None), slice(None),
                           slice(i, i + sh * (rows - 1) + 1, sh),
                           slice(j, j + sw * (cols - 1) + 1, sw)))
               for i in range(nh) for j in range(nw)]
    return reshape(stack(patches, axis=4), (-1, nh * nw))


def neibs2images(neibs, neib_shape, original_shape, mode="valid") -> Variable:
    """The inverse of ``images2neibs`` for windows that do not overlap (the default
    step): the rows of ``neibs`` put back into images of ``original_shape``."""
    if mode != "valid":
        raise NotImplementedError("neibs2images: only mode='valid' is supported")
    neibs = as_variable(neibs)
    nh, nw = _pair("neib_shape", neib_shape)
    if isinstance(original_shape, Variable):
        n, c, h, w = (original_shape[k] for k in range(4))
    else:
        n, c, h, w = original_shape
    y = reshape(neibs, (n, c, h // nh, w // nw, nh, nw))
    return reshape(dimshuffle(y, (0, 1, 2, 4, 3, 5)), (n, c, h, w))
