"""``theano.tensor.extra_ops`` under its old path: ``cumsum``, ``cumprod``, ``repeat``,
``diff``, ``to_one_hot``, ``bincount``, ``squeeze`` (defined in
:mod:`layerkit.core.ops.extra_ops`)."""
from __future__ import annotations

from ..ops.extra_ops import (CumOp, bincount, cumprod, cumsum, diff, repeat, squeeze,
                             to_one_hot)

__all__ = ["CumOp", "cumsum", "cumprod", "repeat", "diff", "to_one_hot", "bincount", "squeeze"]
