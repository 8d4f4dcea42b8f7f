"""``T.signal``: pooling (``pool``, and the old ``downsample``)."""
from . import downsample, pool

__all__ = ["pool", "downsample"]
