"""Convolution layers: Conv1DLayer, Conv2DLayer, TransposedConv2DLayer (Deconv2DLayer),
DilatedConv2DLayer: output shapes, parameters, values against scipy in float64, one
training step on every backend."""
import numpy as np
import pytest
from scipy import signal

import layerkit.core as theano
from layerkit import init, nonlinearities
from layerkit.layers import (Conv1D, Conv1DLayer, Conv2D, Conv2DLayer, Deconv2DLayer,
                             DilatedConv2DLayer, InputLayer, TransposedConv2DLayer, count_params,
                             get_output)

# -- float64 references (scipy) ------------------------------------------------


def _pads(pad, filter_size):
    if pad == "valid":
        return (0, 0)
    if pad == "full":
        return tuple(k - 1 for k in filter_size)
    if pad == "same":
        return tuple(k // 2 for k in filter_size)
    return tuple(pad) if isinstance(pad, tuple) else (pad, pad)


def conv2d_reference(x, W, stride=(1, 1), pad=(0, 0), flip=True, dilation=(1, 1)):
    """Correlate every (example, filter) pair with scipy, channel by channel."""
    (ph, pw), (dh, dw) = pad, dilation
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, c, kh, kw = W.shape
    taps = np.zeros((o, c, (kh - 1) * dh + 1, (kw - 1) * dw + 1))
    taps[:, :, ::dh, ::dw] = W
    if flip:
        taps = taps[:, :, ::-1, ::-1]
    out = np.array([[sum(signal.correlate(x[n, ch], taps[f, ch], mode="valid")
                         for ch in range(c)) for f in range(o)] for n in range(len(x))])
    return out[:, :, ::stride[0], ::stride[1]]


def transposed_reference(x, W, stride, crop, out_size, flip):
    """Each input value adds a copy of its filter (W: in, out, rows, cols) to the output:
    a flipped copy without ``flip`` (Lasagne's default, which makes the stride-1 output
    the 'full' correlation of input and filters), an unflipped one with it."""
    n, c, h, w = x.shape
    _, o, kh, kw = W.shape
    if not flip:
        W = W[:, :, ::-1, ::-1]
    rows = max((h - 1) * stride[0] + kh, out_size[0] + 2 * crop[0])
    cols = max((w - 1) * stride[1] + kw, out_size[1] + 2 * crop[1])
    full = np.zeros((n, o, rows, cols))
    for i in range(h):
        for j in range(w):
            r, s = i * stride[0], j * stride[1]
            full[:, :, r:r + kh, s:s + kw] += np.einsum("nc,cokl->nokl", x[:, :, i, j], W)
    return full[:, :, crop[0]:crop[0] + out_size[0], crop[1]:crop[1] + out_size[1]]


def _compile(layer, backend, **kwargs):
    l_in = layer
    while getattr(l_in, "input_layer", None) is not None:
        l_in = l_in.input_layer
    return theano.function([l_in.input_var], get_output(layer, **kwargs), backend=backend.name)


# -- Conv2DLayer -----------------------------------------------------------------

@pytest.mark.parametrize("filter_size, stride, pad, out_hw", [
    (3, 1, 0, (4, 7)),
    ((3, 2), (1, 1), "valid", (4, 8)),
    (3, 1, "full", (8, 11)),
    ((3, 5), 1, "same", (6, 9)),
    (3, (2, 3), (1, 2), (3, 4)),
    (2, 2, 1, (4, 5)),
])
def test_conv2d_shapes_and_params(filter_size, stride, pad, out_hw):
    layer = Conv2DLayer(InputLayer((None, 3, 6, 9)), 4, filter_size, stride=stride, pad=pad)
    assert layer.output_shape == (None, 4) + out_hw
    fs = filter_size if isinstance(filter_size, tuple) else (filter_size,) * 2
    assert layer.W.get_value().shape == (4, 3) + fs
    assert count_params(layer) == 4 * 3 * fs[0] * fs[1] + 4
    assert layer.get_params(regularizable=True) == [layer.W]


def test_conv2d_defaults_and_short_name():
    layer = Conv2D(InputLayer((None, 2, 5, 5)), 3, 3)
    assert Conv2D is Conv2DLayer
    assert (layer.stride, layer.pad, layer.flip_filters, layer.untie_biases) == \
        ((1, 1), (0, 0), True, False)
    assert layer.nonlinearity is nonlinearities.rectify
    assert np.all(layer.b.get_value() == 0)


def test_conv2d_untied_biases_and_no_bias():
    layer = Conv2DLayer(InputLayer((None, 2, 5, 6)), 3, 3, untie_biases=True)
    assert layer.b.get_value().shape == (3, 3, 4)
    assert count_params(layer) == 3 * 2 * 9 + 3 * 3 * 4
    assert Conv2DLayer(InputLayer((None, 2, 5, 6)), 3, 3, b=None).b is None
    assert count_params(Conv2DLayer(InputLayer((None, 2, 5, 6)), 3, 3, b=None)) == 54


def test_conv2d_bad_arguments():
    with pytest.raises(NotImplementedError, match="odd filter size"):
        Conv2DLayer(InputLayer((None, 2, 5, 5)), 3, 2, pad="same")
    with pytest.raises(ValueError, match="expected 4 input dimensions"):
        Conv2DLayer(InputLayer((None, 5, 5)), 3, 3)
    with pytest.raises(ValueError, match="number of input channels must be known"):
        Conv2DLayer(InputLayer((None, None, 5, 5)), 3, 3)
    with pytest.raises(TypeError, match="got 'bogus'"):
        Conv2DLayer(InputLayer((None, 2, 5, 5)), 3, 3, pad="bogus")


@pytest.mark.parametrize("kwargs", [
    dict(filter_size=3, pad="valid"),
    dict(filter_size=(3, 2), stride=(2, 1), pad=(1, 2), flip_filters=False),
    dict(filter_size=3, pad="full", untie_biases=True),
    dict(filter_size=(1, 3), pad="same"),
], ids=["valid", "stride-pad-noflip", "full-untied", "same"])
def test_conv2d_values(kwargs, backend, float64):
    rng = np.random.RandomState(0)
    x = rng.randn(2, 3, 5, 6)
    layer = Conv2DLayer(InputLayer((None, 3, 5, 6)), 4, b=init.Normal(1.0),
                        nonlinearity=nonlinearities.tanh, **kwargs)
    W, b = layer.W.get_value(), layer.b.get_value()
    fs = layer.filter_size
    ref = conv2d_reference(x, W, layer.stride, _pads(kwargs.get("pad", 0), fs),
                           kwargs.get("flip_filters", True))
    ref = np.tanh(ref + (b[None] if b.ndim == 3 else b[None, :, None, None]))
    out = _compile(layer, backend)(x)
    assert out.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)


def test_conv2d_trains(backend, train_step):
    layer = Conv2DLayer(InputLayer((None, 2, 5, 6)), 3, 3, stride=(1, 2), pad=1,
                        b=init.Constant(0.1))
    train_step(layer, np.random.RandomState(1).rand(2, 2, 5, 6).astype("float32"), backend)


# -- Conv1DLayer -----------------------------------------------------------------

@pytest.mark.parametrize("filter_size, stride, pad, length", [
    (3, 1, 0, 7), (3, 2, "full", 6), (5, 1, "same", 9), (4, 3, 2, 4),
])
def test_conv1d_shapes_and_params(filter_size, stride, pad, length):
    layer = Conv1DLayer(InputLayer((None, 3, 9)), 5, filter_size, stride=stride, pad=pad)
    assert layer.output_shape == (None, 5, length)
    assert layer.W.get_value().shape == (5, 3, filter_size)
    assert count_params(layer) == 5 * 3 * filter_size + 5
    assert Conv1D is Conv1DLayer


@pytest.mark.parametrize("kwargs", [dict(pad="same"), dict(stride=2, pad=2, flip_filters=False)],
                         ids=["same", "stride-pad-noflip"])
def test_conv1d_values(kwargs, backend, float64):
    rng = np.random.RandomState(2)
    x = rng.randn(2, 3, 8)
    layer = Conv1DLayer(InputLayer((None, 3, 8)), 4, 3, nonlinearity=None, **kwargs)
    W, b = layer.W.get_value(), layer.b.get_value()
    pad = 1 if kwargs["pad"] == "same" else kwargs["pad"]
    ref = conv2d_reference(x[:, :, None, :], W[:, :, None, :], (1, kwargs.get("stride", 1)),
                           (0, pad), kwargs.get("flip_filters", True))[:, :, 0]
    np.testing.assert_allclose(_compile(layer, backend)(x), ref + b[None, :, None],
                               rtol=1e-10, atol=1e-12)


def test_conv1d_custom_convolution_is_called_as_lasagne_calls_it():
    calls = []

    def convolution(input, W, input_shape, W_shape, subsample, border_mode, filter_flip):
        calls.append((input_shape, W_shape, subsample, border_mode, filter_flip))
        return input[:, :2] * 0 + W.sum()
    layer = Conv1DLayer(InputLayer((None, 3, 8)), 2, 3, pad="same", convolution=convolution)
    assert get_output(layer).ndim == 3
    assert calls == [((None, 3, 8), (2, 3, 3), (1,), "half", True)]


def test_conv1d_trains(backend, train_step):
    layer = Conv1DLayer(InputLayer((None, 2, 7)), 3, 3, pad="same")
    train_step(layer, np.random.RandomState(3).rand(3, 2, 7).astype("float32"), backend)


# -- TransposedConv2DLayer -------------------------------------------------------

@pytest.mark.parametrize("filter_size, stride, crop, output_size, out_hw", [
    (3, 1, 0, None, (7, 8)),
    (4, 2, 1, None, (10, 12)),
    (3, 2, "full", None, (7, 9)),
    (3, 1, "same", None, (5, 6)),
    (4, 2, 1, (11, 13), (11, 13)),
    ((3, 2), (3, 2), (0, 1), None, (15, 10)),
])
def test_transposed_shapes_and_params(filter_size, stride, crop, output_size, out_hw):
    layer = TransposedConv2DLayer(InputLayer((None, 8, 5, 6)), 3, filter_size, stride=stride,
                                  crop=crop, output_size=output_size)
    assert layer.output_shape == (None, 3) + out_hw
    fs = filter_size if isinstance(filter_size, tuple) else (filter_size,) * 2
    assert layer.W.get_value().shape == (8, 3) + fs      # (input channels, filters, ...)
    assert count_params(layer) == 8 * 3 * fs[0] * fs[1] + 3
    assert layer.flip_filters is False and not hasattr(layer, "pad")


def test_deconv_is_the_same_class():
    assert Deconv2DLayer is TransposedConv2DLayer


def test_transposed_inverts_the_forward_output_size():
    """The output size is that of the input of a Conv2DLayer with the same settings."""
    l_in = InputLayer((None, 2, 11, 9))
    conv = Conv2DLayer(l_in, 4, 3, stride=2, pad=1)
    assert conv.output_shape == (None, 4, 6, 5)
    deconv = TransposedConv2DLayer(conv, 2, 3, stride=2, crop=1, output_size=(11, 9))
    assert deconv.output_shape == l_in.output_shape


@pytest.mark.parametrize("kwargs", [
    dict(filter_size=3),
    dict(filter_size=4, stride=2, crop=1),
    dict(filter_size=(3, 2), stride=(2, 3), crop="full", flip_filters=True),
    dict(filter_size=3, stride=2, crop="same", output_size=(8, 10)),
], ids=["plain", "stride-crop", "full-flip", "same-output_size"])
def test_transposed_values(kwargs, backend, float64):
    rng = np.random.RandomState(4)
    x = rng.randn(2, 3, 4, 5)
    layer = TransposedConv2DLayer(InputLayer((None, 3, 4, 5)), 2, b=init.Normal(1.0),
                                  nonlinearity=None, **kwargs)
    W, b = layer.W.get_value(), layer.b.get_value()
    crop = _pads(kwargs.get("crop", 0), layer.filter_size)
    ref = transposed_reference(x, W, layer.stride, crop, layer.output_shape[2:],
                               kwargs.get("flip_filters", False))
    out = _compile(layer, backend)(x)
    assert out.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_allclose(out, ref + b[None, :, None, None], rtol=1e-10, atol=1e-12)


def test_transposed_default_is_the_full_correlation(backend, float64):
    """Lasagne's flip_filters=False: with stride 1 and no cropping, the output is the
    'full' correlation of the input with the filters (summed over input channels)."""
    rng = np.random.RandomState(8)
    x = rng.randn(2, 3, 4, 5)
    layer = TransposedConv2DLayer(InputLayer((None, 3, 4, 5)), 2, (2, 3), b=None,
                                  nonlinearity=None)
    W = layer.W.get_value()
    ref = np.array([[sum(signal.correlate(x[n, c], W[c, f], mode="full") for c in range(3))
                     for f in range(2)] for n in range(2)])
    np.testing.assert_allclose(_compile(layer, backend)(x), ref, rtol=1e-10, atol=1e-12)


def test_transposed_trains(backend, train_step):
    layer = TransposedConv2DLayer(InputLayer((None, 3, 3, 4)), 2, 3, stride=2, crop=1)
    train_step(layer, np.random.RandomState(5).rand(2, 3, 3, 4).astype("float32"), backend)


# -- DilatedConv2DLayer ----------------------------------------------------------

@pytest.mark.parametrize("filter_size, dilation, out_hw", [
    (3, 1, (7, 9)), (3, 2, (5, 7)), ((2, 3), (3, 1), (6, 9)),
])
def test_dilated_shapes_and_params(filter_size, dilation, out_hw):
    layer = DilatedConv2DLayer(InputLayer((None, 3, 9, 11)), 4, filter_size, dilation=dilation)
    assert layer.output_shape == (None, 4) + out_hw
    fs = filter_size if isinstance(filter_size, tuple) else (filter_size,) * 2
    assert layer.W.get_value().shape == (3, 4) + fs      # (input channels, filters, ...)
    assert count_params(layer) == 3 * 4 * fs[0] * fs[1] + 4
    assert not hasattr(layer, "stride")


def test_dilated_refuses_padding_and_flipping():
    with pytest.raises(NotImplementedError, match="PadLayer"):
        DilatedConv2DLayer(InputLayer((None, 3, 9, 9)), 4, 3, pad=1)
    with pytest.raises(NotImplementedError, match="flip_filters=False"):
        DilatedConv2DLayer(InputLayer((None, 3, 9, 9)), 4, 3, flip_filters=True)
    DilatedConv2DLayer(InputLayer((None, 3, 9, 9)), 4, 3, pad="valid")


def test_dilated_values(backend, float64):
    rng = np.random.RandomState(6)
    x = rng.randn(2, 3, 7, 8)
    layer = DilatedConv2DLayer(InputLayer((None, 3, 7, 8)), 2, (2, 3), dilation=(3, 2),
                               b=init.Normal(1.0), nonlinearity=None)
    W, b = layer.W.get_value(), layer.b.get_value()
    ref = conv2d_reference(x, W.transpose(1, 0, 2, 3), flip=False, dilation=(3, 2))
    out = _compile(layer, backend)(x)
    assert out.shape == (2,) + layer.output_shape[1:] == (2, 2, 4, 4)
    np.testing.assert_allclose(out, ref + b[None, :, None, None], rtol=1e-10, atol=1e-12)


def test_dilated_trains(backend, train_step):
    layer = DilatedConv2DLayer(InputLayer((None, 2, 7, 7)), 3, 3, dilation=2)
    train_step(layer, np.random.RandomState(7).rand(2, 2, 7, 7).astype("float32"), backend)
