"""Shape layers: FlattenLayer, ReshapeLayer, DimshuffleLayer, SliceLayer, PadLayer: output
shapes, errors, values against numpy, one training step through each on every backend."""
import numpy as np
import pytest

import layerkit.core as theano
from layerkit import init
from layerkit.layers import (BiasLayer, DimshuffleLayer, FlattenLayer, InputLayer, PadLayer,
                             ReshapeLayer, SliceLayer, count_params, dimshuffle, flatten,
                             get_output, pad, reshape)


def _compile(layer, l_in, backend):
    return theano.function([l_in.input_var], get_output(layer), backend=backend.name)


# -- shapes and errors -------------------------------------------------------------

@pytest.mark.parametrize("outdim, expected", [(1, (None,)), (2, (None, 60)), (3, (None, 3, 20)),
                                              (4, (None, 3, 4, 5))])
def test_flatten_shapes(outdim, expected):
    layer = FlattenLayer(InputLayer((None, 3, 4, 5)), outdim=outdim)
    assert layer.output_shape == expected
    assert flatten is FlattenLayer and count_params(layer) == 0
    assert FlattenLayer(InputLayer((2, 3, 4))).output_shape == (2, 12)
    with pytest.raises(ValueError, match="outdim must be >= 1"):
        FlattenLayer(InputLayer((None, 3)), outdim=0)


@pytest.mark.parametrize("shape, expected", [
    ((-1, 12), (2, 12)), (([0], [2], -1), (2, 4, 3)), (([0], 3, [2]), (2, 3, 4)),
    ((4, 6), (4, 6)), (([2], [1], [0]), (4, 3, 2)),
])
def test_reshape_shapes(shape, expected):
    layer = ReshapeLayer(InputLayer((2, 3, 4)), shape)
    assert layer.output_shape == expected
    assert reshape is ReshapeLayer


def test_reshape_with_unknown_sizes_and_errors():
    assert ReshapeLayer(InputLayer((None, 3, 4)), ([0], -1)).output_shape == (None, 12)
    assert ReshapeLayer(InputLayer((None, 3, 4)), (-1, 6)).output_shape == (None, 6)
    with pytest.raises(ValueError, match="cannot be reshaped"):
        ReshapeLayer(InputLayer((2, 3, 4)), (5, -1))
    with pytest.raises(ValueError, match="multiple -1"):
        ReshapeLayer(InputLayer((2, 3, 4)), (-1, -1))
    with pytest.raises(ValueError, match="out of range"):
        ReshapeLayer(InputLayer((2, 3, 4)), ([3], -1))
    with pytest.raises(ValueError, match="positive or -1"):
        ReshapeLayer(InputLayer((2, 3, 4)), (0, 24))


def test_dimshuffle_shapes_and_errors():
    l_in = InputLayer((None, 3, 1, 5))
    assert DimshuffleLayer(l_in, (0, "x", 3, 1)).output_shape == (None, 1, 5, 3)
    assert DimshuffleLayer(l_in, (3, 2, 1, 0)).output_shape == (5, 1, 3, None)
    assert dimshuffle is DimshuffleLayer
    with pytest.raises(ValueError, match="drops axis 1 .* whose size is 3"):
        DimshuffleLayer(l_in, (0, 2, 3))
    with pytest.raises(ValueError, match="more than once"):
        DimshuffleLayer(l_in, (0, 0, 1, 2, 3))
    with pytest.raises(ValueError, match="has 4 dimensions"):
        DimshuffleLayer(l_in, (0, 1, 2, 3, 4))
    with pytest.raises(ValueError, match="only input axes"):
        DimshuffleLayer(l_in, (0, 1, 2, "y"))


@pytest.mark.parametrize("indices, axis, expected", [
    (0, 1, (None, 4, 5)), (slice(1, 3), 1, (None, 2, 4, 5)), (slice(None, None, 2), -1,
                                                              (None, 3, 4, 3)),
    (-1, -2, (None, 3, 5)), (slice(1, None), 0, (None, 3, 4, 5)),
])
def test_slice_shapes(indices, axis, expected):
    assert SliceLayer(InputLayer((None, 3, 4, 5)), indices, axis=axis).output_shape == expected


@pytest.mark.parametrize("width, batch_ndim, expected", [
    (1, 2, (None, 3, 6, 7)), ([(1, 2), 3], 2, (None, 3, 7, 11)), (2, 1, (None, 7, 8, 9)),
    ([1], 2, (None, 3, 6, 5)),
])
def test_pad_shapes(width, batch_ndim, expected):
    layer = PadLayer(InputLayer((None, 3, 4, 5)), width, batch_ndim=batch_ndim)
    assert layer.output_shape == expected
    assert pad is PadLayer and count_params(layer) == 0


# -- values --------------------------------------------------------------------------

def test_flatten_and_reshape_values(backend, float64):
    x = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    l_in = InputLayer((None, 3, 4, 5))
    np.testing.assert_array_equal(_compile(FlattenLayer(l_in, 3), l_in, backend)(x),
                                  x.reshape(2, 3, 20))
    layer = ReshapeLayer(l_in, ([0], [3], -1))
    assert layer.output_shape == (None, 5, 12)
    np.testing.assert_array_equal(_compile(layer, l_in, backend)(x), x.reshape(2, 5, 12))


def test_dimshuffle_values(backend, float64):
    x = np.random.RandomState(0).randn(2, 3, 1, 5)
    l_in = InputLayer((None, 3, 1, 5))
    layer = DimshuffleLayer(l_in, (0, "x", 3, 1))
    out = _compile(layer, l_in, backend)(x)
    np.testing.assert_array_equal(out, x[:, :, 0, :].transpose(0, 2, 1)[:, None])


def test_dimshuffle_of_a_size_that_is_not_one_at_run_time_fails(backend, float64):
    l_in = InputLayer((None, 3, None))
    f = _compile(DimshuffleLayer(l_in, (0, 1)), l_in, backend)
    np.testing.assert_array_equal(f(np.ones((2, 3, 1))), np.ones((2, 3)))
    with pytest.raises(ValueError, match="reshape"):
        f(np.ones((2, 3, 2)))


@pytest.mark.parametrize("indices, axis", [(1, 1), (slice(0, 3, 2), -1), (-1, 0)])
def test_slice_values(indices, axis, backend, float64):
    x = np.random.RandomState(1).randn(2, 3, 4)
    l_in = InputLayer((None, 3, 4))
    layer = SliceLayer(l_in, indices, axis=axis)
    key = [slice(None)] * 3
    key[axis] = indices
    out = _compile(layer, l_in, backend)(x)
    np.testing.assert_array_equal(out, x[tuple(key)])
    assert out.ndim == len(layer.output_shape)


@pytest.mark.parametrize("width, val, batch_ndim", [
    (1, 0, 2), ([(1, 2), (0, 3)], 1.5, 2), (2, -1, 1),
])
def test_pad_values(width, val, batch_ndim, backend, float64):
    x = np.random.RandomState(2).randn(2, 3, 4, 5)
    l_in = InputLayer((None, 3, 4, 5))
    layer = PadLayer(l_in, width, val=val, batch_ndim=batch_ndim)
    widths = [(width, width)] * (4 - batch_ndim) if isinstance(width, int) else width
    ref = np.pad(x, [(0, 0)] * batch_ndim + [tuple(w) for w in widths], constant_values=val)
    out = _compile(layer, l_in, backend)(x)
    assert out.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_array_equal(out, ref)


# -- training through each ----------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda l: FlattenLayer(l),
    lambda l: ReshapeLayer(l, ([0], 2, -1)),
    lambda l: DimshuffleLayer(l, (2, 0, "x", 1)),
    lambda l: SliceLayer(l, slice(1, 3), axis=2),
    lambda l: PadLayer(l, [(1, 0)], val=1.0),
], ids=["flatten", "reshape", "dimshuffle", "slice", "pad"])
def test_shape_layers_train(make, backend, train_step):
    l_in = InputLayer((None, 4, 3))
    layer = make(BiasLayer(l_in, b=init.Constant(0.5)))
    train_step(layer, np.random.RandomState(3).rand(2, 4, 3).astype("float32"), backend)
