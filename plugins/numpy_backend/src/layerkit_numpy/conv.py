"""Fast numpy kernels for 2-D convolution (NCHW images, OIHW filters).

Semantics are those of the generic kernels (``layerkit.backend.kernels.conv``);
only the speed differs. What decides it (measured, see
``docs/decisions.md``):

* **Convolution** is im2col + BLAS GEMM, done in chunks (of samples or of
  output rows) whose column matrix takes about ``CHUNK_BYTES``, so that the
  GEMM reads it back from cache and the memory held stays small whatever the
  layer. The chunk's columns, the transposed output gradient and the GEMM
  output live in per-thread arenas reused across calls and shared by all
  layers; the zero-padded input lives in a buffer per shape whose border is
  written once, except in the forward pass by filter rows, whose columns are
  copied from the unpadded input into a chunk-sized buffer per geometry that
  keeps the padding's zeros (no padded copy of a large input is made each call
  or kept). Returned arrays are always fresh and never alias them. The
  layout of the columns is picked per kernel, by the depth ``K = C * kh * kw``
  of the contraction and the output cells per image ``L = oh * ow``:

  - small ``K`` (``< BATCHED_MAX_K``: a first layer on 1 or 3 channels):
    columns ``(n, K, L)`` for a chunk of samples and a batched ``matmul``
    that writes NCHW directly; with a contraction this shallow, transposing
    the large output would cost more than the GEMM itself.
  - large images (``L >= BATCHED_MIN_LENGTH``, 16x16) whatever ``K``: no
    transposes. The forward pass, at stride 1 in height and where one
    sample's GEMM is large enough (``PER_SAMPLE_MIN_MACS``), copies only the
    filter's columns, ``(n, C * kw, Hp * ow)``, and sums ``kh`` GEMMs per
    sample with row views of them, writing NCHW (``_forward_by_filter_rows``:
    a third of the copies for 3x3 filters, lasagne_cnn's 64x30x30 layer
    58 -> 49 ms on one thread); otherwise one GEMM per few samples over
    NCHW-ordered columns ``(K, n * L)``, its output copied to NCHW in runs of
    ``L`` (as fast as a GEMM per sample on one thread, with 10-20 times fewer
    BLAS calls); the filter gradient multiplies NCHW-ordered
    columns ``(K, n * L)`` of a few samples with the output gradient
    ``(O, n * L)`` (copied in runs of ``L``); the input gradient at stride 1
    is the forward convolution of the output gradient (padded by
    ``d(k-1) - p``) with the flipped filters, channel axes swapped
    (``_grad_input_by_convolution``): a deep GEMM instead of a shallow one
    (K = O) plus col2im's additions, taken while the input is at most
    ``TRANSPOSED_MAX_GROWTH`` times the output (the border's cells cost full
    GEMM columns).
  - otherwise (small images, deep contractions): channel-major. The input is
    copied once to ``(C, Hp, Wp, N)``, so that with stride 1 every filter tap
    is a copy of runs of ``ow * N`` contiguous elements into the columns
    ``(K, rows * ow * N)`` of a chunk of output rows; each chunk is one GEMM
    over the whole batch, col2im adds runs of the same length, and the output
    (gradient) goes between NCHW and ``(O, rows * ow * N)`` by one
    transposing copy per chunk. On 5x5 and 7x7 outputs a batched GEMM per
    sample is too small.
  - 1x1 filters without padding: no columns at all, the (subsampled) input is
    the GEMM's operand (``_pointwise``).

  The whole-array transposes between NCHW and ``(C, H, W, N)`` are copied in
  blocks of a few hundred image cells (``_to_nchw``, ``_to_chwn``): one strided
  copy of the whole array gathers each sample's cells from its own cache lines
  and, for the input gradient's ``(C, H, W, N)`` -> NCHW, rereads every line 16
  times from memory (lasagne_cnn's 64x30x30 layer: 31.6 vs 8.6 ms).

  (Measured alternatives that lost: on small images, one ``(K, N * L)`` GEMM
  with NCHW-ordered tap copies — rows of only ``ow`` elements, and col2im
  slower than the GEMM; "wide" columns over the padded width, whose tap copies are
  single contiguous runs but whose GEMM and output crop cost more; the whole
  batch's columns at once, up to 230 MB for a 64-channel 30x30 layer and
  streamed from memory at half the GEMM rate.)

Buffers reused across calls: ``_buffers.py``; pooling: ``pool.py``.
"""
from __future__ import annotations

import numpy as np

from layerkit.backend import ConvGeometry

from ._buffers import clear_buffers, filled, scratch

__all__ = ["NUMPY_CONV_KERNELS", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "clear_buffers", "BATCHED_MAX_K", "BATCHED_MIN_LENGTH", "TRANSPOSED_MAX_GROWTH",
           "PER_SAMPLE_MIN_MACS", "CHUNK_BYTES"]

#: the column matrix is built and multiplied in chunks (of samples or of output rows)
#: of about this many bytes, so that it is read back from cache, not memory
CHUNK_BYTES = 2 << 20
#: contractions shallower than this use the batched ``(N, K, L)`` layout (measured on
#: 2 cores: K = 75 is faster batched, K = 144 and up channel-major)
BATCHED_MAX_K = 128
#: from this many output cells per image (``oh * ow``) up, the forward pass works per
#: sample whatever ``K`` (no transposes: the GEMM writes NCHW), the filter gradient
#: multiplies NCHW-ordered columns of a few samples, and the input gradient (stride 1)
#: is the forward convolution of the output gradient with the flipped filters
#: (measured on one thread: the per-sample forward wins from about 100 cells, loses at
#: 25-81; on two threads under load the Theano-Tutorials' 13x13 outputs lost 10 % of
#: the train step with it, 116 -> 128 ms, so those stay channel-major)
BATCHED_MIN_LENGTH = 256
#: the input gradient as a convolution computes every input cell from ``kh * kw`` taps,
#: including those the border gives fewer: taken while ``h * w`` is at most this many
#: times ``oh * ow`` (lasagne_cnn's 30x30 -> 28x28, 1.15: 77 -> 55 ms; the
#: Theano-Tutorials' 15x15 -> 13x13, 1.33: 13 -> 20 ms, kept as col2im)
TRANSPOSED_MAX_GROWTH = 1.2
#: the per-sample paths for deep contractions (the forward pass by filter rows, hence
#: the input gradient as a convolution) only where one sample's GEMM has at least this
#: many multiply-adds (lasagne_cnn's 30x30 layer: 4.8M; the Theano-Tutorials' 15x15
#: layer: 1M, 384 calls). OpenBLAS wakes its threads for every call, and on two threads
#: sharing the cores with other processes a call can wait a time slice: convnet's
#: inference measured 361 -> 2169 ms under load when that layer made one call per
#: sample (128) instead of 13; the few-samples GEMMs make 7
PER_SAMPLE_MIN_MACS = 2 << 20


class _Plan(ConvGeometry):
    """The geometry shared by the three convolution kernels, and the numpy plan."""

    __slots__ = ("hp", "wp", "batched")

    def __init__(self, x_shape, w_shape, stride, padding, dilation) -> None:
        super().__init__(x_shape, w_shape, stride, padding, dilation)
        self.hp, self.wp = self.h + 2 * self.pad[0], self.w + 2 * self.pad[1]
        self.batched = self.k < BATCHED_MAX_K

    def taps(self, r0=0, r1=None):
        """``(i, j, row slice, column slice)``: the padded-input cells tap ``(i, j)`` reads
        for the output rows ``r0:r1`` (all rows by default)."""
        r1 = self.oh if r1 is None else r1
        sh, sw = self.stride
        for i in range(self.kh):
            for j in range(self.kw):
                a, c0 = r0 * sh + i * self.dil[0], j * self.dil[1]
                yield i, j, (slice(a, a + (r1 - r0 - 1) * sh + 1, sh),
                             slice(c0, c0 + (self.ow - 1) * sw + 1, sw))

    @property
    def long_rows(self) -> bool:
        """Images of at least ``BATCHED_MIN_LENGTH`` output cells."""
        return self.length >= BATCHED_MIN_LENGTH

    @property
    def by_filter_rows(self) -> bool:
        """The forward pass goes by filter rows: stride 1 in height, a deep contraction,
        large images, and one sample's GEMM per filter row large enough."""
        return (self.stride[0] == 1 and not self.batched and self.long_rows
                and self.o * self.c * self.kw * self.length >= PER_SAMPLE_MIN_MACS)

    def chunks(self, itemsize, by_samples=None, scale=1):
        """Ranges of samples (batched layouts) or of output rows (channel-major layout)
        whose column matrix takes about ``scale * CHUNK_BYTES``."""
        by_samples = self.batched if by_samples is None else by_samples
        if by_samples:
            total, per = self.n, self.k * self.length * itemsize
        else:
            total, per = self.oh, self.k * self.ow * self.n * itemsize
        step = max(1, scale * CHUNK_BYTES // max(per, 1))
        return [(a, min(total, a + step)) for a in range(0, total, step)]


def _same_dtype(*arrays):
    """The arrays in their common dtype (the core already casts; this keeps BLAS on one type)."""
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.result_type(*arrays)
    return [a.astype(dtype, copy=False) for a in arrays], dtype


def _input_nchw(x, p: _Plan):
    """``x`` zero-padded, NCHW (a reused buffer whose border stays zero), or ``x`` itself."""
    ph, pw = p.pad
    if ph == 0 and pw == 0:
        return x
    buf = filled(("xpad", ph, pw), (p.n, p.c, p.hp, p.wp), x.dtype, 0)
    buf[:, :, ph:ph + p.h, pw:pw + p.w] = x
    return buf


def _blocks(c, h, w, cells):
    """``(c0, c1, r0, r1)`` blocks of channels (or of rows of one channel) of about
    ``cells`` image cells each, covering a ``(c, h, w)`` image stack."""
    if h * w >= cells:
        rb = max(1, cells // w)
        return [(k, k + 1, r, min(h, r + rb)) for k in range(c) for r in range(0, h, rb)]
    cb = max(1, cells // (h * w))
    return [(k, min(c, k + cb), 0, h) for k in range(0, c, cb)]


#: image cells per block of the blocked transposes between NCHW and (C, H, W, N):
#: 512 when the samples are read with a stride (to NCHW), 2048 the other way (measured
#: on 128 samples: a whole-array copy gathers each sample's cells from its own cache
#: lines and reads every line 16 times over: 31.6 vs 8.6 ms for 64x30x30)
TO_NCHW_CELLS = 512
TO_CHWN_CELLS = 2048


def _to_nchw(src, out):
    """Copy the ``(C, H, W, N)`` view ``src`` (possibly cropped) into NCHW ``out``."""
    c, h, w, _ = src.shape
    for c0, c1, r0, r1 in _blocks(c, h, w, TO_NCHW_CELLS):
        np.copyto(out[:, c0:c1, r0:r1], src[c0:c1, r0:r1].transpose(3, 0, 1, 2))
    return out


def _to_chwn(x, out):
    """Copy NCHW ``x`` into the ``(C, H, W, N)`` view ``out`` (possibly a padded interior)."""
    _, c, h, w = x.shape
    for c0, c1, r0, r1 in _blocks(c, h, w, TO_CHWN_CELLS):
        np.copyto(out[c0:c1, r0:r1], x[:, c0:c1, r0:r1].transpose(1, 2, 3, 0))
    return out


def _input_chwn(x, p: _Plan):
    """``x`` zero-padded and channel-major, ``(C, Hp, Wp, N)``, in a reused buffer."""
    ph, pw = p.pad
    if ph == 0 and pw == 0:
        return _to_chwn(x, scratch("xT", (p.c, p.h, p.w, p.n), x.dtype))
    buf = filled(("xpadT", ph, pw), (p.c, p.hp, p.wp, p.n), x.dtype, 0)
    _to_chwn(x, buf[:, ph:ph + p.h, pw:pw + p.w, :])
    return buf


def _cols_batched(src, p: _Plan, n0, n1):
    """Columns ``(n1 - n0, K, L)`` of the samples ``n0:n1`` of the padded NCHW input."""
    cols = scratch("cols", (n1 - n0, p.k, p.length), src.dtype)
    taps = cols.reshape(n1 - n0, p.c, p.kh, p.kw, p.oh, p.ow)
    for i, j, (rs, cs) in p.taps():
        np.copyto(taps[:, :, i, j], src[n0:n1, :, rs, cs])
    return cols


def _cols_samples(src, p: _Plan, n0, n1):
    """Columns ``(K, (n1 - n0) * L)`` of the samples ``n0:n1`` of the padded NCHW input,
    K ordered (c, i, j) and the columns (n, row, column): tap copies of runs of ``ow``."""
    cols = scratch("cols", (p.c, p.kh, p.kw, n1 - n0, p.oh, p.ow), src.dtype)
    for i, j, (rs, cs) in p.taps():
        np.copyto(cols[:, i, j], src[n0:n1, :, rs, cs].transpose(1, 0, 2, 3))
    return cols.reshape(p.k, -1)


def _cols_chwn(src, p: _Plan, r0, r1):
    """Columns ``(K, (r1 - r0) * ow * N)`` of the output rows ``r0:r1``, K ordered (c, i, j);
    from the ``(C, Hp, Wp, N)`` input each tap copies runs of ``ow * N`` elements."""
    cols = scratch("cols", (p.k, (r1 - r0) * p.ow * p.n), src.dtype)
    taps = cols.reshape(p.c, p.kh, p.kw, r1 - r0, p.ow, p.n)
    for i, j, (rs, cs) in p.taps(r0, r1):
        np.copyto(taps[:, i, j], src[:, rs, cs, :])
    return cols


def _gy_chwn(gy, p: _Plan, r0, r1):
    """The output gradient's rows ``r0:r1`` as an ``(O, (r1 - r0) * ow * N)`` matrix."""
    buf = scratch("out", (p.o, r1 - r0, p.ow, p.n), gy.dtype)
    np.copyto(buf, gy[:, :, r0:r1, :].transpose(1, 2, 3, 0))
    return buf.reshape(p.o, -1)


def _check_gy(gy, p: _Plan, name):
    if gy.shape != (p.n, p.o, p.oh, p.ow):
        raise ValueError(f"{name}: the output gradient has shape {gy.shape}, expected "
                         f"{(p.n, p.o, p.oh, p.ow)} for input shape {(p.n, p.c, p.h, p.w)} and "
                         f"filter shape {(p.o, p.c, p.kh, p.kw)}")


def _filters(w, p: _Plan):
    return np.ascontiguousarray(w).reshape(p.o, p.k)


def _pointwise(p: _Plan):
    """A 1x1 filter without padding: each output cell reads one input cell, so the
    convolution is a plain GEMM over the (subsampled) input, no columns."""
    return p.kh == 1 and p.kw == 1 and p.pad == (0, 0)


def _pointwise_input(x, p: _Plan):
    """The input cells a 1x1 convolution reads, ``(N, C, oh * ow)`` (a view at stride 1)."""
    sh, sw = p.stride
    if (sh, sw) != (1, 1):
        x = x[:, :, :(p.oh - 1) * sh + 1:sh, :(p.ow - 1) * sw + 1:sw]
    return np.ascontiguousarray(x).reshape(p.n, p.c, p.length)


def _channels_first(a, role):
    """``(N, C, L)`` -> ``(C, N * L)`` in a reused buffer (runs of L contiguous elements)."""
    n, c, l = a.shape
    buf = scratch(role, (c, n, l), a.dtype)
    np.copyto(buf, a.transpose(1, 0, 2))
    return buf.reshape(c, n * l)


def _filter_column_runs(p: _Plan):
    """For each filter column ``j``: ``(j, lo, hi, x0)``, the output columns ``lo:hi``
    whose tap ``j`` reads a column of the unpadded input (from ``x0``, every ``sw``-th);
    the others read the zero padding."""
    sw, dw, pw = p.stride[1], p.dil[1], p.pad[1]
    runs = []
    for j in range(p.kw):
        off = j * dw - pw                     # input column read by output column 0
        lo = min(p.ow, max(0, -(off // sw)))  # first c with c * sw + off >= 0
        hi = max(lo, min(p.ow, (p.w - 1 - off) // sw + 1))
        runs.append((j, lo, hi, lo * sw + off))
    return runs


def _filter_columns(x, p: _Plan, n0, n1, step):
    """The columns ``(n1 - n0, C, kw, Hp, ow)`` of every filter column of the
    zero-padded input, copied from the unpadded ``x``. Unpadded, they live in the
    shared scratch arena; padded, in a buffer of ``step`` samples per geometry whose
    padding cells are zeroed once (the copies never write them), so that no padded
    copy of the whole input is made each call or kept (lasagne_cnn's input gradient
    kept one of 16 MB and copied 12.8 MB into it per step). The same values as
    copying from the padded input."""
    shape = (n1 - n0, p.c, p.kw, p.hp, p.ow)
    if p.pad == (0, 0):
        cols = scratch("cols", shape, x.dtype)
    else:
        key = ("rowcols", p.pad, p.h, p.w, p.stride[1], p.dil[1])
        cols = filled(key, (step,) + shape[1:], x.dtype, 0)[:n1 - n0]
    ph, sw = p.pad[0], p.stride[1]
    for j, lo, hi, x0 in _filter_column_runs(p):
        if hi > lo:
            np.copyto(cols[:, :, j, ph:ph + p.h, lo:hi],
                      x[n0:n1, :, :, x0:x0 + (hi - lo - 1) * sw + 1:sw])
    return cols


def _forward_by_filter_rows(x, w, p: _Plan, y):
    """Stride 1 in height, large images: columns of the filter's columns only,
    ``(n, C * kw, Hp * ow)`` (a third of im2col's copies for 3x3 filters), and for each
    filter row ``i`` one batched GEMM of ``w[:, :, i, :]`` with the view of those columns
    shifted by ``i * dh`` rows (a matrix whose rows are ``Hp * ow`` apart, which BLAS
    reads in place); the ``kh`` products are summed into NCHW ``y``. The padding's
    zeros live in the columns' buffer, not in a padded copy of ``x``."""
    dh = p.dil[0]
    ckw = p.c * p.kw
    wi = [np.ascontiguousarray(w[:, :, i, :]).reshape(p.o, ckw) for i in range(p.kh)]
    per = ckw * p.hp * p.ow * x.dtype.itemsize
    step = min(p.n, max(1, CHUNK_BYTES // max(per, 1)))
    for n0 in range(0, p.n, step):
        n1 = min(p.n, n0 + step)
        cols = _filter_columns(x, p, n0, n1, step)
        flat = cols.reshape(n1 - n0, ckw, p.hp * p.ow)
        yv = y[n0:n1].reshape(n1 - n0, p.o, p.length)
        tmp = scratch("out", yv.shape, x.dtype) if p.kh > 1 else None
        for i in range(p.kh):
            a = i * dh * p.ow
            if i == 0:
                np.matmul(wi[0], flat[:, :, a:a + p.length], out=yv)
            else:
                np.matmul(wi[i], flat[:, :, a:a + p.length], out=tmp)
                yv += tmp
    return y


def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """Cross-correlate NCHW ``x`` with OIHW ``w`` (no flip); returns ``(N, O, rows, cols)``."""
    (x, w), dtype = _same_dtype(x, w)
    p = _Plan(x.shape, w.shape, stride, padding, dilation)
    y = np.empty((p.n, p.o, p.oh, p.ow), dtype)
    if _pointwise(p):                   # (O, C) @ (N, C, L) straight into NCHW
        np.matmul(_filters(w, p), _pointwise_input(x, p), out=y.reshape(p.n, p.o, p.length))
        return y
    if p.by_filter_rows:
        return _forward_by_filter_rows(x, w, p, y)
    w2 = _filters(w, p)
    if p.long_rows and not p.batched:   # (O, K) @ (K, n * L), a few samples per GEMM
        src = _input_nchw(x, p)
        for n0, n1 in p.chunks(dtype.itemsize, by_samples=True, scale=2):
            cols = _cols_samples(src, p, n0, n1)
            out = scratch("out", (p.o, cols.shape[1]), dtype)
            np.dot(w2, cols, out=out)
            np.copyto(y[n0:n1], out.reshape(p.o, n1 - n0, p.oh, p.ow).transpose(1, 0, 2, 3))
        return y
    if p.batched:                       # (O, K) @ (n, K, L) straight into NCHW
        src = _input_nchw(x, p)
        for n0, n1 in p.chunks(dtype.itemsize, by_samples=True):
            np.matmul(w2, _cols_batched(src, p, n0, n1),
                      out=y[n0:n1].reshape(n1 - n0, p.o, p.length))
        return y
    src = _input_chwn(x, p)
    for r0, r1 in p.chunks(dtype.itemsize):
        cols = _cols_chwn(src, p, r0, r1)
        out = scratch("out", (p.o, cols.shape[1]), dtype)
        np.dot(w2, cols, out=out)
        np.copyto(y[:, :, r0:r1, :], out.reshape(p.o, r1 - r0, p.ow, p.n).transpose(3, 0, 1, 2))
    return y


def conv2d_grad_weight(x, gy, filter_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its filters: GEMMs against the columns."""
    (x, gy), dtype = _same_dtype(x, gy)
    p = _Plan(x.shape, tuple(int(s) for s in filter_shape), stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_weight")
    if _pointwise(p):                   # one GEMM (O, N * L) @ (N * L, C)
        g = _channels_first(np.ascontiguousarray(gy).reshape(p.n, p.o, p.length), "out")
        xs = _channels_first(_pointwise_input(x, p), "cols")
        return np.dot(g, xs.T).reshape(p.o, p.c, 1, 1)
    if p.batched:                       # (n, O, L) @ (n, L, K), summed over the samples
        src = _input_nchw(x, p)
        g = np.ascontiguousarray(gy).reshape(p.n, p.o, p.length)
        gw = np.zeros((p.o, p.k), dtype)
        for n0, n1 in p.chunks(dtype.itemsize):
            cols = _cols_batched(src, p, n0, n1)
            gw += np.matmul(g[n0:n1], cols.transpose(0, 2, 1)).sum(axis=0)
        return gw.reshape(p.o, p.c, p.kh, p.kw)
    if p.long_rows:                     # (K, n * L) @ (n * L, O) for a few samples at a time
        src = _input_nchw(x, p)
        g = np.ascontiguousarray(gy).reshape(p.n, p.o, p.length)
        gwt = np.zeros((p.k, p.o), dtype)
        for n0, n1 in p.chunks(dtype.itemsize, by_samples=True):
            gc = _channels_first(g[n0:n1], "out")
            gwt += np.dot(_cols_samples(src, p, n0, n1), gc.T)
        return np.ascontiguousarray(gwt.T).reshape(p.o, p.c, p.kh, p.kw)
    src = _input_chwn(x, p)
    gwt = np.zeros((p.k, p.o), dtype)
    for r0, r1 in p.chunks(dtype.itemsize):
        # (K, m) @ (m, O): the orientation g @ cols.T is as fast on one thread but up to
        # 30x slower on two (OpenBLAS 0.3.31) when the contraction m is long
        gwt += np.dot(_cols_chwn(src, p, r0, r1), _gy_chwn(gy, p, r0, r1).T)
    return np.ascontiguousarray(gwt.T).reshape(p.o, p.c, p.kh, p.kw)


def _transposed(p: _Plan) -> bool:
    """Whether the input gradient is computed as a forward convolution (stride 1, an
    image of ``BATCHED_MIN_LENGTH`` cells or more, not much larger than the output, and
    the convolution's per-sample GEMMs large enough)."""
    cells = p.h * p.w
    return (p.stride == (1, 1) and not p.batched and cells >= BATCHED_MIN_LENGTH
            and cells <= TRANSPOSED_MAX_GROWTH * p.length
            and p.c * p.o * p.kw * cells >= PER_SAMPLE_MIN_MACS)


def _grad_input_by_convolution(gy, w, p: _Plan):
    """Stride 1: ``gx = conv2d(gy padded by d(k-1) - p, the filters flipped and with the
    channel axes swapped)``; a negative amount crops ``gy`` instead. One deep GEMM per
    sample and a batched forward pass instead of a shallow GEMM and col2im's additions."""
    crop, pad = [], []
    for k, d, q0 in zip((p.kh, p.kw), p.dil, p.pad):
        q = d * (k - 1) - q0
        crop.append(max(-q, 0))
        pad.append(max(q, 0))
    (ch, cw) = crop
    gyc = gy[:, :, ch:gy.shape[2] - ch, cw:gy.shape[3] - cw]
    gx = conv2d(gyc, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), padding=tuple(pad),
                dilation=p.dil)
    assert gx.shape == (p.n, p.c, p.h, p.w), (gx.shape, (p.n, p.c, p.h, p.w))
    return gx


def conv2d_grad_input(gy, w, input_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its input: GEMMs, then col2im by adding
    slices. Input cells that no output reads get 0."""
    (gy, w), dtype = _same_dtype(gy, w)
    p = _Plan(tuple(int(s) for s in input_shape), w.shape, stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_input")
    w2t = None if _transposed(p) else _filters(w, p).T   # that path takes the filters whole
    if _pointwise(p):                   # (C, O) @ (N, O, L); strided: into every s-th cell
        g = np.ascontiguousarray(gy).reshape(p.n, p.o, p.length)
        if p.stride == (1, 1):
            gx = np.empty((p.n, p.c, p.h, p.w), dtype)
            np.matmul(w2t, g, out=gx.reshape(p.n, p.c, p.length))
            return gx
        sh, sw = p.stride
        gx = np.zeros((p.n, p.c, p.h, p.w), dtype)
        gx[:, :, :(p.oh - 1) * sh + 1:sh, :(p.ow - 1) * sw + 1:sw] = (
            np.matmul(w2t, g).reshape(p.n, p.c, p.oh, p.ow))
        return gx
    if _transposed(p):
        return _grad_input_by_convolution(gy, w, p)
    ph, pw = p.pad
    if p.batched:
        g = np.ascontiguousarray(gy).reshape(p.n, p.o, p.length)
        if ph or pw:
            gx = scratch("gx", (p.n, p.c, p.hp, p.wp), dtype)
            gx.fill(0)
        else:
            gx = np.zeros((p.n, p.c, p.h, p.w), dtype)
        for n0, n1 in p.chunks(dtype.itemsize):
            dcols = scratch("cols", (n1 - n0, p.k, p.length), dtype)
            np.matmul(w2t, g[n0:n1], out=dcols)
            taps = dcols.reshape(n1 - n0, p.c, p.kh, p.kw, p.oh, p.ow)
            for i, j, (rs, cs) in p.taps():
                gx[n0:n1, :, rs, cs] += taps[:, :, i, j]
        if ph or pw:
            return gx[:, :, ph:ph + p.h, pw:pw + p.w].copy()
        return gx
    gxt = scratch("gx", (p.c, p.hp, p.wp, p.n), dtype)              # (C, Hp, Wp, N)
    gxt.fill(0)
    for r0, r1 in p.chunks(dtype.itemsize):
        g = _gy_chwn(gy, p, r0, r1)
        dcols = scratch("cols", (p.k, g.shape[1]), dtype)
        np.dot(w2t, g, out=dcols)
        taps = dcols.reshape(p.c, p.kh, p.kw, r1 - r0, p.ow, p.n)
        for i, j, (rs, cs) in p.taps(r0, r1):
            gxt[:, rs, cs, :] += taps[:, i, j]
    return _to_nchw(gxt[:, ph:ph + p.h, pw:pw + p.w, :], np.empty((p.n, p.c, p.h, p.w), dtype))


NUMPY_CONV_KERNELS = {
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_weight": conv2d_grad_weight,
}
