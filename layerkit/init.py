"""Initializers: small callables that make parameter values (Lasagne's ``lasagne.init``).

The one place above the core that computes with numpy. Values are drawn
from :func:`layerkit.random.get_rng` and cast to floatX.
"""
from __future__ import annotations

import numpy as np

from .random import get_rng
from .utils import floatX

__all__ = ["Initializer", "Constant", "Normal", "Uniform", "Glorot", "GlorotNormal",
           "GlorotUniform", "He", "HeNormal", "HeUniform", "Orthogonal", "Sparse"]


class Initializer:
    """Base class: ``init(shape)`` returns a numpy array of that shape."""

    def __call__(self, shape):
        return self.sample(shape)

    def sample(self, shape):
        raise NotImplementedError


class Constant(Initializer):
    def __init__(self, val=0.0):
        self.val = val

    def sample(self, shape):
        return floatX(np.ones(shape) * self.val)


class Normal(Initializer):
    def __init__(self, std=0.01, mean=0.0):
        self.std, self.mean = std, mean

    def sample(self, shape):
        return floatX(get_rng().normal(self.mean, self.std, size=shape))


class Uniform(Initializer):
    """Uniform on ``range`` (a pair, or ±value), or with the given ``std`` and ``mean``."""

    def __init__(self, range=0.01, std=None, mean=0.0):
        if std is not None:
            a, b = mean - np.sqrt(3) * std, mean + np.sqrt(3) * std
        else:
            try:
                a, b = range
            except TypeError:
                a, b = -range, range
        self.range = (a, b)

    def sample(self, shape):
        return floatX(get_rng().uniform(low=self.range[0], high=self.range[1], size=shape))


class Glorot(Initializer):
    """Glorot/Xavier scaling: std = gain * sqrt(2 / (fan_in + fan_out))."""

    def __init__(self, initializer, gain=1.0, c01b=False):
        if gain == "relu":
            gain = np.sqrt(2)
        self.initializer, self.gain, self.c01b = initializer, gain, c01b

    def sample(self, shape):
        if self.c01b:
            if len(shape) != 4:
                raise RuntimeError("with c01b=True, only 4-d shapes are supported")
            n1, n2 = shape[0], shape[3]
            receptive = shape[1] * shape[2]
        else:
            if len(shape) < 2:
                raise RuntimeError(f"this initializer only works with shapes of length >= 2, "
                                   f"got {shape}")
            n1, n2 = shape[:2]
            receptive = int(np.prod(shape[2:]))
        std = self.gain * np.sqrt(2.0 / ((n1 + n2) * receptive))
        return self.initializer(std=std).sample(shape)


class GlorotNormal(Glorot):
    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Normal, gain, c01b)


class GlorotUniform(Glorot):
    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Uniform, gain, c01b)


class He(Initializer):
    """He scaling: std = gain * sqrt(1 / fan_in)."""

    def __init__(self, initializer, gain=1.0, c01b=False):
        if gain == "relu":
            gain = np.sqrt(2)
        self.initializer, self.gain, self.c01b = initializer, gain, c01b

    def sample(self, shape):
        if self.c01b:
            if len(shape) != 4:
                raise RuntimeError("with c01b=True, only 4-d shapes are supported")
            fan_in = int(np.prod(shape[:3]))
        elif len(shape) == 2:
            fan_in = shape[0]
        elif len(shape) > 2:
            fan_in = int(np.prod(shape[1:]))
        else:
            raise RuntimeError(f"this initializer only works with shapes of length >= 2, got {shape}")
        std = self.gain * np.sqrt(1.0 / fan_in)
        return self.initializer(std=std).sample(shape)


class HeNormal(He):
    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Normal, gain, c01b)


class HeUniform(He):
    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Uniform, gain, c01b)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the SVD of a Gaussian, times ``gain``."""

    def __init__(self, gain=1.0):
        if gain == "relu":
            gain = np.sqrt(2)
        self.gain = gain

    def sample(self, shape):
        if len(shape) < 2:
            raise RuntimeError(f"only shapes of length 2 or more are supported, got {shape}")
        flat = (shape[0], int(np.prod(shape[1:])))
        a = get_rng().normal(0.0, 1.0, flat)
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == flat else v
        return floatX(self.gain * q.reshape(shape))


class Sparse(Initializer):
    """Each column gets ``sparsity * rows`` nonzero Normal(0, std) entries."""

    def __init__(self, sparsity=0.1, std=0.01):
        self.sparsity, self.std = sparsity, std

    def sample(self, shape):
        if len(shape) != 2:
            raise RuntimeError(f"sparse initializer only works with 2-d shapes, got {shape}")
        w = floatX(np.zeros(shape))
        n_inputs, n_outputs = shape
        size = int(self.sparsity * n_inputs)
        for k in range(n_outputs):
            idx = np.arange(n_inputs)
            get_rng().shuffle(idx)
            w[idx[:size], k] = floatX(get_rng().normal(0.0, self.std, size=size))
        return w
