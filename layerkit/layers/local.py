"""Locally connected layers: a convolution whose filters differ at every output position."""
from __future__ import annotations

from .. import init, nonlinearities
from ..core import tensor as T
from ..core.tensor.nnet.neighbours import images2neibs
from .conv import Conv2DLayer

__all__ = ["LocallyConnected2DLayer"]


class LocallyConnected2DLayer(Conv2DLayer):
    """A 2-D locally connected layer: like :class:`Conv2DLayer`, but without weight
    sharing -- every output position has its own filters.

    Lasagne's ``LocallyConnected2DLayer(incoming, num_filters, filter_size,
    stride=(1, 1), pad='same', untie_biases=False, W=GlorotUniform(),
    b=Constant(0.), nonlinearity=rectify, flip_filters=True, channelwise=False,
    **kwargs)``. As in Lasagne, only ``stride=1`` and ``pad='same'`` (odd
    filter sizes) are supported (the arguments exist for compatibility; other
    values raise ``NotImplementedError``), and the input's channels, rows and
    columns must be known when the layer is built.

    W : (num_filters, input channels, filter rows, filter columns, output rows,
        output columns); with ``channelwise=True``, (num_filters, filter rows,
        filter columns, output rows, output columns), each filter seeing only
        the input channel of its index (``num_filters`` must equal the number
        of input channels, else ``ValueError``).
    b : (num_filters,), or (num_filters, output rows, output columns) with
        ``untie_biases``.
    flip_filters : True (the default) flips the filters over rows and columns,
        as a convolution; False makes it a correlation.

    A composition of existing ops (no dedicated kernel yet): the input's zero-padded
    ``filter_size`` patches (``images2neibs``), then one batched matrix product
    per output position (or an elementwise product and a sum, channelwise).

    >>> from layerkit.layers import InputLayer, LocallyConnected2DLayer
    >>> layer = LocallyConnected2DLayer(InputLayer((None, 3, 6, 5)), 4, 3)
    >>> layer.output_shape, layer.W.get_value().shape
    ((None, 4, 6, 5), (4, 3, 3, 3, 6, 5))
    """

    groups_supported = False          # its convolution has no groups

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad="same",
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=True, channelwise=False,
                 **kwargs):
        self.channelwise = channelwise     # read by get_W_shape in the base constructor
        super().__init__(incoming, num_filters, filter_size, stride=stride, pad=pad,
                         untie_biases=untie_biases, W=W, b=b, nonlinearity=nonlinearity,
                         flip_filters=flip_filters, **kwargs)
        if self.stride != (1, 1):
            raise NotImplementedError(f"LocallyConnected2DLayer requires stride=1 / (1, 1), "
                                      f"but got {stride!r}")
        if self.pad != "same":
            raise NotImplementedError(f"LocallyConnected2DLayer requires pad='same', but got "
                                      f"{pad!r}")

    def get_W_shape(self):
        if any(s is None for s in self.input_shape[1:]):
            raise ValueError(f"LocallyConnected2DLayer requires a fixed input shape (except "
                             f"for the batch size); got {self.input_shape}")
        channels = self.input_shape[1]
        rows_cols = tuple(self.get_output_shape_for(self.input_shape)[2:])
        if self.channelwise:
            if self.num_filters != channels:
                raise ValueError(f"LocallyConnected2DLayer: with channelwise=True, num_filters "
                                 f"({self.num_filters}) must equal the number of input "
                                 f"channels ({channels})")
            return (self.num_filters,) + self.filter_size + rows_cols
        return (self.num_filters, channels) + self.filter_size + rows_cols

    def convolve(self, input, **kwargs):
        _, channels, rows, cols = self.input_shape
        kh, kw = self.filter_size
        taps, cells = kh * kw, rows * cols
        batch = input.shape[0]
        W = self.W[..., ::-1, ::-1, :, :] if self.flip_filters else self.W
        # every output position's zero-padded patch, read row by row:
        # (batch, channels, rows * cols, taps)
        patches = T.reshape(images2neibs(input, (kh, kw), (1, 1), mode="half"),
                            (batch, channels, cells, taps))
        if self.channelwise:
            w = T.reshape(W, (channels, taps, cells)).dimshuffle("x", 0, 2, 1)
            out = T.sum(patches * w, axis=3)                     # (batch, channels, cells)
            return T.reshape(out, (batch, channels, rows, cols))
        # one (batch, channels * taps) x (channels * taps, filters) product per position
        p = T.reshape(patches.dimshuffle(2, 0, 1, 3), (cells, batch, channels * taps))
        w = T.reshape(W, (self.num_filters, channels * taps, cells)).dimshuffle(2, 1, 0)
        out = T.batched_dot(p, w)                                  # (cells, batch, filters)
        return T.reshape(out.dimshuffle(1, 2, 0), (batch, self.num_filters, rows, cols))
