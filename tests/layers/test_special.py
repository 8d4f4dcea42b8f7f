"""BiasLayer, ScaleLayer, standardize, ExpressionLayer, ParametricRectifierLayer (prelu),
RandomizedRectifierLayer (rrelu): shapes, parameters and tags, values against numpy in
float64, one training step on every backend."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init, nonlinearities
from layerkit.layers import (BiasLayer, DenseLayer, ExpressionLayer, InputLayer,
                             ParametricRectifierLayer, RandomizedRectifierLayer, ScaleLayer,
                             count_params, get_all_params, get_output, prelu, rrelu, standardize)


def _compile(layer, l_in, backend, **kwargs):
    return theano.function([l_in.input_var], get_output(layer, **kwargs), backend=backend.name)


# -- BiasLayer and ScaleLayer --------------------------------------------------------

@pytest.mark.parametrize("cls, attr", [(BiasLayer, "b"), (ScaleLayer, "scales")])
@pytest.mark.parametrize("shared_axes, shape", [
    ("auto", (30,)), ((0, 2), (30, 50)), (0, (30, 40, 50)), ((0, 1, 2, 3), ()),
])
def test_bias_and_scale_shapes(cls, attr, shared_axes, shape):
    layer = cls((20, 30, 40, 50), shared_axes=shared_axes)
    assert getattr(layer, attr).get_value().shape == shape
    assert layer.output_shape == (20, 30, 40, 50)
    assert count_params(layer) == int(np.prod(shape))
    assert layer.get_params(regularizable=True) == []      # neither is regularizable
    assert layer.get_params(trainable=True) == [getattr(layer, attr)]


def test_bias_and_scale_defaults_and_errors():
    assert np.all(BiasLayer((None, 3)).b.get_value() == 0)
    assert np.all(ScaleLayer((None, 3)).scales.get_value() == 1)
    assert BiasLayer((None, 3), b=None).get_params() == []
    with pytest.raises(ValueError, match="BiasLayer needs specified input sizes"):
        BiasLayer((None, None, 3))
    with pytest.raises(ValueError, match="ScaleLayer needs specified input sizes"):
        ScaleLayer((None, 3, 4), shared_axes=1)


@pytest.mark.parametrize("shared_axes", ["auto", (0, 2)])
def test_bias_and_scale_values(shared_axes, backend, float64):
    rng = np.random.RandomState(0)
    x = rng.randn(2, 3, 4)
    l_in = InputLayer((None, 3, 4))
    bias = BiasLayer(l_in, b=init.Normal(1.0), shared_axes=shared_axes)
    scale = ScaleLayer(bias, scales=init.Normal(1.0), shared_axes=shared_axes)
    b, s = bias.b.get_value(), scale.scales.get_value()
    assert b.shape == s.shape == (3,)           # for 3-d input both mean: one per channel
    b, s = b[None, :, None], s[None, :, None]
    np.testing.assert_allclose(_compile(scale, l_in, backend)(x), (x + b) * s, rtol=1e-14)


def test_bias_and_scale_values_over_other_axes(backend, float64):
    x = np.random.RandomState(1).randn(2, 3, 4)
    l_in = InputLayer((None, 3, 4))
    bias = BiasLayer(l_in, b=init.Normal(1.0), shared_axes=(0, 1))
    scale = ScaleLayer(bias, scales=init.Normal(1.0), shared_axes=0)
    b, s = bias.b.get_value(), scale.scales.get_value()
    assert b.shape == (4,) and s.shape == (3, 4)
    np.testing.assert_allclose(_compile(scale, l_in, backend)(x), (x + b) * s, rtol=1e-14)


def test_bias_and_scale_train(backend, train_step):
    l_in = InputLayer((None, 3, 4))
    layer = ScaleLayer(BiasLayer(l_in, b=init.Constant(0.5)), scales=init.Constant(2.0))
    assert count_params(layer) == 6
    train_step(layer, np.random.RandomState(2).rand(2, 3, 4).astype("float32"), backend)


def test_standardize(backend, float64):
    data = np.random.RandomState(3).randn(50, 3) * [1.0, 2.0, 3.0] + [4.0, 5.0, 6.0]
    l_in = InputLayer((None, 3))
    top = standardize(l_in, data.mean(0), data.std(0), shared_axes=0)
    assert isinstance(top, ScaleLayer) and isinstance(top.input_layer, BiasLayer)
    assert get_all_params(top, trainable=True) == []
    assert len(get_all_params(top)) == 2
    out = _compile(top, l_in, backend)(data)
    np.testing.assert_allclose(out, (data - data.mean(0)) / data.std(0), rtol=1e-12)


# -- ExpressionLayer -----------------------------------------------------------------

@pytest.mark.parametrize("function, output_shape, expected", [
    (lambda X: X.mean(-1), "auto", (32, 100)),
    (lambda X: X.reshape((X.shape[0], -1)), "auto", (32, 2000)),
    (lambda X: X[:, 1:, ::2], "auto", (32, 99, 10)),
    (lambda X: 2 * X, None, (32, 100, 20)),
    (lambda X: X.sum(axis=(1, 2)), (32,), (32,)),
    (lambda X: X.sum(axis=2), lambda shape: shape[:2], (32, 100)),
])
def test_expression_layer_shapes(function, output_shape, expected):
    layer = ExpressionLayer(InputLayer((32, 100, 20)), function, output_shape=output_shape)
    assert layer.output_shape == expected
    assert get_output(layer).ndim == len(expected)
    assert count_params(layer) == 0


def test_expression_layer_auto_keeps_unknown_sizes_unknown():
    layer = ExpressionLayer(InputLayer((None, 3, 4)), lambda X: X.flatten(2), output_shape="auto")
    assert layer.output_shape == (None, 12)


def test_expression_layer_values_and_training(backend, float64, train_step):
    x = np.random.RandomState(4).randn(3, 4)
    l_in = InputLayer((None, 4))
    layer = ExpressionLayer(l_in, lambda X: T.tanh(X) * X, output_shape="auto")
    np.testing.assert_allclose(_compile(layer, l_in, backend)(x), np.tanh(x) * x, rtol=1e-13)
    dense = DenseLayer(l_in, 3, b=init.Constant(0.1))
    train_step(ExpressionLayer(dense, lambda X: X.sum(axis=1), output_shape="auto"), x, backend)


# -- ParametricRectifierLayer and prelu -------------------------------------------------

@pytest.mark.parametrize("shared_axes, shape", [("auto", (4,)), ("all", ()), ((0, 1), (5, 6))])
def test_prelu_shapes(shared_axes, shape):
    layer = ParametricRectifierLayer(InputLayer((None, 4, 5, 6)), shared_axes=shared_axes)
    assert layer.alpha.get_value().shape == shape
    assert np.all(layer.alpha.get_value() == 0.25)
    assert layer.output_shape == (None, 4, 5, 6)
    assert layer.get_params(regularizable=True) == []
    with pytest.raises(ValueError, match="needs known input sizes"):
        ParametricRectifierLayer(InputLayer((None, None)))


def test_prelu_values_and_training(backend, float64, train_step):
    x = np.random.RandomState(5).randn(3, 4, 2)
    l_in = InputLayer((None, 4, 2))
    layer = ParametricRectifierLayer(l_in, alpha=init.Uniform((0.1, 0.5)))
    alpha = layer.alpha.get_value()[None, :, None]
    np.testing.assert_allclose(_compile(layer, l_in, backend)(x),
                               np.where(x > 0, x, alpha * x), rtol=1e-14)
    train_step(layer, x, backend)


def test_prelu_helper_takes_over_the_nonlinearity():
    dense = DenseLayer(InputLayer((None, 3)), 4)
    layer = prelu(dense, shared_axes="all")
    assert isinstance(layer, ParametricRectifierLayer) and layer.input_layer is dense
    assert dense.nonlinearity is nonlinearities.identity
    assert layer.alpha.get_value().shape == ()


# -- RandomizedRectifierLayer and rrelu -------------------------------------------------

def test_rrelu_deterministic_uses_the_mean_leakiness(backend, float64):
    x = np.random.RandomState(6).randn(3, 4)
    l_in = InputLayer((None, 4))
    layer = RandomizedRectifierLayer(l_in)
    assert (layer.lower, layer.upper, layer.shared_axes) == (0.3, 0.8, (0,))
    out = _compile(layer, l_in, backend, deterministic=True)(x)
    np.testing.assert_allclose(out, np.where(x > 0, x, 0.55 * x), rtol=1e-14)
    with pytest.raises(ValueError, match="upper bound must not be below"):
        RandomizedRectifierLayer(l_in, lower=0.5, upper=0.2)


def test_rrelu_training_draws_the_leakiness(backend, float64):
    x = -np.ones((50, 4, 3))
    l_in = InputLayer((None, 4, 3))
    f = _compile(RandomizedRectifierLayer(l_in, 0.2, 0.6), l_in, backend)
    leak = -f(x)
    assert np.all((leak >= 0.2) & (leak <= 0.6))
    assert np.all(leak == leak[0:1, :, 0:1])               # shared over axes 0 and 2
    assert len(np.unique(leak)) == 4                        # one draw per channel
    assert not np.array_equal(leak, -f(x))                  # a new draw per call
    positive = _compile(RandomizedRectifierLayer(l_in, shared_axes=()), l_in, backend)(-x)
    np.testing.assert_array_equal(positive, -x)


def test_rrelu_helper_and_training(backend, train_step):
    dense = DenseLayer(InputLayer((None, 3)), 4, b=init.Constant(0.1))
    layer = rrelu(dense, lower=0.1, upper=0.1)       # a fixed leakiness: training is exact
    assert dense.nonlinearity is nonlinearities.identity
    train_step(layer, np.random.RandomState(7).randn(5, 3).astype("float32"), backend)
