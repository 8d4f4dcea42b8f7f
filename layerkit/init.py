"""Initializers: small callables that make initial parameter values (Lasagne's
``lasagne.init``).

This is the one place above the core that computes with numpy. Every draw
comes from :func:`layerkit.random.get_rng` and is cast with
:func:`layerkit.utils.floatX`.

>>> import layerkit.random
>>> from layerkit.init import GlorotUniform, Constant
>>> layerkit.random.seed(0)
>>> GlorotUniform()((3, 4)).shape
(3, 4)
>>> Constant(0.5)((2,))
array([0.5, 0.5], dtype=float32)
"""
from __future__ import annotations

import math

import numpy as np

from .random import get_rng
from .utils import floatX

__all__ = ["Initializer", "Constant", "Normal", "Uniform", "Glorot", "GlorotNormal",
           "GlorotUniform", "He", "HeNormal", "HeUniform", "Orthogonal", "Sparse"]


def _gain(gain):
    # 'relu' asks for the rectifier's gain: half the units are zero, so the
    # variance is doubled to keep the signal's scale
    return math.sqrt(2) if gain == "relu" else gain


class Initializer:
    """Base class: ``init(shape)`` returns ``init.sample(shape)``, a numpy array."""

    def __call__(self, shape):
        return self.sample(shape)

    def sample(self, shape):
        """A numpy array of ``shape``; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement sample(shape)")


class Constant(Initializer):
    """Every entry ``val`` (default 0)."""

    def __init__(self, val=0.0):
        self.val = val

    def sample(self, shape):
        return floatX(np.ones(shape) * self.val)


class Normal(Initializer):
    """Gaussian draws with standard deviation ``std`` (0.01) and ``mean`` (0)."""

    def __init__(self, std=0.01, mean=0.0):
        self.std = std
        self.mean = mean

    def sample(self, shape):
        return floatX(get_rng().normal(self.mean, self.std, size=shape))


class Uniform(Initializer):
    """Uniform draws.

    ``range`` is a pair ``(low, high)`` or a number ``r`` for ``(-r, r)``
    (default 0.01). Given ``std``, the interval is instead centred on
    ``mean`` with that standard deviation: ``mean +- sqrt(3) * std``.
    """

    def __init__(self, range=0.01, std=None, mean=0.0):
        if std is not None:
            half = math.sqrt(3) * std
            low, high = mean - half, mean + half
        else:
            try:
                low, high = range
            except TypeError:
                low, high = -range, range
        self.range = (low, high)

    def sample(self, shape):
        low, high = self.range
        return floatX(get_rng().uniform(low=low, high=high, size=shape))


def _check_rank(shape, c01b):
    if c01b:
        if len(shape) != 4:
            raise RuntimeError(f"with c01b=True only 4-d shapes are accepted, got shape {shape}")
    elif len(shape) < 2:
        raise RuntimeError(f"this initializer only works with shapes of length >= 2, "
                           f"got shape {shape}")


class Glorot(Initializer):
    """Glorot/Xavier scaling of ``initializer`` (``Normal`` or ``Uniform``).

    ``std = gain * sqrt(2 / ((fan_in + fan_out) * receptive_field))`` where
    ``fan_in, fan_out = shape[:2]`` and the receptive field is the product of
    the remaining dimensions (with ``c01b``, channels are ``shape[0]`` and
    ``shape[3]``). ``gain='relu'`` means ``sqrt(2)``.
    """

    def __init__(self, initializer, gain=1.0, c01b=False):
        self.initializer = initializer
        self.gain = _gain(gain)
        self.c01b = c01b

    def sample(self, shape):
        _check_rank(shape, self.c01b)
        if self.c01b:
            n1, n2 = shape[0], shape[3]
            receptive = shape[1] * shape[2]
        else:
            n1, n2 = shape[:2]
            receptive = math.prod(shape[2:])
        std = self.gain * math.sqrt(2.0 / ((n1 + n2) * receptive))
        return self.initializer(std=std).sample(shape)


class GlorotNormal(Glorot):
    """Glorot scaling with Gaussian draws."""

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Normal, gain, c01b)


class GlorotUniform(Glorot):
    """Glorot scaling with uniform draws (DenseLayer's default for ``W``)."""

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Uniform, gain, c01b)


class He(Initializer):
    """He scaling of ``initializer``: ``std = gain * sqrt(1 / fan_in)``.

    ``fan_in`` is ``shape[0]`` for a 2-d weight matrix, the product of
    ``shape[1:]`` for filters (the product of ``shape[:3]`` with ``c01b``).
    """

    def __init__(self, initializer, gain=1.0, c01b=False):
        self.initializer = initializer
        self.gain = _gain(gain)
        self.c01b = c01b

    def sample(self, shape):
        _check_rank(shape, self.c01b)
        if self.c01b:
            fan_in = math.prod(shape[:3])
        elif len(shape) == 2:
            fan_in = shape[0]
        else:
            fan_in = math.prod(shape[1:])
        std = self.gain * math.sqrt(1.0 / fan_in)
        return self.initializer(std=std).sample(shape)


class HeNormal(He):
    """He scaling with Gaussian draws."""

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Normal, gain, c01b)


class HeUniform(He):
    """He scaling with uniform draws."""

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Uniform, gain, c01b)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``.

    The shape is viewed as ``(shape[0], prod(shape[1:]))``; the orthonormal
    factor of the SVD of a Gaussian matrix of that shape is reshaped back.
    """

    def __init__(self, gain=1.0):
        self.gain = _gain(gain)

    def sample(self, shape):
        if len(shape) < 2:
            raise RuntimeError(f"only shapes of length 2 or more are supported, got shape {shape}")
        flat = (shape[0], math.prod(shape[1:]))
        a = get_rng().normal(0.0, 1.0, flat)
        u, _, vt = np.linalg.svd(a, full_matrices=False)
        # u is (rows, k) and vt is (k, cols): exactly one of them has the flat shape
        q = u if u.shape == flat else vt
        return floatX(self.gain * q.reshape(shape))


class Sparse(Initializer):
    """A 2-d matrix whose columns each hold ``sparsity * rows`` Gaussian entries."""

    def __init__(self, sparsity=0.1, std=0.01):
        self.sparsity = sparsity
        self.std = std

    def sample(self, shape):
        if len(shape) != 2:
            raise RuntimeError(f"the sparse initializer only works with 2-d shapes, "
                               f"got shape {shape}")
        w = floatX(np.zeros(shape))
        rows, cols = shape
        size = int(self.sparsity * rows)
        for col in range(cols):
            idx = np.arange(rows)
            get_rng().shuffle(idx)
            w[idx[:size], col] = floatX(get_rng().normal(0.0, self.std, size=size))
        return w
