"""Graph objects: variables, constants, shared variables and apply nodes.

Every node records the line of user code that created it (``node.trace``),
so errors at build and run time can point at it.
"""
from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from typing import Any, Iterable, Sequence

import numpy as np

from .config import config
from .types import TensorType

__all__ = ["Variable", "Constant", "Apply", "user_line", "trace_scope", "toposort",
           "ancestors", "clone_replace", "as_variable", "bind_operators", "bind_evaluator"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


#: set by :func:`trace_scope` while a rewrite replaces a node: new nodes inherit its line
_SCOPE: ContextVar[str | None] = ContextVar("layerkit_trace_scope", default=None)


class trace_scope:
    """Nodes created inside get ``trace`` as the line that built them.

    A rewrite that replaces a node wraps the replacement's construction in
    ``with trace_scope(node.trace):``, so errors about the new nodes point at
    the user's line that built the old one, not at the ``function()`` call.
    (A class, not a generator: rewrites enter it once per node.)
    """

    __slots__ = ("trace", "token")

    def __init__(self, trace: str) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        self.token = _SCOPE.set(self.trace)

    def __exit__(self, *exc) -> None:
        _SCOPE.reset(self.token)


def user_line() -> str:
    """``file:line`` of the innermost frame outside the layerkit package (or the
    line of the node being rewritten, inside :func:`trace_scope`)."""
    scoped = _SCOPE.get()
    if scoped is not None:
        return scoped
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR) or "/tests/" in filename:
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class Apply:
    """One application of an op to input variables, giving output variables."""

    __slots__ = ("op", "inputs", "outputs", "trace")

    def __init__(self, op, inputs: Sequence["Variable"], output_types: Sequence[TensorType],
                 trace: str | None = None) -> None:
        self.op = op
        self.inputs = list(inputs)
        self.trace = trace if trace is not None else user_line()
        self.outputs = [Variable(t, owner=self, index=i) for i, t in enumerate(output_types)]

    def __getstate__(self):
        return (self.op, self.inputs, self.outputs, self.trace)

    def __setstate__(self, state) -> None:
        self.op, self.inputs, self.outputs, self.trace = state

    @property
    def out(self) -> "Variable":
        return self.outputs[0]

    def __repr__(self) -> str:
        return f"Apply({self.op}, {self.inputs})"


class _Unbound:
    """Stands for the builders until :func:`bind_operators` is called."""

    def __getattr__(self, name):
        raise RuntimeError(f"x.{name}: the operators of variables are bound when "
                           "layerkit.core.ops is imported (import layerkit.core)")


#: the graph builders the operators call (:mod:`layerkit.core.ops`, bound once)
_builders: Any = _Unbound()


def bind_operators(builders) -> None:
    """Give :class:`_TensorOperators` the builders it calls: a namespace with
    ``add``, ``getitem``, ``sum``, ... (``layerkit.core.ops`` passes its own, once,
    when it is imported). The ops import this module to build ``Apply`` nodes,
    so this module names them through this one binding instead of an import."""
    global _builders
    _builders = builders


#: compiles and runs ``Variable.eval`` (:mod:`layerkit.core.function` binds it when imported)
_evaluator: Any = None


def bind_evaluator(evaluate) -> None:
    """Give :meth:`Variable.eval` the function that compiles and calls (``function.py``
    passes its own, once, when it is imported: this module cannot import it)."""
    global _evaluator
    _evaluator = evaluate


def _flat(args):
    """``x.reshape(2, 3)`` and ``x.reshape((2, 3))`` alike."""
    return args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args


class _TensorOperators:
    """Python's operators and Theano's methods on symbolic variables: ``x + y``,
    ``x[i]``, ``x.sum()``, ``x.T``... Each is the builder of the same name in
    :mod:`layerkit.core.ops` (``x + y`` is ``add(x, y)``), reached through
    :func:`bind_operators`."""

    __slots__ = ()

    def __add__(self, other): return _builders.add(self, other)
    def __radd__(self, other): return _builders.add(other, self)
    def __sub__(self, other): return _builders.sub(self, other)
    def __rsub__(self, other): return _builders.sub(other, self)
    def __mul__(self, other): return _builders.mul(self, other)
    def __rmul__(self, other): return _builders.mul(other, self)
    def __truediv__(self, other): return _builders.true_div(self, other)
    def __rtruediv__(self, other): return _builders.true_div(other, self)
    def __floordiv__(self, other): return _builders.floor_div(self, other)
    def __rfloordiv__(self, other): return _builders.floor_div(other, self)
    def __mod__(self, other): return _builders.mod(self, other)
    def __rmod__(self, other): return _builders.mod(other, self)
    def __pow__(self, other): return _builders.pow(self, other)
    def __rpow__(self, other): return _builders.pow(other, self)
    def __matmul__(self, other): return _builders.dot(self, other)
    def __rmatmul__(self, other): return _builders.dot(other, self)
    def __neg__(self): return _builders.neg(self)
    def __abs__(self): return _builders.abs_(self)
    def __pos__(self): return self
    def __invert__(self): return _builders.invert(self)
    def __and__(self, other): return _builders.and_(self, other)
    def __rand__(self, other): return _builders.and_(other, self)
    def __or__(self, other): return _builders.or_(self, other)
    def __ror__(self, other): return _builders.or_(other, self)
    def __xor__(self, other): return _builders.xor(self, other)
    def __rxor__(self, other): return _builders.xor(other, self)
    def __lt__(self, other): return _builders.lt(self, other)
    def __le__(self, other): return _builders.le(self, other)
    def __gt__(self, other): return _builders.gt(self, other)
    def __ge__(self, other): return _builders.ge(self, other)
    def __getitem__(self, key): return _builders.getitem(self, key)

    # -- reductions ----------------------------------------------------------
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _builders.sum(self, axis, dtype, keepdims, acc_dtype)

    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _builders.mean(self, axis, dtype, keepdims, acc_dtype)

    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _builders.prod(self, axis, dtype, keepdims, acc_dtype)

    def max(self, axis=None, keepdims=False): return _builders.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _builders.min(self, axis, keepdims)
    def any(self, axis=None, keepdims=False): return _builders.any(self, axis, keepdims)
    def all(self, axis=None, keepdims=False): return _builders.all(self, axis, keepdims)
    def argmax(self, axis=None, keepdims=False): return _builders.argmax(self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return _builders.argmin(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0, corrected=False):
        return _builders.var(self, axis, keepdims, ddof, corrected)

    def std(self, axis=None, keepdims=False, ddof=0, corrected=False):
        return _builders.std(self, axis, keepdims, ddof, corrected)

    def norm(self, L=2, axis=None, keepdims=False):
        return _builders.norm(self, L, axis, keepdims)

    # -- shaping -------------------------------------------------------------
    @property
    def shape(self):
        """The shape as a symbolic int vector (a constant when every size is known)."""
        return _builders.shape_of(self)

    @property
    def size(self):
        return _builders.prod(_builders.shape_of(self))

    @property
    def T(self):  # noqa: N802 - Theano's name
        return _builders.transpose(self)

    def reshape(self, *shape, ndim=None):
        if len(shape) == 1 and not isinstance(shape[0], int) and not (
                isinstance(shape[0], Variable) and shape[0].ndim == 0):
            shape = shape[0]
        return _builders.reshape(self, shape, ndim)

    def dimshuffle(self, *pattern): return _builders.dimshuffle(self, _flat(pattern))
    def transpose(self, *axes): return _builders.transpose(self, _flat(axes) or None)
    def flatten(self, ndim=1, outdim=None): return _builders.flatten(self, ndim, outdim)
    def squeeze(self): return _builders.squeeze(self)

    # -- elementwise -----------------------------------------------------------
    def astype(self, dtype): return _builders.cast(self, dtype)
    def dot(self, other): return _builders.dot(self, other)
    def clip(self, a_min, a_max): return _builders.clip(self, a_min, a_max)
    def exp(self): return _builders.exp(self)
    def log(self): return _builders.log(self)
    def sqrt(self): return _builders.sqrt(self)


class Variable(_TensorOperators):
    """A typed node of the graph: an input, a constant, shared state or an op's output."""

    # numpy must defer to our operators (ndarray * Variable -> Variable.__rmul__)
    __array_ufunc__ = None

    def __init__(self, type: TensorType, owner: Apply | None = None, index: int = 0,
                 name: str | None = None) -> None:
        if not isinstance(type, TensorType):
            raise TypeError(f"a Variable needs a TensorType, got {type!r}")
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.trace = owner.trace if owner is not None else user_line()
        self.tag = _Tag()

    # -- type facts ---------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable

    @property
    def static_shape(self) -> tuple[int | None, ...]:
        return self.type.shape

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.owner is not None:
            return f"{self.owner.op}.{self.index}" if len(self.owner.outputs) > 1 else f"{self.owner.op}.out"
        return f"<{self.type.dtype} {self.type.ndim}-d>"

    def __str__(self) -> str:
        return repr(self)

    def __bool__(self):
        """Theano's rule: every variable is true (``if not W:`` asks whether one was
        given) except the result of a comparison, whose truth is only known when the
        function runs (``if a < b:`` and ``a < b < c`` raise)."""
        if self.owner is not None and self.owner.op.is_comparison:
            raise TypeError("Variables do not support boolean operations: the result of "
                            f"the comparison {self} is symbolic; use T.switch, T.and_ or "
                            "T.or_ on it instead")
        return True

    def __iter__(self):
        raise TypeError("a symbolic variable cannot be iterated; index it instead")

    def __len__(self):
        raise TypeError("a symbolic variable has no len(); use x.shape[0]")

    __hash__ = object.__hash__

    def eval(self, inputs_to_values=None):
        """The value of this variable given ``{input variable: value}`` (Theano's
        ``Variable.eval``): the function of those inputs is compiled on the first call
        and kept for later calls with the same inputs."""
        if _evaluator is None:
            raise RuntimeError("Variable.eval needs layerkit.core (import layerkit.core)")
        return _evaluator(self, inputs_to_values)

    def clone(self) -> "Variable":
        v = type(self).__new__(type(self))
        v.__dict__.update(self.__dict__)
        v.__dict__.pop("_fn_cache", None)
        v.owner = None
        v.tag = _Tag()
        return v


TensorType.variable_class = Variable


class _Tag:
    """Free-form annotations (Theano's ``variable.tag``)."""

    def __repr__(self) -> str:
        return f"Tag({self.__dict__})"


class Constant(Variable):
    """A variable with a fixed value. ``weak`` marks a Python scalar (numpy-2 promotion)."""

    def __init__(self, type: TensorType, data: np.ndarray, name: str | None = None,
                 weak: Any = None) -> None:
        super().__init__(type, name=name)
        self.data = data
        self.data.setflags(write=False)
        self.weak = weak

    def signature(self):
        d = self.data
        return (self.type, d.tobytes() if d.size <= 64 else id(d))

    def __repr__(self) -> str:
        if self.name:
            return self.name
        return np.array2string(self.data, threshold=6) if self.data.ndim else repr(self.data.item())


def as_variable(x, dtype=None, name: str | None = None) -> Variable:
    """``x`` as a Variable: variables pass through, everything else becomes a Constant."""
    if isinstance(x, Variable):
        return x
    weak = None
    if isinstance(x, (bool, int, float, complex)) and dtype is None:
        weak = x
        if isinstance(x, bool):
            arr = np.asarray(x)
        elif isinstance(x, int):
            arr = np.asarray(x, dtype="int64" if -2**63 <= x < 2**63 else "float64")
        elif isinstance(x, float):
            arr = np.asarray(x, dtype=config.floatX)
        else:
            arr = np.asarray(x)
    else:
        if hasattr(x, "__array_namespace__") and not isinstance(x, np.ndarray):
            x = np.from_dlpack(x) if hasattr(x, "__dlpack__") else np.asarray(x)
        try:
            arr = np.asarray(x, dtype=dtype)
        except (TypeError, ValueError) as err:
            raise TypeError(f"cannot make a tensor constant from {type(x).__name__} {x!r}: {err}") from None
        if arr.dtype == object:
            raise TypeError(f"cannot make a tensor constant from {x!r}: it holds non-numeric "
                            "values (a symbolic variable inside a list? use T.stack)")
        if arr.dtype.kind in "US":
            raise TypeError(f"cannot make a tensor constant from the string {x!r}")
    arr = np.array(arr, copy=True)
    return Constant(TensorType(arr.dtype, arr.shape), arr, name=name, weak=weak)


# -- graph walks (iterative: deep graphs must not hit the recursion limit) --

def toposort(outputs: Iterable[Variable], stop: Iterable[Variable] = ()) -> list[Apply]:
    """Apply nodes needed for ``outputs``, each after the nodes it depends on."""
    stop_ids = {id(v) for v in stop}
    order: list[Apply] = []
    done: set[int] = set()
    stack: list[tuple[Apply, bool]] = []
    for out in outputs:
        if out.owner is not None and id(out) not in stop_ids:
            stack.append((out.owner, False))
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            for inp in node.inputs:
                if inp.owner is not None and id(inp.owner) not in done and id(inp) not in stop_ids:
                    stack.append((inp.owner, False))
    return order


def ancestors(outputs: Iterable[Variable], stop: Iterable[Variable] = ()) -> list[Variable]:
    """Every variable the outputs depend on (them included), inputs first."""
    outputs = list(outputs)
    seen: dict[int, Variable] = {}
    for node in toposort(outputs, stop):
        for v in node.inputs:
            seen.setdefault(id(v), v)
        for v in node.outputs:
            seen.setdefault(id(v), v)
    for v in outputs:
        seen.setdefault(id(v), v)
    return list(seen.values())


def clone_replace(outputs: Sequence[Variable], replace: dict[Variable, Variable] | None = None
                  ) -> list[Variable]:
    """Copies of ``outputs`` with the variables of ``replace`` substituted.

    Nodes that depend on no replaced variable are kept as they are.
    """
    replace = dict(replace or {})
    memo: dict[int, Variable] = {id(k): v for k, v in replace.items()}
    for node in toposort(outputs, stop=replace.keys()):
        new_inputs = [memo.get(id(i), i) for i in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        new_node = node.op.make_node(*new_inputs)
        new_node.trace = node.trace
        for old, new in zip(node.outputs, new_node.outputs):
            new.name = old.name
            memo[id(old)] = new
    return [memo.get(id(o), o) for o in outputs]
