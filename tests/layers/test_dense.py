"""DenseLayer, NonlinearityLayer and NINLayer: shapes, parameters, values, one training step."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init, nonlinearities
from layerkit.layers import (Dense, DenseLayer, InputLayer, NINLayer, NonlinearityLayer,
                             count_params, get_output)


@pytest.mark.parametrize("shape, leading, out_shape, num_inputs", [
    ((None, 10), 1, (None, 7), 10),
    ((None, 3, 4, 5), 1, (None, 7), 60),
    ((None, 3, 4, 5), 2, (None, 3, 7), 20),
    ((None, 3, 4, 5), -1, (None, 3, 4, 7), 5),
    ((None, 3, 4, 5), -2, (None, 3, 7), 20),
    ((2, 3, 4, 5), 3, (2, 3, 4, 7), 5),
])
def test_output_shape_and_params(shape, leading, out_shape, num_inputs):
    layer = DenseLayer(InputLayer(shape), 7, num_leading_axes=leading)
    assert layer.output_shape == out_shape
    assert layer.W.get_value().shape == (num_inputs, 7)
    assert layer.b.get_value().shape == (7,)
    assert count_params(layer) == num_inputs * 7 + 7


def test_defaults_tags_and_names():
    layer = DenseLayer((None, 4), 3, name="fc")
    assert layer.nonlinearity is nonlinearities.rectify
    assert layer.num_leading_axes == 1
    assert (layer.W.name, layer.b.name) == ("fc.W", "fc.b")
    assert layer.get_params() == [layer.W, layer.b]
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.get_params(trainable=True) == [layer.W, layer.b]
    assert (layer.b.get_value() == 0).all()
    # GlorotUniform: |W| <= sqrt(6 / (fan_in + fan_out))
    assert np.abs(layer.W.get_value()).max() <= np.sqrt(6 / 7)


def test_no_bias_and_linear():
    layer = DenseLayer((None, 4), 3, b=None, nonlinearity=None)
    assert layer.b is None
    assert layer.get_params() == [layer.W]
    assert layer.nonlinearity is nonlinearities.identity
    assert count_params(layer) == 12


def test_given_arrays_and_shared_variables():
    W = np.ones((4, 3), dtype="float32")
    b = theano.shared(np.zeros(3, dtype="float32"))
    layer = DenseLayer((None, 4), 3, W=W, b=b)
    np.testing.assert_array_equal(layer.W.get_value(), W)
    assert layer.b is b


def test_wrong_weight_shape_names_the_parameter_and_both_shapes():
    with pytest.raises(ValueError) as err:
        DenseLayer((None, 4), 3, W=np.zeros((3, 4)), name="fc")
    message = str(err.value)
    for part in ["'fc'", "'W'", "(3, 4)", "(4, 3)"]:
        assert part in message


@pytest.mark.parametrize("leading, message", [
    (2, "num_leading_axes=2 for a 2-dimensional input"),
    (-3, "requesting more trailing axes"),
])
def test_bad_num_leading_axes(leading, message):
    with pytest.raises(ValueError, match=message):
        DenseLayer((None, 4), 3, num_leading_axes=leading)


def test_unknown_trailing_size_is_refused():
    with pytest.raises(ValueError, match="requires a fixed input shape"):
        DenseLayer((None, None, 4), 3)
    DenseLayer((None, None, 4), 3, num_leading_axes=2)   # fine: the unknown axis leads


@pytest.mark.parametrize("units", [0, -2, 2.5, "3"])
def test_bad_num_units(units):
    with pytest.raises(ValueError, match="num_units must be a positive integer"):
        DenseLayer((None, 4), units)


def test_short_name_is_the_same_class():
    assert Dense is DenseLayer


def _reference(x, W, b, leading, nonlin):
    lead = leading if leading >= 0 else x.ndim + leading
    flat = x.reshape(x.shape[:lead] + (-1,))
    return nonlin(flat @ W + b)


@pytest.mark.parametrize("leading", [1, 2, -1])
def test_values_against_numpy(leading, backend, float64):
    rng = np.random.RandomState(2)
    x = rng.randn(2, 3, 4, 5)
    layer = DenseLayer(InputLayer((None, 3, 4, 5)), 6, num_leading_axes=leading,
                       b=init.Normal(1.0), nonlinearity=nonlinearities.tanh)
    f = theano.function([layer.input_layer.input_var],
                        get_output(layer), backend=backend.name)
    expected = _reference(x, layer.W.get_value(), layer.b.get_value(), leading, np.tanh)
    out = f(x)
    assert out.shape == expected.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_input_of_more_dimensions_than_declared_is_flattened(backend, float64):
    # the layer reads the input's rank from the expression, as Lasagne's does
    l_in = InputLayer((None, 6))
    layer = DenseLayer(l_in, 2, nonlinearity=None)
    x = T.tensor3("x")
    f = theano.function([x], get_output(layer, {l_in: x}), backend=backend.name)
    value = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_allclose(f(value), value.reshape(2, 6) @ layer.W.get_value())


@pytest.mark.parametrize("leading", [1, 2])
def test_one_training_step(leading, backend, train_step):
    layer = DenseLayer(InputLayer((None, 3, 4)), 5, num_leading_axes=leading,
                       b=init.Constant(0.1))
    train_step(layer, np.random.RandomState(3).rand(6, 3, 4).astype("float32"), backend)


def test_nonlinearity_layer(backend, train_step):
    assert NonlinearityLayer((None, 3)).nonlinearity is nonlinearities.rectify
    assert NonlinearityLayer((None, 3), None).nonlinearity is nonlinearities.identity
    l_in = InputLayer((None, 4))
    layer = NonlinearityLayer(DenseLayer(l_in, 3, nonlinearity=None), nonlinearities.sigmoid)
    assert layer.output_shape == (None, 3)
    assert layer.get_params() == []
    assert count_params(layer) == 15
    x = np.random.RandomState(4).randn(5, 4).astype("float32")
    dense = layer.input_layer
    W, b = dense.W.get_value(), dense.b.get_value()
    y = train_step(layer, x, backend)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-(x.astype("float64") @ W + b))),
                               rtol=1e-5, atol=1e-6)


# -- NINLayer --------------------------------------------------------------------

@pytest.mark.parametrize("shape, untie, b_shape", [
    ((None, 3, 4, 5), False, (6,)), ((None, 3, 4, 5), True, (6, 4, 5)), ((None, 3, 7), False, (6,)),
])
def test_nin_shapes_and_params(shape, untie, b_shape):
    layer = NINLayer(InputLayer(shape), 6, untie_biases=untie)
    assert layer.output_shape == (None, 6) + shape[2:]
    assert layer.W.get_value().shape == (3, 6)
    assert layer.b.get_value().shape == b_shape
    assert count_params(layer) == 18 + int(np.prod(b_shape))
    assert layer.nonlinearity is nonlinearities.rectify
    assert layer.get_params(regularizable=True) == [layer.W]
    no_bias = NINLayer(InputLayer(shape), 6, b=None)
    assert no_bias.b is None and no_bias.get_params() == [no_bias.W]


@pytest.mark.parametrize("untie", [False, True])
def test_nin_values(untie, backend, float64):
    x = np.random.RandomState(5).randn(2, 3, 4, 5)
    l_in = InputLayer((None, 3, 4, 5))
    layer = NINLayer(l_in, 2, untie_biases=untie, b=init.Normal(1.0),
                     nonlinearity=nonlinearities.tanh)
    W, b = layer.W.get_value(), layer.b.get_value()
    bias = b[None] if untie else b[None, :, None, None]
    expected = np.tanh(np.einsum("nchw,cu->nuhw", x, W) + bias)
    f = theano.function([l_in.input_var], get_output(layer), backend=backend.name)
    np.testing.assert_allclose(f(x), expected, rtol=1e-12, atol=1e-12)


def test_nin_trains(backend, train_step):
    layer = NINLayer(InputLayer((None, 3, 4, 2)), 2, b=init.Constant(0.1),
                     nonlinearity=nonlinearities.tanh)
    train_step(layer, np.random.RandomState(6).rand(2, 3, 4, 2).astype("float32"), backend)
