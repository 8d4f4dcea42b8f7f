"""Layers (Lasagne's ``lasagne.layers``): small objects that build graphs.

>>> from layerkit.layers import InputLayer, DenseLayer, get_output, count_params
>>> net = DenseLayer(InputLayer((None, 784)), num_units=10)
>>> count_params(net)
7850
"""
from .base import Layer, MergeLayer
from .conv import BaseConvLayer, Conv1DLayer, Conv2DLayer
from .dense import DenseLayer, NINLayer
from .helper import (count_params, get_all_layers, get_all_param_values, get_all_params,
                     get_output, get_output_shape, set_all_param_values)
from .input import InputLayer
from .merge import ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer, concat
from .noise import DropoutLayer, GaussianNoiseLayer, dropout
from .pool import (GlobalPoolLayer, MaxPool1DLayer, MaxPool2DLayer, Pool1DLayer, Pool2DLayer,
                   Upscale2DLayer)
from .shape import (DimshuffleLayer, FlattenLayer, PadLayer, ReshapeLayer, SliceLayer, dimshuffle,
                    flatten, pad, reshape)
from .special import BiasLayer, ExpressionLayer, NonlinearityLayer, ScaleLayer

# Lasagne's short names are the same classes
Input, Dense, Conv2D, Conv1D = InputLayer, DenseLayer, Conv2DLayer, Conv1DLayer
Pool2D, MaxPool2D, Dropout = Pool2DLayer, MaxPool2DLayer, DropoutLayer
NonlinearityLayer = NonlinearityLayer

__all__ = [
    "Layer", "MergeLayer", "InputLayer", "DenseLayer", "NINLayer", "NonlinearityLayer",
    "BiasLayer", "ScaleLayer", "ExpressionLayer", "BaseConvLayer", "Conv1DLayer", "Conv2DLayer",
    "Pool1DLayer", "MaxPool1DLayer", "Pool2DLayer", "MaxPool2DLayer", "GlobalPoolLayer",
    "Upscale2DLayer", "DropoutLayer", "dropout", "GaussianNoiseLayer", "FlattenLayer", "flatten",
    "ReshapeLayer", "reshape", "DimshuffleLayer", "dimshuffle", "SliceLayer", "PadLayer", "pad",
    "ConcatLayer", "concat", "ElemwiseMergeLayer", "ElemwiseSumLayer",
    "get_output", "get_output_shape", "get_all_layers", "get_all_params", "count_params",
    "get_all_param_values", "set_all_param_values",
    "Input", "Dense", "Conv2D", "Conv1D", "Pool2D", "MaxPool2D", "Dropout",
]
