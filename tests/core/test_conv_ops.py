"""conv2d and pooling as the core builds them: the static shapes it infers and the
warnings it gives, without compiling anything.

The numbers (forward against SciPy, gradients against finite differences, second
order and the transposed convolution) are checked on every backend by the kit:
``layerkit.testing.suite_conv`` calls the kernels directly and
``layerkit.testing.suite_ops`` compiles conv2d and pooling graphs
(``tests/backend/test_ops_suite.py`` runs it here).
"""
import numpy as np
import pytest

import layerkit.core.tensor as T
from layerkit.core.tensor.signal.pool import max_pool_2d, pool_2d


def test_theano_tutorials_shapes_with_the_old_default():
    X = T.tensor("float32", shape=(None, 1, 28, 28))
    w = T.tensor("float32", shape=(32, 1, 3, 3))
    w2 = T.tensor("float32", shape=(64, 32, 3, 3))
    w3 = T.tensor("float32", shape=(128, 64, 3, 3))
    l1 = max_pool_2d(T.nnet.conv2d(X, w, border_mode="full"), (2, 2))
    l2 = max_pool_2d(T.nnet.conv2d(l1, w2), (2, 2))
    l3 = max_pool_2d(T.nnet.conv2d(l2, w3), (2, 2))
    assert [v.type.shape[2] for v in (l1, l2, l3)] == [15, 7, 3]   # 28-30-15-13-7-5-3


def test_pool_2d_warns_when_ignore_border_is_omitted():
    with pytest.warns(UserWarning, match="ignore_border"):
        pool_2d(T.dtensor4(), (2, 2))


def test_half_padding_of_an_even_dilated_filter_is_theanos():
    """'half' pads ((k - 1) * d + 1) // 2 per side, half the dilated filter's extent:
    for k = 2, d = 2 (extent 3) that is 1, so the output keeps the input's size."""
    from scipy.signal import correlate
    import layerkit.core as theano
    from layerkit.core.tensor.nnet import conv2d
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 1, 5, 6)), rng.standard_normal((1, 1, 2, 2))
    X, W = T.dtensor4("x"), T.dtensor4("w")
    got = theano.function([X, W], conv2d(X, W, border_mode="half", filter_dilation=(2, 2)))(x, w)
    dilated = np.zeros((3, 3))
    dilated[::2, ::2] = w[0, 0][::-1, ::-1]          # conv2d flips the filter
    want = correlate(np.pad(x[0, 0], 1), dilated, mode="valid")
    assert got.shape == (1, 1, 5, 6)
    np.testing.assert_allclose(got[0, 0], want, rtol=1e-12)


def test_input_shape_is_a_hint_not_a_promise():
    """Lasagne passes the InputLayer's declared sizes as conv2d's input_shape; a
    script may feed smaller images (the model zoo's fully convolutional use), as
    Theano allowed. A hint that contradicts the variable's static shape is refused."""
    from scipy.signal import correlate
    import layerkit.core as theano
    from layerkit.core.op import ShapeError
    from layerkit.core.tensor.nnet import conv2d
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((3, 2, 3, 3))
    X, W = T.dtensor4("x"), T.dtensor4("w")
    out = conv2d(X, W, input_shape=(None, 2, 224, 224), filter_shape=(3, 2, 3, 3))
    got = theano.function([X, W], out)(x, w)
    want = np.stack([sum(correlate(x[0, c], w[o, c][::-1, ::-1], mode="valid")
                         for c in range(2)) for o in range(3)])[None]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    fixed = T.tensor("float64", shape=(1, 2, 7, 6))
    with pytest.raises(ShapeError, match="disagrees"):
        conv2d(fixed, W, input_shape=(1, 2, 224, 224))


def test_fractional_sizes_are_refused_not_truncated():
    from layerkit.core.tensor.nnet import conv2d
    x, w = T.dtensor4("x"), T.dtensor4("w")
    with pytest.raises(ValueError, match="subsample must be an int or a pair of ints"):
        conv2d(x, w, subsample=(1.5, 1.5))
    with pytest.raises(ValueError, match="pair of ints"):
        pool_2d(x, ws=(2.5, 2.5), ignore_border=True)
    assert conv2d(x, w, subsample=(2.0, 1)).owner is not None      # integral floats pass
