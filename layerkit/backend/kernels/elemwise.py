"""Elementwise kernels over the array API standard (the living definition).

The core casts inputs to one dtype beforehand, so these never see mixed
dtypes. Where the standard has the function, the kernel is a thin call;
``sigmoid``, ``softplus``, ``reciprocal`` and ``erf`` are built here.
"""
from __future__ import annotations

import math

from ._namespace import namespace

__all__ = ["ELEMWISE_KERNELS", "UNARY_NAMES", "BINARY_NAMES"]

#: our kernel name -> the standard's function name, where they differ
_STANDARD_NAME = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
                  "arccosh": "acosh", "arctanh": "atanh", "power": "pow", "arctan2": "atan2"}

#: unary kernels that the standard provides directly (``round`` is half to even there)
_STANDARD_UNARY = ("negative abs exp log log1p expm1 sqrt square sign floor ceil round trunc "
                   "sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh "
                   "logical_not isnan isinf").split()
BINARY_NAMES = ("add subtract multiply divide floor_divide remainder power maximum minimum "
                "equal not_equal less less_equal greater greater_equal logical_and "
                "logical_or logical_xor arctan2").split()
UNARY_NAMES = _STANDARD_UNARY + ["reciprocal", "sigmoid", "softplus", "erf"]


def _unary(name):
    fname = _STANDARD_NAME.get(name, name)

    def kernel(x):
        xp = namespace(x)
        if isinstance(x, (bool, int, float)):   # a Python number from constant folding
            x = xp.asarray(x)
        return getattr(xp, fname)(x)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"``{name}(x)``: the standard's ``{fname}``."
    return kernel


def _binary(name):
    fname = _STANDARD_NAME.get(name, name)

    def kernel(a, b):
        return getattr(namespace(a, b), fname)(a, b)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"``{name}(a, b)``: the standard's ``{fname}``, broadcasting."
    return kernel


def reciprocal(x):
    return 1.0 / x


def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow.

    ``exp(-x)`` overflows for x << 0, so both branches use ``e = exp(-|x|)``,
    which lies in (0, 1]: ``1/(1+e)`` for x >= 0 and ``e/(1+e)`` below.
    """
    xp = namespace(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``: finite and exact for any x."""
    xp = namespace(x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


# -- erf --------------------------------------------------------------------
# The standard has no erf. Two pieces, both finite for any input:
#   |x| <= cut: the Maclaurin series erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)),
#               summed to float precision (cancellation grows like exp(x^2), hence the cut);
#   |x| >  cut: 1 - erfc(|x|), erfc from the Chebyshev-fitted form of Numerical Recipes
#               (fractional error < 1.2e-7 in erfc); erfc(cut) is small, so the error of
#               erf itself is 1.2e-7 * erfc(cut).
# float64: cut 3.5, 60 terms -> relative error about 2e-12 at worst (the suite checks 1e-10).
# float32: cut 0.5, 10 terms -> within a few float32 ulps.
_ERFC_COEFFS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
                -1.13520398, 1.48851587, -0.82215223, 0.17087277)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_series(x, terms):
    term = x
    total = x
    x2 = x * x
    for n in range(1, terms):
        term = term * x2 * (-1.0 / n)
        total = total + term * (1.0 / (2 * n + 1))
    return total * _TWO_OVER_SQRT_PI


def _erfc_tail(ax, xp):
    t = 1.0 / (1.0 + 0.5 * ax)
    poly = _ERFC_COEFFS[-1] * t
    for c in reversed(_ERFC_COEFFS[1:-1]):
        poly = (poly + c) * t
    return t * xp.exp(-ax * ax + (poly + _ERFC_COEFFS[0]))


def erf(x):
    """The error function in standard-only arithmetic (accuracy: see the comment above)."""
    xp = namespace(x)
    x = xp.asarray(x)      # a Python number from constant folding has no dtype
    cut, terms = (3.5, 60) if x.dtype == xp.float64 else (0.5, 10)
    ax = xp.abs(x)
    # clamp each piece to its own range so neither overflows where it is not used
    series = _erf_series(xp.clip(x, -cut, cut), terms)
    tail = 1.0 - _erfc_tail(xp.maximum(ax, cut), xp)
    return xp.where(ax <= cut, series, xp.where(x < 0, -tail, tail))


# -- ternary and cast -------------------------------------------------------
def where(cond, a, b):
    return namespace(cond, a, b).where(cond, a, b)


def clip(x, lo, hi):
    """``min(max(x, lo), hi)`` with array bounds (numpy's ``clip`` order when lo > hi)."""
    xp = namespace(x, lo, hi)
    return xp.minimum(xp.maximum(x, lo), hi)


def astype(x, dtype: str):
    """``x`` as ``dtype`` (a name such as ``"float32"``); always a new array."""
    xp = namespace(x)
    return xp.astype(xp.asarray(x), getattr(xp, dtype), copy=True)


ELEMWISE_KERNELS = {
    **{name: _unary(name) for name in _STANDARD_UNARY},
    **{name: _binary(name) for name in BINARY_NAMES},
    "reciprocal": reciprocal, "sigmoid": sigmoid, "softplus": softplus, "erf": erf,
    "where": where, "clip": clip, "astype": astype,
}
