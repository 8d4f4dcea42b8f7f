"""Lasagne's MNIST tutorial (examples/lasagne_mnist_tutorial.py), changed only in its
imports and data loader, trains each of its three models on local digits: the training
loss falls and the deterministic validation and test accuracies beat chance (10 %).

Shortened runs (a few hundred images, 2-3 epochs) on the numpy backend; the examples'
README gives the full sizes.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import layerkit
import layerkit.core as theano

pytestmark = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                reason="needs scikit-learn (pip install 'layerkit[examples]')")


@pytest.fixture
def tutorial(run):
    """``tutorial(*argv)``: the script's ``main(argv)`` (conftest's ``run``)."""
    return lambda *argv: run("lasagne_mnist_tutorial", *argv)


def test_mlp(tutorial):
    r = tutorial("--model", "mlp", "--epochs", 2, "--ntrain", 500, "--nval", 200,
                 "--ntest", 200, "--batch-size", 50)
    assert r["train_loss"][1] < r["train_loss"][0] < np.log(10) + 0.2
    assert r["val_acc"][-1] > 0.5 and r["test_acc"] > 0.5
    # the validation function is deterministic (dropout off); the training output is not
    from layerkit.layers import get_all_layers, get_output
    net = r["network"]
    assert [type(layer).__name__ for layer in get_all_layers(net)] == [
        "InputLayer", "DropoutLayer", "DenseLayer", "DropoutLayer", "DenseLayer",
        "DropoutLayer", "DenseLayer"]
    x = get_all_layers(net)[0].input_var
    with layerkit.use("numpy"):
        clean = theano.function([x], get_output(net, deterministic=True))
        noisy = theano.function([x], get_output(net))
    batch = np.random.RandomState(0).rand(4, 1, 28, 28).astype("float32")
    np.testing.assert_array_equal(clean(batch), clean(batch))
    assert not np.allclose(noisy(batch), clean(batch))


def test_custom_mlp(tutorial):
    r = tutorial("--model", "custom_mlp:3,64,0.1,0.2", "--epochs", 3, "--ntrain", 500,
                 "--nval", 200, "--ntest", 200, "--batch-size", 25)
    from layerkit.layers import DenseLayer, DropoutLayer, get_all_layers
    layers = get_all_layers(r["network"])
    assert [layer.num_units for layer in layers if isinstance(layer, DenseLayer)] == \
        [64, 64, 64, 10]
    assert [layer.p for layer in layers if isinstance(layer, DropoutLayer)] == \
        [0.1, 0.2, 0.2, 0.2]
    assert r["train_loss"][-1] < r["train_loss"][0]
    assert r["val_acc"][-1] > 0.3 and r["test_acc"] > 0.3


def test_cnn(tutorial, tmp_path):
    r = tutorial("--model", "cnn", "--epochs", 2, "--ntrain", 200, "--nval", 100,
                 "--ntest", 200, "--batch-size", 20, "--save", tmp_path / "model.npz")
    assert r["train_loss"][1] < r["train_loss"][0]
    assert r["val_loss"][1] < r["val_loss"][0] < np.log(10) + 0.1
    assert r["test_acc"] > 0.15            # 200 test images: chance is 0.10 +- 0.02
    # the tutorial's np.savez of get_all_param_values loads back into the network
    from layerkit.layers import get_all_param_values, set_all_param_values
    saved = np.load(tmp_path / "model.npz")
    values = [saved["arr_%d" % i] for i in range(len(saved.files))]
    assert [v.shape for v in values] == [(32, 1, 5, 5), (32,), (32, 32, 5, 5), (32,),
                                         (512, 256), (256,), (256, 10), (10,)]
    set_all_param_values(r["network"], values)
    for a, b in zip(get_all_param_values(r["network"]), values):
        np.testing.assert_array_equal(a, b)
