"""Elementwise kernels over the array API standard (the living definition).

The core casts inputs to one dtype beforehand, so these never see mixed dtypes.
"""
from __future__ import annotations

import math

from array_api_compat import array_namespace

__all__ = ["ELEMENTWISE_KERNELS"]

_DIRECT_UNARY = ("negative abs exp log log1p expm1 sqrt square sign floor ceil round trunc "
                 "sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh logical_not "
                 "isnan isinf").split()
_RENAMED = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
            "acosh": "arccosh", "atanh": "arctanh"}
_DIRECT_BINARY = ("add subtract multiply divide floor_divide remainder pow maximum minimum "
                  "equal not_equal less less_equal greater greater_equal logical_and "
                  "logical_or logical_xor atan2").split()


def _unary(name):
    def kernel(x):
        return getattr(array_namespace(x), name)(x)
    kernel.__name__ = _RENAMED.get(name, name)
    return kernel


def _binary(name):
    def kernel(a, b):
        return getattr(array_namespace(a, b), name)(a, b)
    kernel.__name__ = {"pow": "power", "atan2": "arctan2"}.get(name, name)
    return kernel


def reciprocal(x):
    xp = array_namespace(x)
    return xp.divide(xp.ones_like(x), x)


def sigmoid(x):
    # 1/(1+exp(-x)) overflows exp for x << 0; exp(x)/(1+exp(x)) there instead
    xp = array_namespace(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), finite for any x
    xp = array_namespace(x)
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


# Abramowitz & Stegun 7.1.26 is only 1.5e-7 absolute; use the complementary
# error function's Chebyshev-fitted form (Numerical Recipes' erfc, ~1.2e-7
# relative) for |x| > 0.5 and the Maclaurin series below, which converges fast.
_ERFC_COEFFS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
                -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def erf(x):
    """The error function: a series for |x| <= 0.5, a fitted erfc form beyond (~1e-7)."""
    xp = array_namespace(x)
    ax = xp.abs(x)
    # series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    term, total = x, x
    x2 = x * x
    for n in range(1, 12):
        term = -term * x2 / n
        total = total + term / (2 * n + 1)
    series = total * (2 / math.sqrt(math.pi))
    t = 1 / (1 + 0.5 * ax)
    poly = xp.zeros_like(x) + _ERFC_COEFFS[-1]
    for c in reversed(_ERFC_COEFFS[:-1]):
        poly = poly * t + c
    erfc = t * xp.exp(-ax * ax + poly)
    tail = xp.where(x >= 0, 1 - erfc, erfc - 1)
    return xp.where(ax <= 0.5, series, tail)


def where(cond, a, b):
    return array_namespace(a, b).where(cond, a, b)


def clip(x, lo, hi):
    xp = array_namespace(x, lo, hi)
    return xp.minimum(xp.maximum(x, lo), hi)


def astype(x, dtype: str):
    xp = array_namespace(x)
    return xp.astype(x, getattr(xp, dtype))


ELEMENTWISE_KERNELS = {
    **{_RENAMED.get(n, n): _unary(n) for n in _DIRECT_UNARY},
    **{k.__name__: k for k in (_binary(n) for n in _DIRECT_BINARY)},
    "reciprocal": reciprocal, "sigmoid": sigmoid, "softplus": softplus, "erf": erf,
    "where": where, "clip": clip, "astype": astype,
}
