"""Shared checks for the layer tests: one training step of a layer on a backend."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T


@pytest.fixture
def float64():
    """floatX = float64 for the test (references are float64)."""
    old = theano.config.floatX
    theano.config.floatX = "float64"
    yield
    theano.config.floatX = old


def sgd_step_check(layer, x_value, backend, learning_rate=0.1):
    """One SGD step on ``mean(output ** 2)`` through get_output/get_all_params/function.

    Checks the output shape against ``layer.output_shape``, that every
    trainable parameter moves by exactly ``-learning_rate * grad`` (the
    gradient computed by a separate function before the step), and that the
    loss falls. Returns the output before the step.
    """
    from layerkit.layers import get_all_layers, get_all_params, get_output
    from layerkit.updates import sgd

    l_in = get_all_layers(layer)[0]
    out = get_output(layer)
    loss = T.mean(out ** 2)
    params = get_all_params(layer, trainable=True)
    assert params, f"{layer!r} has no trainable parameters"
    grads = T.grad(loss, params)
    f_out = theano.function([l_in.input_var], [out, loss] + grads, backend=backend.name)
    step = theano.function([l_in.input_var], loss, updates=sgd(loss, params, learning_rate),
                           backend=backend.name)
    before = [p.get_value() for p in params]
    y, loss0, *g = f_out(x_value)
    expected = tuple(s if s is not None else y.shape[i] for i, s in enumerate(layer.output_shape))
    assert y.shape == expected
    step(x_value)
    for p, b, gp in zip(params, before, g):
        np.testing.assert_allclose(p.get_value(), b - learning_rate * gp, rtol=1e-6, atol=1e-7,
                                   err_msg=f"parameter {p.name}")
    assert float(f_out(x_value)[1]) < float(loss0)
    return y


@pytest.fixture
def train_step():
    return sgd_step_check
