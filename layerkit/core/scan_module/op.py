"""The :class:`Scan` op: a loop over an inner graph, compiled once.

One node runs the whole loop. Its inputs are, in order::

    n_steps, sequences..., initial buffers of the recurrent states..., non-sequences...

and its outputs::

    the recurrent states' buffers..., the other outputs (one row per step)...

A recurrent state read at taps ``(-2, -1)`` has a buffer of ``2 + n_steps``
rows: its ``2`` initial rows, then one row per step (step ``t`` reads rows
``2 + t - 2`` and ``2 + t - 1`` and writes row ``2 + t``). The buffers hold the
initial rows so that the gradient (:mod:`.grad`) finds every value a step read.

The inner graph's inputs are, in order: one per sequence (its row ``t``), one
per tap of each recurrent state, one per non-sequence, and, when the step uses
it, the step number ``t`` (int64). Its outputs: the states' new values, the
other outputs, and, for a ``while`` loop (``until``), the stop condition last.

The inner graph is compiled once per backend by :class:`~layerkit.core.function.Function`
(the same rewrites, fusion and in-place decisions as any function: a step
writes only into memory it owns, never into its arguments, so the loop hands
it views of its buffers); the loop writes each step's results into buffers
allocated once, after the first step gives their shapes.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from ..function import Function
from ..graph import Apply, Variable
from ..op import Op
from ..types import TensorType

__all__ = ["Scan", "bind_gradient"]

_GRADIENT: list = [None]


def bind_gradient(rule) -> None:
    """Set the function building a Scan node's gradient (:func:`.grad.scan_grad`)."""
    _GRADIENT[0] = rule


class Scan(Op):
    """A loop over ``inner_outputs`` as a function of ``inner_inputs``.

    ``state_taps``: for each recurrent state, the taps it is read at (negative
    ints); ``n_seqs``, ``n_nit`` (outputs not fed back), ``n_nonseq``;
    ``has_step``: the last inner input is the step number; ``has_cond``: the
    last inner output is the stop condition; ``truncate_gradient``: back-propagate
    through at most this many steps (-1: all). Two instances are never equal.
    """

    foldable = False

    def __init__(self, inner_inputs: Sequence[Variable], inner_outputs: Sequence[Variable], *,
                 n_seqs: int, state_taps: Sequence[Sequence[int]], n_nit: int, n_nonseq: int,
                 has_step: bool, has_cond: bool, truncate_gradient: int = -1,
                 name: str | None = None, mode=None, extends: "Scan | None" = None,
                 seq_info=None) -> None:
        self.inner_inputs = list(inner_inputs)
        self.inner_outputs = list(inner_outputs)
        self.n_seqs, self.n_nit, self.n_nonseq = n_seqs, n_nit, n_nonseq
        self.state_taps = [tuple(int(k) for k in taps) for taps in state_taps]
        self.n_states = len(self.state_taps)
        #: rows each state's buffer holds before the first step
        self.lags = [max(-k for k in taps) for taps in self.state_taps]
        self.has_step, self.has_cond = has_step, has_cond
        self.truncate_gradient = int(truncate_gradient)
        self.name, self.mode = name, mode
        #: the loop this one computes too (with more outputs: values kept for a gradient)
        self.extends = extends
        #: per inner sequence, ``(the user's sequence number, its taps, rows its taps
        #: span)``: what errors about a sequence say
        self.seq_info = list(seq_info) if seq_info is not None else \
            [(k, [0], 0) for k in range(n_seqs)]
        n_taps = sum(len(t) for t in self.state_taps)
        expected = n_seqs + n_taps + n_nonseq + int(has_step)
        if len(self.inner_inputs) != expected:
            raise ValueError(f"Scan: {len(self.inner_inputs)} inner inputs, expected {expected}")
        if len(self.inner_outputs) != self.n_states + n_nit + int(has_cond):
            raise ValueError(f"Scan: {len(self.inner_outputs)} inner outputs, expected "
                             f"{self.n_states + n_nit + int(has_cond)}")
        self._compiled: dict = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_compiled"] = {}           # compiled steps are rebuilt where unpickled
        return state

    # -- identity ----------------------------------------------------------
    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"Scan{{{self.name or 'scan'}}}"

    # -- where things are -----------------------------------------------------
    def split_inputs(self, inputs):
        """``(n_steps, sequences, initial buffers, non-sequences)`` of a node's inputs."""
        s, k = 1 + self.n_seqs, 1 + self.n_seqs + self.n_states
        return inputs[0], list(inputs[1:s]), list(inputs[s:k]), list(inputs[k:])

    def split_inner_inputs(self):
        """``(sequence rows, taps per state, non-sequences, step or None)``."""
        ins = self.inner_inputs
        seqs, k = ins[:self.n_seqs], self.n_seqs
        taps = []
        for state in self.state_taps:
            taps.append(ins[k:k + len(state)])
            k += len(state)
        nonseqs = ins[k:k + self.n_nonseq]
        return seqs, taps, nonseqs, (ins[-1] if self.has_step else None)

    # -- graph building -------------------------------------------------------
    def make_node(self, *inputs) -> Apply:
        n_steps, seqs, inits, nonseqs = self.split_inputs(list(inputs))
        if len(nonseqs) != self.n_nonseq:
            raise TypeError(f"{self}: expected {1 + self.n_seqs + self.n_states + self.n_nonseq} "
                            f"inputs, got {len(inputs)}")
        outs = []
        for k, out in enumerate(self.inner_outputs[:self.n_states + self.n_nit]):
            row = out.type.shape
            if k < self.n_states:
                # a state's static sizes: those its initial rows and its steps agree on
                first = self.split_inner_inputs()[1][k][0].type.shape
                row = tuple(a if a == b else None for a, b in zip(first, row))
            outs.append(TensorType(out.dtype, (None,) + tuple(row)))
        return Apply(self, list(inputs), outs)

    def host_input(self, k, node) -> bool:
        return k == 0                       # n_steps

    def grad(self, inputs, outputs, output_grads):
        # the gradient builds scans (it sits above the builder, which sits above this
        # module): bound once by the package, as the graph's operators are
        return _GRADIENT[0](self, inputs, outputs, output_grads)

    # -- running --------------------------------------------------------------
    def inner_function(self, backend) -> Function:
        fn = self._compiled.get(id(backend))
        if fn is None:
            fn = self._compiled[id(backend)] = Function(
                inputs=self.inner_inputs, outputs=list(self.inner_outputs), backend=backend,
                on_device=True, on_unused_input="ignore", mode=self.mode,
                name=f"inner function of {self}")
        return fn

    def thunk(self, backend, node):
        step = self.inner_function(backend)._program
        return _Loop(self, backend, step, node)


class _Loop:
    """The run-time loop of one Scan node."""

    def __init__(self, op: Scan, backend, step, node) -> None:
        self.op, self.backend, self.step = op, backend, step
        self.xp = backend.xp
        self.trace = node.trace
        #: ``(state, tap)`` pairs in inner-input order
        self.reads = [(i, tap) for i, taps in enumerate(op.state_taps) for tap in taps]
        self.out_dtypes = [o.dtype for o in node.outputs]
        self.out_rows = [o.type.shape[1:] for o in node.outputs]

    def __call__(self, n_steps, *args):
        op, xp, backend = self.op, self.xp, self.backend
        n = int(np.asarray(n_steps))
        _, seqs, inits, nonseqs = op.split_inputs([None] + list(args))
        if n < 0:
            raise ValueError(f"{op}: n_steps is {n}; it must be >= 0 (built at {self.trace})")
        for s, (k, taps, span) in zip(seqs, op.seq_info):
            if s.shape[0] < n:
                read = "" if span == 0 else (
                    f"; read at taps {taps}, they give {s.shape[0]} steps")
                raise ValueError(f"{op}: sequence {k} has {s.shape[0] + span} entries{read}, "
                                 f"fewer than the {n} steps asked for (built at {self.trace})")
        for i, (init, lag) in enumerate(zip(inits, op.lags)):
            if init.shape[0] < lag:
                raise ValueError(f"{op}: the initial value of output {i} has {init.shape[0]} "
                                 f"rows; its taps {list(op.state_taps[i])} need {lag} "
                                 f"(built at {self.trace})")
        lags, reads, n_states = op.lags, self.reads, op.n_states
        steps = backend.from_numpy(np.arange(n, dtype=np.int64)) if op.has_step else None
        bufs = None
        done = n
        for t in range(n):
            if bufs is None:
                # before the first step, the taps read the initial rows
                values = [s[t, ...] for s in seqs] + [inits[i][lags[i] + tap, ...]
                                                       for i, tap in reads]
            else:
                values = [s[t, ...] for s in seqs] + [bufs[i][lags[i] + t + tap, ...]
                                                       for i, tap in reads]
            values += nonseqs
            if steps is not None:
                values.append(steps[t])
            outs = self.step(values)
            if bufs is None:
                bufs = self._allocate(n, inits, outs)
            for k, (buf, out) in enumerate(zip(bufs, outs)):
                row = t + (lags[k] if k < n_states else 0)
                if tuple(out.shape) != tuple(buf.shape[1:]):
                    self._shape_error(k, t, out, buf)
                buf[row, ...] = out
            if op.has_cond and bool(np.asarray(backend.to_numpy(outs[-1]))):
                done = t + 1
                break
        if bufs is None:
            bufs = self._empty(seqs, inits, nonseqs)
        if done < n:
            bufs = [b[:done + (lags[k] if k < n_states else 0), ...] for k, b in enumerate(bufs)]
        return tuple(bufs) if len(bufs) > 1 else bufs[0]

    def _allocate(self, n, inits, outs):
        """Buffers for every output, from the first step's results; the states'
        initial rows copied in."""
        op, xp, bufs = self.op, self.xp, []
        for k in range(op.n_states + op.n_nit):
            out, dtype = outs[k], getattr(self.xp, self.out_dtypes[k])
            lag = op.lags[k] if k < op.n_states else 0
            buf = xp.empty((lag + n,) + tuple(out.shape), dtype=dtype)
            if k < op.n_states:
                init = inits[k][:lag, ...]
                if tuple(init.shape[1:]) != tuple(out.shape):
                    raise ValueError(
                        f"{op}: output {k}'s initial value has shape {tuple(init.shape[1:])} "
                        f"per step, but the step function returns shape {tuple(out.shape)}; "
                        f"a recurrent output must keep its shape (built at {self.trace})")
                buf[:lag, ...] = init
            bufs.append(buf)
        return bufs

    def _empty(self, seqs, inits, nonseqs):
        """The outputs of a loop of 0 steps: the states' initial rows, and empty
        other outputs, whose row shapes one step on zeros tells (its values are
        dropped; where that step fails, unknown sizes are taken as 0)."""
        op, xp, bufs = self.op, self.xp, []
        rows = self._probe_rows(seqs, inits, nonseqs)
        for k in range(op.n_states + op.n_nit):
            dtype = getattr(xp, self.out_dtypes[k])
            if k < op.n_states:
                bufs.append(xp.asarray(inits[k][:op.lags[k], ...], copy=True))
            else:
                row = rows[k] if rows is not None else tuple(
                    s if s is not None else 0 for s in self.out_rows[k])
                bufs.append(xp.empty((0,) + row, dtype=dtype))
        return bufs

    def _probe_rows(self, seqs, inits, nonseqs):
        """The shapes of one step's results on zero rows, or None if it fails."""
        op, xp = self.op, self.xp
        values = [xp.zeros(tuple(s.shape[1:]), dtype=s.dtype) for s in seqs]
        values += [inits[i][op.lags[i] + tap, ...] for i, tap in self.reads]
        values += list(nonseqs)
        if op.has_step:
            values.append(self.backend.from_numpy(np.zeros((), dtype=np.int64)))
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outs = self.step(values)
        except Exception:
            return None
        return [tuple(o.shape) for o in outs]

    def _shape_error(self, k, t, out, buf):
        what = "a recurrent output" if k < self.op.n_states else "an output"
        raise ValueError(
            f"{self.op}: at step {t}, output {k} has shape {tuple(out.shape)}, but earlier "
            f"steps{' and its initial value' if k < self.op.n_states else ''} gave "
            f"{tuple(buf.shape[1:])}; {what} of scan must keep its shape from step to step "
            f"(built at {self.trace})")
