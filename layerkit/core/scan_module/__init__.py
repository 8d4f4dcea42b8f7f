"""Theano's ``scan``: loops in the graph, with their gradient.

``from layerkit.core import scan`` (``theano.scan``) and
``from layerkit.core.scan_module import scan, until`` (``theano.scan_module``)
are the same function. The builder (:mod:`.builder`) turns a step function
into one :class:`~.op.Scan` node; :mod:`.grad` builds its gradient, another
scan running the steps backwards.
"""
from __future__ import annotations

from .builder import OrderedUpdates, foldl, foldr, map, reduce, scan, until  # noqa: A004
from .grad import scan_grad
from .op import Scan, bind_gradient

bind_gradient(scan_grad)

__all__ = ["scan", "map", "reduce", "foldl", "foldr", "until", "Scan", "OrderedUpdates"]
