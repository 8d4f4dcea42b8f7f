"""The linker: turns a rewritten graph into straight-line Python over kernels.

Small integer computations (shapes, indices) run on the host backend; a host
value used by a kernel of the function's backend is moved there once.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Callable

import numpy as np

from .config import config
from .graph import Apply, Constant, Variable, toposort
from .shared import SharedVariable, storage_lock

if TYPE_CHECKING:
    from .function import Function

__all__ = ["link", "KernelError", "kernel_error", "describe_args", "dtype_name"]


class KernelError(RuntimeError):
    """A kernel failed at run time; the message names the op, the inputs' dtypes and
    shapes, and the line of user code that built the node.

    When the kernel raised a builtin exception (``ValueError``, ``IndexError``,
    ...), the error raised is also an instance of that type, so code that caught
    the bare error (as Theano re-raised it) still catches it.
    """


_KERNEL_ERRORS: dict[type, type] = {}


def kernel_error(message: str, inner: BaseException) -> KernelError:
    """A KernelError carrying ``message`` that is also of ``inner``'s builtin type."""
    kind = type(inner)
    cls = _KERNEL_ERRORS.get(kind)
    if cls is None:
        cls = KernelError
        if kind.__module__ == "builtins" and issubclass(kind, Exception) \
                and not issubclass(kind, KernelError):
            try:
                cls = type("KernelError", (KernelError, kind),
                           {"__module__": __name__, "__qualname__": "KernelError",
                            "__reduce__": lambda self: (kernel_error, (self.args[0], kind()))})
            except TypeError:    # builtins with their own instance layout (OSError, ...)
                cls = KernelError
        _KERNEL_ERRORS[kind] = cls
    return cls(message)


def dtype_name(dtype) -> str:
    """``float64`` for numpy's, cupy's or array-api-strict's (``array_api_strict.float64``)."""
    return str(dtype).rsplit(".", 1)[-1]


def describe_args(args) -> str:
    """``float64(3, 4), int64(2,)``: the dtype and shape of each run-time value."""
    return ", ".join(f"{dtype_name(a.dtype) if hasattr(a, 'dtype') else type(a).__name__}"
                     f"{tuple(getattr(a, 'shape', ()))}" for a in args)


def _is_host_node(node: Apply, host_vars: set[int]) -> bool:
    op = node.op
    if op.host:
        return True
    if not op.pure or not node.inputs:
        return False
    small_ints = all(o.dtype.startswith(("int", "uint", "bool")) and o.ndim <= 1
                     for o in node.outputs)
    return small_ints and all(id(i) in host_vars for i in node.inputs)


def _schedule(fn: "Function"):
    """Nodes in order, each marked host or device; the host variables; the in-place
    writes (``id(node) -> position of the input it overwrites``), which run last."""
    from .aliasing import commit_order, plan_inplace
    outputs = fn.outputs + fn.update_values
    nodes = toposort(outputs)
    inplace, commit = {}, []
    if "inplace" not in config.excluded() and fn.guard is None:
        inplace, commit = plan_inplace(nodes, fn.outputs, fn.update_targets, fn.update_values)
        nodes = commit_order(nodes, commit)
    host_vars: set[int] = set()
    for v in {id(i): i for n in nodes for i in n.inputs}.values():
        if isinstance(v, Constant) and v.ndim <= 1 and v.dtype.startswith(("int", "uint", "bool")):
            host_vars.add(id(v))
    marked, late = [], set(commit)
    for node in nodes:
        on_host = _is_host_node(node, host_vars) and id(node) not in late
        if on_host:
            host_vars.update(id(o) for o in node.outputs)
        marked.append((node, on_host))
    return marked, host_vars, inplace, late


def link(fn: "Function") -> Callable:
    from ..backend import host_backend

    backend, host = fn.backend, host_backend()
    marked, host_vars, inplace, late = _schedule(fn)
    names: dict[tuple[int, str], str] = {}   # (variable id, 'h'|'d') -> local name
    env: dict[str, object] = {}
    lines: list[str] = []
    steps: list[tuple[Apply, str, list[str], list[str]]] = []
    counter = [0]

    def fresh(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    arg_names = []
    for v in fn.inputs:
        nm = fresh("i")
        names[(id(v), "d")] = nm
        arg_names.append(nm)
    shared = []
    for node, _ in marked:
        for v in node.inputs:
            if isinstance(v, SharedVariable) and v not in shared:
                shared.append(v)
    for v in fn.outputs + fn.update_values:
        if isinstance(v, SharedVariable) and v not in shared:
            shared.append(v)
    shared_names = []
    for v in shared:
        nm = fresh("s")
        names[(id(v), "d")] = nm
        shared_names.append(nm)

    def ref(v: Variable, where: str) -> str:
        """The local name holding ``v`` on the host ('h') or the device ('d')."""
        key = (id(v), where)
        if key in names:
            return names[key]
        if isinstance(v, Constant):
            nm = fresh("c")
            env[nm] = v.data if where == "h" else backend.from_numpy(v.data)
            names[key] = nm
            return nm
        other = "d" if where == "h" else "h"
        if (id(v), other) not in names:
            raise KeyError(f"internal: {v} is not computed before it is used")
        nm = fresh("t")
        conv = "_to_host" if where == "h" else "_to_dev"
        lines.append(f"{nm} = {conv}({names[(id(v), other)]})")
        steps.append((None, conv, [names[(id(v), other)]], [nm]))
        names[key] = nm
        return nm

    from ..backend.fusion import broadcast_shape
    env["_Shaped"], env["_bshape"] = _Shaped, broadcast_shape
    env["_to_host"] = lambda x: np.asarray(backend.to_numpy(x))
    env["_to_dev"] = backend.from_numpy
    # the commit phase (in-place writes and the nodes after them) comes last; its
    # broadcast checks run before its first node (on shapes alone, for results
    # not computed yet), so a call that fails has changed nothing
    prechecks: list[str] = []
    writes: list[str] = []
    phase_inputs: dict[str, list[str]] = {}      # a commit-phase result -> its inputs
    shaped_done: set[str] = set()

    def shaped(nm: str) -> str:
        """``nm``, or for a commit-phase result not yet computed, its shape alone."""
        if nm not in phase_inputs:
            return nm
        if nm not in shaped_done:
            args = ", ".join(shaped(i) for i in phase_inputs[nm])
            prechecks.append(f"_p{nm} = _Shaped(_bshape({args}))")
            shaped_done.add(nm)
        return f"_p{nm}"
    for node, on_host in marked:
        where = "h" if on_host else "d"
        writing, committing = id(node) in inplace, id(node) in late
        if writing:
            thunk = node.op.destroy_thunk(host if on_host else backend, node, inplace[id(node)])
        else:
            thunk = node.op.thunk(host if on_host else backend, node)
        if fn.profile:
            thunk = _timed(thunk, node, fn.profile_stats)
        if fn.guard is not None:
            consts = [k for k, i in enumerate(node.inputs) if isinstance(i, Constant)]
            thunk = _guarded(thunk, node, fn.guard, host if on_host else backend, consts)
        if fn.debug is not None:
            from .compile.debugmode import checked_thunk
            thunk = checked_thunk(fn.debug, thunk, node, host if on_host else backend,
                                  inplace.get(id(node)))
        kname = fresh("k")
        env[kname] = thunk
        # shape-like inputs (ints, <= 1-d) may be read on the host by any kernel
        in_names = [ref(i, "h" if id(i) in host_vars and (on_host or node.op.host_input(k, node))
                        else "d") for k, i in enumerate(node.inputs)]
        risks = getattr(thunk, "risks", None)
        if risks:
            # the run-time broadcast check, written inline: a few attribute reads instead
            # of a call; on a mismatch the op's own check raises its message
            env[kname] = thunk.unchecked
            env[kname + "_check"] = thunk.check
            env[kname + "_checked"] = thunk          # what a replay after a failure runs
            seen = [shaped(nm) for nm in in_names]
            tests = " or ".join(f"{seen[free[0]]}.shape[{axis}] != {seen[i]}.shape[{axis}]"
                                for axis, free in risks for i in free[1:])
            (prechecks if committing else lines).append(
                f"if {tests}: {kname}_check(({', '.join(seen)},))")
        out_names = [fresh("v") for _ in node.outputs]
        for o, nm in zip(node.outputs, out_names):
            names[(id(o), where)] = nm
        target = out_names[0] if len(out_names) == 1 else ", ".join(out_names)
        call = ", ".join(in_names)
        if committing:
            phase_inputs[out_names[0]] = in_names     # its shape, should a check need it
            into = ""
            if writing and getattr(thunk, "accepts_out", False):
                # the update overwrites its shared variable's storage: aliasing.plan_inplace
                # proved that nothing reads that storage afterwards
                into = f", out={in_names[inplace[id(node)]]}"
            writes.append((f"{target} = {kname}({call}{into})", f"{target} = {kname}({call})"))
        else:
            lines.append(f"{target} = {kname}({call})")
        steps.append((node, kname + "_checked" if risks else kname, in_names, out_names))
    before = lines[:]
    out_refs = [ref(o, "d") for o in fn.outputs]
    upd_refs = [ref(u, "d") for u in fn.update_values]
    after = lines[len(before):]        # transfers of results, made after the commit phase

    def source(name: str, in_place: bool) -> str:
        body = before + prechecks + [w[0] if in_place else w[1] for w in writes] + after
        return (f"def {name}({', '.join(arg_names + shared_names)}):\n    "
                + ("\n    ".join(body) or "pass") + "\n"
                f"    return ({''.join(r + ', ' for r in out_refs)}), "
                f"({''.join(r + ', ' for r in upd_refs)})\n")
    src = source("_run", True)
    exec(compile(src, f"<layerkit function {fn.name or ''}>", "exec"), env)
    run = env["_run"]
    fn.source = src
    # the same program writing no shared storage: run when numpy may raise on a
    # floating-point error, which could stop the commit phase after a write
    run_safe = run
    if any(w[0] != w[1] for w in writes):
        exec(compile(source("_run_safe", False), f"<layerkit function {fn.name or ''}>",
                     "exec"), env)
        run_safe = env["_run_safe"]

    from .aliasing import copies_needed
    copy_out, copy_upd = copies_needed([n for n, _ in marked], fn.outputs, fn.update_targets,
                                       fn.update_values)
    to_numpy, xp = backend.to_numpy, backend.xp
    states = list({id(n.op.state): n.op.state for n, _ in marked
                   if n.op.state is not None}.values())
    stores = list(zip(fn.update_targets, copy_upd))
    storers = [t._store for t in fn.update_targets]
    any_store_copy = any(copy_upd)
    has_safe = run_safe is not run
    single, on_device = fn.single, fn.on_device

    guard = fn.guard
    input_labels = [f"input {k} ({v.name})" if v.name else f"input {k}"
                    for k, v in enumerate(fn.inputs)]
    shared_labels = [f"shared variable {v.name or v} (created at {v.trace})" for v in shared]

    # plain shared variables are read without a method call; subclasses keep value_on
    shared_plain = [(s, type(s) is SharedVariable) for s in shared]

    # a call holds the locks of every storage and random stream it reads or writes
    # (taken in one global order, so two calls never wait on each other in a cycle)
    locks = sorted({id(lk): lk for lk in [storage_lock(v) for v in shared] +
                    [st.lock for st in states]}.values(), key=id)
    acquires = tuple(lk.acquire for lk in locks)
    releases = tuple(lk.release for lk in reversed(locks))

    def program(values):
        for acquire in acquires:
            acquire()
        try:
            shared_values = [s._value if plain and s._backend is backend else s.value_on(backend)
                             for s, plain in shared_plain]
            if guard is not None:
                for label, v in zip(input_labels + shared_labels, values + shared_values):
                    guard.check_input(v, label, backend)
            try:
                if has_safe and fp_errors_raise():
                    outs, upds = run_safe(*values, *shared_values)
                else:
                    outs, upds = run(*values, *shared_values)
            except Exception as err:
                _locate_failure(steps, env, arg_names + shared_names, values + shared_values, err)
                raise
            if on_device:
                results = [xp.asarray(o, copy=True) if c else o for o, c in zip(outs, copy_out)]
            else:
                results = [np.array(to_numpy(o), copy=True) if c else np.asarray(to_numpy(o))
                           for o, c in zip(outs, copy_out)]
            if any_store_copy:
                upds = [xp.asarray(v, copy=True) if c else v for v, (_, c) in zip(upds, stores)]
            for store, v in zip(storers, upds):
                store(v, backend)
            for st in states:
                st.counter += 1
            return results[0] if single else results
        finally:
            for release in releases:
                release()
    program.locks = locks
    return program


def _errstate_getter():
    """A function returning an object that changes whenever numpy's error state
    changes (its context variable's value), or a fresh object each time where
    this numpy keeps it elsewhere (no caching then)."""
    try:
        from numpy._core._ufunc_config import _extobj_contextvar
    except ImportError:
        return object
    return _extobj_contextvar.get


_errstate = _errstate_getter()
_FP_STATE: list = [None, None, 0, False]   # numpy's error state, the filters, their count, verdict


def fp_errors_raise() -> bool:
    """Whether a floating-point error in a numpy kernel would raise now: numpy's
    error state says 'raise' or 'call', or it says 'warn' and the warning filters
    turn RuntimeWarning into an error (pytest's ``-W error``). Cached on the
    identity of numpy's error state and of the filter list: ~0.1 us a call."""
    filters, seen = warnings.filters, _FP_STATE
    errstate = _errstate()
    if seen[0] is errstate and seen[1] is filters and seen[2] == len(filters):
        return seen[3]
    modes = np.geterr()
    verdict = any(m in ("raise", "call") for m in modes.values())
    if not verdict and "warn" in modes.values():
        verdict = _runtime_warning_is_error(filters)
    seen[:] = [errstate, filters, len(filters), verdict]
    return verdict


def _runtime_warning_is_error(filters) -> bool:
    for action, message, category, module, _ in filters:
        if not issubclass(RuntimeWarning, category):
            continue
        if action == "error":
            return True
        if message is None and module is None:
            return False         # this filter decides for every RuntimeWarning
    return False


def _guarded(thunk, node: Apply, guard, backend, consts=()):
    """Wrap a thunk so NanGuardMode checks its output (and, once, its constant inputs:
    a constant folded from a NaN-producing expression has no node left to blame)."""
    pending = list(consts)

    def run(*args):
        if pending:
            for k in pending:
                guard.check_constant(args[k], k, node, backend)
            pending.clear()
        out = thunk(*args)
        for value in (out if isinstance(out, tuple) else (out,)):
            guard.check(value, node, backend, args)
        return out
    return run


def _timed(thunk, node: Apply, stats: dict):
    """Wrap a thunk to add its run time to ``stats[op name]`` (``profile=True``)."""
    import time
    key = str(node.op)
    stats.setdefault(key, [0.0, 0])

    def timed(fn):
        def run(*args, **kwargs):
            t = time.perf_counter()
            out = fn(*args, **kwargs)
            entry = stats.get(key) or stats.setdefault(key, [0.0, 0])   # cleared between runs
            entry[0] += time.perf_counter() - t
            entry[1] += 1
            return out
        run.accepts_out = getattr(fn, "accepts_out", False)
        return run
    run = timed(thunk)
    if getattr(thunk, "risks", None):     # the linker still writes the check inline
        run.risks, run.check, run.unchecked = thunk.risks, thunk.check, timed(thunk.unchecked)
    return run


class _Shaped:
    """Only a shape: what a write's broadcast check sees of a write not yet run."""

    __slots__ = ("shape",)

    def __init__(self, shape) -> None:
        self.shape = shape


def _locate_failure(steps, env, arg_names, arg_values, err) -> None:
    """Re-run step by step to find the node that failed, and raise naming it."""
    from .compile import DebugModeError, NanGuardError
    if isinstance(err, (KernelError, NanGuardError, DebugModeError)):
        return
    local = dict(zip(arg_names, arg_values))
    local.update({k: v for k, v in env.items() if k.startswith("c")})
    for node, kname, in_names, out_names in steps:
        try:
            args = []
            for nm in in_names:
                if nm not in local:
                    return  # a transfer we do not replay; keep the original error
                args.append(local[nm])
            result = env[kname](*args)
        except Exception as inner:
            if node is None:
                return
            try:
                why = node.op.explain_failure(node, args)
            except Exception:
                why = None
            raise kernel_error(
                f"{node.op} failed at run time on inputs [{describe_args(args)}]: "
                f"{why or f'{type(inner).__name__}: {inner}'}\n"
                f"  the node was built at {node.trace}", inner) from err
        results = result if len(out_names) > 1 else (result,)
        for nm, val in zip(out_names, results):
            local[nm] = val
