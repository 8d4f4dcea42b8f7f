"""The core's ops, one module per family; each module holds its ops (forward,
shape rule, gradient), the builders that make them, and the stable forms that
produce them. From the bottom up (a module imports only those before it):

``basic`` (casts, dtype promotion) < ``shape`` < ``elemwise`` < ``reduce`` <
``subtensor`` < ``linalg``, ``nnet``, ``pool``, ``extra_ops`` < ``conv``; ``random``,
``fused``.

A gradient that needs an op of a module above its own reaches it through the
operators of variables (``g[i]``, ``g.sum()``): importing this package binds
them (:func:`layerkit.core.graph.bind_operators`) to the builders below.
"""
from __future__ import annotations

from types import SimpleNamespace

from ..graph import bind_operators
from . import (basic, conv, elemwise, extra_ops, fused, linalg, nnet, pool, random, reduce,
               shape, subtensor)

__all__ = ["basic", "conv", "elemwise", "extra_ops", "fused", "linalg", "nnet", "pool", "random",
           "reduce", "shape", "subtensor"]

bind_operators(SimpleNamespace(
    add=elemwise.add, sub=elemwise.sub, mul=elemwise.mul, true_div=elemwise.true_div,
    floor_div=elemwise.floor_div, mod=elemwise.mod, pow=elemwise.pow, neg=elemwise.neg,
    abs_=elemwise.abs_, invert=elemwise.invert, and_=elemwise.and_, or_=elemwise.or_,
    xor=elemwise.xor, lt=elemwise.lt, le=elemwise.le, gt=elemwise.gt, ge=elemwise.ge,
    clip=elemwise.clip, exp=elemwise.exp, log=elemwise.log, sqrt=elemwise.sqrt,
    cast=basic.cast, dot=linalg.dot, getitem=subtensor.getitem,
    sum=reduce.sum, mean=reduce.mean, prod=reduce.prod, max=reduce.max, min=reduce.min,
    any=reduce.any, all=reduce.all, argmax=reduce.argmax, argmin=reduce.argmin,
    var=reduce.var, std=reduce.std, norm=reduce.norm,
    shape_of=shape.shape_of, transpose=shape.transpose, reshape=shape.reshape,
    dimshuffle=shape.dimshuffle, flatten=shape.flatten, squeeze=shape.squeeze,
))
