"""Layer and MergeLayer: construction, add_param, get_params, custom layers."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init
from layerkit.layers import InputLayer, Layer, MergeLayer, get_all_params, get_output
from layerkit.layers import count_params


class DotLayer(Layer):
    """The three-part custom layer of Lasagne's documentation."""

    def __init__(self, incoming, num_units, W=init.Normal(0.01), **kwargs):
        super().__init__(incoming, **kwargs)
        num_inputs = self.input_shape[1]
        self.num_units = num_units
        self.W = self.add_param(W, (num_inputs, num_units), name="W")

    def get_output_for(self, input, **kwargs):
        return T.dot(input, self.W)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_units)


class SumLayer(MergeLayer):
    def get_output_shape_for(self, input_shapes):
        return input_shapes[0]

    def get_output_for(self, inputs, **kwargs):
        return inputs[0] + inputs[1]


# -- construction ---------------------------------------------------------

def test_layer_from_a_shape_tuple():
    layer = Layer((None, 3, 4))
    assert layer.input_shape == (None, 3, 4)
    assert layer.input_layer is None
    assert layer.output_shape == (None, 3, 4)
    assert layer.name is None and len(layer.params) == 0


def test_layer_from_a_layer():
    l_in = InputLayer((2, 3))
    layer = Layer(l_in, name="mid")
    assert layer.input_layer is l_in
    assert layer.input_shape == (2, 3)
    assert "mid" in repr(layer)


def test_non_positive_input_shape_is_refused():
    with pytest.raises(ValueError, match="non-positive"):
        Layer((None, 0, 4), name="bad")


def test_get_output_for_must_be_implemented():
    with pytest.raises(NotImplementedError, match="Layer does not implement get_output_for"):
        Layer((2, 3)).get_output_for(T.matrix())


def test_symbolic_output_shape_is_refused():
    class Symbolic(Layer):
        def get_output_shape_for(self, input_shape):
            return (T.lscalar(), 3)

    with pytest.raises(ValueError, match="Symbolic.get_output_shape_for.*symbolic"):
        Symbolic((2, 3)).output_shape


# -- add_param ------------------------------------------------------------

def test_add_param_from_an_array_is_a_named_tagged_shared_variable():
    layer = Layer((2, 3), name="lyr")
    value = np.arange(6.0).reshape(2, 3)
    W = layer.add_param(value, (2, 3), name="W")
    assert isinstance(W, theano.SharedVariable)
    assert W.name == "lyr.W"
    np.testing.assert_array_equal(W.get_value(), value)
    assert layer.params[W] == {"trainable", "regularizable"}


def test_add_param_keeps_the_plain_name_without_a_layer_name():
    W = Layer((2, 3)).add_param(np.zeros((2, 3)), (2, 3), name="W")
    assert W.name == "W"


def test_add_param_tags_can_be_turned_off_and_added():
    layer = Layer((2, 3))
    b = layer.add_param(np.zeros(3), (3,), name="b", regularizable=False, mine=True)
    assert layer.params[b] == {"trainable", "mine"}


def test_add_param_from_an_initializer_and_a_callable():
    layer = Layer((2, 3))
    W = layer.add_param(init.Constant(2.0), (3, 4), name="W")
    assert W.get_value().shape == (3, 4) and W.dtype == theano.config.floatX
    assert (W.get_value() == 2.0).all()
    V = layer.add_param(lambda shape: np.ones(shape), (2, 5), name="V")
    assert V.get_value().shape == (2, 5)


def test_add_param_marks_size_one_dimensions_broadcastable():
    layer = Layer((2, 3))
    b = layer.add_param(init.Constant(0.0), (1, 4), name="b")
    assert b.broadcastable == (True, False)


def test_add_param_scalar_spec():
    p = Layer((2, 3)).add_param(3.0, (), name="scale")
    assert p.get_value() == 3.0


def test_add_param_shape_mismatch_names_layer_parameter_and_shapes():
    layer = Layer((2, 3), name="fc")
    with pytest.raises(ValueError) as err:
        layer.add_param(np.zeros((4, 5)), (3, 5), name="W")
    message = str(err.value)
    for part in ["'fc'", "'W'", "(4, 5)", "(3, 5)"]:
        assert part in message


def test_add_param_of_an_unusable_spec_says_what_was_given():
    with pytest.raises(TypeError) as err:
        Layer((2, 3), name="fc").add_param("zeros", (3, 5), name="W")
    message = str(err.value)
    for part in ["'fc'", "'W'", "the value given is of type str", "a callable"]:
        assert part in message


def test_add_param_initializer_returning_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="initializer returned an array of shape"):
        Layer((2, 3)).add_param(lambda shape: np.zeros((1, 1)), (3, 5), name="W")


def test_add_param_shared_variable_is_used_as_is():
    layer = Layer((2, 3))
    shared = theano.shared(np.zeros((3, 4)))
    assert layer.add_param(shared, (3, 4), name="W") is shared
    assert shared.name == "W"
    named = theano.shared(np.zeros((3, 4)), name="mine")
    assert layer.add_param(named, (3, 4), name="V").name == "mine"


def test_add_param_shared_variable_wrong_rank_or_shape_is_refused():
    with pytest.raises(ValueError, match="1 dimensions, expected 2"):
        Layer((2, 3), name="x").add_param(theano.shared(np.zeros(4)), (3, 4), name="W")
    with pytest.raises(ValueError, match="'W'.*shape \\(4, 3\\), expected shape \\(3, 4\\)"):
        Layer((2, 3), name="x").add_param(theano.shared(np.zeros((4, 3))), (3, 4), name="W")


def test_add_param_expression_is_unwrapped_by_get_params():
    layer = Layer((2, 3))
    shared = theano.shared(np.zeros((4, 3)), name="tied")
    W = layer.add_param(shared.T, (3, 4), name="W")
    assert W is not shared
    assert layer.get_params() == [shared]
    assert layer.get_params(unwrap_shared=False) == [W]


def test_add_param_bad_spec_type_is_refused():
    with pytest.raises(TypeError, match="expected a numpy array, a shared variable"):
        Layer((2, 3)).add_param("zeros", (3,), name="b")


def test_add_param_non_positive_shape_is_refused():
    with pytest.raises(ValueError, match="non-positive shape"):
        Layer((2, 3)).add_param(init.Constant(), (3, 0), name="W")


# -- get_params -----------------------------------------------------------

@pytest.fixture
def tagged_layer():
    layer = Layer((2, 3))
    a = layer.add_param(np.zeros(1), (1,), name="a")
    b = layer.add_param(np.zeros(1), (1,), name="b", regularizable=False)
    c = layer.add_param(np.zeros(1), (1,), name="c", trainable=False, special=True)
    return layer, a, b, c


def test_get_params_filters_by_tags(tagged_layer):
    layer, a, b, c = tagged_layer
    assert layer.get_params() == [a, b, c]
    assert layer.get_params(trainable=True) == [a, b]
    assert layer.get_params(regularizable=False) == [b]
    assert layer.get_params(trainable=True, regularizable=False) == [b]
    assert layer.get_params(special=True) == [c]
    assert layer.get_params(special=False) == [a, b]
    assert layer.get_params(trainable=True, special=True) == []


# -- MergeLayer -----------------------------------------------------------

def test_merge_layer_inputs_and_abstract_methods():
    l1, l2 = InputLayer((2, 3)), InputLayer((2, 3))
    layer = MergeLayer([l1, (2, 3)])
    assert layer.input_layers == [l1, None]
    assert layer.input_shapes == [(2, 3), (2, 3)]
    with pytest.raises(NotImplementedError, match="get_output_shape_for"):
        layer.output_shape
    with pytest.raises(NotImplementedError, match="get_output_for"):
        layer.get_output_for([l1.input_var, l2.input_var])


def test_custom_merge_layer_output(backend):
    l1, l2 = InputLayer((2, 3)), InputLayer((2, 3))
    layer = SumLayer([l1, l2])
    f = theano.function([l1.input_var, l2.input_var], get_output(layer), backend=backend.name)
    a = np.ones((2, 3), dtype="float32")
    np.testing.assert_array_equal(f(a, 2 * a), 3 * a)


# -- the three-method custom layer ------------------------------------------

def test_custom_dot_layer_shape_and_params():
    layer = DotLayer(InputLayer((None, 5)), num_units=3, name="dot")
    assert layer.output_shape == (None, 3)
    assert layer.W.get_value().shape == (5, 3)
    assert get_all_params(layer) == [layer.W]
    assert count_params(layer) == 15


def test_custom_dot_layer_trains(backend, train_step):
    layer = DotLayer(InputLayer((None, 5)), num_units=3, W=init.Normal(1.0))
    x = np.random.RandomState(0).randn(4, 5).astype("float32")
    W = layer.W.get_value()
    y = train_step(layer, x, backend)
    np.testing.assert_allclose(y, x.astype("float64") @ W, rtol=1e-5, atol=1e-5)
