"""Initializers by their statistics, with tolerances wide enough for the sample
size and narrow enough to catch a wrong formula (a factor of sqrt(2) or 3)."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.random
from layerkit import init


@pytest.fixture(autouse=True)
def seeded():
    from layerkit.core.random import get_default_seed, set_default_seed
    old = get_default_seed()
    layerkit.random.seed(1234)
    yield
    layerkit.random.set_rng(np.random)
    set_default_seed(old)


def test_initializer_base():
    with pytest.raises(NotImplementedError, match="sample"):
        init.Initializer()((2, 2))

    class Twos(init.Initializer):
        def sample(self, shape):
            return np.full(shape, 2.0)

    assert (Twos()((2, 3)) == 2).all()


def test_constant():
    w = init.Constant(0.25)((2, 3))
    assert w.shape == (2, 3) and w.dtype == theano.config.floatX and (w == 0.25).all()
    assert (init.Constant()((4,)) == 0).all()


def test_values_are_floatx():
    old = theano.config.floatX
    theano.config.floatX = "float64"
    try:
        assert init.Normal()((3,)).dtype == np.float64
    finally:
        theano.config.floatX = old
    assert init.Normal()((3,)).dtype == np.float32


def test_normal():
    w = init.Normal(std=0.5, mean=2.0)((400, 500))
    assert w.shape == (400, 500)
    assert abs(w.mean() - 2.0) < 0.005
    assert abs(w.std() - 0.5) < 0.005
    assert abs(init.Normal()((1000, 100)).std() - 0.01) < 1e-4   # default std 0.01


def test_uniform_range_forms():
    w = init.Uniform()((1000, 100))
    assert -0.01 <= w.min() < -0.0099 and 0.0099 < w.max() <= 0.01
    w = init.Uniform(range=(2.0, 3.0))((1000, 100))
    assert 2.0 <= w.min() < 2.001 and 2.999 < w.max() <= 3.0
    assert abs(w.mean() - 2.5) < 0.005


def test_uniform_std_and_mean():
    w = init.Uniform(std=1.0, mean=5.0)((1000, 200))
    assert abs(w.std() - 1.0) < 0.01 and abs(w.mean() - 5.0) < 0.01
    # the interval is mean +- sqrt(3) * std
    assert w.min() >= 5.0 - np.sqrt(3) - 1e-6 and w.max() <= 5.0 + np.sqrt(3) + 1e-6


@pytest.mark.parametrize("shape, fan_sum_times_field", [
    ((300, 500), 800),
    ((60, 40, 3, 5), 100 * 15),
])
def test_glorot_normal_std(shape, fan_sum_times_field):
    w = init.GlorotNormal()(shape)
    assert w.shape == shape
    expected = np.sqrt(2.0 / fan_sum_times_field)
    assert abs(w.std() / expected - 1) < 0.02
    assert abs(w.mean()) < 0.02 * expected


def test_glorot_uniform_bounds_and_gain():
    w = init.GlorotUniform()((300, 500))
    bound = np.sqrt(6.0 / 800)
    assert w.max() <= bound and w.max() > 0.99 * bound and w.min() >= -bound
    relu = init.GlorotUniform(gain="relu")((300, 500))
    assert abs(relu.std() / (np.sqrt(2) * bound / np.sqrt(3)) - 1) < 0.02
    assert init.GlorotUniform(gain="relu").gain == pytest.approx(np.sqrt(2))


def test_glorot_c01b():
    # c01b: channels in, rows, columns, channels out (cuda-convnet's layout)
    w = init.GlorotNormal(c01b=True)((20, 3, 5, 40))
    expected = np.sqrt(2.0 / ((20 + 40) * 15))
    assert abs(w.std() / expected - 1) < 0.02
    with pytest.raises(RuntimeError, match="only 4-d shapes"):
        init.GlorotNormal(c01b=True)((20, 40))


def test_glorot_needs_two_dimensions():
    with pytest.raises(RuntimeError, match="shapes of length >= 2"):
        init.GlorotUniform()((5,))


@pytest.mark.parametrize("shape, fan_in", [((400, 300), 400), ((50, 20, 3, 3), 180)])
def test_he_normal_std(shape, fan_in):
    w = init.HeNormal()(shape)
    assert abs(w.std() / np.sqrt(1.0 / fan_in) - 1) < 0.02
    w = init.HeNormal(gain="relu")(shape)
    assert abs(w.std() / np.sqrt(2.0 / fan_in) - 1) < 0.02


def test_he_uniform_bound_and_c01b():
    w = init.HeUniform()((400, 300))
    bound = np.sqrt(3.0 / 400)
    assert w.max() <= bound and w.max() > 0.99 * bound
    w = init.HeNormal(c01b=True)((20, 3, 5, 40))
    assert abs(w.std() / np.sqrt(1.0 / 300) - 1) < 0.02
    with pytest.raises(RuntimeError, match="shapes of length >= 2"):
        init.HeNormal()((5,))


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (40, 40), (8, 2, 3, 3)])
def test_orthogonal(shape):
    w = init.Orthogonal()(shape).astype("float64")
    assert w.shape == shape
    flat = w.reshape(shape[0], -1)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_gain_and_errors():
    w = init.Orthogonal(gain="relu")((20, 20)).astype("float64")
    np.testing.assert_allclose(w @ w.T, 2 * np.eye(20), atol=1e-5)
    with pytest.raises(RuntimeError, match="length 2 or more"):
        init.Orthogonal()((5,))


def test_sparse():
    w = init.Sparse(sparsity=0.2, std=1.0)((50, 30))
    assert ((w != 0).sum(axis=0) == 10).all()
    with pytest.raises(RuntimeError, match="2-d shapes"):
        init.Sparse()((2, 3, 4))


def test_draws_repeat_after_seed_and_follow_set_rng():
    layerkit.random.seed(7)
    a = init.GlorotUniform()((4, 5))
    layerkit.random.seed(7)
    np.testing.assert_array_equal(a, init.GlorotUniform()((4, 5)))
    layerkit.random.set_rng(np.random.RandomState(7))
    np.testing.assert_array_equal(a, init.GlorotUniform()((4, 5)))
    assert isinstance(layerkit.random.get_rng(), np.random.RandomState)


def test_default_generator_is_numpys_global_one():
    # Lasagne's default: np.random.seed(n) at the top of a script fixes initialisation
    layerkit.random.set_rng(np.random)
    np.random.seed(3)
    a = init.Normal()((3, 3))
    np.random.seed(3)
    np.testing.assert_array_equal(a, init.Normal()((3, 3)))


def test_seed_also_seeds_new_random_streams(backend):
    from layerkit.core.random import get_default_seed

    def draw():
        srng = theano.RandomStreams()
        return theano.function([], srng.uniform((5,)), backend=backend.name)()

    layerkit.random.seed(11)
    assert get_default_seed() == 11
    first = draw()
    layerkit.random.seed(11)
    np.testing.assert_array_equal(first, draw())
    layerkit.random.seed(12)
    assert not np.array_equal(first, draw())
