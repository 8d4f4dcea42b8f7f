"""Linking, step 3 of 3: the :class:`Program` — what one call of a compiled
function does around the emitted code.

A call takes the locks of every shared storage and random stream it touches
(in one global order), reads the shared values, runs the emitted code (its
in-place variant unless numpy may raise on a floating-point error), copies the
results and stored updates that could alias anything (:func:`copies_needed`),
stores the updates and advances the random streams — only after every node
succeeded, so a call that raises changes nothing. A failure is replayed node
by node to name the node at fault.
"""
from __future__ import annotations

import warnings

import numpy as np

from .aliasing import copies_needed
from .emit import Emitted
from .errors import LocatedError, describe_args, kernel_error
from .schedule import Schedule
from .shared import SharedVariable, storage_lock

__all__ = ["Program", "fp_errors_raise"]


class Program:
    """The callable a :class:`~layerkit.core.function.Function` runs: ``call(values)``
    takes the converted input values and returns the result(s)."""

    def __init__(self, fn, plan: Schedule, code: Emitted) -> None:
        self.source = code.source
        self.steps, self.env = code.steps, code.env
        self.shared = code.shared
        self.param_names = code.arg_names + code.shared_names
        nodes = [n for n, _ in plan.nodes]
        copy_out, copy_upd = copies_needed(nodes, fn.outputs, fn.update_targets,
                                           fn.update_values)
        self.states = list({id(n.op.state): n.op.state for n in nodes
                            if n.op.state is not None}.values())
        # every storage a call reads or writes: an update target need not be read
        touched = list(code.shared) + list(fn.update_targets)
        locks = {id(lk): lk for lk in [storage_lock(v) for v in touched] +
                 [st.lock for st in self.states]}
        #: every storage and random-stream lock a call holds, in the order taken
        self.locks = sorted(locks.values(), key=id)
        self.call = self._make_call(fn, code, copy_out, copy_upd)

    def _make_call(self, fn, code: Emitted, copy_out, copy_upd):
        """The call as one closure: locals, not attributes, on the per-call path."""
        backend, run, run_safe = fn.backend, code.run, code.run_safe
        to_numpy, xp = backend.to_numpy, backend.xp
        has_safe, any_store_copy = run_safe is not run, any(copy_upd)
        storers = [t._store for t in fn.update_targets]
        states, single, on_device, guard = self.states, fn.single, fn.on_device, fn.guard
        # plain shared variables are read without a method call; subclasses keep value_on
        shared_plain = [(s, type(s) is SharedVariable) for s in code.shared]
        labels = _labels(fn, code.shared) if guard is not None else None
        acquires = tuple(lk.acquire for lk in self.locks)
        releases = tuple(lk.release for lk in reversed(self.locks))
        replay = self._replay

        def call(values):
            for acquire in acquires:
                acquire()
            try:
                shared_values = [s._value if plain and s._backend is backend
                                 else s.value_on(backend) for s, plain in shared_plain]
                if guard is not None:
                    for label, v in zip(labels, values + shared_values):
                        guard.check_input(v, label, backend)
                try:
                    if has_safe and fp_errors_raise():
                        outs, upds = run_safe(*values, *shared_values)
                    else:
                        outs, upds = run(*values, *shared_values)
                except Exception as err:
                    replay(values + shared_values, err)
                    raise
                if on_device:
                    results = [xp.asarray(o, copy=True) if c else o
                               for o, c in zip(outs, copy_out)]
                else:
                    results = [np.array(to_numpy(o), copy=True) if c else np.asarray(to_numpy(o))
                               for o, c in zip(outs, copy_out)]
                if any_store_copy:
                    upds = [xp.asarray(v, copy=True) if c else v for v, c in zip(upds, copy_upd)]
                for store, v in zip(storers, upds):
                    store(v, backend)
                for st in states:
                    st.counter += 1
                return results[0] if single else results
            finally:
                for release in releases:
                    release()
        return call

    def _replay(self, arg_values, err) -> None:
        """Re-run step by step to find the node that failed, and raise naming it
        (nothing was written: a failing call runs no in-place write it could see)."""
        if isinstance(err, LocatedError):
            return
        env = self.env
        local = dict(zip(self.param_names, arg_values))
        local.update({k: v for k, v in env.items() if k.startswith("c")})
        for node, kname, in_names, out_names in self.steps:
            if any(nm not in local for nm in in_names):
                return      # a transfer we do not replay; keep the original error
            args = [local[nm] for nm in in_names]
            try:
                result = env[kname](*args)
            except Exception as inner:
                if node is None:
                    return
                raise _located(node, args, inner) from err
            results = result if len(out_names) > 1 else (result,)
            local.update(zip(out_names, results))


def _located(node, args, inner) -> Exception:
    try:
        why = node.op.explain_failure(node, args)
    except Exception:
        why = None
    return kernel_error(
        f"{node.op} failed at run time on inputs [{describe_args(args)}]: "
        f"{why or f'{type(inner).__name__}: {inner}'}\n"
        f"  the node was built at {node.trace}", inner)


def _labels(fn, shared) -> list[str]:
    """What NanGuardMode calls each input and shared value in its messages."""
    inputs = [f"input {k} ({v.name})" if v.name else f"input {k}"
              for k, v in enumerate(fn.inputs)]
    return inputs + [f"shared variable {v.name or v} (created at {v.trace})" for v in shared]


# -- when numpy raises on floating-point errors ----------------------------------
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
_FP_STATE: list = [None, None, False]     # numpy's error state, the warning filters, verdict


def fp_errors_raise() -> bool:
    """Whether a floating-point error in a numpy kernel would raise now: numpy's
    error state says 'raise' or 'call', or it says 'warn' and the warning filters
    turn RuntimeWarning into an error (pytest's ``-W error``). Cached on the
    identity of numpy's error state and the filters' contents: ~0.1 us a call."""
    # the filters' contents, not the list's identity: simplefilter() of a filter
    # already present moves it to the front without changing the list's length
    filters, seen = tuple(warnings.filters), _FP_STATE
    errstate = _errstate()
    if seen[0] is errstate and seen[1] == filters:
        return seen[2]
    modes = np.geterr()
    verdict = any(m in ("raise", "call") for m in modes.values())
    if not verdict and "warn" in modes.values():
        verdict = _runtime_warning_is_error(filters)
    seen[:] = [errstate, filters, verdict]
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
