"""Layers (Lasagne's ``lasagne.layers``): small objects that build graphs.

A network is a chain (or graph) of layers starting at an :class:`InputLayer`;
:func:`get_output` builds its expression, :func:`get_all_params` collects its
parameters for an update rule.

>>> from layerkit.layers import InputLayer, DenseLayer, get_output, count_params
>>> from layerkit.nonlinearities import softmax
>>> l_in = InputLayer((None, 784))
>>> l_hid = DenseLayer(l_in, num_units=100)
>>> l_out = DenseLayer(l_hid, num_units=10, nonlinearity=softmax)
>>> count_params(l_out)
79510
>>> get_output(l_out).ndim
2
"""
from .base import Layer, MergeLayer
from .conv import (BaseConvLayer, Conv1DLayer, Conv2DLayer, Conv3DLayer, Deconv2DLayer,
                   Deconv3DLayer, DilatedConv2DLayer, TransposedConv2DLayer,
                   TransposedConv3DLayer)
from .dense import DenseLayer, NINLayer
from .embedding import EmbeddingLayer
from .helper import (count_params, get_all_layers, get_all_param_values, get_all_params,
                     get_output, get_output_shape, set_all_param_values)
from .input import InputLayer
from .local import LocallyConnected2DLayer
from .merge import (ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer, autocrop,
                    autocrop_array_shapes, concat)
from .noise import (DropoutLayer, GaussianNoiseLayer, dropout, dropout_channels,
                    dropout_locations, spatial_dropout)
from .normalization import (BatchNormLayer, LocalResponseNormalization2DLayer,
                            StandardizationLayer, batch_norm, instance_norm, layer_norm)
from .pool import (FeaturePoolLayer, FeatureWTALayer, GlobalPoolLayer, MaxPool1DLayer,
                   MaxPool2DLayer, MaxPool3DLayer, Pool1DLayer, Pool2DLayer, Pool3DLayer,
                   SpatialPyramidPoolingLayer, Upscale1DLayer, Upscale2DLayer, Upscale3DLayer)
from .recurrent import CustomRecurrentLayer, GRULayer, Gate, LSTMLayer, RecurrentLayer
from .shape import (DimshuffleLayer, FlattenLayer, PadLayer, ReshapeLayer, SliceLayer, dimshuffle,
                    flatten, pad, reshape)
from .special import (BiasLayer, ExpressionLayer, InverseLayer, NonlinearityLayer,
                      ParametricRectifierLayer, RandomizedRectifierLayer, ScaleLayer,
                      TPSTransformerLayer, TransformerLayer, prelu, rrelu, standardize)
from .summary_table import summary
from . import corrmm, cuda_convnet, dnn  # Lasagne's GPU layer modules, as portable layers

# Lasagne's short names: the very same classes
Input = InputLayer
Dense = DenseLayer
Conv1D = Conv1DLayer
Conv2D = Conv2DLayer
Pool2D = Pool2DLayer
MaxPool2D = MaxPool2DLayer
Dropout = DropoutLayer

__all__ = [
    # bases and the first layers
    "Layer", "MergeLayer", "InputLayer", "DenseLayer", "NonlinearityLayer",
    # helpers
    "get_output", "get_output_shape", "get_all_layers", "get_all_params", "count_params",
    "get_all_param_values", "set_all_param_values", "summary",
    # the other layers
    "NINLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer", "BaseConvLayer", "Conv1DLayer",
    "Conv2DLayer", "Pool1DLayer", "MaxPool1DLayer", "Pool2DLayer", "MaxPool2DLayer",
    "GlobalPoolLayer", "Upscale2DLayer", "DropoutLayer", "dropout", "GaussianNoiseLayer",
    "FlattenLayer", "flatten", "ReshapeLayer", "reshape", "DimshuffleLayer", "dimshuffle",
    "SliceLayer", "PadLayer", "pad", "ConcatLayer", "concat", "ElemwiseMergeLayer",
    "ElemwiseSumLayer", "autocrop", "autocrop_array_shapes", "TransposedConv2DLayer",
    "Deconv2DLayer", "DilatedConv2DLayer", "EmbeddingLayer", "LocalResponseNormalization2DLayer",
    "BatchNormLayer", "batch_norm", "dropout_channels", "spatial_dropout", "dropout_locations",
    "standardize", "ParametricRectifierLayer", "prelu", "RandomizedRectifierLayer", "rrelu",
    # issue 18's missing layers
    "FeaturePoolLayer", "FeatureWTALayer", "StandardizationLayer", "instance_norm",
    "layer_norm", "Upscale1DLayer", "Upscale3DLayer", "SpatialPyramidPoolingLayer",
    "InverseLayer", "TransformerLayer", "Conv3DLayer", "TransposedConv3DLayer", "Deconv3DLayer",
    "Pool3DLayer", "MaxPool3DLayer", "LocallyConnected2DLayer", "TPSTransformerLayer",
    # recurrent layers (issue 19)
    "CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer",
    # short names
    "Input", "Dense", "Conv1D", "Conv2D", "Pool2D", "MaxPool2D", "Dropout",
]
