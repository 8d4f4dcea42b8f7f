"""Noise layers: dropout, Gaussian noise (off under ``deterministic=True``)."""
from __future__ import annotations

from ..core import tensor as T
from ..core.random import RandomStreams
from ..random import get_rng
from .base import Layer

__all__ = ["DropoutLayer", "dropout", "GaussianNoiseLayer"]


class DropoutLayer(Layer):
    """Zero inputs with probability ``p`` (scaling the rest by 1/(1-p) when ``rescale``)."""

    def __init__(self, incoming, p=0.5, rescale=True, shared_axes=(), **kwargs):
        super().__init__(incoming, **kwargs)
        if not 0 <= p < 1:
            raise ValueError(f"DropoutLayer: p must be in [0, 1), got p={p}")
        self._srng = RandomStreams(get_rng().randint(1, 2147462579))
        self.p, self.rescale, self.shared_axes = p, rescale, tuple(shared_axes)

    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.p == 0:
            return input
        retain = 1 - self.p
        if self.rescale:
            input = input / retain
        shape = input.shape
        if self.shared_axes:
            shape = [1 if a in self.shared_axes else input.shape[a] for a in range(input.ndim)]
        mask = self._srng.binomial(shape, p=retain, dtype=input.dtype)
        if self.shared_axes:
            mask = T.patternbroadcast(mask, [a in self.shared_axes for a in range(input.ndim)])
        return input * mask


dropout = DropoutLayer


class GaussianNoiseLayer(Layer):
    """Add Normal(0, sigma) noise during training."""

    def __init__(self, incoming, sigma=0.1, **kwargs):
        super().__init__(incoming, **kwargs)
        self._srng = RandomStreams(get_rng().randint(1, 2147462579))
        self.sigma = sigma

    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.sigma == 0:
            return input
        return input + self._srng.normal(input.shape, avg=0.0, std=self.sigma, dtype=input.dtype)
