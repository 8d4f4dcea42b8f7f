"""``function``: compile a graph into a callable with updates.

Compiling clones the graph (substituting ``givens``), rewrites it, binds each
node to a backend kernel once, and generates straight-line Python for the
schedule, so a call costs little more than its kernels.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from ..backend import get_backend
from .aliasing import storage_key
from .debugmode import DebugMode, debug_call
from .modes import resolve_mode
from .config import config
from .errors import dtype_name
from .graph import (Apply, Constant, Variable, ancestors, as_variable, bind_evaluator,
                    clone_replace, toposort)
from .ignored import warn_ignored
from .linker import link
from .ops.basic import cast
from .rewrite import optimize
from .rewrite.cache import cached_optimize
from .shared import SharedVariable
from .types import is_float

__all__ = ["function", "Function", "In", "Param", "MissingInputError", "UnusedInputError"]


class MissingInputError(ValueError):
    """The outputs depend on an input variable that was not given."""


class UnusedInputError(ValueError):
    """An input is not used to compute the outputs (``on_unused_input='raise'``)."""


def _as_pairs(updates, what: str) -> list[tuple[Any, Any]]:
    if updates is None:
        return []
    if isinstance(updates, dict):
        return list(updates.items())
    try:
        pairs = [tuple(p) for p in updates]
    except TypeError:
        raise TypeError(f"{what} must be a dict, an OrderedDict or a sequence of pairs, "
                        f"got {type(updates).__name__}") from None
    for p in pairs:
        if len(p) != 2:
            raise TypeError(f"{what}: each entry must be a (variable, expression) pair, got {p!r}")
    return pairs


def _check_updates(pairs) -> list[tuple[SharedVariable, Variable]]:
    out, seen = [], set()
    for var, expr in pairs:
        if not isinstance(var, SharedVariable):
            raise TypeError(f"updates: {var!r} is not a shared variable; only shared "
                            "variables can be updated")
        if storage_key(var) in seen:
            raise ValueError(f"updates: the shared variable {var} is updated twice "
                             "(directly, or as well through a memory-aliased clone)")
        seen.add(storage_key(var))
        expr = as_variable(expr)
        if expr.ndim != var.ndim:
            raise TypeError(f"updates: the update of {var} has {expr.ndim} dimensions "
                            f"(shape {expr.type.shape}), the variable has {var.ndim}")
        if expr.dtype != var.dtype:
            expr = cast(expr, var.dtype)
        out.append((var, expr))
    return out


def _default_updates(roots, pairs) -> list[tuple[SharedVariable, Variable]]:
    """Theano's default updates: a shared variable in the graph whose
    ``default_update`` is set gets that update unless one is given
    (BatchNormLayer's running averages use this). An explicit update of the
    same storage (the variable, or its memory-aliased clone) wins, as in Theano."""
    explicit = {storage_key(v) for v, _ in pairs}
    extra, seen = [], set()
    frontier = list(roots)
    while frontier:
        found = []
        for v in ancestors(frontier):
            if isinstance(v, SharedVariable) and v.default_update is not None \
                    and storage_key(v) not in explicit and storage_key(v) not in seen:
                seen.add(storage_key(v))
                found.append(v)
        pairs_new = _check_updates([(v, v.default_update) for v in found])
        extra += pairs_new
        frontier = [e for _, e in pairs_new]   # a default update may reach more of them
    return extra


class In:
    """An input of :func:`function` with its options (Theano's ``theano.In``).

    ``value``: the default used when the call omits the argument (positionally
    from the end, or by name); ``name``: the keyword it may be passed by
    (default: the variable's name); ``allow_downcast``: this input's own
    ``allow_input_downcast``. ``mutable=True`` (the function may overwrite the
    argument) and ``borrow`` are accepted: layerkit never writes into arguments,
    so both have no effect. ``update`` (an input updated from call to call) and
    ``implicit=True`` are not supported: use a shared variable and ``updates=``.
    """

    def __init__(self, variable, name=None, value=None, update=None, mutable=None,
                 strict=False, allow_downcast=None, autoname=True, implicit=None,
                 borrow=None, shared=False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"In: the first argument must be a symbolic variable, got "
                            f"{type(variable).__name__}")
        if update is not None:
            raise NotImplementedError("In(update=...): inputs updated between calls are not "
                                      "supported; use a shared variable and updates= instead")
        if implicit or shared:
            raise NotImplementedError("In(implicit=True / shared=True) is not supported; pass "
                                      "the value as an argument or use a shared variable")
        if mutable or borrow:
            warn_ignored("In", "mutable" if mutable else "borrow",
                         "compiled functions never write into their arguments")
        if strict:
            warn_ignored("In", "strict", "values are converted by function()'s rule "
                         "(allow_input_downcast / In(allow_downcast=)), not refused unless "
                         "exactly of the input's dtype")
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.mutable = bool(mutable)
        self.borrow = bool(borrow)
        self.strict = strict
        self.allow_downcast = allow_downcast

    @property
    def has_default(self) -> bool:
        return self.value is not None

    def __repr__(self) -> str:
        return f"In({self.variable}{'' if self.value is None else f', value={self.value!r}'})"


def Param(variable, default=None, name=None, mutable=False, strict=False,  # noqa: N802
          allow_downcast=None, implicit=None, borrow=None) -> In:
    """Theano's older name of :class:`In`: ``Param(x, default=v)`` is ``In(x, value=v)``
    (DeepLearningTutorials' ``DBN.py`` and ``SdA.py`` use it)."""
    return In(variable, name=name, value=default, mutable=mutable, strict=strict,
              allow_downcast=allow_downcast, implicit=implicit, borrow=borrow)


def _unwrap_inputs(inputs) -> tuple[list, list]:
    """``inputs`` (variables or :class:`In`) as the variables and their ``In`` (or None)."""
    if isinstance(inputs, (Variable, In)) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"function: inputs must be a list of variables, got "
                        f"{type(inputs).__name__}")
    return ([i.variable if isinstance(i, In) else i for i in inputs],
            [i if isinstance(i, In) else None for i in inputs])


def _check_function_inputs(inputs) -> list[Variable]:
    """``inputs`` as a list of distinct free input variables, or a clear error."""
    if isinstance(inputs, Variable) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"function: inputs must be a list of variables, got "
                        f"{type(inputs).__name__}")
    for i, v in enumerate(inputs):
        if not isinstance(v, Variable):
            raise TypeError(f"function: input {i} is {type(v).__name__}, not a symbolic "
                            "variable")
        if isinstance(v, (Constant, SharedVariable)) or v.owner is not None:
            raise TypeError(f"function: input {i} ({v}) must be a free input variable "
                            "such as T.matrix(), not a constant, shared variable or "
                            "expression; use givens to substitute expressions")
    if len({id(v) for v in inputs}) != len(inputs):
        raise ValueError("function: the same variable appears twice in inputs")
    return list(inputs)


def _givens(givens) -> dict:
    """``givens`` as ``{variable: replacement}``, each replacement of its variable's type."""
    replace = {}
    for var, expr in _as_pairs(givens, "givens"):
        if not isinstance(var, Variable):
            raise TypeError(f"givens: keys must be variables, got {var!r}")
        expr = as_variable(expr)
        if expr.ndim != var.ndim:
            raise TypeError(f"givens: {var} has {var.ndim} dims, its replacement "
                            f"{expr.ndim}")
        if expr.dtype != var.dtype:
            expr = cast(expr, var.dtype)
        replace[var] = expr
    return replace


def _refuse_destroying_ops(graph) -> None:
    """``accept_inplace=False``: a user graph may not hold an op that overwrites inputs."""
    for node in toposort(graph):
        if node.op.destroy_map:
            raise TypeError(f"function: {node.op} (built at {node.trace}) overwrites "
                            "its inputs; pass accept_inplace=True to compile it")


class _Converter:
    """Turns one argument into an array of the input's dtype (Theano's ``filter``)."""

    def __init__(self, var: Variable, position: int, allow_downcast, backend) -> None:
        self.var, self.position, self.allow_downcast = var, position, allow_downcast
        self.dtype, self.ndim, self.backend = var.dtype, var.ndim, backend
        self.np_dtype = np.dtype(var.dtype)
        self.label = f"input {position} ({var.name})" if var.name else f"input {position}"
        #: sizes fixed at build time (a broadcastable dimension is fixed to 1)
        self.sizes = [(ax, s) for ax, s in enumerate(var.type.shape) if s is not None]
        #: a Python float converts without loss (a float64 scalar input): the fast path
        self.python_float_ok = self.ndim == 0 and self.np_dtype == np.float64

    def __call__(self, value):
        if type(value) is np.ndarray and value.dtype == self.np_dtype and value.ndim == self.ndim:
            if self.sizes:
                self.check_sizes(value.shape)
            return self.backend.from_numpy(value)
        if type(value) is float and self.python_float_ok:     # a Python number, lossless
            return self.backend.from_numpy(np.array(value, dtype=self.np_dtype))
        return self.slow(value)

    def check_sizes(self, shape) -> None:
        for ax, s in self.sizes:
            if shape[ax] != s:
                why = " (a broadcastable dimension)" if s == 1 else ""
                raise TypeError(f"{self.label}: expected size {s} in dimension {ax}{why}, got "
                                f"shape {tuple(shape)}")

    def slow(self, value):
        backend = self.backend
        if not isinstance(value, (np.ndarray, np.generic, float, int, complex, list, tuple)) \
                and backend.is_array(value):
            return self.on_device(value)
        if isinstance(value, Variable):
            raise TypeError(f"{self.label}: expected a value, got the symbolic variable "
                            f"{value}; compiled functions take numbers")
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{self.label}: expected numbers, got {type(value).__name__} "
                            f"({err})") from None
        if arr.dtype == object or arr.dtype.kind in "USVM" or arr.dtype.kind == "m":
            raise TypeError(f"{self.label}: expected numeric data, got "
                            f"{type(value).__name__} with dtype {arr.dtype}")
        if arr.ndim != self.ndim:
            raise TypeError(f"{self.label}: expected {self.ndim} dimensions, got {arr.ndim} "
                            f"(shape {arr.shape})")
        self.check_sizes(arr.shape)
        return backend.from_numpy(self.cast(value, arr))

    def on_device(self, value):
        """An array of the function's backend: checked like a numpy one, cast there."""
        if value.ndim != self.ndim:
            raise TypeError(f"{self.label}: expected {self.ndim} dimensions, got a "
                            f"{value.ndim}-d {self.backend.name} array (shape {tuple(value.shape)})")
        self.check_sizes(value.shape)
        given = dtype_name(value.dtype)
        if given == self.dtype:
            return value
        try:
            source = np.dtype(given)
        except TypeError:
            source = None
        if source is not None and (self.allow_downcast or np.can_cast(source, self.np_dtype, "safe")):
            xp = self.backend.xp
            return xp.astype(value, getattr(xp, self.dtype))
        raise TypeError(
            f"{self.label}: cannot convert a {self.backend.name} array of {given} to "
            f"{self.dtype} without losing precision; pass allow_input_downcast=True to "
            f"function(), or give {self.dtype} data")

    def cast(self, value, arr: np.ndarray) -> np.ndarray:
        target = self.np_dtype
        if arr.dtype == target:
            return arr
        if self.allow_downcast:
            return arr.astype(target)
        if np.can_cast(arr.dtype, target, "safe"):
            return arr.astype(target)
        if self.allow_downcast is None:
            if type(value) is float and self.dtype == config.floatX:
                return arr.astype(target)
            # Python numbers and lists (and numpy scalars, as in Theano) pass when the
            # conversion is exact; arrays, numpy's or another library's, carry a dtype
            # that must cast safely
            typed = hasattr(value, "dtype") and not isinstance(value, np.generic)
            if not typed:
                converted = arr.astype(target)
                with np.errstate(invalid="ignore", over="ignore"):
                    if np.array_equal(converted, arr, equal_nan=arr.dtype.kind in "fc"):
                        return converted
        given = f"{arr.dtype} data" if hasattr(value, "dtype") else \
            f"{type(value).__name__} data (as {arr.dtype})"
        raise TypeError(
            f"{self.label}: cannot convert {given} to {self.dtype} without losing "
            f"precision; pass allow_input_downcast=True to function(), or give {self.dtype} data")


def function(inputs, outputs=None, updates=None, givens=None, allow_input_downcast=None,
             backend=None, on_device: bool = False, on_unused_input=None, name=None,
             mode=None, profile=False, no_default_updates=False, rebuild_strict=True,
             accept_inplace=False):
    """Compile ``outputs`` as a function of ``inputs`` (Theano's ``theano.function``).

    ``updates`` (a dict, OrderedDict or pairs) replace shared values after each
    call, all computed from the values before it; ``givens`` substitute
    expressions for variables. Results are numpy arrays (``on_device=True``:
    backend arrays); a single output gives a single result, a list a list.

    ``mode``: None (``config.mode``), 'FAST_RUN', 'FAST_COMPILE' (the same
    pipeline), 'NanGuardMode' or 'DebugMode' (every node checked against the
    generic kernels, every call against the unoptimized graph). Givens are
    always rebuilt strictly (a replacement is cast to the replaced variable's
    type): ``rebuild_strict=False`` warns. ``accept_inplace``: layerkit's ops
    never destroy their inputs, so graphs have nothing for it to accept; an op
    that declares a ``destroy_map`` is refused unless it is True.
    """
    if not rebuild_strict:
        warn_ignored("function", "rebuild_strict=False",
                     "givens are always cast to the type of the variable they replace")
    return Function(inputs=inputs, outputs=outputs, updates=updates, givens=givens,
                    allow_input_downcast=allow_input_downcast, backend=backend,
                    on_device=on_device, on_unused_input=on_unused_input or "raise",
                    name=name, mode=mode, profile=profile,
                    no_default_updates=no_default_updates, accept_inplace=accept_inplace)


class Function:
    """A compiled function; call it with values for its inputs."""

    def __init__(self, *, inputs, outputs, updates=None, givens=None,
                 allow_input_downcast=None, backend=None, on_device=False,
                 on_unused_input="raise", name=None, mode=None, profile=False,
                 no_default_updates=False, accept_inplace=False) -> None:
        # one-shot iterators (updates=zip(...)) are read once, here
        updates = _as_pairs(updates, "updates") if updates is not None else None
        givens = _as_pairs(givens, "givens") if givens is not None else None
        self._spec = dict(inputs=inputs, outputs=outputs, updates=updates, givens=givens,
                          allow_input_downcast=allow_input_downcast, backend=backend,
                          on_device=on_device, on_unused_input=on_unused_input, name=name,
                          mode=mode, profile=profile, no_default_updates=no_default_updates,
                          accept_inplace=accept_inplace)
        self.name = name
        self.backend = backend if hasattr(backend, "kernel") else get_backend(backend)
        self._spec["backend"] = self.backend.name
        variables, self._in = _unwrap_inputs(inputs)
        self.inputs = _check_function_inputs(variables)
        self._names = [i.name if i is not None else v.name
                       for v, i in zip(self.inputs, self._in)]
        self.single = isinstance(outputs, Variable) or (
            outputs is not None and not isinstance(outputs, (list, tuple)))
        outs = [] if outputs is None else ([outputs] if self.single else list(outputs))
        outs = [as_variable(o) for o in outs]
        pairs = _check_updates(_as_pairs(updates, "updates"))
        if not no_default_updates:
            pairs += _default_updates(outs + [e for _, e in pairs], pairs)
        self.update_targets = [v for v, _ in pairs]
        graph = clone_replace(outs + [e for _, e in pairs], _givens(givens))
        if not accept_inplace:
            _refuse_destroying_ops(graph)

        resolved = resolve_mode(mode)
        self.debug = resolved if isinstance(resolved, DebugMode) else None
        self.guard = None if self.debug else resolved
        # NanGuardMode checks every node: fusion would hide the node at fault
        fuse = self.guard is None
        graph = cached_optimize(
            graph, self.inputs, lambda g: optimize(g, self.backend, fuse=fuse),
            (self.backend.name, fuse, config.excluded()))
        self.outputs = graph[:len(outs)]
        self.update_values = graph[len(outs):]
        self._check_inputs(on_unused_input)
        self.allow_input_downcast = allow_input_downcast
        self.on_device = on_device
        self.profile = profile
        self.profile_stats: dict[str, list] = {}
        self.program = link(self)
        self.source = self.program.source
        self._program = self.program.call
        self._converters = [
            _Converter(v, i, allow_input_downcast if spec is None or spec.allow_downcast is None
                       else spec.allow_downcast, self.backend)
            for i, (v, spec) in enumerate(zip(self.inputs, self._in))]
        #: ``{position: default}`` of the ``In(value=...)`` inputs
        self._defaults = {k: spec.value for k, spec in enumerate(self._in)
                          if spec is not None and spec.has_default}

    def _check_inputs(self, on_unused_input: str) -> None:
        nodes = toposort(self.outputs + self.update_values)
        given = {id(v) for v in self.inputs}
        used: set[int] = set()
        leaves = [v for n in nodes for v in n.inputs if v.owner is None]
        leaves += [v for v in self.outputs + self.update_values if v.owner is None]
        for v in leaves:
            used.add(id(v))
            if id(v) in given or isinstance(v, (Constant, SharedVariable)):
                continue
            raise MissingInputError(
                f"function: the outputs depend on {v} (created at {v.trace}), which is not "
                "among the inputs; add it to inputs or substitute it with givens")
        unused = [v for v in self.inputs if id(v) not in used]
        if unused and on_unused_input != "ignore":
            msg = (f"function: input(s) {', '.join(map(str, unused))} are not used to compute "
                   "the outputs; pass on_unused_input='warn' or 'ignore' to allow this")
            if on_unused_input == "raise":
                raise UnusedInputError(msg)
            warnings.warn(msg, stacklevel=3)

    # -- calling ---------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if kwargs:
            args = self._merge_kwargs(args, kwargs)
        elif self._defaults and len(args) < len(self.inputs) and all(
                k in self._defaults for k in range(len(args), len(self.inputs))):
            args = tuple(args) + tuple(self._defaults[k]
                                       for k in range(len(args), len(self.inputs)))
        if len(args) != len(self.inputs):
            names = ", ".join(str(v) for v in self.inputs)
            raise TypeError(f"{self._label()}: expected {len(self.inputs)} argument(s) "
                            f"({names}), got {len(args)}")
        values = [conv(a) for conv, a in zip(self._converters, args)]
        if self.debug is not None:
            return debug_call(self, self._program, values)
        return self._program(values)

    # -- DebugMode's reference run ---------------------------------------
    def _debug_reference(self) -> "Function":
        """The same function compiled with ``optimizer_excluding=fusion:inplace``."""
        if getattr(self, "_reference", None) is None:
            spec = dict(self._spec, mode="FAST_RUN", backend=self.backend,
                        name=f"{self.name or 'function'} (reference)")
            saved = config.optimizer_excluding
            config.optimizer_excluding = "fusion:inplace"
            try:
                self._reference = Function(**spec)
            finally:
                config.optimizer_excluding = saved
        return self._reference

    def _debug_shared(self) -> list[SharedVariable]:
        """The shared variables this function or its reference reads or updates."""
        found: dict[int, SharedVariable] = {}
        for fn in (self, self._debug_reference()):
            for node in toposort(fn.outputs + fn.update_values):
                for v in node.inputs:
                    if isinstance(v, SharedVariable):
                        found.setdefault(id(v), v)
            for v in fn.update_targets + fn.outputs:
                if isinstance(v, SharedVariable):
                    found.setdefault(id(v), v)
        return list(found.values())

    def _debug_states(self) -> list:
        return list({id(n.op.state): n.op.state
                     for fn in (self, self._debug_reference())
                     for n in toposort(fn.outputs + fn.update_values)
                     if n.op.state is not None}.values())

    def profile_report(self, top: int = 20) -> str:
        """Time per op over the calls so far (compile with ``profile=True``)."""
        if not self.profile:
            return "profiling is off: compile with function(..., profile=True)"
        total = sum(t for t, _ in self.profile_stats.values()) or 1e-12
        rows = sorted(self.profile_stats.items(), key=lambda kv: -kv[1][0])[:top]
        lines = [f"{'op':<40} {'calls':>7} {'total ms':>10} {'%':>6}"]
        for name, (t, n) in rows:
            lines.append(f"{name[:40]:<40} {n:>7} {t * 1e3:>10.2f} {100 * t / total:>6.1f}")
        return "\n".join(lines)

    def _merge_kwargs(self, args, kwargs):
        by_name = {n: i for i, n in enumerate(self._names) if n}
        missing = object()
        full = list(args) + [missing] * (len(self.inputs) - len(args))
        for key, value in kwargs.items():
            if key not in by_name:
                raise TypeError(f"{self._label()}: no input named {key!r}; inputs are "
                                f"{list(by_name)}")
            if by_name[key] < len(args):
                raise TypeError(f"{self._label()}: input {key!r} given twice (by position "
                                "and by name)")
            full[by_name[key]] = value
        full = [self._defaults[k] if v is missing and k in self._defaults else v
                for k, v in enumerate(full)]
        absent = [str(self.inputs[k]) for k, v in enumerate(full) if v is missing]
        if absent:
            raise TypeError(f"{self._label()}: no value given for input(s) {', '.join(absent)}")
        return full

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "compiled function"

    def __getstate__(self):
        return self._spec

    def __setstate__(self, spec) -> None:
        self.__init__(**spec)

    def __repr__(self) -> str:
        return f"<{self._label()} on {self.backend.name}: {len(self.inputs)} inputs>"


def _evaluate(var: Variable, inputs_to_values=None):
    """``var.eval(inputs_to_values)``: compiled once per set of inputs (kept on the
    variable, as Theano's ``_fn_cache``), then called."""
    givens = dict(inputs_to_values or {})
    if not all(isinstance(k, Variable) for k in givens):
        raise TypeError("eval: inputs_to_values must map symbolic variables to values")
    inputs = tuple(sorted(givens, key=id))
    cache = var.__dict__.setdefault("_fn_cache", {})
    fn = cache.get(inputs)
    if fn is None:
        fn = cache[inputs] = function(list(inputs), var)
    return fn(*[givens[k] for k in inputs])


bind_evaluator(_evaluate)

