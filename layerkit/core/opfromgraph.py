"""Theano's ``OpFromGraph``: a graph packaged as an op, callable on new inputs.

``op = OpFromGraph([x, y], [out])`` turns the graph from ``x, y`` to ``out``
into one op; ``op(a, b)`` is one node of a new graph, compiled as a whole (one
inner function on the outer function's backend). Its gradient is the inner
graph's, unless ``grad_overrides`` replaces it: a function
``(inputs, output_grads) -> [a gradient per input]`` (guided backprop's
modified ReLU), or a list with one such function, ``'default'`` or ``None``
(disconnected) per input. Shared variables of the inner graph become hidden
inputs of the node (their values are read when the outer function runs).

This module sits above :mod:`.function` and :mod:`.grad` (it compiles and
differentiates the inner graph); no op module imports it.
"""
from __future__ import annotations

from .function import Function
from .grad import grad
from .graph import Apply, Constant, Variable, ancestors, as_variable, clone_replace
from .op import Op
from .ops.basic import cast
from .shared import SharedVariable
from .types import TensorType, is_float

__all__ = ["OpFromGraph"]


class OpFromGraph(Op):
    """The graph from ``inputs`` to ``outputs`` as one op (Theano's ``theano.OpFromGraph``).

    ``inline`` is accepted (Theano inlined the graph at compile time; here the node
    is compiled as one inner function either way, with the same results).
    ``grad_overrides``: ``'default'``, a function ``(inputs, output_grads) ->
    list of input gradients``, or a list of those (or ``'default'``, or None for
    no gradient), one per input. Two instances are never equal (each is its own graph).
    """

    def __init__(self, inputs, outputs, inline: bool = False, grad_overrides="default",
                 rop_overrides="default", name: str | None = None, **kwargs) -> None:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError("OpFromGraph: inputs must be a list of variables")
        outputs = [outputs] if isinstance(outputs, Variable) else list(outputs)
        for v in inputs:
            if not isinstance(v, Variable) or v.owner is not None or \
                    isinstance(v, (Constant, SharedVariable)):
                raise TypeError(f"OpFromGraph: input {v!r} must be a free input variable "
                                "(such as T.matrix())")
        outputs = [as_variable(o) for o in outputs]
        given = {id(v) for v in inputs}
        leaves = [v for v in ancestors(outputs, stop=inputs) if v.owner is None
                  and id(v) not in given and not isinstance(v, Constant)]
        free = [v for v in leaves if not isinstance(v, SharedVariable)]
        if free:
            raise TypeError(f"OpFromGraph: the outputs depend on {free[0]}, which is not "
                            "among the inputs")
        #: shared variables of the inner graph: hidden inputs of every node
        self.shared_inputs = leaves
        hidden = [Variable(s.type, name=s.name) for s in leaves]
        self.n_inputs = len(inputs)
        self.inner_inputs = list(inputs) + hidden
        self.inner_outputs = clone_replace(outputs, dict(zip(leaves, hidden))) if leaves \
            else outputs
        self.inline = inline
        self.name = name
        self.grad_overrides = grad_overrides
        if rop_overrides != "default":
            raise NotImplementedError("OpFromGraph: rop_overrides (the R-operator) is not "
                                      "supported")
        if isinstance(grad_overrides, (list, tuple)) and len(grad_overrides) != len(inputs):
            raise ValueError(f"OpFromGraph: grad_overrides has {len(grad_overrides)} entries "
                             f"for {len(inputs)} inputs")
        self._fn = {}

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"OpFromGraph{{{self.name or id(self)}}}"

    def make_node(self, *inputs) -> Apply:
        # the graph's own calls give the visible inputs; rewrites and clones give the
        # node's inputs again, hidden ones (the shared variables, or their stand-ins) included
        if len(inputs) == self.n_inputs:
            inputs = list(inputs) + list(self.shared_inputs)
        if len(inputs) != len(self.inner_inputs):
            raise TypeError(f"{self}: takes {self.n_inputs} inputs, got {len(inputs)}")
        args = []
        for k, (v, inner) in enumerate(zip(inputs, self.inner_inputs)):
            v = as_variable(v)
            if v.ndim != inner.ndim:
                raise TypeError(f"{self}: input {k} must be {inner.ndim}-d, got {v.ndim}-d")
            args.append(cast(v, inner.dtype))
        return Apply(self, args,
                     [TensorType(o.dtype, o.type.shape) for o in self.inner_outputs])

    def grad(self, inputs, outputs, output_grads):
        n = self.n_inputs
        shown = list(inputs[:n])
        overrides = self.grad_overrides
        if callable(overrides):
            given = list(overrides(shown, list(output_grads)))
            if len(given) != n:
                raise ValueError(f"{self}: grad_overrides returned {len(given)} gradients "
                                 f"for {n} inputs")
            return given + [None] * (len(inputs) - n)
        default = self._default_grad(inputs, output_grads)
        if overrides == "default" or overrides is None:
            return default
        result = []
        for k, rule in enumerate(overrides):
            if rule is None:
                result.append(None)
            elif rule == "default":
                result.append(default[k])
            else:
                result.append(rule(shown, list(output_grads)))
        return result + default[n:]

    def _default_grad(self, inputs, output_grads):
        """The inner graph's gradient with respect to its own inputs (distinct free
        variables), then the node's inputs and output gradients put in their place.

        Differentiating the inner graph after substituting the node's inputs would
        count twice an input given twice (``op(x, x)``) or built from another
        (``op(x, 2 * x)``): each input's gradient would already hold the paths
        through the others, and the outer gradient adds them up again."""
        stand_ins, known = {}, {}
        for o, g in zip(self.inner_outputs, output_grads):
            if g is not None and is_float(o.dtype):
                stand_in = Variable(g.type, name=g.name)
                stand_ins[stand_in] = g
                known[o] = stand_in
        if not known:
            return [None] * len(inputs)
        inner = grad(None, list(self.inner_inputs), known_grads=known,
                     disconnected_inputs="ignore", return_disconnected="none")
        present = [g for g in inner if g is not None]
        outer = iter(clone_replace(present, {**dict(zip(self.inner_inputs, inputs)),
                                             **stand_ins}))
        return [next(outer) if g is not None else None for g in inner]

    def thunk(self, backend, node):
        fn = self._fn.get(id(backend))
        if fn is None:
            fn = self._fn[id(backend)] = Function(
                inputs=self.inner_inputs, outputs=list(self.inner_outputs), backend=backend,
                on_device=True, on_unused_input="ignore", mode="FAST_RUN")
        if len(self.inner_outputs) == 1:
            return lambda *args: fn(*args)[0]
        return lambda *args: tuple(fn(*args))
