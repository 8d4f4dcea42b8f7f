"""2-D convolution kernels written against the Python array API standard alone.

Layouts are NCHW for images and OIHW for filters. ``conv2d`` is a
cross-correlation (no filter flip: the core flips filters in the graph) with
zero padding of ``padding`` cells on each side, already resolved to integers.

Each kernel is a sum over the ``kh * kw`` filter taps: tap ``(i, j)`` sees the
strided slice of the padded input that starts at ``(i * dh, j * dw)``, and
contracts it over channels with one ``matmul``. The gradients are the adjoints
of the same slices: ``conv2d_grad_input`` scatters each tap's contribution into
a zero-padded buffer by slice assignment, ``conv2d_grad_weight`` contracts each
tap's slice with the output gradient over the batch and output positions.
"""
from __future__ import annotations

from array_api_compat import device

from ._namespace import namespace

__all__ = ["CONV_KERNELS", "ConvGeometry", "conv_out_len", "conv2d", "conv2d_grad_input",
           "conv2d_grad_weight"]


def conv_out_len(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """Output length of a cross-correlation along one axis."""
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


class ConvGeometry:
    """The sizes of one convolution, validated: ``n, c, h, w`` (input), ``o, kh, kw``
    (filters), ``stride``, ``pad``, ``dil`` (pairs), ``oh, ow`` (output), ``k`` (the
    contraction ``c * kh * kw``) and ``length`` (``oh * ow``). Backends extend it
    with their own plan (buffers, chunks, launch sizes)."""

    __slots__ = ("n", "c", "h", "w", "o", "kh", "kw", "stride", "pad", "dil", "oh", "ow",
                 "k", "length")

    def __init__(self, x_shape, w_shape, stride, padding, dilation) -> None:
        self.n, self.c, self.h, self.w = (int(s) for s in x_shape)
        self.o, cw, self.kh, self.kw = (int(s) for s in w_shape)
        if cw != self.c:
            raise ValueError(f"conv2d: the input has {self.c} channels but the filters expect "
                             f"{cw} (input shape {tuple(x_shape)}, filter shape {tuple(w_shape)})")
        self.stride, self.pad, self.dil = _pairs(stride, padding, dilation)
        self.oh, self.ow = _geometry((self.h, self.w), (self.kh, self.kw), self.stride,
                                     self.pad, self.dil)
        self.k = self.c * self.kh * self.kw
        self.length = self.oh * self.ow


def _pairs(stride, padding, dilation):
    return (tuple(int(s) for s in stride), tuple(int(p) for p in padding),
            tuple(int(d) for d in dilation))


def _geometry(in_hw, k_hw, stride, padding, dilation):
    """Output rows and columns; refuses an empty output with a message naming the sizes."""
    out = tuple(conv_out_len(in_hw[a], k_hw[a], stride[a], padding[a], dilation[a])
                for a in range(2))
    if out[0] < 1 or out[1] < 1:
        raise ValueError(f"conv2d: filters of size {tuple(k_hw)} with dilation {dilation} do not "
                         f"fit an input of size {tuple(in_hw)} with padding {padding} "
                         f"(output size {out})")
    return out


def _tap(i, j, out_hw, stride, dilation):
    """The (row, column) slices of the padded input that tap ``(i, j)`` reads."""
    r0, c0 = i * dilation[0], j * dilation[1]
    return (slice(r0, r0 + (out_hw[0] - 1) * stride[0] + 1, stride[0]),
            slice(c0, c0 + (out_hw[1] - 1) * stride[1] + 1, stride[1]))


def _device(xp, x):
    return device(x)


def _padded(xp, x, padding):
    """``x`` with ``padding`` zeros on each side of its last two axes (``x`` itself if none)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    buf = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype, device=_device(xp, x))
    buf[:, :, ph:ph + h, pw:pw + w] = x
    return buf


def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """Cross-correlate NCHW ``x`` with OIHW ``w``; returns ``(N, O, rows, cols)``."""
    xp = namespace(x, w)
    stride, padding, dilation = _pairs(stride, padding, dilation)
    n, c, h, wd = x.shape
    o, cw, kh, kw = w.shape
    if c != cw:
        raise ValueError(f"conv2d: the input has {c} channels but the filters expect {cw} "
                         f"(input shape {tuple(x.shape)}, filter shape {tuple(w.shape)})")
    oh, ow = _geometry((h, wd), (kh, kw), stride, padding, dilation)
    xpad = _padded(xp, x, padding)
    y = None
    for i in range(kh):
        for j in range(kw):
            rs, cs = _tap(i, j, (oh, ow), stride, dilation)
            cols = xp.reshape(xpad[:, :, rs, cs], (n, c, oh * ow))
            term = xp.matmul(w[:, :, i, j], cols)           # (O, C) @ (N, C, L) -> (N, O, L)
            y = term if y is None else y + term
    return xp.reshape(y, (n, o, oh, ow))


def conv2d_grad_input(gy, w, input_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its input, of shape ``input_shape``.

    Input cells that no output position reads (when the stride does not divide
    the padded extent) get a zero gradient.
    """
    xp = namespace(gy, w)
    stride, padding, dilation = _pairs(stride, padding, dilation)
    n, c, h, wd = (int(s) for s in input_shape)
    o, cw, kh, kw = w.shape
    oh, ow = _geometry((h, wd), (kh, kw), stride, padding, dilation)
    if tuple(gy.shape) != (n, o, oh, ow):
        raise ValueError(f"conv2d_grad_input: the output gradient has shape {tuple(gy.shape)}, "
                         f"expected {(n, o, oh, ow)} for input shape {(n, c, h, wd)} and filter "
                         f"shape {tuple(w.shape)}")
    ph, pw = padding
    gx = xp.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=gy.dtype, device=_device(xp, gy))
    g = xp.reshape(gy, (n, o, oh * ow))
    for i in range(kh):
        for j in range(kw):
            rs, cs = _tap(i, j, (oh, ow), stride, dilation)
            term = xp.matmul(xp.permute_dims(w[:, :, i, j], (1, 0)), g)   # (C, O) @ (N, O, L)
            gx[:, :, rs, cs] = gx[:, :, rs, cs] + xp.reshape(term, (n, c, oh, ow))
    if ph == 0 and pw == 0:
        return gx
    return gx[:, :, ph:ph + h, pw:pw + wd]


def conv2d_grad_weight(x, gy, filter_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its filters, of shape ``filter_shape``."""
    xp = namespace(x, gy)
    stride, padding, dilation = _pairs(stride, padding, dilation)
    n, c, h, wd = x.shape
    o, cw, kh, kw = (int(s) for s in filter_shape)
    oh, ow = _geometry((h, wd), (kh, kw), stride, padding, dilation)
    if tuple(gy.shape) != (n, o, oh, ow):
        raise ValueError(f"conv2d_grad_weight: the output gradient has shape {tuple(gy.shape)}, "
                         f"expected {(n, o, oh, ow)} for input shape {tuple(x.shape)} and filter "
                         f"shape {(o, cw, kh, kw)}")
    xpad = _padded(xp, x, padding)
    g = xp.reshape(gy, (n, o, oh * ow))
    taps = []
    for i in range(kh):
        for j in range(kw):
            rs, cs = _tap(i, j, (oh, ow), stride, dilation)
            cols = xp.reshape(xpad[:, :, rs, cs], (n, c, oh * ow))
            taps.append(xp.tensordot(g, cols, axes=((0, 2), (0, 2))))   # (O, C)
    return xp.reshape(xp.stack(taps, axis=-1), (o, cw, kh, kw))


CONV_KERNELS = {
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_weight": conv2d_grad_weight,
}
