"""Random draws from numpy's Philox generator, one per (key, counter)."""
from __future__ import annotations

import numpy as np

__all__ = ["RANDOM_KERNELS"]

_M64 = (1 << 64) - 1


def _generator(key, counter):
    """A Philox generator for (key, counter).

    Both go into Philox's 128-bit *key*, not its counter: Philox streams with
    nearby counters are shifted copies of each other (a draw advances the
    counter), while distinct keys give independent streams.
    """
    return np.random.Generator(np.random.Philox(key=((key & _M64) << 64) | (counter & _M64)))


def random_uniform(key, counter, shape, dtype, xp=None, low=0.0, high=1.0):
    g = _generator(key, counter)
    fdt = dtype if dtype in ("float32", "float64") else "float64"
    u = g.random(shape, dtype=fdt)
    if (low, high) != (0.0, 1.0):
        u = low + (high - low) * u
    return np.asarray(u, dtype=dtype)


def random_normal(key, counter, shape, dtype, xp=None, mean=0.0, std=1.0):
    g = _generator(key, counter)
    fdt = dtype if dtype in ("float32", "float64") else "float64"
    z = g.standard_normal(shape, dtype=fdt)
    if (mean, std) != (0.0, 1.0):
        z = mean + std * z
    return np.asarray(z, dtype=dtype)


def random_binomial(key, counter, shape, dtype, xp=None, n=1, p=0.5):
    g = _generator(key, counter)
    if n == 1 and np.ndim(p) == 0:
        return _bernoulli(g, tuple(shape), dtype, float(p))
    if n == 1:   # a rate per element: one comparison with a uniform draw
        return np.asarray(g.random(shape) < p, dtype=dtype)
    return np.asarray(g.binomial(n, p, shape), dtype=dtype)


def _bernoulli(g, shape, dtype, p):
    """Dropout masks from the generator's raw 64-bit words: for ``p = 0.5`` one bit
    per element (10x faster than a float per element), otherwise one 32-bit
    integer per element below ``p * 2**32`` (2x faster; ``p`` exact to 2**-32)."""
    size = int(np.prod(shape, dtype=np.int64))
    out = np.empty(shape, dtype=dtype)
    if p >= 1.0 or p <= 0.0 or size == 0:
        out.fill(1 if p >= 1.0 else 0)
        return out
    if p == 0.5:
        words = g.bit_generator.random_raw((size + 63) // 64)
        bits = np.unpackbits(words.view(np.uint8), count=size)
        np.copyto(out, bits.reshape(shape), casting="unsafe")
        return out
    words = g.bit_generator.random_raw((size + 1) // 2)
    u = words.view(np.uint32)[:size].reshape(shape)
    threshold = np.uint32(min(round(p * 2.0 ** 32), 2 ** 32 - 1))
    np.less(u, threshold, out=out, casting="unsafe")
    return out


RANDOM_KERNELS = {"random_uniform": random_uniform, "random_normal": random_normal,
                  "random_binomial": random_binomial}
