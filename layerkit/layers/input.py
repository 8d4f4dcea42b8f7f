"""The input layer: where data enters a network."""
from __future__ import annotations

from ..core import config
from ..core import tensor as T
from ..core.graph import Variable
from .base import Layer

__all__ = ["InputLayer"]


class InputLayer(Layer):
    """A network's input: ``shape`` (``None`` for free sizes, usually the batch)."""

    def __init__(self, shape, input_var=None, name=None, **kwargs):
        self.shape = tuple(shape)
        if any(d is not None and (not isinstance(d, int) or d <= 0) for d in self.shape):
            raise ValueError(f"cannot create InputLayer with a non-positive or non-integer "
                             f"shape dimension: shape={self.shape}")
        ndim = len(self.shape)
        if input_var is None:
            var_name = f"{name}.input" if name is not None else "input"
            # sizes of 1 broadcast, as in Lasagne; other sizes stay free
            input_var = T.tensor(config.floatX, shape=tuple(1 if s == 1 else None for s in self.shape),
                                 name=var_name)
        elif not isinstance(input_var, Variable) or input_var.ndim != ndim:
            got = input_var.ndim if isinstance(input_var, Variable) else type(input_var).__name__
            raise ValueError(f"InputLayer: shape {self.shape} needs a {ndim}-d input_var, got {got}")
        self.input_var = input_var
        self.name = name
        self.params = {}
        self.get_output_kwargs = []
        self.input_layer = None
        self.input_shape = self.shape

    @Layer.output_shape.getter
    def output_shape(self):
        return self.shape
