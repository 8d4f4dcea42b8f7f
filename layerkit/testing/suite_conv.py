"""The backend-parametrised suite of the convolution and pooling kernels.

Run it against any backend by importing it into a test module::

    from layerkit.testing.suite_conv import *  # noqa: F401,F403

with the pytest plugin loaded (``-p layerkit.testing.plugin``). Every kernel
is checked against an independent float64 computation written here:

* ``conv2d`` against ``scipy.signal.correlate`` per (image, output channel,
  input channel), on the zero-padded input with the dilated filter, then
  subsampled by the stride; with flipped filters against ``scipy.signal.convolve``.
* ``conv2d_grad_input`` against the full convolution (``scipy.signal.convolve``,
  i.e. correlation with the flipped filter) of the stride-upsampled output
  gradient; ``conv2d_grad_weight`` against the valid correlation of the padded
  input with it; both also through the adjoint identity
  ``<conv(x, w), gy> == <x, grad_input(gy)> == <w, grad_weight(x, gy)>`` and by
  finite differences.
* ``pool2d`` and ``pool2d_grad`` against plain Python loops that spell out
  Theano's rules, for every mode, with and without ``ignore_border``, padding
  and strides, on inputs full of ties; ``pool2d`` also against
  ``scipy.ndimage`` filters, ``pool2d_grad`` also by finite differences. A
  max window's gradient goes to its first maximum in window order (row-major
  within the window), as PyTorch and cuDNN do (decision D62); chained max-pools
  (a 3x3 stride-2 pool then another pool, GoogLeNet's inception block) check
  that rule against finite differences, and against ``torch.autograd`` where
  torch is importable.

The grids are parametrised in full. The cases not marked representative carry
the ``layerkit_full_grid`` mark: ``--layerkit-quick`` (and ``layerkit backends
--check``) leaves them out, and so does the ``array-api-strict`` backend (the
generic kernels, slow by design); the representative quarter still covers
every stride, padding kind, dilation and mode. Failures are
:class:`~layerkit.testing.compare.KernelMismatch` errors naming the kernel,
the case and the mismatch.
"""
from __future__ import annotations

import itertools
import math
import warnings
import zlib

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sig

from layerkit.testing.compare import assert_close, blame, expect, fail

__all__ = [
    "test_conv2d", "test_conv2d_grads", "test_conv2d_float32",
    "test_conv2d_flipped_filters_is_convolution", "test_conv2d_strided_inputs",
    "test_conv2d_grad_input_unreached_cells_are_zero", "test_conv2d_grads_finite_differences",
    "test_conv2d_results_are_fresh", "test_conv2d_errors",
    "test_pool2d", "test_pool2d_grad", "test_pool2d_against_ndimage", "test_pool2d_float32",
    "test_pool2d_max_ties", "test_pool2d_max_grad_padding_never_wins",
    "test_pool2d_chain_gradient_finite_differences",
    "test_pool2d_inception_block_gradient_finite_differences", "test_pool2d_chain_against_torch",
    "test_pool2d_grad_finite_differences",
    "test_pool2d_results_are_fresh", "test_pool2d_errors",
]

#: the mark of the grid cases that are not representative (see the module docstring)
FULL_GRID = pytest.mark.layerkit_full_grid
MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


# -- helpers ------------------------------------------------------------------
def call(backend, name, *arrays, **params):
    """Run kernel ``name`` on ``backend`` (numpy arrays move there first), back as numpy."""
    fn = backend.kernel(name)
    args = [backend.from_numpy(a) if isinstance(a, np.ndarray) else a for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            out = fn(*args, **params)
        except Exception as err:      # the kit's report puts it in this kernel's row
            raise blame(err, name)
    return np.asarray(backend.to_numpy(out))


def check(got, want, kernel, case, dtype="float64", rtol=None, atol=None, exact=False):
    """Shape, dtype and values against the float64 reference; a
    :class:`~layerkit.testing.compare.KernelMismatch` names the kernel, the case and the mismatch."""
    __tracebackhide__ = True
    if rtol is None:
        rtol = 1e-10 if dtype == "float64" else 2e-5
    if atol is None:
        atol = 1e-10 if dtype == "float64" else 2e-5
    assert_close(got, want, kernel, case, dtype=dtype, exact=exact, rtol=rtol, atol=atol)



def rng_for(*key) -> np.random.Generator:
    """A generator seeded from ``key``, the same in every process (unlike ``hash``)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


# -- convolution references (float64, SciPy) ------------------------------------
def resolve_padding(padding, k_hw, dilation):
    """Integer padding for a border mode name (Theano's 'full' and 'half') or a pair."""
    if padding == "valid":
        return (0, 0)
    if padding == "full":
        return tuple(d * (k - 1) for k, d in zip(k_hw, dilation))
    if padding == "half":      # Theano's: half the dilated kernel's span, rounded down
        return tuple(((k - 1) * d + 1) // 2 for k, d in zip(k_hw, dilation))
    return tuple(padding)


def _dilated(w, dilation):
    """``w`` with ``dilation - 1`` zeros between taps (OIHW)."""
    o, c, kh, kw = w.shape
    dh, dw = dilation
    out = np.zeros((o, c, dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    out[:, :, ::dh, ::dw] = w
    return out


def _pad(x, padding):
    ph, pw = padding
    return np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def ref_conv2d(x, w, stride, padding, dilation):
    """Cross-correlation per channel with ``scipy.signal.correlate`` ('valid'), then strided."""
    xp, wd = _pad(x, padding), _dilated(np.asarray(w, np.float64), dilation)
    n, c = x.shape[:2]
    o = w.shape[0]
    dense = None
    for b, f, ch in itertools.product(range(n), range(o), range(c)):
        r = sig.correlate(xp[b, ch], wd[f, ch], mode="valid", method="direct")
        if dense is None:
            dense = np.zeros((n, o) + r.shape)
        dense[b, f] += r
    return dense[:, :, ::stride[0], ::stride[1]]


def _upsampled(gy, dense_hw, stride):
    """``gy`` spread on the stride-1 output grid of size ``dense_hw``, zeros between."""
    n, o = gy.shape[:2]
    up = np.zeros((n, o) + tuple(dense_hw))
    up[:, :, ::stride[0], ::stride[1]][:, :, :gy.shape[2], :gy.shape[3]] = gy
    return up


def ref_conv2d_grad_input(gy, w, input_shape, stride, padding, dilation):
    """Full convolution (correlation with the flipped filter) of the upsampled ``gy``."""
    n, c, h, wd_ = input_shape
    wd = _dilated(np.asarray(w, np.float64), dilation)
    hp, wp = h + 2 * padding[0], wd_ + 2 * padding[1]
    dense_hw = (hp - wd.shape[2] + 1, wp - wd.shape[3] + 1)
    up = _upsampled(np.asarray(gy, np.float64), dense_hw, stride)
    gxp = np.zeros((n, c, hp, wp))
    for b, f, ch in itertools.product(range(n), range(w.shape[0]), range(c)):
        gxp[b, ch] += sig.convolve(up[b, f], wd[f, ch], mode="full", method="direct")
    return gxp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd_]


def ref_conv2d_grad_weight(x, gy, filter_shape, stride, padding, dilation):
    """Valid correlation of the padded input with the upsampled ``gy``, at the dilated taps."""
    o, c, kh, kw = filter_shape
    xp = _pad(x, padding)
    dk = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    dense_hw = (xp.shape[2] - dk[0] + 1, xp.shape[3] - dk[1] + 1)
    up = _upsampled(np.asarray(gy, np.float64), dense_hw, stride)
    gw = np.zeros((o, c) + dk)
    for b, f, ch in itertools.product(range(x.shape[0]), range(o), range(c)):
        gw[f, ch] += sig.correlate(xp[b, ch], up[b, f], mode="valid", method="direct")
    return gw[:, :, ::dilation[0], ::dilation[1]]


# -- convolution grid -----------------------------------------------------------
#: (N, C, H, W, O, kh, kw): odd and non-square images and filters, batch 1, channel 1,
#: 1x1 filters, filters as large as the image, shallow and deep contractions (C * kh * kw
#: from 2 to 160: a backend may switch strategies on it)
CONV_SHAPES = [
    (2, 3, 7, 9, 4, 3, 2),
    (1, 1, 8, 5, 2, 3, 3),
    (3, 2, 6, 6, 5, 1, 1),
    (2, 8, 10, 7, 3, 5, 4),
    (1, 3, 5, 5, 1, 5, 5),
]
CONV_STRIDES = [(1, 1), (2, 1), (1, 3), (2, 2), (3, 3)]
CONV_PADDINGS = ["valid", "full", "half", (1, 2), (2, 0)]
CONV_DILATIONS = [(1, 1), (2, 1), (1, 1), (2, 2), (1, 2)]


def _conv_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv_cases():
    """Every shape x stride x padding, the dilation cycling; the representative ones marked."""
    cases = []
    for si, shape in enumerate(CONV_SHAPES):
        for ti, stride in enumerate(CONV_STRIDES):
            for pi, padding in enumerate(CONV_PADDINGS):
                dilation = CONV_DILATIONS[(si + ti + pi) % len(CONV_DILATIONS)]
                n, c, h, w, o, kh, kw = shape
                pad = resolve_padding(padding, (kh, kw), dilation)
                if min(_conv_out(h, kh, stride[0], pad[0], dilation[0]),
                       _conv_out(w, kw, stride[1], pad[1], dilation[1])) < 1:
                    dilation = (1, 1)
                    pad = resolve_padding(padding, (kh, kw), dilation)
                    if min(_conv_out(h, kh, stride[0], pad[0], 1),
                           _conv_out(w, kw, stride[1], pad[1], 1)) < 1:
                        continue
                # representative: one padding kind per (shape, stride) on a diagonal
                rep = (pi - ti - si) % len(CONV_PADDINGS) == 0
                pid = padding if isinstance(padding, str) else "pad%d%d" % padding
                cid = "x%dx%dx%dx%d-w%dx%dx%dx%d-s%d%d-%s-d%d%d" % (
                    n, c, h, w, o, c, kh, kw, *stride, pid, *dilation)
                cases.append(pytest.param(shape, stride, pad, dilation, id=cid,
                                          marks=() if rep else FULL_GRID))
    return cases


CONV_CASES = _conv_cases()


def _conv_data(shape, seed_key, dtype="float64"):
    n, c, h, w, o, kh, kw = shape
    rng = rng_for("conv", *seed_key)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    return x, wt, rng


@pytest.mark.parametrize("shape,stride,padding,dilation", CONV_CASES)
def test_conv2d(backend, shape, stride, padding, dilation):
    x, w, _ = _conv_data(shape, (shape, stride, padding, dilation))
    p = dict(stride=stride, padding=padding, dilation=dilation)
    got = call(backend, "conv2d", x, w, **p)
    check(got, ref_conv2d(x, w, stride, padding, dilation), "conv2d", p)


@pytest.mark.parametrize("shape,stride,padding,dilation", CONV_CASES)
def test_conv2d_grads(backend, shape, stride, padding, dilation):
    """Both gradients against SciPy, and all three kernels through the adjoint identity."""
    x, w, rng = _conv_data(shape, (shape, stride, padding, dilation))
    p = dict(stride=stride, padding=padding, dilation=dilation)
    y = ref_conv2d(x, w, stride, padding, dilation)
    gy = rng.standard_normal(y.shape)
    gx = call(backend, "conv2d_grad_input", gy, w, x.shape, **p)
    check(gx, ref_conv2d_grad_input(gy, w, x.shape, stride, padding, dilation),
          "conv2d_grad_input", p)
    gw = call(backend, "conv2d_grad_weight", x, gy, w.shape, **p)
    check(gw, ref_conv2d_grad_weight(x, gy, w.shape, stride, padding, dilation),
          "conv2d_grad_weight", p)
    y_got = call(backend, "conv2d", x, w, **p)
    inner = float(np.sum(y_got * gy))
    scale = float(np.sum(np.abs(y) * np.abs(gy))) + 1.0
    for name, val in (("conv2d_grad_input", float(np.sum(x * gx))),
                      ("conv2d_grad_weight", float(np.sum(w * gw)))):
        expect(abs(val - inner) <= 1e-11 * scale, name, p,
               f"adjoint identity off: {val!r} vs <conv2d(x, w), gy> = {inner!r} "
               f"(abs error {abs(val - inner):.3g}, allowed {1e-11 * scale:.3g})")


@pytest.mark.parametrize("case", range(5))
def test_conv2d_float32(backend, case):
    """float32 in, float32 out, near the float64 reference (the dtype networks train in)."""
    shape, stride, padding, dilation = [
        ((4, 1, 12, 11, 5, 3, 3), (1, 1), (2, 2), (1, 1)),
        ((3, 16, 9, 9, 6, 3, 3), (1, 1), (0, 0), (1, 1)),
        ((2, 6, 11, 8, 3, 2, 3), (2, 1), (1, 1), (1, 2)),
        ((2, 5, 7, 7, 3, 1, 1), (1, 1), (0, 0), (1, 1)),
        ((3, 3, 10, 9, 4, 5, 5), (1, 1), (2, 2), (1, 1)),
    ][case]
    x, w, rng = _conv_data(shape, ("f32", case), "float32")
    p = dict(stride=stride, padding=padding, dilation=dilation)
    y = ref_conv2d(x, w, stride, padding, dilation)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    check(call(backend, "conv2d", x, w, **p), y, "conv2d", p, dtype="float32", atol=1e-4)
    check(call(backend, "conv2d_grad_input", gy, w, x.shape, **p),
          ref_conv2d_grad_input(gy, w, x.shape, stride, padding, dilation),
          "conv2d_grad_input", p, dtype="float32", atol=1e-4)
    check(call(backend, "conv2d_grad_weight", x, gy, w.shape, **p),
          ref_conv2d_grad_weight(x, gy, w.shape, stride, padding, dilation),
          "conv2d_grad_weight", p, dtype="float32", atol=1e-3)


@pytest.mark.parametrize("padding", ["valid", "full", "half"])
def test_conv2d_flipped_filters_is_convolution(backend, padding):
    """Cross-correlation with flipped filters (the core's ``filter_flip=True``) is
    ``scipy.signal.convolve``; the flipped filters are a negative-stride view."""
    rng = rng_for("flip", padding)
    x = rng.standard_normal((2, 3, 8, 7))
    w = rng.standard_normal((4, 3, 3, 2))
    pad = resolve_padding(padding, (3, 2), (1, 1))
    got = call(backend, "conv2d", x, w[:, :, ::-1, ::-1], stride=(1, 1), padding=pad,
               dilation=(1, 1))
    want = np.zeros_like(got)
    oh, ow = got.shape[2:]
    # output cell i of padding p is cell i + (k - 1 - p) of the full convolution
    r0, c0 = 3 - 1 - pad[0], 2 - 1 - pad[1]
    for b, f, ch in itertools.product(range(2), range(4), range(3)):
        full = sig.convolve(x[b, ch], w[f, ch], mode="full", method="direct")
        want[b, f] += full[r0:r0 + oh, c0:c0 + ow]
    expect(want.shape[2:] == {"valid": (6, 6), "full": (10, 8), "half": (8, 8)}[padding],
           "conv2d", f"flipped filters, {padding}", f"output shape {got.shape}")
    check(got, want, "conv2d", f"flipped filters, {padding}")


def test_conv2d_strided_inputs(backend):
    """Inputs that are non-contiguous views give the same results as their copies."""
    rng = rng_for("strided")
    big_x = rng.standard_normal((3, 4, 13, 12))
    x = big_x[::2, 1:, ::2, 1::2]                     # (2, 3, 7, 6), no unit strides
    w = np.transpose(rng.standard_normal((3, 3, 2, 5)), (3, 0, 2, 1))   # (5, 3, 2, 3)
    p = dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1))
    y = call(backend, "conv2d", x, w, **p)
    check(y, ref_conv2d(x, w, **p), "conv2d", "strided views")
    gy = np.transpose(rng.standard_normal((y.shape[3], y.shape[1], y.shape[2], y.shape[0])),
                      (3, 1, 2, 0))
    check(call(backend, "conv2d_grad_input", gy, w, x.shape, **p),
          ref_conv2d_grad_input(gy, w, x.shape, **p), "conv2d_grad_input", "strided views")
    check(call(backend, "conv2d_grad_weight", x, gy, w.shape, **p),
          ref_conv2d_grad_weight(x, gy, w.shape, **p), "conv2d_grad_weight", "strided views")


def test_conv2d_grad_input_unreached_cells_are_zero(backend):
    """With a stride that does not divide the padded extent the last rows and columns
    reach no output; their gradient is exactly 0."""
    rng = rng_for("unreached")
    x = rng.standard_normal((2, 2, 8, 9))
    w = rng.standard_normal((3, 2, 3, 2))
    p = dict(stride=(3, 4), padding=(0, 0), dilation=(1, 1))   # rows 7, cols 5..8 unreached
    y = call(backend, "conv2d", x, w, **p)
    check(y.shape, (2, 3, 2, 2), "conv2d", f"{p}: output shape", dtype="int64", exact=True)
    gx = call(backend, "conv2d_grad_input", rng.standard_normal(y.shape), w, x.shape, **p)
    expect(np.all(gx[:, :, 6:, :] == 0) and np.all(gx[:, :, :, 6:] == 0), "conv2d_grad_input",
           p, "unreached input cells got a nonzero gradient")
    expect(np.any(gx[:, :, :6, :6] != 0), "conv2d_grad_input", p, "the gradient is all zero")


@pytest.mark.parametrize("case", range(3))
def test_conv2d_grads_finite_differences(backend, case):
    """Central differences of ``sum(conv2d(x, w) * gy)`` along random directions."""
    shape, stride, padding, dilation = [
        ((2, 3, 6, 7, 2, 3, 2), (1, 1), (1, 1), (1, 1)),
        ((1, 2, 9, 8, 3, 2, 3), (2, 3), (2, 1), (2, 1)),
        ((2, 1, 5, 5, 2, 3, 3), (1, 2), (2, 2), (1, 1)),
    ][case]
    x, w, rng = _conv_data(shape, ("fd", case))
    p = dict(stride=stride, padding=padding, dilation=dilation)
    gy = rng.standard_normal(call(backend, "conv2d", x, w, **p).shape)

    def loss(xv, wv):
        return float(np.sum(call(backend, "conv2d", xv, wv, **p) * gy))

    eps = 1e-4
    gx = call(backend, "conv2d_grad_input", gy, w, x.shape, **p)
    gw = call(backend, "conv2d_grad_weight", x, gy, w.shape, **p)
    for name, grad, direction, f in (
            ("conv2d_grad_input", gx, rng.standard_normal(x.shape),
             lambda t, v: loss(x + t * v, w)),
            ("conv2d_grad_weight", gw, rng.standard_normal(w.shape),
             lambda t, v: loss(x, w + t * v))):
        numeric = (f(eps, direction) - f(-eps, direction)) / (2 * eps)
        analytic = float(np.sum(grad * direction))
        expect(abs(numeric - analytic) <= 1e-6 * (1 + abs(analytic)), name, p,
               f"finite difference {numeric!r}, gradient {analytic!r} along a random direction")


def test_conv2d_results_are_fresh(backend):
    """A result never aliases a buffer the next call reuses (same shapes, new values)."""
    rng = rng_for("fresh")
    for p, c in itertools.product((dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1)),
                                   dict(stride=(2, 1), padding=(0, 0), dilation=(1, 1)),
                                   dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1))),
                                  (2, 16)):
        for n in (1, 3):
            xs = [rng.standard_normal((n, c, 6, 5)) for _ in range(2)]
            ws = [rng.standard_normal((3, c, 3, 3)) for _ in range(2)]
            ys = [backend.kernel("conv2d")(backend.from_numpy(x), backend.from_numpy(w), **p)
                  for x, w in zip(xs, ws)]
            gys = [rng.standard_normal(np.asarray(backend.to_numpy(ys[0])).shape)
                   for _ in range(2)]
            gxs = [backend.kernel("conv2d_grad_input")(backend.from_numpy(g),
                                                        backend.from_numpy(w), xs[0].shape, **p)
                   for g, w in zip(gys, ws)]
            gws = [backend.kernel("conv2d_grad_weight")(backend.from_numpy(x),
                                                         backend.from_numpy(g), ws[0].shape, **p)
                   for x, g in zip(xs, gys)]
            check(np.asarray(backend.to_numpy(ys[0])), ref_conv2d(xs[0], ws[0], **p),
                  "conv2d", f"first of two calls, {p}, N={n}, C={c}")
            check(np.asarray(backend.to_numpy(gxs[0])),
                  ref_conv2d_grad_input(gys[0], ws[0], xs[0].shape, **p),
                  "conv2d_grad_input", f"first of two calls, {p}, N={n}, C={c}")
            check(np.asarray(backend.to_numpy(gws[0])),
                  ref_conv2d_grad_weight(xs[0], gys[0], ws[0].shape, **p),
                  "conv2d_grad_weight", f"first of two calls, {p}, N={n}, C={c}")


def test_conv2d_errors(backend):
    x = np.zeros((1, 2, 4, 4))
    p = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1))
    with pytest.raises(ValueError, match="channels"):
        call(backend, "conv2d", x, np.zeros((1, 3, 2, 2)), **p)
    with pytest.raises(ValueError, match="do not fit"):
        call(backend, "conv2d", x, np.zeros((1, 2, 5, 2)), **p)


# -- pooling reference (plain loops, Theano's rules) --------------------------------
def ref_windows(size, ws, stride, pad, ignore_border):
    """``(start, end)`` of each window in padded coordinates.

    With ``ignore_border`` a window must fit in the padded input. Without it,
    windows start at 0, stride, 2 * stride... inside the input, and the first
    one that reaches the end (possibly cut by it) is the last.
    """
    padded = size + 2 * pad
    out, start = [], 0
    if ignore_border:
        while start + ws <= padded:
            out.append((start, start + ws))
            start += stride
        return out
    while start < padded:
        out.append((start, min(start + ws, padded)))
        if start + ws >= padded:
            break
        start += stride
    return out


def ref_pool2d(x, ws, stride, pad, mode, ignore_border, gout=None):
    """Pooling by loops; with ``gout``, the gradient with respect to ``x`` instead."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    rows = ref_windows(h, ws[0], stride[0], pad[0], ignore_border)
    cols = ref_windows(w, ws[1], stride[1], pad[1], ignore_border)
    out = np.zeros((n, c, len(rows), len(cols)))
    gx = np.zeros_like(x)
    for b, ch in itertools.product(range(n), range(c)):
        for a, (r0, r1) in enumerate(rows):
            for e, (c0, c1) in enumerate(cols):
                # the real cells of the window, in input coordinates
                cells = [(i - pad[0], j - pad[1])
                         for i in range(max(r0, pad[0]), min(r1, pad[0] + h))
                         for j in range(max(c0, pad[1]), min(c1, pad[1] + w))]
                vals = [x[b, ch, i, j] for i, j in cells]
                if mode == "max":
                    res = max(vals)
                elif mode == "sum":
                    res = sum(vals)
                elif mode == "average_exc_pad":
                    res = sum(vals) / len(cells)
                else:   # the window's cells in the padded input, padding included
                    res = sum(vals) / ((r1 - r0) * (c1 - c0))
                out[b, ch, a, e] = res
                if gout is None:
                    continue
                g = gout[b, ch, a, e]
                if mode == "max":   # the first maximum in window order (row-major) takes it
                    for (i, j), v in zip(cells, vals):
                        if v == res:
                            gx[b, ch, i, j] += g
                            break
                    continue
                for (i, j), v in zip(cells, vals):
                    if mode == "sum":
                        gx[b, ch, i, j] += g
                    elif mode == "average_exc_pad":
                        gx[b, ch, i, j] += g / len(cells)
                    else:
                        gx[b, ch, i, j] += g / ((r1 - r0) * (c1 - c0))
    return out if gout is None else gx


POOL_SHAPES = [(2, 3, 7, 6), (1, 1, 5, 5), (2, 2, 4, 9), (1, 2, 8, 8), (1, 1, 1, 3)]
POOL_WINDOWS = [(2, 2), (3, 2), (1, 1), (3, 3), (2, 1)]
POOL_STRIDES = [None, (1, 1), (2, 3), (3, 1)]
POOL_BORDERS = [(False, (0, 0)), (True, (0, 0)), (True, (1, 0)), (True, (1, 1))]


def _pool_cases():
    cases = []
    for wi, ws in enumerate(POOL_WINDOWS):
        for ti, stride in enumerate(POOL_STRIDES):
            for bi, (ib, pad) in enumerate(POOL_BORDERS):
                if pad[0] >= ws[0] or pad[1] >= ws[1]:
                    continue
                shape = POOL_SHAPES[(wi + ti + bi) % len(POOL_SHAPES)]
                st = ws if stride is None else stride
                if ib and (shape[2] + 2 * pad[0] < ws[0] or shape[3] + 2 * pad[1] < ws[1]):
                    shape = POOL_SHAPES[0]
                rep = (wi + 2 * ti + bi) % 4 == 0
                cid = "x%dx%dx%dx%d-ws%d%d-st%d%d-%s-pad%d%d" % (
                    *shape, *ws, *st, "ib" if ib else "noib", *pad)
                cases.append(pytest.param(shape, ws, st, pad, ib, id=cid,
                                          marks=() if rep else FULL_GRID))
    # the conv nets' poolings: 2x2 on even and odd sizes, without ignore_border
    for shape in [(2, 3, 30, 30), (2, 3, 13, 13), (2, 3, 5, 5)]:
        cases.append(pytest.param(shape, (2, 2), (2, 2), (0, 0), False,
                                  id="x%dx%dx%dx%d-net" % shape))
    return cases


POOL_CASES = _pool_cases()


def _tied(shape, key):
    """Values from a small set of integers: windows hold ties and repeated maxima."""
    return rng_for("pool", *key).integers(-2, 3, size=shape).astype(np.float64)


@pytest.mark.parametrize("shape,ws,stride,pad,ignore_border", POOL_CASES)
def test_pool2d(backend, shape, ws, stride, pad, ignore_border):
    rng = rng_for("pool", shape, ws, stride, pad, ignore_border)
    for x in (_tied(shape, (shape, ws, stride, pad)), rng.standard_normal(shape)):
        for mode in MODES:
            p = dict(ws=ws, stride=stride, pad=pad, mode=mode, ignore_border=ignore_border)
            check(call(backend, "pool2d", x, **p), ref_pool2d(x, **p), "pool2d", p,
                  exact=mode == "max")


@pytest.mark.parametrize("shape,ws,stride,pad,ignore_border", POOL_CASES)
def test_pool2d_grad(backend, shape, ws, stride, pad, ignore_border):
    """The max gradient goes to its window's first maximum in window order; the others
    spread."""
    rng = rng_for("poolgrad", shape, ws, stride, pad, ignore_border)
    for x in (_tied(shape, (shape, ws, stride, pad)), rng.standard_normal(shape)):
        for mode in MODES:
            p = dict(ws=ws, stride=stride, pad=pad, mode=mode, ignore_border=ignore_border)
            out = call(backend, "pool2d", x, **p)
            gout = rng.standard_normal(out.shape)
            got = call(backend, "pool2d_grad", x, out, gout, **p)
            check(got, ref_pool2d(x, **p, gout=gout), "pool2d_grad", p)


@pytest.mark.parametrize("ws,stride", [((3, 2), (1, 1)), ((2, 2), (2, 2)), ((3, 3), (2, 1))])
def test_pool2d_against_ndimage(backend, ws, stride):
    """Max and average pooling against ``scipy.ndimage`` filters (no padding, whole windows)."""
    x = rng_for("ndimage", ws, stride).standard_normal((2, 3, 9, 8))
    size = (1, 1) + ws
    # ndimage centres a window of size k on cell i: it covers [i - k // 2, i - k // 2 + k)
    start = (ws[0] // 2, ws[1] // 2)
    for mode, filt in (("max", ndi.maximum_filter(x, size=size, mode="nearest")),
                       ("average_inc_pad", ndi.uniform_filter(x, size=size, mode="nearest"))):
        p = dict(ws=ws, stride=stride, pad=(0, 0), mode=mode, ignore_border=True)
        got = call(backend, "pool2d", x, **p)
        oh, ow = got.shape[2:]
        want = filt[:, :, start[0]:start[0] + (oh - 1) * stride[0] + 1:stride[0],
                    start[1]:start[1] + (ow - 1) * stride[1] + 1:stride[1]]
        check(got, want, "pool2d", f"{p} against scipy.ndimage")


@pytest.mark.parametrize("ignore_border", [True, False])
def test_pool2d_float32(backend, ignore_border):
    rng = rng_for("pool32", ignore_border)
    x = rng.standard_normal((3, 4, 9, 10)).astype(np.float32)
    for mode in MODES:
        for ws, stride, pad in (((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1))):
            if any(pad) and not ignore_border:
                continue
            p = dict(ws=ws, stride=stride, pad=pad, mode=mode, ignore_border=ignore_border)
            out = call(backend, "pool2d", x, **p)
            check(out, ref_pool2d(x, **p), "pool2d", p, dtype="float32", exact=mode == "max")
            gout = rng.standard_normal(out.shape).astype(np.float32)
            check(call(backend, "pool2d_grad", x, out, gout, **p),
                  ref_pool2d(x, **p, gout=gout), "pool2d_grad", p, dtype="float32")


def test_pool2d_max_grad_with_infinite_output_gradients(backend):
    """Cells that are not a window's maximum get 0 even where the output gradient is
    infinite (a mask applied by multiplying gives 0 * inf = NaN there)."""
    x = np.array([[[[1., 3., 0., 2.], [0., 0., 5., 0.]]]])
    p = dict(ws=(2, 2), stride=(2, 2), pad=(0, 0), mode="max", ignore_border=True)
    out = call(backend, "pool2d", x, **p)
    got = call(backend, "pool2d_grad", x, out, np.array([[[[np.inf, -np.inf]]]]), **p)
    check(got, [[[[0., np.inf, 0., 0.], [0., 0., -np.inf, 0.]]]], "pool2d_grad",
          "infinite output gradients", exact=True)
    p = dict(ws=(2, 2), stride=(1, 1), pad=(0, 0), mode="max", ignore_border=True)
    out = call(backend, "pool2d", x, **p)
    got = call(backend, "pool2d_grad", x, out, np.array([[[[np.inf, 1., 1.]]]]), **p)
    check(got, [[[[0., np.inf, 0., 0.], [0., 0., 2., 0.]]]], "pool2d_grad",
          "infinite output gradients, overlapping windows", exact=True)


def test_pool2d_max_ties(backend):
    """A window with several maxima sends its gradient to the first of them in window
    order, row-major within the window (PyTorch's and cuDNN's rule, decision D62)."""
    x = np.array([[[[1., 3., 3., 0.],
                    [3., 2., 1., 3.],
                    [0., 0., 5., 5.],
                    [0., 0., 5., 5.]]]])
    p = dict(ws=(2, 2), stride=(2, 2), pad=(0, 0), mode="max", ignore_border=True)
    out = call(backend, "pool2d", x, **p)
    check(out, [[[[3., 3.], [0., 5.]]]], "pool2d", "ties", exact=True)
    gout = np.array([[[[1., 10.], [100., 1000.]]]])
    want = np.array([[[[0., 1., 10., 0.],
                       [0., 0., 0., 0.],
                       [100., 0., 1000., 0.],
                       [0., 0., 0., 0.]]]])
    check(call(backend, "pool2d_grad", x, out, gout, **p), want, "pool2d_grad",
          "ties: the first maximum in window order", exact=True)
    # overlapping windows: a cell that is the max of two windows collects both gradients
    p = dict(ws=(2, 2), stride=(1, 1), pad=(0, 0), mode="max", ignore_border=True)
    x = np.array([[[[0., 9., 0.], [0., 0., 0.]]]])
    out = call(backend, "pool2d", x, **p)
    got = call(backend, "pool2d_grad", x, out, np.array([[[[2., 3.]]]]), **p)
    check(got, [[[[0., 5., 0.], [0., 0., 0.]]]], "pool2d_grad", "overlapping max", exact=True)
    # ignore_border=False: a partial window's first maximum; a stride larger than the window
    x = np.array([[[[1., 2., 7.], [2., 2., 7.], [4., 4., 0.]]]])
    p = dict(ws=(2, 2), stride=(2, 2), pad=(0, 0), mode="max", ignore_border=False)
    out = call(backend, "pool2d", x, **p)
    got = call(backend, "pool2d_grad", x, out, np.array([[[[1., 2.], [3., 4.]]]]), **p)
    check(got, [[[[0., 1., 2.], [0., 0., 0.], [3., 0., 4.]]]], "pool2d_grad",
          "partial windows (ignore_border=False)", exact=True)
    p = dict(ws=(1, 2), stride=(2, 3), pad=(0, 0), mode="max", ignore_border=True)
    x = np.array([[[[5., 5., 1., 3., 3.], [0., 0., 0., 0., 0.], [2., 2., 2., 9., 8.]]]])
    out = call(backend, "pool2d", x, **p)
    got = call(backend, "pool2d_grad", x, out, np.array([[[[1., 2.], [3., 4.]]]]), **p)
    check(got, [[[[1., 0., 0., 2., 0.], [0.] * 5, [3., 0., 0., 4., 0.]]]], "pool2d_grad",
          "stride larger than the window", exact=True)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_pool2d_max_grad_padding_never_wins(backend, dtype):
    """Windows whose real cells all hold the lowest value (-inf, or the integer minimum,
    what the padding is filled with): the gradient still goes to a real cell, the first
    one of the window."""
    low = -np.inf if dtype.startswith("float") else np.iinfo(dtype).min
    x = np.full((1, 2, 2, 3), low, dtype)
    p = dict(ws=(3, 3), stride=(1, 1), pad=(1, 1), mode="max", ignore_border=True)
    out = call(backend, "pool2d", x, **p)
    check(out, np.full((1, 2, 2, 3), low), "pool2d", f"all cells {low}", dtype=dtype,
          exact=True)
    gout = np.arange(1, 13, dtype=dtype).reshape(1, 2, 2, 3)
    got = call(backend, "pool2d_grad", x, out, gout, **p)
    # window (a, b) covers input rows a-1..a+1 and columns b-1..b+1: its first real
    # cell is (0, max(b - 1, 0))
    want = np.zeros((1, 2, 2, 3))
    for ch in range(2):
        for a in range(2):
            for b in range(3):
                want[0, ch, 0, max(b - 1, 0)] += gout[0, ch, a, b]
    check(got, want, "pool2d_grad", f"all cells {low} ({dtype}), padded", dtype=dtype,
          exact=True)


# -- chained max-pools: copies of one cell tie in the next pool ---------------------
def _chain_input(shape=(2, 3, 7, 7), key="chain"):
    """Distinct values 0.01 apart: only the copies a pool makes tie."""
    n = math.prod(shape)
    return (rng_for("poolchain", key).permutation(n) * 0.01 - n * 0.005).reshape(shape)


#: the two-pool chain: an overlapping 3x3 stride-2 max-pool, then a 2x2 stride-1 one
CHAIN = (dict(ws=(3, 3), stride=(2, 2), pad=(0, 0), mode="max", ignore_border=True),
         dict(ws=(2, 2), stride=(1, 1), pad=(0, 0), mode="max", ignore_border=True))


def _chain_forward(pool, x, pools):
    for p in pools:
        x = pool(x, **p)
    return x


def _chain_grad(backend, x, gout, pools):
    """The chain's input gradient from the kernels, pool by pool backwards."""
    xs = [x]
    for p in pools:
        xs.append(call(backend, "pool2d", xs[-1], **p))
    g = gout
    for p, xin, xout in reversed(list(zip(pools, xs[:-1], xs[1:]))):
        g = call(backend, "pool2d_grad", xin, xout, g, **p)
    return g


def _per_cell_differences(f, x, eps=1e-6):
    """d sum(f(x)[n, c] * ...) / dx per cell, by central differences: one perturbed
    position of every (image, channel) plane at once (pooling keeps planes apart), so
    ``2 * h * w`` calls give all ``n * c * h * w`` derivatives. ``f`` returns per-plane
    costs of shape ``(n, c)``."""
    num = np.zeros_like(x)
    for i, j in itertools.product(range(x.shape[2]), range(x.shape[3])):
        xp, xm = x.copy(), x.copy()
        xp[:, :, i, j] += eps
        xm[:, :, i, j] -= eps
        num[:, :, i, j] = (f(xp) - f(xm)) / (2 * eps)
    return num


def test_pool2d_chain_gradient_finite_differences(backend):
    """GoogLeNet's failing pattern: a 3x3 stride-2 max-pool outputs copies of one cell,
    the next max-pool sees them tied; the cell must be counted once. Every cell's
    gradient against central differences (float64) and against the loops of
    ``ref_pool2d`` (first maximum in window order)."""
    x = _chain_input()
    first = call(backend, "pool2d", x, **CHAIN[0])
    gout = rng_for("poolchain", "gout").standard_normal((2, 3, 2, 2))
    # the case is about ties: some 2x2 window of the second pool holds its max twice
    tied = [(first[b, c, a:a + 2, e:e + 2] == first[b, c, a:a + 2, e:e + 2].max()).sum() > 1
            for b, c, a, e in itertools.product(range(2), range(3), range(2), range(2))]
    assert any(tied), "the chain case lost its ties"
    got = _chain_grad(backend, x, gout, CHAIN)

    def cost(z):
        return np.sum(_chain_forward(lambda a, **p: call(backend, "pool2d", a, **p), z, CHAIN)
                      * gout, axis=(2, 3))
    numeric = _per_cell_differences(cost, x)
    bad = np.abs(got - numeric) > 1e-7 + 1e-6 * np.abs(numeric)
    expect(not bad.any(), "pool2d_grad", f"two-pool chain {CHAIN}",
           f"{int(bad.sum())} of {bad.size} cells disagree with central differences; "
           f"worst {np.abs(got - numeric).max():.3g}")
    want = ref_pool2d(x, **CHAIN[0], gout=ref_pool2d(ref_pool2d(x, **CHAIN[0]), **CHAIN[1],
                                                     gout=gout))
    check(got, want, "pool2d_grad", "two-pool chain against the loops of ref_pool2d")
    check(numeric, want, "pool2d_grad", "central differences against ref_pool2d (the "
          "reference itself)", rtol=1e-6, atol=1e-7)


def _inception(backend, x, w1, w3):
    """GoogLeNet's inception pattern, by kernels: a 1x1 conv, a 3x3 pad-1 conv and a
    3x3 stride-1 pad-1 max-pool of ``x``, concatenated along channels, then a 3x3
    stride-2 max-pool. Returns the output and the stage values the gradient needs."""
    conv = dict(stride=(1, 1), dilation=(1, 1))
    c1 = call(backend, "conv2d", x, w1, padding=(0, 0), **conv)
    c3 = call(backend, "conv2d", x, w3, padding=(1, 1), **conv)
    pb = call(backend, "pool2d", x, **INCEPTION_POOLS[0])
    cat = np.concatenate([c1, c3, pb], axis=1)
    return call(backend, "pool2d", cat, **INCEPTION_POOLS[1]), (c1, c3, pb, cat)


INCEPTION_POOLS = (dict(ws=(3, 3), stride=(1, 1), pad=(1, 1), mode="max", ignore_border=True),
                   dict(ws=(3, 3), stride=(2, 2), pad=(0, 0), mode="max", ignore_border=False))


def test_pool2d_inception_block_gradient_finite_differences(backend):
    """The inception block's gradient with respect to its input and both filters, by the
    kernels (conv2d_grad_input/weight, pool2d_grad), against central differences."""
    rng = rng_for("inception")
    x = _chain_input((2, 2, 7, 7), key="inception")
    w1 = rng.standard_normal((2, 2, 1, 1))
    w3 = rng.standard_normal((3, 2, 3, 3)) * 0.5
    out, (c1, c3, pb, cat) = _inception(backend, x, w1, w3)
    gout = rng.standard_normal(out.shape)
    conv = dict(stride=(1, 1), dilation=(1, 1))
    gcat = call(backend, "pool2d_grad", cat, out, gout, **INCEPTION_POOLS[1])
    g1, g3, gp = gcat[:, :2], gcat[:, 2:5], gcat[:, 5:]
    gx = (call(backend, "conv2d_grad_input", g1, w1, x.shape, padding=(0, 0), **conv)
          + call(backend, "conv2d_grad_input", g3, w3, x.shape, padding=(1, 1), **conv)
          + call(backend, "pool2d_grad", x, pb, gp, **INCEPTION_POOLS[0]))
    gw1 = call(backend, "conv2d_grad_weight", x, g1, w1.shape, padding=(0, 0), **conv)
    gw3 = call(backend, "conv2d_grad_weight", x, g3, w3.shape, padding=(1, 1), **conv)

    def total(x, w1, w3):
        return float(np.sum(_inception(backend, x, w1, w3)[0] * gout))
    eps = 1e-6
    for name, value, grad in (("x", x, gx), ("w1", w1, gw1), ("w3", w3, gw3)):
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            args = {"x": x, "w1": w1, "w3": w3}
            plus, minus = value.copy(), value.copy()
            plus[idx] += eps
            minus[idx] -= eps
            numeric[idx] = (total(**{**args, name: plus}) - total(**{**args, name: minus})) \
                / (2 * eps)
        err = np.abs(grad - numeric)
        bad = err > 1e-7 + 1e-6 * np.abs(numeric)
        expect(not bad.any(), "pool2d_grad", f"inception block, gradient of {name}",
               f"{int(bad.sum())} of {bad.size} elements disagree with central differences; "
               f"worst {err.max():.3g}")


def test_pool2d_chain_against_torch(backend):
    """PyTorch's ``max_pool2d`` backward (first maximum in window order) on the two-pool
    chain, a padded chain and tied inputs; skipped where torch is not importable."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    chains = [CHAIN,
              (dict(ws=(3, 3), stride=(1, 1), pad=(1, 1), mode="max", ignore_border=True),
               dict(ws=(3, 3), stride=(2, 2), pad=(1, 1), mode="max", ignore_border=True))]
    for pools in chains:
        for x in (_chain_input(), _tied((2, 3, 7, 7), ("torch", len(pools)))):
            out = _chain_forward(lambda a, **p: call(backend, "pool2d", a, **p), x, pools)
            gout = rng_for("torch", pools[0]["stride"]).standard_normal(out.shape)
            t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            y = t
            for p in pools:
                y = F.max_pool2d(y, p["ws"], p["stride"], p["pad"])
            (y * torch.tensor(gout)).sum().backward()
            check(out, y.detach().numpy(), "pool2d", f"chain {pools} against torch", exact=True)
            check(_chain_grad(backend, x, gout, pools), t.grad.numpy(), "pool2d_grad",
                  f"chain {pools} against torch.autograd")


@pytest.mark.parametrize("ws,stride,pad,ignore_border", [
    ((2, 2), (2, 2), (0, 0), False), ((3, 2), (1, 2), (1, 1), True),
    ((3, 3), (2, 2), (0, 0), False), ((2, 3), (2, 1), (1, 2), True)])
def test_pool2d_grad_finite_differences(backend, ws, stride, pad, ignore_border):
    """Central differences along a random direction, at a point without ties."""
    rng = rng_for("poolfd", ws, stride, pad, ignore_border)
    shape = (2, 2, 7, 6)
    # distinct values at least 0.01 apart: a 1e-5 step never changes which cell is the max
    x = (rng.permutation(math.prod(shape)) * 0.01).reshape(shape) - 1.0
    v = rng.standard_normal(shape)
    for mode in MODES:
        p = dict(ws=ws, stride=stride, pad=pad, mode=mode, ignore_border=ignore_border)
        out = call(backend, "pool2d", x, **p)
        gout = rng.standard_normal(out.shape)
        g = call(backend, "pool2d_grad", x, out, gout, **p)
        eps = 1e-5
        numeric = (np.sum(call(backend, "pool2d", x + eps * v, **p) * gout)
                   - np.sum(call(backend, "pool2d", x - eps * v, **p) * gout)) / (2 * eps)
        analytic = float(np.sum(g * v))
        expect(abs(numeric - analytic) <= 1e-6 * (1 + abs(analytic)), "pool2d_grad", p,
               f"finite difference {numeric!r}, gradient {analytic!r} along a random direction")


def test_pool2d_results_are_fresh(backend):
    """Results of repeated calls with the same shapes do not share memory."""
    rng = rng_for("poolfresh")
    for p in (dict(ws=(3, 3), stride=(2, 2), pad=(1, 1), ignore_border=True),
              dict(ws=(2, 2), stride=(2, 2), pad=(0, 0), ignore_border=False),
              dict(ws=(1, 1), stride=(1, 1), pad=(0, 0), ignore_border=True)):
        for mode in MODES:
            xs = [rng.standard_normal((2, 2, 7, 7)) for _ in range(2)]
            outs = [backend.kernel("pool2d")(backend.from_numpy(x), mode=mode, **p) for x in xs]
            gouts = [rng.standard_normal(np.asarray(backend.to_numpy(outs[0])).shape)
                     for _ in range(2)]
            grads = [backend.kernel("pool2d_grad")(backend.from_numpy(x), o,
                                                   backend.from_numpy(g), mode=mode, **p)
                     for x, o, g in zip(xs, outs, gouts)]
            check(np.asarray(backend.to_numpy(outs[0])), ref_pool2d(xs[0], mode=mode, **p),
                  "pool2d", f"first of two calls, {p}, {mode}", exact=mode == "max")
            check(np.asarray(backend.to_numpy(grads[0])),
                  ref_pool2d(xs[0], mode=mode, **p, gout=gouts[0]),
                  "pool2d_grad", f"first of two calls, {p}, {mode}")
            before = np.array(backend.to_numpy(outs[0]), copy=True)
            xs[0][...] = 7.0     # the result does not alias the input either
            check(np.asarray(backend.to_numpy(outs[0])), before, "pool2d",
                  f"unchanged by a write to the input, {p}, {mode}", exact=True)


def test_pool2d_errors(backend):
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="ignore_border"):
        call(backend, "pool2d", x, ws=(2, 2), stride=(2, 2), pad=(1, 1), mode="max",
             ignore_border=False)
    with pytest.raises(ValueError, match="smaller than the window"):
        call(backend, "pool2d", x, ws=(2, 2), stride=(2, 2), pad=(2, 0), mode="max",
             ignore_border=True)
    with pytest.raises(ValueError, match="mode"):
        call(backend, "pool2d", x, ws=(2, 2), stride=(2, 2), pad=(0, 0), mode="median",
             ignore_border=True)
