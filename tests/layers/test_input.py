"""InputLayer: shape, input variable, checks."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.layers import DenseLayer, Input, InputLayer, get_all_params, get_output


def test_shape_and_default_variable():
    layer = InputLayer((None, 3, 5))
    assert layer.shape == layer.output_shape == (None, 3, 5)
    assert layer.input_var.ndim == 3
    assert layer.input_var.dtype == theano.config.floatX
    assert layer.input_var.broadcastable == (False, False, False)
    assert layer.input_var.name == "input"
    assert layer.params == {} and layer.get_params() == []
    assert layer.input_layer is None


def test_list_shape_becomes_a_tuple_and_sizes_of_one_do_not_broadcast():
    layer = InputLayer([2, 1])
    assert layer.output_shape == (2, 1)
    assert layer.input_var.broadcastable == (False, False)


def test_named_variable():
    assert InputLayer((None, 2), name="pixels").input_var.name == "pixels.input"


def test_floatx_is_read_at_creation():
    old = theano.config.floatX
    theano.config.floatX = "float64"
    try:
        assert InputLayer((None, 2)).input_var.dtype == "float64"
    finally:
        theano.config.floatX = old


def test_given_variable_is_used():
    x = T.imatrix("ids")
    layer = InputLayer((None, 4), input_var=x)
    assert layer.input_var is x
    assert get_output(layer) is x


def test_variable_of_wrong_rank_is_refused():
    with pytest.raises(ValueError, match="shape \\(None, 4\\) has 2 dimensions.*has 3"):
        InputLayer((None, 4), input_var=T.tensor3("x"))


def test_non_positive_shape_is_refused():
    with pytest.raises(ValueError, match="non-positive shape dimension"):
        InputLayer((None, -1))


@pytest.mark.parametrize("shape, message", [
    (784, "shape must be a tuple of ints and None"),
    ("ab", "shape must be a tuple of ints and None"),
    ((None, 2.5), "got 2.5 in shape=(None, 2.5)"),
    ((None, True), "every entry of shape must be an int or None"),
])
def test_malformed_shape_is_refused_with_what_was_given(shape, message):
    with pytest.raises(TypeError) as err:
        InputLayer(shape, name="pixels")
    assert message in str(err.value)
    assert "'pixels'" in str(err.value)


def test_numpy_integer_sizes_become_python_ints():
    layer = InputLayer((None, np.int64(3)))
    assert layer.output_shape == (None, 3)
    assert type(layer.output_shape[1]) is int


def test_short_name_is_the_same_class():
    assert Input is InputLayer


def test_output_is_the_data_on_every_backend(backend):
    layer = InputLayer((None, 3))
    f = theano.function([layer.input_var], get_output(layer) * 1, backend=backend.name)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(f(x), x)


def test_trains_below_a_dense_layer(backend, train_step):
    # an input layer has no parameters: it trains as the start of a network
    l_in = InputLayer((None, 3))
    net = DenseLayer(l_in, 2)
    assert get_all_params(l_in) == []
    train_step(net, np.random.RandomState(1).rand(5, 3).astype("float32"), backend)
