"""Algebraic canonicalisation and specialisation: small local rewrites.

Each rule is a function of one node returning the replacement outputs or
None. A replacement always has exactly the type of what it replaces (dtype,
rank and the static sizes, so broadcasting decisions made at build time
still hold); a rule that cannot guarantee that does not fire.

The *canonicalize* rules remove work a person wrote by accident or that the
gradient introduced (``x * 1``, ``x + 0``, a transpose of a transpose, a
reshape of a reshape) and bring expressions into one form (``x + x`` becomes
``2 * x``, so after merging ``(x+y)+(x+y)`` is ``2*(x+y)``; ``log(1 + x)``
becomes ``log1p(x)``). The *specialize* rules pick a cheaper kernel for the
same value (``x ** 2`` is ``square(x)``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..graph import Apply, Constant, Variable, as_variable, toposort, trace_scope
from ..ops.basic import cast
from ..ops.elemwise import Elemwise, elemwise, maximum, minimum
from ..ops.linalg import dot, transposed_product
from ..ops.reduce import Reduce
from ..ops.shape import Alloc, Concatenate, DimShuffle, Reshape, as_shape, concatenate
from ..ops.subtensor import IncSubtensor
from .walk import reader_counts, rewrite_nodes

__all__ = ["canonicalize", "specialize", "CANONICALIZE_RULES", "SPECIALIZE_RULES"]

Rule = Callable[[Apply], "list[Variable] | None"]


def _const_value(v: Variable):
    """The value of a constant whose entries are all equal, else None."""
    if not isinstance(v, Constant) or v.data.size == 0:
        return None
    flat = v.data.reshape(-1)
    first = flat[0]
    if flat.size > 1 and not np.all(flat == first):
        return None
    return first.item()


def _is(v: Variable, value) -> bool:
    c = _const_value(v)
    return c is not None and not isinstance(c, bool) and c == value


def _elemwise_name(node: Apply | None) -> str | None:
    return node.op.name if node is not None and isinstance(node.op, Elemwise) else None


def _same_type(new: Variable, old: Variable) -> bool:
    return new.dtype == old.dtype and new.type.shape == old.type.shape


def _keep_if_same(new: Variable, old: Variable):
    return [new] if _same_type(new, old) else None


# -- canonicalize -------------------------------------------------------------------
def neutral_operand(node: Apply):
    """``x + 0``, ``0 + x``, ``x - 0``, ``x * 1``, ``1 * x``, ``x / 1``, ``x ** 1`` -> ``x``."""
    name = _elemwise_name(node)
    if name not in ("add", "subtract", "multiply", "divide", "power"):
        return None
    a, b = node.inputs
    out = node.outputs[0]
    neutral = 0 if name in ("add", "subtract") else 1
    if _is(b, neutral):
        return _keep_if_same(a, out)
    if name in ("add", "multiply") and _is(a, neutral):
        return _keep_if_same(b, out)
    return None


def double_negation(node: Apply):
    """``-(-x) -> x``."""
    if _elemwise_name(node) == "negative" and _elemwise_name(node.inputs[0].owner) == "negative":
        return _keep_if_same(node.inputs[0].owner.inputs[0], node.outputs[0])
    return None


def add_to_itself(node: Apply):
    """``x + x -> 2 * x`` (after merging, ``(x+y)+(x+y)`` is such a sum)."""
    if _elemwise_name(node) != "add" or node.inputs[0] is not node.inputs[1]:
        return None
    x = node.inputs[0]
    two = as_variable(np.asarray(2, dtype=x.dtype).reshape((1,) * x.ndim))
    return _keep_if_same(elemwise("multiply", two, x), node.outputs[0])


def log_of_one_plus(node: Apply):
    """``log(1 + x)`` and ``log(x + 1)`` -> ``log1p(x)``."""
    if _elemwise_name(node) != "log":
        return None
    inner = node.inputs[0].owner
    if _elemwise_name(inner) != "add":
        return None
    a, b = inner.inputs
    x = b if _is(a, 1) else a if _is(b, 1) else None
    if x is None:
        return None
    return _keep_if_same(elemwise("log1p", x), node.outputs[0])


def exp_minus_one(node: Apply):
    """``exp(x) - 1 -> expm1(x)``."""
    if _elemwise_name(node) != "subtract" or not _is(node.inputs[1], 1):
        return None
    inner = node.inputs[0].owner
    if _elemwise_name(inner) != "exp":
        return None
    return _keep_if_same(elemwise("expm1", inner.inputs[0]), node.outputs[0])


def dimshuffle_chain(node: Apply):
    """A dimshuffle of a dimshuffle is one dimshuffle (two transposes cancel);
    a dimshuffle that keeps every axis in place is no op at all."""
    if not isinstance(node.op, DimShuffle):
        return None
    order = node.op.new_order
    x = node.inputs[0]
    if x.owner is not None and isinstance(x.owner.op, DimShuffle):
        inner = x.owner.op.new_order
        composed = tuple("x" if o == "x" else inner[o] for o in order)
        source = x.owner.inputs[0]
        if composed == tuple(range(source.ndim)):
            return _keep_if_same(source, node.outputs[0])
        return _keep_if_same(DimShuffle(source.ndim, composed)(source), node.outputs[0])
    if order == tuple(range(x.ndim)):
        return _keep_if_same(x, node.outputs[0])
    return None


def reshape_chain(node: Apply):
    """``reshape(reshape(x, s1), s2) -> reshape(x, s2)``; a reshape to the shape the
    input is known to have is no op."""
    if not isinstance(node.op, Reshape):
        return None
    x, shape = node.inputs
    out = node.outputs[0]
    if x.owner is not None and isinstance(x.owner.op, Reshape):
        source = x.owner.inputs[0]
        return _keep_if_same(Reshape(node.op.ndim)(source, shape), out)
    if None not in x.type.shape and x.type.shape == out.type.shape:
        return [x]
    return None


def sum_of_scalar(node: Apply):
    """A sum, max, min or mean over a 0-d value is the value."""
    if isinstance(node.op, Reduce) and node.inputs[0].ndim == 0 and \
            node.op.name in ("sum", "max", "min", "mean"):
        return _keep_if_same(node.inputs[0], node.outputs[0])
    return None


def _zeros(v: Variable) -> bool:
    """``v`` is an ``alloc`` of the constant 0 (``zeros``, ``zeros_like``)."""
    return v.owner is not None and isinstance(v.owner.op, Alloc) and _is(v.owner.inputs[0], 0)


def _one_axis_slice(node: Apply):
    """``(axis, start, stop, piece)`` when ``node`` writes ``piece`` into zeros through
    a key that is whole on every axis but one, where it is a constant unit-step
    slice or a constant index (``piece`` then gets that axis back, of size 1)."""
    op = node.op
    if not isinstance(op, IncSubtensor) or len(node.inputs) != 2 or not _zeros(node.inputs[0]):
        return None
    x, y = node.inputs
    found, dropped = None, None
    for axis, p in enumerate(op.props):
        if p[0] == "int":
            if found is not None or p[1][1] < 0:
                return None
            found, dropped = (axis, p[1][1], p[1][1] + 1), axis
            continue
        if p[3] is not None:
            return None
        start = 0 if p[1] is None else p[1][1]
        stop = None if p[2] is None else p[2][1]
        if start == 0 and stop is None:
            continue
        if found is not None or start < 0 or (stop is not None and stop < start):
            return None
        found = (axis, start, stop)
    if found is None:
        return None
    piece = y if dropped is None else y.dimshuffle(
        *(list(range(dropped)) + ["x"] + list(range(dropped, y.ndim))))
    if piece.ndim != x.ndim:
        return None                     # a broadcast value: its pieces do not concatenate
    for ax, (a, b) in enumerate(zip(piece.type.shape, x.type.shape)):
        if ax != found[0] and a == 1 and b != 1:
            return None                 # broadcast along an axis kept whole
    return found + (piece,)


def _add_leaves(v: Variable, ndim: int, limit: int = 64) -> list[Variable]:
    """The terms of a tree of additions of ``ndim``-d values, left to right; past
    ``limit`` terms the rest of the tree is left as it is (one term each), so a
    long chain of additions costs a bounded walk per node."""
    out: list[Variable] = []
    stack = [v]
    while stack:
        t = stack.pop()
        if _elemwise_name(t.owner) == "add" and len(out) + len(stack) < limit \
                and all(i.ndim == ndim for i in t.owner.inputs):
            stack.extend(reversed(t.owner.inputs))
        else:
            out.append(t)
    return out


def _operand_is(node: Apply, test) -> bool:
    """Whether an operand of the addition ``node`` passes ``test`` (the rules below
    only walk the tree of additions when one does)."""
    return any(i.owner is not None and test(i) for i in node.inputs)


def adjacent_slices_of_zeros(node: Apply):
    """``inc(Z, a, [:, i:j]) + inc(Z, b, [:, j:k]) -> inc(Z, concatenate([a, b], 1), [:, i:k])``
    for ``Z`` zeros, over a whole tree of additions (the gradient of an LSTM's gate
    slices: one buffer written once, instead of a zeroed copy per gate and their sum)."""
    if _elemwise_name(node) != "add" or not _operand_is(
            node, lambda i: _one_axis_slice(i.owner) is not None):
        return None
    out = node.outputs[0]
    leaves = _add_leaves(out, out.ndim)
    groups: dict[tuple, list] = {}
    zeros_of: dict[tuple, Variable] = {}
    for v in leaves:
        joined = v.__dict__.get("_joined_run")
        if joined is not None:            # a run this rule joined before: its pieces again
            zeros, axis, pieces = joined
            members = [(start, stop, v, piece) for start, stop, piece in pieces]
        else:
            sl = _one_axis_slice(v.owner) if v.owner is not None else None
            if sl is None:
                continue
            zeros, axis, members = v.owner.inputs[0], sl[0], [(sl[1], sl[2], v, sl[3])]
        zeros_of[(id(zeros), axis)] = zeros
        groups.setdefault((id(zeros), axis), []).extend(members)
    terms = list(leaves)
    changed = False
    for key, members in groups.items():
        zeros, axis = zeros_of[key], key[1]
        for run in _adjacent_runs(members):
            if not _whole_terms(run):
                continue
            changed = True
            props = tuple(("slice", None, None, None) for _ in range(axis)) + (
                ("slice", None if run[0][0] == 0 else ("c", run[0][0]),
                 None if run[-1][1] is None else ("c", run[-1][1]), None),)
            joined = Concatenate(axis)(*[_as_selected(m[3], zeros, axis, m[0], m[1])
                                         for m in run])
            # a run over the whole axis (each piece broadcast to its selection) has the
            # very shape of the zeros: it is the sum, with no zeros to add it to
            merged = cast(joined, zeros.dtype) if run[0][0] == 0 and run[-1][1] is None \
                else IncSubtensor(props, False)(zeros, joined)
            for term in {id(m[2]): m[2] for m in run}.values():
                terms.remove(term)        # one occurrence each: a term may appear twice
            merged._joined_run = (zeros, axis, [(m[0], m[1], m[3]) for m in run])
            terms.append(merged)
    return _sum_of(terms, out) if changed else None


def _adjacent_runs(members) -> list[list]:
    """``members`` (start, stop, term, piece) sorted by start, cut into runs of
    adjacent selections (each starts where the one before stops)."""
    members = sorted(members, key=lambda m: m[0])
    runs, run = [], [members[0]]
    for m in members[1:]:
        if run[-1][1] is not None and m[0] == run[-1][1]:
            run.append(m)
        else:
            runs.append(run)
            run = [m]
    return runs + [run]


def _whole_terms(run) -> bool:
    """Whether ``run`` joins two terms or more and holds every piece of each term
    it touches (a run joined before must not be split)."""
    terms = {id(m[2]): m[2] for m in run}
    if len(terms) < 2:
        return False
    for term in terms.values():
        joined = term.__dict__.get("_joined_run")
        if joined is not None and sum(m[2] is term for m in run) != len(joined[2]):
            return False
    return True


def _sum_of(terms, out: Variable):
    """The terms added up again, in place of ``out`` (if of its type)."""
    total = terms[0]
    for t in terms[1:]:
        total = elemwise("add", total, t)
    return _keep_if_same(total, out)


def _as_selected(piece: Variable, zeros: Variable, axis: int, start: int, stop) -> Variable:
    """``piece`` broadcast to the shape of ``zeros[..., start:stop, ...]`` (on ``axis``),
    as writing it there would (numpy's rule, also for sizes only known at run time).
    A view: the concatenation copies it once."""
    sizes = [zeros.owner.inputs[1][k] for k in range(zeros.ndim)]
    end = sizes[axis] if stop is None else minimum(sizes[axis], stop)
    sizes[axis] = maximum(end - start, 0)
    return Alloc()(piece, as_shape(sizes))


def sum_of_transposed_products(node: Apply):
    """``dot(a1.T, b1) + dot(a2.T, b2) + ... -> dot(concatenate(a).T, concatenate(b))``:
    one large product instead of many small ones and their sum (a weight's gradient
    in an unrolled recurrent net: one term per step). Only terms whose results
    cannot broadcast against each other (no size known to be 1) are joined."""
    if _elemwise_name(node) != "add" or node.outputs[0].ndim != 2 or not _operand_is(
            node, lambda i: transposed_product(i) is not None):
        return None
    out = node.outputs[0]
    leaves = _add_leaves(out, 2)
    groups: dict[tuple, list] = {}
    for v in leaves:
        pair = transposed_product(v)
        if pair is not None and 1 not in v.type.shape:
            groups.setdefault((pair[0].dtype, pair[1].dtype), []).append((v, pair))
    terms, changed = list(leaves), False
    for members in groups.values():
        if len(members) < 2:
            continue
        changed = True
        a = _concatenate_flat([p[0] for _, p in members], 0)
        b = _concatenate_flat([p[1] for _, p in members], 0)
        for v, _ in members:
            terms.remove(v)
        terms.append(dot(a.T, b))
    return _sum_of(terms, out) if changed else None


def _concatenate_flat(parts, axis: int) -> Variable:
    """``concatenate(parts, axis)``, joining the parts of parts joined on that axis."""
    flat = []
    for p in parts:
        if p.owner is not None and isinstance(p.owner.op, Concatenate) \
                and p.owner.op.axis == axis:
            flat.extend(p.owner.inputs)
        else:
            flat.append(p)
    return Concatenate(axis)(*flat)


def concatenate_chain(node: Apply):
    """``concatenate([concatenate([a, b], k), c], k) -> concatenate([a, b, c], k)``."""
    if not isinstance(node.op, Concatenate):
        return None
    parts, flat = [], False
    for i in node.inputs:
        if i.owner is not None and isinstance(i.owner.op, Concatenate) \
                and i.owner.op.axis == node.op.axis:
            parts.extend(i.owner.inputs)
            flat = True
        else:
            parts.append(i)
    if not flat:
        return None
    return _keep_if_same(Concatenate(node.op.axis)(*parts), node.outputs[0])


CANONICALIZE_RULES: tuple[Rule, ...] = (
    neutral_operand, double_negation, add_to_itself, log_of_one_plus, exp_minus_one,
    dimshuffle_chain, reshape_chain, sum_of_scalar, adjacent_slices_of_zeros,
    concatenate_chain, sum_of_transposed_products,
)


# -- specialize ---------------------------------------------------------------------
def power_by_constant(node: Apply):
    """``x ** 2 -> square(x)``, ``x ** 0.5 -> sqrt(x)``, ``x ** -1 -> reciprocal(x)``."""
    if _elemwise_name(node) != "power" or node.outputs[0].dtype.startswith(("int", "uint")):
        return None
    x, p = node.inputs
    for value, kernel in ((2, "square"), (0.5, "sqrt"), (-1, "reciprocal")):
        if _is(p, value):
            return _keep_if_same(elemwise(kernel, x), node.outputs[0])
    return None


SPECIALIZE_RULES: tuple[Rule, ...] = (power_by_constant,)


def _apply(rules: tuple[Rule, ...]) -> Callable[[Apply], "list[Variable] | None"]:
    def local(node: Apply):
        result = None
        for _ in range(8):              # a replacement may enable another rule
            target = node if result is None else result[0].owner
            if target is None or len(target.outputs) != 1:
                break
            for rule in rules:
                new = rule(target)
                if new is not None and new[0] is not target.outputs[0]:
                    result = new
                    break
            else:
                break
        return result
    return local


def canonicalize(outputs):
    """Apply :data:`CANONICALIZE_RULES` everywhere (inputs first)."""
    return rewrite_nodes(outputs, _apply(CANONICALIZE_RULES))


def specialize(outputs):
    """Apply :data:`SPECIALIZE_RULES` everywhere (inputs first), then
    :func:`slope_products`."""
    return slope_products(rewrite_nodes(outputs, _apply(SPECIALIZE_RULES)))


def _slope_of(x: Variable, s: Variable, readers: dict) -> float | None:
    """``a`` when ``s`` is ``where(x >= 0, 1, a)`` (a constant 0 < a <= 1) read only
    once, else None."""
    sw = s.owner
    if _elemwise_name(sw) != "where" or readers[id(s)] != 1:
        return None
    cond, one, a = sw.inputs
    ge = cond.owner
    if _elemwise_name(ge) != "greater_equal" or ge.inputs[0] is not x \
            or not _is(ge.inputs[1], 0) or not _is(one, 1):
        return None
    value = _const_value(a)
    # a = 0 is excluded: inf * 0 is NaN in maximum(x, x * 0), the product gives inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        return None
    return value


def slope_products(outputs):
    """``x * where(x >= 0, 1, a) -> maximum(x, x * a)`` for a constant ``0 < a <= 1``
    whose slope nothing else reads: a leaky rectifier's forward pass in two passes
    instead of five (comparison, select, product). The same bits: ``x`` where
    ``x >= 0`` (``x >= a * x`` there), ``a * x`` elsewhere (``a * x >= x``), NaN
    kept. Where a gradient reads the slope too (training), the product stays: the
    backward pass multiplies by the slope the forward pass made."""
    nodes = toposort(outputs)
    readers = reader_counts(outputs, nodes)
    memo: dict[int, Variable] = {}
    for node in nodes:
        inputs = [memo.get(id(i), i) for i in node.inputs]
        new = None
        if _elemwise_name(node) == "multiply" and node.outputs[0].dtype.startswith("float"):
            for x, s in (node.inputs, node.inputs[::-1]):
                a = _slope_of(x, s, readers)
                if a is not None:
                    mx = memo.get(id(x), x)
                    leaky = maximum(mx, mx * np.asarray(a, dtype=mx.dtype))
                    new = _keep_if_same(leaky, node.outputs[0])
                    break
        if new is None and any(a is not b for a, b in zip(inputs, node.inputs)):
            with trace_scope(node.trace):
                new = node.op.make_node(*inputs).outputs
        if new is not None:
            for old, out in zip(node.outputs, new):
                out.name = out.name or old.name
                memo[id(old)] = out
    return [memo.get(id(o), o) for o in outputs]
