"""The numpy convolution kernels' special paths against scipy (float64 references).

* 1x1 filters without padding are plain GEMMs (no columns): every stride, dilation,
  non-contiguous inputs, float32, a 1x1 image;
* the blocked transposes between NCHW and ``(C, H, W, N)``: images of more than
  ``TO_NCHW_CELLS`` / ``TO_CHWN_CELLS`` cells (blocks of rows of one channel) and of
  fewer (blocks of channels), with and without padding, through the three kernels.
"""
import numpy as np
import pytest

from layerkit.testing.suite_conv import (ref_conv2d, ref_conv2d_grad_input,
                                         ref_conv2d_grad_weight)
from layerkit_numpy import conv as fast

POINTWISE = [  # (N, C, H, W, O), stride, dilation
    ((3, 5, 7, 6, 4), (1, 1), (1, 1)),
    ((2, 3, 9, 8, 5), (2, 3), (1, 1)),
    ((2, 4, 5, 5, 3), (3, 1), (2, 2)),
    ((1, 2, 1, 1, 2), (1, 1), (1, 1)),
    ((2, 130, 4, 3, 6), (1, 2), (1, 1)),          # C beyond BATCHED_MAX_K
]


def _check(x, f, stride, padding, dilation, rtol=1e-10, atol=1e-10):
    p = dict(stride=stride, padding=padding, dilation=dilation)
    x64, f64 = np.asarray(x, np.float64), np.asarray(f, np.float64)
    y = fast.conv2d(x, f, **p)
    assert y.dtype == np.result_type(x, f)
    np.testing.assert_allclose(y, ref_conv2d(x64, f64, stride, padding, dilation),
                               rtol=rtol, atol=atol)
    gy = np.random.default_rng(7).standard_normal(y.shape).astype(y.dtype)
    gx = fast.conv2d_grad_input(gy, f, x.shape, **p)
    gw = fast.conv2d_grad_weight(x, gy, f.shape, **p)
    assert gx.shape == x.shape and gw.shape == f.shape
    assert gx.dtype == gw.dtype == y.dtype
    g64 = np.asarray(gy, np.float64)
    np.testing.assert_allclose(gx, ref_conv2d_grad_input(g64, f64, x.shape, stride, padding,
                                                         dilation), rtol=rtol, atol=atol)
    np.testing.assert_allclose(gw, ref_conv2d_grad_weight(x64, g64, f.shape, stride, padding,
                                                          dilation), rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", range(len(POINTWISE)))
def test_pointwise_convolutions_are_gemms(case):
    (n, c, h, w, o), stride, dilation = POINTWISE[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal((n, c, w, h)).transpose(0, 1, 3, 2)       # not contiguous
    f = rng.standard_normal((o, c, 1, 1))
    assert fast._pointwise(fast._Plan(x.shape, f.shape, stride, (0, 0), dilation))
    _check(x, f, stride, (0, 0), dilation)


def test_pointwise_float32_stays_float32():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 5, 7)).astype(np.float32)
    f = rng.standard_normal((3, 6, 1, 1)).astype(np.float32)
    _check(x, f, (2, 2), (0, 0), (1, 1), rtol=2e-5, atol=1e-5)


def test_padded_pointwise_filters_take_the_general_path():
    rng = np.random.default_rng(4)
    x, f = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 1, 1))
    assert not fast._pointwise(fast._Plan(x.shape, f.shape, (1, 1), (1, 2), (1, 1)))
    _check(x, f, (2, 1), (1, 2), (1, 1))


@pytest.mark.parametrize("shape,padding", [
    ((3, 2, 26, 23, 3, 3, 3), (0, 0)),      # 598 cells: row blocks to NCHW, channel blocks back
    ((2, 2, 50, 45, 2, 3, 2), (2, 1)),      # 2250 cells: row blocks both ways, padded
    ((4, 5, 4, 6, 3, 2, 2), (1, 1)),        # 24 cells: blocks of several channels
])
def test_blocked_transposes(shape, padding, monkeypatch):
    monkeypatch.setattr(fast, "BATCHED_MAX_K", 0)          # channel-major everywhere
    n, c, h, w, o, kh, kw = shape
    rng = np.random.default_rng(h)
    x, f = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, kh, kw))
    _check(x, f, (1, 1), padding, (1, 1))


@pytest.mark.parametrize("c,h,w,cells", [(3, 5, 7, 512), (2, 40, 30, 512), (5, 9, 1, 4),
                                         (1, 1, 1, 512), (4, 3, 300, 100)])
def test_blocks_cover_every_cell_once(c, h, w, cells):
    seen = np.zeros((c, h, w), int)
    for c0, c1, r0, r1 in fast._blocks(c, h, w, cells):
        seen[c0:c1, r0:r1] += 1
    assert (seen == 1).all()
