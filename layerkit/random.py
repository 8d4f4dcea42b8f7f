"""The random generator that initializers draw from (Lasagne's ``lasagne.random``).

As in Lasagne, the default generator is numpy's global one (``np.random``),
so ``np.random.seed(n)`` at the top of a script makes initialisation
repeatable. :func:`seed` does more: a fresh ``RandomState(n)`` for the
initializers *and* the default seed of every ``RandomStreams`` created
afterwards (dropout), so one call makes a whole training run repeatable.

>>> import layerkit.random
>>> layerkit.random.seed(1)
>>> a = layerkit.random.get_rng().uniform()
>>> layerkit.random.seed(1)
>>> a == layerkit.random.get_rng().uniform()
True
"""
from __future__ import annotations

import numpy as np

from .core.random import set_default_seed

__all__ = ["get_rng", "set_rng", "seed"]

_rng = np.random


def get_rng():
    """The generator (a numpy ``RandomState`` or ``np.random``) initializers use."""
    return _rng


def set_rng(new_rng) -> None:
    """Make ``new_rng`` (an object with numpy's RandomState methods) the generator."""
    global _rng
    _rng = new_rng


def seed(n: int) -> None:
    """Seed initialisation (``RandomState(n)``) and new ``RandomStreams`` at once."""
    set_rng(np.random.RandomState(n))
    set_default_seed(n)
