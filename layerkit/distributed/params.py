"""Every rank starts from rank 0's parameters: :func:`broadcast_params`.

Before copying anything the ranks compare their networks: each sends a
digest of its parameters' names, shapes and dtypes (one all-gather of 32
bytes); when they differ, every rank gets the whole lists and raises the
same :class:`DistributedError` naming the first rank and parameter that
differ from rank 0. Then the values go from rank 0 to all, packed into one
buffer per dtype (one broadcast per dtype, not one per parameter).
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..core.shared import SharedVariable
from ..layers import Layer, get_all_params
from .errors import DistributedError
from .world import get_world

__all__ = ["broadcast_params", "check_same_params", "param_signature"]


def _as_params(params_or_layer, what):
    if isinstance(params_or_layer, Layer) or (
            isinstance(params_or_layer, (list, tuple)) and params_or_layer
            and all(isinstance(p, Layer) for p in params_or_layer)):
        return get_all_params(params_or_layer)
    if isinstance(params_or_layer, (list, tuple)) and \
            all(isinstance(p, SharedVariable) for p in params_or_layer):
        return list(params_or_layer)
    raise TypeError(f"{what}: expected a layer, a list of layers or a list of shared variables, "
                    f"got {type(params_or_layer).__name__}")


def param_signature(params) -> list[tuple[str, tuple[int, ...], str]]:
    """``[(name, shape, dtype), ...]`` of ``params`` (shared variables), in order."""
    sig = []
    for i, p in enumerate(params):
        value = p.get_value(borrow=True)
        sig.append((p.name or f"param#{i}", tuple(int(s) for s in np.shape(value)),
                    str(value.dtype)))
    return sig


def _difference(signatures) -> str:
    ref = signatures[0]
    for r, sig in enumerate(signatures[1:], start=1):
        if sig == ref:
            continue
        if len(sig) != len(ref):
            return (f"rank {r} has {len(sig)} parameters and rank 0 has {len(ref)} "
                    f"(rank {r}: {[s[0] for s in sig]}; rank 0: {[s[0] for s in ref]})")
        for k, (mine, theirs) in enumerate(zip(sig, ref)):
            if mine != theirs:
                return (f"parameter {k} is {mine[0]!r} of shape {mine[1]} ({mine[2]}) on rank "
                        f"{r} but {theirs[0]!r} of shape {theirs[1]} ({theirs[2]}) on rank 0")
    return "the ranks' parameter lists differ"


def check_same_params(params_or_layer) -> list:
    """Raise :class:`DistributedError` on every rank unless all ranks hold parameters
    of the same names, shapes and dtypes, in the same order. Returns the params."""
    params = _as_params(params_or_layer, "check_same_params")
    world = get_world()
    sig = param_signature(params)
    digest = hashlib.sha256(repr(sig).encode()).digest()
    digests = world.allgather_bytes(digest, "the comparison of the ranks' parameters")
    if len(set(digests)) > 1:
        signatures = world.allgather_object(sig, "the comparison of the ranks' parameters")
        raise DistributedError(
            f"the ranks build different networks, so their gradients cannot be averaged: "
            f"{_difference(signatures)} (every rank must build the same layers with the same "
            f"sizes)")
    return params


def broadcast_params(params_or_layer, root: int = 0) -> list:
    """Give every rank ``root``'s values of the parameters (a layer's, or a list of
    shared variables), after checking that all ranks have the same parameters
    (:func:`check_same_params`). Call it once after building the network and
    before training. Returns the parameters. In a single process it only
    returns them."""
    params = check_same_params(params_or_layer)
    world = get_world()
    if world.size == 1 or not params:
        return params
    values = [p.get_value(borrow=True) for p in params]
    by_dtype: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        by_dtype.setdefault(str(v.dtype), []).append(i)
    for dtype, idx in by_dtype.items():
        sizes = [int(np.size(values[i])) for i in idx]
        if world.rank == root:
            buf = np.concatenate([np.asarray(values[i], dtype=dtype).reshape(-1) for i in idx])
        else:
            buf = np.empty(sum(sizes), dtype=dtype)
        world.bcast(buf, root, f"the broadcast of the {dtype} parameters from rank {root}")
        offset = 0
        for i, n in zip(idx, sizes):
            params[i].set_value(buf[offset:offset + n].reshape(np.shape(values[i])))
            offset += n
    return params
