"""LocalResponseNormalization2DLayer, BatchNormLayer and batch_norm: shapes, parameters and
tags, values against numpy float64 references in both modes, the running averages that a
training function updates (and that ``deterministic=True`` uses), one training step."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init, nonlinearities
from layerkit.layers import (BatchNormLayer, Conv2DLayer, DenseLayer, InputLayer,
                             LocalResponseNormalization2DLayer, NonlinearityLayer, batch_norm,
                             count_params, get_all_layers, get_all_params, get_output)
from layerkit.updates import sgd

# -- local response normalization -----------------------------------------------


def lrn_reference(x, alpha, k, beta, n):
    """Each value over (k + alpha * sum of squares of the n channels around it) ** beta."""
    out = np.empty_like(x)
    channels = x.shape[1]
    for c in range(channels):
        lo, hi = max(0, c - n // 2), min(channels, c + n // 2 + 1)
        s = (x[:, lo:hi] ** 2).sum(axis=1)
        out[:, c] = x[:, c] / (k + alpha * s) ** beta
    return out


def test_lrn_defaults_shape_and_errors():
    layer = LocalResponseNormalization2DLayer(InputLayer((None, 6, 4, 5)))
    assert (layer.alpha, layer.k, layer.beta, layer.n) == (1e-4, 2, 0.75, 5)
    assert layer.output_shape == (None, 6, 4, 5) and count_params(layer) == 0
    with pytest.raises(NotImplementedError, match="odd n"):
        LocalResponseNormalization2DLayer(InputLayer((None, 6, 4, 5)), n=4)
    with pytest.raises(ValueError, match="4-d input shape"):
        LocalResponseNormalization2DLayer(InputLayer((None, 6, 4)))


@pytest.mark.parametrize("params", [dict(), dict(alpha=0.3, k=1.5, beta=0.6, n=3)],
                         ids=["defaults", "strong"])
def test_lrn_values(params, backend, float64):
    x = np.random.RandomState(0).randn(2, 6, 3, 4) * 3
    l_in = InputLayer((None, 6, 3, 4))
    layer = LocalResponseNormalization2DLayer(l_in, **params)
    f = theano.function([l_in.input_var], get_output(layer), backend=backend.name)
    ref = lrn_reference(x, layer.alpha, layer.k, layer.beta, layer.n)
    np.testing.assert_allclose(f(x), ref, rtol=1e-12)


def test_lrn_trains(backend, train_step):
    l_in = InputLayer((None, 2, 4, 4))
    layer = LocalResponseNormalization2DLayer(Conv2DLayer(l_in, 5, 3, pad=1), alpha=0.1, n=3)
    train_step(layer, np.random.RandomState(1).rand(2, 2, 4, 4).astype("float32"), backend)


# -- batch normalization: construction ----------------------------------------------

@pytest.mark.parametrize("shape, axes, param_shape", [
    ((None, 6), "auto", (6,)), ((None, 3, 4, 5), "auto", (3,)), ((None, 3, 4), (0,), (3, 4)),
    ((None, 3, 4), -1, (None, 3)), ((None, 3, 4, 5), (0, 1), (4, 5)),
])
def test_batch_norm_params(shape, axes, param_shape):
    if None in param_shape:
        with pytest.raises(ValueError, match="needs known input sizes"):
            BatchNormLayer(InputLayer(shape), axes=axes)
        return
    layer = BatchNormLayer(InputLayer(shape), axes=axes)
    assert layer.output_shape == shape
    for p in (layer.beta, layer.gamma, layer.mean, layer.inv_std):
        assert p.get_value().shape == param_shape
    assert layer.get_params(trainable=True) == [layer.beta, layer.gamma]
    assert layer.get_params(regularizable=True) == [layer.gamma]
    assert count_params(layer) == 4 * int(np.prod(param_shape))
    assert count_params(layer, trainable=True) == 2 * int(np.prod(param_shape))


def test_batch_norm_defaults():
    layer = BatchNormLayer(InputLayer((None, 3, 4, 5)), name="bn")
    assert (layer.axes, layer.epsilon, layer.alpha) == ((0, 2, 3), 1e-4, 0.1)
    values = [p.get_value() for p in (layer.beta, layer.gamma, layer.mean, layer.inv_std)]
    assert [float(v[0]) for v in values] == [0.0, 1.0, 0.0, 1.0]
    assert [p.name for p in layer.get_params()] == ["bn.beta", "bn.gamma", "bn.mean", "bn.inv_std"]
    no_affine = BatchNormLayer(InputLayer((None, 3)), beta=None, gamma=None)
    assert no_affine.get_params(trainable=True) == []


# -- batch normalization: values ----------------------------------------------------

def _bn_reference(x, axes, beta, gamma, mean, inv_std):
    keep = [a for a in range(x.ndim) if a not in axes]

    def expand(v):
        shape = [x.shape[a] if a in keep else 1 for a in range(x.ndim)]
        return v.reshape(shape)
    return (x - expand(mean)) * expand(gamma) * expand(inv_std) + expand(beta)


def _batch_stats(x, axes, epsilon):
    return x.mean(axis=axes), 1 / np.sqrt(x.var(axis=axes) + epsilon)


@pytest.mark.parametrize("shape, axes", [((None, 3, 4, 5), "auto"), ((None, 3, 4), (0, 2)),
                                         ((None, 4), "auto")])
def test_batch_norm_values_in_both_modes(shape, axes, backend, float64):
    rng = np.random.RandomState(2)
    x = rng.randn(6, *shape[1:]) * 2 + 1
    l_in = InputLayer(shape)
    layer = BatchNormLayer(l_in, axes=axes, beta=init.Normal(1.0), gamma=init.Normal(1.0, 1.0),
                           mean=init.Normal(1.0), inv_std=init.Uniform((0.5, 2.0)))
    beta, gamma, mean, inv_std = [p.get_value() for p in layer.get_params()]
    train_out = theano.function([l_in.input_var], get_output(layer), backend=backend.name,
                                no_default_updates=True)
    test_out = theano.function([l_in.input_var], get_output(layer, deterministic=True),
                               backend=backend.name)
    batch_mean, batch_inv_std = _batch_stats(x, layer.axes, layer.epsilon)
    np.testing.assert_allclose(train_out(x), _bn_reference(x, layer.axes, beta, gamma,
                                                           batch_mean, batch_inv_std),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(test_out(x), _bn_reference(x, layer.axes, beta, gamma, mean,
                                                          inv_std), rtol=1e-12, atol=1e-12)
    # neither function moved the stored averages
    np.testing.assert_array_equal(layer.mean.get_value(), mean)
    np.testing.assert_array_equal(layer.inv_std.get_value(), inv_std)


def test_running_averages_are_updated_by_the_training_function(backend, float64):
    """Lasagne's rule: every call of a function compiled from the training expression moves
    mean and inv_std towards the batch's, with the parameters' values from before the call;
    a deterministic function uses the stored averages and changes nothing."""
    rng = np.random.RandomState(3)
    l_in = InputLayer((None, 4))
    dense = DenseLayer(l_in, 3, b=None, nonlinearity=None, W=init.Normal(1.0))
    bn = BatchNormLayer(dense, alpha=0.3)
    out = NonlinearityLayer(bn, nonlinearities.tanh)
    target = T.matrix("target")
    loss = T.mean((get_output(out) - target) ** 2)
    params = get_all_params(out, trainable=True)
    assert params == [dense.W, bn.beta, bn.gamma]
    train = theano.function([l_in.input_var, target], loss, updates=sgd(loss, params, 0.05),
                            backend=backend.name)
    predict = theano.function([l_in.input_var], get_output(out, deterministic=True),
                              backend=backend.name)
    mean, inv_std = np.zeros(3), np.ones(3)
    for step in range(3):
        x, y = rng.randn(8, 4), rng.randn(8, 3)
        W = dense.W.get_value()
        batch_mean, batch_inv_std = _batch_stats(x @ W, (0,), bn.epsilon)
        train(x, y)
        mean = 0.7 * mean + 0.3 * batch_mean
        inv_std = 0.7 * inv_std + 0.3 * batch_inv_std
        np.testing.assert_allclose(bn.mean.get_value(), mean, rtol=1e-12)
        np.testing.assert_allclose(bn.inv_std.get_value(), inv_std, rtol=1e-12)
    assert not np.allclose(dense.W.get_value(), W)          # the parameters trained too
    x = rng.randn(5, 4)
    beta, gamma = bn.beta.get_value(), bn.gamma.get_value()
    expected = np.tanh((x @ dense.W.get_value() - mean) * gamma * inv_std + beta)
    np.testing.assert_allclose(predict(x), expected, rtol=1e-12)
    np.testing.assert_allclose(bn.mean.get_value(), mean, rtol=1e-12)   # predict: no update


def test_batch_norm_keyword_overrides(float64):
    x = np.random.RandomState(4).randn(5, 3) * 3 + 2
    l_in = InputLayer((None, 3))
    layer = BatchNormLayer(l_in, alpha=0.5)

    def run(**kwargs):
        layer.mean.set_value(np.zeros(3))
        layer.inv_std.set_value(np.ones(3))
        out = theano.function([l_in.input_var], get_output(layer, **kwargs))(x)
        return out, layer.mean.get_value()
    # use the averages but still update them
    out, mean = run(batch_norm_use_averages=True)
    np.testing.assert_allclose(out, x, rtol=1e-12)
    np.testing.assert_allclose(mean, 0.5 * x.mean(0), rtol=1e-12)
    # batch statistics without updating
    out, mean = run(batch_norm_update_averages=False)
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-4), rtol=1e-10)
    np.testing.assert_array_equal(mean, 0)
    # deterministic, but update anyway
    out, mean = run(deterministic=True, batch_norm_update_averages=True)
    np.testing.assert_allclose(out, x, rtol=1e-12)
    np.testing.assert_allclose(mean, 0.5 * x.mean(0), rtol=1e-12)


# -- batch_norm ------------------------------------------------------------------------

def test_batch_norm_helper_moves_bias_and_nonlinearity():
    l_in = InputLayer((None, 3, 6, 6))
    conv = Conv2DLayer(l_in, 4, 3, name="conv", nonlinearity=nonlinearities.tanh)
    top = batch_norm(conv, epsilon=1e-3)
    layers = get_all_layers(top)
    assert [type(lyr).__name__ for lyr in layers] == \
        ["InputLayer", "Conv2DLayer", "BatchNormLayer", "NonlinearityLayer"]
    bn = layers[2]
    assert conv.b is None and conv.get_params() == [conv.W]
    assert conv.nonlinearity is nonlinearities.identity
    assert top.nonlinearity is nonlinearities.tanh
    assert (bn.name, top.name, bn.epsilon) == ("conv_bn", "conv_bn_nonlin", 1e-3)
    assert bn.beta.get_value().shape == (4,)
    # as in Lasagne, a layer built with nonlinearity=None holds the identity, which moves
    # up like any other; unnamed layers give unnamed new layers
    linear = batch_norm(DenseLayer(l_in, 5, nonlinearity=None))
    assert isinstance(linear, NonlinearityLayer) and linear.name is None
    assert linear.nonlinearity is nonlinearities.identity
    assert isinstance(linear.input_layer, BatchNormLayer) and linear.input_layer.name is None
    # a layer without a nonlinearity attribute gets only the BatchNormLayer
    assert isinstance(batch_norm(InputLayer((None, 3))), BatchNormLayer)


def test_batch_norm_network_trains(backend, train_step):
    l_in = InputLayer((None, 2, 4, 4))
    layer = batch_norm(Conv2DLayer(l_in, 3, 3, pad=1))
    layer = batch_norm(DenseLayer(layer, 4))
    train_step(layer, np.random.RandomState(5).rand(6, 2, 4, 4).astype("float32"), backend)
