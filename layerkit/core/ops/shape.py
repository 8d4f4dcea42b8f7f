"""Shape ops and their builders: dimshuffle, reshape, shape, make_vector,
concatenate, alloc, arange; ``flatten``, ``stack``, ``zeros`` and the rest of
Theano's shaping and creation functions; ``sum_to``, the gradient of a broadcast.

The gradients here index (``g[i]``) and sum (``g.sum()``) through the operators
of variables: the indexing and reduction modules sit above this one.
"""
from __future__ import annotations

import builtins
from typing import Sequence

import numpy as np

from ..graph import Apply, Constant, Variable, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, as_dtype, is_int
from .basic import cast, normalize_axis, result_dtype

__all__ = ["DimShuffle", "dimshuffle", "pad_left", "Reshape", "Shape", "ShapeI", "MakeVector",
           "Concatenate", "Alloc", "Arange", "shape_of", "to_int_tuple", "as_shape",
           "static_entries", "sum_to", "reshape", "flatten", "transpose", "shape_padleft",
           "shape_padright", "shape_padaxis", "addbroadcast", "patternbroadcast",
           "unbroadcast", "squeeze", "concatenate", "join", "stack", "alloc", "fill", "zeros",
           "ones", "zeros_like", "ones_like", "arange"]


def to_int_tuple(backend, shape) -> tuple[int, ...]:
    """A run-time shape vector (any backend's array) as a tuple of Python ints."""
    if isinstance(shape, np.ndarray):
        return tuple(shape.tolist())
    return tuple(backend.to_numpy(shape).tolist())


class DimShuffle(Op):
    """Reorder, add ('x') and drop (size-1) dimensions: Theano's ``dimshuffle``."""

    __props__ = ("in_ndim", "new_order")
    view_map = {0: [0]}

    def __init__(self, in_ndim: int, new_order: Sequence) -> None:
        order = tuple("x" if o == "x" else int(o) for o in new_order)
        kept = [o for o in order if o != "x"]
        if len(set(kept)) != len(kept) or any(not 0 <= o < in_ndim for o in kept):
            raise ValueError(f"dimshuffle{order}: invalid pattern for a {in_ndim}-d input")
        self.in_ndim = in_ndim
        self.new_order = order

    def __repr__(self) -> str:
        return f"DimShuffle{{{','.join(map(str, self.new_order))}}}"

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        if x.ndim != self.in_ndim:
            raise ShapeError(f"dimshuffle{self.new_order} expects a {self.in_ndim}-d input, "
                             f"got {x.ndim}-d")
        for ax in range(x.ndim):
            if ax not in self.new_order and x.type.shape[ax] != 1:
                raise ShapeError(
                    f"dimshuffle{self.new_order} drops dimension {ax} of shape {x.type.shape}, "
                    "which is not known to be 1 (use T.addbroadcast to assert it)")
        shape = tuple(1 if o == "x" else x.type.shape[o] for o in self.new_order)
        return Apply(self, [x], [TensorType(x.dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        order = [self.new_order.index(i) if i in self.new_order else "x"
                 for i in range(self.in_ndim)]
        # positions of gz that were 'x' are left out: they are size 1
        return [dimshuffle(output_grads[0], order)]

    def thunk(self, backend, node):
        kept = [o for o in self.new_order if o != "x"]
        perm = tuple(kept + [a for a in range(self.in_ndim) if a not in kept])
        permute = backend.kernel("permute_dims")
        reshape = backend.kernel("reshape")
        order = self.new_order
        identity_perm = perm == tuple(range(self.in_ndim))
        if identity_perm and len(order) == self.in_ndim:
            return lambda x: x

        if "x" not in order and len(order) == self.in_ndim:
            return lambda x: permute(x, perm)          # a pure transpose
        if identity_perm and len(kept) == self.in_ndim:
            # only new axes, the others in order: x[None, :] and the like, one indexing
            getitem = backend.kernel("getitem")
            key = tuple(None if o == "x" else slice(None) for o in order)
            return lambda x: getitem(x, key)
        # the axes of the result taken from the input (the others are new, of size 1)
        taken = [(k, o) for k, o in enumerate(order) if o != "x"]
        ones = [1] * len(order)

        def run(x):
            shape = x.shape
            new_shape = list(ones)
            for k, o in taken:
                new_shape[k] = shape[o]
            if not identity_perm:
                x = permute(x, perm)
            return reshape(x, tuple(new_shape))
        return run


def dimshuffle(x, order) -> Variable:
    x = as_variable(x)
    order = tuple(order)
    if order == tuple(range(x.ndim)):
        return x
    if isinstance(x, Constant):
        kept = [o for o in order if o != "x"]
        data = np.transpose(x.data, kept + [a for a in range(x.ndim) if a not in kept])
        data = data.reshape(tuple(1 if o == "x" else x.data.shape[o] for o in order))
        return as_variable(data)
    return DimShuffle(x.ndim, order)(x)


def pad_left(x: Variable, ndim: int) -> Variable:
    """Add broadcastable dimensions on the left up to ``ndim`` (numpy's broadcasting)."""
    if x.ndim >= ndim:
        return x
    return dimshuffle(x, ["x"] * (ndim - x.ndim) + list(range(x.ndim)))


class Shape(Op):
    """The shape of a tensor, as an int64 vector (computed on the host)."""

    host = True

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        return Apply(self, [x], [TensorType("int64", (x.ndim,))])

    def grad(self, inputs, outputs, output_grads):
        return [None]

    def thunk(self, backend, node):
        return lambda x: np.array(x.shape, dtype=np.int64)


class ShapeI(Op):
    """One size of a tensor, ``x.shape[i]``, as an int64 scalar (Theano's
    ``Shape_i``): one attribute read where the shape vector and an index into it
    were two kernel calls (~2 us on the host for every symbolic size)."""

    host = True
    __props__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = int(i)

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        if not -x.ndim <= self.i < x.ndim:
            raise IndexError(f"shape index {self.i} is out of bounds for a {x.ndim}-d tensor")
        return Apply(self, [x], [TensorType("int64", ())])

    def grad(self, inputs, outputs, output_grads):
        return [None]

    def thunk(self, backend, node):
        i, int64 = self.i, np.int64
        return lambda x: int64(x.shape[i])


def shape_of(x: Variable) -> Variable:
    """``x.shape``: a constant when every size is known at build time."""
    if all(s is not None for s in x.type.shape):
        return as_variable(np.array(x.type.shape, dtype="int64"))
    return Shape()(x)


class MakeVector(Op):
    """Stack scalars into a vector (used for symbolic shapes)."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str = "int64") -> None:
        self.dtype = as_dtype(dtype)

    def make_node(self, *scalars) -> Apply:
        scalars = [cast(as_variable(s), self.dtype) for s in scalars]
        for s in scalars:
            if s.ndim != 0:
                raise ShapeError(f"make_vector expects scalars, got a {s.ndim}-d input")
        return Apply(self, scalars, [TensorType(self.dtype, (len(scalars),))])

    def grad(self, inputs, outputs, output_grads):
        g = output_grads[0]
        return [g[i] if not is_int(self.dtype) else None for i in range(len(inputs))]

    def thunk(self, backend, node):
        stack = backend.kernel("stack")
        return lambda *xs: stack(*xs, axis=0)


def as_shape(shape) -> Variable:
    """A shape given as ints, scalars or an int vector, as an int64 vector variable."""
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            shape = [shape]
        else:
            if shape.ndim != 1 or not is_int(shape.dtype):
                raise TypeError(f"a shape must be an int vector, got {shape.type}")
            return cast(shape, "int64")
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    shape = list(shape)
    if all(not isinstance(s, Variable) for s in shape):
        return as_variable(np.array([int(s) for s in shape], dtype="int64"))
    consts = [_const_int(s) for s in shape]
    if all(c is not None for c in consts):
        return as_variable(np.array(consts, dtype="int64"))
    return MakeVector("int64")(*shape)


def _const_int(s):
    if isinstance(s, Constant):
        return int(s.data)
    if isinstance(s, Variable):
        return None
    return int(s)


def static_entries(shape_var: Variable) -> tuple:
    """The entries of a shape vector known at build time (None where unknown)."""
    if isinstance(shape_var, Constant):
        return tuple(int(v) for v in shape_var.data)
    if shape_var.owner is not None and isinstance(shape_var.owner.op, MakeVector):
        return tuple(_const_int(s) for s in shape_var.owner.inputs)
    if shape_var.owner is not None and isinstance(shape_var.owner.op, Shape):
        return tuple(shape_var.owner.inputs[0].type.shape)   # x.shape: what x's type knows
    return (None,) * shape_var.type.shape[0]


class Reshape(Op):
    """Reshape to a (possibly symbolic) shape vector; one entry may be -1."""

    __props__ = ("ndim",)
    view_map = {0: [0]}

    def host_input(self, k, node) -> bool:
        return k == 1                      # the shape

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim

    def make_node(self, x, shape) -> Apply:
        x = as_variable(x)
        shape = as_shape(shape)
        if shape.type.shape[0] != self.ndim:
            raise ShapeError(f"reshape to {self.ndim} dims got a shape of length {shape.type.shape[0]}")
        entries = list(static_entries(shape))
        if entries.count(-1) > 1 or any(e is not None and e < -1 for e in entries):
            raise ShapeError(f"reshape of {x.type.shape} into {tuple(entries)}: only one entry "
                             "may be -1 and the others must be sizes >= 0")
        known = [s for s in x.type.shape]
        if -1 in entries and all(s is not None for s in known) and \
                all(e is not None for e in entries):
            rest = int(np.prod([e for e in entries if e != -1]))
            total = int(np.prod(known))
            if rest == 0 or total % rest:
                raise ShapeError(f"cannot reshape {tuple(known)} into {tuple(entries)}")
            entries[entries.index(-1)] = total // rest
        elif all(s is not None for s in known) and all(e is not None and e >= 0 for e in entries):
            if int(np.prod(known)) != int(np.prod(entries)):
                raise ShapeError(f"cannot reshape {tuple(known)} ({int(np.prod(known))} elements) "
                                 f"into {tuple(entries)} ({int(np.prod(entries))} elements)")
        out = tuple(e if e is not None and e >= 0 else None for e in entries)
        return Apply(self, [x, shape], [TensorType(x.dtype, out)])

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        return [_reshape(output_grads[0], shape_of(x)), None]

    def thunk(self, backend, node):
        fn = backend.kernel("reshape")
        return lambda x, shape: fn(x, to_int_tuple(backend, shape))


def _reshape(x, shape) -> Variable:
    x = as_variable(x)
    shape = as_shape(shape)
    return Reshape(shape.type.shape[0])(x, shape)


class Concatenate(Op):
    """Join tensors along an existing axis."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def make_node(self, *xs) -> Apply:
        xs = [as_variable(x) for x in xs]
        if not xs:
            raise ValueError("concatenate needs at least one tensor")
        ndim = xs[0].ndim
        if any(x.ndim != ndim for x in xs) or ndim == 0:
            raise ShapeError("concatenate: all inputs need the same number of dimensions (>= 1); "
                             f"got shapes {[x.type.shape for x in xs]}")
        axis = self.axis
        dtype = result_dtype(xs)
        xs = [cast(x, dtype) for x in xs]
        shape = []
        for ax in range(ndim):
            sizes = [x.type.shape[ax] for x in xs]
            if ax == axis:
                shape.append(sum(sizes) if all(s is not None for s in sizes) else None)
            else:
                known = {s for s in sizes if s is not None}
                if len(known) > 1:
                    raise ShapeError(f"concatenate along axis {axis}: shapes "
                                     f"{[x.type.shape for x in xs]} differ in dimension {ax}")
                shape.append(known.pop() if known else None)
        return Apply(self, xs, [TensorType(dtype, tuple(shape))])

    def grad(self, inputs, outputs, output_grads):
        g = output_grads[0]
        grads, start = [], 0
        for x in inputs:
            size = x.shape[self.axis]
            stop = start + size
            key = (slice(None),) * self.axis + (slice(start, stop),)
            part = g[key]
            if any(x.broadcastable):
                part = patternbroadcast(part, x.broadcastable)
            grads.append(part if x.dtype.startswith("float") else None)
            start = stop
        return grads

    def thunk(self, backend, node):
        fn = backend.kernel("concatenate")
        axis = self.axis
        return lambda *xs: fn(*xs, axis=axis)


class Alloc(Op):
    """Broadcast a value to a (symbolic) shape: ``zeros``, ``ones``, ``alloc``."""

    view_map = {0: [0]}
    view_writeable = False          # a broadcast: every element may be the same memory

    foldable = False                # a folded broadcast would be stored whole

    def host_input(self, k, node) -> bool:
        return k == 1                      # the shape

    def make_node(self, value, shape) -> Apply:
        value = as_variable(value)
        shape = as_shape(shape)
        ndim = shape.type.shape[0]
        if value.ndim > ndim:
            raise ShapeError(f"alloc: value of {value.ndim} dims into a shape of {ndim} dims")
        entries = static_entries(shape)
        return Apply(self, [value, shape], [TensorType(value.dtype, entries)])

    def grad(self, inputs, outputs, output_grads):
        value = inputs[0]
        if not value.dtype.startswith("float"):
            return [None, None]
        return [sum_to(output_grads[0], value.type), None]

    def thunk(self, backend, node):
        fn = backend.kernel("broadcast_to")
        return lambda v, shape: fn(v, to_int_tuple(backend, shape))


class Arange(Op):
    """``arange(start, stop, step)`` with the given dtype."""

    __props__ = ("dtype",)

    def host_input(self, k, node) -> bool:
        return True                        # start, stop and step

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def make_node(self, start, stop, step) -> Apply:
        ins = [as_variable(v) for v in (start, stop, step)]
        for v in ins:
            if v.ndim != 0:
                raise ShapeError(f"arange takes scalars, got a {v.ndim}-d input")
        length = None
        if all(isinstance(v, Constant) for v in ins):
            length = len(np.arange(*(v.data.item() for v in ins)))
        return Apply(self, ins, [TensorType(self.dtype, (length,))])

    def grad(self, inputs, outputs, output_grads):
        return [None, None, None]

    def thunk(self, backend, node):
        fn = backend.kernel("arange")
        dtype, xp = self.dtype, backend.xp
        return lambda a, b, c: fn(_python_scalar(a), _python_scalar(b), _python_scalar(c),
                                  dtype, xp=xp)


def _python_scalar(v):
    """A 0-d array of any namespace (or a number) as a Python int or float.

    The array API gives 0-d arrays ``__int__``/``__float__`` but not numpy's
    ``.item()`` (array-api-strict has none), so the dtype's kind decides.
    """
    if isinstance(v, (int, float)):
        return v
    if hasattr(v, "item"):
        return v.item()
    kind = str(v.dtype)
    return float(v) if "float" in kind else int(v)


def sum_to(g: Variable, type: TensorType) -> Variable:
    """Sum ``g`` over the dimensions that ``type`` broadcast (a gradient's shape fix-up)."""
    if g.ndim > type.ndim:
        g = g.sum(axis=tuple(range(g.ndim - type.ndim)))
    axes = tuple(a for a, (s, gs) in enumerate(zip(type.shape, g.type.shape)) if s == 1 and gs != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


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
    (axis,) = normalize_axis(axis, x.ndim + 1, "shape_padaxis")   # range checked, as numpy
    order.insert(axis, "x")
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
    (axis,) = normalize_axis(axis, ndim, "concatenate") if ndim else (0,)
    return Concatenate(axis)(*xs)


def join(axis, *tensors):
    """``concatenate(tensors, axis)`` in Theano's argument order."""
    return concatenate(tensors, axis)


def stack(*tensors, axis=0):
    """Join along a new axis; accepts a list or several arguments."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    xs = [as_variable(t) for t in tensors]
    if not xs:
        raise ValueError("stack needs at least one tensor")
    if builtins.all(x.ndim == 0 for x in xs) and axis == 0:
        return MakeVector(result_dtype(xs))(*xs)
    return concatenate([shape_padaxis(x, axis) for x in xs], axis=axis)
