"""``RandomStreams``: Theano's symbolic random numbers (also for ``MRG_RandomStreams``)."""
from __future__ import annotations

import numpy as np

from .config import config
from .graph import Constant, Variable, as_variable
from .ignored import warn_ignored
from .ops.basic import cast
from .ops.elemwise import lt
from .ops.random import RandomOp
from .ops.shape import as_shape, shape_of
from .types import as_dtype

__all__ = ["RandomStreams", "MRG_RandomStreams", "set_default_seed", "get_default_seed"]

_DEFAULT_SEED = 12345  # MRG_RandomStreams' default
_MASK63 = (1 << 63) - 1


def set_default_seed(seed: int) -> None:
    """Seed for ``RandomStreams()`` created from now on (``layerkit.random.seed`` calls it)."""
    global _DEFAULT_SEED
    _DEFAULT_SEED = int(seed)


def get_default_seed() -> int:
    return _DEFAULT_SEED


def _mix(seed: int, n: int) -> int:
    """A well-spread 63-bit key from (seed, draw number): splitmix64's finaliser."""
    z = (seed * 0x9E3779B97F4A7C15 + (n + 1) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & ((1 << 64) - 1)
    return (z ^ (z >> 31)) & _MASK63


def _is_const(v) -> bool:
    return not isinstance(v, Variable) or isinstance(v, Constant)


def _const(v) -> float:
    return float(v.data) if isinstance(v, Constant) else float(v)


def _extra(method: str, kw: dict) -> None:
    """Theano's streams take ``nstreams`` (how many generator streams its GPU code
    ran): draws here are counter-based, so it has no effect, and says so once.
    Any other keyword is a mistake."""
    if "nstreams" in kw:
        kw.pop("nstreams")
        warn_ignored(f"RandomStreams.{method}", "nstreams", "draws are counter-based, "
                     "there are no generator streams to choose", stacklevel=4)
    if kw:
        raise TypeError(f"RandomStreams.{method}() got unexpected keyword arguments: "
                        f"{', '.join(sorted(kw))}")


class RandomStreams:
    """Symbolic random draws with Theano's argument names.

    Each draw made here gets its own key; each call of a compiled function
    advances its counter, so draws differ per call and replay from the seed.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed(get_default_seed() if seed is None else seed)

    def seed(self, seed: int) -> None:
        """Restart the key sequence for draws made from now on."""
        self._seed = int(seed)
        self._n = 0

    def _key(self) -> int:
        key = _mix(self._seed, self._n)
        self._n += 1
        return key

    def _shape(self, size, ndim, params):
        if size is None:
            shapes = [as_variable(p) for p in params if isinstance(p, Variable)]
            size = shape_of(shapes[0]) if shapes else ()
        shape = as_shape(size)
        if ndim is not None and shape.type.shape[0] != ndim:
            raise ValueError(f"random draw: size {size} has {shape.type.shape[0]} dims but "
                             f"ndim={ndim}")
        return shape

    def _draw(self, dist, shape, dtype, params):
        return RandomOp(dist, self._key(), dtype, params)(shape)

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, **kw):
        _extra("uniform", kw)
        dtype = dtype or config.floatX
        shape = self._shape(size, ndim, (low, high))
        if _is_const(low) and _is_const(high):
            return self._draw("uniform", shape, dtype, (("low", _const(low)), ("high", _const(high))))
        u = self._draw("uniform", shape, dtype, (("low", 0.0), ("high", 1.0)))
        return low + (high - low) * u

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, **kw):
        if kw.pop("truncate", False):
            raise NotImplementedError("normal: truncate=True (redrawing beyond two standard "
                                      "deviations) is not supported")
        _extra("normal", kw)
        dtype = dtype or config.floatX
        shape = self._shape(size, ndim, (avg, std))
        if _is_const(avg) and _is_const(std):
            return self._draw("normal", shape, dtype, (("mean", _const(avg)), ("std", _const(std))))
        z = self._draw("normal", shape, dtype, (("mean", 0.0), ("std", 1.0)))
        return avg + std * z

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", **kw):
        if "prob" in kw:   # Theano's old name for p
            p = kw.pop("prob")
        _extra("binomial", kw)
        shape = self._shape(size, ndim, (n, p))
        if not isinstance(n, (int, np.integer)):
            raise TypeError(f"binomial: n must be a Python int, got {n!r}")
        if _is_const(p):
            return self._draw("binomial", shape, dtype, (("n", int(n)), ("p", _const(p))))
        if n != 1:
            raise NotImplementedError("binomial with a symbolic p supports n=1 only")
        u = self._draw("uniform", shape, as_dtype(getattr(p, "dtype", None) or config.floatX),
                       (("low", 0.0), ("high", 1.0)))
        return cast(lt(u, p), dtype)


MRG_RandomStreams = RandomStreams
