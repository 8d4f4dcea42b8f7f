"""Penalties (Lasagne's ``lasagne.regularization``): graph builders."""
from __future__ import annotations

from .core import tensor as T
from .layers import get_all_params

__all__ = ["l1", "l2", "apply_penalty", "regularize_layer_params",
           "regularize_layer_params_weighted", "regularize_network_params"]


def l1(x):
    return T.sum(abs(x))


def l2(x):
    return T.sum(x ** 2)


def apply_penalty(tensor_or_tensors, penalty, **kwargs):
    """``penalty`` summed over one tensor or a list of them."""
    try:
        return sum(penalty(x, **kwargs) for x in tensor_or_tensors)
    except (TypeError, ValueError):
        return penalty(tensor_or_tensors, **kwargs)


def regularize_layer_params(layer, penalty, tags={"regularizable": True}, **kwargs):
    layers = [layer] if not isinstance(layer, (list, tuple)) else layer
    params = [p for lyr in layers for p in lyr.get_params(**tags)]
    return apply_penalty(params, penalty, **kwargs)


def regularize_layer_params_weighted(layers, penalty, tags={"regularizable": True}, **kwargs):
    """``sum(coefficient * penalty(params of layer))`` over a {layer: coefficient} dict."""
    return sum(coeff * apply_penalty(layer.get_params(**tags), penalty, **kwargs)
               for layer, coeff in layers.items())


def regularize_network_params(layer, penalty, tags={"regularizable": True}, **kwargs):
    return apply_penalty(get_all_params(layer, **tags), penalty, **kwargs)
