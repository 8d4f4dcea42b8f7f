"""Theano's ``TensorVariable``: here every variable is one.

The operators and methods of variables (``x + y``, ``x[i]``, ``x.sum()``,
``x.T``) are the ``_TensorOperators`` mixin of :class:`layerkit.core.graph.Variable`;
each calls the builder of the same name in :mod:`layerkit.core.ops`.
"""
from __future__ import annotations

from ..graph import Variable

__all__ = ["TensorVariable"]

TensorVariable = Variable
