"""``theano.tensor.nnet.neighbours`` under its old path: ``images2neibs`` and
``neibs2images`` (defined in :mod:`layerkit.core.ops.extra_ops`)."""
from __future__ import annotations

from ...ops.extra_ops import images2neibs, neibs2images

__all__ = ["images2neibs", "neibs2images"]
