"""Issue 18's missing Lasagne layers that are built from existing ops: each one's output
against an independent numpy float64 reference, its gradient against finite differences
(``verify_grad``), ``get_output_shape`` against the shape a compiled function returns, and
its parameters' shapes and tags (Lasagne's)."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import nonlinearities
from layerkit.layers import (BiasLayer, Conv2DLayer, DenseLayer, FeaturePoolLayer, InverseLayer,
                             FeatureWTALayer, InputLayer, LocalResponseNormalization2DLayer,
                             NonlinearityLayer, ScaleLayer, SpatialPyramidPoolingLayer,
                             StandardizationLayer, TransformerLayer, Upscale1DLayer, Upscale3DLayer,
                             get_all_layers, get_all_params, get_output, get_output_shape,
                             instance_norm, layer_norm)
from layerkit.testing import verify_grad
from layerkit.testing.plugin import QUICK_BACKENDS

RNG = np.random.RandomState(42)


def run(layer, x, backend, input_var=None):
    """The layer's output for ``x``, checked against ``get_output_shape``."""
    l_in = get_all_layers(layer)[0]
    var = l_in.input_var if input_var is None else input_var
    out = get_output(layer, var) if input_var is not None else get_output(layer)
    y = theano.function([var], out, backend=backend.name)(x)
    declared = get_output_shape(layer)
    assert len(declared) == y.ndim
    assert all(d is None or d == s for d, s in zip(declared, y.shape)), (declared, y.shape)
    return y


def gradients_checked_on(backend) -> bool:
    """Layers only build graphs: their gradients are the same graph on every backend,
    and each backend's kernels (and their gradients) are checked by the kit. So the
    finite-difference checks here run on numpy; on the quick generic backends
    (array-api-strict, ~20x slower) the forward values are still compared."""
    return backend.name not in QUICK_BACKENDS


def check_grad(layer, x, backend):
    """Finite differences of the layer's output w.r.t. its input (any input sizes)."""
    if gradients_checked_on(backend):
        verify_grad(lambda v: get_output(layer, v), [x], backend=backend.name)


# -- FeaturePoolLayer, FeatureWTALayer ---------------------------------------------------

@pytest.mark.parametrize("shape, axis, pool_size", [
    ((3, 12), 1, 3), ((2, 6, 4, 5), 1, 2), ((2, 3, 8), -1, 4), ((2, 3, 8), 2, 2)])
@pytest.mark.parametrize("func", ["max", "mean"])
def test_feature_pool_values_and_grad(shape, axis, pool_size, func, backend, float64):
    x = RNG.randn(*shape)
    pool_function = {"max": T.max, "mean": T.mean}[func]
    layer = FeaturePoolLayer(InputLayer((None,) + shape[1:]), pool_size, axis=axis,
                             pool_function=pool_function)
    ax = axis % len(shape)
    grouped = x.reshape(shape[:ax] + (shape[ax] // pool_size, pool_size) + shape[ax + 1:])
    ref = getattr(np, func)(grouped, axis=ax + 1)
    y = run(layer, x, backend)
    np.testing.assert_allclose(y, ref, rtol=1e-12)
    assert layer.output_shape[ax] == shape[ax] // pool_size
    check_grad(layer, x, backend)


def test_feature_pool_defaults_and_errors():
    layer = FeaturePoolLayer(InputLayer((None, 8)), 2)
    assert layer.axis == 1 and layer.pool_function is T.max and not layer.get_params()
    with pytest.raises(ValueError, match="not a multiple of pool_size=3"):
        FeaturePoolLayer(InputLayer((None, 8)), 3)
    with pytest.raises(ValueError, match="not a multiple"):
        FeatureWTALayer(InputLayer((None, 8, 5)), 3)


def wta_reference(x, pool_size, axis):
    x = np.moveaxis(x, axis, -1)
    g = x.reshape(x.shape[:-1] + (x.shape[-1] // pool_size, pool_size))
    mask = np.zeros_like(g)
    np.put_along_axis(mask, g.argmax(axis=-1)[..., None], 1.0, axis=-1)
    return np.moveaxis((g * mask).reshape(x.shape), -1, axis)


@pytest.mark.parametrize("shape, axis, pool_size", [
    ((3, 12), 1, 3), ((2, 6, 4, 5), 1, 2), ((2, 3, 8), 2, 4)])
def test_feature_wta_values_and_grad(shape, axis, pool_size, backend, float64):
    x = RNG.randn(*shape)
    layer = FeatureWTALayer(InputLayer((None,) + shape[1:]), pool_size, axis=axis)
    y = run(layer, x, backend)
    np.testing.assert_array_equal(y, wta_reference(x, pool_size, axis))
    assert layer.output_shape == (None,) + shape[1:]
    check_grad(layer, x, backend)


def test_feature_wta_ties_keep_the_first(backend, float64):
    x = np.array([[1.0, 3.0, 3.0, 0.5]])
    layer = FeatureWTALayer(InputLayer((None, 4)), 4)
    np.testing.assert_array_equal(run(layer, x, backend), [[0.0, 3.0, 0.0, 0.0]])


# -- StandardizationLayer, instance_norm, layer_norm -------------------------------------

def standardize_reference(x, axes, epsilon):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + epsilon)


@pytest.mark.parametrize("shape, axes, expected", [
    ((2, 3, 4, 5), "auto", (2, 3)), ((2, 3, 4, 5), "spatial", (2, 3)),
    ((2, 3, 4, 5), "features", (1, 2, 3)), ((3, 7), "features", (1,)),
    ((2, 3, 6), -1, (2,)), ((2, 3, 6), (0, 2), (0, 2))])
def test_standardization_values_and_grad(shape, axes, expected, backend, float64):
    x = RNG.randn(*shape) * 2 + 1
    layer = StandardizationLayer(InputLayer((None,) + shape[1:]), axes=axes, epsilon=1e-3)
    assert layer.axes == expected and not layer.get_params()
    y = run(layer, x, backend)
    np.testing.assert_allclose(y, standardize_reference(x, expected, 1e-3), rtol=1e-10,
                               atol=1e-12)
    check_grad(layer, x, backend)


def test_standardization_defaults_and_errors():
    layer = StandardizationLayer(InputLayer((None, 3, 4)))
    assert layer.epsilon == 1e-4 and layer.axes == (2,)
    with pytest.raises(ValueError, match="no axes to normalize"):
        StandardizationLayer(InputLayer((None, 3)))


def test_instance_norm_structure_params_and_values(backend, float64):
    l_in = InputLayer((None, 2, 5, 5))
    conv = Conv2DLayer(l_in, 3, 3, name="conv", nonlinearity=nonlinearities.tanh)
    top = instance_norm(conv, epsilon=1e-3)
    kinds = [type(lyr) for lyr in get_all_layers(top)]
    assert kinds == [InputLayer, Conv2DLayer, StandardizationLayer, ScaleLayer, BiasLayer,
                     NonlinearityLayer]
    std, scale, bias = get_all_layers(top)[2:5]
    assert conv.b is None and conv.nonlinearity is nonlinearities.identity
    assert top.nonlinearity is nonlinearities.tanh and std.axes == (2, 3)
    assert std.name == "conv_in" and std.epsilon == 1e-3
    assert scale.scales.get_value().shape == (3,) and bias.b.get_value().shape == (3,)
    assert get_all_params(top, regularizable=True) == [conv.W]
    assert set(get_all_params(top, trainable=True)) == {conv.W, scale.scales, bias.b}
    scale.scales.set_value(RNG.rand(3) + 0.5)
    bias.b.set_value(RNG.randn(3))
    x = RNG.randn(2, 2, 5, 5)
    conv_out = theano.function([l_in.input_var], get_output(conv), backend=backend.name)(x)
    ref = np.tanh(standardize_reference(conv_out, (2, 3), 1e-3)
                  * scale.scales.get_value()[:, None, None] + bias.b.get_value()[:, None, None])
    np.testing.assert_allclose(run(top, x, backend), ref, rtol=1e-10, atol=1e-12)
    plain = instance_norm(Conv2DLayer(l_in, 3, 3), learn_scale=False, learn_bias=False)
    assert [type(lyr) for lyr in get_all_layers(plain)][2:] == [StandardizationLayer,
                                                                 NonlinearityLayer]


def test_layer_norm_structure_params_and_values(backend, float64):
    l_in = InputLayer((None, 6))
    dense = DenseLayer(l_in, 4, name="fc")
    top = layer_norm(dense)
    std, scale, bias = get_all_layers(top)[2:5]
    assert [type(lyr) for lyr in (std, scale, bias, top)] == [
        StandardizationLayer, ScaleLayer, BiasLayer, NonlinearityLayer]
    assert std.axes == (1,) and std.name == "fc_ln" and dense.b is None
    assert scale.scales.get_value().shape == (4,) and bias.b.get_value().shape == (4,)
    x = RNG.randn(5, 6)
    scale.scales.set_value(RNG.rand(4) + 0.5)
    bias.b.set_value(RNG.randn(4))
    h = x @ dense.W.get_value()
    ref = np.maximum(standardize_reference(h, (1,), 1e-4) * scale.scales.get_value()
                     + bias.b.get_value(), 0)
    np.testing.assert_allclose(run(top, x, backend), ref, rtol=1e-10, atol=1e-12)


# -- LocalResponseNormalization2DLayer for any batch size ---------------------------------

def lrn_reference(x, alpha, k, beta, n):
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        lo, hi = max(0, c - n // 2), min(x.shape[1], c + n // 2 + 1)
        out[:, c] = x[:, c] / (k + alpha * (x[:, lo:hi] ** 2).sum(axis=1)) ** beta
    return out


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_lrn_any_batch_size(batch, backend, float64):
    """Declared batch size 4 (and 5 x 6 images); fed other batch and image sizes."""
    layer = LocalResponseNormalization2DLayer(InputLayer((4, 6, 5, 6)), alpha=0.2, k=1.5,
                                              beta=0.6, n=3)
    x = RNG.randn(batch, 6, 3, 2) * 2
    var = T.tensor4("x")
    y = theano.function([var], get_output(layer, var), backend=backend.name)(x)
    np.testing.assert_allclose(y, lrn_reference(x, 0.2, 1.5, 0.6, 3), rtol=1e-12)
    check_grad(layer, x, backend)


# -- grouped convolution --------------------------------------------------------------

def conv_reference(x, w, stride, pad, groups, flip):
    """Direct float64 loops: (batch, c_in, h, w) * (c_out, c_in / groups, fh, fw)."""
    if flip:
        w = w[:, :, ::-1, ::-1]
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    n, c_in, h, wd = x.shape
    c_out, per, fh, fw = w.shape
    oh, ow = (h - fh) // stride[0] + 1, (wd - fw) // stride[1] + 1
    out = np.zeros((n, c_out, oh, ow))
    out_per = c_out // groups
    for o in range(c_out):
        g = o // out_per
        xs = x[:, g * per:(g + 1) * per]
        for i in range(oh):
            for j in range(ow):
                patch = xs[:, :, i * stride[0]:i * stride[0] + fh, j * stride[1]:j * stride[1] + fw]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    return out


@pytest.mark.parametrize("groups, c_in, c_out, stride, pad, flip", [
    (2, 4, 6, (1, 1), 0, True), (3, 6, 3, (2, 1), 1, False), (4, 4, 8, (1, 1), "same", True),
    (1, 3, 2, (1, 1), 0, True)])
def test_grouped_conv_values_params_and_grad(groups, c_in, c_out, stride, pad, flip, backend,
                                             float64):
    l_in = InputLayer((None, c_in, 6, 5))
    layer = Conv2DLayer(l_in, c_out, 3, stride=stride, pad=pad, num_groups=groups,
                        flip_filters=flip, nonlinearity=None, name="gc")
    assert layer.num_groups == groups
    assert layer.W.get_value().shape == (c_out, c_in // groups, 3, 3)
    assert layer.b.get_value().shape == (c_out,)
    assert layer.get_params(regularizable=True) == [layer.W]
    layer.b.set_value(RNG.randn(c_out))
    x = RNG.randn(2, c_in, 6, 5)
    p = (1, 1) if pad == "same" else (pad, pad)
    ref = conv_reference(x, layer.W.get_value(), stride, p, groups, flip)
    ref += layer.b.get_value()[:, None, None]
    np.testing.assert_allclose(run(layer, x, backend), ref, rtol=1e-10, atol=1e-12)
    check_grad(layer, x, backend)

    def through_w(w):
        lyr = Conv2DLayer(l_in, c_out, 3, stride=stride, pad=pad, num_groups=groups,
                          flip_filters=flip, nonlinearity=None, W=w, b=None)
        return get_output(lyr, T.constant(x))
    if gradients_checked_on(backend):
        verify_grad(through_w, [layer.W.get_value()], backend=backend.name)


def test_grouped_conv_errors_and_hook():
    l_in = InputLayer((None, 4, 6, 6))
    with pytest.raises(ValueError, match="must divide"):
        Conv2DLayer(l_in, 6, 3, num_groups=3)
    with pytest.raises(ValueError, match="must divide"):
        Conv2DLayer(l_in, 5, 3, num_groups=2)
    with pytest.raises(ValueError, match="positive integer"):
        Conv2DLayer(l_in, 4, 3, num_groups=0)
    seen = {}

    def hook(input, W, input_shape, W_shape, **kwargs):
        seen.update(kwargs, W_shape=W_shape)
        return T.zeros((input.shape[0], 6, 4, 4))
    get_output(Conv2DLayer(l_in, 6, 3, num_groups=2, convolution=hook))
    assert seen["num_groups"] == 2 and seen["W_shape"] == (6, 2, 3, 3)
    seen.clear()
    get_output(Conv2DLayer(l_in, 6, 3, convolution=hook))
    assert "num_groups" not in seen


# -- Upscale1DLayer, Upscale3DLayer ----------------------------------------------------

def upscale_reference(x, factors, mode):
    lead = x.ndim - len(factors)
    if mode == "repeat":
        for k, f in enumerate(factors):
            x = np.repeat(x, f, axis=lead + k)
        return x
    out = np.zeros(x.shape[:lead] + tuple(s * f for s, f in zip(x.shape[lead:], factors)))
    out[(slice(None),) * lead + tuple(slice(None, None, f) for f in factors)] = x
    return out


@pytest.mark.parametrize("mode", ["repeat", "dilate"])
@pytest.mark.parametrize("cls, shape, factor, factors", [
    (Upscale1DLayer, (2, 3, 5), 3, (3,)), (Upscale1DLayer, (2, 3, 5), (2,), (2,)),
    (Upscale3DLayer, (2, 2, 3, 2, 4), 2, (2, 2, 2)),
    (Upscale3DLayer, (1, 2, 2, 3, 2), (1, 3, 2), (1, 3, 2))])
def test_upscale_values_and_grad(cls, shape, factor, factors, mode, backend, float64):
    x = RNG.randn(*shape)
    layer = cls(InputLayer((None,) + shape[1:]), factor, mode=mode)
    assert layer.scale_factor == factors
    y = run(layer, x, backend)
    np.testing.assert_array_equal(y, upscale_reference(x, factors, mode))
    assert layer.output_shape[2:] == tuple(s * f for s, f in zip(shape[2:], factors))
    check_grad(layer, x, backend)


def test_upscale_errors():
    with pytest.raises(ValueError, match="integers >= 1"):
        Upscale1DLayer(InputLayer((None, 3, 5)), 0)
    with pytest.raises(ValueError, match="'repeat' or 'dilate'"):
        Upscale3DLayer(InputLayer((None, 3, 5, 5, 5)), 2, mode="nearest")
    with pytest.raises(ValueError, match="5-d input shape"):
        Upscale3DLayer(InputLayer((None, 3, 5, 5)), 2)
    assert Upscale1DLayer(InputLayer((None, 3, None)), 2).output_shape == (None, 3, None)


# -- SpatialPyramidPoolingLayer -------------------------------------------------------

def spp_reference(x, pool_dims, mode, implementation):
    func = np.max if mode == "max" else np.mean
    h, w = x.shape[2:]
    cells = []
    for n in pool_dims:
        if implementation == "fast":
            (wr, sr), (wc, sc) = (-(-h // n), h // n), (-(-w // n), w // n)
            bounds = [((i * sr, i * sr + wr), (j * sc, j * sc + wc))
                      for i in range(n) for j in range(n)]
        else:
            bounds = [((i * h // n, -(-(i + 1) * h // n)), (j * w // n, -(-(j + 1) * w // n)))
                      for i in range(n) for j in range(n)]
        for (r0, r1), (c0, c1) in bounds:
            cells.append(func(x[:, :, r0:r1, c0:c1], axis=(2, 3)))
    return np.stack(cells, axis=2)


@pytest.mark.parametrize("mode", ["max", "average_exc_pad"])
@pytest.mark.parametrize("implementation, size, pool_dims", [
    ("fast", (8, 8), [4, 2, 1]), ("fast", (9, 6), [3, 2, 1]),
    ("kaiming", (7, 10), [4, 2, 1]), ("kaiming", (5, 5), [3, 1])])
def test_spp_values_and_grad(implementation, size, pool_dims, mode, backend, float64):
    x = RNG.randn(2, 3, *size)
    layer = SpatialPyramidPoolingLayer(InputLayer((None, 3) + size), pool_dims, mode=mode,
                                       implementation=implementation)
    assert layer.output_shape == (None, 3, sum(n * n for n in pool_dims))
    y = run(layer, x, backend)
    np.testing.assert_allclose(y, spp_reference(x, pool_dims, mode, implementation),
                               rtol=1e-12)
    check_grad(layer, x, backend)


def test_spp_kaiming_any_size(backend, float64):
    layer = SpatialPyramidPoolingLayer(InputLayer((None, 2, None, None)), [3, 2, 1],
                                       implementation="kaiming")
    f = theano.function([get_all_layers(layer)[0].input_var], get_output(layer),
                        backend=backend.name)
    for size in [(6, 9), (11, 4)]:
        x = RNG.randn(2, 2, *size)
        np.testing.assert_allclose(f(x), spp_reference(x, [3, 2, 1], "max", "kaiming"))


def test_spp_defaults_and_errors():
    layer = SpatialPyramidPoolingLayer(InputLayer((None, 4, 16, 16)))
    assert (layer.pool_dims, layer.mode, layer.implementation) == ([4, 2, 1], "max", "fast")
    with pytest.raises(ValueError, match="known when the layer is built"):
        SpatialPyramidPoolingLayer(InputLayer((None, 4, None, 16)))
    with pytest.raises(ValueError, match="implementation='kaiming'"):
        SpatialPyramidPoolingLayer(InputLayer((None, 4, 7, 7)), [4])
    with pytest.raises(ValueError, match="mode"):
        SpatialPyramidPoolingLayer(InputLayer((None, 4, 8, 8)), mode="sum")
    with pytest.raises(ValueError, match="4-d input"):
        SpatialPyramidPoolingLayer(InputLayer((None, 4, 8)))


# -- InverseLayer ---------------------------------------------------------------------

def test_inverse_of_dense_with_rectify(backend, float64):
    l_in = InputLayer((None, 5))
    l_hid = DenseLayer(l_in, 4)
    l_hid.b.set_value(RNG.randn(4))
    l_top = DenseLayer(l_hid, 3, nonlinearity=None)
    inv = InverseLayer(l_top, l_top)
    inv_hid = InverseLayer(inv, l_hid)
    assert inv.output_shape == (None, 4) and inv_hid.output_shape == (None, 5)
    assert not inv.get_params() and get_all_params(inv_hid) == get_all_params(l_top)
    x = RNG.randn(6, 5)
    W1, b1, W2 = l_hid.W.get_value(), l_hid.b.get_value(), l_top.W.get_value()
    pre = x @ W1 + b1
    out = np.maximum(pre, 0) @ W2
    ref = ((out @ W2.T) * (pre > 0)) @ W1.T
    np.testing.assert_allclose(run(inv_hid, x, backend), ref, rtol=1e-10)
    # the gradient through it, w.r.t. the incoming and the network's input
    l_g = InputLayer((None, 3))
    inv_g = InverseLayer(InverseLayer(l_g, l_top), l_hid)
    if gradients_checked_on(backend):
        verify_grad(lambda g, v: get_output(inv_g, {l_g: g, l_in: v}), [RNG.randn(6, 3), x],
                    backend=backend.name)


def test_inverse_of_conv_and_maxpool(backend, float64):
    from layerkit.layers import MaxPool2DLayer
    l_in = InputLayer((None, 2, 4, 4))
    conv = Conv2DLayer(l_in, 3, 3, pad=1, nonlinearity=None, b=None)
    pool = MaxPool2DLayer(conv, 2)
    inv = InverseLayer(InverseLayer(pool, pool), conv)
    assert get_output_shape(inv) == (None, 2, 4, 4)
    x = RNG.randn(1, 2, 4, 4)
    W = conv.W.get_value()
    c = conv_reference(x, W, (1, 1), (1, 1), 1, True)
    # unpool: each window's maximum back in its place, zeros elsewhere
    up = np.zeros_like(c)
    for i in range(2):
        for j in range(2):
            win = c[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].reshape(1, 3, 4)
            k = win.argmax(axis=2)
            for ch in range(3):
                up[0, ch, 2 * i + k[0, ch] // 2, 2 * j + k[0, ch] % 2] = win[0, ch, k[0, ch]]
    # the convolution's adjoint, column by column of its matrix
    jac = np.stack([conv_reference(e.reshape(x.shape), W, (1, 1), (1, 1), 1, True).ravel()
                    for e in np.eye(x.size)], axis=1)
    ref = (jac.T @ up.ravel()).reshape(x.shape)
    np.testing.assert_allclose(run(inv, x, backend), ref, rtol=1e-10, atol=1e-12)


def test_inverse_layer_errors():
    with pytest.raises(ValueError, match="one-input layer"):
        InverseLayer(InputLayer((None, 3)), DenseLayer((None, 3), 3))


# -- TransformerLayer -----------------------------------------------------------------

def transformer_reference(x, theta, ds, border_mode):
    n, c, h, w = x.shape
    oh, ow = int(h // ds[0]), int(w // ds[1])
    out = np.zeros((n, c, oh, ow))

    def index(i, size):
        if border_mode == "nearest":
            return min(max(i, 0), size - 1)
        if border_mode == "wrap":
            return i % size
        i = abs(i) % (2 * (size - 1))
        return min(i, 2 * (size - 1) - i)
    ys = np.linspace(-1, 1, oh)
    xs = np.linspace(-1, 1, ow)
    for b in range(n):
        t = theta[b].reshape(2, 3)
        for r in range(oh):
            for q in range(ow):
                sx, sy = t @ [xs[q], ys[r], 1.0]
                px, py = (sx + 1) / 2 * (w - 1), (sy + 1) / 2 * (h - 1)
                fx, fy = int(np.floor(px)), int(np.floor(py))
                ax, ay = px - fx, py - fy
                for dy, wy in ((0, 1 - ay), (1, ay)):
                    for dx, wx in ((0, 1 - ax), (1, ax)):
                        out[b, :, r, q] += wy * wx * x[b, :, index(fy + dy, h),
                                                       index(fx + dx, w)]
    return out


@pytest.mark.parametrize("border_mode", ["nearest", "mirror", "wrap"])
@pytest.mark.parametrize("ds", [1, (2, 1.5)])
def test_transformer_values_and_grad(border_mode, ds, backend, float64):
    l_in = InputLayer((None, 2, 6, 7))
    l_loc = InputLayer((None, 6))
    layer = TransformerLayer(l_in, l_loc, downsample_factor=ds, border_mode=border_mode)
    assert not layer.get_params()
    x = RNG.randn(3, 2, 6, 7)
    theta = np.array([1.0, 0, 0, 0, 1, 0]) + RNG.randn(3, 6) * 0.4
    f = theano.function([l_in.input_var, l_loc.input_var], get_output(layer),
                        backend=backend.name)
    y = f(x, theta)
    dsp = as_pair(ds)
    assert y.shape == (3, 2, int(6 // dsp[0]), int(7 // dsp[1]))
    assert layer.output_shape == (None,) + y.shape[1:]
    np.testing.assert_allclose(y, transformer_reference(x, theta, dsp, border_mode),
                               rtol=1e-10, atol=1e-12)
    if gradients_checked_on(backend):
        verify_grad(lambda a, b: get_output(layer, {l_in: a, l_loc: b}), [x, theta],
                    backend=backend.name)


def as_pair(ds):
    return ds if isinstance(ds, tuple) else (ds, ds)


def test_transformer_identity_and_errors(backend, float64):
    l_in = InputLayer((None, 3, 5, 4))
    l_loc = DenseLayer(l_in, 6, W=np.zeros((60, 6)), b=np.array([1.0, 0, 0, 0, 1, 0]),
                       nonlinearity=None)
    layer = TransformerLayer(l_in, l_loc)
    assert get_all_params(layer) == [l_loc.W, l_loc.b]
    x = RNG.randn(2, 3, 5, 4)
    np.testing.assert_allclose(run(layer, x, backend), x, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(batch_size, 6\)"):
        TransformerLayer(l_in, DenseLayer(l_in, 5))
    with pytest.raises(ValueError, match="border_mode"):
        TransformerLayer(l_in, l_loc, border_mode="reflect")
    with pytest.raises(ValueError, match="4-d"):
        TransformerLayer(InputLayer((None, 3, 5)), l_loc)


def test_transformer_unknown_sizes(backend, float64):
    l_in = InputLayer((None, 2, None, None))
    l_loc = InputLayer((None, 6))
    layer = TransformerLayer(l_in, l_loc, downsample_factor=2, border_mode="mirror")
    assert layer.output_shape == (None, 2, None, None)
    f = theano.function([l_in.input_var, l_loc.input_var], get_output(layer),
                        backend=backend.name)
    theta = np.array([[0.8, 0.3, 0.1, -0.2, 1.1, 0.05]])
    for size in [(6, 9), (7, 4)]:
        x = RNG.randn(1, 2, *size)
        np.testing.assert_allclose(f(x, theta),
                                   transformer_reference(x, theta, (2, 2), "mirror"),
                                   rtol=1e-10, atol=1e-12)


def test_conv1d_refuses_groups():
    from layerkit.layers import Conv1DLayer
    with pytest.raises(ValueError, match="num_groups=2 is not supported"):
        Conv1DLayer(InputLayer((None, 4, 10)), 6, 3, num_groups=2)


@pytest.mark.parametrize("make", [
    lambda: __import__("layerkit.layers", fromlist=["x"]).TransposedConv2DLayer(
        InputLayer((None, 4, 5, 5)), 4, 3, num_groups=2),
    lambda: __import__("layerkit.layers", fromlist=["x"]).DilatedConv2DLayer(
        InputLayer((None, 4, 5, 5)), 4, 3, num_groups=2),
    lambda: __import__("layerkit.layers", fromlist=["x"]).LocallyConnected2DLayer(
        InputLayer((2, 4, 5, 5)), 4, 3, num_groups=2),
    lambda: __import__("layerkit.layers", fromlist=["x"]).TransposedConv3DLayer(
        InputLayer((None, 4, 3, 5, 5)), 4, 3, num_groups=2),
    lambda: __import__("layerkit.layers.cuda_convnet", fromlist=["x"]).Conv2DCCLayer(
        InputLayer((None, 4, 5, 5)), 4, 3, num_groups=2),
])
def test_layers_without_groups_refuse_num_groups(make):
    """num_groups lives on the base class; a layer whose convolution has no groups must
    refuse it (it was accepted and ignored: the ungrouped result, no warning)."""
    with pytest.raises(ValueError, match="num_groups=2 is not supported"):
        make()
