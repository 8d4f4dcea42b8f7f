"""``theano.tensor.signal.downsample``: the pre-1.0 home of ``max_pool_2d``."""
from .pool import max_pool_2d

__all__ = ["max_pool_2d"]
