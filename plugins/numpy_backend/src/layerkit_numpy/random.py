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
    if n == 1:   # dropout masks: one comparison is much faster than the binomial sampler
        return np.asarray(g.random(shape) < p, dtype=dtype)
    return np.asarray(g.binomial(n, p, shape), dtype=dtype)


RANDOM_KERNELS = {"random_uniform": random_uniform, "random_normal": random_normal,
                  "random_binomial": random_binomial}
