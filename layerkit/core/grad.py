"""Symbolic reverse-mode differentiation: gradients are graphs too."""
from __future__ import annotations

import warnings
from typing import Sequence

from .graph import Constant, Variable, as_variable, toposort
from .ops.basic import cast
from .ops.shape import ones_like, zeros_like
from .types import is_float

__all__ = ["grad", "DisconnectedInputError"]


class DisconnectedInputError(ValueError):
    """The cost does not depend on a variable its gradient was asked for."""


def _connected_nodes(cost: Variable, wrt: Sequence[Variable], blocked: set[int]):
    """Nodes between ``wrt`` and ``cost``, in topological order."""
    order = toposort([cost], stop=[v for v in wrt if v.owner is None])
    wrt_ids = {id(v) for v in wrt}
    reaches: set[int] = set(wrt_ids)
    keep = []
    for node in order:
        if any(id(i) in reaches and id(i) not in blocked for i in node.inputs):
            for o in node.outputs:
                reaches.add(id(o))
            keep.append(node)
    return keep, reaches


def grad(cost, wrt, consider_constant=None, disconnected_inputs: str = "raise",
         known_grads=None, return_disconnected: str = "zero"):
    """The gradient of the scalar ``cost`` w.r.t. ``wrt`` (a variable or a list).

    ``consider_constant`` lists variables through which no gradient flows.
    A ``wrt`` the cost does not depend on raises ``DisconnectedInputError``
    unless ``disconnected_inputs`` is ``'warn'`` or ``'ignore'``; its gradient
    is then zeros, or None with ``return_disconnected='none'`` (Theano's
    ``'Disconnected'`` type does not exist here and is refused).
    """
    mode = _check_modes(disconnected_inputs, return_disconnected)
    cost = as_variable(cost)
    if cost.ndim != 0 and known_grads is None:
        raise TypeError(f"grad: the cost must be a scalar, got a {cost.ndim}-d tensor of shape "
                        f"{cost.type.shape}; reduce it with .sum() or .mean() first")
    single = isinstance(wrt, Variable)
    wrt_list = [wrt] if single else list(wrt)
    for v in wrt_list:
        if not isinstance(v, Variable):
            raise TypeError(f"grad: wrt must hold symbolic variables, got {type(v).__name__}")
        if isinstance(v, Constant):
            raise TypeError(f"grad: cannot differentiate with respect to the constant {v}")
    blocked = {id(v) for v in (consider_constant or [])}
    grads = _backpropagate(cost, wrt_list, blocked, known_grads)
    results = []
    for v in wrt_list:
        g = grads.get(id(v))
        if g is None:
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(
                    f"grad: the cost does not depend on {v} (created at {v.trace}); pass "
                    "disconnected_inputs='ignore' to get zeros instead")
            if disconnected_inputs == "warn":
                warnings.warn(f"grad: the cost does not depend on {v}", stacklevel=2)
            g = zeros_like(v) if mode == "zero" else None
        elif g.dtype != v.dtype and is_float(v.dtype):
            g = cast(g, v.dtype)
        results.append(g)
    return results[0] if single else results


def _check_modes(disconnected_inputs: str, return_disconnected) -> str:
    """Refuse unknown modes; ``return_disconnected`` in lower case."""
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"grad: disconnected_inputs must be 'raise', 'warn' or 'ignore', "
                         f"got {disconnected_inputs!r}")
    mode = str(return_disconnected).lower()
    if mode == "disconnected":
        raise NotImplementedError("grad: return_disconnected='Disconnected' needs Theano's "
                                  "DisconnectedType, which layerkit does not have; use "
                                  "'zero' (zeros) or 'None' (None) instead")
    if mode not in ("zero", "none"):
        raise ValueError(f"grad: return_disconnected must be 'zero' or 'None', got "
                         f"{return_disconnected!r}")
    return mode


def _backpropagate(cost: Variable, wrt: list[Variable], blocked: set[int],
                   known_grads) -> dict[int, Variable]:
    """``{id(variable): its gradient}`` for the variables between ``wrt`` and ``cost``:
    each node's ``op.grad``, outputs first, summing over a variable's uses."""
    nodes, reaches = _connected_nodes(cost, wrt, blocked)
    grads: dict[int, Variable] = {}
    if id(cost) in reaches:
        grads[id(cost)] = ones_like(cost) if known_grads is None else known_grads
    for node in reversed(nodes):
        outs = [grads.get(id(o)) for o in node.outputs]
        if all(g is None for g in outs):
            continue
        outs = [g if g is not None else zeros_like(o) for g, o in zip(outs, node.outputs)]
        in_grads = node.op.grad(node.inputs, node.outputs, outs)
        if len(in_grads) != len(node.inputs):
            raise RuntimeError(f"{node.op}.grad returned {len(in_grads)} gradients for "
                               f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, in_grads):
            if g is None or id(inp) not in reaches or id(inp) in blocked:
                continue
            if not is_float(inp.dtype):
                continue
            g = as_variable(g)
            if g.ndim != inp.ndim:
                raise RuntimeError(f"{node.op}.grad gave a {g.ndim}-d gradient for a "
                                   f"{inp.ndim}-d input (built at {node.trace})")
            prev = grads.get(id(inp))
            grads[id(inp)] = g if prev is None else prev + g
    return grads
