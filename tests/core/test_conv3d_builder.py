"""``T.nnet.conv3d`` and ``conv3d_grad_wrt_inputs`` / ``conv3d_grad_wrt_weights``
(Theano's abstract_conv builders), composed in the core from 2-D convolutions.

Forward values against ``scipy.signal.convolve`` / ``correlate`` in float64 for every
border mode, strides, dilation, groups, flip on and off, with static and unknown
shapes; the gradient builders against the transpose of that reference (computed
column by column); gradients by finite differences; the layers built on them.
"""
import itertools

import numpy as np
import pytest
import scipy.signal

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.op import ShapeError
from layerkit.core.ops import conv as conv_ops
from layerkit.core.tensor.nnet import abstract_conv
from layerkit.layers import Conv3DLayer, InputLayer, TransposedConv3DLayer, get_output
from layerkit.testing import verify_grad

RNG = np.random.RandomState(42)
TOL = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture
def float64():
    old = theano.config.floatX
    theano.config.floatX = "float64"
    yield
    theano.config.floatX = old


# -- numpy/scipy reference ---------------------------------------------------------------

def _pads(border_mode, k, dilation):
    dk = [(a - 1) * d + 1 for a, d in zip(k, dilation)]
    if border_mode == "valid":
        return (0, 0, 0)
    if border_mode == "full":
        return tuple(a - 1 for a in dk)
    if border_mode == "half":
        return tuple(d * (a // 2) for a, d in zip(k, dilation))
    return (border_mode,) * 3 if isinstance(border_mode, int) else tuple(border_mode)


def ref_conv3d(x, w, border_mode="valid", subsample=(1, 1, 1), flip=True,
               dilation=(1, 1, 1), groups=1):
    """Per (image, filter, channel): scipy's 3-D convolve (flip) or correlate of the
    zero-padded input with the dilated filter, then subsampled."""
    f, c = w.shape[:2]
    k = w.shape[2:]
    wd = np.zeros((f, c) + tuple((a - 1) * d + 1 for a, d in zip(k, dilation)))
    wd[:, :, ::dilation[0], ::dilation[1], ::dilation[2]] = w
    pad = _pads(border_mode, k, dilation)
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    op = scipy.signal.convolve if flip else scipy.signal.correlate
    out_per = f // groups
    out = np.stack([np.stack([
        sum(op(xp[n, (o // out_per) * c + ch], wd[o, ch], mode="valid") for ch in range(c))
        for o in range(f)]) for n in range(x.shape[0])])
    return out[:, :, ::subsample[0], ::subsample[1], ::subsample[2]]


def ref_transpose(u, w, x_shape, **kw):
    """The transpose of ``ref_conv3d(., w, **kw)`` applied to ``u``, one input cell at a
    time, and the gradient with respect to the filters (one filter cell at a time)."""
    gx = np.zeros(x_shape)
    for idx in itertools.product(*(range(s) for s in x_shape)):
        e = np.zeros(x_shape)
        e[idx] = 1.0
        gx[idx] = np.sum(ref_conv3d(e, w, **kw) * u)
    return gx


def ref_grad_weights(x, u, w_shape, **kw):
    gw = np.zeros(w_shape)
    for idx in itertools.product(*(range(s) for s in w_shape)):
        e = np.zeros(w_shape)
        e[idx] = 1.0
        gw[idx] = np.sum(ref_conv3d(x, e, **kw) * u)
    return gw


def compile_and_run(inputs, out, values):
    return theano.function(inputs, out, backend="numpy")(*values)


# -- forward values ------------------------------------------------------------------------

BORDER_MODES = ["valid", "full", "half", 1, (2, 0, 1)]
STRIDES = [(1, 1, 1), (2, 1, 3), 2]


@pytest.mark.parametrize("border_mode", BORDER_MODES)
@pytest.mark.parametrize("subsample", STRIDES)
@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("known", [True, False])
def test_conv3d_values(border_mode, subsample, flip, known):
    x, w = RNG.randn(2, 3, 5, 6, 7), RNG.randn(4, 3, 3, 2, 3)
    xv = T.tensor("float64", shape=x.shape if known else (None,) * 5)
    wv = T.tensor("float64", shape=w.shape if known else (None,) * 5)
    out = T.nnet.conv3d(xv, wv, filter_shape=None if known else (None, None, 3, None, None),
                        border_mode=border_mode, subsample=subsample, filter_flip=flip)
    stride = (subsample,) * 3 if isinstance(subsample, int) else subsample
    ref = ref_conv3d(x, w, border_mode, stride, flip)
    y = compile_and_run([xv, wv], out, [x, w])
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, **TOL)
    if known:
        assert out.type.shape == ref.shape


def test_conv3d_flip_is_scipy_convolve_and_no_flip_is_correlate():
    x, w = RNG.randn(1, 1, 4, 5, 6), RNG.randn(1, 1, 2, 3, 2)
    xv, wv = T.dtensor5(), T.tensor("float64", shape=w.shape)
    f = theano.function([xv, wv], [T.nnet.conv3d(xv, wv),
                                   T.nnet.conv3d(xv, wv, filter_flip=False)], backend="numpy")
    conv, corr = f(x, w)
    np.testing.assert_allclose(conv[0, 0], scipy.signal.convolve(x[0, 0], w[0, 0], "valid"),
                               **TOL)
    np.testing.assert_allclose(corr[0, 0], scipy.signal.correlate(x[0, 0], w[0, 0], "valid"),
                               **TOL)


@pytest.mark.parametrize("border_mode", ["valid", "half", "full", (1, 2, 0)])
@pytest.mark.parametrize("flip", [True, False])
def test_conv3d_dilation_and_groups(border_mode, flip):
    x, w = RNG.randn(2, 4, 7, 6, 7), RNG.randn(6, 2, 3, 2, 3)
    xv, wv = T.dtensor5(), T.tensor("float64", shape=w.shape)
    kw = dict(border_mode=border_mode, subsample=(1, 2, 1), filter_dilation=(2, 1, 2))
    out = T.nnet.conv3d(xv, wv, filter_flip=flip, num_groups=2, **kw)
    ref = ref_conv3d(x, w, border_mode, (1, 2, 1), flip, (2, 1, 2), groups=2)
    np.testing.assert_allclose(compile_and_run([xv, wv], out, [x, w]), ref, **TOL)


def test_conv3d_declared_shapes_and_integer_inputs():
    x, w = RNG.randint(-3, 4, size=(1, 2, 3, 4, 4)), RNG.randn(2, 2, 2, 2, 2)
    xv, wv = T.tensor("int64", shape=(None,) * 5), T.dtensor5()
    out = T.nnet.conv3d(xv, wv, input_shape=(None, 2, 3, 4, 4), filter_shape=w.shape,
                        border_mode="half")
    # input_shape is Theano's hint: the run-time sizes are not forced to it
    assert out.dtype == "float64" and out.type.shape[1] == 2
    np.testing.assert_allclose(compile_and_run([xv, wv], out, [x, w]),
                               ref_conv3d(x.astype(float), w, "half"), **TOL)


def test_conv3d_names_and_errors():
    assert T.nnet.conv3d is abstract_conv.conv3d is conv_ops.conv3d
    assert abstract_conv.conv3d_grad_wrt_inputs is conv_ops.conv3d_grad_wrt_inputs
    x, w = T.dtensor5(), T.tensor("float64", shape=(2, 3, 3, 3, 3))
    with pytest.raises(ShapeError, match="depth must be known"):
        T.nnet.conv3d(x, T.dtensor5())
    with pytest.raises(ShapeError, match="5-d"):
        T.nnet.conv3d(T.dtensor4(), w)
    with pytest.raises(ValueError, match="border_mode"):
        T.nnet.conv3d(x, w, border_mode="same")
    with pytest.raises(ValueError, match="padding|border_mode"):
        T.nnet.conv3d(x, w, border_mode=(1, -1, 0))
    with pytest.raises(ValueError, match="subsample"):
        T.nnet.conv3d(x, w, subsample=(1, 0, 1))
    with pytest.raises(ValueError, match="subsample"):
        T.nnet.conv3d(x, w, subsample=(1, 1))
    with pytest.raises(ShapeError, match="channels"):
        T.nnet.conv3d(T.tensor("float64", shape=(None, 4, 5, 5, 5)), w)
    with pytest.raises(ShapeError, match="num_groups=4"):
        T.nnet.conv3d(x, w, num_groups=4)
    with pytest.raises(ShapeError, match="do not fit"):
        T.nnet.conv3d(T.tensor("float64", shape=(1, 3, 2, 5, 5)), w)
    with pytest.raises(ShapeError, match="filter_shape"):
        T.nnet.conv3d(x, w, filter_shape=(2, 3, 4, 3, 3))


# -- gradient builders ---------------------------------------------------------------------

GRAD_CASES = [
    # x shape, w shape, border_mode, subsample, dilation, groups
    ((2, 2, 4, 3, 5), (3, 2, 2, 2, 3), "valid", (1, 1, 1), (1, 1, 1), 1),
    ((1, 2, 5, 4, 4), (2, 2, 3, 2, 2), "full", (2, 1, 2), (1, 1, 1), 1),
    ((1, 2, 4, 5, 3), (2, 2, 3, 3, 1), "half", (2, 2, 1), (1, 1, 1), 1),
    ((1, 2, 6, 4, 5), (2, 2, 2, 2, 2), (1, 0, 2), (3, 1, 2), (1, 1, 1), 1),
    ((1, 4, 6, 4, 6), (4, 2, 2, 2, 3), (1, 1, 0), (1, 2, 2), (2, 1, 2), 2),
]


@pytest.mark.parametrize("x_shape, w_shape, border_mode, subsample, dilation, groups",
                         GRAD_CASES)
@pytest.mark.parametrize("flip", [True, False])
def test_grad_builders_against_the_transposed_reference(x_shape, w_shape, border_mode,
                                                        subsample, dilation, groups, flip):
    x, w = RNG.randn(*x_shape), RNG.randn(*w_shape)
    kw = dict(border_mode=border_mode, subsample=subsample, flip=flip, dilation=dilation,
              groups=groups)
    u = RNG.randn(*ref_conv3d(x, w, **kw).shape)
    theano_kw = dict(border_mode=border_mode, subsample=subsample, filter_flip=flip,
                     filter_dilation=dilation, num_groups=groups)
    uv, wv, xv = T.dtensor5(), T.dtensor5(), T.dtensor5()
    gx = T.nnet.abstract_conv.conv3d_grad_wrt_inputs(uv, wv, (None, None) + x_shape[2:],
                                                     filter_shape=w_shape, **theano_kw)
    gw = T.nnet.abstract_conv.conv3d_grad_wrt_weights(xv, uv, w_shape, **theano_kw)
    # and T.grad of conv3d itself
    cost = T.sum(T.nnet.conv3d(xv, wv, filter_shape=w_shape, **theano_kw) * uv)
    got = compile_and_run([xv, wv, uv], [gx, gw] + T.grad(cost, [xv, wv]), [x, w, u])
    ref_gx, ref_gw = ref_transpose(u, w, x_shape, **kw), ref_grad_weights(x, u, w_shape, **kw)
    for value, ref in zip(got, [ref_gx, ref_gw, ref_gx, ref_gw]):
        np.testing.assert_allclose(value, ref, **TOL)


def test_grad_wrt_inputs_symbolic_size_and_errors():
    u, w = RNG.randn(1, 2, 2, 3, 2), RNG.randn(2, 3, 3, 3, 3)
    uv, wv, size = T.dtensor5(), T.tensor("float64", shape=w.shape), T.ivector()
    out = abstract_conv.conv3d_grad_wrt_inputs(uv, wv, [None, 3, size[0], size[1], size[2]],
                                               subsample=2)
    got = compile_and_run([uv, wv, size], out, [u, w, np.array([6, 7, 5], dtype="int32")])
    kw = dict(border_mode="valid", subsample=(2, 2, 2), flip=True)
    np.testing.assert_allclose(got, ref_transpose(u, w, (1, 3, 6, 7, 5), **kw), **TOL)
    with pytest.raises(ShapeError, match="input_shape"):
        abstract_conv.conv3d_grad_wrt_inputs(uv, wv, [None, 3, None, 4, 4])
    with pytest.raises(ShapeError, match="cannot give"):
        abstract_conv.conv3d_grad_wrt_inputs(T.tensor("float64", shape=(1, 2, 2, 3, 2)), wv,
                                             [None, 3, 9, 5, 4])
    with pytest.raises(ShapeError, match="filter_shape"):
        abstract_conv.conv3d_grad_wrt_weights(T.dtensor5(), uv, (2, 3, None, 3, 3))


# -- finite differences --------------------------------------------------------------------

FD_CASES = [
    ("valid", (1, 1, 1), True, (1, 1, 1)),
    ("full", (2, 1, 1), False, (1, 1, 1)),
    ("half", (1, 2, 1), True, (1, 1, 1)),
    ((1, 0, 1), (1, 1, 2), False, (2, 1, 1)),
]


@pytest.mark.parametrize("border_mode, subsample, flip, dilation", FD_CASES)
def test_conv3d_gradients_by_finite_differences(border_mode, subsample, flip, dilation):
    x, w = RNG.randn(1, 2, 5, 3, 4), RNG.randn(2, 2, 2, 2, 3)

    def fun(xv, wv):
        return T.nnet.conv3d(xv, wv, filter_shape=w.shape, border_mode=border_mode,
                             subsample=subsample, filter_flip=flip, filter_dilation=dilation)
    verify_grad(fun, [x, w], backend="numpy")


def test_conv3d_grad_wrt_inputs_gradients_by_finite_differences():
    u, w = RNG.randn(1, 2, 2, 3, 2), RNG.randn(2, 3, 2, 3, 2)

    def fun(uv, wv):
        return abstract_conv.conv3d_grad_wrt_inputs(uv, wv, (None, 3, 3, 5, 3),
                                                    filter_shape=w.shape, border_mode=(1, 0, 1),
                                                    subsample=(2, 1, 2), filter_flip=False)
    verify_grad(fun, [u, w], backend="numpy")


# -- the layers built on them ---------------------------------------------------------------

@pytest.mark.parametrize("pad, stride, groups", [(0, 1, 1), ("same", (2, 1, 2), 1),
                                                 ("full", 1, 2), ((1, 0, 2), (1, 2, 1), 2)])
@pytest.mark.parametrize("flip", [True, False])
def test_conv3d_layer_with_t_nnet_conv3d_gives_the_default_numbers(pad, stride, groups, flip,
                                                                   float64):
    x = RNG.randn(2, 4, 5, 6, 5)
    l_in = InputLayer((None, 4, 5, 6, 5))
    kw = dict(stride=stride, pad=pad, num_groups=groups, flip_filters=flip, nonlinearity=None)
    default = Conv3DLayer(l_in, 6, 3, **kw)
    hooked = Conv3DLayer(l_in, 6, 3, convolution=T.nnet.conv3d, W=default.W, b=default.b, **kw)
    f = theano.function([l_in.input_var], [get_output(default), get_output(hooked)],
                        backend="numpy")
    a, b = f(x)
    np.testing.assert_allclose(a, b, **TOL)
    int_pad = {0: (0, 0, 0), "same": (1, 1, 1), "full": (2, 2, 2)}.get(pad, pad)
    stride = (stride,) * 3 if isinstance(stride, int) else stride
    ref = ref_conv3d(x, default.W.get_value(), int_pad, stride, flip, groups=groups)
    np.testing.assert_allclose(a, ref + default.b.get_value()[:, None, None, None], **TOL)


def test_transposed_conv3d_layer_is_conv3d_grad_wrt_inputs(float64):
    u = RNG.randn(2, 3, 3, 2, 4)
    l_in = InputLayer((None, 3, 3, 2, 4))
    layer = TransposedConv3DLayer(l_in, 2, (3, 2, 3), stride=(2, 1, 2), crop=(1, 0, 1),
                                  b=None, nonlinearity=None)
    w = layer.W.get_value()
    out_shape = (2,) + layer.output_shape[1:]
    ref = ref_transpose(u, w, out_shape, border_mode=(1, 0, 1), subsample=(2, 1, 2),
                        flip=True)
    got = theano.function([l_in.input_var], get_output(layer), backend="numpy")(u)
    np.testing.assert_allclose(got, ref, **TOL)


def test_grad_wrt_inputs_refuses_an_impossible_symbolic_depth():
    """With the depth known only at run time, a depth output_grad cannot come from
    raises instead of being cut short."""
    import layerkit.core as theano
    from layerkit.core.ops.conv import conv3d_grad_wrt_inputs
    gy = T.TensorType("float64", (None,) * 5)("gy")
    w = T.TensorType("float64", (2, 3, 3, 3, 3))("w")
    d = T.lscalar("d")
    f = theano.function([gy, w, d], conv3d_grad_wrt_inputs(gy, w, [None, 3, d, 6, 6]))
    g, k = np.ones((1, 2, 2, 4, 4)), np.ones((2, 3, 3, 3, 3))
    assert f(g, k, 4).shape == (1, 3, 4, 6, 6)
    with pytest.raises(ValueError, match="cannot give output_grad's depth"):
        f(g, k, 9)
