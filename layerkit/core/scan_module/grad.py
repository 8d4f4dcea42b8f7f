"""Back-propagation through time: the gradient of a Scan node is another scan.

The forward loop computed, for each recurrent state ``i`` with lag ``L``,
``buf[L + t] = f(seq[t], buf[L + t + tap] for its taps, non-sequences)``. The
backward loop runs the steps in reverse. At step ``t`` the gradient reaching
``buf[L + t]`` is complete: the cost's own gradient of that row plus what the
later steps sent back through their taps, which the backward loop carries in a
window of ``L`` accumulators per state (``window[q]`` holds what has reached
row ``L + t - q`` so far). The step's vector-Jacobian product (the inner
graph's gradient, built once by :func:`~layerkit.core.grad.grad`) then gives

* for each tap ``-d`` of state ``i``: a gradient added to ``window[d - 1]`` of
  the next backward step (row ``L + t - d``);
* for each sequence: its row ``t``'s gradient (an output of the backward loop);
* for each non-sequence: a gradient summed over the steps (an accumulator).

After the loop the windows hold the gradients of the initial rows. The step
recomputes the forward step's intermediate values from the stored buffers;
the states' new values and the other outputs are read from the forward
outputs rather than recomputed. ``truncate_gradient=k`` runs only the last
``k`` steps backward: earlier rows and the initial values then get no
gradient through the loop (Theano's truncated BPTT).
"""
from __future__ import annotations

from ..grad import grad
from ..graph import Variable, clone_replace, toposort
from ..ops.basic import cast
from ..ops.elemwise import eq, minimum, switch
from ..ops.linalg import dot, transposed_product
from ..ops.shape import Shape, ShapeI, arange, stack, zeros_like
from ..ops.subtensor import set_subtensor
from ..types import is_float
from .builder import scan_node_outputs
from .op import Scan

__all__ = ["scan_grad"]


def scan_grad(op, inputs, outputs, output_grads):
    n_steps_in, seqs, inits, nonseqs = op.split_inputs(list(inputs))
    seq_phs, tap_phs, nonseq_phs, step_ph = op.split_inner_inputs()
    n_states = op.n_states
    state_outs = op.inner_outputs[:n_states]
    nit_outs = op.inner_outputs[n_states:n_states + op.n_nit]
    g_bufs, g_nits = output_grads[:n_states], output_grads[n_states:]
    bufs, nits = outputs[:n_states], outputs[n_states:]

    # the steps the forward loop ran (fewer than n_steps after an until)
    n = (bufs[0].shape[0] - op.lags[0]) if n_states else nits[0].shape[0]
    n = cast(n, "int64")
    m = n if op.truncate_gradient < 0 else minimum(op.truncate_gradient, n)
    first = n - m

    # the step's vector-Jacobian product, over stand-ins for the output gradients
    g_state_phs = [Variable(o.type, name="g_state") for o in state_outs]
    g_nit_phs = [Variable(o.type, name="g_out") for o in nit_outs]
    known: dict = {}
    for o, g in zip(state_outs + nit_outs, g_state_phs + g_nit_phs):
        if is_float(o.dtype):            # a variable returned twice gets both gradients
            known[o] = g if o not in known else known[o] + g
    flat_taps = [p for phs in tap_phs for p in phs]
    wrt = list(seq_phs) + flat_taps + list(nonseq_phs)
    float_wrt = [v for v in wrt if is_float(v.dtype)]
    if not known or not float_wrt:
        return [None] * len(inputs)
    found = grad(None, float_wrt, known_grads=known, disconnected_inputs="ignore",
                 return_disconnected="none")
    d_of = {id(v): g for v, g in zip(float_wrt, found)}
    # the forward step's intermediate values the gradient reads are kept by the
    # forward loop (one more output each) instead of recomputed backwards
    kept, kept_at = _kept_values(op, [g for g in found if g is not None],
                                 g_state_phs + g_nit_phs)
    if kept:
        wide = _keeping(op, kept)
        outputs = wide(*inputs)
        bufs, nits = outputs[:n_states], outputs[n_states:n_states + op.n_nit]
        kept_rows = outputs[n_states + op.n_nit:]
    else:
        kept_rows = []
    d_seq = [d_of.get(id(p)) for p in seq_phs]
    d_taps = [[d_of.get(id(p)) for p in phs] for phs in tap_phs]
    d_nonseq = [d_of.get(id(p)) for p in nonseq_phs]

    # which states carry gradient windows, which sequences and non-sequences get one
    carried = [i for i in range(n_states)
               if is_float(state_outs[i].dtype) and any(d is not None for d in d_taps[i])]
    seq_k = [k for k, d in enumerate(d_seq) if d is not None]
    # a non-sequence's gradient that is a product dot(a_t.T, b_t) is summed over the
    # steps as one product after the loop, not one small product per step
    outer_k = [k for k, d in enumerate(d_nonseq) if d is not None and transposed_product(d)]
    acc_k = [k for k, d in enumerate(d_nonseq) if d is not None and k not in outer_k]

    # the backward loop's sequences (forward order; it runs them backwards)
    def rows(x, offset=0):
        return x[first + offset:n + offset]

    b_seqs = [rows(s) for s in seqs]
    for i, lag in enumerate(op.lags):
        b_seqs += [rows(bufs[i], lag + tap) for tap in op.state_taps[i]]
    b_seqs += [rows(bufs[i], op.lags[i]) for i in range(n_states)]      # the new values
    b_seqs += [rows(y) for y in nits]
    b_seqs += [rows(y) for y in kept_rows]
    b_seqs += [rows(g_bufs[i], op.lags[i]) for i in range(n_states)]
    b_seqs += [rows(g) for g in g_nits]
    if step_ph is not None:
        b_seqs.append(arange(first, n, dtype="int64"))
    windows = [[zeros_like(inits[i][0]) for _ in range(op.lags[i])] for i in carried]
    b_init = [w for ws in windows for w in ws] + [zeros_like(nonseqs[k]) for k in acc_k] + \
        [None] * (len(seq_k) + 2 * len(outer_k))

    n_seq, n_tap = len(seqs), len(flat_taps)
    wanted_all = [g for g in found if g is not None]
    stop_at = list(op.inner_inputs) + g_state_phs + g_nit_phs

    def step(*args):
        args = list(args)
        take = _Taker(args)
        seq_v, tap_v = take(n_seq), take(n_tap)
        new_v, nit_v, kept_v = take(n_states), take(op.n_nit), take(len(kept))
        g_new_v, g_nit_v = take(n_states), take(op.n_nit)
        step_v = take(1) if step_ph is not None else []
        win_v = [take(op.lags[i]) for i in carried]
        acc_v = take(len(acc_k))
        nonseq_v = take(len(nonseqs))
        g_state = list(g_new_v)
        for w, i in zip(win_v, carried):
            g_state[i] = g_state[i] + w[0]
        replace = dict(zip(seq_phs, seq_v))
        replace.update(zip(flat_taps, tap_v))
        replace.update(zip(nonseq_phs, nonseq_v))
        if step_ph is not None:
            replace[step_ph] = step_v[0]
        replace.update(zip(g_state_phs, g_state))
        replace.update(zip(g_nit_phs, g_nit_v))
        # the forward step's results are stored: read, not recomputed
        for o, v in zip(state_outs + nit_outs, new_v + nit_v):
            if o.owner is not None:
                replace[o] = v
        for node in toposort(wanted_all, stop=stop_at):
            for v in node.inputs:
                if id(v) in kept_at:
                    replace[v] = kept_v[kept_at[id(v)]]
            for v in node.outputs:
                if id(v) in kept_at:
                    replace[v] = kept_v[kept_at[id(v)]]
        factors = [f for k in outer_k for f in transposed_product(d_nonseq[k])]
        plain = [None if k in outer_k else d for k, d in enumerate(d_nonseq)]
        wanted = [d for d in d_seq + [d for ds in d_taps for d in ds] + plain
                  if d is not None] + factors
        got = iter(clone_replace(wanted, replace))
        d_seq_v = [next(got) if d is not None else None for d in d_seq]
        d_tap_v = [[next(got) if d is not None else None for d in ds] for ds in d_taps]
        d_nonseq_v = [next(got) if d is not None else None for d in plain]
        factors_v = list(got)
        new_windows = []
        for w, i in zip(win_v, carried):
            lag = op.lags[i]
            for q in range(lag):
                total = w[q + 1] if q + 1 < lag else None
                for tap, d in zip(op.state_taps[i], d_tap_v[i]):
                    if d is not None and -tap == q + 1:
                        total = d if total is None else total + d
                new_windows.append(total if total is not None else zeros_like(w[q]))
        new_acc = [a + cast(d_nonseq_v[k], a.dtype) for a, k in zip(acc_v, acc_k)]
        return new_windows + new_acc + [d_seq_v[k] for k in seq_k] + factors_v

    b_nonseqs = list(nonseqs)
    b_outs = scan_node_outputs(step, b_seqs, b_init, b_nonseqs, n_steps=m,
                               go_backwards=True, mode=op.mode,
                               name=f"grad of {op.name or 'scan'}")
    n_windows = sum(op.lags[i] for i in carried)
    win_bufs, acc_bufs = b_outs[:n_windows], b_outs[n_windows:n_windows + len(acc_k)]
    seq_bufs = b_outs[n_windows + len(acc_k):n_windows + len(acc_k) + len(seq_k)]
    factor_bufs = b_outs[n_windows + len(acc_k) + len(seq_k):]

    # gradients of the node's inputs
    g_seqs = [None] * len(seqs)
    for k, buf in zip(seq_k, seq_bufs):
        rev = buf[::-1]                       # the backward loop ran from the end
        if op.truncate_gradient < 0:
            g_seqs[k] = _pad_rows(rev, seqs[k], 0, n)
        else:
            g_seqs[k] = _pad_rows(rev, seqs[k], first, n)
    g_inits = [None] * n_states
    full = eq(m, n)
    wins = iter(win_bufs)
    for i in range(n_states):
        if not is_float(state_outs[i].dtype):
            continue
        lag = op.lags[i]
        own = stack([g_bufs[i][p] for p in range(lag)])     # statically lag rows
        if i in carried:
            last = [next(wins)[-1] for _ in range(lag)]       # window q: row lag - 1 - q
            from_loop = stack([last[lag - 1 - p] for p in range(lag)])
            if op.truncate_gradient >= 0:
                from_loop = switch(full, from_loop, zeros_like(from_loop))
            own = own + cast(from_loop, own.dtype)
        if inits[i].type.shape[0] != lag:
            # the initial value may hold more rows than the taps read (Theano reads
            # the first ``lag``): the others get no gradient
            own = set_subtensor(zeros_like(inits[i])[:lag], own)
        g_inits[i] = own
    g_nonseqs = [None] * len(nonseqs)
    for k, buf in zip(acc_k, acc_bufs):
        g_nonseqs[k] = buf[-1]
    for j, k in enumerate(outer_k):
        a_rows, b_rows = factor_bufs[2 * j], factor_bufs[2 * j + 1]
        rows_a = a_rows.reshape((-1, nonseqs[k].shape[0]))
        rows_b = b_rows.reshape((-1, nonseqs[k].shape[1]))
        g_nonseqs[k] = cast(dot(rows_a.T, rows_b), nonseqs[k].dtype)
    return [None] + g_seqs + g_inits + g_nonseqs


def _kept_values(op, grads, stand_ins):
    """The forward step's computed values that the gradient graph ``grads`` reads
    directly (besides the step's outputs, which the loop stores anyway), as
    ``(values, {id(variable): position in values})``: equal computations (the
    same pure op on the same inputs, such as several ``shape(z)``) share one."""
    stop = list(op.inner_inputs) + list(stand_ins)
    forward = {id(n) for n in toposort(op.inner_outputs, stop=op.inner_inputs)}
    stored = {id(o) for o in op.inner_outputs}
    kept: list[Variable] = []
    where: dict[int, int] = {}
    same: dict[tuple, int] = {}
    for node in toposort(grads, stop=stop):
        if id(node) in forward:
            continue
        for v in node.inputs:
            if v.owner is None or id(v.owner) not in forward or id(v) in stored:
                continue
            if isinstance(node.op, (Shape, ShapeI)):
                v = node.outputs[0]       # a shape alone: keep the shape, not the array
            if id(v) in where:
                continue
            key = (v.owner.op, tuple(id(i) for i in v.owner.inputs), v.index) \
                if v.owner.op.pure else (id(v),)
            if key not in same:
                same[key] = len(kept)
                kept.append(v)
            where[id(v)] = same[key]
    return kept, where


def _keeping(op, kept):
    """The forward loop with the values ``kept`` as extra outputs (one row per step);
    it ``extends`` ``op``, so the merge phase runs it in place of ``op``'s node."""
    n_out = op.n_states + op.n_nit
    outs = op.inner_outputs[:n_out] + list(kept) + op.inner_outputs[n_out:]
    return Scan(op.inner_inputs, outs, n_seqs=op.n_seqs, state_taps=op.state_taps,
                n_nit=op.n_nit + len(kept), n_nonseq=op.n_nonseq, has_step=op.has_step,
                has_cond=op.has_cond, truncate_gradient=op.truncate_gradient,
                name=op.name, mode=op.mode, extends=op, seq_info=op.seq_info)


class _Taker:
    """Consecutive slices of a list."""

    def __init__(self, items) -> None:
        self.items, self.pos = items, 0

    def __call__(self, k: int) -> list:
        out = self.items[self.pos:self.pos + k]
        self.pos += k
        return out


def _pad_rows(rows, like, start, stop):
    """``rows`` placed at rows ``start:stop`` of zeros shaped like ``like`` (a
    sequence may be longer than the steps that read it)."""
    return set_subtensor(zeros_like(like)[start:stop], cast(rows, like.dtype))
