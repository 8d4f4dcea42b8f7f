"""Counter-based random draws on the GPU: one generated ``ElementwiseKernel`` per draw.

The numbers are the generic kernels' (``layerkit.backend.kernels.random``,
decision D60): element ``i`` of a stream takes the 64 bits
``mix(seed + (i + 1) * GOLDEN)``, ``mix`` being splitmix64's finaliser, and
``seed`` hashes (key, counter, stream) on the host. So a draw is a pure function
of (key, counter, shape), no generator state lives on the device, and:

* ``random_uniform`` and ``random_binomial`` give exactly the bits of the
  generic kernels (integer arithmetic, exact conversions; the affine map uses
  ``__fmul_rn``/``__fadd_rn`` so no fused multiply-add changes the rounding);
* ``random_normal`` (Box-Muller) agrees with them to a few units in the last
  place: ``log`` and ``cos`` are CUDA's, not numpy's.

numpy's own backend draws from Philox (decision D61); the contract lets the
backends differ (``docs/kernels.md``), and cupy cannot reproduce numpy's
Philox stream in parallel (its normal and binomial samplers are sequential
rejection loops).
"""
from __future__ import annotations

import functools

import math

import numpy as np

# seed_for: the generic kernels' seed of (key, counter, stream), re-exported
from layerkit.backend import GENERIC_KERNELS, SPLITMIX, mix64, seed_for

from ._cuda import ctype, elementwise_kernel, suffix

__all__ = ["RANDOM_KERNELS", "seed_for", "uniform_source", "normal_source", "binomial_source",
           "PREAMBLE", "GOLDEN", "MUL1", "MUL2"]

M64 = (1 << 64) - 1
GOLDEN, MUL1, MUL2 = SPLITMIX
UNIFORM, NORMAL_RADIUS, NORMAL_ANGLE, BINOMIAL = 0, 1, 2, 3

PREAMBLE = f"""__device__ __forceinline__ unsigned long long lk_mix64(unsigned long long z) {{
    z = (z ^ (z >> 30)) * 0x{MUL1:X}ULL;
    z = (z ^ (z >> 27)) * 0x{MUL2:X}ULL;
    return z ^ (z >> 31);
}}
__device__ __forceinline__ unsigned long long lk_bits(long long i, unsigned long long seed) {{
    return lk_mix64((unsigned long long)(i + 1) * 0x{GOLDEN:X}ULL + seed);
}}
"""

# float: top 24 bits times 2**-24; double: top 53 bits times 2**-53 (exact values)
_UNIT = {"float32": ("(float)(lk_bits(i, {seed}) >> 40) * 5.9604644775390625e-08f",
                     "__fmul_rn", "__fadd_rn", "logf", "cosf", "sqrtf"),
         "float64": ("(double)(lk_bits(i, {seed}) >> 11) * 1.1102230246251565e-16",
                     "__dmul_rn", "__dadd_rn", "log", "cos", "sqrt")}


def _base(key: int, counter: int) -> int:
    """The word a draw's streams are mixed from (the binomial threshold test's seed)."""
    return mix64(mix64(key) + (counter & M64))


@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def uniform_source(dtype: str) -> tuple[str, str, str, str]:
    """``(in_params, out_params, body, name)``: ``y = low + scale * u``."""
    unit, mul, add, *_ = _UNIT[dtype]
    T = ctype(dtype)
    body = (f"const {T} u = {unit.format(seed='seed')};\n"
            f"y = {add}(low, {mul}(scale, u));")
    return (f"uint64 seed, {dtype} scale, {dtype} low", f"{dtype} y", body,
            f"lk_random_uniform_{suffix(dtype)}")


@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def normal_source(dtype: str) -> tuple[str, str, str, str]:
    """``(in_params, out_params, body, name)``: Box-Muller, then ``mean + std * z``."""
    unit, mul, add, log, cos, sqrt = _UNIT[dtype]
    T = ctype(dtype)
    body = (f"const {T} u1 = ({T})1 - {unit.format(seed='seed_r')};\n"
            f"const {T} u2 = {unit.format(seed='seed_a')};\n"
            f"const {T} r = {sqrt}({mul}(({T})-2, {log}(u1)));\n"
            f"const {T} a = {cos}({mul}(two_pi, u2));\n"
            f"y = {add}(mean, {mul}(std, {mul}(r, a)));")
    return (f"uint64 seed_r, uint64 seed_a, {dtype} two_pi, {dtype} std, {dtype} mean",
            f"{dtype} y", body, f"lk_random_normal_{suffix(dtype)}")


@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def binomial_source(dtype: str) -> tuple[str, str, str, str]:
    """``(in_params, out_params, body, name)``: a sum of ``trials`` Bernoulli draws,
    each ``bits < threshold`` (``always``: p = 1, every trial succeeds)."""
    T = ctype(dtype)
    body = ("long long count = 0;\n"
            "for (int t = 0; t < trials; ++t) {\n"
            f"    const unsigned long long s = lk_mix64(base + {BINOMIAL}ULL + "
            "(unsigned long long)t);\n"
            "    count += (always || lk_bits(i, s) < threshold) ? 1 : 0;\n"
            "}\n"
            f"y = ({T})count;")
    return ("uint64 base, uint64 threshold, int32 trials, bool always", f"{dtype} y", body,
            f"lk_random_binomial_{suffix(dtype)}")


def _kernel(xp, spec):
    in_params, out_params, body, name = spec
    return elementwise_kernel(xp, in_params, out_params, body, name, preamble=PREAMBLE)


def _device(xp) -> bool:
    """True when ``xp`` can build CUDA kernels (cupy, or the tests' host emulation)."""
    return hasattr(xp, "ElementwiseKernel")


def _float(dtype: str) -> str:
    return dtype if dtype in ("float32", "float64") else "float64"


def _shape(shape) -> tuple[int, ...]:
    return tuple(int(s) for s in shape)


def _float_draw(xp, source, shape, dtype, seeds, floats):
    """Launch ``source``'s kernel for a float draw of ``shape`` (the seeds as uint64,
    the parameters in the draw's float type), cast to ``dtype`` if that is not float."""
    shape, fdt = _shape(shape), _float(dtype)
    f = np.dtype(fdt).type
    y = xp.empty(shape, dtype=fdt)
    _kernel(xp, source(fdt))(*(np.uint64(s) for s in seeds), *(f(v) for v in floats), y)
    return y if fdt == dtype else y.astype(dtype)


def random_uniform(key, counter, shape, dtype, xp=None, low=0.0, high=1.0):
    """Uniform on [low, high): the generic kernel's numbers, bit for bit."""
    if not _device(xp):
        return GENERIC_KERNELS["random_uniform"](key, counter, shape, dtype, xp,
                                                 low=low, high=high)
    return _float_draw(xp, uniform_source, shape, dtype, [seed_for(key, counter, UNIFORM)],
                       [high - low, low])


def random_normal(key, counter, shape, dtype, xp=None, mean=0.0, std=1.0):
    """Normal(mean, std) by Box-Muller, as the generic kernel (to a few ulp)."""
    if not _device(xp):
        return GENERIC_KERNELS["random_normal"](key, counter, shape, dtype, xp,
                                                mean=mean, std=std)
    return _float_draw(xp, normal_source, shape, dtype,
                       [seed_for(key, counter, NORMAL_RADIUS),
                        seed_for(key, counter, NORMAL_ANGLE)], [2.0 * math.pi, std, mean])


def random_binomial(key, counter, shape, dtype, xp=None, n=1, p=0.5):
    """Binomial(n, p): the generic kernel's numbers, bit for bit (dropout is n=1)."""
    if not _device(xp):
        return GENERIC_KERNELS["random_binomial"](key, counter, shape, dtype, xp, n=n, p=p)
    shape, p = _shape(shape), float(p)
    trials = int(n) if p > 0.0 else 0
    threshold = math.ceil(math.ldexp(min(p, 1.0), 64)) if p > 0.0 else 0
    always = threshold > M64
    y = xp.empty(shape, dtype=dtype)
    _kernel(xp, binomial_source(np.dtype(dtype).name))(
        np.uint64(_base(key, counter)), np.uint64(0 if always else threshold),
        np.int32(trials), np.bool_(always), y)
    return y


RANDOM_KERNELS = {"random_uniform": random_uniform, "random_normal": random_normal,
                  "random_binomial": random_binomial}
