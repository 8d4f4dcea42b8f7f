"""``theano.sandbox.rng_mrg``: ``MRG_RandomStreams`` is layerkit's :class:`RandomStreams`.

Theano's MRG31k3p generator is not reproduced: draws are counter-based and
replay from the seed (an int; Theano's default 12345 is layerkit's too), so
the numbers differ from Theano's while their distributions are the same.

>>> from layerkit.core.sandbox.rng_mrg import MRG_RandomStreams
>>> MRG_RandomStreams(seed=234).uniform((2, 3)).ndim
2
"""
from ..random import MRG_RandomStreams

__all__ = ["MRG_RandomStreams"]
