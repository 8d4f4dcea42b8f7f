"""Small layers: nonlinearity, bias, scale, expressions; the inverse of a layer and
the spatial transformers (affine and thin-plate-spline)."""
from __future__ import annotations

import numpy as np

from .. import init, nonlinearities
from ..core import config
from ..core import tensor as T
from ..core.random import RandomStreams
from ..random import get_rng
from ..utils import as_tuple
from .base import Layer, MergeLayer

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "standardize", "ExpressionLayer",
           "ParametricRectifierLayer", "prelu", "RandomizedRectifierLayer", "rrelu",
           "InverseLayer", "TransformerLayer", "TPSTransformerLayer"]


class NonlinearityLayer(Layer):
    """Apply ``nonlinearity`` elementwise (default ``rectify``; ``None`` means linear).

    >>> from layerkit.layers import InputLayer, NonlinearityLayer
    >>> from layerkit.nonlinearities import softmax
    >>> NonlinearityLayer(InputLayer((None, 10)), softmax).output_shape
    (None, 10)
    """

    def __init__(self, incoming, nonlinearity=nonlinearities.rectify, **kwargs):
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity

    def get_output_for(self, input, **kwargs):
        return self.nonlinearity(input)


def _broadcast_pattern(ndim, shared_axes):
    return ["x" if a in shared_axes else None for a in range(ndim)]


class BiasLayer(Layer):
    """Add a learned bias, shared over ``shared_axes`` ('auto': all but axis 1)."""

    def __init__(self, incoming, b=init.Constant(0), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = tuple(shared_axes)
        if b is None:
            self.b = None
        else:
            shape = [size for axis, size in enumerate(self.input_shape)
                     if axis not in self.shared_axes]
            if any(s is None for s in shape):
                raise ValueError(f"BiasLayer needs specified input sizes for all axes that biases "
                                 f"are not shared over; got {self.input_shape}")
            self.b = self.add_param(b, shape, "b", regularizable=False)

    def get_output_for(self, input, **kwargs):
        if self.b is None:
            return input
        pattern, k = [], 0
        for axis in range(input.ndim):
            if axis in self.shared_axes:
                pattern.append("x")
            else:
                pattern.append(k)
                k += 1
        return input + self.b.dimshuffle(*pattern)


class ScaleLayer(Layer):
    """Multiply by a learned scale, shared over ``shared_axes``."""

    def __init__(self, incoming, scales=init.Constant(1), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = tuple(shared_axes)
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.shared_axes]
        if any(s is None for s in shape):
            raise ValueError(f"ScaleLayer needs specified input sizes for all axes that scales "
                             f"are not shared over; got {self.input_shape}")
        self.scales = self.add_param(scales, shape, "scales", regularizable=False)

    def get_output_for(self, input, **kwargs):
        pattern, k = [], 0
        for axis in range(input.ndim):
            if axis in self.shared_axes:
                pattern.append("x")
            else:
                pattern.append(k)
                k += 1
        return input * self.scales.dimshuffle(*pattern)


class ExpressionLayer(Layer):
    """Apply ``function(input)`` (an expression builder, e.g. a lambda).

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
    function : callable
        Maps the input expression to the output expression.
    output_shape : None, tuple, callable or 'auto'
        None (the default): the input's shape. A tuple: that shape, whatever
        the input. A callable: maps the input shape to the output shape.
        'auto': inferred by applying ``function`` to a symbolic variable of
        the input's shape and reading the static shape layerkit infers when a
        graph is built; sizes it cannot know at build time are None.

    >>> from layerkit.layers import InputLayer, ExpressionLayer
    >>> l_in = InputLayer((32, 100, 20))
    >>> ExpressionLayer(l_in, lambda X: X.mean(-1), output_shape='auto').output_shape
    (32, 100)
    """

    def __init__(self, incoming, function, output_shape=None, **kwargs):
        super().__init__(incoming, **kwargs)
        self.function = function
        if output_shape is None:
            self._output_shape = None
        elif output_shape == "auto":
            self._output_shape = "auto"
        elif callable(output_shape):
            self.get_output_shape_for = output_shape
        else:
            self._output_shape = tuple(output_shape)

    def get_output_shape_for(self, input_shape):
        if getattr(self, "_output_shape", None) is None:
            return input_shape
        if isinstance(self._output_shape, str):    # 'auto'
            # Lasagne evaluated the function on zeros; layerkit infers shapes
            # statically, so the symbolic output's type already holds the answer
            probe = T.tensor(config.floatX, shape=tuple(input_shape), name="probe")
            return tuple(self.function(probe).type.shape)
        return self._output_shape

    def get_output_for(self, input, **kwargs):
        return self.function(input)


def standardize(layer, offset, scale, shared_axes="auto"):
    """Subtract a fixed ``offset`` and divide by a fixed ``scale`` (arrays or
    shared variables, shaped as a :class:`BiasLayer`'s bias over
    ``shared_axes``): a :class:`BiasLayer` and a :class:`ScaleLayer` whose
    parameters are not trainable. Returns the :class:`ScaleLayer`.

    >>> import numpy as np
    >>> from layerkit.layers import InputLayer, get_all_params
    >>> data = np.random.RandomState(0).randn(100, 3)
    >>> top = standardize(InputLayer((None, 3)), data.mean(0), data.std(0), shared_axes=0)
    >>> get_all_params(top, trainable=True)
    []
    """
    layer = BiasLayer(layer, -offset, shared_axes)
    layer.params[layer.b].discard("trainable")
    layer = ScaleLayer(layer, 1 / scale, shared_axes)
    layer.params[layer.scales].discard("trainable")
    return layer


def _shared_axes(shared_axes, ndim):
    if shared_axes == "auto":
        return (0,) + tuple(range(2, ndim))
    if shared_axes == "all":
        return tuple(range(ndim))
    if isinstance(shared_axes, int):
        return (shared_axes % ndim,)
    return tuple(a % ndim for a in shared_axes)


class ParametricRectifierLayer(Layer):
    """A rectifier with a learned leakiness (PReLU, He et al. 2015):
    ``x`` for ``x > 0``, else ``alpha * x``.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
    alpha : initializer, array, shared variable or expression
        The leakiness, one per position not in ``shared_axes``. Default
        ``Constant(0.25)``; not regularizable.
    shared_axes : 'auto', 'all', int or tuple of int
        Axes sharing one ``alpha``: 'auto' (the default) all but the second
        (one per channel), 'all' a single scalar.

    >>> from layerkit.layers import InputLayer, ParametricRectifierLayer
    >>> ParametricRectifierLayer(InputLayer((None, 8, 5, 5))).alpha.get_value().shape
    (8,)
    """

    def __init__(self, incoming, alpha=init.Constant(0.25), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        self.shared_axes = _shared_axes(shared_axes, len(self.input_shape))
        shape = [size for axis, size in enumerate(self.input_shape)
                 if axis not in self.shared_axes]
        if any(size is None for size in shape):
            raise ValueError(f"{self!r} needs known input sizes for all axes that alpha is not "
                             f"shared over; got input shape {self.input_shape} and shared axes "
                             f"{self.shared_axes}")
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)

    def get_output_for(self, input, **kwargs):
        axes = iter(range(self.alpha.ndim))
        pattern = ["x" if axis in self.shared_axes else next(axes) for axis in range(input.ndim)]
        alpha = self.alpha.dimshuffle(*pattern)
        return T.nnet.relu(input) + alpha * T.minimum(input, 0)


def _take_nonlinearity(layer):
    """Set ``layer``'s nonlinearity (if it has one) to the identity and return the
    old one, for helpers that put their own layer on top (prelu, rrelu, batch_norm)."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    return nonlinearity


def prelu(layer, **kwargs):
    """Replace ``layer``'s nonlinearity by a :class:`ParametricRectifierLayer`
    on top of it (keyword arguments go to that layer), and return that layer."""
    _take_nonlinearity(layer)
    return ParametricRectifierLayer(layer, **kwargs)


class RandomizedRectifierLayer(Layer):
    """A rectifier with a random leakiness (RReLU, Xu et al. 2015): during
    training each negative value is multiplied by a draw from
    ``Uniform(lower, upper)`` (shared over ``shared_axes``); under
    ``deterministic=True`` by the mean ``(lower + upper) / 2``.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
    lower, upper : floats
        The range of the leakiness. Defaults 0.3 and 0.8.
    shared_axes : 'auto', 'all', int or tuple of int
        Axes sharing one draw: 'auto' (the default) all but the second.

    >>> from layerkit.layers import InputLayer, RandomizedRectifierLayer
    >>> RandomizedRectifierLayer(InputLayer((None, 8))).output_shape
    (None, 8)
    """

    def __init__(self, incoming, lower=0.3, upper=0.8, shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        self._srng = RandomStreams(get_rng().randint(1, 2147462579))
        if isinstance(lower, (int, float)) and isinstance(upper, (int, float)) and lower > upper:
            raise ValueError(f"{self!r}: the upper bound must not be below the lower bound, got "
                             f"lower={lower}, upper={upper}")
        self.lower, self.upper = lower, upper
        self.shared_axes = _shared_axes(shared_axes, len(self.input_shape))

    def get_output_for(self, input, deterministic=False, **kwargs):
        fixed = isinstance(self.lower, (int, float)) and isinstance(self.upper, (int, float)) \
            and self.upper == self.lower
        if deterministic or fixed:
            return T.nnet.relu(input, (self.upper + self.lower) / 2.0)
        shape = [1 if axis in self.shared_axes else input.shape[axis]
                 for axis in range(input.ndim)]
        leak = self._srng.uniform(shape, low=self.lower, high=self.upper, dtype=input.dtype)
        leak = T.patternbroadcast(leak, [axis in self.shared_axes for axis in range(input.ndim)])
        return T.nnet.relu(input, leak)


def rrelu(layer, **kwargs):
    """Replace ``layer``'s nonlinearity by a :class:`RandomizedRectifierLayer`
    on top of it (keyword arguments go to that layer), and return that layer."""
    _take_nonlinearity(layer)
    return RandomizedRectifierLayer(layer, **kwargs)


class InverseLayer(MergeLayer):
    """The "inverse" of ``layer``: its output for ``incoming`` is the gradient of
    ``layer``'s output with respect to ``layer``'s input, with ``incoming``'s
    output as the gradient arriving at ``layer``'s output (a vector-Jacobian
    product). For a :class:`DenseLayer` without nonlinearity that is a product
    with the transposed weights, for a :class:`Conv2DLayer` a transposed
    convolution, for a max-pooling layer the "unpooling" that puts each value
    where the maximum was. The output has ``layer``'s input shape.

    >>> from layerkit.layers import InputLayer, DenseLayer, InverseLayer
    >>> l_in = InputLayer((None, 10))
    >>> l_hid = DenseLayer(l_in, 4)
    >>> InverseLayer(DenseLayer(l_hid, 4), l_hid).output_shape
    (None, 10)
    """

    def __init__(self, incoming, layer, **kwargs):
        if getattr(layer, "input_layer", None) is None:
            raise ValueError(f"InverseLayer: {layer!r} must be a one-input layer built on "
                             "another layer (not on a shape tuple)")
        super().__init__([incoming, layer, layer.input_layer], **kwargs)

    def get_output_shape_for(self, input_shapes):
        return input_shapes[2]

    def get_output_for(self, inputs, **kwargs):
        input, layer_out, layer_in = inputs
        return T.grad(None, wrt=layer_in, known_grads={layer_out: input})


def _border_index(i, size, border_mode):
    """Integer positions ``i`` (floats) mapped into ``[0, size - 1]``."""
    if border_mode == "nearest":
        return T.clip(i, 0, size - 1)
    if border_mode == "wrap":
        return T.mod(i, size)
    period = 2 * (size - 1)                         # 'mirror': reflect at the edges
    return T.minimum(T.mod(i, period), T.mod(-i, period))


class TransformerLayer(MergeLayer):
    """The spatial transformer network layer (Jaderberg et al., 2015), affine: the
    ``localization_network``'s output, (batch, 6), gives for each example the
    matrix ``[[t0, t1, t2], [t3, t4, t5]]`` that maps each output pixel's
    coordinates (``x`` and ``y`` from -1 to 1 over the output) to the input
    position it samples, bilinearly.

    Parameters
    ----------
    incoming : the (batch, channels, rows, columns) input layer
    localization_network : a layer with output shape (batch, 6)
    downsample_factor : float or pair of floats
        The output is ``rows // factor`` by ``columns // factor``. Default 1.
    border_mode : 'nearest' (default), 'mirror' or 'wrap'
        How positions outside the input are read: the nearest edge pixel, the
        input reflected at its edges, or the input repeated.

    >>> from layerkit.layers import InputLayer, DenseLayer, TransformerLayer
    >>> l_in = InputLayer((None, 3, 28, 28))
    >>> l_loc = DenseLayer(l_in, 6, nonlinearity=None)
    >>> TransformerLayer(l_in, l_loc, downsample_factor=2).output_shape
    (None, 3, 14, 14)
    """

    def __init__(self, incoming, localization_network, downsample_factor=1,
                 border_mode="nearest", **kwargs):
        super().__init__([incoming, localization_network], **kwargs)
        self.downsample_factor = as_tuple(downsample_factor, 2)
        if border_mode not in ("nearest", "mirror", "wrap"):
            raise ValueError(f"TransformerLayer: border_mode must be 'nearest', 'mirror' or "
                             f"'wrap', got {border_mode!r}")
        self.border_mode = border_mode
        input_shp, loc_shp = self.input_shapes
        if len(input_shp) != 4:
            raise ValueError(f"TransformerLayer: the input must be 4-d (batch, channels, rows, "
                             f"columns), got shape {input_shp}")
        if len(loc_shp) != 2 or loc_shp[1] != 6:
            raise ValueError(f"TransformerLayer: the localization network must have output "
                             f"shape (batch_size, 6), got {loc_shp}")

    def get_output_shape_for(self, input_shapes):
        return _downsampled_shape(input_shapes[0], self.downsample_factor)

    def get_output_for(self, inputs, **kwargs):
        input, theta = inputs
        n, c, h, w, oh, ow = _sizes(input, self.input_shapes[0], self.downsample_factor)
        x_t, y_t = _output_grid(oh, ow, input.dtype)
        x_t, y_t = x_t.dimshuffle("x", 0), y_t.dimshuffle("x", 0)
        t = [theta[:, k].dimshuffle(0, "x") for k in range(6)]
        x = t[0] * x_t + t[1] * y_t + t[2]
        y = t[3] * x_t + t[4] * y_t + t[5]
        return _sample_bilinear(input, x, y, (n, c, h, w, oh, ow), self.border_mode)


def _downsampled_shape(shape, factors) -> tuple:
    """An image shape (batch, channels, rows, columns) with its known rows and
    columns divided by ``factors`` (the transformer layers' output shape)."""
    shape = list(shape)
    for k, factor in enumerate(factors):
        if shape[2 + k] is not None:
            shape[2 + k] = int(shape[2 + k] // factor)
    return tuple(shape)


def _sizes(input, static, downsample_factor):
    """(n, c, h, w, out rows, out columns): static ints where known, else symbolic."""
    n, c, h, w = (input.shape[i] if static[i] is None else static[i] for i in range(4))
    oh, ow = (int(static[2 + k] // downsample_factor[k]) if static[2 + k] is not None
              else T.cast(T.floor((h, w)[k] / downsample_factor[k]), "int64")
              for k in range(2))
    return n, c, h, w, oh, ow


def _output_grid(oh, ow, dtype):
    """Every output pixel's (x, y), row-major, each from -1 to 1: two (oh * ow,) vectors."""
    def linspace(num):                              # num points from -1 to 1
        step = T.cast(T.maximum(num - 1, 1), dtype)
        return -1 + 2 * T.cast(T.arange(num), dtype) / step
    x_t = T.flatten(T.ones((oh, 1), dtype=dtype) * linspace(ow).dimshuffle("x", 0))
    y_t = T.flatten(linspace(oh).dimshuffle(0, "x") * T.ones((1, ow), dtype=dtype))
    return x_t, y_t


def _sample_bilinear(input, x, y, sizes, border_mode):
    """Sample ``input`` (n, c, h, w) bilinearly at (x, y), each (n, oh * ow) in the -1..1
    coordinates of the input's columns and rows; returns (n, c, oh, ow)."""
    n, c, h, w, oh, ow = sizes
    def span(size):                                 # size - 1, in the positions' dtype
        return size - 1 if isinstance(size, int) else T.cast(size - 1, x.dtype)
    x = (x + 1) / 2 * span(w)                       # in input pixels
    y = (y + 1) / 2 * span(h)
    x0, y0 = T.floor(x), T.floor(y)
    x1, y1 = x0 + 1, y0 + 1
    cols = [T.cast(_border_index(v, w, border_mode), "int64") for v in (x0, x1)]
    rows = [T.cast(_border_index(v, h, border_mode), "int64") for v in (y0, y1)]
    flat = T.reshape(input.dimshuffle(0, 2, 3, 1), (-1, c))           # (n * h * w, c)
    base = (T.arange(n) * (h * w)).dimshuffle(0, "x")
    out = 0
    for row, wy in ((rows[0], y1 - y), (rows[1], y - y0)):
        for col, wx in ((cols[0], x1 - x), (cols[1], x - x0)):
            pixels = flat[T.flatten(base + row * w + col)]            # (n * oh * ow, c)
            out = out + pixels * T.flatten(wy * wx).dimshuffle(0, "x")
    return T.reshape(out, (n, oh, ow, c)).dimshuffle(0, 3, 1, 2)


class TPSTransformerLayer(MergeLayer):
    """The spatial transformer network layer (Jaderberg et al., 2015) with a thin
    plate spline (Bookstein, 1989): ``control_points`` source points sit on an
    evenly spaced square grid over the image (``x`` and ``y`` from -1 to 1,
    ``x`` varying fastest); the ``localization_network``'s output, (batch,
    2 * control_points), gives for each example their offsets, first every
    point's ``x`` offset then every point's ``y`` offset. The spline that maps
    each source point onto its moved position maps each output pixel's
    coordinates to the input position it samples, bilinearly. Zero offsets are
    the identity. The layer has no parameters.

    Parameters
    ----------
    incoming : the (batch, channels, rows, columns) input layer
    localization_network : a layer with output shape (batch, 2 * control_points)
    downsample_factor : float or pair of floats
        The output is ``rows // factor`` by ``columns // factor``. Default 1.
    control_points : int
        A perfect square, at least 4. Default 16.
    precompute_grid : 'auto' (default), True or False
        True: the spline's kernel values at every output pixel are computed
        once, in numpy, when the layer is built (needs the input's rows and
        columns); False: they are part of the graph. 'auto': True when the
        rows and columns are known. Both give the same values.
    border_mode : 'nearest' (default), 'mirror' or 'wrap'
        As for :class:`TransformerLayer`.

    >>> from layerkit.layers import InputLayer, DenseLayer, TPSTransformerLayer
    >>> l_in = InputLayer((None, 3, 28, 28))
    >>> l_loc = DenseLayer(l_in, 2 * 16, W=np.zeros((3 * 28 * 28, 32)), nonlinearity=None)
    >>> TPSTransformerLayer(l_in, l_loc, control_points=16).output_shape
    (None, 3, 28, 28)
    """

    def __init__(self, incoming, localization_network, downsample_factor=1, control_points=16,
                 precompute_grid="auto", border_mode="nearest", **kwargs):
        super().__init__([incoming, localization_network], **kwargs)
        self.downsample_factor = as_tuple(downsample_factor, 2)
        if border_mode not in ("nearest", "mirror", "wrap"):
            raise ValueError(f"TPSTransformerLayer: border_mode must be 'nearest', 'mirror' or "
                             f"'wrap', got {border_mode!r}")
        self.border_mode = border_mode
        side = int(round(np.sqrt(control_points))) if isinstance(
            control_points, (int, np.integer)) and control_points > 0 else 0
        if side * side != control_points or side < 2:
            raise ValueError(f"TPSTransformerLayer: the number of control points must be a "
                             f"perfect square of at least 4, got {control_points!r}")
        self.control_points = int(control_points)
        input_shp, loc_shp = self.input_shapes
        if len(input_shp) != 4:
            raise ValueError(f"TPSTransformerLayer: the input must be 4-d (batch, channels, "
                             f"rows, columns), got shape {input_shp}")
        if len(loc_shp) != 2 or loc_shp[1] != 2 * self.control_points:
            raise ValueError(f"TPSTransformerLayer: the localization network must have output "
                             f"shape (batch_size, 2*control_points) = (batch_size, "
                             f"{2 * self.control_points}), got {loc_shp}")
        known = all(s is not None for s in input_shp[2:])
        if precompute_grid == "auto":
            precompute_grid = known
        elif precompute_grid and not known:
            raise ValueError(f"TPSTransformerLayer: the grid can only be precomputed when the "
                             f"input's rows and columns are known, got shape {input_shp}")
        self.precompute_grid = bool(precompute_grid)
        # the source points, (2, k): x varies fastest
        grid = np.linspace(-1.0, 1.0, side)
        self.source_points = np.stack([np.tile(grid, side), np.repeat(grid, side)])
        # Bookstein's system L [a1, ax, ay, w_1..w_k] = [0, 0, 0, targets]:
        # L = [[0, P^T], [P, K]], P = [1, x, y] per point, K = U(|p_i - p_j|)
        k = self.control_points
        L = np.zeros((k + 3, k + 3))
        P = np.concatenate([np.ones((1, k)), self.source_points])             # (3, k)
        L[:3, 3:], L[3:, :3] = P, P.T
        L[3:, 3:] = _tps_kernel(self.source_points, self.source_points)
        self.L_inv = np.linalg.inv(L)
        # the coefficients of one coordinate are targets @ coef_map, (k, k + 3)
        self._coef_map = self.L_inv[:, 3:].T
        if self.precompute_grid:
            self.out_height, self.out_width = self.get_output_shape_for(self.input_shapes)[2:]
            ys, xs = (np.linspace(-1.0, 1.0, m) if m > 1 else -np.ones(m)
                      for m in (self.out_height, self.out_width))
            points = np.stack([np.tile(xs, len(ys)), np.repeat(ys, len(xs))])  # (2, oh * ow)
            # rows [1, x, y, U(point - source_j)...]: (k + 3, oh * ow)
            self.right_mat = np.concatenate([np.ones((1, points.shape[1])), points,
                                             _tps_kernel(self.source_points, points)])
        else:
            self.out_height = self.out_width = self.right_mat = None

    def get_output_shape_for(self, input_shapes):
        return _downsampled_shape(input_shapes[0], self.downsample_factor)

    def get_output_for(self, inputs, **kwargs):
        input, offsets = inputs
        sizes = _sizes(input, self.input_shapes[0], self.downsample_factor)
        dtype = np.result_type(input.dtype, offsets.dtype).name
        k = self.control_points

        def const(array):
            return T.constant(np.asarray(array, dtype=dtype))
        # each example's moved control points, (n, k) per coordinate
        targets = [const(self.source_points[d]).dimshuffle("x", 0) + offsets[:, d * k:(d + 1) * k]
                   for d in range(2)]
        if self.precompute_grid:
            # the whole map from targets to sampled positions is one constant (k, oh * ow)
            x, y = (T.dot(t, const(self._coef_map @ self.right_mat)) for t in targets)
        else:
            x_t, y_t = _output_grid(sizes[4], sizes[5], dtype)             # (oh * ow,) each
            sx, sy = (const(self.source_points[d]).dimshuffle(0, "x") for d in range(2))
            r2 = (x_t.dimshuffle("x", 0) - sx) ** 2 + (y_t.dimshuffle("x", 0) - sy) ** 2
            kernel = r2 * T.log(T.switch(T.gt(r2, 0), r2, 1))               # U, 0 at r = 0
            right_mat = T.concatenate([T.ones_like(x_t).dimshuffle("x", 0),
                                       x_t.dimshuffle("x", 0), y_t.dimshuffle("x", 0), kernel],
                                      axis=0)                              # (k + 3, oh * ow)
            x, y = (T.dot(T.dot(t, const(self._coef_map)), right_mat) for t in targets)
        return _sample_bilinear(input, x, y, sizes, self.border_mode)


def _tps_kernel(a, b):
    """Bookstein's U(r) = r^2 log r^2 (0 at r = 0) between the points ``a`` (2, p) and
    ``b`` (2, q): (p, q)."""
    r2 = ((a[:, :, None] - b[:, None, :]) ** 2).sum(axis=0)
    return r2 * np.log(np.where(r2 > 0, r2, 1.0))
