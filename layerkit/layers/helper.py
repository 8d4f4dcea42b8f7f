"""Walking a network of layers (Lasagne's ``lasagne.layers.helper``): its
layers, its output expression and shape, its parameters and their values.

>>> from layerkit.layers import InputLayer, DenseLayer, get_all_layers, get_all_params
>>> l_in = InputLayer((None, 4), name="in")
>>> l_out = DenseLayer(DenseLayer(l_in, 8, name="h"), 2, name="out")
>>> [layer.name for layer in get_all_layers(l_out)]
['in', 'h', 'out']
>>> get_all_params(l_out, regularizable=True)
[h.W, out.W]
"""
from __future__ import annotations

import math
import warnings
from difflib import get_close_matches

import numpy as np

from ..utils import as_theano_expression, inspect_kwargs, unique
from .base import Layer, MergeLayer
from .input import InputLayer

__all__ = ["get_all_layers", "get_output", "get_output_shape", "get_all_params",
           "count_params", "get_all_param_values", "set_all_param_values"]


def _as_list(layer_or_layers):
    if isinstance(layer_or_layers, Layer):
        return [layer_or_layers], False
    return list(layer_or_layers), True


def _incoming(layer):
    if hasattr(layer, "input_layers"):
        return list(layer.input_layers)
    if hasattr(layer, "input_layer"):
        return [layer.input_layer]
    return []


def get_all_layers(layer, treat_as_input=None):
    """Every layer that ``layer`` (a layer or a list) depends on, itself included.

    The list is in topological order: each layer comes after all the layers
    it takes input from, in depth-first order of the inputs. Layers in
    ``treat_as_input`` are included but not expanded (their inputs are left out
    unless something else needs them).
    """
    start, _ = _as_list(layer)
    pending = list(reversed(start))        # a stack: its end is the next layer to visit
    expanded = set(treat_as_input or ())
    done = set()
    result = []
    while pending:
        current = pending[-1]
        if current is None:
            pending.pop()
        elif current not in expanded:
            # first visit: put its inputs on top; come back once they are done
            expanded.add(current)
            pending.extend(reversed(_incoming(current)))
        else:
            pending.pop()
            if current not in done:
                done.add(current)
                result.append(current)
    return result


def get_output(layer_or_layers, inputs=None, **kwargs):
    """The output expression of a layer (or a list of them, giving a list).

    Parameters
    ----------
    layer_or_layers : a :class:`Layer` or a list of them
    inputs : None, an expression or array, or a dict
        ``None`` uses the ``input_var`` of every :class:`InputLayer`. A single
        expression (or numpy array) is the input of the network's only input
        layer. A dict maps layers (input layers or any others) to the
        expressions to use as their outputs.
    **kwargs
        Passed to every layer's ``get_output_for``; ``deterministic=True``
        turns off dropout and other noise. An argument no layer accepts gets a
        warning, with the nearest accepted name.
    """
    accepted = {"deterministic"}
    given = inputs if isinstance(inputs, dict) else {}
    all_layers = get_all_layers(layer_or_layers, given.keys())
    outputs = {layer: layer.input_var for layer in all_layers
               if isinstance(layer, InputLayer) and layer not in given}
    if isinstance(inputs, dict):
        outputs.update((layer, as_theano_expression(expr)) for layer, expr in given.items())
    elif inputs is not None:
        if len(outputs) > 1:
            raise ValueError(f"get_output() was called with a single input expression on a "
                             f"network with {len(outputs)} input layers; pass a dict mapping "
                             "each input layer to its expression instead")
        for input_layer in outputs:
            outputs[input_layer] = as_theano_expression(inputs)
    for layer in all_layers:
        if layer in outputs:
            continue
        try:
            if isinstance(layer, MergeLayer):
                layer_input = [outputs[lyr] for lyr in layer.input_layers]
            else:
                layer_input = outputs[layer.input_layer]
        except KeyError:
            raise ValueError(f"get_output() was called without an input expression for the "
                             f"free-floating layer {layer!r} (built from a shape, not a layer); "
                             "build it on an InputLayer, or call its get_output_for() with the "
                             "input expression") from None
        outputs[layer] = layer.get_output_for(layer_input, **kwargs)
        try:
            accepted.update(inspect_kwargs(layer.get_output_for))
        except (TypeError, ValueError):
            pass
        accepted.update(getattr(layer, "get_output_kwargs", ()))
    _warn_unused(set(kwargs) - accepted, accepted)
    layers, many = _as_list(layer_or_layers)
    return [outputs[layer] for layer in layers] if many else outputs[layers[0]]


def _warn_unused(unused, accepted):
    if not unused:
        return
    notes = []
    for name in sorted(unused):
        near = get_close_matches(name, sorted(accepted), n=1)
        notes.append(f"{name} (perhaps you meant {near[0]})" if near else name)
    warnings.warn("get_output() was called with unused kwargs:\n\t" + "\n\t".join(notes),
                  stacklevel=3)


def get_output_shape(layer_or_layers, input_shapes=None):
    """The output shape of a layer (or a list), optionally for other input shapes.

    ``input_shapes`` is ``None`` (the shapes the layers were built with), one
    shape for the network's only input layer, or a dict mapping layers to
    shapes.
    """
    layers, many = _as_list(layer_or_layers)
    if input_shapes is None or input_shapes == {}:
        shapes = [layer.output_shape for layer in layers]
        return shapes if many else shapes[0]
    given = input_shapes if isinstance(input_shapes, dict) else {}
    all_layers = get_all_layers(layers, given.keys())
    known = {layer: layer.shape for layer in all_layers
             if isinstance(layer, InputLayer) and layer not in given}
    if given:
        known.update((layer, tuple(shape)) for layer, shape in given.items())
    else:
        if len(known) > 1:
            raise ValueError(f"get_output_shape() was called with a single input shape on a "
                             f"network with {len(known)} input layers; pass a dict mapping "
                             "each input layer to its shape instead")
        for input_layer in known:
            known[input_layer] = tuple(input_shapes)
    for layer in all_layers:
        if layer not in known:
            if isinstance(layer, MergeLayer):
                shape_in = [known[lyr] for lyr in layer.input_layers]
            else:
                shape_in = known[layer.input_layer]
            known[layer] = layer.get_output_shape_for(shape_in)
    shapes = [known[layer] for layer in layers]
    return shapes if many else shapes[0]


def get_all_params(layer, unwrap_shared=True, **tags):
    """The parameters of every layer below ``layer`` (a layer or a list), each once.

    ``tags`` filter as in :meth:`Layer.get_params`: ``trainable=True`` keeps
    the trainable ones, ``regularizable=False`` drops the regularizable ones.
    """
    params = []
    for lyr in get_all_layers(layer):
        params.extend(lyr.get_params(unwrap_shared=unwrap_shared, **tags))
    return unique(params)


def count_params(layer, **tags):
    """The number of scalar parameters below ``layer`` (selected by ``tags``)."""
    return sum(math.prod(p.get_value(borrow=True).shape) for p in get_all_params(layer, **tags))


def get_all_param_values(layer, **tags):
    """The values (numpy arrays) of :func:`get_all_params`, in the same order."""
    return [p.get_value() for p in get_all_params(layer, **tags)]


def set_all_param_values(layer, values, **tags):
    """Set the parameters of :func:`get_all_params` from a list of arrays, in order.

    The number of values and every shape (and dtype kind) are checked before
    any parameter is changed, so a mismatch leaves the network as it was.
    Float values are cast to the parameter's dtype (float64 -> float32).
    """
    params = get_all_params(layer, **tags)
    values = list(values)
    if len(params) != len(values):
        raise ValueError(f"set_all_param_values: got {len(values)} values to set "
                         f"{len(params)} parameters")
    arrays = []
    for i, (param, value) in enumerate(zip(params, values)):
        value = np.asarray(value)
        expected = param.get_value(borrow=True).shape
        label = f"parameter {i} ({param.name or 'unnamed'})"
        if value.shape != expected:
            raise ValueError(f"set_all_param_values: {label} has shape {expected}, but the "
                             f"value to set has shape {value.shape}")
        if not np.can_cast(value.dtype, param.dtype, "same_kind"):
            raise TypeError(f"set_all_param_values: {label} has dtype {param.dtype}, but the "
                            f"value to set has dtype {value.dtype}")
        arrays.append(value.astype(param.dtype, copy=False))
    for param, value in zip(params, arrays):
        param.set_value(value)
