"""Walking layer graphs: outputs, shapes, parameters and their values."""
from __future__ import annotations

import warnings
from collections import deque
from difflib import get_close_matches

import numpy as np

from ..core import tensor as T
from ..utils import unique
from .base import Layer, MergeLayer
from .input import InputLayer

__all__ = ["get_all_layers", "get_output", "get_output_shape", "get_all_params",
           "count_params", "get_all_param_values", "set_all_param_values"]


def _inputs_of(layer):
    if isinstance(layer, MergeLayer):
        return [lyr for lyr in layer.input_layers if lyr is not None]
    return [layer.input_layer] if getattr(layer, "input_layer", None) is not None else []


def get_all_layers(layer, treat_as_input=None):
    """Every layer the given layer(s) depend on, each after its inputs."""
    layers = list(layer) if isinstance(layer, (list, tuple)) else [layer]
    stop = {id(lyr) for lyr in (treat_as_input or [])}
    result, done = [], set()
    stack = [(lyr, False) for lyr in reversed(layers)]
    while stack:
        lyr, expanded = stack.pop()
        if id(lyr) in done:
            continue
        if expanded or id(lyr) in stop:
            done.add(id(lyr))
            result.append(lyr)
            continue
        stack.append((lyr, True))
        for inp in reversed(_inputs_of(lyr)):
            if id(inp) not in done:
                stack.append((inp, False))
    return result


def get_output(layer_or_layers, inputs=None, **kwargs):
    """The symbolic output of the layer(s); ``deterministic=True`` turns off noise.

    ``inputs``: a variable or array for the single input layer, or a dict
    mapping layers to expressions.
    """
    accepted = {"deterministic"}
    treat_as_input = list(inputs.keys()) if isinstance(inputs, dict) else []
    all_layers = get_all_layers(layer_or_layers, treat_as_input)
    outputs = {id(lyr): lyr.input_var for lyr in all_layers
               if isinstance(lyr, InputLayer) and lyr not in treat_as_input}
    if isinstance(inputs, dict):
        outputs.update({id(lyr): T.as_tensor_variable(expr) for lyr, expr in inputs.items()})
    elif inputs is not None:
        if len(outputs) > 1:
            raise ValueError("get_output: the network has several input layers; pass inputs as "
                             "a dict mapping each InputLayer to its expression")
        for key in outputs:
            outputs[key] = T.as_tensor_variable(inputs)
    for lyr in all_layers:
        if id(lyr) in outputs:
            continue
        try:
            if isinstance(lyr, MergeLayer):
                layer_input = [outputs[id(i)] for i in lyr.input_layers]
            else:
                layer_input = outputs[id(lyr.input_layer)]
        except KeyError:
            raise ValueError(f"get_output: {lyr!r} has no input layer to take its input from "
                             "(it was built from a shape tuple); pass its input in the "
                             "inputs dict") from None
        accepted |= set(getattr(lyr, "get_output_kwargs", []))
        outputs[id(lyr)] = lyr.get_output_for(layer_input, **kwargs)
    unused = set(kwargs) - accepted
    for name in sorted(unused):
        near = get_close_matches(name, accepted, n=1)
        hint = f" (perhaps you meant {near[0]!r})" if near else ""
        warnings.warn(f"get_output() was called with unused keyword argument {name!r}{hint}",
                      stacklevel=2)
    if isinstance(layer_or_layers, (list, tuple)):
        return [outputs[id(lyr)] for lyr in layer_or_layers]
    return outputs[id(layer_or_layers)]


def get_output_shape(layer_or_layers, input_shapes=None):
    """Output shape(s), optionally for other input shapes (a shape or a {layer: shape} dict)."""
    if input_shapes is None:
        if isinstance(layer_or_layers, (list, tuple)):
            return [lyr.output_shape for lyr in layer_or_layers]
        return layer_or_layers.output_shape
    treat_as_input = list(input_shapes.keys()) if isinstance(input_shapes, dict) else []
    all_layers = get_all_layers(layer_or_layers, treat_as_input)
    shapes = {id(lyr): lyr.output_shape for lyr in all_layers
              if isinstance(lyr, InputLayer) and lyr not in treat_as_input}
    if isinstance(input_shapes, dict):
        shapes.update({id(k): tuple(v) for k, v in input_shapes.items()})
    else:
        for key in shapes:
            shapes[key] = tuple(input_shapes)
    for lyr in all_layers:
        if id(lyr) not in shapes:
            if isinstance(lyr, MergeLayer):
                shapes[id(lyr)] = lyr.get_output_shape_for([shapes[id(i)] for i in lyr.input_layers])
            else:
                shapes[id(lyr)] = lyr.get_output_shape_for(shapes[id(lyr.input_layer)])
    if isinstance(layer_or_layers, (list, tuple)):
        return [shapes[id(lyr)] for lyr in layer_or_layers]
    return shapes[id(layer_or_layers)]


def get_all_params(layer, unwrap_shared=True, **tags):
    """Parameters of every layer the given layer(s) depend on, filtered by ``tags``."""
    params = [p for lyr in get_all_layers(layer) for p in lyr.get_params(unwrap_shared, **tags)]
    return unique(params)


def count_params(layer, **tags):
    """The number of scalar parameters (filtered by ``tags``)."""
    return int(sum(np.prod(p.get_value(borrow=True).shape) for p in get_all_params(layer, **tags)))


def get_all_param_values(layer, **tags):
    return [p.get_value() for p in get_all_params(layer, **tags)]


def set_all_param_values(layer, values, **tags):
    """Set every parameter from a list of arrays; all shapes are checked before any is set."""
    params = get_all_params(layer, **tags)
    if len(params) != len(values):
        raise ValueError(f"set_all_param_values: got {len(values)} values for {len(params)} "
                         "parameters")
    for i, (p, v) in enumerate(zip(params, values)):
        have = p.get_value(borrow=True).shape
        if tuple(np.shape(v)) != have:
            raise ValueError(f"set_all_param_values: parameter {i} ({p.name or 'unnamed'}) has "
                             f"shape {have}, the value given has shape {np.shape(v)}")
    for p, v in zip(params, values):
        p.set_value(np.asarray(v, dtype=p.dtype))
