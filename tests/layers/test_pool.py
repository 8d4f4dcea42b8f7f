"""Pooling layers: Pool2DLayer/MaxPool2DLayer, Pool1DLayer, GlobalPoolLayer, Upscale2DLayer:
output shapes, (no) parameters, values against float64 loops, and one training step of the
layer above a BiasLayer (so the gradient has to pass through it) on every backend."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init
from layerkit.layers import (BiasLayer, GlobalPoolLayer, InputLayer, MaxPool1DLayer, MaxPool2D,
                             MaxPool2DLayer, Pool1DLayer, Pool2D, Pool2DLayer, Upscale2DLayer,
                             count_params, get_output)


def pool_reference(x, ws, stride, pad, mode, out_hw):
    """Spell out each window over the real cells (padding never counts, except in the
    divisor of average_inc_pad, which is the whole window's size)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c) + out_hw)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            r0, c0 = i * stride[0] - pad[0], j * stride[1] - pad[1]
            rows = slice(max(r0, 0), min(r0 + ws[0], h))
            cols = slice(max(c0, 0), min(c0 + ws[1], w))
            cells = x[:, :, rows, cols]
            if mode == "max":
                out[:, :, i, j] = cells.max(axis=(2, 3))
            elif mode == "sum":
                out[:, :, i, j] = cells.sum(axis=(2, 3))
            elif mode == "average_exc_pad":
                out[:, :, i, j] = cells.mean(axis=(2, 3))
            else:   # average_inc_pad: the padded window's size (cut windows: their own size)
                padded_rows = min(r0 + ws[0], h + pad[0]) - r0
                padded_cols = min(c0 + ws[1], w + pad[1]) - c0
                out[:, :, i, j] = cells.sum(axis=(2, 3)) / (padded_rows * padded_cols)
    return out


def _compile(layer, l_in, backend):
    return theano.function([l_in.input_var], get_output(layer), backend=backend.name)


# -- Pool2DLayer -------------------------------------------------------------------

@pytest.mark.parametrize("pool_size, stride, pad, ignore_border, out_hw", [
    (2, None, 0, True, (3, 3)),
    (2, None, 0, False, (4, 4)),
    (3, 2, 0, True, (3, 3)),
    (3, 2, 0, False, (3, 3)),
    ((3, 2), (1, 2), (1, 1), True, (7, 4)),
    (3, 1, 0, False, (5, 5)),
    (2, 3, 0, False, (3, 3)),
])
def test_pool2d_shapes(pool_size, stride, pad, ignore_border, out_hw):
    layer = Pool2DLayer(InputLayer((None, 3, 7, 7)), pool_size, stride=stride, pad=pad,
                        ignore_border=ignore_border)
    assert layer.output_shape == (None, 3) + out_hw
    assert layer.get_params() == [] and count_params(layer) == 0


def test_pool2d_defaults_and_names():
    layer = Pool2D(InputLayer((None, 3, 8, 8)), 2)
    assert Pool2D is Pool2DLayer and MaxPool2D is MaxPool2DLayer
    assert (layer.pool_size, layer.stride, layer.pad, layer.ignore_border, layer.mode) == \
        ((2, 2), (2, 2), (0, 0), True, "max")
    assert MaxPool2DLayer(InputLayer((None, 3, 8, 8)), 3, stride=1).mode == "max"
    with pytest.raises(ValueError, match="expected 4 input dimensions"):
        Pool2DLayer(InputLayer((None, 8, 8)), 2)
    with pytest.raises(NotImplementedError, match="ignore_border=True"):
        Pool2DLayer(InputLayer((None, 3, 8, 8)), 3, pad=1, ignore_border=False).output_shape


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("kwargs", [
    dict(pool_size=3, stride=2, pad=1),
    dict(pool_size=(2, 3), stride=(3, 2), ignore_border=False),
], ids=["pad", "no-ignore_border"])
def test_pool2d_values(mode, kwargs, backend, float64):
    rng = np.random.RandomState(0)
    x = rng.randn(2, 3, 7, 8)
    l_in = InputLayer((None, 3, 7, 8))
    layer = Pool2DLayer(l_in, mode=mode, **kwargs)
    pad = layer.pad
    ref = pool_reference(x, layer.pool_size, layer.stride, pad, mode, layer.output_shape[2:])
    out = _compile(layer, l_in, backend)(x)
    assert out.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["max", "average_exc_pad"])
def test_pool2d_trains(mode, backend, train_step):
    l_in = InputLayer((None, 2, 5, 6))
    layer = Pool2DLayer(BiasLayer(l_in, b=init.Constant(0.5)), 2, stride=(1, 2), mode=mode)
    train_step(layer, np.random.RandomState(1).rand(2, 2, 5, 6).astype("float32"), backend)


# -- Pool1DLayer -------------------------------------------------------------------

@pytest.mark.parametrize("pool_size, stride, pad, ignore_border, length", [
    (2, None, 0, True, 4), (2, None, 0, False, 5), (3, 1, 1, True, 9), (4, 3, 0, False, 3),
])
def test_pool1d_shapes(pool_size, stride, pad, ignore_border, length):
    layer = Pool1DLayer(InputLayer((None, 3, 9)), pool_size, stride=stride, pad=pad,
                        ignore_border=ignore_border)
    assert layer.output_shape == (None, 3, length)
    assert count_params(layer) == 0


def test_pool1d_values_and_training(backend, float64, train_step):
    rng = np.random.RandomState(2)
    x = rng.randn(2, 3, 9)
    l_in = InputLayer((None, 3, 9))
    for mode in ("max", "average_inc_pad"):
        layer = Pool1DLayer(l_in, 3, stride=2, pad=1, mode=mode)
        ref = pool_reference(x[:, :, :, None], (3, 1), (2, 1), (1, 0), mode,
                             (layer.output_shape[2], 1))[:, :, :, 0]
        np.testing.assert_allclose(_compile(layer, l_in, backend)(x), ref, rtol=1e-12)
    assert MaxPool1DLayer(l_in, 2).mode == "max"
    train_step(MaxPool1DLayer(BiasLayer(l_in), 2), x, backend)


# -- GlobalPoolLayer ---------------------------------------------------------------

@pytest.mark.parametrize("pool_function, reference", [
    (T.mean, np.mean), (T.max, np.max), (T.sum, np.sum),
], ids=["mean", "max", "sum"])
def test_global_pool(pool_function, reference, backend, float64):
    rng = np.random.RandomState(3)
    x = rng.randn(2, 3, 4, 5)
    l_in = InputLayer((None, 3, 4, 5))
    layer = GlobalPoolLayer(l_in, pool_function)
    assert layer.output_shape == (None, 3) and count_params(layer) == 0
    np.testing.assert_allclose(_compile(layer, l_in, backend)(x),
                               reference(x.reshape(2, 3, -1), axis=2), rtol=1e-12)


def test_global_pool_defaults_and_training(backend, train_step):
    l_in = InputLayer((None, 3, 4, 5, 2))
    layer = GlobalPoolLayer(BiasLayer(l_in, b=init.Constant(0.3)))
    assert layer.pool_function is T.mean
    assert layer.output_shape == (None, 3)
    train_step(layer, np.random.RandomState(4).rand(2, 3, 4, 5, 2).astype("float32"), backend)


# -- Upscale2DLayer ----------------------------------------------------------------

def test_upscale_shapes_and_errors():
    layer = Upscale2DLayer(InputLayer((None, 3, 4, None)), (2, 3))
    assert layer.output_shape == (None, 3, 8, None)
    assert Upscale2DLayer(InputLayer((None, 3, 4, 5)), 2).output_shape == (None, 3, 8, 10)
    assert count_params(layer) == 0
    with pytest.raises(ValueError, match="integers >= 1"):
        Upscale2DLayer(InputLayer((None, 3, 4, 5)), (0, 2))
    with pytest.raises(ValueError, match="'repeat' or 'dilate'"):
        Upscale2DLayer(InputLayer((None, 3, 4, 5)), 2, mode="nearest")


@pytest.mark.parametrize("mode", ["repeat", "dilate"])
def test_upscale_values(mode, backend, float64):
    x = np.random.RandomState(5).randn(2, 3, 3, 4)
    l_in = InputLayer((None, 3, 3, 4))
    layer = Upscale2DLayer(l_in, (2, 3), mode=mode)
    if mode == "repeat":
        ref = np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)
    else:
        ref = np.zeros((2, 3, 6, 12))
        ref[:, :, ::2, ::3] = x
    out = _compile(layer, l_in, backend)(x)
    assert out.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_array_equal(out, ref)


def test_upscale_trains(backend, train_step):
    l_in = InputLayer((None, 2, 3, 3))
    layer = Upscale2DLayer(BiasLayer(l_in, b=init.Constant(0.2)), 2)
    train_step(layer, np.random.RandomState(6).rand(2, 2, 3, 3).astype("float32"), backend)
