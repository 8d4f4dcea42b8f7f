"""Counter-based random draws in array-API integer arithmetic.

Each element's bits are a hash (splitmix64's finaliser) of (key, counter,
element index): the same triple always gives the same number, on any backend
that follows the standard, and no generator state needs to live on a device.
"""
from __future__ import annotations

import math

__all__ = ["RANDOM_KERNELS", "random_bits"]

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def random_bits(key: int, counter: int, n: int, xp, stream: int = 0):
    """``n`` uint64 words for (key, counter, stream), uniform over all 64 bits."""
    base = ((key * _GOLDEN) ^ ((counter + 1) * 0xD1B54A32D192ED03)
            ^ ((stream + 1) * 0x8CB92BA72F3D8DD7)) & _M64
    z = xp.arange(n, dtype=xp.uint64) * _GOLDEN + base      # wraps modulo 2**64
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    return z ^ (z >> 31)


def _unit(key, counter, n, dtype, xp, stream=0):
    """Uniform [0, 1) with as many random bits as the float type holds."""
    bits = random_bits(key, counter, n, xp, stream)
    if dtype == "float64":
        return xp.astype(bits >> 11, xp.float64) * (2.0 ** -53)
    return xp.astype(xp.astype(bits >> 40, xp.float64) * (2.0 ** -24), getattr(xp, dtype))


def random_uniform(key, counter, shape, dtype, xp, low=0.0, high=1.0):
    u = _unit(key, counter, _size(shape), dtype, xp)
    return xp.reshape(low + (high - low) * u, tuple(shape))


def random_normal(key, counter, shape, dtype, xp, mean=0.0, std=1.0):
    n = _size(shape)
    # Box-Muller on two independent streams; 1 - u keeps the log finite
    u1 = 1.0 - _unit(key, counter, n, "float64", xp, stream=1)
    u2 = _unit(key, counter, n, "float64", xp, stream=2)
    z = xp.sqrt(-2.0 * xp.log(u1)) * xp.cos((2 * math.pi) * u2)
    return xp.reshape(xp.astype(mean + std * z, getattr(xp, dtype)), tuple(shape))


def random_binomial(key, counter, shape, dtype, xp, n=1, p=0.5):
    size = _size(shape)
    count = xp.zeros(size, dtype=xp.int64)
    for trial in range(int(n)):
        u = _unit(key, counter, size, "float64", xp, stream=3 + trial)
        count = count + xp.astype(u < p, xp.int64)
    return xp.reshape(xp.astype(count, getattr(xp, dtype)), tuple(shape))


RANDOM_KERNELS = {"random_uniform": random_uniform, "random_normal": random_normal,
                  "random_binomial": random_binomial}
