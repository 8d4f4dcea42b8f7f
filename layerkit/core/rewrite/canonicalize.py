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

from ..graph import Apply, Constant, Variable, as_variable
from ..ops.elemwise import Elemwise, elemwise
from ..ops.reduce import Reduce
from ..ops.shape import DimShuffle, Reshape
from .walk import rewrite_nodes

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


CANONICALIZE_RULES: tuple[Rule, ...] = (
    neutral_operand, double_negation, add_to_itself, log_of_one_plus, exp_minus_one,
    dimshuffle_chain, reshape_chain, sum_of_scalar,
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
    """Apply :data:`SPECIALIZE_RULES` everywhere (inputs first)."""
    return rewrite_nodes(outputs, _apply(SPECIALIZE_RULES))
