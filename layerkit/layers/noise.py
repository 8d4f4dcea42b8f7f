"""Noise layers: dropout, Gaussian noise (off under ``deterministic=True``)."""
from __future__ import annotations

from ..core import tensor as T
from ..core.random import RandomStreams
from ..random import get_rng
from .base import Layer

__all__ = ["DropoutLayer", "dropout", "dropout_channels", "spatial_dropout",
           "dropout_locations", "GaussianNoiseLayer"]


class DropoutLayer(Layer):
    """Set inputs to zero with probability ``p`` during training.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
    p : float or scalar expression
        The probability of dropping a value. Default 0.5.
    rescale : bool
        Divide the kept values by ``1 - p`` (so the expected sum is
        unchanged). Default True.
    shared_axes : tuple of int
        Axes along which one mask value is shared (negative axes count from
        the end): ``(2, 3)`` drops whole feature maps of an image batch.

    Under ``get_output(..., deterministic=True)`` the layer passes its input
    through unchanged.

    >>> from layerkit.layers import InputLayer, DropoutLayer
    >>> DropoutLayer(InputLayer((None, 10)), p=0.2).output_shape
    (None, 10)
    """

    def __init__(self, incoming, p=0.5, rescale=True, shared_axes=(), **kwargs):
        super().__init__(incoming, **kwargs)
        if isinstance(p, (int, float)) and not 0 <= p < 1:
            raise ValueError(f"{self!r}: p must be in [0, 1), got p={p}")
        self._srng = RandomStreams(get_rng().randint(1, 2147462579))
        self.p, self.rescale, self.shared_axes = p, rescale, tuple(shared_axes)

    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or (isinstance(self.p, (int, float)) and self.p == 0):
            return input
        retain = 1 - self.p
        if self.rescale:
            input = input / retain
        # the run-time shape, not the declared one: a script may feed another
        # batch size than it declared (decision D73)
        shape = [input.shape[a] for a in range(input.ndim)]
        shared = {a % input.ndim for a in self.shared_axes}
        if shared:
            shape = [1 if a in shared else s for a, s in enumerate(shape)]
        mask = self._srng.binomial(shape, p=retain, dtype=input.dtype)
        if shared:
            mask = T.patternbroadcast(mask, [a in shared for a in range(input.ndim)])
        return input * mask


dropout = DropoutLayer


def dropout_channels(incoming, *args, **kwargs):
    """A :class:`DropoutLayer` dropping whole channels: one mask value per
    example and channel, shared over every axis from the third on (spatial
    dropout)."""
    ndim = len(getattr(incoming, "output_shape", incoming))
    kwargs["shared_axes"] = tuple(range(2, ndim))
    return DropoutLayer(incoming, *args, **kwargs)


spatial_dropout = dropout_channels


def dropout_locations(incoming, *args, **kwargs):
    """A :class:`DropoutLayer` dropping whole locations: one mask value per
    example and position, shared over the channels (axis 1)."""
    kwargs["shared_axes"] = (1,)
    return DropoutLayer(incoming, *args, **kwargs)


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
