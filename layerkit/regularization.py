"""Weight penalties (Lasagne's ``lasagne.regularization``): graph builders.

>>> from layerkit.layers import InputLayer, DenseLayer
>>> from layerkit.regularization import regularize_network_params, l2
>>> net = DenseLayer(InputLayer((None, 4)), num_units=3)
>>> penalty = regularize_network_params(net, l2)   # sum of W ** 2; biases are left out
>>> penalty.ndim
0
"""
from __future__ import annotations

from .core import tensor as T
from .core.graph import Variable
from .layers.base import Layer
from .layers.helper import get_all_params

__all__ = ["l1", "l2", "apply_penalty", "regularize_layer_params",
           "regularize_layer_params_weighted", "regularize_network_params"]


def l1(x):
    """``sum(|x|)``."""
    return T.sum(abs(x))


def l2(x):
    """``sum(x ** 2)`` (no factor 1/2)."""
    return T.sum(x ** 2)


def apply_penalty(tensor_or_tensors, penalty, **kwargs):
    """``penalty`` of one expression, or the sum of it over a list of them."""
    if isinstance(tensor_or_tensors, Variable):
        return penalty(tensor_or_tensors, **kwargs)
    return sum(penalty(x, **kwargs) for x in tensor_or_tensors)


def _layer_list(layer):
    return [layer] if isinstance(layer, Layer) else list(layer)


# the mutable default ``tags`` dicts are Lasagne's signatures; they are never mutated
def regularize_layer_params(layer, penalty, tags={"regularizable": True}, **kwargs):  # noqa: B006
    """The penalty of the parameters (selected by ``tags``) of one layer or a list of layers."""
    params = []
    for lyr in _layer_list(layer):
        params += lyr.get_params(**tags)
    return apply_penalty(params, penalty, **kwargs)


def regularize_layer_params_weighted(layers, penalty, tags={"regularizable": True},  # noqa: B006
                                     **kwargs):
    """``sum(coefficient * penalty(params of layer))`` over a dict ``{layer: coefficient}``."""
    return sum(coeff * apply_penalty(layer.get_params(**tags), penalty, **kwargs)
               for layer, coeff in layers.items())


def regularize_network_params(layer, penalty, tags={"regularizable": True}, **kwargs):  # noqa: B006
    """The penalty of every parameter (selected by ``tags``) of the network below ``layer``."""
    return apply_penalty(get_all_params(layer, **tags), penalty, **kwargs)
