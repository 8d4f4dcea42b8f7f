"""The numpy pooling kernels' two paths against float64 loops and the generic kernels.

``layerkit_numpy.pool`` pools disjoint, unpadded, whole windows through strided
views of the input and everything else (overlapping windows, padding, windows cut
by ``ignore_border=False``) in the polyphase layout, both in chunks of planes
(``CHUNK_BYTES``; here one plane, four planes and everything at once, so that the
last chunk is partial). Both are checked on
inputs full of ties (a few integer values, ``-0.0`` against ``0.0``), in float32
and float64, with non-finite values, and with buffers reused across geometries:
the max gradient must go to the first maximum of each window in window order,
never to padding (decision D62).
"""
import itertools

import numpy as np
import pytest

from layerkit.backend import GENERIC_KERNELS
from layerkit.testing.suite_conv import ref_pool2d
from layerkit_numpy import pool as fast

GEOMETRIES = [  # shape, ws, stride, pad, ignore_border
    ((2, 3, 30, 30), (2, 2), (2, 2), (0, 0), False),   # the conv nets' 2x2 pools
    ((2, 3, 13, 13), (2, 2), (2, 2), (0, 0), False),
    ((2, 3, 5, 5), (2, 2), (2, 2), (0, 0), False),
    ((2, 3, 28, 28), (3, 3), (2, 2), (0, 0), True),    # the Lasagne net's overlapping pool
    ((2, 3, 9, 10), (3, 3), (2, 2), (0, 0), False),
    ((1, 2, 9, 8), (3, 3), (1, 1), (1, 1), True),
    ((2, 2, 7, 9), (3, 2), (2, 3), (1, 1), True),
    ((1, 3, 11, 7), (2, 3), (3, 1), (1, 2), True),
    ((2, 1, 8, 9), (2, 2), (3, 3), (0, 0), False),     # stride past the window
    ((2, 1, 8, 9), (2, 2), (3, 3), (1, 1), True),
    ((1, 2, 6, 7), (4, 3), (2, 2), (3, 2), True),
    ((1, 1, 3, 2), (3, 3), (2, 2), (0, 0), False),      # one window cut on both axes
    ((1, 2, 9, 9), (1, 1), (2, 2), (0, 0), True),
]
IDS = ["x%dx%dx%dx%d-ws%d%d-st%d%d-pad%d%d-%s" % (*s, *w, *t, *p, "ib" if ib else "noib")
       for s, w, t, p, ib in GEOMETRIES]


def _ties(rng, shape, dtype):
    """Few distinct values: most windows hold several maxima; zeros of both signs."""
    x = rng.integers(-2, 2, size=shape).astype(dtype)
    x[rng.random(shape) < 0.25] = -0.0
    return x


@pytest.fixture(params=[1, 4, None], ids=lambda v: f"chunk{v or 'all'}")
def planes_per_chunk(request, monkeypatch):
    """Sets ``CHUNK_BYTES`` to that many planes of the case's input (None: all)."""
    def set_for(shape, dtype):
        per = request.param
        plane = shape[2] * shape[3] * np.dtype(dtype).itemsize
        monkeypatch.setattr(fast, "CHUNK_BYTES", 10**12 if per is None else per * plane)
    return set_for


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,ws,stride,pad,ib", GEOMETRIES, ids=IDS)
def test_max_pool_and_gradient_against_loops(shape, ws, stride, pad, ib, dtype,
                                             planes_per_chunk):
    planes_per_chunk(shape, dtype)
    rng = np.random.default_rng(sum(shape) + 7 * sum(ws))
    p = dict(ws=ws, stride=stride, pad=pad, ignore_border=ib)
    for _ in range(2):                  # the second call reuses the kernels' buffers
        x = _ties(rng, shape, dtype)
        out = fast.pool2d(x, mode="max", **p)
        assert out.dtype == x.dtype
        np.testing.assert_array_equal(out, ref_pool2d(x, mode="max", **p))
        gout = rng.standard_normal(out.shape).astype(dtype)
        got = fast.pool2d_grad(x, out, gout, mode="max", **p)
        assert got.dtype == x.dtype and got.shape == x.shape
        want = ref_pool2d(x, mode="max", gout=gout.astype(np.float64), **p)
        np.testing.assert_allclose(got, want, rtol=1e-12 if dtype == "float64" else 1e-5,
                                   atol=1e-12 if dtype == "float64" else 1e-5)
        generic = GENERIC_KERNELS["pool2d_grad"](x, out, gout, mode="max", **p)
        np.testing.assert_array_equal(got, generic)   # the same additions in the same order


@pytest.mark.parametrize("mode", ["sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("shape,ws,stride,pad,ib", GEOMETRIES, ids=IDS)
def test_sum_and_average_pools_against_loops(shape, ws, stride, pad, ib, mode,
                                             planes_per_chunk):
    planes_per_chunk(shape, "float64")
    rng = np.random.default_rng(sum(shape))
    p = dict(ws=ws, stride=stride, pad=pad, ignore_border=ib, mode=mode)
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(fast.pool2d(x, **p), ref_pool2d(x, **p), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.pool2d(x, **p), GENERIC_KERNELS["pool2d"](x, **p),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,ws,stride,pad,ib", GEOMETRIES, ids=IDS)
def test_non_finite_values(shape, ws, stride, pad, ib, planes_per_chunk):
    """NaN inputs (their windows' maximum is NaN: no cell equals it), infinite inputs
    and infinite output gradients (no 0 * inf into the cells that are not the maximum)."""
    planes_per_chunk(shape, "float64")
    rng = np.random.default_rng(3)
    p = dict(ws=ws, stride=stride, pad=pad, ignore_border=ib, mode="max")
    x = _ties(rng, shape, "float64")
    x[rng.random(shape) < 0.05] = np.nan
    x[rng.random(shape) < 0.05] = np.inf
    x[rng.random(shape) < 0.05] = -np.inf
    out = fast.pool2d(x, **p)
    np.testing.assert_array_equal(out, GENERIC_KERNELS["pool2d"](x, **p))
    gout = rng.standard_normal(out.shape)
    gout[rng.random(out.shape) < 0.2] = np.inf
    got = fast.pool2d_grad(x, out, gout, **p)
    np.testing.assert_array_equal(got, GENERIC_KERNELS["pool2d_grad"](x, out, gout, **p))


@pytest.mark.parametrize("dtype", ["int32", "int8", "bool"])
@pytest.mark.parametrize("shape,ws,stride,pad,ib", GEOMETRIES[:6], ids=IDS[:6])
def test_max_pool_of_integers_and_booleans(shape, ws, stride, pad, ib, dtype,
                                           planes_per_chunk):
    planes_per_chunk(shape, dtype)
    rng = np.random.default_rng(5)
    p = dict(ws=ws, stride=stride, pad=pad, ignore_border=ib, mode="max")
    x = rng.integers(-2, 2, size=shape).astype(dtype)
    out = fast.pool2d(x, **p)
    np.testing.assert_array_equal(out, GENERIC_KERNELS["pool2d"](x, **p))
    if dtype != "bool":
        gout = rng.integers(-3, 4, size=out.shape).astype(dtype)
        np.testing.assert_array_equal(fast.pool2d_grad(x, out, gout, **p),
                                      GENERIC_KERNELS["pool2d_grad"](x, out, gout, **p))


def test_strided_and_non_contiguous_arguments(monkeypatch):
    monkeypatch.setattr(fast, "CHUNK_BYTES", 3 * 29 * 28 * 4)     # 3 planes a chunk
    rng = np.random.default_rng(9)
    base = _ties(rng, (3, 4, 30, 31), "float32")
    x = base[::2, ::-1, 1::, :28]                   # a view with odd strides
    for p in (dict(ws=(3, 3), stride=(2, 2), pad=(1, 1), ignore_border=True),
              dict(ws=(2, 2), stride=(2, 2), pad=(0, 0), ignore_border=False)):
        out = fast.pool2d(x, **p)
        np.testing.assert_array_equal(out, ref_pool2d(x, mode="max", **p))
        gout = rng.standard_normal(out.shape[::-1]).astype("float32").T   # Fortran order
        np.testing.assert_array_equal(fast.pool2d_grad(x, out, gout, **p),
                                      GENERIC_KERNELS["pool2d_grad"](x, out, gout, **p))


def test_results_are_fresh_and_buffers_do_not_leak_between_geometries():
    rng = np.random.default_rng(11)
    shapes = itertools.cycle([(2, 3, 9, 9), (2, 3, 9, 8), (3, 3, 9, 9)])
    kept = []
    for k in range(9):
        x = _ties(rng, next(shapes), "float32")
        p = dict(ws=(3, 3), stride=(2, 2), pad=(k % 2, 0), ignore_border=True)
        out = fast.pool2d(x, **p)
        gout = rng.standard_normal(out.shape).astype("float32")
        gx = fast.pool2d_grad(x, out, gout, **p)
        kept.append((x, out, gout, gx, p, out.copy(), gx.copy()))
    for x, out, gout, gx, p, out0, gx0 in kept:
        np.testing.assert_array_equal(out, out0)
        np.testing.assert_array_equal(gx, gx0)
        np.testing.assert_array_equal(out, ref_pool2d(x, mode="max", **p))
        np.testing.assert_array_equal(gx, GENERIC_KERNELS["pool2d_grad"](x, out, gout, **p))
