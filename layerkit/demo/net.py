"""The demo's conv net, in Lasagne's style."""
from __future__ import annotations

__all__ = ["build_cnn"]


def build_cnn(input_var=None):
    """8x8 digits -> two 3x3 conv + 2x2 max-pool stages -> dropout -> dense 128 -> 10-way softmax.

    (Dropout after the dense layer too made the test accuracy worse and less
    steady across seeds: the shifted training images already regularize.)
    """
    # lazy: layerkit.demo imports this module, and loads the layers (and core) only when the
    # demo trains, not for `layerkit demo --help` (see main)
    from layerkit import layers
    from layerkit.nonlinearities import rectify, softmax

    net = layers.InputLayer((None, 1, 8, 8), input_var=input_var, name="input")
    net = layers.Conv2DLayer(net, 32, (3, 3), pad="same", nonlinearity=rectify, name="conv1")
    net = layers.MaxPool2DLayer(net, (2, 2), name="pool1")
    net = layers.Conv2DLayer(net, 64, (3, 3), pad="same", nonlinearity=rectify, name="conv2")
    net = layers.MaxPool2DLayer(net, (2, 2), name="pool2")
    net = layers.DropoutLayer(net, p=0.25, name="dropout")
    net = layers.DenseLayer(net, 128, nonlinearity=rectify, name="fc")
    return layers.DenseLayer(net, 10, nonlinearity=softmax, name="output")
