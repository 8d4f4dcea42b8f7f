"""The layer base classes (Lasagne's ``lasagne.layers.base``).

A layer knows its input layer (or only the input shape), its parameters with
their tags, how to compute its output shape from its input shape, and how to
build its output expression from its input expression. A new layer needs
three parts: ``__init__`` (validate, then ``add_param``),
``get_output_shape_for`` and ``get_output_for``:

>>> import layerkit.core.tensor as T
>>> from layerkit.layers import Layer, InputLayer, get_output
>>> class DoubleLayer(Layer):
...     def get_output_for(self, input, **kwargs):
...         return 2 * input
>>> net = DoubleLayer(InputLayer((None, 3)))
>>> net.output_shape
(None, 3)
"""
from __future__ import annotations

from collections import OrderedDict

from ..core.graph import Variable
from ..utils import collect_shared_vars, create_param

__all__ = ["Layer", "MergeLayer"]


def _check_shape(shape, what, name):
    if any(d is not None and d <= 0 for d in shape):
        raise ValueError(f"cannot create {what} with a non-positive input shape dimension: "
                         f"input_shape={shape}, name={name!r}")


class Layer:
    """Base class of layers with one input.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
        The layer feeding into this one, or the expected input shape (``None``
        for dimensions of unknown size).
    name : str, optional
        Prefixed to the names of the layer's parameters (``"fc1.W"``).
    """

    def __init__(self, incoming, name=None):
        if isinstance(incoming, tuple):
            self.input_shape = incoming
            self.input_layer = None
        else:
            self.input_shape = incoming.output_shape
            self.input_layer = incoming
        self.name = name
        self.params = OrderedDict()
        #: keyword arguments of get_output() this layer reads besides its
        #: get_output_for() signature (so get_output() does not warn about them)
        self.get_output_kwargs = []
        _check_shape(self.input_shape, f"{type(self).__name__}", name)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<{type(self).__name__}{label}>"

    @property
    def output_shape(self):
        """The output shape, computed from the input shape (``None``: unknown size)."""
        shape = self.get_output_shape_for(self.input_shape)
        _check_output_shape(self, shape)
        return shape

    def get_params(self, unwrap_shared=True, **tags):
        """The layer's parameters, selected by tags.

        ``tag=True`` keeps only parameters that have the tag, ``tag=False``
        only those that do not: ``get_params(trainable=True,
        regularizable=False)``. With ``unwrap_shared`` (the default) a
        parameter given as an expression is replaced by the shared variables
        it depends on.
        """
        result = list(self.params.keys())
        only = {tag for tag, value in tags.items() if value}
        if only:
            result = [p for p in result if not (only - self.params[p])]
        exclude = {tag for tag, value in tags.items() if not value}
        if exclude:
            result = [p for p in result if not (self.params[p] & exclude)]
        if unwrap_shared:
            return collect_shared_vars(result)
        return result

    def get_output_shape_for(self, input_shape):
        """The output shape for ``input_shape``; the default keeps the shape."""
        return input_shape

    def get_output_for(self, input, **kwargs):
        """The output expression for the ``input`` expression (subclasses implement it).

        ``kwargs`` are the keyword arguments given to ``get_output``
        (``deterministic`` and others); ignore those you do not use.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_for()")

    def add_param(self, spec, shape, name=None, **tags):
        """Create a parameter of ``shape`` from ``spec``, register it and return it.

        ``spec`` is a numpy array, a shared variable (or an expression), a
        callable such as an initializer, or a scalar. ``tags`` are flags such
        as ``trainable`` and ``regularizable`` (both on unless set False).
        The parameter is named ``"<layer name>.<name>"`` when the layer has a
        name.
        """
        full_name = name
        if name is not None and self.name is not None:
            full_name = f"{self.name}.{name}"
        try:
            param = create_param(spec, shape, full_name)
        except (ValueError, TypeError) as err:
            raise type(err)(f"{self!r}, parameter {name!r}: {err}") from None
        tags["trainable"] = tags.get("trainable", True)
        tags["regularizable"] = tags.get("regularizable", True)
        self.params[param] = {tag for tag, value in tags.items() if value}
        return param


def _check_output_shape(layer, shape):
    if any(isinstance(s, Variable) for s in shape):
        raise ValueError(f"{type(layer).__name__}.get_output_shape_for() returned a symbolic "
                         f"shape {shape!r}; shapes must be tuples of ints (fixed sizes) and "
                         "None (unknown sizes)")


class MergeLayer(Layer):
    """Base class of layers with several inputs (``incomings``: layers or shapes).

    ``get_output_shape_for`` receives the list of input shapes and
    ``get_output_for`` the list of input expressions.
    """

    def __init__(self, incomings, name=None):
        self.input_shapes = [inc if isinstance(inc, tuple) else inc.output_shape
                             for inc in incomings]
        self.input_layers = [None if isinstance(inc, tuple) else inc for inc in incomings]
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []
        for shape in self.input_shapes:
            _check_shape(shape, f"{type(self).__name__}", name)

    @property
    def output_shape(self):
        shape = self.get_output_shape_for(self.input_shapes)
        _check_output_shape(self, shape)
        return shape

    def get_output_shape_for(self, input_shapes):
        """The output shape for the list ``input_shapes`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement "
                                  "get_output_shape_for()")

    def get_output_for(self, inputs, **kwargs):
        """The output expression for the list of input expressions (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_for()")
