"""Indexing: basic slicing (Subtensor, IncSubtensor) and integer-array indexing
(Take, ScatterAdd), with symbolic scalar bounds."""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Constant, Variable, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, is_float, is_int
from .basic import cast

__all__ = ["Subtensor", "IncSubtensor", "Take", "ScatterAdd", "subtensor", "inc_subtensor",
           "getitem"]


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


def _decoder(props):
    """A function of the scalar inputs' run-time values giving the Python key."""
    def val(tok, scal):
        if tok is None:
            return None
        return tok[1] if tok[0] == "c" else int(scal[tok[1]])

    def build(scal):
        out = []
        for p in props:
            if p[0] == "slice":
                out.append(slice(val(p[1], scal), val(p[2], scal), val(p[3], scal)))
            else:
                out.append(val(p[1], scal))
        return tuple(out)
    return build


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
    view = True

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
        from ..tensor import basic as T
        x = inputs[0]
        if not is_float(x.dtype):
            return [None] * len(inputs)
        gx = IncSubtensor(self.props, False)(T.zeros_like(x), output_grads[0], *inputs[1:])
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

    def __init__(self, props: tuple, set_instead_of_inc: bool) -> None:
        self.props, self.set_instead_of_inc = props, set_instead_of_inc

    def __repr__(self) -> str:
        return f"{'Set' if self.set_instead_of_inc else 'Inc'}Subtensor{{{_fmt(self.props)}}}"

    def make_node(self, x, y, *scalars) -> Apply:
        from .shape import pad_left
        from .elemwise import broadcast_shapes
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
        from .reduce import sum_to
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
        return as_variable(x.data[_decoder(props)(())])
    if not scalars and x.owner is not None and type(x.owner.op).__name__ == "Shape" \
            and props[0][0] == "int":
        size = x.owner.inputs[0].type.shape[props[0][1][1]]
        if size is not None:
            return as_variable(np.asarray(size, dtype="int64"))
    return Subtensor(props)(x, *scalars)


def inc_subtensor_basic(x, y, key, set_instead_of_inc: bool) -> Variable:
    props, scalars = _encode(tuple(key))
    return IncSubtensor(props, set_instead_of_inc)(x, y, *scalars)


class Take(Op):
    """``x`` indexed along ``axis`` by an integer array of any shape (gather)."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def make_node(self, x, indices) -> Apply:
        x = as_variable(x)
        indices = as_variable(indices)
        if not is_int(indices.dtype):
            raise TypeError(f"integer-array indexing needs integer indices, got {indices.dtype}")
        indices = cast(indices, "int64")
        s = x.type.shape
        shape = s[:self.axis] + indices.type.shape + s[self.axis + 1:]
        return Apply(self, [x, indices], [TensorType(x.dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        from ..tensor import basic as T
        x, idx = inputs
        if not is_float(x.dtype):
            return [None, None]
        return [ScatterAdd(self.axis)(T.zeros_like(x), idx, output_grads[0]), None]

    def thunk(self, backend, node):
        take, reshape = backend.kernel("take"), backend.kernel("reshape")
        axis = self.axis

        def run(x, idx):
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
        indices = cast(as_variable(indices), "int64")
        values = cast(as_variable(values), x.dtype)
        want = x.ndim - 1 + indices.ndim
        if values.ndim != want:
            from .shape import pad_left
            if values.ndim > want:
                raise ShapeError(f"inc_subtensor: values of shape {values.type.shape} do not fit")
            values = pad_left(values, want)
        return Apply(self, [x, indices, values], [x.type])

    def grad(self, inputs, outputs, output_grads):
        from .reduce import sum_to
        g = output_grads[0]
        x, idx, v = inputs
        gv = Take(self.axis)(g, idx)
        return [g, None, sum_to(gv, v.type) if is_float(v.dtype) else None]

    def thunk(self, backend, node):
        fn, reshape = backend.kernel("scatter_add"), backend.kernel("reshape")
        broadcast = backend.kernel("broadcast_to")
        axis = self.axis

        def run(x, idx, values):
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


# -- the user-facing indexing entry point -----------------------------------

def _is_advanced(k) -> bool:
    if isinstance(k, Variable):
        return k.ndim > 0
    if isinstance(k, (list, np.ndarray)):
        return True
    return False


def _expand_key(x: Variable, key) -> tuple[tuple, list[int]]:
    """Expand Ellipsis; return the key without None entries and where None stood."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = sum(1 for k in key if not (k is None or k is Ellipsis))
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (x.ndim - n_real))
        else:
            out.append(k)
    newaxes = [i for i, k in enumerate(out) if k is None]
    return tuple(k for k in out if k is not None), newaxes


def getitem(x: Variable, key) -> Variable:
    """``x[key]``: basic slicing, integer arrays (gather) and ``None`` (new axes)."""
    from .shape import dimshuffle, reshape, shape_of
    key, newaxes = _expand_key(x, key)
    if len(key) > x.ndim:
        raise IndexError(f"too many indices ({len(key)}) for a {x.ndim}-d tensor of shape "
                         f"{x.type.shape}")
    for k in key:
        if isinstance(k, (Variable, np.ndarray)) and getattr(k, "dtype", None) in ("bool", np.bool_):
            raise TypeError("boolean-mask indexing is not supported; use T.switch or "
                            "index with T.nonzero-free integer arrays")
    adv = [i for i, k in enumerate(key) if _is_advanced(k)]
    if not adv:
        out = subtensor(x, key)
    else:
        if any(not isinstance(key[i], slice) for i in range(len(key)) if i not in adv):
            raise NotImplementedError("mixing integer scalars with integer-array indices is "
                                      "not supported; index in two steps")
        basic = tuple(slice(None) if i in adv else k for i, k in enumerate(key))
        base = subtensor(x, basic)
        idx = [as_variable(key[i]) for i in adv]
        if len(adv) == 1:
            out = Take(adv[0])(base, idx[0])
        elif adv == list(range(len(adv))):
            # x[i0, i1, ...] on leading axes: gather on the flattened leading axes
            from ..tensor import basic as T
            flat = idx[0]
            for k in range(1, len(adv)):
                flat = flat * base.shape[k] + idx[k]
            lead = T.prod(shape_of(base)[: len(adv)]) if base.ndim else 1
            rest = [base.shape[k] for k in range(len(adv), base.ndim)]
            merged = reshape(base, [lead] + rest)
            out = Take(0)(merged, flat)
        else:
            raise NotImplementedError("integer-array indices must be on the leading axes "
                                      "or a single axis")
    if newaxes:
        order = list(range(out.ndim))
        for pos in newaxes:
            order.insert(pos, "x")
        out = dimshuffle(out, order)
    return out


def _advanced_target(x: Variable):
    """For ``set/inc_subtensor``: (base, key) when ``x`` was made by indexing."""
    node = x.owner
    if node is None or not isinstance(node.op, (Subtensor, Take)):
        raise TypeError("set_subtensor/inc_subtensor expect an indexed tensor such as x[1:3] "
                        f"as first argument, got {x}")
    return node


def inc_subtensor(x: Variable, y, set_instead_of_inc: bool = False) -> Variable:
    """Theano's ``inc_subtensor(x[key], y)`` / ``set_subtensor``: x is an indexed tensor."""
    node = _advanced_target(x)
    if isinstance(node.op, Subtensor):
        return IncSubtensor(node.op.props, set_instead_of_inc)(node.inputs[0], y, *node.inputs[1:])
    if set_instead_of_inc:
        raise NotImplementedError("set_subtensor with integer-array indices is not supported "
                                  "yet; use inc_subtensor or T.switch")
    return ScatterAdd(node.op.axis)(node.inputs[0], node.inputs[1], y)
