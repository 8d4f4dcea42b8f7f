"""``theano.gof``: the graph classes, and ``Op`` for ops written Theano's way.

``Variable``, ``Constant``, ``graph`` (the module), ``toposort`` and
``ancestors`` are layerkit's own. Two names adapt Theano's conventions to
layerkit's op protocol (``layerkit/core/op.py``), so a script's own op runs
unchanged:

- ``Apply(op, inputs, outputs)``: Theano passes output *variables*
  (``x.type()``); layerkit's :class:`~layerkit.core.graph.Apply` takes their
  types and makes the outputs itself. Either is accepted.
- ``Op``: a subclass that defines ``perform(node, inputs, output_storage)``
  (numpy arrays in, results stored in ``output_storage[k][0]``) runs it as its
  kernel, on the host: a backend's arrays are converted to numpy and back.
  ``grad(inputs, output_grads)`` in Theano's two-argument form is accepted
  (layerkit's is ``grad(inputs, outputs, output_grads)``). Without
  ``__props__`` two instances are equal only if they are the same object, as in
  Theano (so the compiler never merges ops whose settings it cannot see).

>>> import numpy as np
>>> import layerkit.core as theano
>>> import layerkit.core.tensor as T
>>> from layerkit.core import gof
>>> class Double(gof.Op):
...     __props__ = ()
...     def make_node(self, x):
...         x = T.as_tensor_variable(x)
...         return gof.Apply(self, [x], [x.type()])
...     def perform(self, node, inputs, output_storage):
...         output_storage[0][0] = inputs[0] * 2
...     def grad(self, inputs, output_grads):
...         return [output_grads[0] * 2]
>>> x = T.dvector('x')
>>> f = theano.function([x], [Double()(x), T.grad(Double()(x).sum(), x)])
>>> [a.tolist() for a in f([1.0, 2.0])]
[[2.0, 4.0], [2.0, 2.0]]
"""
from __future__ import annotations

import inspect

import numpy as np

from . import graph
from .graph import Constant, Variable, ancestors, as_variable, toposort
from .graph import Apply as _Apply
from .ignored import warn_ignored
from .op import Op as _Op
from .types import TensorType

__all__ = ["Apply", "Op", "Variable", "Constant", "TensorType", "graph", "ancestors",
           "toposort", "local_optimizer"]


class Apply(_Apply):
    """Theano's ``Apply(op, inputs, outputs)``: ``outputs`` may be variables (their
    types are used; the node makes its own output variables) or types."""

    __slots__ = ()

    def __init__(self, op, inputs, outputs, trace: str | None = None) -> None:
        types = [o.type if isinstance(o, Variable) else o for o in outputs]
        super().__init__(op, [as_variable(i) for i in inputs], types, trace)


class Op(_Op):
    """An op written Theano's way: ``make_node`` and ``perform`` (see the module's text)."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Theano's default equality is identity unless the op declares __props__
        cls._by_identity = not any("__props__" in c.__dict__ for c in cls.__mro__
                                   if c not in (Op, _Op, object))
        grad = cls.__dict__.get("grad")
        if grad is not None and len(inspect.signature(grad).parameters) == 3:
            # Theano's grad(self, inputs, output_grads)
            def layerkit_grad(self, inputs, outputs, output_grads, _theano_grad=grad):
                return _theano_grad(self, inputs, output_grads)
            layerkit_grad.__doc__ = grad.__doc__
            cls.grad = layerkit_grad

    def __eq__(self, other) -> bool:
        if getattr(type(self), "_by_identity", False):
            return self is other
        return super().__eq__(other)

    def __hash__(self) -> int:
        if getattr(type(self), "_by_identity", False):
            return object.__hash__(self)
        return super().__hash__()

    def perform(self, node, inputs, output_storage) -> None:
        """Compute the outputs from the numpy ``inputs`` into ``output_storage[k][0]``."""
        raise NotImplementedError(f"{type(self).__name__} defines neither perform nor thunk")

    def thunk(self, backend, node):
        if type(self).perform is Op.perform:
            return super().thunk(backend, node)
        outputs = node.outputs
        name = type(self).__name__

        def run(*args):
            storage = [[None] for _ in outputs]
            self.perform(node, [backend.to_numpy(a) for a in args], storage)
            results = []
            for k, (cell, out) in enumerate(zip(storage, outputs)):
                if cell[0] is None:
                    raise RuntimeError(f"{name}.perform stored nothing in output_storage[{k}][0]")
                results.append(backend.from_numpy(np.asarray(cell[0], dtype=out.dtype)))
            return results[0] if len(results) == 1 else tuple(results)

        return run


def local_optimizer(tracks, inplace=False, requirements=()):
    """Theano's decorator for a user graph rewrite: accepted, and the rewrite is not
    run (layerkit's rewrites are its own; the graph is computed as written, which
    a rewrite that keeps values, as Theano's must, does not change). Returns the
    function, so ``register_*`` decorators stacked on it still get one."""
    def decorate(fn):
        warn_ignored("theano.gof.local_optimizer", getattr(fn, "__name__", "rewrite"),
                     "user graph rewrites are not run; the graph is computed as written")
        return fn
    return decorate
