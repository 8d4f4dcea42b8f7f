"""Counter-based random draws in array-API unsigned 64-bit arithmetic.

A draw is a pure function of (key, counter, shape): element ``i`` gets the
64 bits ``mix(seed + (i + 1) * GOLDEN)``, where ``mix`` is splitmix64's
finaliser (a bijection on 64-bit words with full avalanche) and ``seed``
hashes (key, counter, stream) with the same finaliser in Python integers.
No generator state lives on the device, any backend that follows the
standard (and has uint64) draws the same numbers, and changing the counter
by one gives an unrelated seed, not a shifted copy of the previous draw.
"""
from __future__ import annotations

import math

__all__ = ["RANDOM_KERNELS", "random_bits", "SPLITMIX", "mix64", "seed_for"]

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15        # 2**64 / golden ratio: splitmix64's increment
_MUL1, _MUL2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB

# streams keep the draws of one call independent of each other
_UNIFORM, _NORMAL_RADIUS, _NORMAL_ANGLE, _BINOMIAL = 0, 1, 2, 3


def _mix_int(z: int) -> int:
    """splitmix64's finaliser on a Python int."""
    z &= _M64
    z = ((z ^ (z >> 30)) * _MUL1) & _M64
    z = ((z ^ (z >> 27)) * _MUL2) & _M64
    return z ^ (z >> 31)


def _seed(key: int, counter: int, stream: int) -> int:
    # each step is a bijection of the previous word plus the next input, so
    # (key, counter, stream) triples that differ give unrelated seeds
    return _mix_int(_mix_int(_mix_int(key) + (counter & _M64)) + stream)


#: for backends that reproduce these draws on their own device (the cupy plugin):
#: splitmix64's increment and multipliers, its finaliser, and the seed of a draw
SPLITMIX = (_GOLDEN, _MUL1, _MUL2)
mix64 = _mix_int
seed_for = _seed


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def random_bits(key: int, counter: int, n: int, xp, stream: int = 0):
    """``n`` uint64 words for (key, counter, stream), uniform over all 64 bits."""
    z = xp.arange(1, n + 1, dtype=xp.uint64) * _GOLDEN + _seed(key, counter, stream)
    z = (z ^ (z >> 30)) * _MUL1     # uint64 arithmetic wraps modulo 2**64, as wanted
    z = (z ^ (z >> 27)) * _MUL2
    return z ^ (z >> 31)


def _unit(key, counter, n, dtype, xp, stream):
    """Uniform on [0, 1) from the top 53 (float64) or 24 (float32) bits: every value exact."""
    bits = random_bits(key, counter, n, xp, stream)
    if dtype == "float32":
        return xp.astype(bits >> 40, xp.float32) * (2.0 ** -24)
    return xp.astype(bits >> 11, xp.float64) * (2.0 ** -53)


def _float_dtype(dtype: str) -> str:
    return dtype if dtype in ("float32", "float64") else "float64"


def random_uniform(key, counter, shape, dtype, xp, low=0.0, high=1.0):
    """Uniform on [low, high)."""
    shape = tuple(int(s) for s in shape)
    u = _unit(key, counter, _size(shape), _float_dtype(dtype), xp, _UNIFORM)
    if (low, high) != (0.0, 1.0):
        u = low + (high - low) * u
    return xp.reshape(xp.astype(u, getattr(xp, dtype)), shape)


def random_normal(key, counter, shape, dtype, xp, mean=0.0, std=1.0):
    """Normal(mean, std) by Box-Muller: sqrt(-2 log u1) cos(2 pi u2)."""
    shape = tuple(int(s) for s in shape)
    n, fdt = _size(shape), _float_dtype(dtype)
    u1 = 1.0 - _unit(key, counter, n, fdt, xp, _NORMAL_RADIUS)   # in (0, 1]: log is finite
    u2 = _unit(key, counter, n, fdt, xp, _NORMAL_ANGLE)
    z = xp.sqrt(-2.0 * xp.log(u1)) * xp.cos((2.0 * math.pi) * u2)
    if (mean, std) != (0.0, 1.0):
        z = mean + std * z
    return xp.reshape(xp.astype(z, getattr(xp, dtype)), shape)


def random_binomial(key, counter, shape, dtype, xp, n=1, p=0.5):
    """Binomial(n, p) as a sum of n Bernoulli draws (``n`` and ``p`` Python numbers).

    Each trial compares 64 random bits with ``p * 2**64`` in integer
    arithmetic: exact, and no float64 needed on the device.
    """
    shape = tuple(int(s) for s in shape)
    size, p = _size(shape), float(p)
    count = xp.zeros(size, dtype=xp.int64)
    if p > 0.0:
        threshold = math.ceil(math.ldexp(min(p, 1.0), 64))     # P(bits < threshold) = p
        for trial in range(int(n)):
            if threshold > _M64:
                hit = xp.ones(size, dtype=xp.bool)
            else:
                hit = random_bits(key, counter, size, xp, _BINOMIAL + trial) < threshold
            count = count + xp.astype(hit, xp.int64)
    return xp.reshape(xp.astype(count, getattr(xp, dtype)), shape)


RANDOM_KERNELS = {"random_uniform": random_uniform, "random_normal": random_normal,
                  "random_binomial": random_binomial}
