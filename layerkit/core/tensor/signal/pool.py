"""``theano.tensor.signal.pool``: ``pool_2d`` and the old ``max_pool_2d``. The ops,
their gradient and these builders live in :mod:`layerkit.core.ops.pool`."""
from __future__ import annotations

from ...ops.pool import max_pool_2d, max_pool_2d_same_size, pool_2d

__all__ = ["pool_2d", "max_pool_2d", "max_pool_2d_same_size"]
