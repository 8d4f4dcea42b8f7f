"""Issue 18's 3-D layers (Conv3DLayer, TransposedConv3DLayer / Deconv3DLayer,
Pool3DLayer, MaxPool3DLayer) and LocallyConnected2DLayer: each one's output against
an independent numpy float64 loop reference (and scipy where it has the operation),
its gradients against finite differences (``verify_grad``, on small shapes),
``get_output_shape`` against the shape a compiled function returns, and Lasagne's
signatures and parameter shapes. These layers are compositions of 2-D ops."""
import inspect
import itertools

import numpy as np
import pytest
import scipy.signal

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import layers
from layerkit.init import Normal
from layerkit.layers import (Conv3DLayer, Deconv3DLayer, InputLayer, LocallyConnected2DLayer,
                             MaxPool3DLayer, Pool3DLayer, TransposedConv3DLayer, get_all_layers,
                             get_output, get_output_shape)
from layerkit.layers import dnn
from layerkit.testing import verify_grad
from layerkit.testing.plugin import QUICK_BACKENDS

RNG = np.random.RandomState(1234)


def run(layer, x, backend):
    """The layer's output for ``x``, checked against ``get_output_shape``."""
    l_in = get_all_layers(layer)[0]
    y = theano.function([l_in.input_var], get_output(layer), backend=backend.name)(x)
    declared = get_output_shape(layer)
    assert len(declared) == y.ndim
    assert all(d is None or d == s for d, s in zip(declared, y.shape)), (declared, y.shape)
    return y


def gradients_checked_on(backend) -> bool:
    """Finite differences on numpy; the quick generic backends compare forward values only
    (as tests/layers/test_missing_layers.py)."""
    return backend.name not in QUICK_BACKENDS


def check_grads(make_layer, x, w, backend):
    """Finite differences of the layer's output w.r.t. its input and (when ``w`` is given)
    its weights, with ``make_layer(input_var, W)`` building the layer."""
    if not gradients_checked_on(backend):
        return
    if w is None:
        verify_grad(lambda v: get_output(make_layer(v, None)), [x], backend=backend.name)
    else:
        verify_grad(lambda v, wv: get_output(make_layer(v, wv)), [x, w], backend=backend.name)


# -- numpy references ---------------------------------------------------------------------

def conv3d_reference(x, w, stride, pad, flip):
    """Loop over output positions: correlation of the zero-padded ``x`` with ``w``
    (flipped in all three axes when ``flip``)."""
    if flip:
        w = w[:, :, ::-1, ::-1, ::-1]
    k = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out_len = [(xp.shape[2 + a] - k[a]) // stride[a] + 1 for a in range(3)]
    out = np.zeros((x.shape[0], w.shape[0]) + tuple(out_len))
    for o in itertools.product(*(range(n) for n in out_len)):
        s = [o[a] * stride[a] for a in range(3)]
        patch = xp[:, :, s[0]:s[0] + k[0], s[1]:s[1] + k[1], s[2]:s[2] + k[2]]
        out[(slice(None), slice(None)) + o] = np.tensordot(patch, w, axes=([1, 2, 3, 4],
                                                                           [1, 2, 3, 4]))
    return out


def transposed_conv3d_reference(u, w, stride, crop, flip, out_size=None):
    """Scatter: input cell ``i`` adds ``u[i] * filter`` at ``i * stride`` of the
    uncropped output (the filter flipped unless ``flip``, Lasagne's convention), then
    ``crop`` is cut from each side (the output widened with zeros for ``out_size``)."""
    wf = w if flip else w[:, :, ::-1, ::-1, ::-1]
    k = w.shape[2:]
    full = [(u.shape[2 + a] - 1) * stride[a] + k[a] for a in range(3)]
    if out_size is None:
        out_size = [full[a] - 2 * crop[a] for a in range(3)]
    size = [max(full[a], out_size[a] + 2 * crop[a]) for a in range(3)]
    y = np.zeros((u.shape[0], w.shape[1]) + tuple(size))
    for i in itertools.product(*(range(n) for n in u.shape[2:])):
        s = [i[a] * stride[a] for a in range(3)]
        contrib = np.tensordot(u[(slice(None), slice(None)) + i], wf, axes=([1], [0]))
        y[:, :, s[0]:s[0] + k[0], s[1]:s[1] + k[1], s[2]:s[2] + k[2]] += contrib
    return y[:, :, crop[0]:crop[0] + out_size[0], crop[1]:crop[1] + out_size[1],
             crop[2]:crop[2] + out_size[2]]


def pool_length(n, k, s, p, ignore_border):
    if ignore_border:
        return (n + 2 * p - k) // s + 1
    if s >= k:
        return (n - 1) // s + 1
    return max(0, (n - 1 - k + s) // s) + 1


def pool3d_reference(x, ws, stride, pad, ignore_border, mode):
    """Loop over windows; padding never wins a max; 'average_inc_pad' divides by the
    window's size in the padded input (clipped at its end), 'average_exc_pad' by the
    number of real cells."""
    size = x.shape[2:]
    out_len = [pool_length(size[a], ws[a], stride[a], pad[a], ignore_border) for a in range(3)]
    out = np.zeros(x.shape[:2] + tuple(out_len))
    for o in itertools.product(*(range(n) for n in out_len)):
        lo = [o[a] * stride[a] - pad[a] for a in range(3)]
        hi = [lo[a] + ws[a] for a in range(3)]
        real = tuple(slice(max(lo[a], 0), min(hi[a], size[a])) for a in range(3))
        window = x[(slice(None), slice(None)) + real].reshape(x.shape[:2] + (-1,))
        if mode == "max":
            v = window.max(axis=-1)
        elif mode == "sum":
            v = window.sum(axis=-1)
        elif mode == "average_exc_pad":
            v = window.mean(axis=-1)
        else:
            n = np.prod([min(hi[a], size[a] + pad[a]) - lo[a] for a in range(3)])
            v = window.sum(axis=-1) / n
        out[(slice(None), slice(None)) + o] = v
    return out


def local2d_reference(x, w, flip, channelwise):
    """Loop over output positions and taps; 'same' zero padding, stride 1."""
    kh, kw = w.shape[1:3] if channelwise else w.shape[2:4]
    if flip:
        w = w[:, ::-1, ::-1] if channelwise else w[:, :, ::-1, ::-1]
    xp = np.pad(x, [(0, 0), (0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)])
    rows, cols = x.shape[2:]
    out = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for r, c in itertools.product(range(rows), range(cols)):
        patch = xp[:, :, r:r + kh, c:c + kw]
        if channelwise:
            out[:, :, r, c] = np.einsum("bfij,fij->bf", patch, w[..., r, c])
        else:
            out[:, :, r, c] = np.einsum("bcij,fcij->bf", patch, w[..., r, c])
    return out


# -- Conv3DLayer ----------------------------------------------------------------------------

CONV3D_CASES = [
    # shape, num_filters, filter_size, stride, pad, int pad (for the reference)
    ((2, 3, 5, 6, 7), 4, 3, (1, 1, 1), 0, (0, 0, 0)),
    ((2, 3, 5, 6, 7), 4, (3, 2, 3), (2, 1, 2), "valid", (0, 0, 0)),
    ((1, 2, 4, 5, 6), 3, (3, 3, 1), (1, 2, 1), "same", (1, 1, 0)),
    ((1, 2, 4, 5, 3), 3, (2, 3, 2), (2, 2, 1), "full", (1, 2, 1)),
    ((2, 2, 3, 4, 5), 2, (2, 2, 3), (1, 3, 2), (1, 0, 2), (1, 0, 2)),
    ((1, 3, 6, 4, 4), 2, 3, 2, 1, (1, 1, 1)),
]


@pytest.mark.parametrize("shape, num_filters, filter_size, stride, pad, int_pad", CONV3D_CASES)
@pytest.mark.parametrize("flip", [True, False])
def test_conv3d_values_and_grads(shape, num_filters, filter_size, stride, pad, int_pad, flip,
                                 backend, float64):
    x = RNG.randn(*shape)
    layer = Conv3DLayer(InputLayer((None,) + shape[1:]), num_filters, filter_size, stride=stride,
                        pad=pad, flip_filters=flip, nonlinearity=None, b=RNG.randn(num_filters))
    w, b = layer.W.get_value(), layer.b.get_value()
    assert w.shape == (num_filters, shape[1]) + layer.filter_size
    ref = conv3d_reference(x, w, layer.stride, int_pad, flip) + b[:, None, None, None]
    np.testing.assert_allclose(run(layer, x, backend), ref, rtol=1e-10, atol=1e-12)

    def make(v, wv):
        return Conv3DLayer(InputLayer((None,) + shape[1:], v), num_filters, filter_size,
                           stride=stride, pad=pad, flip_filters=flip, nonlinearity=None, W=wv,
                           b=None)
    if shape[0] == 1:   # the small cases: input and weights
        check_grads(make, x, w, backend)


def test_conv3d_is_scipy_convolve(backend, float64):
    """flip_filters=True (the default) is a true convolution: scipy.signal.convolve."""
    x = RNG.randn(2, 3, 4, 5, 6)
    layer = Conv3DLayer(InputLayer((None, 3, 4, 5, 6)), 2, (2, 3, 2), nonlinearity=None)
    w = layer.W.get_value()
    ref = np.stack([np.stack([sum(scipy.signal.convolve(x[n, c], w[f, c], mode="valid")
                                  for c in range(3)) for f in range(2)]) for n in range(2)])
    np.testing.assert_allclose(run(layer, x, backend), ref, rtol=1e-10, atol=1e-12)


def test_conv3d_untied_biases_groups_and_nonlinearity(backend, float64):
    x = RNG.randn(2, 4, 3, 4, 5)
    layer = Conv3DLayer(InputLayer((None, 4, 3, 4, 5)), 6, 2, pad="full", untie_biases=True,
                        num_groups=2, b=lambda shape: RNG.randn(*shape))
    assert layer.W.get_value().shape == (6, 2, 2, 2, 2)
    assert layer.b.get_value().shape == (6, 4, 5, 6) == layer.output_shape[1:]
    w, b = layer.W.get_value(), layer.b.get_value()
    ref = np.concatenate([conv3d_reference(x[:, 2 * g:2 * g + 2], w[3 * g:3 * g + 3], (1, 1, 1),
                                           (1, 1, 1), True) for g in range(2)], axis=1)
    np.testing.assert_allclose(run(layer, x, backend), np.maximum(ref + b, 0), rtol=1e-10,
                               atol=1e-12)


def test_conv3d_unknown_spatial_sizes(backend, float64):
    """Depth, rows and columns unknown when the layer is built: sizes come from the input."""
    x = RNG.randn(2, 3, 5, 4, 6)
    layer = Conv3DLayer(InputLayer((None, 3, None, None, None)), 2, 3, stride=(2, 1, 2),
                        pad="same", nonlinearity=None)
    assert layer.output_shape == (None, 2, None, None, None)
    ref = conv3d_reference(x, layer.W.get_value(), (2, 1, 2), (1, 1, 1), True)
    np.testing.assert_allclose(run(layer, x, backend), ref, rtol=1e-10, atol=1e-12)


def test_conv3d_parameters_and_errors():
    layer = Conv3DLayer(InputLayer((None, 3, 8, 16, 16)), 8, 3)
    assert layer.W.get_value().shape == (8, 3, 3, 3, 3) and layer.b.get_value().shape == (8,)
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.get_params(trainable=True) == [layer.W, layer.b]
    assert layer.flip_filters and layer.stride == (1, 1, 1) and layer.pad == (0, 0, 0)
    assert layer.output_shape == (None, 8, 6, 14, 14)
    assert Conv3DLayer(InputLayer((None, 3, 8, 16, 16)), 8, 3, pad="same").pad == "same"
    with pytest.raises(NotImplementedError, match="odd filter size"):
        Conv3DLayer(InputLayer((None, 3, 8, 8, 8)), 4, (3, 2, 3), pad="same")
    with pytest.raises(ValueError, match="3D convolution"):
        Conv3DLayer(InputLayer((None, 3, 8, 8)), 4, 3)
    with pytest.raises(ValueError, match="num_groups=2"):
        Conv3DLayer(InputLayer((None, 3, 8, 8, 8)), 4, 3, num_groups=2)


def test_conv3d_convolution_hook_is_called_as_lasagne_calls_it(float64):
    calls = []

    def convolution(input, W, input_shape, W_shape, subsample, border_mode, filter_flip):
        calls.append((input_shape, W_shape, subsample, border_mode, filter_flip))
        return T.zeros((input.shape[0], W_shape[0], 2, 2, 2))
    layer = Conv3DLayer(InputLayer((None, 3, 4, 4, 4)), 5, 3, pad="same",
                        convolution=convolution)
    get_output(layer)
    assert calls == [((None, 3, 4, 4, 4), (5, 3, 3, 3, 3), (1, 1, 1), "half", True)]


# -- TransposedConv3DLayer ------------------------------------------------------------------

TRANSPOSED_CASES = [
    # input shape, num_filters, filter_size, stride, crop, int crop, output_size
    ((1, 3, 2, 3, 2), 2, 3, (1, 1, 1), 0, (0, 0, 0), None),
    ((1, 2, 2, 3, 3), 3, (2, 3, 2), (2, 1, 2), "valid", (0, 0, 0), None),
    ((2, 2, 3, 2, 3), 2, 3, (2, 2, 1), "same", (1, 1, 1), None),
    ((1, 2, 2, 2, 3), 2, (3, 2, 2), (1, 2, 2), "full", (2, 1, 1), None),
    ((1, 2, 3, 2, 2), 2, (4, 3, 3), 2, (1, 0, 1), (1, 0, 1), (7, 6, 4)),
]


@pytest.mark.parametrize("shape, num_filters, filter_size, stride, crop, int_crop, output_size",
                         TRANSPOSED_CASES)
@pytest.mark.parametrize("flip", [False, True])
def test_transposed_conv3d_values_and_grads(shape, num_filters, filter_size, stride, crop,
                                            int_crop, output_size, flip, backend, float64):
    u = RNG.randn(*shape)
    layer = TransposedConv3DLayer(InputLayer((None,) + shape[1:]), num_filters, filter_size,
                                  stride=stride, crop=crop, flip_filters=flip,
                                  output_size=output_size, nonlinearity=None,
                                  b=RNG.randn(num_filters))
    w, b = layer.W.get_value(), layer.b.get_value()
    assert w.shape == (shape[1], num_filters) + layer.filter_size
    ref = transposed_conv3d_reference(u, w, layer.stride, int_crop, flip, output_size)
    assert layer.output_shape[2:] == ref.shape[2:]
    np.testing.assert_allclose(run(layer, u, backend), ref + b[:, None, None, None],
                               rtol=1e-10, atol=1e-12)

    def make(v, wv):
        return TransposedConv3DLayer(InputLayer((None,) + shape[1:], v), num_filters,
                                     filter_size, stride=stride, crop=crop, flip_filters=flip,
                                     output_size=output_size, nonlinearity=None, W=wv, b=None)
    if shape[0] == 1:
        check_grads(make, u, w, backend)


def test_transposed_conv3d_is_the_adjoint_of_conv3d(backend, float64):
    """<conv(y), u> == <y, transposed(u)> with the same W, flips opposite (Lasagne's rule)."""
    w = RNG.randn(3, 2, 3, 2, 3)
    tconv = TransposedConv3DLayer(InputLayer((None, 3, 3, 2, 4)), 2, (3, 2, 3), stride=(2, 1, 2),
                                  crop=(1, 0, 1), W=w, b=None, nonlinearity=None)
    y_shape = (2,) + tconv.output_shape[1:]
    conv = Conv3DLayer(InputLayer((None,) + y_shape[1:]), 3, (3, 2, 3), stride=(2, 1, 2),
                       pad=(1, 0, 1), W=w, b=None, nonlinearity=None, flip_filters=True)
    assert conv.output_shape[1:] == (3, 3, 2, 4)
    u, y = RNG.randn(2, 3, 3, 2, 4), RNG.randn(*y_shape)
    np.testing.assert_allclose(np.sum(run(conv, y, backend) * u),
                               np.sum(y * run(tconv, u, backend)), rtol=1e-10)


def test_transposed_conv3d_symbolic_output_size(backend, float64):
    size = T.ivector("size")
    l_in = InputLayer((None, 2, 2, 3, 2))
    layer = Deconv3DLayer(l_in, 3, 3, stride=2, output_size=size, nonlinearity=None, b=None)
    assert layer.output_shape == (None, 3, None, None, None)
    u = RNG.randn(1, 2, 2, 3, 2)
    y = theano.function([l_in.input_var, size], get_output(layer),
                        backend=backend.name)(u, np.array([6, 7, 5], dtype="int32"))
    ref = transposed_conv3d_reference(u, layer.W.get_value(), (2, 2, 2), (0, 0, 0), False,
                                      (6, 7, 5))
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)


def test_transposed_conv3d_parameters():
    assert Deconv3DLayer is TransposedConv3DLayer
    layer = TransposedConv3DLayer(InputLayer((None, 8, 3, 5, 6)), 3, 4, stride=2, crop=1,
                                  untie_biases=True)
    assert layer.W.get_value().shape == (8, 3, 4, 4, 4)
    assert layer.output_shape == (None, 3, 6, 10, 12)
    assert layer.b.get_value().shape == (3, 6, 10, 12)
    assert layer.crop == (1, 1, 1) and not hasattr(layer, "pad") and not layer.flip_filters
    assert TransposedConv3DLayer(InputLayer((None, 8, 3, 5, 6)), 3, 3,
                                 crop="same").output_shape == (None, 3, 3, 5, 6)


# -- Pool3DLayer, MaxPool3DLayer ----------------------------------------------------------

POOL3D_CASES = [
    # pool_size, stride, pad, ignore_border
    (2, None, 0, True),
    ((3, 2, 3), (2, 1, 2), (1, 1, 1), True),
    ((2, 3, 2), (1, 2, 3), 0, False),
    (3, 2, 0, False),
    ((1, 2, 3), (2, 2, 1), (0, 1, 2), True),
]


@pytest.mark.parametrize("pool_size, stride, pad, ignore_border", POOL3D_CASES)
@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
def test_pool3d_values_and_grads(pool_size, stride, pad, ignore_border, mode, backend, float64):
    x = RNG.randn(2, 2, 5, 6, 7)
    layer = Pool3DLayer(InputLayer((None, 2, 5, 6, 7)), pool_size, stride=stride, pad=pad,
                        ignore_border=ignore_border, mode=mode)
    ref = pool3d_reference(x, layer.pool_size, layer.stride, layer.pad, ignore_border, mode)
    np.testing.assert_allclose(run(layer, x, backend), ref, rtol=1e-12, atol=1e-14)
    small = RNG.randn(1, 1, 4, 5, 4)
    check_grads(lambda v, _: Pool3DLayer(InputLayer((None, 1, 4, 5, 4), v), pool_size,
                                         stride=stride, pad=pad, ignore_border=ignore_border,
                                         mode=mode), small, None, backend)


def test_max_pool3d_gradient_goes_to_the_first_maximum_in_window_order(backend, float64):
    """All cells tied: each (d, r, c) window's gradient goes to its first cell (D62)."""
    l_in = InputLayer((1, 1, 4, 4, 4))
    layer = MaxPool3DLayer(l_in, 2)
    g = theano.function([l_in.input_var], T.grad(T.sum(get_output(layer)), l_in.input_var),
                        backend=backend.name)(np.ones((1, 1, 4, 4, 4)))
    expected = np.zeros((4, 4, 4))
    expected[::2, ::2, ::2] = 1
    np.testing.assert_array_equal(g[0, 0], expected)


def test_pool3d_unknown_sizes_and_parameters(backend, float64):
    x = RNG.randn(3, 2, 5, 4, 7)
    layer = MaxPool3DLayer(InputLayer((None, None, None, None, None)), (2, 2, 3), stride=(1, 2, 2))
    assert layer.output_shape == (None,) * 5
    ref = pool3d_reference(x, (2, 2, 3), (1, 2, 2), (0, 0, 0), True, "max")
    np.testing.assert_allclose(run(layer, x, backend), ref)
    layer = MaxPool3DLayer(InputLayer((None, 3, 8, 16, 16)), 2)
    assert layer.mode == "max" and layer.stride == (2, 2, 2) and layer.pad == (0, 0, 0)
    assert layer.ignore_border and not layer.get_params()
    assert layer.output_shape == (None, 3, 4, 8, 8)
    assert isinstance(layer, Pool3DLayer)
    with pytest.raises(NotImplementedError, match="ignore_border"):   # as Pool2DLayer
        Pool3DLayer(InputLayer((None, 3, 8, 8, 8)), 2, pad=1, ignore_border=False).output_shape
    with pytest.raises(ValueError, match="3D pooling"):
        Pool3DLayer(InputLayer((None, 3, 8, 8)), 2)


# -- LocallyConnected2DLayer --------------------------------------------------------------

@pytest.mark.parametrize("filter_size", [3, (1, 3), (3, 5)])
@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("channelwise", [False, True])
def test_locally_connected_values_and_grads(filter_size, flip, channelwise, backend, float64):
    shape = (2, 3, 5, 4)
    num_filters = 3 if channelwise else 4
    x = RNG.randn(*shape)
    layer = LocallyConnected2DLayer(InputLayer((None,) + shape[1:]), num_filters, filter_size,
                                    flip_filters=flip, channelwise=channelwise,
                                    nonlinearity=None, b=RNG.randn(num_filters))
    w, b = layer.W.get_value(), layer.b.get_value()
    k = layer.filter_size
    assert w.shape == ((num_filters,) + k + (5, 4) if channelwise
                       else (num_filters, 3) + k + (5, 4))
    ref = local2d_reference(x, w, flip, channelwise) + b[:, None, None]
    np.testing.assert_allclose(run(layer, x, backend), ref, rtol=1e-10, atol=1e-12)

    small = (1, 3, 3, 4)

    def make(v, wv):
        return LocallyConnected2DLayer(InputLayer((None,) + small[1:], v), num_filters,
                                       filter_size, flip_filters=flip, channelwise=channelwise,
                                       nonlinearity=None, W=wv, b=None)
    ws = make(None, Normal(1.0)).W.get_value()
    check_grads(make, RNG.randn(*small), ws, backend)


def test_locally_connected_untied_biases_and_nonlinearity(backend, float64):
    x = RNG.randn(2, 2, 3, 4)
    layer = LocallyConnected2DLayer(InputLayer((None, 2, 3, 4)), 3, 3, untie_biases=True,
                                    b=lambda shape: RNG.randn(*shape))
    assert layer.b.get_value().shape == (3, 3, 4)
    ref = local2d_reference(x, layer.W.get_value(), True, False) + layer.b.get_value()
    np.testing.assert_allclose(run(layer, x, backend), np.maximum(ref, 0), rtol=1e-10,
                               atol=1e-12)


def test_locally_connected_parameters_and_errors():
    layer = LocallyConnected2DLayer(InputLayer((None, 3, 6, 5)), 4, 3)
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.pad == "same" and layer.stride == (1, 1) and layer.flip_filters
    assert not layer.channelwise and layer.output_shape == (None, 4, 6, 5)
    with pytest.raises(NotImplementedError, match="stride"):
        LocallyConnected2DLayer(InputLayer((None, 3, 6, 5)), 4, 3, stride=2)
    with pytest.raises(NotImplementedError, match="pad='same'"):
        LocallyConnected2DLayer(InputLayer((None, 3, 6, 5)), 4, 3, pad=0)
    with pytest.raises(NotImplementedError, match="odd filter size"):
        LocallyConnected2DLayer(InputLayer((None, 3, 6, 5)), 4, 2)
    with pytest.raises(ValueError, match="channelwise"):
        LocallyConnected2DLayer(InputLayer((None, 3, 6, 5)), 4, 3, channelwise=True)
    with pytest.raises(ValueError, match="fixed input shape"):
        LocallyConnected2DLayer(InputLayer((None, 3, None, 5)), 4, 3)


# -- Lasagne's signatures, the dnn names ------------------------------------------------------

KW = "**kwargs"
EMPTY = inspect.Parameter.empty
CONV3D = [("incoming", EMPTY), ("num_filters", EMPTY), ("filter_size", EMPTY),
          ("stride", (1, 1, 1)), ("pad", 0), ("untie_biases", False), ("W", "GlorotUniform"),
          ("b", "Constant"), ("nonlinearity", "rectify"), ("flip_filters", True),
          ("num_groups", 1), ("convolution", None), KW]
SIGNATURES = {
    layers.Conv3DLayer: CONV3D,
    layers.TransposedConv3DLayer: [
        ("incoming", EMPTY), ("num_filters", EMPTY), ("filter_size", EMPTY),
        ("stride", (1, 1, 1)), ("crop", 0), ("untie_biases", False), ("W", "GlorotUniform"),
        ("b", "Constant"), ("nonlinearity", "rectify"), ("flip_filters", False),
        ("output_size", None), KW],
    layers.Pool3DLayer: [("incoming", EMPTY), ("pool_size", EMPTY), ("stride", None),
                         ("pad", (0, 0, 0)), ("ignore_border", True), ("mode", "max"), KW],
    layers.MaxPool3DLayer: [("incoming", EMPTY), ("pool_size", EMPTY), ("stride", None),
                            ("pad", (0, 0, 0)), ("ignore_border", True), KW],
    layers.LocallyConnected2DLayer: [
        ("incoming", EMPTY), ("num_filters", EMPTY), ("filter_size", EMPTY), ("stride", (1, 1)),
        ("pad", "same"), ("untie_biases", False), ("W", "GlorotUniform"), ("b", "Constant"),
        ("nonlinearity", "rectify"), ("flip_filters", True), ("channelwise", False), KW],
}


def _default(value):
    if value is EMPTY or value is None or isinstance(value, (int, float, str, tuple)):
        return value
    return getattr(value, "__name__", type(value).__name__)


@pytest.mark.parametrize("cls", list(SIGNATURES), ids=lambda c: c.__name__)
def test_lasagne_signatures(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    got = [KW if p.kind is p.VAR_KEYWORD else (p.name, _default(p.default)) for p in params]
    assert got == SIGNATURES[cls]
    assert cls.__doc__ and "compos" in cls.__doc__   # says it is a composition of 2-D ops


def test_dnn_3d_names_build_the_portable_layers():
    conv = dnn.Conv3DDNNLayer(InputLayer((None, 2, 5, 5, 5)), 4, 3)
    assert isinstance(conv, Conv3DLayer) and not conv.flip_filters
    pool = dnn.MaxPool3DDNNLayer(InputLayer((None, 2, 4, 4, 4)), 2)
    assert isinstance(pool, MaxPool3DLayer) and isinstance(pool, dnn.Pool3DDNNLayer)
    assert pool.mode == "max" and pool.output_shape == (None, 2, 2, 2, 2)
    avg = dnn.Pool3DDNNLayer(InputLayer((None, 2, 4, 4, 4)), 2, mode="average_inc_pad")
    assert isinstance(avg, Pool3DLayer) and avg.mode == "average_inc_pad"
    with pytest.raises(NotImplementedError, match="Pool3DLayer for partial windows"):
        dnn.Pool3DDNNLayer(InputLayer((None, 2, 4, 4, 4)), 2, ignore_border=False)
