"""Normalization layers (Lasagne's ``lasagne.layers.normalization``): local
response normalization across channels, batch normalization, and standardization
(instance and layer normalization).
"""
from __future__ import annotations

from .. import init, nonlinearities
from ..core import tensor as T
from ..core.shared import SharedVariable
from .base import Layer

__all__ = ["LocalResponseNormalization2DLayer", "BatchNormLayer", "batch_norm",
           "StandardizationLayer", "instance_norm", "layer_norm"]


class LocalResponseNormalization2DLayer(Layer):
    """Cross-channel local response normalization of (batch, channels, rows,
    columns) input, as in AlexNet.

    Each value is divided by ``(k + alpha * s) ** beta``, where ``s`` is the sum
    of the squares of the values at the same position in the ``n`` channels
    centred on its own (channels beyond the edges count as zeros). ``alpha``
    is not divided by ``n``.

    Parameters
    ----------
    alpha, k, beta : floats
        Defaults 1e-4, 2 and 0.75.
    n : int
        The (odd) number of channels summed over. Default 5.

    >>> from layerkit.layers import InputLayer, LocalResponseNormalization2DLayer
    >>> LocalResponseNormalization2DLayer(InputLayer((None, 16, 8, 8))).output_shape
    (None, 16, 8, 8)
    """

    def __init__(self, incoming, alpha=1e-4, k=2, beta=0.75, n=5, **kwargs):
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError(f"{self!r}: expected a 4-d input shape (batch, channels, rows, "
                             f"columns), got {self.input_shape}")
        if n % 2 == 0:
            raise NotImplementedError(f"{self!r}: only odd n is supported, got n={n}")
        self.alpha, self.k, self.beta, self.n = alpha, k, beta, n

    def get_output_for(self, input, **kwargs):
        # the batch and spatial sizes come from the input itself, never from the
        # declared shape, so any batch size works (the channels must be the declared ones)
        shape = [input.shape[i] for i in range(4)]
        half = self.n // 2
        channels = shape[1] if self.input_shape[1] is None else self.input_shape[1]
        squares = T.sqr(input)
        # zero channels on both sides, so every window has n channels
        padded = T.zeros((shape[0], channels + 2 * half, shape[2], shape[3]), dtype=input.dtype)
        padded = T.set_subtensor(padded[:, half:half + channels], squares)
        total = padded[:, 0:channels]
        for i in range(1, self.n):
            total = total + padded[:, i:i + channels]
        return input / (self.k + self.alpha * total) ** self.beta


class BatchNormLayer(Layer):
    """Batch normalization (Ioffe and Szegedy, 2015).

    ``(x - mean) * (gamma * inv_std) + beta``, with ``mean`` and ``inv_std =
    1 / sqrt(var + epsilon)`` taken over ``axes``. In training (the default)
    they are the statistics of the mini-batch, and the compiled training
    function also moves the stored running averages towards them::

        mean    <- (1 - alpha) * mean    + alpha * batch_mean
        inv_std <- (1 - alpha) * inv_std + alpha * batch_inv_std

    (through the stored variables' default updates, so any function compiled
    from the training expression applies them). ``get_output(...,
    deterministic=True)`` uses the stored averages and updates nothing.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
    axes : 'auto', an int or a tuple of ints
        The axes to normalize over; 'auto' (the default) is every axis but
        the second: per channel for images, per unit for dense layers.
    epsilon : float
        Added to the variance for stability. Default 1e-4.
    alpha : float
        The running averages' update rate. Default 0.1.
    beta, gamma : initializer, array, shared variable or None
        The learned shift (default ``Constant(0)``, not regularizable) and
        scale (default ``Constant(1)``); None leaves it out.
    mean, inv_std : initializer, array or shared variable
        The stored averages (defaults ``Constant(0)`` and ``Constant(1)``),
        neither trainable nor regularizable.

    The extra ``get_output`` keywords ``batch_norm_use_averages`` and
    ``batch_norm_update_averages`` (True/False) override what
    ``deterministic`` chooses, as in Lasagne.

    >>> from layerkit.layers import InputLayer, BatchNormLayer
    >>> layer = BatchNormLayer(InputLayer((None, 4, 5, 6)))
    >>> [p.get_value().shape for p in layer.get_params()]
    [(4,), (4,), (4,), (4,)]
    >>> layer.get_params(trainable=True)
    [beta, gamma]
    """

    def __init__(self, incoming, axes="auto", epsilon=1e-4, alpha=0.1, beta=init.Constant(0),
                 gamma=init.Constant(1), mean=init.Constant(0), inv_std=init.Constant(1),
                 **kwargs):
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        if axes == "auto":
            axes = (0,) + tuple(range(2, ndim))
        elif isinstance(axes, int):
            axes = (axes,)
        self.axes = tuple(a % ndim for a in axes)
        self.epsilon, self.alpha = epsilon, alpha
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        if any(size is None for size in shape):
            raise ValueError(f"{self!r} needs known input sizes for all axes not normalized "
                             f"over; got input shape {self.input_shape} and axes {self.axes}")
        self.beta = None if beta is None else self.add_param(
            beta, shape, "beta", trainable=True, regularizable=False)
        self.gamma = None if gamma is None else self.add_param(
            gamma, shape, "gamma", trainable=True, regularizable=True)
        self.mean = self.add_param(mean, shape, "mean", trainable=False, regularizable=False)
        self.inv_std = self.add_param(inv_std, shape, "inv_std", trainable=False,
                                      regularizable=False)

    def get_output_for(self, input, deterministic=False, batch_norm_use_averages=None,
                       batch_norm_update_averages=None, **kwargs):
        batch_mean = T.mean(input, axis=self.axes)
        batch_inv_std = 1 / T.sqrt(T.var(input, axis=self.axes) + self.epsilon)
        use_averages = deterministic if batch_norm_use_averages is None \
            else batch_norm_use_averages
        update_averages = (not deterministic) if batch_norm_update_averages is None \
            else batch_norm_update_averages
        if use_averages:
            mean, inv_std = self.mean, self.inv_std
        else:
            mean, inv_std = batch_mean, batch_inv_std
        if update_averages:
            running = []
            for stored, batch in ((self.mean, batch_mean), (self.inv_std, batch_inv_std)):
                if not isinstance(stored, SharedVariable):
                    raise TypeError(f"{self!r}: updating the running averages needs shared "
                                    f"variables, but {stored!r} is an expression; pass "
                                    "batch_norm_update_averages=False")
                alias = stored.alias()
                alias.default_update = (1 - self.alpha) * stored + self.alpha * batch
                running.append(alias)
            # the aliases enter the graph (so a compiled function finds their
            # default updates) without changing the result
            mean = mean + 0 * running[0]
            inv_std = inv_std + 0 * running[1]
        params = iter(range(input.ndim - len(self.axes)))
        pattern = ["x" if axis in self.axes else next(params) for axis in range(input.ndim)]
        beta = 0 if self.beta is None else self.beta.dimshuffle(pattern)
        gamma = 1 if self.gamma is None else self.gamma.dimshuffle(pattern)
        return (input - mean.dimshuffle(pattern)) * (gamma * inv_std.dimshuffle(pattern)) + beta


def batch_norm(layer, **kwargs):
    """Put batch normalization into ``layer``, in place, and return the new top layer.

    The layer's nonlinearity moves to a :class:`NonlinearityLayer` on top, its
    bias is removed (the :class:`BatchNormLayer`'s ``beta`` takes its role),
    and a :class:`BatchNormLayer` (named ``<layer name>_bn``; keyword
    arguments go to it) normalizes its output in between::

        layer = batch_norm(DenseLayer(l_in, 100))   # dense (no bias) -> BN -> rectify

    >>> from layerkit.layers import InputLayer, DenseLayer, get_all_layers
    >>> top = batch_norm(DenseLayer(InputLayer((None, 10)), 5, name="fc"))
    >>> [type(lyr).__name__ for lyr in get_all_layers(top)]
    ['InputLayer', 'DenseLayer', 'BatchNormLayer', 'NonlinearityLayer']
    >>> [lyr.name for lyr in get_all_layers(top)[2:]]
    ['fc_bn', 'fc_bn_nonlin']
    """
    return insert_batch_norm(layer, BatchNormLayer, **kwargs)


def insert_batch_norm(layer, bn_class, **kwargs):
    """``batch_norm``'s work with the normalization layer ``bn_class`` (also
    ``dnn.batch_norm_dnn``'s): the nonlinearity moves on top, the bias goes."""
    from .special import NonlinearityLayer, _take_nonlinearity
    nonlinearity = _take_nonlinearity(layer)
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    bn_name = kwargs.pop("name", None) or (layer.name and f"{layer.name}_bn")
    layer = bn_class(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=bn_name and f"{bn_name}_nonlin")
    return layer


class StandardizationLayer(Layer):
    """Normalize each example to zero mean and unit variance over ``axes``:
    ``(x - mean) / sqrt(var + epsilon)``, with the statistics of the input itself
    (the same in training and testing; no parameters).

    Parameters
    ----------
    axes : 'auto', 'spatial', 'features', an int or a tuple of ints
        'auto' (the default) and 'spatial': every axis from the third on
        (instance normalization of images); 'features': every axis but the
        first (layer normalization).
    epsilon : float
        Added to the variance. Default 1e-4.

    >>> from layerkit.layers import InputLayer, StandardizationLayer
    >>> StandardizationLayer(InputLayer((None, 3, 8, 8))).axes
    (2, 3)
    """

    def __init__(self, incoming, axes="auto", epsilon=1e-4, **kwargs):
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        if axes in ("auto", "spatial"):
            axes = tuple(range(2, ndim))
        elif axes == "features":
            axes = tuple(range(1, ndim))
        elif isinstance(axes, int):
            axes = (axes,)
        self.axes = tuple(a % ndim for a in axes)
        if not self.axes:
            raise ValueError(f"{self!r}: no axes to normalize over for input shape "
                             f"{self.input_shape} (axes='auto' means the spatial axes, from "
                             "the third on); pass axes='features' or explicit axes")
        self.epsilon = epsilon

    def get_output_for(self, input, **kwargs):
        mean = T.mean(input, axis=self.axes, keepdims=True)
        std = T.sqrt(T.var(input, axis=self.axes, keepdims=True) + self.epsilon)
        return (input - mean) / std


def _standardize(layer, axes, suffix, learn_scale, learn_bias, kwargs):
    """Insert a StandardizationLayer (+ ScaleLayer, BiasLayer) before ``layer``'s
    nonlinearity, removing its bias."""
    from .special import BiasLayer, NonlinearityLayer, ScaleLayer, _take_nonlinearity
    nonlinearity = _take_nonlinearity(layer)
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    name = kwargs.pop("name", None) or (layer.name and f"{layer.name}{suffix}")
    layer = StandardizationLayer(layer, axes=axes, name=name, **kwargs)
    if learn_scale:
        layer = ScaleLayer(layer, shared_axes="auto", name=name and f"{name}_scale")
    if learn_bias:
        layer = BiasLayer(layer, shared_axes="auto", name=name and f"{name}_bias")
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=name and f"{name}_nonlin")
    return layer


def instance_norm(layer, learn_scale=True, learn_bias=True, **kwargs):
    """Put instance normalization into ``layer`` (Ulyanov et al., 2016), in place, and
    return the new top layer: the layer's bias is removed, and a
    :class:`StandardizationLayer` over the spatial axes, a per-channel
    :class:`ScaleLayer` (``learn_scale``) and :class:`BiasLayer` (``learn_bias``)
    and a :class:`NonlinearityLayer` with the layer's nonlinearity go on top.
    Keyword arguments go to the :class:`StandardizationLayer`.

    >>> from layerkit.layers import InputLayer, Conv2DLayer, instance_norm, get_all_layers
    >>> top = instance_norm(Conv2DLayer(InputLayer((None, 3, 8, 8)), 4, 3))
    >>> [type(lyr).__name__ for lyr in get_all_layers(top)][1:]
    ['Conv2DLayer', 'StandardizationLayer', 'ScaleLayer', 'BiasLayer', 'NonlinearityLayer']
    """
    return _standardize(layer, "spatial", "_in", learn_scale, learn_bias, kwargs)


def layer_norm(layer, **kwargs):
    """Put layer normalization into ``layer`` (Ba et al., 2016), in place, and return
    the new top layer: as :func:`instance_norm`, but normalizing each example over
    all its features (every axis but the first). Keyword arguments go to the
    :class:`StandardizationLayer`.

    >>> from layerkit.layers import InputLayer, DenseLayer, layer_norm, get_all_layers
    >>> top = layer_norm(DenseLayer(InputLayer((None, 10)), 5))
    >>> [type(lyr).__name__ for lyr in get_all_layers(top)][1:]
    ['DenseLayer', 'StandardizationLayer', 'ScaleLayer', 'BiasLayer', 'NonlinearityLayer']
    """
    return _standardize(layer, "features", "_ln", True, True, kwargs)
