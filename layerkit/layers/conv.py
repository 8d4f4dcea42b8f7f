"""Convolution layers: one base class over the number of spatial dimensions, plus the
transposed and the dilated 2-D convolution, and the 3-D convolution and its transpose
(the core's ``conv3d`` builders, compositions of 2-D convolutions)."""
from __future__ import annotations

from .. import init, nonlinearities
from ..core import tensor as T
from ..core.graph import Variable
from ..core.tensor.nnet.abstract_conv import (conv2d_grad_wrt_inputs, conv3d,
                                              conv3d_grad_wrt_inputs)
from ..utils import as_tuple
from .base import Layer

__all__ = ["BaseConvLayer", "Conv1DLayer", "Conv2DLayer", "TransposedConv2DLayer", "Deconv2DLayer",
           "DilatedConv2DLayer", "Conv3DLayer", "TransposedConv3DLayer", "Deconv3DLayer",
           "conv_output_length", "conv_input_length"]


def conv_output_length(input_length, filter_size, stride, pad=0):
    """Lasagne's rule for 'valid', 'full', 'same' or integer padding."""
    if input_length is None:
        return None
    if pad == "valid":
        out = input_length - filter_size + 1
    elif pad == "full":
        out = input_length + filter_size - 1
    elif pad == "same":
        out = input_length
    elif isinstance(pad, int):
        out = input_length + 2 * pad - filter_size + 1
    else:
        raise ValueError(f"invalid pad: {pad!r}")
    return (out + stride - 1) // stride


class BaseConvLayer(Layer):
    """An ``n``-dimensional convolution; subclasses implement :meth:`convolve`."""

    #: the subclass's convolve honours ``num_groups`` (others refuse a value above 1)
    groups_supported = False

    def __init__(self, incoming, num_filters, filter_size, stride=1, pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, num_groups=1, n=None, **kwargs):
        super().__init__(incoming, **kwargs)
        if n is None:
            n = len(self.input_shape) - 2
        elif n != len(self.input_shape) - 2:
            raise ValueError(f"{type(self).__name__}: tried to create a {n}D convolution layer "
                             f"with input shape {self.input_shape}; expected {n + 2} input "
                             f"dimensions (batchsize, channels, {n} spatial dimensions)")
        self.n = n
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, n, int)
        self.flip_filters = flip_filters
        self.stride = as_tuple(stride, n, int)
        self.untie_biases = untie_biases
        if pad == "same":
            if any(s % 2 == 0 for s in self.filter_size):
                raise NotImplementedError("`same` padding requires odd filter size")
        if pad == "valid":
            self.pad = as_tuple(0, n)
        elif pad in ("full", "same"):
            self.pad = pad
        else:
            self.pad = as_tuple(pad, n, int)
        if self.input_shape[1] is None:
            raise ValueError(f"{type(self).__name__}: the number of input channels must be known; "
                             f"got input shape {self.input_shape}")
        if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
            raise ValueError(f"{type(self).__name__}: num_groups must be a positive integer, got "
                             f"{num_groups!r}")
        if num_groups != 1 and not self.groups_supported:
            raise ValueError(f"{type(self).__name__}: num_groups={num_groups} is not supported "
                             "(grouped convolution is Conv2DLayer's and Conv3DLayer's)")
        if self.input_shape[1] % num_groups or num_filters % num_groups:
            raise ValueError(f"{type(self).__name__}: num_groups={num_groups} must divide both "
                             f"the number of input channels ({self.input_shape[1]}) and "
                             f"num_filters ({num_filters})")
        self.num_groups = num_groups
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_filters,) + tuple(self.output_shape[2:]) if untie_biases \
                else (num_filters,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_W_shape(self):
        """(num_filters, input channels // num_groups) + filter_size."""
        return (self.num_filters, self.input_shape[1] // self.num_groups) + self.filter_size

    def get_output_shape_for(self, input_shape):
        pad = self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, f, s, p)
            for i, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, pad))

    def get_output_for(self, input, **kwargs):
        conved = self.convolve(input, **kwargs)
        if self.b is None:
            activation = conved
        elif self.untie_biases:
            activation = conved + T.shape_padleft(self.b, 1)
        else:
            activation = conved + self.b.dimshuffle(("x", 0) + ("x",) * self.n)
        return self.nonlinearity(activation)

    def convolve(self, input, **kwargs):
        raise NotImplementedError


class Conv2DLayer(BaseConvLayer):
    """2-D convolution over (batch, channels, rows, columns) input.

    ``num_groups`` > 1 (Lasagne's grouped convolution) splits the input
    channels and the filters into that many groups, each group of filters
    seeing only its group of channels; ``W`` is then (num_filters, input
    channels // num_groups, rows, columns), as in Lasagne. A ``convolution``
    hook gets ``num_groups=`` as a keyword when it is above 1.

    >>> from layerkit.layers import InputLayer, Conv2DLayer
    >>> Conv2DLayer(InputLayer((None, 3, 32, 32)), 16, 5, pad='same').output_shape
    (None, 16, 32, 32)
    >>> Conv2DLayer(InputLayer((None, 4, 8, 8)), 6, 3, num_groups=2).W.get_value().shape
    (6, 2, 3, 3)
    """

    groups_supported = True

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=True, num_groups=1,
                 convolution=None, **kwargs):
        self.convolution = convolution or T.nnet.conv2d
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                         nonlinearity, flip_filters, num_groups, n=2, **kwargs)

    def convolve(self, input, **kwargs):
        border_mode = "half" if self.pad == "same" else self.pad
        if self.num_groups > 1 and self.convolution is T.nnet.conv2d:
            return self._grouped_convolve(input, border_mode)
        extra = {"num_groups": self.num_groups} if self.num_groups > 1 else {}
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(),
                                subsample=self.stride, border_mode=border_mode,
                                filter_flip=self.flip_filters, **extra)

    def _grouped_convolve(self, input, border_mode):
        """One convolution per group (its channels with its filters), concatenated."""
        groups = self.num_groups
        in_per, out_per = self.input_shape[1] // groups, self.num_filters // groups
        w_shape = (out_per, in_per) + self.filter_size
        in_shape = (self.input_shape[0], in_per) + tuple(self.input_shape[2:])
        outs = [T.nnet.conv2d(input[:, g * in_per:(g + 1) * in_per],
                              self.W[g * out_per:(g + 1) * out_per], in_shape, w_shape,
                              subsample=self.stride, border_mode=border_mode,
                              filter_flip=self.flip_filters)
                for g in range(groups)]
        return T.concatenate(outs, axis=1)


class Conv1DLayer(BaseConvLayer):
    """1-D convolution over (batch, channels, length) input (a 2-D convolution of height 1).

    ``convolution`` (Lasagne's hook) is None for layerkit's own, or a
    function called as Lasagne calls it: ``convolution(input, W, input_shape,
    W_shape, subsample=stride, border_mode=pad ('half' for 'same'),
    filter_flip=flip_filters)``.

    >>> from layerkit.layers import InputLayer, Conv1DLayer
    >>> Conv1DLayer(InputLayer((None, 3, 20)), 8, 5, stride=2, pad='same').output_shape
    (None, 8, 10)
    """

    def __init__(self, incoming, num_filters, filter_size, stride=1, pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, convolution=None, **kwargs):
        self.convolution = convolution
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                         nonlinearity, flip_filters, n=1, **kwargs)

    def convolve(self, input, **kwargs):
        if self.convolution is not None:
            border_mode = "half" if self.pad == "same" else self.pad
            return self.convolution(input, self.W, self.input_shape, self.get_W_shape(),
                                    subsample=self.stride, border_mode=border_mode,
                                    filter_flip=self.flip_filters)
        if self.pad == "same":
            border = (0, self.filter_size[0] // 2)
        elif self.pad == "full":
            border = (0, self.filter_size[0] - 1)
        else:
            border = (0, self.pad[0])
        conved = T.nnet.conv2d(input.dimshuffle(0, 1, "x", 2), self.W.dimshuffle(0, 1, "x", 2),
                               subsample=(1, self.stride[0]), border_mode=border,
                               filter_flip=self.flip_filters)
        return conved[:, :, 0, :]


def conv_input_length(output_length, filter_size, stride, pad=0):
    """The smallest input length a convolution maps to ``output_length`` (Lasagne's rule).

    The inverse of :func:`conv_output_length`, used for the output size of a
    transposed convolution; ``pad`` is 'valid', 'full', 'same' or an int.
    """
    if output_length is None:
        return None
    if pad == "valid":
        pad = 0
    elif pad == "full":
        pad = filter_size - 1
    elif pad == "same":
        pad = filter_size // 2
    if not isinstance(pad, int):
        raise ValueError(f"invalid pad: {pad!r}")
    return (output_length - 1) * stride - 2 * pad + filter_size


class _TransposedConvNDLayer(BaseConvLayer):
    """What :class:`TransposedConv2DLayer` and :class:`TransposedConv3DLayer` share:
    ``W`` of shape (input channels, num_filters, ...), the output shape from
    ``crop`` (the padding of the convolution this transposes) or ``output_size``,
    and the core's transposed convolution of ``n`` dimensions (``_transpose``)."""

    _transpose = None

    def __init__(self, incoming, num_filters, filter_size, stride, crop, untie_biases, W, b,
                 nonlinearity, flip_filters, output_size, n, **kwargs):
        # read by get_output_shape_for, which the base constructor calls
        if output_size is not None and not isinstance(output_size, Variable):
            output_size = as_tuple(output_size, n, int)
        self.output_size = output_size
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b,
                         nonlinearity, flip_filters, n=n, **kwargs)
        self.crop = self.pad     # the padding of the convolution this transposes
        del self.pad

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        if self.output_size is not None:
            size = (None,) * self.n if isinstance(self.output_size, Variable) else self.output_size
            return (input_shape[0], self.num_filters) + tuple(size)
        # the constructor computes shapes before self.pad is renamed to self.crop
        crop = getattr(self, "crop", getattr(self, "pad", None))
        crop = crop if isinstance(crop, tuple) else (crop,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_input_length(i, f, s, c)
            for i, f, s, c in zip(input_shape[2:], self.filter_size, self.stride, crop))

    def convolve(self, input, **kwargs):
        if isinstance(self.output_size, Variable):
            size = [self.output_size[k] for k in range(self.n)]
        else:
            size = list(self.output_shape[2:])
            if any(s is None for s in size):
                shape = tuple(input.shape[i] if s is None else s
                              for i, s in enumerate(self.input_shape))
                size = list(self.get_output_shape_for(shape)[2:])
        border_mode = "half" if self.crop == "same" else self.crop
        # the transpose of a convolution mapping num_filters channels to the input's,
        # with W (input channels, num_filters, ...), flipping when this layer does not
        return type(self)._transpose(input, self.W, [None, self.num_filters] + size,
                                     filter_shape=self.get_W_shape(), border_mode=border_mode,
                                     subsample=self.stride, filter_flip=not self.flip_filters)


class TransposedConv2DLayer(_TransposedConvNDLayer):
    """A 2-D transposed convolution (also called deconvolution or fractionally
    strided convolution): the gradient of a :class:`Conv2DLayer`'s convolution
    with respect to its input, which maps each input position to a
    ``filter_size`` patch of the output.

    Parameters follow :class:`Conv2DLayer`, except:

    crop : int, pair of ints, 'valid', 'full' or 'same'
        What the convolution being transposed would pad: the output is cropped
        by that much on each side ('full' crops ``filter_size - 1``, 'same'
        ``filter_size // 2``). Default 0.
    W : the weights, of shape ``(num_input_channels, num_filters, rows, columns)``
        (the first two sizes swapped compared to :class:`Conv2DLayer`).
    flip_filters : bool
        Default False (the opposite of :class:`Conv2DLayer`'s default): the
        output is a correlation with the filters, so that with stride 1 and
        no cropping it is the 'full' correlation of the input and the
        filters (each input value adds a *flipped* copy of its filter); True
        flips the filters, making it a convolution (each input value adds
        the filter as it is). This is Lasagne's convention: the layer is
        the transpose of a :class:`Conv2DLayer` with
        ``flip_filters=not flip_filters``.
    output_size : None, an int, a pair of ints or a symbolic pair
        The output's rows and columns. A stride above 1 leaves the output size
        ambiguous (``stride - 1`` larger sizes give the same input size);
        None takes the smallest.

    >>> from layerkit.layers import InputLayer, TransposedConv2DLayer
    >>> l_in = InputLayer((None, 8, 5, 6))
    >>> TransposedConv2DLayer(l_in, 3, 4, stride=2, crop=1).output_shape
    (None, 3, 10, 12)
    >>> TransposedConv2DLayer(l_in, 3, 4, stride=2, crop=1, output_size=(11, 13)).output_shape
    (None, 3, 11, 13)
    """

    _transpose = staticmethod(conv2d_grad_wrt_inputs)

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), crop=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=False, output_size=None,
                 **kwargs):
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b,
                         nonlinearity, flip_filters, output_size, n=2, **kwargs)


Deconv2DLayer = TransposedConv2DLayer


class DilatedConv2DLayer(BaseConvLayer):
    """A 2-D dilated (atrous) convolution: the filter taps lie ``dilation``
    pixels apart, so a ``k``-tap filter spans ``(k - 1) * dilation + 1`` pixels.

    Parameters follow :class:`Conv2DLayer`, except that there is no stride and:

    dilation : int or pair of ints
        The spacing of the filter taps (1: a plain convolution). Default 1.
    pad : 0, (0, 0) or 'valid' only; add a :class:`PadLayer` before the
        layer for a padded dilated convolution.
    W : the weights, of shape ``(num_input_channels, num_filters, rows, columns)``
        (the first two sizes swapped compared to :class:`Conv2DLayer`).
    flip_filters : False only (a correlation).

    >>> from layerkit.layers import InputLayer, DilatedConv2DLayer
    >>> DilatedConv2DLayer(InputLayer((None, 3, 20, 20)), 8, 3, dilation=2).output_shape
    (None, 8, 16, 16)
    """

    def __init__(self, incoming, num_filters, filter_size, dilation=(1, 1), pad=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=False, **kwargs):
        self.dilation = as_tuple(dilation, 2, int)
        super().__init__(incoming, num_filters, filter_size, 1, pad, untie_biases, W, b,
                         nonlinearity, flip_filters, n=2, **kwargs)
        del self.stride
        if self.pad != (0, 0):
            raise NotImplementedError(f"DilatedConv2DLayer requires pad=0 / (0, 0) / 'valid', "
                                      f"but got pad={pad!r}; for a padded dilated convolution, "
                                      "add a PadLayer before it")
        if self.flip_filters:
            raise NotImplementedError("DilatedConv2DLayer requires flip_filters=False")

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, (f - 1) * d + 1, 1, 0)
            for i, f, d in zip(input_shape[2:], self.filter_size, self.dilation))

    def convolve(self, input, **kwargs):
        # W is stored (in, out, rows, cols); the convolution wants (out, in, rows, cols)
        return T.nnet.conv2d(input, self.W.dimshuffle(1, 0, 2, 3), border_mode="valid",
                             filter_flip=False, filter_dilation=self.dilation)


# -- 3-D convolutions: graphs of the core's conv3d builders ------------------------------

class Conv3DLayer(BaseConvLayer):
    """3-D convolution over (batch, channels, depth, rows, columns) input.

    Lasagne's ``Conv3DLayer(incoming, num_filters, filter_size, stride=(1, 1, 1),
    pad=0, untie_biases=False, W=GlorotUniform(), b=Constant(0.),
    nonlinearity=rectify, flip_filters=True, num_groups=1, convolution=None,
    **kwargs)``: ``pad`` is an int, a triple, 'valid', 'full' or 'same' (odd
    filter sizes only); ``W`` is (num_filters, input channels // num_groups,
    depth, rows, columns); ``b`` is (num_filters,), or (num_filters, depth,
    rows, columns) with ``untie_biases``. ``flip_filters=True`` (the default,
    as Theano's ``conv3d``) flips the filters in all three axes; the
    :mod:`layerkit.layers.dnn` ``Conv3DDNNLayer`` defaults to False.

    The convolution is the core's ``T.nnet.conv3d``, which has no dedicated 3-D
    kernel yet: it is a composition, one 2-D convolution of the depth taps
    stacked as channels with depth folded into the batch (it copies the input
    ``filter depth`` times), so it is slower than a 2-D convolution of the
    same size.
    ``convolution`` (Lasagne's hook, ``T.nnet.conv3d`` there) is None for
    ``T.nnet.conv3d``, or a function called as Lasagne calls it:
    ``convolution(input, W, input_shape, W_shape, subsample=stride,
    border_mode=pad ('half' for 'same'), filter_flip=flip_filters)`` (and
    ``num_groups=`` when it is above 1).

    >>> from layerkit.layers import InputLayer, Conv3DLayer
    >>> layer = Conv3DLayer(InputLayer((None, 3, 8, 16, 16)), 8, 3, pad='same', stride=(1, 2, 2))
    >>> layer.output_shape, layer.W.get_value().shape
    ((None, 8, 8, 8, 8), (8, 3, 3, 3, 3))
    """

    groups_supported = True

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1, 1), pad=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=True, num_groups=1,
                 convolution=None, **kwargs):
        self.convolution = convolution
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                         nonlinearity, flip_filters, num_groups, n=3, **kwargs)

    def convolve(self, input, **kwargs):
        border_mode = "half" if self.pad == "same" else self.pad
        extra = {"num_groups": self.num_groups} if self.num_groups > 1 else {}
        return (self.convolution or conv3d)(input, self.W, self.input_shape, self.get_W_shape(),
                                            subsample=self.stride, border_mode=border_mode,
                                            filter_flip=self.flip_filters, **extra)


class TransposedConv3DLayer(_TransposedConvNDLayer):
    """A 3-D transposed convolution (deconvolution): the gradient of a
    :class:`Conv3DLayer`'s convolution with respect to its input, as
    :class:`TransposedConv2DLayer` is for 2-D.

    Lasagne's ``TransposedConv3DLayer(incoming, num_filters, filter_size,
    stride=(1, 1, 1), crop=0, untie_biases=False, W=GlorotUniform(),
    b=Constant(0.), nonlinearity=rectify, flip_filters=False, output_size=None,
    **kwargs)`` (also ``Deconv3DLayer``). ``W`` is (input channels,
    num_filters, depth, rows, columns); ``crop`` is what the convolution being
    transposed would pad (an int, a triple, 'valid', 'full' or 'same');
    ``flip_filters=False`` (the default) makes the layer the transpose of a
    :class:`Conv3DLayer` with ``flip_filters=True``; ``output_size`` (None, an
    int, a triple or a symbolic triple) picks among the output sizes a stride
    above 1 leaves possible (None: the smallest).

    The layer is the core's ``conv3d_grad_wrt_inputs``, which has no dedicated
    3-D kernel yet: a composition, one transposed 2-D convolution giving every
    depth tap, with depth folded into the batch, and the taps added into
    place, so it is slower than its 2-D counterpart.

    >>> from layerkit.layers import InputLayer, TransposedConv3DLayer
    >>> l_in = InputLayer((None, 8, 3, 5, 6))
    >>> TransposedConv3DLayer(l_in, 3, 4, stride=2, crop=1).output_shape
    (None, 3, 6, 10, 12)
    """

    _transpose = staticmethod(conv3d_grad_wrt_inputs)

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1, 1), crop=0,
                 untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, flip_filters=False, output_size=None,
                 **kwargs):
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b,
                         nonlinearity, flip_filters, output_size, n=3, **kwargs)


Deconv3DLayer = TransposedConv3DLayer
