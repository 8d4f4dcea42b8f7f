"""``theano.tensor.shared_randomstreams``: ``RandomStreams`` is layerkit's
:class:`~layerkit.core.random.RandomStreams` (the same class as
``theano.sandbox.rng_mrg.MRG_RandomStreams``: one kind of stream here)."""
from ..random import RandomStreams

__all__ = ["RandomStreams"]
