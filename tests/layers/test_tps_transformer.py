"""TPSTransformerLayer: its output against an independent numpy float64 thin plate
spline (Bookstein's system solved with numpy.linalg, bilinear sampling in explicit
loops), the identity at zero offsets, known warps, gradients by finite differences,
``get_output_shape`` against the shape a compiled function returns, and its errors."""
import numpy as np
import pytest

import layerkit.core as theano
from layerkit.layers import (DenseLayer, InputLayer, TPSTransformerLayer, get_all_params,
                             get_output, get_output_shape)
from layerkit.testing import verify_grad
from layerkit.testing.plugin import QUICK_BACKENDS

RNG = np.random.RandomState(7)


# -- the reference ---------------------------------------------------------------------

def control_grid(num_points):
    """The source points, (num_points, 2) as (x, y), x varying fastest."""
    side = int(round(np.sqrt(num_points)))
    coords = np.linspace(-1.0, 1.0, side)
    return np.array([(x, y) for y in coords for x in coords])


def U(p, q):
    r2 = (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2
    return 0.0 if r2 == 0 else r2 * np.log(r2)


def tps_map(source, target):
    """The function (x, y) -> (x', y') of the thin plate spline taking each source
    point onto its target point."""
    k = len(source)
    L = np.zeros((k + 3, k + 3))
    for i in range(k):
        row = [1.0, source[i][0], source[i][1]]
        L[3 + i, :3] = row
        L[:3, 3 + i] = row
        for j in range(k):
            L[3 + i, 3 + j] = U(source[i], source[j])
    rhs = np.zeros((k + 3, 2))
    rhs[3:] = target
    coef = np.linalg.solve(L, rhs)                   # (k + 3, 2): a1, ax, ay, w_1..w_k

    def f(x, y):
        basis = np.array([1.0, x, y] + [U((x, y), s) for s in source])
        return basis @ coef
    return f


def border(i, size, mode):
    if mode == "nearest":
        return min(max(i, 0), size - 1)
    if mode == "wrap":
        return i % size
    period = 2 * (size - 1)                          # mirror
    i = abs(i) % period
    return min(i, period - i)


def tps_reference(x, offsets, num_points, ds, mode):
    n, c, h, w = x.shape
    oh, ow = int(h // ds[0]), int(w // ds[1])
    source = control_grid(num_points)
    ys = np.linspace(-1, 1, oh) if oh > 1 else [-1.0]
    xs = np.linspace(-1, 1, ow) if ow > 1 else [-1.0]
    out = np.zeros((n, c, oh, ow))
    for b in range(n):
        target = source + offsets[b].reshape(2, num_points).T
        f = tps_map(source, target)
        for r in range(oh):
            for q in range(ow):
                sx, sy = f(xs[q], ys[r])
                px, py = (sx + 1) / 2 * (w - 1), (sy + 1) / 2 * (h - 1)
                fx, fy = int(np.floor(px)), int(np.floor(py))
                ax, ay = px - fx, py - fy
                for dy, wy in ((0, 1 - ay), (1, ay)):
                    for dx, wx in ((0, 1 - ax), (1, ax)):
                        out[b, :, r, q] += wy * wx * x[b, :, border(fy + dy, h, mode),
                                                       border(fx + dx, w, mode)]
    return out


def test_reference_is_a_thin_plate_spline():
    """The reference interpolates its control points and keeps affine maps affine."""
    source = control_grid(9)
    target = source + RNG.randn(9, 2) * 0.2
    f = tps_map(source, target)
    for s, t in zip(source, target):
        np.testing.assert_allclose(f(*s), t, atol=1e-12)
    A = np.array([[0.8, 0.3], [-0.2, 1.1]])
    g = tps_map(source, source @ A.T + [0.1, -0.2])
    np.testing.assert_allclose(g(0.3, -0.7), A @ [0.3, -0.7] + [0.1, -0.2], atol=1e-12)


# -- the layer ---------------------------------------------------------------------------

def compiled(layer, l_in, l_loc, backend):
    return theano.function([l_in.input_var, l_loc.input_var], get_output(layer),
                           backend=backend.name)


def as_pair(ds):
    return ds if isinstance(ds, tuple) else (ds, ds)


@pytest.mark.parametrize("border_mode", ["nearest", "mirror", "wrap"])
@pytest.mark.parametrize("num_points, ds, precompute", [
    (16, 1, "auto"), (16, 1, False), (9, (2, 1.5), True), (4, (0.5, 2), False)])
def test_values_and_grad(border_mode, num_points, ds, precompute, backend, float64):
    l_in = InputLayer((None, 2, 6, 7))
    l_loc = InputLayer((None, 2 * num_points))
    layer = TPSTransformerLayer(l_in, l_loc, downsample_factor=ds, control_points=num_points,
                                precompute_grid=precompute, border_mode=border_mode)
    assert layer.precompute_grid == (True if precompute == "auto" else precompute)
    assert not layer.get_params()
    x = RNG.randn(3, 2, 6, 7)
    offsets = RNG.randn(3, 2 * num_points) * 0.25
    y = compiled(layer, l_in, l_loc, backend)(x, offsets)
    dsp = as_pair(ds)
    assert y.shape == (3, 2, int(6 // dsp[0]), int(7 // dsp[1]))
    assert layer.output_shape == (None,) + y.shape[1:]
    np.testing.assert_allclose(y, tps_reference(x, offsets, num_points, dsp, border_mode),
                               rtol=1e-9, atol=1e-10)
    if backend.name not in QUICK_BACKENDS:
        verify_grad(lambda a, b: get_output(layer, {l_in: a, l_loc: b}), [x, offsets],
                    backend=backend.name)


@pytest.mark.parametrize("border_mode", ["nearest", "mirror", "wrap"])
def test_zero_offsets_are_the_identity(border_mode, backend, float64):
    l_in = InputLayer((None, 3, 5, 4))
    l_loc = DenseLayer(l_in, 32, W=np.zeros((60, 32)), b=np.zeros(32), nonlinearity=None)
    layer = TPSTransformerLayer(l_in, l_loc, border_mode=border_mode)
    assert get_all_params(layer) == [l_loc.W, l_loc.b]
    x = RNG.randn(2, 3, 5, 4)
    y = theano.function([l_in.input_var], get_output(layer), backend=backend.name)(x)
    # positions land on the pixels up to rounding; the far edge's second neighbour
    # (weight ~0) is read through the border mode
    np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9)


def test_known_warps(backend, float64):
    h, w = 5, 6
    l_in = InputLayer((None, 1, h, w))
    l_loc = InputLayer((None, 18))
    x = RNG.randn(1, 1, h, w)
    grid = control_grid(9)
    for mode in ("nearest", "wrap"):
        f = compiled(TPSTransformerLayer(l_in, l_loc, control_points=9, border_mode=mode),
                     l_in, l_loc, backend)
        # every control point moved one pixel right: out[..., q] = in[..., q + 1]
        shift = np.concatenate([np.full(9, 2 / (w - 1)), np.zeros(9)])[None]
        y = f(x, shift)
        np.testing.assert_allclose(y[..., :-1], x[..., 1:], atol=1e-9)
        np.testing.assert_allclose(y[..., -1], x[..., -1] if mode == "nearest" else x[..., 0],
                                   atol=1e-9)
        # one pixel down
        shift = np.concatenate([np.zeros(9), np.full(9, 2 / (h - 1))])[None]
        y = f(x, shift)
        np.testing.assert_allclose(y[..., :-1, :], x[..., 1:, :], atol=1e-9)
    # a mirror image: x -> -x
    f = compiled(TPSTransformerLayer(l_in, l_loc, control_points=9), l_in, l_loc, backend)
    flip = np.concatenate([-2 * grid[:, 0], np.zeros(9)])[None]
    np.testing.assert_allclose(f(x, flip), x[..., ::-1], atol=1e-9)
    # a non-affine warp on a 5 x 5 image, whose 3 x 3 control points sit on pixels 0, 2, 4:
    # only the centre point moves, one pixel right; the output reads the input's pixel
    # (2, 3) at the centre, every other control point's own pixel, and elsewhere the spline
    l_in5 = InputLayer((None, 1, 5, 5))
    f = compiled(TPSTransformerLayer(l_in5, l_loc, control_points=9), l_in5, l_loc, backend)
    x = RNG.randn(1, 1, 5, 5)
    bump = np.zeros((1, 18))
    bump[0, 4] = 2 / (5 - 1)
    y = f(x, bump)
    np.testing.assert_allclose(y[0, 0, 2, 2], x[0, 0, 2, 3], atol=1e-9)
    for r, q in [(0, 0), (0, 2), (0, 4), (2, 0), (2, 4), (4, 0), (4, 2), (4, 4)]:
        np.testing.assert_allclose(y[0, 0, r, q], x[0, 0, r, q], atol=1e-9)
    assert not np.allclose(y, x)
    np.testing.assert_allclose(y, tps_reference(x, bump, 9, (1, 1), "nearest"), atol=1e-10)


def test_precomputed_and_graph_grids_agree(backend, float64):
    l_in = InputLayer((None, 2, 7, 9))
    l_loc = InputLayer((None, 32))
    x = RNG.randn(2, 2, 7, 9)
    offsets = RNG.randn(2, 32) * 0.3
    a, b = (compiled(TPSTransformerLayer(l_in, l_loc, precompute_grid=p), l_in, l_loc,
                     backend)(x, offsets) for p in (True, False))
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(None, 2, None, None), (None, None, 6, None), (2, 2, 6, 7)])
@pytest.mark.parametrize("ds", [1, (2, 3), 0.5])
def test_output_shape_inference(shape, ds, backend, float64):
    l_in = InputLayer(shape)
    l_loc = InputLayer((None, 8 if shape[2] is None else 32))
    k = l_loc.shape[1] // 2
    layer = TPSTransformerLayer(l_in, l_loc, downsample_factor=ds, control_points=k)
    assert layer.precompute_grid == (None not in shape[2:])
    x = RNG.randn(2, 2, 6, 7)
    offsets = RNG.randn(2, 2 * k) * 0.2
    y = compiled(layer, l_in, l_loc, backend)(x, offsets)
    dsp = as_pair(ds)
    assert y.shape == (2, 2, int(6 // dsp[0]), int(7 // dsp[1]))
    declared = get_output_shape(layer)
    assert declared == layer.get_output_shape_for([shape, l_loc.shape])
    assert all(d is None or d == s for d, s in zip(declared, y.shape)), (declared, y.shape)
    assert [d is None for d in declared] == [s is None for s in shape]
    np.testing.assert_allclose(y, tps_reference(x, offsets, k, dsp, "nearest"),
                               rtol=1e-9, atol=1e-10)


def test_float32_stays_float32(backend):
    l_in = InputLayer((None, 1, 4, 4))
    l_loc = InputLayer((None, 8))
    for precompute in (True, False):
        layer = TPSTransformerLayer(l_in, l_loc, control_points=4, precompute_grid=precompute)
        x = RNG.randn(2, 1, 4, 4).astype("float32")
        out = get_output(layer, {l_in: theano.tensor.tensor4("x", dtype="float32"),
                                 l_loc: theano.tensor.matrix("o", dtype="float32")})
        assert out.dtype == "float32"
        f = compiled(layer, l_in, l_loc, backend)
        y = f(x, np.zeros((2, 8), "float32"))
        np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5)


def test_trains_the_localization_network(train_step, backend, float64):
    l_in = InputLayer((2, 1, 4, 5))
    l_loc = DenseLayer(l_in, 8, W=RNG.randn(20, 8) * 0.01, b=np.zeros(8), nonlinearity=None)
    train_step(TPSTransformerLayer(l_in, l_loc, control_points=4), RNG.randn(2, 1, 4, 5),
               backend, learning_rate=0.01)


def test_errors():
    l_in = InputLayer((None, 3, 8, 8))
    for bad in (15, 2, 8, 0, 1, 2.25, -4):
        with pytest.raises(ValueError, match="perfect square"):
            TPSTransformerLayer(l_in, InputLayer((None, 2 * 15)), control_points=bad)
    with pytest.raises(ValueError, match=r"\(batch_size, 2\*control_points\) = \(batch_size, "
                                         r"32\)"):
        TPSTransformerLayer(l_in, DenseLayer(l_in, 31))
    with pytest.raises(ValueError, match="2\\*control_points"):
        TPSTransformerLayer(l_in, DenseLayer(l_in, 32), control_points=9)
    with pytest.raises(ValueError, match="2\\*control_points"):
        TPSTransformerLayer(l_in, InputLayer((None, 4, 8)), control_points=4)
    with pytest.raises(ValueError, match="4-d"):
        TPSTransformerLayer(InputLayer((None, 3, 8)), InputLayer((None, 32)))
    with pytest.raises(ValueError, match="border_mode"):
        TPSTransformerLayer(l_in, InputLayer((None, 32)), border_mode="reflect")
    with pytest.raises(ValueError, match="precomputed"):
        TPSTransformerLayer(InputLayer((None, 3, None, 8)), InputLayer((None, 32)),
                            precompute_grid=True)


def test_lasagne_signature_and_export():
    import inspect

    import layerkit.layers as L
    assert "TPSTransformerLayer" in L.__all__
    params = inspect.signature(TPSTransformerLayer.__init__).parameters
    assert list(params)[1:7] == ["incoming", "localization_network", "downsample_factor",
                                 "control_points", "precompute_grid", "border_mode"]
    assert [params[p].default for p in list(params)[3:7]] == [1, 16, "auto", "nearest"]
