"""``theano.sandbox``: the module paths old scripts import from it.

``rng_mrg`` (``MRG_RandomStreams``, layerkit's :class:`RandomStreams`) and
``cuda`` (the old GPU back end's flags, all saying "no CUDA here": layerkit
picks its device through backends, see ``layerkit backends``).
"""
from . import cuda, rng_mrg

__all__ = ["cuda", "rng_mrg"]
