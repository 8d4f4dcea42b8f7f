"""The input layer (Lasagne's ``lasagne.layers.InputLayer``)."""
from __future__ import annotations

import numbers
from collections import OrderedDict

from ..core import config
from ..core.ignored import warn_ignored
from ..core.types import TensorType
from .base import Layer

__all__ = ["InputLayer"]


def _label(name):
    return "InputLayer" if name is None else f"InputLayer {name!r}"


def _check_shape(shape, name):
    """``shape`` as a tuple of positive ints and Nones, or a clear error."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        # InputLayer(784) is a common slip for InputLayer((None, 784))
        raise TypeError(f"{_label(name)}: shape must be a tuple of ints and None (None for "
                        f"sizes not known in advance, such as the batch size), got {shape!r}")
    dims = tuple(shape)
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral)):
            raise TypeError(f"{_label(name)}: every entry of shape must be an int or None, "
                            f"got {d!r} in shape={dims}")
    if any(d is not None and d <= 0 for d in dims):
        raise ValueError(f"cannot create InputLayer with a non-positive shape dimension: "
                         f"shape={dims}, name={name!r}")
    return tuple(None if d is None else int(d) for d in dims)


class InputLayer(Layer):
    """The start of a network: holds the symbolic input variable.

    Parameters
    ----------
    shape : tuple of int or None
        The input's shape; ``None`` for sizes not known in advance (usually
        the batch size): ``InputLayer((None, 784))``.
    input_var : a symbolic variable, optional
        The variable to use; by default a new floatX variable with as many
        dimensions as ``shape``, named ``"<name>.input"`` or ``"input"``.
    name : str, optional

    >>> l_in = InputLayer((None, 3, 28, 28))
    >>> l_in.input_var.ndim, l_in.output_shape
    (4, (None, 3, 28, 28))
    """

    def __init__(self, shape, input_var=None, name=None, **kwargs):
        for arg in sorted(kwargs):   # Lasagne accepts and ignores them too: say so
            warn_ignored("InputLayer", arg, "an input layer has no such setting")
        self.shape = _check_shape(shape, name)
        ndim = len(self.shape)
        if input_var is None:
            var_name = f"{name}.input" if name is not None else "input"
            input_var = TensorType(config.floatX, broadcastable=(False,) * ndim)(var_name)
        elif input_var.ndim != ndim:
            raise ValueError(f"{_label(name)}: shape {self.shape} has {ndim} dimensions, "
                             f"but input_var {input_var} has {input_var.ndim}")
        self.input_var = input_var
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []
        self.input_shape = self.shape
        self.input_layer = None

    @property
    def output_shape(self):
        return self.shape
