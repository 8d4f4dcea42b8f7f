"""Pooling layers."""
from __future__ import annotations

from ..core import tensor as T
from ..core.tensor.signal.pool import pool_2d
from ..utils import as_tuple
from .base import Layer

__all__ = ["Pool2DLayer", "MaxPool2DLayer", "Pool3DLayer", "MaxPool3DLayer", "Pool1DLayer", "MaxPool1DLayer", "GlobalPoolLayer",
           "Upscale1DLayer", "Upscale2DLayer", "Upscale3DLayer", "FeaturePoolLayer",
           "FeatureWTALayer", "SpatialPyramidPoolingLayer", "pool_output_length"]


def pool_output_length(input_length, pool_size, stride, pad, ignore_border):
    """Lasagne's (and Theano's) pooled length; partial windows count without ignore_border."""
    if input_length is None or pool_size is None:
        return None
    if ignore_border:
        out = input_length + 2 * pad - pool_size + 1
        return (out + stride - 1) // stride
    if pad != 0:
        raise NotImplementedError("padding requires ignore_border=True")
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


class _PoolNDLayer(Layer):
    """Pooling over the ``n`` trailing axes: the arguments' checks and the output
    shape, shared by :class:`Pool2DLayer` and :class:`Pool3DLayer`."""

    n = 2

    def __init__(self, incoming, pool_size, stride, pad, ignore_border, mode, **kwargs):
        super().__init__(incoming, **kwargs)
        n = self.n
        if len(self.input_shape) != n + 2:
            raise ValueError(f"{type(self).__name__}: tried to create a {n}D pooling layer with "
                             f"input shape {self.input_shape}; expected {n + 2} input dimensions "
                             f"(batchsize, channels, {n} spatial dimensions)")
        self.pool_size = as_tuple(pool_size, n)
        self.stride = self.pool_size if stride is None else as_tuple(stride, n)
        self.pad = as_tuple(pad, n)
        self.ignore_border, self.mode = ignore_border, mode

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        for k in range(self.n):
            shape[2 + k] = pool_output_length(input_shape[2 + k], self.pool_size[k],
                                              self.stride[k], self.pad[k], self.ignore_border)
        return tuple(shape)


class Pool2DLayer(_PoolNDLayer):
    """Pool over the two trailing axes; ``mode`` 'max', 'average_inc_pad',
    'average_exc_pad' or 'sum'."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True,
                 mode="max", **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)

    def get_output_for(self, input, **kwargs):
        return pool_2d(input, ws=self.pool_size, stride=self.stride,
                       ignore_border=self.ignore_border, pad=self.pad, mode=self.mode)


class MaxPool2DLayer(Pool2DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class Pool3DLayer(_PoolNDLayer):
    """Pool over the three trailing axes of (batch, channels, depth, rows, columns)
    input: Lasagne's ``Pool3DLayer(incoming, pool_size, stride=None, pad=(0, 0, 0),
    ignore_border=True, mode='max', **kwargs)``; ``pool_size``, ``stride``
    (default: ``pool_size``) and ``pad`` are ints or triples; ``mode`` 'max',
    'average_inc_pad', 'average_exc_pad' or 'sum', with :class:`Pool2DLayer`'s
    rules (padding needs ``ignore_border=True``; without it a partial last
    window counts).

    There is no dedicated 3-D kernel yet: the layer is a composition, a 2-D
    pooling over (rows, columns) with depth folded into the batch, then a 2-D
    pooling of window (depth, 1) over (depth, rows * columns). Every mode is
    separable this way (averages divide by the product of the per-axis
    counts), and the max gradient still goes to each window's first maximum in
    (depth, row, column) order, as the 2-D kernel's does. It is slower than a
    2-D pooling of the same size.

    >>> from layerkit.layers import InputLayer, Pool3DLayer
    >>> Pool3DLayer(InputLayer((None, 3, 5, 8, 9)), 2).output_shape
    (None, 3, 2, 4, 4)
    >>> Pool3DLayer(InputLayer((None, 3, 5, 8, 9)), 2, ignore_border=False).output_shape
    (None, 3, 3, 4, 5)
    """

    n = 3

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True,
                 mode="max", **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)

    def get_output_for(self, input, **kwargs):
        b, c, d, h, w = (input.shape[i] if s is None else s
                         for i, s in enumerate(self.input_shape))
        (kd, kh, kw), (sd, sh, sw), (pd, ph, pw) = self.pool_size, self.stride, self.pad
        # rows and columns first, each depth slice an image: (b, c * d, h', w')
        rows_cols = pool_2d(T.reshape(input, (b, c * d, h, w)), ws=(kh, kw), stride=(sh, sw),
                            ignore_border=self.ignore_border, pad=(ph, pw), mode=self.mode)
        h2, w2 = rows_cols.shape[2], rows_cols.shape[3]
        # then depth: windows (kd, 1) over (d, h' * w')
        depth = pool_2d(T.reshape(rows_cols, (b * c, 1, d, h2 * w2)), ws=(kd, 1),
                        stride=(sd, 1), ignore_border=self.ignore_border, pad=(pd, 0),
                        mode=self.mode)
        return T.reshape(depth, (b, c, depth.shape[2], h2, w2))


class MaxPool3DLayer(Pool3DLayer):
    """Lasagne's ``MaxPool3DLayer(incoming, pool_size, stride=None, pad=(0, 0, 0),
    ignore_border=True, **kwargs)``: :class:`Pool3DLayer` with ``mode='max'``
    (a composition of 2-D poolings, as :class:`Pool3DLayer`)."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True,
                 **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class Pool1DLayer(Layer):
    """Pool over the trailing axis of (batch, channels, length) input."""

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True,
                 mode="max", **kwargs):
        super().__init__(incoming, **kwargs)
        self.pool_size = as_tuple(pool_size, 1)[0]
        self.stride = self.pool_size if stride is None else as_tuple(stride, 1)[0]
        self.pad = as_tuple(pad, 1)[0]
        self.ignore_border, self.mode = ignore_border, mode

    def get_output_shape_for(self, input_shape):
        return input_shape[:2] + (pool_output_length(input_shape[2], self.pool_size, self.stride,
                                                     self.pad, self.ignore_border),)

    def get_output_for(self, input, **kwargs):
        out = pool_2d(input.dimshuffle(0, 1, 2, "x"), ws=(self.pool_size, 1),
                      stride=(self.stride, 1), ignore_border=self.ignore_border,
                      pad=(self.pad, 0), mode=self.mode)
        return out[:, :, :, 0]


class MaxPool1DLayer(Pool1DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class GlobalPoolLayer(Layer):
    """Pool over every trailing axis (from axis 2) with ``pool_function`` (default mean)."""

    def __init__(self, incoming, pool_function=T.mean, **kwargs):
        super().__init__(incoming, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape):
        return input_shape[:2]

    def get_output_for(self, input, **kwargs):
        return self.pool_function(T.flatten(input, 3), axis=2)


def _upscale(input, factors, mode):
    """Repeat ('repeat') or spread out with zeros between ('dilate') the trailing
    ``len(factors)`` axes of ``input``, each by its factor."""
    n = len(factors)
    lead = input.ndim - n
    sizes = [input.shape[i] for i in range(input.ndim)]
    out_shape = sizes[:lead] + [s * f for s, f in zip(sizes[lead:], factors)]
    if mode == "dilate":
        out = T.zeros(out_shape, dtype=input.dtype)
        key = (slice(None),) * lead + tuple(slice(None, None, f) for f in factors)
        return T.set_subtensor(out[key], input)
    # (..., s1, 1, s2, 1, ...) times ones (..., 1, f1, 1, f2, ...), then merge the pairs
    pattern = list(range(lead))
    ones = [1] * lead
    for k in range(n):
        pattern += [lead + k, "x"]
        ones += [1, factors[k]]
    x = input.dimshuffle(*pattern) * T.ones(tuple(ones), dtype=input.dtype)
    return T.reshape(x, out_shape)


class _UpscaleLayer(Layer):
    """Upscale the ``n`` trailing (spatial) axes by integer factors."""
    _n = 2

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super().__init__(incoming, **kwargs)
        name = type(self).__name__
        if len(self.input_shape) != self._n + 2:
            raise ValueError(f"{name}: expected a {self._n + 2}-d input shape (batch, channels, "
                             f"{self._n} spatial axes), got {self.input_shape}")
        self.scale_factor = as_tuple(scale_factor, self._n)
        if any(isinstance(f, bool) or not isinstance(f, int) or f < 1
               for f in self.scale_factor):
            raise ValueError(f"{name}: the scale factor must be integers >= 1, got "
                             f"scale_factor={scale_factor!r}")
        if mode not in ("repeat", "dilate"):
            raise ValueError(f"{name}: mode must be 'repeat' or 'dilate', got {mode!r}")
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        for k in range(self._n):
            if shape[2 + k] is not None:
                shape[2 + k] *= self.scale_factor[k]
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        return _upscale(input, self.scale_factor, self.mode)


class Upscale2DLayer(_UpscaleLayer):
    """Repeat rows and columns ``scale_factor`` times ('repeat' mode), or spread them
    out with zeros between ('dilate')."""

    _n = 2


class Upscale1DLayer(_UpscaleLayer):
    """Upscale the trailing axis of (batch, channels, length) input by ``scale_factor``:
    'repeat' repeats each value, 'dilate' puts ``scale_factor - 1`` zeros after it.

    >>> from layerkit.layers import InputLayer, Upscale1DLayer
    >>> Upscale1DLayer(InputLayer((None, 3, 10)), 2).output_shape
    (None, 3, 20)
    """
    _n = 1


class Upscale3DLayer(_UpscaleLayer):
    """Upscale the three trailing axes of (batch, channels, depth, rows, columns)
    input; ``scale_factor`` is an int or a triple ('repeat' or 'dilate', as
    :class:`Upscale2DLayer`).

    >>> from layerkit.layers import InputLayer, Upscale3DLayer
    >>> Upscale3DLayer(InputLayer((None, 3, 2, 4, 5)), (1, 2, 3)).output_shape
    (None, 3, 2, 8, 15)
    """
    _n = 3


class FeaturePoolLayer(Layer):
    """Pool groups of ``pool_size`` consecutive features along ``axis`` with
    ``pool_function`` (default ``T.max``: a maxout layer, Goodfellow et al. 2013).

    The size of ``axis`` must be a multiple of ``pool_size``; feature ``i``
    belongs to group ``i // pool_size``.

    >>> from layerkit.layers import InputLayer, FeaturePoolLayer
    >>> FeaturePoolLayer(InputLayer((None, 12, 5)), 3).output_shape
    (None, 4, 5)
    """

    def __init__(self, incoming, pool_size, axis=1, pool_function=T.max, **kwargs):
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis % len(self.input_shape)
        self.pool_function = pool_function
        num_feature_maps = self.input_shape[self.axis]
        if num_feature_maps is not None and num_feature_maps % pool_size != 0:
            raise ValueError(f"{type(self).__name__}: the number of input feature maps "
                             f"({num_feature_maps}, axis {axis}) is not a multiple of "
                             f"pool_size={pool_size}")

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        if shape[self.axis] is not None:
            shape[self.axis] //= self.pool_size
        return tuple(shape)

    def _grouped(self, input):
        """``input`` with ``axis`` split into (groups, pool_size)."""
        sizes = [input.shape[i] if s is None else s
                 for i, s in enumerate(self.input_shape)]
        shape = (sizes[:self.axis] + [sizes[self.axis] // self.pool_size, self.pool_size]
                 + sizes[self.axis + 1:])
        return T.reshape(input, shape)

    def get_output_for(self, input, **kwargs):
        return self.pool_function(self._grouped(input), axis=self.axis + 1)


class FeatureWTALayer(FeaturePoolLayer):
    """Winner take all: in each group of ``pool_size`` consecutive features along
    ``axis``, keep the largest value (the first one if several are equal) and
    set the others to zero. The output has the input's shape.

    >>> from layerkit.layers import InputLayer, FeatureWTALayer
    >>> FeatureWTALayer(InputLayer((None, 12, 5)), 3).output_shape
    (None, 12, 5)
    """

    def __init__(self, incoming, pool_size, axis=1, **kwargs):
        super().__init__(incoming, pool_size, axis=axis, **kwargs)
        del self.pool_function

    def get_output_shape_for(self, input_shape):
        return input_shape

    def get_output_for(self, input, **kwargs):
        grouped = self._grouped(input)
        winner = T.argmax(grouped, axis=self.axis + 1, keepdims=True)
        pattern = ["x"] * grouped.ndim
        pattern[self.axis + 1] = 0
        arange = T.arange(self.pool_size).dimshuffle(*pattern)
        mask = T.reshape(T.eq(winner, arange), [input.shape[i] for i in range(input.ndim)])
        return input * T.cast(mask, input.dtype)


def _spp_static_window(size, pool_dim, what):
    """The (window, stride) that pool ``size`` into exactly ``pool_dim`` cells."""
    window, stride = -(-size // pool_dim), size // pool_dim
    if stride < 1 or (size - window) // stride + 1 != pool_dim:
        raise ValueError(f"SpatialPyramidPoolingLayer: implementation='fast' cannot pool "
                         f"{what} {size} into {pool_dim} cells with one window size and "
                         f"stride; use implementation='kaiming'")
    return window, stride


class SpatialPyramidPoolingLayer(Layer):
    """Spatial pyramid pooling (He et al., 2015): pool each channel of (batch,
    channels, rows, columns) input into ``n x n`` cells for every ``n`` in
    ``pool_dims`` and concatenate them: the output is (batch, channels,
    sum(n * n)) whatever the input's size.

    Parameters
    ----------
    pool_dims : list of ints
        Default [4, 2, 1].
    mode : 'max' (default), 'average_inc_pad' or 'average_exc_pad'
    implementation : 'fast' (default) or 'kaiming'
        'fast' pools with one window size ``ceil(size / n)`` and stride
        ``floor(size / n)`` per level, which needs the input's rows and
        columns known when the layer is built (a clear error says so, and
        when that window cannot give ``n`` cells); 'kaiming' pools cell
        ``i`` over ``floor(i * size / n)`` to ``ceil((i + 1) * size / n)``,
        for any size, known or not.

    >>> from layerkit.layers import InputLayer, SpatialPyramidPoolingLayer
    >>> SpatialPyramidPoolingLayer(InputLayer((None, 8, 13, 13))).output_shape
    (None, 8, 21)
    """

    def __init__(self, incoming, pool_dims=[4, 2, 1], mode="max", implementation="fast",
                 **kwargs):
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError(f"SpatialPyramidPoolingLayer: expected a 4-d input shape (batch, "
                             f"channels, rows, columns), got {self.input_shape}")
        if mode not in ("max", "average_inc_pad", "average_exc_pad"):
            raise ValueError(f"SpatialPyramidPoolingLayer: mode must be 'max', "
                             f"'average_inc_pad' or 'average_exc_pad', got {mode!r}")
        if implementation not in ("fast", "kaiming"):
            raise ValueError(f"SpatialPyramidPoolingLayer: implementation must be 'fast' or "
                             f"'kaiming', got {implementation!r}")
        self.pool_dims, self.mode, self.implementation = list(pool_dims), mode, implementation
        if implementation == "fast":
            rows, cols = self.input_shape[2:]
            if rows is None or cols is None:
                raise ValueError(f"SpatialPyramidPoolingLayer: implementation='fast' needs the "
                                 f"input's rows and columns known when the layer is built, got "
                                 f"input shape {self.input_shape}; give the InputLayer a fixed "
                                 f"size or use implementation='kaiming'")
            for n in self.pool_dims:
                _spp_static_window(rows, n, "rows")
                _spp_static_window(cols, n, "columns")

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], input_shape[1], sum(n * n for n in self.pool_dims))

    def get_output_for(self, input, **kwargs):
        rows, cols = (input.shape[2 + k] if s is None else s
                      for k, s in enumerate(self.input_shape[2:]))
        levels = []
        for n in self.pool_dims:
            if self.implementation == "fast":
                (wr, sr), (wc, sc) = (_spp_static_window(rows, n, "rows"),
                                      _spp_static_window(cols, n, "columns"))
                pooled = pool_2d(input, ws=(wr, wc), stride=(sr, sc), ignore_border=True,
                                 mode=self.mode)
                levels.append(T.flatten(pooled, 3))
                continue
            reduce = T.max if self.mode == "max" else T.mean
            for i in range(n):
                r0, r1 = (i * rows) // n, -((-(i + 1) * rows) // n)
                for j in range(n):
                    c0, c1 = (j * cols) // n, -((-(j + 1) * cols) // n)
                    cell = reduce(input[:, :, r0:r1, c0:c1], axis=(2, 3))
                    levels.append(cell.dimshuffle(0, 1, "x"))
        return T.concatenate(levels, axis=2)
