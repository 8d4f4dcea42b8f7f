"""``scan``: Theano's loop, built as one :class:`~.op.Scan` node.

``scan`` calls the step function ``fn`` once, on placeholder variables, to get
the step as a graph; then it decides what of that graph runs in the loop.
Everything that does not depend on the loop — on a sequence's row, a recurrent
state or the step number — is computed once, before the loop (Theano's scan
push-out): the transposed weights, a closure's outer expressions, shared
variables' values. Those become the loop's non-sequences.

Random draws made by ``fn`` are redrawn at every step: each one is keyed by a
*salt* computed from the function's call counter and the step number
(:mod:`layerkit.core.ops.random`), so steps differ, calls differ, and the
gradient's backward loop recomputes the very numbers the forward loop drew. A
draw made outside ``fn`` and used inside is a non-sequence: the same at every
step (a dropout mask shared by all steps).

The arguments ``fn`` receives, in order: the row (or rows, one per tap) of each
sequence, the taps of each recurrent output, then the non-sequences. It
returns its outputs (one variable or a list), optionally with a dict of
updates of shared variables (carried from step to step; their last values are
in the returned updates), and optionally ``until(condition)`` to stop early.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..graph import Constant, Variable, as_variable, clone_replace, toposort
from ..ignored import warn_ignored
from ..ops.basic import Cast, assert_op, cast
from ..ops.elemwise import Elemwise, ge, minimum
from ..ops.linalg import MatMul
from ..ops.random import RandomOp, ReadCounter, created_draws, salt
from ..ops.shape import shape_padleft
from ..shared import SharedVariable
from ..types import TensorType
from .op import Scan

__all__ = ["scan", "map", "reduce", "foldl", "foldr", "until", "OrderedUpdates", "scan_node",
           "scan_node_outputs"]


class OrderedUpdates(OrderedDict):
    """The updates ``scan`` returns: pass them to ``function(..., updates=)``."""


class until:  # noqa: N801 - Theano's name
    """``return outputs, until(condition)``: stop after the step whose
    ``condition`` is true (a ``while`` loop; ``n_steps`` is then the most steps)."""

    def __init__(self, condition) -> None:
        self.condition = as_variable(condition)
        if self.condition.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar, got a "
                            f"{self.condition.ndim}-d tensor")


class _Context(threading.local):
    def __init__(self) -> None:
        #: the step salt of each scan whose step function is being built
        self.salts: list[Variable] = []


_CONTEXT = _Context()


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _row_type(v: Variable) -> TensorType:
    if v.ndim == 0:
        raise TypeError(f"scan: a sequence must have at least one dimension (the steps); "
                        f"{v} is a scalar")
    return TensorType(v.dtype, v.type.shape[1:])


def _placeholder(vtype: TensorType, name) -> Variable:
    return Variable(TensorType(vtype.dtype, vtype.shape), name=name)


def _name(v, suffix: str):
    return f"{v.name}{suffix}" if getattr(v, "name", None) else None


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """Theano's ``theano.scan``: ``(outputs, updates)`` of a loop calling ``fn``.

    ``sequences``: variables (or ``dict(input=x, taps=[-1, 0])``) iterated over
    their first axis. ``outputs_info``: per output, None (not fed back), its
    initial value (fed back as the previous step's value), or
    ``dict(initial=x, taps=[-2, -1])`` (``x`` holds the first 2 rows).
    ``non_sequences``: passed unchanged to every step. ``n_steps``: the number
    of steps (symbolic allowed); by default the shortest sequence's length.
    ``go_backwards``: iterate the sequences from the end. ``truncate_gradient``:
    back-propagate through the last this-many steps only. ``mode``: the mode the
    step is compiled in. ``strict``: every shared variable the step uses must be
    in ``non_sequences``. The outputs exclude the initial values; ``updates`` holds
    the shared variables the step updates (and must go to ``function``).
    """
    if profile:
        warn_ignored("scan", "profile", "profile the function that holds the loop "
                     "(function(..., profile=True)); the loop is one node there")
    if allow_gc is not None:
        warn_ignored("scan", "allow_gc", "a loop keeps only its buffers between steps")
    seqs = _sequences(sequences)
    states = _outputs_info(outputs_info)
    built = _build(fn, seqs, states, _as_list(non_sequences), n_steps, strict, name)
    built.go_backwards = go_backwards
    op, node_outputs, shared_updated = _node(built, truncate_gradient, mode, name)
    return _results(built, op, node_outputs, shared_updated, return_list)


def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False,  # noqa: A001
        mode=None, name=None):
    """Theano's ``theano.map``: ``fn`` applied to each row of the sequences."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, mode=mode,
                name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False,  # noqa: A001
           mode=None, name=None):
    """Theano's ``theano.reduce``: the loop's last values (and its updates)."""
    outs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                         non_sequences=non_sequences, go_backwards=go_backwards, mode=mode,
                         name=name, return_list=True)
    last = [o[-1] for o in outs]
    return (last[0] if len(last) == 1 else last), updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """Theano's ``theano.foldl``: ``reduce`` from the first row."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """Theano's ``theano.foldr``: ``reduce`` from the last row."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name)


def scan_node_outputs(fn, sequences, outputs_info, non_sequences, n_steps=None,
                      go_backwards=False, mode=None, name=None) -> list[Variable]:
    """The Scan node's own outputs for a loop (what the gradient builds on): each
    recurrent state's buffer with its initial rows first, then the other outputs.
    Sequences have tap 0, recurrent outputs tap -1; ``fn`` updates nothing."""
    built = _build(fn, _sequences(sequences), _outputs_info(outputs_info),
                   _as_list(non_sequences), n_steps, False, name)
    built.go_backwards = go_backwards
    if built.updates or built.cond is not None:
        raise ValueError("scan_node_outputs: the step function may not return updates or "
                         "a condition")
    return _node(built, -1, mode, name)[1]


# -- normalising the arguments -------------------------------------------------
def _sequences(sequences) -> list[tuple[Variable, list[int]]]:
    """Each sequence as ``(variable, taps)``."""
    out = []
    for s in _as_list(sequences):
        if isinstance(s, dict):
            if "input" not in s:
                raise TypeError(f"scan: a sequence given as a dict needs 'input', got keys "
                                f"{sorted(s)}")
            var, taps = as_variable(s["input"]), list(s.get("taps", [0]) or [0])
        else:
            var, taps = as_variable(s), [0]
        _row_type(var)
        out.append((var, [int(k) for k in taps]))
    return out


def _outputs_info(outputs_info) -> list[tuple[Variable | None, list[int]]]:
    """Each output as ``(initial value or None, taps)``."""
    if outputs_info is None:
        return []
    items = list(outputs_info) if isinstance(outputs_info, (list, tuple)) else [outputs_info]
    out = []
    for k, item in enumerate(items):
        if item is None:
            out.append((None, []))
            continue
        if isinstance(item, dict):
            init = item.get("initial")
            if init is None:
                out.append((None, []))
                continue
            taps = [int(t) for t in (item.get("taps") or [-1])]
        else:
            init, taps = item, [-1]
        if any(t >= 0 for t in taps):
            raise ValueError(f"scan: outputs_info {k}: taps {taps} must be negative (an "
                             "output can only read steps before the current one)")
        out.append((as_variable(init), taps))
    return out


# -- building the step ----------------------------------------------------------
class _Built:
    """What ``_build`` found: the loop's node inputs and its inner graph."""

    def __init__(self, **kw) -> None:
        self.__dict__.update(kw)


def _build(fn, seqs, states, non_sequences, n_steps, strict, name) -> _Built:
    # the placeholders fn is called on
    seq_rows, seq_outer, seq_info = [], [], []
    for k, (var, taps) in enumerate(seqs):
        lo, hi = min(min(taps), 0), max(max(taps), 0)
        for tap in taps:
            seq_rows.append(_placeholder(_row_type(var), _name(var, f"[t{tap:+d}]")))
            seq_outer.append((var, tap - lo, hi - lo))
            seq_info.append((k, list(taps), hi - lo))
    tap_phs = []
    for init, taps in states:
        if init is None:
            continue
        row = init.type if len(taps) == 1 and taps[0] == -1 else _row_type(init)
        tap_phs.append([_placeholder(row, _name(init, f"[t{t:+d}]")) for t in taps])
    explicit = [as_variable(v) for v in non_sequences]
    nonseq_phs = [v if isinstance(v, (SharedVariable, Constant)) else _placeholder(v.type, v.name)
                  for v in explicit]
    step = Variable(TensorType("int64", ()), name="t")
    outer_salt = Variable(TensorType("int64", ()), name="salt")
    step_salt = salt(outer_salt, step)
    args = list(seq_rows) + [p for phs in tap_phs for p in phs] + nonseq_phs
    _CONTEXT.salts.append(step_salt)
    try:
        with created_draws() as draws:
            result = fn(*args)
    finally:
        _CONTEXT.salts.pop()
    outputs, updates, cond = _parse_result(result)
    if states and len(outputs) != len(states):
        raise ValueError(f"scan: outputs_info has {len(states)} entries but the step function "
                         f"returned {len(outputs)} outputs")
    if not states:
        states = [(None, [])] * len(outputs)
    return _Built(seqs=seqs, seq_rows=seq_rows, seq_outer=seq_outer, seq_info=seq_info,
                  states=states,
                  tap_phs=tap_phs, explicit=explicit, nonseq_phs=nonseq_phs, step=step,
                  outer_salt=outer_salt, step_salt=step_salt, draws=draws, outputs=outputs,
                  updates=updates, cond=cond, n_steps=n_steps, strict=strict, name=name)


def _parse_result(result):
    """``fn``'s result as ``(outputs, updates, condition)`` (Theano accepts
    outputs, updates and ``until`` in any order in a tuple)."""
    outputs, updates, cond = None, OrderedDict(), None
    parts = list(result) if isinstance(result, tuple) else [result]
    has_extra = any(isinstance(p, (dict, until)) for p in parts)
    if isinstance(result, tuple) and has_extra:
        rest = []
        for p in parts:
            if isinstance(p, dict):
                updates = OrderedDict(p)
            elif isinstance(p, until):
                cond = p.condition
            else:
                rest.append(p)
        if len(rest) > 1:
            raise TypeError("scan: the step function returned several lists of outputs "
                            "besides its updates and condition")
        outputs = rest[0] if rest else []
    elif isinstance(result, dict):
        updates, outputs = OrderedDict(result), []
    elif isinstance(result, until):
        cond, outputs = result.condition, []
    else:
        outputs = result
    if isinstance(outputs, until):
        cond, outputs = outputs.condition, []
    outputs = [] if outputs is None else (
        list(outputs) if isinstance(outputs, (list, tuple)) else [outputs])
    if any(isinstance(o, until) for o in outputs):
        cond = next(o for o in outputs if isinstance(o, until)).condition
        outputs = [o for o in outputs if not isinstance(o, until)]
    for var in updates:
        if not isinstance(var, SharedVariable):
            raise TypeError(f"scan: the step function's updates must update shared "
                            f"variables, got {var!r}")
    return [as_variable(o) for o in outputs], updates, cond


# -- the node -----------------------------------------------------------------
def _node(b: _Built, truncate_gradient, mode, name):
    """The Scan node of a built step: ``(op, its outputs, the shared variables
    the step updates)``."""
    # outputs with initial values are recurrent states; shared variables the step
    # updates become states too (read at tap -1, their last value the update)
    state_inits, state_taps, state_phs, state_outs, nit_outs = [], [], [], [], []
    phs = iter(b.tap_phs)
    for k, ((init, taps), out) in enumerate(zip(b.states, b.outputs)):
        if init is None:
            nit_outs.append(out)
            continue
        placeholders = next(phs)
        out = _check_state(k, init, taps, placeholders[0], out)
        init_rows = shape_padleft(init) if taps == [-1] else init
        state_inits.append(init_rows)
        state_taps.append(taps)
        state_phs.append(placeholders)
        state_outs.append(out)
    shared_updated = list(b.updates)
    shared_phs = {}
    for var in shared_updated:
        ph = _placeholder(var.type, _name(var, "[t-1]"))
        shared_phs[var] = ph
        state_inits.append(shape_padleft(var))
        state_taps.append([-1])
        state_phs.append([ph])
        state_outs.append(cast(as_variable(b.updates[var]), var.dtype))
    inner_outs = state_outs + nit_outs + ([cast(b.cond, "bool")] if b.cond is not None else [])
    if shared_phs:   # later steps read the shared variable's value the step before wrote
        inner_outs = clone_replace(inner_outs, shared_phs)

    n_steps = _n_steps(b)
    seq_values = [_tap_rows(var, start, span, n_steps, b.go_backwards)
                  for var, start, span in b.seq_outer]
    if b.strict:
        _check_strict(inner_outs, b)
    inner_outs, new_rows, new_values = _rows_before_the_loop(
        inner_outs, b, [_first_rows(v, n_steps, k, taps)
                        for v, (k, taps, _) in zip(seq_values, b.seq_info)],
        [p for phs in state_phs for p in phs] + [b.step])
    b.seq_rows = list(b.seq_rows) + new_rows
    seq_values += new_values
    b.seq_info = list(b.seq_info) + [(f"computed before the loop #{j}", [0], 0)
                                     for j in range(len(new_rows))]
    varying = list(b.seq_rows) + [p for phs in state_phs for p in phs] + [b.step]
    explicit_nonseq = [p for p, v in zip(b.nonseq_phs, b.explicit) if p is not v]
    inner_outs, nonseq_phs, nonseq_outer = _cut(inner_outs, varying, explicit_nonseq,
                                                b, shared_phs)
    has_step = any(v is b.step for v in _leaves(inner_outs))
    inner_inputs = list(b.seq_rows) + [p for phs in state_phs for p in phs] + nonseq_phs + \
        ([b.step] if has_step else [])
    op = Scan(inner_inputs, inner_outs, n_seqs=len(b.seq_rows), state_taps=state_taps,
              n_nit=len(nit_outs), n_nonseq=len(nonseq_phs), has_step=has_step,
              has_cond=b.cond is not None, truncate_gradient=truncate_gradient,
              name=name, mode=mode, seq_info=b.seq_info)
    node_outputs = op(cast(n_steps, "int64"), *seq_values, *state_inits, *nonseq_outer)
    node_outputs = node_outputs if isinstance(node_outputs, list) else [node_outputs]
    return op, node_outputs, shared_updated


def _tap_rows(var, start, span, n_steps, backwards: bool):
    """The rows one tap of a sequence reads, step by step. As in Theano, taps
    are offsets in the sequence's own order; ``go_backwards`` then runs each
    tap's rows from the end."""
    if not backwards:
        return var[start:start + n_steps] if span else var
    rows = var[start:var.shape[0] - (span - start)] if span else var
    return rows[::-1]


def _check_state(k, init, taps, placeholder, out):
    """The step's new value of a recurrent output, of its initial value's type."""
    if out.ndim != placeholder.ndim:
        raise TypeError(f"scan: output {k} of the step function has {out.ndim} dimensions, "
                        f"but its initial value (outputs_info {k}) gives {placeholder.ndim} "
                        "per step")
    if out.dtype != placeholder.dtype:
        raise TypeError(f"scan: output {k} of the step function is {out.dtype}, but its "
                        f"initial value (outputs_info {k}) is {placeholder.dtype}; cast one "
                        "of them so that both have the same dtype")
    for ax, (a, c) in enumerate(zip(placeholder.type.shape, out.type.shape)):
        if a is not None and c is not None and a != c:
            raise ValueError(f"scan: output {k} of the step function has size {c} in "
                             f"dimension {ax}, its initial value {a}")
    return out


def _n_steps(b: _Built) -> Variable:
    if b.n_steps is not None:
        n = as_variable(b.n_steps)
        if n.ndim != 0 or not n.dtype.startswith(("int", "uint")):
            raise TypeError(f"scan: n_steps must be an integer scalar, got {n.dtype} with "
                            f"{n.ndim} dimensions")
        return cast(n, "int64")
    if not b.seq_outer:
        raise ValueError("scan: without sequences, n_steps must be given")
    n = None
    for var, start, span in b.seq_outer:
        length = var.shape[0] - span
        n = length if n is None else minimum(n, length)
    return cast(n, "int64")


def _leaves(outputs):
    return [v for node in toposort(outputs) for v in node.inputs if v.owner is None] + \
        [v for v in outputs if v.owner is None]


def _cut(inner_outs, varying, explicit_nonseq, b: _Built, shared_phs):
    """Split the step's graph at the loop's boundary.

    A node is in the loop when it depends on a varying input (a sequence row, a
    state, the step number) or is a draw ``fn`` made; every other value the loop
    reads is computed before it and becomes a non-sequence (a placeholder inside,
    the value itself outside). Draws made by ``fn`` get the step's salt."""
    draws = {id(op) for op in b.draws}
    nodes, loop = _in_loop(inner_outs, varying, draws)
    # the values read from outside the loop, in first-use order
    boundary: dict[int, Variable] = {}
    for node in nodes:
        if not any(id(o) in loop for o in node.outputs):
            continue
        for i in node.inputs:
            if id(i) not in loop and not isinstance(i, Constant):
                boundary.setdefault(id(i), i)
    for o in inner_outs:
        if id(o) not in loop and not isinstance(o, Constant):
            boundary.setdefault(id(o), o)
    # the step salt is computed in the loop from the loop's own salt
    uses_salt = any(v is b.outer_salt for v in boundary.values()) or any(
        isinstance(n.op, RandomOp) and id(n.op) in draws and id(n.outputs[0]) in loop
        for n in nodes)
    boundary.pop(id(b.outer_salt), None)
    explicit_ids = {id(p): k for k, p in enumerate(explicit_nonseq)}
    # explicit non-sequences first, in their order, then what the loop found
    ordered = sorted(boundary.values(), key=lambda v: explicit_ids.get(id(v), len(explicit_ids)))
    phs, outer, replace = [], [], {}
    back = dict(zip(b.nonseq_phs, b.explicit))
    for v in ordered:
        ph = v if id(v) in explicit_ids else _placeholder(v.type, v.name)
        phs.append(ph)
        replace[v] = ph
        outer.append(clone_replace([v], back)[0] if v.owner is not None else back.get(v, v))
    if uses_salt:
        phs.append(b.outer_salt)
        outer.append(_CONTEXT.salts[-1] if _CONTEXT.salts else ReadCounter()())
    inner = _rebuild(inner_outs, replace, loop, draws, b.step_salt)
    return inner, phs, outer


def _in_loop(outputs, varying, draws) -> tuple[list, set]:
    """The step's nodes and the ids of the variables that change from step to step:
    those depending on a ``varying`` input, and ``fn``'s own draws."""
    loop = {id(v) for v in varying}
    nodes = toposort(outputs, stop=varying)
    for node in nodes:
        if isinstance(node.op, RandomOp) and id(node.op) in draws and len(node.inputs) == 1 \
                or any(id(i) in loop for i in node.inputs):
            loop.update(id(o) for o in node.outputs)
    return nodes, loop


def _row_wise(node, rows: set, loop: set) -> bool:
    """Whether ``node``, fed rows of sequences (``rows``) and loop-invariant values,
    gives the rows of the same node fed the whole sequences: a matrix product of a
    row by an invariant matrix, or an elementwise op or cast whose invariant operands
    have no more dimensions than its rows (right-aligned broadcasting then pairs
    the same axes)."""
    ins = node.inputs
    if any(id(i) in loop and id(i) not in rows for i in ins):
        return False                    # reads a state, the step number or a draw
    if isinstance(node.op, MatMul):
        return id(ins[0]) in rows and id(ins[1]) not in loop
    if isinstance(node.op, (Elemwise, Cast)):
        row_dims = {i.ndim for i in ins if id(i) in rows}
        return len(row_dims) == 1 and all(i.ndim <= min(row_dims) for i in ins
                                          if id(i) not in rows)
    return False


def _rows_before_the_loop(inner_outs, b: _Built, seq_values, other_varying):
    """Matrix products of sequence rows by invariant matrices (and the elementwise
    work around them that reads only rows and invariants) computed for every step
    at once before the loop, as one large product (an RNN's input projection): the
    loop reads their rows as new sequences. ``seq_values`` hold exactly the rows the
    steps read. Returns the new inner outputs, the new row placeholders and their
    outer values."""
    draws = {id(op) for op in b.draws}
    nodes, loop = _in_loop(inner_outs, list(b.seq_rows) + list(other_varying), draws)
    rows = {id(p) for p in b.seq_rows}
    has_product: dict[int, bool] = {}
    for node in nodes:
        if id(node.outputs[0]) in loop and _row_wise(node, rows, loop):
            product = isinstance(node.op, MatMul) or any(has_product.get(id(i)) for i in node.inputs)
            for o in node.outputs:
                rows.add(id(o))
                has_product[id(o)] = product
    # the row-wise values the rest of the step reads
    wanted: dict[int, Variable] = {}
    for node in nodes:
        if id(node.outputs[0]) in loop and id(node.outputs[0]) not in rows:
            for i in node.inputs:
                if has_product.get(id(i)):
                    wanted.setdefault(id(i), i)
    for o in inner_outs:
        if has_product.get(id(o)):
            wanted.setdefault(id(o), o)
    if not wanted:
        return inner_outs, [], []
    outer_of = dict(zip(b.seq_rows, seq_values))
    back = dict(zip(b.nonseq_phs, b.explicit))
    new_rows, new_values, replace = [], [], {}
    for v in wanted.values():
        whole = clone_replace([v], {**outer_of, **back})[0]
        row = _placeholder(v.type, v.name)
        new_rows.append(row)
        new_values.append(whole)
        replace[v] = row
    return clone_replace(inner_outs, replace), new_rows, new_values


def _check_strict(inner_outs, b: _Built) -> None:
    """``strict=True``: the step may use no shared variable that is not a non-sequence
    (a non-sequence may be any expression: the step sees its placeholder)."""
    allowed = {id(v) for v in b.explicit}
    for node in toposort(inner_outs):
        for leaf in node.inputs:
            if isinstance(leaf, SharedVariable) and id(leaf) not in allowed:
                raise ValueError(f"scan(strict=True): the step function uses the shared "
                                 f"variable {leaf}, which is not in non_sequences")


def _first_rows(value, n_steps, k, taps):
    """The ``n_steps`` rows of a sequence that work moved before the loop reads,
    refused at run time (naming the sequence) when it has fewer."""
    return assert_op(value[:n_steps], ge(value.shape[0], n_steps),
                     message=f"scan: sequence {k} (read at taps {taps}) has fewer entries "
                             "than the steps asked for")


def _rebuild(outputs, replace, loop, draws, step_salt):
    """The loop's part of the graph over the boundary's placeholders; ``fn``'s
    own draws take the step's salt."""
    memo = {id(k): v for k, v in replace.items()}
    for node in toposort(outputs, stop=list(replace)):
        if not any(id(o) in loop for o in node.outputs):
            continue
        ins = [memo.get(id(i), i) for i in node.inputs]
        if isinstance(node.op, RandomOp) and id(node.op) in draws and len(ins) == 1:
            ins.append(step_salt)
        elif all(a is b for a, b in zip(ins, node.inputs)):
            continue
        new = node.op.make_node(*ins)
        new.trace = node.trace
        for old, nv in zip(node.outputs, new.outputs):
            nv.name = old.name
            memo[id(old)] = nv
    return [memo.get(id(o), o) for o in outputs]


def _results(b: _Built, op: Scan, node_outputs, shared_updated, return_list):
    """The user's outputs (without the initial rows), in ``outputs_info`` order, and
    the updates."""
    n_user_states = op.n_states - len(shared_updated)
    states = iter(zip(node_outputs[:n_user_states], op.lags))
    nits = iter(node_outputs[op.n_states:])
    outs = []
    for init, _ in b.states:
        if init is None:
            outs.append(next(nits))
        else:
            buf, lag = next(states)
            outs.append(buf[lag:])
    updates = OrderedUpdates()
    for var, buf in zip(shared_updated, node_outputs[n_user_states:op.n_states]):
        updates[var] = buf[-1]
    for o in outs:
        o.scan_node = node_outputs[0].owner
    if return_list or len(outs) != 1:
        return outs, updates
    return outs[0], updates


def scan_node(output: Variable):
    """The Scan node behind an output ``scan`` returned (or None)."""
    return getattr(output, "scan_node", None)
