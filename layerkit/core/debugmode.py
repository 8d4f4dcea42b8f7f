"""``mode="DebugMode"``: every node checked against the generic reference kernels.

A function compiled in DebugMode runs as usual (rewritten, fused, in place)
on its backend, and for every node also:

- runs the node's generic kernels on the host (numpy) on copies of the same
  inputs, and compares each output's shape, dtype and values (within
  :attr:`DebugMode.tolerances`; random draws are compared on shape and dtype);
- checks that no input changed, except the storage an in-place write was
  allowed to overwrite;
- checks that an output the op does not declare a view of its inputs
  (``Op.view_map``) shares no memory with them (on backends whose arrays
  numpy can see without a copy).

Each call is also run, first, by the same graph compiled with
``optimizer_excluding=fusion:inplace`` (from the same shared values and
random counters, which are then put back), and the results and the updated
shared values must agree. The first mismatch raises :class:`DebugModeError`
naming the node, the line of user code that built it, the kernel and the
package that provided it. A plugin author finds a wrong kernel in a real
model this way (``docs/writing-a-backend.md``).

It is slow (every node runs twice, every call twice): a tool, not a mode to
train in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..backend import host_backend
from .errors import LocatedError, describe_mismatch
from .shared import storage_lock

__all__ = ["DebugMode", "DebugModeError"]


class DebugModeError(AssertionError, LocatedError):
    """A kernel or a rewrite gave a wrong result, or a kernel wrote where it may not."""


@dataclass(frozen=True)
class DebugMode:
    """Theano's ``DebugMode``: check every node and every rewrite (see the module)."""

    #: ``{dtype kind/name: (rtol, atol)}`` for comparing floating results
    tolerances: dict = field(default_factory=lambda: {
        "float16": (1e-2, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)})
    #: re-run each call with ``optimizer_excluding=fusion:inplace`` and compare
    check_rewrites: bool = True

    def tolerance(self, dtype: str) -> tuple[float, float]:
        return self.tolerances.get(dtype, (0.0, 0.0))


class _Recorder:
    """A backend that notes the kernels asked of it (and otherwise is ``backend``)."""

    def __init__(self, backend) -> None:
        self._backend, self.names = backend, []

    def kernel(self, name: str):
        self.names.append(name)
        return self._backend.kernel(name)

    def __getattr__(self, attr):
        return getattr(self._backend, attr)


def _kernels_of(node, backend) -> str:
    """The kernels the node's thunk looks up, each with the package providing it:
    ``tanh (acme-kernels), add (layerkit (generic))``."""
    recorder = _Recorder(backend)
    try:
        node.op.thunk(recorder, node)
    except Exception:                # the op could not be bound again: say nothing
        return ""
    names = dict.fromkeys(recorder.names)
    return ", ".join(f"{n} ({backend.kernel_providers.get(n, 'unknown provider')})"
                     for n in names)


def _blame(node, backend, what: str) -> DebugModeError:
    kernels = _kernels_of(node, backend)
    source = f"backend {backend.name!r}" + (f", kernels {kernels}" if kernels else "")
    return DebugModeError(f"DebugMode: {node.op} ({source}): {what}\n"
                          f"  the node was built at {node.trace}")


def _host_copy(backend, value):
    if isinstance(value, (int, float, complex)):
        return value
    return np.array(backend.to_numpy(value), copy=True)


def _shares(a, b) -> bool:
    """Whether two arrays share memory, where numpy can tell without copying."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    return np.shares_memory(a, b)


def checked_thunk(mode: DebugMode, thunk, node, backend, destroyed=None):
    """``thunk`` wrapped with DebugMode's per-node checks; ``destroyed`` is the
    input position an in-place write may overwrite (or None)."""
    host = host_backend()
    reference = node.op.thunk(host, node)
    pure = node.op.pure
    views = {k for k, ins in node.op.view_map.items() if ins}

    def run(*args, out=None):
        before = [_host_copy(backend, a) for a in args]
        result = thunk(*args) if out is None else thunk(*args, out=out)
        results = result if isinstance(result, tuple) else (result,)
        for k, (a, b) in enumerate(zip(args, before)):
            if k == destroyed:
                continue
            now = _host_copy(backend, a)
            if np.shape(now) != np.shape(b) or not np.array_equal(now, b, equal_nan=True):
                raise _blame(node, backend, f"input {k} ({node.inputs[k]}) was modified, "
                                            "and the op declares no in-place write of it")
        for k, r in enumerate(results):
            if k in views:
                continue
            for j, a in enumerate(args):
                if j != destroyed and _shares(r, a):
                    raise _blame(node, backend, f"output {k} shares memory with input {j}, "
                                                "but the op declares no view (Op.view_map)")
        expected = reference(*[np.array(b, copy=True) if isinstance(b, np.ndarray) else b
                               for b in before])
        expected = expected if isinstance(expected, tuple) else (expected,)
        for k, (got, want) in enumerate(zip(results, expected)):
            _compare(mode, node, backend, f"output {k}", _host_copy(backend, got),
                     np.asarray(want), values=pure)
        return result
    run.accepts_out = getattr(thunk, "accepts_out", False)
    return run


def _compare(mode, node, backend, label, got, want, values=True) -> None:
    if got.shape != want.shape:
        raise _blame(node, backend, f"{label} has shape {got.shape}, the generic kernels "
                                    f"give {want.shape}")
    if got.dtype != want.dtype:
        raise _blame(node, backend, f"{label} has dtype {got.dtype}, the generic kernels "
                                    f"give {want.dtype}")
    if values:
        rtol, atol = mode.tolerance(got.dtype.name)
        text = describe_mismatch(got, want, rtol, atol)
        if text:
            raise _blame(node, backend, f"{label} differs from the generic kernels: {text}")


def debug_call(fn, program, values):
    """One call of a DebugMode function: the unoptimized run first (its effects
    undone), then the checked one, then the two compared. The whole of it holds
    the locks of every storage and random stream either run touches, and any
    failure puts the shared values and random counters back as they were."""
    mode = fn.debug
    if not mode.check_rewrites:
        return program(values)
    reference = fn._debug_reference()
    shared = fn._debug_shared()
    states = fn._debug_states()
    locks = sorted({id(lk): lk for lk in [storage_lock(s) for s in shared] +
                    [st.lock for st in states]}.values(), key=id)
    for lk in locks:
        lk.acquire()
    try:
        saved = [s.get_value() for s in shared]
        counters = [st.counter for st in states]

        def restore():
            for s, v in zip(shared, saved):
                s.set_value(v)
            for st, c in zip(states, counters):
                st.counter = c
        try:
            want = reference._program(values)
            want_shared = [s.get_value() for s in shared]
            restore()
            got = program(values)
            listed = (lambda r: [r] if fn.single else r)
            for k, (g, w) in enumerate(zip(listed(got), listed(want))):
                _compare_call(mode, fn, f"output {k} ({fn.outputs[k]})", g, w)
            for s, w in zip(shared, want_shared):
                _compare_call(mode, fn, f"the new value of {s}", s.get_value(), w)
        except BaseException:
            restore()
            raise
        return got
    finally:
        for lk in reversed(locks):
            lk.release()


def _compare_call(mode, fn, label, got, want) -> None:
    got, want = np.asarray(fn.backend.to_numpy(got)), np.asarray(want)
    rtol, atol = mode.tolerance(want.dtype.name)
    text = (f"shape {got.shape} against {want.shape}" if got.shape != want.shape
            else describe_mismatch(got, want, rtol, atol))
    if text:
        raise DebugModeError(
            f"DebugMode: {label} of {fn._label()} differs between the optimized graph and "
            f"the graph compiled with optimizer_excluding=fusion:inplace: {text}")
