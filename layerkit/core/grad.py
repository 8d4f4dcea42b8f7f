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


def _connected_nodes(seeds: Sequence[Variable], wrt: Sequence[Variable], blocked: set[int]):
    """Nodes between ``wrt`` and the ``seeds`` (the cost, the known gradients' variables),
    in topological order."""
    order = toposort(seeds, stop=[v for v in wrt if v.owner is None])
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
    ``known_grads`` (Theano's): ``{variable: its gradient}``, gradients of some
    cost known outside the graph, backpropagated too and added to the cost's;
    ``cost`` may then be None (Lasagne's ``InverseLayer``:
    ``grad(None, wrt=x, known_grads={y: g})`` is the vector-Jacobian product
    ``g . dy/dx``).
    A ``wrt`` the cost does not depend on raises ``DisconnectedInputError``
    unless ``disconnected_inputs`` is ``'warn'`` or ``'ignore'``; its gradient
    is then zeros, or None with ``return_disconnected='none'`` (Theano's
    ``'Disconnected'`` type does not exist here and is refused).
    """
    mode = _check_modes(disconnected_inputs, return_disconnected)
    known = _check_known_grads(known_grads)
    if cost is None:
        if not known:
            raise ValueError("grad: cost is None and known_grads is empty: there is nothing "
                             "to differentiate")
    else:
        cost = as_variable(cost)
    if cost is not None and cost.ndim != 0:
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
    grads = _backpropagate(cost, wrt_list, blocked, known)
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


def _check_known_grads(known_grads) -> list[tuple[Variable, Variable]]:
    """``known_grads`` as ``(variable, gradient)`` pairs, each gradient of its variable's
    number of dimensions and float dtype."""
    if known_grads is None:
        return []
    if not hasattr(known_grads, "items"):
        raise TypeError(f"grad: known_grads must be a dict {{variable: gradient}}, got "
                        f"{type(known_grads).__name__}")
    pairs = []
    for var, g in known_grads.items():
        if not isinstance(var, Variable):
            raise TypeError(f"grad: the keys of known_grads must be symbolic variables, got "
                            f"{type(var).__name__}")
        g = as_variable(g)
        if g.ndim != var.ndim:
            raise ValueError(f"grad: known_grads gives a {g.ndim}-d gradient for the "
                             f"{var.ndim}-d variable {var}")
        if is_float(var.dtype) and g.dtype != var.dtype:
            g = cast(g, var.dtype)
        pairs.append((var, g))
    return pairs


def _backpropagate(cost: Variable | None, wrt: list[Variable], blocked: set[int],
                   known: list[tuple[Variable, Variable]]) -> dict[int, Variable]:
    """``{id(variable): its gradient}`` for the variables between ``wrt`` and ``cost``
    (and the variables of ``known``): each node's ``op.grad``, outputs first, summing
    over a variable's uses."""
    seeds = ([] if cost is None else [cost]) + [v for v, _ in known]
    nodes, reaches = _connected_nodes(seeds, wrt, blocked)
    grads: dict[int, Variable] = {}
    if cost is not None and id(cost) in reaches:
        grads[id(cost)] = ones_like(cost)
    for var, g in known:
        if id(var) in reaches and id(var) not in blocked:
            prev = grads.get(id(var))
            grads[id(var)] = g if prev is None else prev + g
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
