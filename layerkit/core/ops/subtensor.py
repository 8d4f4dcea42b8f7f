"""Indexing: basic slicing (Subtensor, IncSubtensor) and integer-array indexing
(Take, ScatterAdd for one array; AdvancedTake, AdvancedScatterAdd for several),
with symbolic scalar bounds.

Integer arrays follow numpy: each is checked against its own axis at run time
(negative entries wrapped, out-of-range ones an ``IndexError`` naming the axis,
the index and the size) before several are combined into one linear index.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..graph import Apply, Constant, Variable, as_variable
from ..ignored import warn_ignored
from ..op import Op, ShapeError
from ..types import TensorType, is_float, is_int
from .basic import cast
from .elemwise import broadcast_shapes
from .shape import Shape, ShapeI, dimshuffle, pad_left, sum_to, zeros_like

__all__ = ["Subtensor", "IncSubtensor", "Take", "ScatterAdd", "AdvancedTake",
           "AdvancedScatterAdd", "subtensor", "inc_subtensor", "set_subtensor", "getitem"]


def _entry(v, scalars: list):
    """A key component as a hashable token: None, ("c", int) or ("v", input number)."""
    if v is None:
        return None
    if isinstance(v, Constant) and v.ndim == 0:
        v = v.data.item()
    if isinstance(v, Variable):
        if v.ndim != 0 or not is_int(v.dtype):
            raise TypeError(f"index bounds must be integer scalars, got {v.type}")
        scalars.append(v)
        return ("v", len(scalars) - 1)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"index bounds must be integers, got {v!r}")
    return ("c", int(v))


def _encode(key: tuple) -> tuple[tuple, list]:
    """Split a basic-indexing key into hashable props and symbolic scalar inputs."""
    scalars: list[Variable] = []
    props = []
    for k in key:
        if isinstance(k, slice):
            props.append(("slice", _entry(k.start, scalars), _entry(k.stop, scalars),
                          _entry(k.step, scalars)))
        else:
            props.append(("int", _entry(k, scalars)))
    return tuple(props), scalars


@functools.lru_cache(maxsize=1024)
def _decoder(props):
    """A function of the scalar inputs' run-time values giving the Python key,
    generated once per distinct props: ``lambda s: (slice(0, int(s[0]), None),)``
    (a loop over the props on every call cost ~1 us)."""
    def val(tok):
        if tok is None:
            return "None"
        return repr(tok[1]) if tok[0] == "c" else f"int(s[{tok[1]}])"
    parts = [f"slice({val(p[1])}, {val(p[2])}, {val(p[3])})" if p[0] == "slice" else val(p[1])
             for p in props]
    return eval("lambda s: (" + "".join(part + ", " for part in parts) + ")")


def _static_shape(props, shape, opname: str) -> tuple:
    out = []
    for axis, s in enumerate(shape):
        if axis >= len(props):
            out.append(s)
            continue
        p = props[axis]
        if p[0] == "int":
            if s is not None and p[1][0] == "c" and not -s <= p[1][1] < s:
                raise IndexError(f"{opname}: index {p[1][1]} is out of bounds for axis {axis} "
                                 f"with size {s}")
            continue
        parts = [None if t is None else (t[1] if t[0] == "c" else "?") for t in p[1:]]
        if s is not None and "?" not in parts:
            out.append(len(range(*slice(*parts).indices(s))))
        elif parts == [None, None, None] or (parts[0] in (None, 0) and parts[1] is None
                                              and parts[2] in (None, 1)):
            out.append(s)
        else:
            out.append(None)
    return tuple(out)


class Subtensor(Op):
    """``x[key]`` for basic indexing (ints and slices, bounds may be symbolic)."""

    __props__ = ("props",)
    view_map = {0: [0]}

    def host_input(self, k, node) -> bool:
        return k >= 1                      # the symbolic bounds

    def __init__(self, props: tuple) -> None:
        self.props = props

    def __repr__(self) -> str:
        return f"Subtensor{{{_fmt(self.props)}}}"

    def make_node(self, x, *scalars) -> Apply:
        x = as_variable(x)
        if len(self.props) > x.ndim:
            raise IndexError(f"too many indices ({len(self.props)}) for a {x.ndim}-d tensor "
                             f"of shape {x.type.shape}")
        shape = _static_shape(self.props, x.type.shape, "indexing")
        return Apply(self, [x, *scalars], [TensorType(x.dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        if not is_float(x.dtype):
            return [None] * len(inputs)
        gx = IncSubtensor(self.props, False)(zeros_like(x), output_grads[0], *inputs[1:])
        return [gx] + [None] * (len(inputs) - 1)

    def thunk(self, backend, node):
        fn = backend.kernel("getitem")
        build = _decoder(self.props)
        if len(node.inputs) == 1:
            key = build(())
            return lambda x: fn(x, key)
        return lambda x, *scal: fn(x, build(scal))


class IncSubtensor(Op):
    """``set_subtensor(x[key], y)`` / ``inc_subtensor(x[key], y)``: a new tensor."""

    __props__ = ("props", "set_instead_of_inc")

    def host_input(self, k, node) -> bool:
        return k >= 2                      # the symbolic bounds

    def __init__(self, props: tuple, set_instead_of_inc: bool) -> None:
        self.props, self.set_instead_of_inc = props, set_instead_of_inc

    def __repr__(self) -> str:
        return f"{'Set' if self.set_instead_of_inc else 'Inc'}Subtensor{{{_fmt(self.props)}}}"

    def make_node(self, x, y, *scalars) -> Apply:
        x = as_variable(x)
        y = cast(as_variable(y), x.dtype)
        sel = _static_shape(self.props, x.type.shape, "set_subtensor")
        if y.ndim > len(sel):
            raise ShapeError(f"set_subtensor: a value of shape {y.type.shape} does not fit "
                             f"a selection of shape {sel}")
        y = pad_left(y, len(sel))
        broadcast_shapes("set_subtensor", [TensorType(x.dtype, sel)(), y])
        return Apply(self, [x, y, *scalars], [x.type])

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs[:2]
        scal = inputs[2:]
        g = output_grads[0]
        gx = IncSubtensor(self.props, True)(g, 0, *scal) if self.set_instead_of_inc else g
        gy = sum_to(Subtensor(self.props)(g, *scal), y.type) if is_float(y.dtype) else None
        return [gx, gy] + [None] * len(scal)

    def thunk(self, backend, node):
        fn = backend.kernel("setitem")
        build = _decoder(self.props)
        inc = not self.set_instead_of_inc
        return lambda x, y, *scal: fn(x, build(scal), y, inc=inc)


def _fmt(props) -> str:
    def tok(t):
        return "" if t is None else (str(t[1]) if t[0] == "c" else f"i{t[1]}")
    parts = []
    for p in props:
        if p[0] == "int":
            parts.append(tok(p[1]))
        else:
            s = f"{tok(p[1])}:{tok(p[2])}"
            parts.append(s + (f":{tok(p[3])}" if p[3] is not None else ""))
    return ", ".join(parts)


def subtensor(x, key: tuple) -> Variable:
    x = as_variable(x)
    props, scalars = _encode(tuple(key))
    if all(p == ("slice", None, None, None) for p in props):
        return x
    if not scalars and isinstance(x, Constant):
        # np.asarray: an element of a float64 array is an np.float64, which as_variable
        # would take for a Python float (floatX)
        return as_variable(np.asarray(x.data[_decoder(props)(())]))
    if not scalars and x.owner is not None and isinstance(x.owner.op, Shape) \
            and props[0][0] == "int":
        size = x.owner.inputs[0].type.shape[props[0][1][1]]
        if size is not None:
            return as_variable(np.asarray(size, dtype="int64"))
        if len(props) == 1:             # x.shape[i]: one size, read without the vector
            source = x.owner.inputs[0]
            return ShapeI(props[0][1][1] % max(source.ndim, 1))(source)
    return Subtensor(props)(x, *scalars)


def inc_subtensor_basic(x, y, key, set_instead_of_inc: bool) -> Variable:
    props, scalars = _encode(tuple(key))
    return IncSubtensor(props, set_instead_of_inc)(x, y, *scalars)


def _normalizer(backend):
    """A run-time check of one index array against one axis, numpy's rules.

    Returns ``normalize(idx, size, axis)``: ``idx`` with negative entries
    wrapped (``-1`` is ``size - 1``), or an ``IndexError`` naming the axis, the
    first bad index and the size. Every gather and scatter checks here, on the
    op layer, before several index arrays are combined into one linear index
    (a combined index in range says nothing about each axis) and whatever the
    backend's kernel would do with a bad index (cupy's ``take`` wraps it).
    """
    kmin, kmax, where = backend.kernel("min"), backend.kernel("max"), backend.kernel("where")

    def normalize(idx, size: int, axis: int):
        if not math.prod(idx.shape):
            return idx
        lo, hi = int(kmin(idx)), int(kmax(idx))
        if lo < -size or hi >= size:
            raise IndexError(_out_of_bounds(hi if hi >= size else lo, size, axis))
        if lo < 0:
            idx = where(idx < 0, idx + size, idx)
        return idx
    return normalize


def _out_of_bounds(index: int, size: int, axis: int) -> str:
    valid = f"expected an index from {-size} to {size - 1}" if size else "the axis is empty"
    return f"index {index} is out of bounds for axis {axis} with size {size} ({valid})"


def _index_shape(shapes) -> tuple:
    """The broadcast shape of several index arrays (run time), numpy's message on mismatch."""
    first = tuple(shapes[0])
    if all(tuple(s) == first for s in shapes[1:]):
        return first
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         "with shapes " + " ".join(str(tuple(s)) for s in shapes)) from None


def _static_index_shape(indices) -> tuple:
    """The broadcast shape of several index arrays (build time; None where unknown)."""
    ndim = max(i.ndim for i in indices)
    shapes = [(1,) * (ndim - i.ndim) + tuple(i.type.shape) for i in indices]
    out = []
    for axis in range(ndim):
        known = {s[axis] for s in shapes if s[axis] is not None and s[axis] != 1}
        if len(known) > 1:
            raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                             "with shapes " + " ".join(str(i.type.shape) for i in indices))
        if known:
            out.append(known.pop())
        elif all(s[axis] == 1 for s in shapes):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


def _index_input(i) -> Variable:
    i = as_variable(i)
    if not is_int(i.dtype):
        raise TypeError(f"integer-array indexing needs integer indices, got {i.type}")
    return cast(i, "int64")


class Take(Op):
    """``x`` indexed along ``axis`` by an integer array of any shape (gather)."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def make_node(self, x, indices) -> Apply:
        x = as_variable(x)
        indices = _index_input(indices)
        s = x.type.shape
        shape = s[:self.axis] + indices.type.shape + s[self.axis + 1:]
        return Apply(self, [x, indices], [TensorType(x.dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        x, idx = inputs
        if not is_float(x.dtype):
            return [None, None]
        return [ScatterAdd(self.axis)(zeros_like(x), idx, output_grads[0]), None]

    def thunk(self, backend, node):
        take, reshape = backend.kernel("take"), backend.kernel("reshape")
        normalize = _normalizer(backend)
        axis = self.axis

        def run(x, idx):
            idx = normalize(idx, x.shape[axis], axis)
            if idx.ndim == 1:
                return take(x, idx, axis=axis)
            flat = take(x, reshape(idx, (-1,)), axis=axis)
            return reshape(flat, x.shape[:axis] + idx.shape + x.shape[axis + 1:])
        return run


class ScatterAdd(Op):
    """``x`` with ``values`` added at ``indices`` along ``axis`` (duplicates accumulate)."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def make_node(self, x, indices, values) -> Apply:
        x = as_variable(x)
        indices = _index_input(indices)
        values = cast(as_variable(values), x.dtype)
        want = x.ndim - 1 + indices.ndim
        if values.ndim != want:
            if values.ndim > want:
                raise ShapeError(f"inc_subtensor: values of shape {values.type.shape} do not fit")
            values = pad_left(values, want)
        return Apply(self, [x, indices, values], [x.type])

    def grad(self, inputs, outputs, output_grads):
        g = output_grads[0]
        x, idx, v = inputs
        gv = Take(self.axis)(g, idx)
        return [g, None, sum_to(gv, v.type) if is_float(v.dtype) else None]

    def thunk(self, backend, node):
        fn, reshape = backend.kernel("scatter_add"), backend.kernel("reshape")
        broadcast = backend.kernel("broadcast_to")
        normalize = _normalizer(backend)
        axis = self.axis

        def run(x, idx, values):
            idx = normalize(idx, x.shape[axis], axis)
            want = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
            if values.shape != want:
                values = broadcast(values, want)
            if idx.ndim != 1:
                n = 1
                for s in idx.shape:
                    n *= s
                values = reshape(values, x.shape[:axis] + (n,) + x.shape[axis + 1:])
                idx = reshape(idx, (-1,))
            return fn(x, idx, values, axis=axis)
        return run


def _linear_index(backend):
    """``flat(x_shape, indices)``: the checked, broadcast indices of the axes
    ``axis, axis + 1, ...`` combined into one index of those axes merged, and
    the broadcast shape. Each array is checked against its own axis first."""
    broadcast = backend.kernel("broadcast_to")
    normalize = _normalizer(backend)

    def flat(shape, axis, labels, indices):
        bshape = _index_shape([i.shape for i in indices])
        out = None
        for k, idx in enumerate(indices):
            size = shape[axis + k]
            idx = normalize(idx, size, labels[k])
            if tuple(idx.shape) != bshape:
                idx = broadcast(idx, bshape)
            out = idx if out is None else out * size + idx
        return out, bshape
    return flat


class AdvancedTake(Op):
    """``x[..., i0, i1, ...]``: several integer arrays (broadcast together) on the
    adjacent axes ``axis, axis + 1, ...``; numpy's semantics for each axis.

    ``labels`` are the axes as the user numbered them (the graph may have
    moved them), only for the messages.
    """

    __props__ = ("axis", "labels")

    def __init__(self, axis: int, labels: tuple) -> None:
        self.axis, self.labels = axis, tuple(labels)

    def make_node(self, x, *indices) -> Apply:
        x = as_variable(x)
        indices = [_index_input(i) for i in indices]
        k = len(indices)
        if k != len(self.labels) or self.axis + k > x.ndim:
            raise IndexError(f"too many indices ({self.axis + k}) for a {x.ndim}-d tensor of "
                             f"shape {x.type.shape}")
        s = x.type.shape
        shape = s[:self.axis] + _static_index_shape(indices) + s[self.axis + k:]
        return Apply(self, [x, *indices], [TensorType(x.dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        x, indices = inputs[0], inputs[1:]
        none = [None] * len(indices)
        if not is_float(x.dtype):
            return [None] + none
        gx = AdvancedScatterAdd(self.axis, self.labels)(zeros_like(x), output_grads[0],
                                                         *indices)
        return [gx] + none

    def thunk(self, backend, node):
        take, reshape = backend.kernel("take"), backend.kernel("reshape")
        flat = _linear_index(backend)
        axis, labels, k = self.axis, self.labels, len(self.labels)

        def run(x, *indices):
            idx, bshape = flat(x.shape, axis, labels, indices)
            lead, tail = x.shape[:axis], x.shape[axis + k:]
            merged = reshape(x, lead + (math.prod(x.shape[axis:axis + k]),) + tail)
            out = take(merged, reshape(idx, (-1,)), axis=axis)
            return reshape(out, lead + bshape + tail)
        return run


class AdvancedScatterAdd(Op):
    """``x`` with ``values`` added at ``x[..., i0, i1, ...]`` (see :class:`AdvancedTake`);
    duplicate positions accumulate."""

    __props__ = ("axis", "labels")

    def __init__(self, axis: int, labels: tuple) -> None:
        self.axis, self.labels = axis, tuple(labels)

    def make_node(self, x, values, *indices) -> Apply:
        x = as_variable(x)
        indices = [_index_input(i) for i in indices]
        values = cast(as_variable(values), x.dtype)
        k = len(indices)
        s = x.type.shape
        sel = s[:self.axis] + _static_index_shape(indices) + s[self.axis + k:]
        if values.ndim > len(sel):
            raise ShapeError(f"inc_subtensor: a value of shape {values.type.shape} does not fit "
                             f"a selection of shape {sel}")
        values = pad_left(values, len(sel))
        broadcast_shapes("inc_subtensor", [TensorType(x.dtype, sel)(), values])
        return Apply(self, [x, values, *indices], [x.type])

    def grad(self, inputs, outputs, output_grads):
        g = output_grads[0]
        x, v, indices = inputs[0], inputs[1], inputs[2:]
        gv = sum_to(AdvancedTake(self.axis, self.labels)(g, *indices), v.type) \
            if is_float(v.dtype) else None
        return [g, gv] + [None] * len(indices)

    def thunk(self, backend, node):
        fn, reshape = backend.kernel("scatter_add"), backend.kernel("reshape")
        broadcast = backend.kernel("broadcast_to")
        flat = _linear_index(backend)
        axis, labels, k = self.axis, self.labels, len(self.labels)

        def run(x, values, *indices):
            idx, bshape = flat(x.shape, axis, labels, indices)
            lead, tail = x.shape[:axis], x.shape[axis + k:]
            want = lead + bshape + tail
            if tuple(values.shape) != want:
                values = broadcast(values, want)
            n = math.prod(bshape)
            values = reshape(values, lead + (n,) + tail)
            merged = reshape(x, lead + (math.prod(x.shape[axis:axis + k]),) + tail)
            out = fn(merged, reshape(idx, (-1,)), values, axis=axis)
            return reshape(out, x.shape)
        return run


# -- the user-facing indexing entry point -----------------------------------

def _is_advanced(k) -> bool:
    if isinstance(k, Variable):
        return k.ndim > 0
    if isinstance(k, (list, np.ndarray)):
        return True
    return False


def _expand_key(x: Variable, key) -> tuple:
    """The key as a tuple with Ellipsis expanded (None entries kept in place)."""
    if not isinstance(key, tuple):
        key = (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    n_real = sum(1 for k in key if not (k is None or k is Ellipsis))
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * max(x.ndim - n_real, 0))
        else:
            out.append(k)
    return tuple(out)


def _array_index(k) -> Variable:
    """An advanced index entry (array-like or a scalar among arrays) as an int64 variable."""
    if isinstance(k, list):
        arr = np.asarray(k)
        k = arr.astype("int64") if arr.size == 0 else arr
    return _index_input(k)


def _new_axes_order(key: tuple, out_ndim: int, adv_ndim: int, adjacent: bool):
    """Where the ``None`` entries of ``key`` put new axes in the result (numpy's layout).

    Slices and ``None`` each give one result axis, in order; the broadcast
    index arrays give ``adv_ndim`` axes, in place of the first advanced entry
    when the advanced entries are adjacent, else first of all. Returns the
    dimshuffle order of the result computed without the ``None`` entries,
    or ``None`` when the key has no ``None``.
    """
    if not any(k is None for k in key):
        return None
    order, dim, placed = [], 0, False
    if not adjacent:
        order.extend(range(adv_ndim))
        dim, placed = adv_ndim, True
    for k in key:
        if k is None:
            order.append("x")
        elif isinstance(k, slice):
            order.append(dim)
            dim += 1
        elif adv_ndim and not placed:        # the first advanced entry (integers are
            order.extend(range(dim, dim + adv_ndim))   # basic when no array is present)
            dim += adv_ndim
            placed = True
    order.extend(range(dim, out_ndim))        # axes of x after the key
    return order


def getitem(x: Variable, key) -> Variable:
    """``x[key]`` with numpy's semantics: slices, integers, integer arrays (several
    arrays are broadcast together and index their axes jointly; negative
    indices count from the end of their own axis, out-of-range ones raise
    ``IndexError``), ``None`` (new axes) and ``...``."""
    x = as_variable(x)
    key = _expand_key(x, key)
    real = tuple(k for k in key if k is not None)
    if len(real) > x.ndim:
        raise IndexError(f"too many indices ({len(real)}) for a {x.ndim}-d tensor of shape "
                         f"{x.type.shape}")
    for k in real:
        if getattr(k, "dtype", None) in ("bool", np.bool_) or (
                isinstance(k, list) and k and all(isinstance(e, (bool, np.bool_)) for e in k)):
            raise TypeError("boolean-mask indexing is not supported; use T.switch or "
                            "index with T.nonzero-free integer arrays")
    if not any(_is_advanced(k) for k in real):
        out = subtensor(x, real)
        order = _new_axes_order(key, out.ndim, 0, True)
        recipe = ("basic", x, real, order)
    else:
        # with an array present, integers are advanced indices too (0-d arrays), as in numpy
        adv_full = [p for p, k in enumerate(key) if k is not None and not isinstance(k, slice)]
        adjacent = adv_full == list(range(adv_full[0], adv_full[-1] + 1))
        adv_axes = [a for a, k in enumerate(real) if not isinstance(k, slice)]
        idx = [_array_index(real[a]) for a in adv_axes]
        basic = tuple(slice(None) if a in adv_axes else k for a, k in enumerate(real))
        base = subtensor(x, basic)
        perm = None
        if adjacent:
            axis = adv_axes[0]
        else:
            perm = adv_axes + [a for a in range(base.ndim) if a not in adv_axes]
            base, axis = dimshuffle(base, perm), 0
        if len(idx) == 1:
            out = Take(axis)(base, idx[0])
        else:
            out = AdvancedTake(axis, tuple(adv_axes))(base, *idx)
        adv_ndim = out.ndim - (base.ndim - len(idx))
        order = _new_axes_order(key, out.ndim, adv_ndim, adjacent)
        recipe = ("advanced", x, basic, perm, axis, idx, tuple(adv_axes), order)
    if order is not None:
        out = dimshuffle(out, order)
    if out is not x:
        out.tag.indexed_from = recipe
    return out


def _drop_new_axes(y: Variable, target: Variable, order) -> Variable:
    """``y`` (a value for ``target``) without the axes that ``None`` entries added."""
    y = as_variable(y)
    if y.ndim > target.ndim:
        raise ShapeError(f"set_subtensor: a value of shape {y.type.shape} does not fit "
                         f"a selection of shape {target.type.shape}")
    y = pad_left(y, target.ndim)
    new = [p for p, o in enumerate(order) if o == "x"]
    for p in new:
        if y.type.shape[p] != 1:
            raise ShapeError(f"set_subtensor: dimension {p} of the value (shape "
                             f"{y.type.shape}) stands for a new axis (None) of the selection "
                             f"and must have size 1 known when the graph is built")
    return dimshuffle(y, [p for p in range(y.ndim) if p not in new])


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
    return _inc_subtensor(as_variable(x), y, set_instead_of_inc=True)


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False, tolerate_inplace_aliasing=False):
    """``x`` with ``y`` added to its indexed part (or written: ``set_instead_of_inc``);
    ``inplace`` and ``tolerate_inplace_aliasing`` as in :func:`set_subtensor`."""
    _inplace_flags("inc_subtensor", inplace, tolerate_inplace_aliasing)
    return _inc_subtensor(as_variable(x), y, set_instead_of_inc=set_instead_of_inc)


def _inc_subtensor(x: Variable, y, set_instead_of_inc: bool) -> Variable:
    """Theano's ``inc_subtensor(x[key], y)`` / ``set_subtensor``: x is an indexed tensor."""
    recipe = getattr(getattr(x, "tag", None), "indexed_from", None)
    if recipe is None:
        node = x.owner
        if node is None or not isinstance(node.op, (Subtensor, Take)):
            raise TypeError("set_subtensor/inc_subtensor expect an indexed tensor such as "
                            f"x[1:3] as first argument, got {x}")
        if isinstance(node.op, Subtensor):
            return IncSubtensor(node.op.props, set_instead_of_inc)(node.inputs[0], y,
                                                                   *node.inputs[1:])
        if set_instead_of_inc:
            raise NotImplementedError("set_subtensor with integer-array indices is not "
                                      "supported yet; use inc_subtensor or T.switch")
        return ScatterAdd(node.op.axis)(node.inputs[0], node.inputs[1], y)
    order = recipe[-1]
    if order is not None:
        y = _drop_new_axes(y, x, order)
    if recipe[0] == "basic":
        _, source, real, _ = recipe
        return inc_subtensor_basic(source, y, real, set_instead_of_inc)
    if set_instead_of_inc:
        raise NotImplementedError("set_subtensor with integer-array indices is not supported "
                                  "yet; use inc_subtensor or T.switch")
    _, source, basic, perm, axis, idx, labels, _ = recipe
    base = subtensor(source, basic)
    if perm is not None:
        base = dimshuffle(base, perm)
    if len(idx) == 1:
        new = ScatterAdd(axis)(base, idx[0], y)
    else:
        new = AdvancedScatterAdd(axis, labels)(base, y, *idx)
    if perm is not None:
        new = dimshuffle(new, [perm.index(a) for a in range(len(perm))])
    if all(k == slice(None) for k in basic):
        return new
    return inc_subtensor_basic(source, new, basic, True)
