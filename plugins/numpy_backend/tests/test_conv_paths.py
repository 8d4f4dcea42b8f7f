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
from layerkit_numpy import _buffers
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


LONG_ROWS = [  # (N, C, H, W, O, kh, kw), stride, padding, dilation
    ((3, 2, 9, 8, 4, 3, 2), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 10, 2, 2, 3), (2, 1), (1, 2), (1, 1)),
    ((2, 1, 11, 6, 3, 3, 3), (1, 1), (2, 1), (2, 1)),      # padding below d(k-1): pad gy
    ((2, 2, 6, 7, 3, 3, 3), (1, 1), (3, 4), (1, 1)),       # beyond d(k-1): crop gy
    ((2, 4, 8, 9, 3, 3, 3), (1, 1), (1, 0), (1, 2)),       # one axis padded, one cropped
    ((2, 4, 8, 9, 3, 3, 3), (2, 2), (1, 1), (1, 2)),
    ((2, 3, 9, 11, 2, 3, 2), (1, 3), (1, 1), (2, 2)),       # filter rows, strided columns
    ((2, 3, 5, 8, 2, 1, 3), (1, 1), (0, 1), (1, 1)),        # one filter row
]


@pytest.fixture(params=[(1, True), (10**9, True), (1, False), (10**9, False)],
                ids=["chunk1", "whole", "chunk1-few-calls", "whole-few-calls"])
def long_rows(request, monkeypatch):
    """Every image counts as large, whatever K: NCHW-ordered columns for the filter
    gradient; with per-sample GEMMs allowed, the forward pass by filter rows (stride 1
    in height) and the input gradient as a convolution (stride 1), otherwise (and at
    larger strides) the forward pass over NCHW-ordered columns of a few samples."""
    chunk, per_sample = request.param
    monkeypatch.setattr(fast, "BATCHED_MAX_K", 0)
    monkeypatch.setattr(fast, "BATCHED_MIN_LENGTH", 1)
    monkeypatch.setattr(fast, "TRANSPOSED_MAX_GROWTH", 1e9)
    monkeypatch.setattr(fast, "PER_SAMPLE_MIN_MACS", 0 if per_sample else 10**15)
    monkeypatch.setattr(fast, "CHUNK_BYTES", chunk)
    fast.clear_buffers()
    yield per_sample
    fast.clear_buffers()


@pytest.mark.parametrize("case", range(len(LONG_ROWS)))
def test_long_row_layouts(long_rows, case, monkeypatch):
    (n, c, h, w, o, kh, kw), stride, padding, dilation = LONG_ROWS[case]
    plan = fast._Plan((n, c, h, w), (o, c, kh, kw), stride, padding, dilation)
    per_sample = long_rows
    assert plan.long_rows and fast._transposed(plan) == (per_sample and stride == (1, 1))
    by_rows = []
    real = fast._forward_by_filter_rows
    monkeypatch.setattr(fast, "_forward_by_filter_rows",
                        lambda *a: by_rows.append(1) or real(*a))
    rng = np.random.default_rng(case)
    x = rng.standard_normal((n, c, h, w))
    f = rng.standard_normal((o, c, kh, kw))[:, :, ::-1, ::-1]      # a negative-stride view
    _check(x, f, stride, padding, dilation)
    # the forward pass, and at stride 1 the input gradient's convolution, go by rows
    assert len(by_rows) == (0 if stride[0] != 1 or not per_sample
                            else 1 + (stride == (1, 1)))


def test_long_row_layouts_float32(long_rows):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 9, 8)).astype(np.float32)
    f = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    _check(x, f, (1, 1), (1, 1), (1, 1), rtol=2e-5, atol=2e-5)


def test_the_bench_layers_pick_their_layouts():
    """lasagne_cnn's 64x30x30 layer takes the large-image paths; the Theano-Tutorials'
    15x15 and 7x7 layers stay channel-major (fewer, larger GEMMs on two threads)."""
    big = fast._Plan((128, 64, 30, 30), (32, 64, 3, 3), (1, 1), (0, 0), (1, 1))
    assert big.long_rows and fast._transposed(big)
    assert big.by_filter_rows
    mid = fast._Plan((128, 32, 15, 15), (64, 32, 3, 3), (1, 1), (0, 0), (1, 1))
    assert not mid.long_rows and not fast._transposed(mid) and not mid.by_filter_rows
    small = fast._Plan((128, 64, 7, 7), (128, 64, 3, 3), (1, 1), (0, 0), (1, 1))
    assert not small.long_rows and not small.batched


FILTER_ROWS_PADDED = [  # (N, C, H, W, O, kh, kw), stride, padding, dilation
    ((3, 2, 9, 8, 4, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 3, 7, 10, 2, 3, 3), (1, 1), (2, 2), (1, 1)),       # the input gradient's d(k-1)
    ((2, 1, 11, 6, 3, 3, 3), (1, 1), (2, 1), (2, 1)),
    ((2, 2, 6, 7, 3, 3, 3), (1, 1), (3, 4), (1, 1)),        # wider than the filter reaches
    ((2, 4, 8, 9, 3, 3, 3), (1, 1), (0, 2), (1, 2)),        # columns padded only
    ((2, 4, 8, 9, 3, 3, 3), (1, 1), (2, 0), (1, 2)),        # rows padded only
    ((2, 3, 9, 11, 2, 3, 2), (1, 3), (1, 1), (2, 2)),       # strided columns
    ((2, 3, 9, 11, 2, 2, 4), (1, 2), (0, 3), (1, 3)),
    ((2, 3, 5, 2, 2, 1, 5), (1, 1), (0, 4), (1, 1)),        # taps reading padding only
]


@pytest.fixture(params=[1, 10**9], ids=["chunk1", "whole"])
def by_filter_rows(request, monkeypatch):
    """Every convolution at stride 1 in height takes the forward pass by filter rows."""
    monkeypatch.setattr(fast, "BATCHED_MAX_K", 0)
    monkeypatch.setattr(fast, "BATCHED_MIN_LENGTH", 1)
    monkeypatch.setattr(fast, "PER_SAMPLE_MIN_MACS", 0)
    monkeypatch.setattr(fast, "CHUNK_BYTES", request.param)
    fast.clear_buffers()
    yield
    fast.clear_buffers()


def _bits(a):
    return a.view(np.uint64 if a.dtype == np.float64 else np.uint32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(FILTER_ROWS_PADDED)))
def test_filter_rows_padding_is_that_of_a_padded_copy_bit_for_bit(by_filter_rows, case,
                                                                   dtype):
    """The forward pass by filter rows reads the unpadded input and keeps the padding's
    zeros in its columns' buffer: the same columns, hence the same GEMMs and the same
    bits, as convolving a zero-padded copy without padding (what it did before); no
    padded copy of the input is kept."""
    (n, c, h, w, o, kh, kw), stride, padding, dilation = FILTER_ROWS_PADDED[case]
    plan = fast._Plan((n, c, h, w), (o, c, kh, kw), stride, padding, dilation)
    assert plan.by_filter_rows
    rng = np.random.default_rng(case)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    f = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    xpad = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    other = rng.standard_normal((n, c, h + 1, w)).astype(dtype)   # another layer between
    for _ in range(2):                       # the second time from the kept buffers
        y = fast.conv2d(x, f, stride, padding, dilation)
        fast.conv2d(other, f, stride, padding, dilation)
        ref = fast.conv2d(xpad, f, stride, (0, 0), dilation)
        assert y.dtype == dtype
        np.testing.assert_array_equal(_bits(y), _bits(ref))
    np.testing.assert_allclose(y, ref_conv2d(x.astype(np.float64), f.astype(np.float64),
                                             stride, padding, dilation),
                               rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-4)
    kept = [k for k in _buffers._SCRATCH.filled if k[0][0] == "xpad"]
    assert not kept, kept


@pytest.mark.parametrize("w,kw,sw,dw,pw", [
    (w, kw, sw, dw, pw) for w in (1, 2, 5, 8) for kw in (1, 2, 3) for sw in (1, 2, 3)
    for dw in (1, 2) for pw in (0, 1, 2, 4) if w + 2 * pw >= dw * (kw - 1) + 1])
def test_filter_column_runs_are_the_columns_inside_the_input(w, kw, sw, dw, pw):
    plan = fast._Plan((1, 1, 3, w), (1, 1, 1, kw), (1, sw), (0, pw), (1, dw))
    for j, lo, hi, x0 in fast._filter_column_runs(plan):
        inside = [c for c in range(plan.ow) if 0 <= c * sw + j * dw - pw < w]
        assert list(range(lo, hi)) == inside
        if inside:
            assert x0 == lo * sw + j * dw - pw


def test_lasagne_input_gradient_keeps_no_padded_copy():
    """lasagne_cnn's 64x30x30 layer (48 samples): its input gradient is the forward
    pass by filter rows of the output gradient padded by 2; what it keeps is a chunk
    of columns, not the padded output gradient (16 MB for 128 samples)."""
    fast.clear_buffers()
    rng = np.random.default_rng(5)
    n = 48
    gy = rng.standard_normal((n, 32, 28, 28)).astype(np.float32)
    f = rng.standard_normal((32, 64, 3, 3)).astype(np.float32)
    assert fast._transposed(fast._Plan((128, 64, 30, 30), f.shape, (1, 1), (0, 0), (1, 1)))
    gx = fast.conv2d_grad_input(gy, f, (n, 64, 30, 30))
    ref = fast.conv2d(np.pad(gy, ((0, 0), (0, 0), (2, 2), (2, 2))),
                      f[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    np.testing.assert_array_equal(_bits(gx), _bits(ref))
    kept = sum(b.nbytes for b in _buffers._SCRATCH.filled.values())
    padded_gy = n * 32 * 32 * 32 * gy.itemsize                 # what it kept before
    assert kept <= fast.CHUNK_BYTES < padded_gy, kept
    fast.clear_buffers()
