"""DropoutLayer (and dropout_channels, dropout_locations) and GaussianNoiseLayer: off under
``deterministic=True``; in training, the mask's rate, rescaling and shared axes, checked
statistically with a fixed seed; a new mask per call; training through them."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init
from layerkit.layers import (BiasLayer, Dropout, DropoutLayer, GaussianNoiseLayer, InputLayer,
                             count_params, dropout, dropout_channels, dropout_locations,
                             get_output, spatial_dropout)
from layerkit.updates import sgd


def _compile(layer, l_in, backend, **kwargs):
    return theano.function([l_in.input_var], get_output(layer, **kwargs), backend=backend.name)


def test_dropout_defaults_and_errors():
    layer = DropoutLayer(InputLayer((None, 10)))
    assert (layer.p, layer.rescale, layer.shared_axes) == (0.5, True, ())
    assert Dropout is DropoutLayer and dropout is DropoutLayer
    assert layer.output_shape == (None, 10) and count_params(layer) == 0
    for p in (-0.1, 1, 1.5):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
            DropoutLayer(InputLayer((None, 10)), p=p)


def test_dropout_helpers_set_the_shared_axes():
    l_in = InputLayer((None, 3, 4, 5))
    assert dropout_channels(l_in, p=0.2).shared_axes == (2, 3)
    assert spatial_dropout is dropout_channels
    assert dropout_locations(l_in).shared_axes == (1,)
    assert dropout_channels((None, 3, 4), 0.1).shared_axes == (2,)


@pytest.mark.parametrize("p, rescale", [(0.3, True), (0.5, False)])
def test_dropout_mask(p, rescale, backend, float64):
    l_in = InputLayer((None, 100))
    layer = DropoutLayer(l_in, p=p, rescale=rescale)
    x = np.ones((50, 100))
    f = _compile(layer, l_in, backend)
    out = f(x)
    kept = 1 / (1 - p) if rescale else 1.0
    assert set(np.unique(out)) <= {0.0, kept}
    # 5000 Bernoulli draws: the dropped fraction is within 4 standard deviations of p
    assert abs((out == 0).mean() - p) < 4 * np.sqrt(p * (1 - p) / out.size)
    assert not np.array_equal(out, f(x))                     # a new mask every call
    np.testing.assert_array_equal(_compile(layer, l_in, backend, deterministic=True)(x), x)


def test_dropout_shared_axes(backend, float64):
    l_in = InputLayer((None, 6, 5, 4))
    x = np.ones((20, 6, 5, 4))
    out = _compile(DropoutLayer(l_in, 0.5, shared_axes=(0, -1)), l_in, backend)(x)
    assert np.all(out == out[0:1, :, :, 0:1])                # one value along axes 0 and 3
    assert 0 < (out == 0).mean() < 1
    out = _compile(dropout_channels(l_in, 0.5), l_in, backend)(x)
    assert np.all(out == out[:, :, 0:1, 0:1])                # whole feature maps


def test_dropout_with_a_symbolic_rate(backend, float64):
    l_in = InputLayer((None, 200))
    rate = theano.shared(0.0)
    f = _compile(DropoutLayer(l_in, p=rate), l_in, backend)
    np.testing.assert_array_equal(f(np.ones((3, 200))), 1)
    rate.set_value(0.75)
    out = f(np.ones((3, 200)))
    assert set(np.unique(out)) <= {0.0, 4.0} and 0.6 < (out == 0).mean() < 0.9


def test_gaussian_noise(backend, float64):
    l_in = InputLayer((None, 100))
    layer = GaussianNoiseLayer(l_in, sigma=0.5)
    assert GaussianNoiseLayer(l_in).sigma == 0.1
    x = np.full((50, 100), 3.0)
    noise = _compile(layer, l_in, backend)(x) - 3.0
    assert abs(noise.mean()) < 4 * 0.5 / np.sqrt(noise.size)
    assert abs(noise.std() - 0.5) < 0.02
    np.testing.assert_array_equal(_compile(layer, l_in, backend, deterministic=True)(x), x)


@pytest.mark.parametrize("make", [lambda l: DropoutLayer(l, 0.2),
                                  lambda l: GaussianNoiseLayer(l, 0.01)],
                         ids=["dropout", "gaussian"])
def test_noise_layers_train(make, backend):
    """(train_step's exact check would compare two functions' different draws.) Five SGD
    steps through the noise move the bias below it so that the clean loss falls."""
    import layerkit.random
    layerkit.random.seed(1)
    l_in = InputLayer((None, 4))
    noisy = make(BiasLayer(l_in, b=init.Constant(0.5)))
    out = get_output(noisy)
    loss = T.mean(out ** 2)
    params = [noisy.input_layer.b]
    step = theano.function([l_in.input_var], loss, updates=sgd(loss, params, 0.1),
                           backend=backend.name)
    clean = theano.function([l_in.input_var], T.mean(get_output(noisy, deterministic=True) ** 2),
                            backend=backend.name)
    x = np.random.RandomState(2).rand(8, 4).astype("float32")
    before = float(clean(x))
    for _ in range(5):
        step(x)
    assert float(clean(x)) < before
