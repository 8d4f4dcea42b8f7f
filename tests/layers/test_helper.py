"""Helpers: get_all_layers, get_output, get_output_shape, parameters and their values."""
import warnings

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init, nonlinearities, objectives, updates
from layerkit.layers import (DenseLayer, InputLayer, Layer, MergeLayer, count_params,
                             get_all_layers, get_all_param_values, get_all_params, get_output,
                             get_output_shape, set_all_param_values)


class Concat(MergeLayer):
    def get_output_shape_for(self, input_shapes):
        return input_shapes[0][:1] + (sum(s[1] for s in input_shapes),)

    def get_output_for(self, inputs, **kwargs):
        return T.concatenate(inputs, axis=1)


class Recorder(Layer):
    """Records the keyword arguments get_output passes down."""

    def get_output_for(self, input, deterministic=False, **kwargs):
        self.seen = dict(kwargs, deterministic=deterministic)
        return input


@pytest.fixture
def chain():
    l_in = InputLayer((None, 4), name="in")
    l_h = DenseLayer(l_in, 5, name="h")
    l_out = DenseLayer(l_h, 3, name="out", nonlinearity=None)
    return l_in, l_h, l_out


@pytest.fixture
def diamond():
    """in1 -> a, in2 -> b; merge(a, b) -> out."""
    in1, in2 = InputLayer((None, 2), name="in1"), InputLayer((None, 3), name="in2")
    a, b = DenseLayer(in1, 4, name="a"), DenseLayer(in2, 4, name="b")
    merge = Concat([a, b], name="merge")
    out = DenseLayer(merge, 1, name="out")
    return in1, in2, a, b, merge, out


# -- get_all_layers -----------------------------------------------------------

def test_get_all_layers_of_a_chain(chain):
    l_in, l_h, l_out = chain
    assert get_all_layers(l_out) == [l_in, l_h, l_out]
    assert get_all_layers(l_h) == [l_in, l_h]
    assert get_all_layers([l_out, l_h]) == [l_in, l_h, l_out]
    assert get_all_layers([l_h, l_out]) == [l_in, l_h, l_out]


def test_get_all_layers_of_a_merge_is_depth_first_in_input_order(diamond):
    in1, in2, a, b, merge, out = diamond
    assert get_all_layers(out) == [in1, a, in2, b, merge, out]


def test_get_all_layers_shared_input_appears_once():
    l_in = InputLayer((None, 2))
    a, b = DenseLayer(l_in, 3), DenseLayer(l_in, 3)
    merge = Concat([a, b])
    assert get_all_layers(merge) == [l_in, a, b, merge]


def test_get_all_layers_treat_as_input(chain, diamond):
    l_in, l_h, l_out = chain
    assert get_all_layers(l_out, treat_as_input=[l_h]) == [l_h, l_out]
    in1, in2, a, b, merge, out = diamond
    assert get_all_layers(out, treat_as_input=[a]) == [a, in2, b, merge, out]


def test_get_all_layers_skips_shape_only_inputs():
    layer = Concat([InputLayer((None, 2)), (None, 2)])
    assert len(get_all_layers(layer)) == 2


# -- get_output -----------------------------------------------------------

def test_get_output_uses_the_input_variables(chain, backend):
    l_in, l_h, l_out = chain
    out = get_output(l_out)
    f = theano.function([l_in.input_var], out, backend=backend.name)
    x = np.random.RandomState(0).rand(3, 4).astype("float32")
    W1, b1, W2, b2 = [p.get_value() for p in get_all_params(l_out)]
    np.testing.assert_allclose(f(x), np.maximum(x @ W1 + b1, 0) @ W2 + b2, rtol=1e-5, atol=1e-6)


def test_get_output_of_a_list(chain):
    l_in, l_h, l_out = chain
    h, out = get_output([l_h, l_out])
    assert h.ndim == out.ndim == 2
    assert isinstance(get_output((l_h, l_out)), list)


def test_get_output_with_one_variable_or_an_array(chain, backend):
    l_in, l_h, l_out = chain
    x = T.matrix("x")
    f = theano.function([x], get_output(l_out, x), backend=backend.name)
    value = np.ones((2, 4), dtype="float32")
    const = theano.function([], get_output(l_out, value), backend=backend.name)
    np.testing.assert_allclose(f(value), const(), rtol=1e-6)


def test_get_output_with_a_dict_can_cut_the_network(chain, backend):
    l_in, l_h, l_out = chain
    h = T.matrix("h")
    f = theano.function([h], get_output(l_out, {l_h: h}), backend=backend.name)
    value = np.ones((2, 5), dtype="float32")
    W2, b2 = l_out.W.get_value(), l_out.b.get_value()
    np.testing.assert_allclose(f(value), value @ W2 + b2, rtol=1e-6)


def test_get_output_of_several_inputs(diamond, backend):
    in1, in2, a, b, merge, out = diamond
    x1, x2 = T.matrix("x1"), T.matrix("x2")
    f = theano.function([x1, x2], get_output(merge, {in1: x1, in2: x2}), backend=backend.name)
    assert f(np.ones((2, 2), "float32"), np.ones((2, 3), "float32")).shape == (2, 8)
    with pytest.raises(ValueError, match="single input expression on a network with 2 input"):
        get_output(out, x1)


def test_get_output_of_a_free_floating_layer_needs_its_input():
    layer = DenseLayer((None, 3), 2)
    with pytest.raises(ValueError, match="free-floating layer"):
        get_output(layer)
    with pytest.raises(ValueError, match="free-floating layer"):
        get_output(layer, T.matrix())
    assert layer.get_output_for(T.matrix()).ndim == 2


def test_get_output_passes_keyword_arguments():
    rec = Recorder(InputLayer((None, 2)))
    get_output(rec, deterministic=True)
    assert rec.seen == {"deterministic": True}
    get_output(rec)
    assert rec.seen == {"deterministic": False}


def test_get_output_warns_about_unused_keywords_with_a_suggestion(chain):
    with pytest.warns(UserWarning, match="determinstic \\(perhaps you meant deterministic\\)"):
        get_output(chain[2], determinstic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_output(chain[2], deterministic=True)


def test_get_output_kwargs_declared_by_a_layer_are_accepted():
    rec = Recorder(InputLayer((None, 2)))
    rec.get_output_kwargs = ["batch_norm_use_averages"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_output(rec, batch_norm_use_averages=True)
    assert rec.seen["batch_norm_use_averages"] is True


# -- get_output_shape -------------------------------------------------------

def test_get_output_shape(chain, diamond):
    l_in, l_h, l_out = chain
    assert get_output_shape(l_out) == (None, 3)
    assert get_output_shape([l_h, l_out]) == [(None, 5), (None, 3)]
    assert get_output_shape(l_out, (7, 4)) == (7, 3)
    assert get_output_shape(l_out, {l_in: (8, 4)}) == (8, 3)
    in1, in2, a, b, merge, out = diamond
    assert get_output_shape(merge, {in1: (5, 2), in2: (5, 3)}) == (5, 8)
    with pytest.raises(ValueError, match="single input shape on a network with 2 input"):
        get_output_shape(merge, (5, 2))


# -- parameters -------------------------------------------------------------

def test_get_all_params_in_order_with_tags(chain):
    l_in, l_h, l_out = chain
    assert get_all_params(l_out) == [l_h.W, l_h.b, l_out.W, l_out.b]
    assert get_all_params(l_out, regularizable=True) == [l_h.W, l_out.W]
    assert get_all_params(l_out, trainable=True, regularizable=False) == [l_h.b, l_out.b]
    assert get_all_params(l_in) == []


def test_get_all_params_shared_between_layers_appear_once():
    l_in = InputLayer((None, 3))
    l1 = DenseLayer(l_in, 3)
    l2 = DenseLayer(l1, 3, W=l1.W, b=l1.b)
    assert get_all_params(l2) == [l1.W, l1.b]
    assert count_params(l2) == 12


def test_count_params(chain, diamond):
    assert count_params(chain[2]) == 4 * 5 + 5 + 5 * 3 + 3
    assert count_params(chain[2], regularizable=False) == 8
    assert count_params(diamond[-1]) == (2 * 4 + 4) + (3 * 4 + 4) + (8 + 1)


def test_param_values_round_trip(chain):
    l_out = chain[2]
    values = get_all_param_values(l_out)
    assert [v.shape for v in values] == [(4, 5), (5,), (5, 3), (3,)]
    new = [np.full_like(v, i) for i, v in enumerate(values)]
    set_all_param_values(l_out, new)
    for i, p in enumerate(get_all_params(l_out)):
        assert (p.get_value() == i).all()
    set_all_param_values(l_out, [v.astype("float64") for v in values])   # cast to float32
    assert get_all_params(l_out)[0].get_value().dtype == np.float32
    np.testing.assert_array_equal(get_all_param_values(l_out)[0], values[0])


def test_set_all_param_values_checks_the_count(chain):
    with pytest.raises(ValueError, match="got 3 values to set 4 parameters"):
        set_all_param_values(chain[2], get_all_param_values(chain[2])[:3])


def test_set_all_param_values_checks_every_shape_before_setting_any(chain):
    l_out = chain[2]
    before = get_all_param_values(l_out)
    bad = [v + 1 for v in before]
    bad[2] = np.zeros((3, 5), dtype="float32")
    with pytest.raises(ValueError) as err:
        set_all_param_values(l_out, bad)
    assert "out.W" in str(err.value) and "(5, 3)" in str(err.value) and "(3, 5)" in str(err.value)
    for p, v in zip(get_all_params(l_out), before):
        np.testing.assert_array_equal(p.get_value(), v)


def test_set_all_param_values_refuses_another_dtype_kind(chain):
    values = get_all_param_values(chain[2])[:-1] + [np.zeros(3, dtype="complex64")]
    with pytest.raises(TypeError, match="dtype float32"):
        set_all_param_values(chain[2], values)


# -- the whole loop -----------------------------------------------------------

def test_mlp_trains_with_nesterov_momentum(backend):
    """Issue 4's 'done when': a dense MLP trains through get_output, get_all_params, function."""
    import layerkit.random
    layerkit.random.seed(0)
    rng = np.random.RandomState(0)
    X = rng.randn(200, 2).astype("float32")
    y = (X[:, 0] * X[:, 1] > 0).astype("int32")         # XOR of the signs
    l_in = InputLayer((None, 2))
    net = DenseLayer(l_in, 16, W=init.GlorotUniform(gain="relu"))
    net = DenseLayer(net, 2, nonlinearity=nonlinearities.softmax)
    targets = T.ivector("targets")
    loss = objectives.categorical_crossentropy(get_output(net), targets).mean()
    params = get_all_params(net, trainable=True)
    train = theano.function([l_in.input_var, targets], loss, backend=backend.name,
                            updates=updates.nesterov_momentum(loss, params, 0.1, 0.9))
    acc = objectives.categorical_accuracy(get_output(net, deterministic=True), targets).mean()
    evaluate = theano.function([l_in.input_var, targets], acc, backend=backend.name)
    losses = [float(train(X, y)) for _ in range(150)]
    assert losses[-1] < 0.5 * losses[0]
    assert float(evaluate(X, y)) > 0.9
