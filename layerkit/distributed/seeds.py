"""One seed for the whole job, a different random stream on each rank.

``rank_seed(seed, r)`` is ``seed`` itself on rank 0 and, on rank ``r > 0``,
splitmix64's finaliser of ``(seed, r)`` reduced to 31 bits (a valid seed for
numpy's ``RandomState`` and for ``RandomStreams``). So rank 0 draws exactly
what a single process seeded with ``seed`` draws, the other ranks draw
unrelated numbers, and the same seed and rank count replay the same run.

:func:`seed` is :func:`layerkit.random.seed` with the rank's seed: the
initializers and every ``DropoutLayer`` built afterwards (Lasagne's layers
seed their streams from the initializers' generator) differ by rank, so
dropout masks differ by rank; the initial weights differ too until
:func:`~layerkit.distributed.broadcast_params` gives every rank rank 0's.
"""
from __future__ import annotations

from ..core.random import RandomStreams as _RandomStreams
from ..core.random import _mix, get_default_seed
from ..random import seed as _seed_all
from .world import get_world

__all__ = ["rank_seed", "seed", "RandomStreams"]


def rank_seed(seed: int, rank: int | None = None) -> int:
    """The seed of rank ``rank`` (default: this process's) derived from ``seed``."""
    seed = int(seed)
    rank = get_world().rank if rank is None else int(rank)
    if rank < 0:
        raise ValueError(f"rank_seed: rank must be >= 0, got {rank}")
    if rank == 0:
        return seed
    # RandomStreams' key of draw number rank - 1 (splitmix64 of (seed, rank)), 31 bits
    return (_mix(seed, rank - 1) & 0x7FFFFFFF) or 1


def seed(n: int) -> None:
    """``layerkit.random.seed(rank_seed(n))``: initializers and new ``RandomStreams``."""
    _seed_all(rank_seed(n))


def RandomStreams(seed: int | None = None) -> _RandomStreams:
    """A ``RandomStreams`` seeded with this rank's seed derived from ``seed``
    (default: the default seed, see :func:`layerkit.random.seed`)."""
    return _RandomStreams(rank_seed(get_default_seed() if seed is None else seed))
