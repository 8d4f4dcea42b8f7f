"""The layer base classes (Lasagne's design): a layer knows its input layer(s),
its parameters with tags, its output shape, and how to build its output."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..core import tensor as T
from ..core.graph import Variable
from ..core.shared import SharedVariable, shared
from ..utils import floatX

__all__ = ["Layer", "MergeLayer"]


class Layer:
    """Base class for layers with one input.

    Subclasses implement ``get_output_shape_for(input_shape)`` (tuple
    arithmetic, ``None`` for unknown sizes) and ``get_output_for(input, **kw)``
    (the expression). ``__init__`` validates and calls :meth:`add_param`.
    """

    def __init__(self, incoming, name=None):
        if isinstance(incoming, tuple):
            self.input_shape, self.input_layer = incoming, None
        else:
            self.input_shape, self.input_layer = incoming.output_shape, incoming
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []
        if any(d is not None and d <= 0 for d in self.input_shape):
            raise ValueError(f"cannot create layer {name or type(self).__name__} with a "
                             f"non-positive input_shape dimension: input_shape={self.input_shape}")

    @property
    def output_shape(self):
        shape = self.get_output_shape_for(self.input_shape)
        if any(isinstance(s, Variable) for s in shape):
            raise ValueError(f"{type(self).__name__} returned a symbolic output shape {shape}")
        return shape

    def get_params(self, unwrap_shared=True, **tags):
        """Parameters with every tag in ``tags`` set as given (``trainable=True`` ...)."""
        result = list(self.params.keys())
        only = {t for t, v in tags.items() if v}
        exclude = {t for t, v in tags.items() if not v}
        if only:
            result = [p for p in result if not (only - self.params[p])]
        if exclude:
            result = [p for p in result if not (self.params[p] & exclude)]
        return result

    def get_output_shape_for(self, input_shape):
        return input_shape

    def get_output_for(self, input, **kwargs):
        raise NotImplementedError

    def add_param(self, spec, shape, name=None, **tags):
        """Create (or adopt) a parameter from ``spec`` and register it with ``tags``.

        ``spec``: a numpy array, a shared variable, an expression, a callable
        or an initializer taking ``shape``. ``trainable`` and ``regularizable``
        default to True.
        """
        if name is not None and self.name is not None:
            name = f"{self.name}.{name}"
        param = _create_param(spec, shape, name, self)
        tags.setdefault("trainable", True)
        tags.setdefault("regularizable", True)
        if isinstance(param, SharedVariable):
            self.params[param] = {t for t, v in tags.items() if v}
        return param

    def __repr__(self):
        return f"<{type(self).__name__}{' ' + repr(self.name) if self.name else ''} " \
               f"output_shape={self.output_shape}>"


class MergeLayer(Layer):
    """Base class for layers with several inputs."""

    def __init__(self, incomings, name=None):
        self.input_shapes = [i if isinstance(i, tuple) else i.output_shape for i in incomings]
        self.input_layers = [None if isinstance(i, tuple) else i for i in incomings]
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self):
        return self.get_output_shape_for(self.input_shapes)

    def get_output_shape_for(self, input_shapes):
        raise NotImplementedError

    def get_output_for(self, inputs, **kwargs):
        raise NotImplementedError


def _create_param(spec, shape, name, layer):
    where = f"{type(layer).__name__}{' ' + repr(layer.name) if layer.name else ''}"
    shape = tuple(shape)
    if any(d <= 0 for d in shape):
        raise ValueError(f"{where}: cannot create parameter {name or ''} with a non-positive "
                         f"shape {shape}")
    if isinstance(spec, Variable):
        if spec.ndim != len(shape):
            raise ValueError(f"{where}: parameter {name or spec.name or ''} has {spec.ndim} "
                             f"dimensions, should be {len(shape)} (shape {shape})")
        if isinstance(spec, SharedVariable):
            actual = spec.get_value(borrow=True).shape
            if actual != shape:
                raise ValueError(f"{where}: parameter {name or spec.name or ''} has shape "
                                 f"{actual}, should be {shape}")
            if name is not None and spec.name is None:
                spec.name = name
        return spec
    if isinstance(spec, np.ndarray):
        arr = spec
    elif callable(spec):
        arr = spec(shape)
        if isinstance(arr, Variable):
            return _create_param(arr, shape, name, layer)
        arr = np.asarray(arr)
    else:
        raise TypeError(f"{where}: cannot make parameter {name or ''} from {type(spec).__name__}; "
                        "expected a numpy array, a shared variable, an expression or a callable")
    if arr.shape != shape:
        raise ValueError(f"{where}: parameter {name or ''} has shape {arr.shape}, should be {shape}")
    bcast = tuple(s == 1 for s in shape)
    return shared(arr, name=name, broadcastable=bcast)
