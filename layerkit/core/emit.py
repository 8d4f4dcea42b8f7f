"""Linking, step 2 of 3: emit — straight-line Python calling one kernel per node.

For a schedule (:mod:`layerkit.core.schedule`) the emitter binds each node to
its kernel once (``Op.thunk``, or ``Op.destroy_thunk`` for an in-place write,
wrapped for ``profile=True``, NanGuardMode or DebugMode) and writes one line
per node, naming the op and the user's line that built it::

    v38 = k36(c37, v35, s2, out=s2)  # Fused{sub(x0, mul(x1, x2))} at model.py:42

Run-time broadcast checks are written inline (a few attribute reads, not a
call); those of the commit phase all come before its first node, on shapes
alone for results not yet computed. Two functions are emitted where the
schedule writes in place: ``run`` and ``run_safe``, the same code without
``out=`` (what a call runs when numpy may raise mid-phase). Each result is
deleted after its last use, so a call holds what is live, not every
intermediate (a conv net's peak halves, and with it the first call's page
faults).
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

import numpy as np

from ..backend import host_backend
from ..backend.fusion import broadcast_shape
from .debugmode import checked_thunk
from .graph import Apply, Constant, Variable
from .op import CheckedThunk
from .schedule import Schedule
from .shared import SharedVariable

__all__ = ["Emitted", "emit"]


@dataclass
class Emitted:
    """The generated code and what running and replaying it needs."""

    source: str
    run: object
    run_safe: object
    #: the names the generated code binds (kernels, constants, converters)
    env: dict
    arg_names: list[str]
    shared: list[SharedVariable]
    shared_names: list[str]
    #: ``(node or None, kernel name, input names, output names)`` in run order: a replay
    steps: list = field(default_factory=list)


class _Shaped:
    """Only a shape: what a broadcast check sees of a result not computed yet."""

    __slots__ = ("shape",)

    def __init__(self, shape) -> None:
        self.shape = shape


def emit(fn, plan: Schedule) -> Emitted:
    """The code running ``fn``'s outputs and updates in ``plan``'s order."""
    return _Emitter(fn, plan).finish()


class _Emitter:
    def __init__(self, fn, plan: Schedule) -> None:
        self.fn, self.plan = fn, plan
        self.backend, self.host = fn.backend, host_backend()
        self.names: dict[tuple[int, str], str] = {}   # (variable id, 'h'|'d') -> local name
        self.env: dict[str, object] = {
            "_Shaped": _Shaped, "_bshape": broadcast_shape,
            "_to_host": lambda x: np.asarray(self.backend.to_numpy(x)),
            "_to_dev": self.backend.from_numpy}
        self.lines: list[str] = []
        self.prechecks: list[str] = []             # the commit phase's checks
        self.writes: list[tuple[str, str]] = []    # its lines, with and without out=
        self.phase_inputs: dict[str, list[str]] = {}
        self.shaped_done: set[str] = set()
        self.steps: list = []
        self.counter = 0
        self.arg_names = [self._name(v, "i") for v in fn.inputs]
        self.shared = _shared_leaves(plan, fn.outputs + fn.update_values)
        self.shared_names = [self._name(v, "s") for v in self.shared]
        for node, on_host in plan.nodes:
            self._node(node, on_host)

    # -- names ------------------------------------------------------------
    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _name(self, v: Variable, prefix: str) -> str:
        nm = self._fresh(prefix)
        self.names[(id(v), "d")] = nm
        return nm

    def ref(self, v: Variable, where: str) -> str:
        """The local name holding ``v`` on the host ('h') or the device ('d')."""
        key = (id(v), where)
        if key in self.names:
            return self.names[key]
        if isinstance(v, Constant):
            nm = self.names[key] = self._fresh("c")
            self.env[nm] = v.data if where == "h" else self.backend.from_numpy(v.data)
            return nm
        other = self.names.get((id(v), "d" if where == "h" else "h"))
        if other is None:
            raise KeyError(f"internal: {v} is not computed before it is used")
        nm = self.names[key] = self._fresh("t")
        conv = "_to_host" if where == "h" else "_to_dev"
        self.lines.append(f"{nm} = {conv}({other})")
        self.steps.append((None, conv, [other], [nm]))
        return nm

    def shaped(self, nm: str) -> str:
        """``nm``, or for a commit-phase result not computed yet, its shape alone."""
        if nm not in self.phase_inputs:
            return nm
        if nm not in self.shaped_done:
            args = ", ".join(self.shaped(i) for i in self.phase_inputs[nm])
            self.prechecks.append(f"_p{nm} = _Shaped(_bshape({args}))")
            self.shaped_done.add(nm)
        return f"_p{nm}"

    # -- one node -----------------------------------------------------------
    def _node(self, node: Apply, on_host: bool) -> None:
        plan, where = self.plan, "h" if on_host else "d"
        position = plan.writes.get(id(node))
        committing = id(node) in plan.commit
        thunk = bind(self.fn, node, self.host if on_host else self.backend, position)
        kname = self._fresh("k")
        self.env[kname] = thunk
        in_names = [self.ref(i, "h" if id(i) in plan.host_vars
                             and (on_host or node.op.host_input(k, node)) else "d")
                    for k, i in enumerate(node.inputs)]
        risks = isinstance(thunk, CheckedThunk)
        if risks:
            self._check(thunk, kname, in_names, committing)
        out_names = [self._fresh("v") for _ in node.outputs]
        for o, nm in zip(node.outputs, out_names):
            self.names[(id(o), where)] = nm
        line = f"{', '.join(out_names)} = {kname}({', '.join(in_names)}"
        note = f")  # {_describe(node)}"
        if committing:
            self.phase_inputs[out_names[0]] = in_names
            into = ""
            if position is not None and getattr(thunk, "accepts_out", False):
                # aliasing.plan_inplace proved nothing reads this storage afterwards
                into = f", out={in_names[position]}"
            self.writes.append((line + into + note, line + note))
        else:
            self.lines.append(line + note)
        self.steps.append((node, kname + "_checked" if risks else kname, in_names, out_names))

    def _check(self, thunk, kname: str, in_names: list[str], committing: bool) -> None:
        """The run-time broadcast check, inline; on a mismatch the op's own check
        raises its message."""
        self.env[kname] = thunk.unchecked
        self.env[kname + "_check"] = thunk.check
        self.env[kname + "_checked"] = thunk          # what a replay after a failure runs
        seen = [self.shaped(nm) for nm in in_names]
        tests = " or ".join(f"{seen[free[0]]}.shape[{axis}] != {seen[i]}.shape[{axis}]"
                            for axis, free in thunk.risks for i in free[1:])
        (self.prechecks if committing else self.lines).append(
            f"if {tests}: {kname}_check(({', '.join(seen)},))")

    # -- the functions --------------------------------------------------------
    def finish(self) -> Emitted:
        fn = self.fn
        before = self.lines[:]
        out_refs = [self.ref(o, "d") for o in fn.outputs]
        upd_refs = [self.ref(u, "d") for u in fn.update_values]
        after = self.lines[len(before):]   # transfers of results, after the commit phase
        params = ", ".join(self.arg_names + self.shared_names)
        returns = (f"    return ({''.join(r + ', ' for r in out_refs)}), "
                   f"({''.join(r + ', ' for r in upd_refs)})\n")

        keep = set(out_refs + upd_refs)

        def source(name: str, in_place: bool) -> str:
            body = before + self.prechecks + [w[0 if in_place else 1] for w in self.writes] \
                + after
            body = _with_deletes(body, keep)
            return f"def {name}({params}):\n    " + ("\n    ".join(body) or "pass") + \
                "\n" + returns
        label = f"<layerkit function {fn.name or ''}>"
        src = source("_run", True)
        exec(compile(src, label, "exec"), self.env)
        run = run_safe = self.env["_run"]
        if any(w[0] != w[1] for w in self.writes):
            run_safe = _compiled_on_first_call(source("_run_safe", False), label, self.env)
        return Emitted(src, run, run_safe, self.env, self.arg_names, self.shared,
                       self.shared_names, self.steps)


#: the names of results (``v``) and transfers (``t``) in the emitted code
_RESULT_NAME = re.compile(r"\b[vt]\d+\b")


def _with_deletes(body: list[str], keep: set[str]) -> list[str]:
    """``body`` with ``del`` of each result after the line that uses it last
    (``keep``: the returned names). Memory a result holds is then freed as
    soon as nothing needs it: lasagne_cnn's train step peaks at 139 MB instead
    of 279 MB. The notes after ``  # `` name ops and files, not results."""
    last: dict[str, int] = {}
    for k, line in enumerate(body):
        for nm in _RESULT_NAME.findall(line.split("  # ", 1)[0]):
            last[nm] = k
    dead: dict[int, list[str]] = {}
    for nm, k in last.items():
        if nm not in keep and k < len(body) - 1:     # the return frees the rest
            dead.setdefault(k, []).append(nm)
    out = []
    for k, line in enumerate(body):
        out.append(line)
        if k in dead:
            out.append("del " + ", ".join(sorted(dead[k], key=lambda n: int(n[1:]))))
    return out


def _compiled_on_first_call(src: str, label: str, env: dict):
    """A function running ``src``'s function, compiled when first called: the
    variant without ``out=`` is rarely needed, and compiling costs ~0.2 ms."""
    compiled = []

    def run(*args):
        if not compiled:
            exec(compile(src, label, "exec"), env)
            compiled.append(env["_run_safe"])
        return compiled[0](*args)
    return run


def _shared_leaves(plan: Schedule, results) -> list[SharedVariable]:
    """The shared variables the program reads, in first-use order."""
    found: dict[int, SharedVariable] = {}
    for node, _ in plan.nodes:
        for v in node.inputs:
            if isinstance(v, SharedVariable):
                found.setdefault(id(v), v)
    for v in results:
        if isinstance(v, SharedVariable):
            found.setdefault(id(v), v)
    return list(found.values())


def _describe(node: Apply) -> str:
    """``Elemwise{add} at model.py:42`` for a generated line's comment."""
    where = node.trace
    path, sep, line = where.rpartition(":")
    if sep and line.isdigit():
        where = f"{os.path.basename(path)}:{line}"
    text = f"{node.op} at {where}"
    # a comment ends at a line break (\n, \r, ...) and compile() refuses NULs and
    # lone surrogates (a file name that is not UTF-8): only printable characters
    return "".join(c if c.isprintable() else "?" for c in text)


# -- binding a node to its kernel -------------------------------------------------
def bind(fn, node: Apply, backend, position: int | None):
    """The callable running ``node`` on ``backend`` (writing into input ``position``'s
    storage when it is an in-place write), wrapped for the function's mode."""
    if position is not None:
        thunk = node.op.destroy_thunk(backend, node, position)
    else:
        thunk = node.op.thunk(backend, node)
    if fn.profile:
        thunk = _timed(thunk, node, fn.profile_stats)
    if fn.guard is not None:
        consts = [k for k, i in enumerate(node.inputs) if isinstance(i, Constant)]
        thunk = _guarded(thunk, node, fn.guard, backend, consts)
    if fn.debug is not None:
        thunk = checked_thunk(fn.debug, thunk, node, backend, position)
    return thunk


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
    if isinstance(thunk, CheckedThunk):   # the emitter still writes the check inline
        return CheckedThunk(timed(thunk.unchecked), thunk.risks, thunk.check)
    return timed(thunk)
