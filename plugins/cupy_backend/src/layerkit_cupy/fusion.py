"""The fusion format translated to CUDA: one ``cupy.ElementwiseKernel`` per
fused chain, generated as text (testable without a GPU) and cached by structure.

The cache key is the generated text itself (parameters and body), so two
chains of the same structure share one compiled kernel even when they come
from different graphs, or differ only in the buffer-reuse hints that matter
to the host evaluator and not to a kernel that keeps its temporaries in
registers. Only the plugin API's ``FusedElemwise`` is used from layerkit; cupy is
imported when a kernel is actually built.

The fusion format holds elementwise chains only (no reductions), so there is no
``ReductionKernel`` to generate: reductions run on cupy's own kernels.
"""
from __future__ import annotations

import hashlib

from layerkit.backend import FusedElemwise

from ._cuda import CTYPES, cupy, elementwise_kernel

__all__ = ["CTYPES", "PREAMBLE", "elementwise_source", "kernel_name", "build_kernel", "clear_cache",
           "FUSED_CACHE"]


#: helper functions the generated bodies may call (given to cupy as the preamble)
PREAMBLE = """template <typename T> __device__ T lk_ipow(T a, T b) {
    if (b < 0) return (a == 1) ? (T)1 : ((a == (T)-1) ? ((b & 1) ? (T)-1 : (T)1) : (T)0);
    T r = 1;
    while (b) { if (b & 1) r *= a; a *= a; b >>= 1; }
    return r;
}
"""


def _is_float(dtype: str) -> bool:
    return dtype.startswith("float")


def _unary(name: str, a: str, dtype: str, ctype: str) -> str:
    f = _is_float(dtype)
    if not f and name in ("floor", "ceil", "trunc", "round"):
        return f"({a})"                      # integers: exact, no trip through double
    if not f and name in ("isnan", "isinf"):
        return "false"
    table = {
        "negative": f"(-{a})",
        "abs": f"fabs({a})" if f else f"({a} < 0 ? -{a} : {a})",
        "square": f"({a} * {a})",
        # numpy: sign(+-0) is +0, sign(nan) is nan
        "sign": (f"({a} > 0 ? ({ctype})1 : ({a} < 0 ? ({ctype})-1 : ({a} == {a} ? ({ctype})0 : {a})))"
                 if f else f"(({a} > 0) - ({a} < 0))"),
        "round": f"rint({a})",
        "reciprocal": f"(({ctype})1 / {a})",
        # stable logistic: exp of a non-positive number only
        "sigmoid": f"({a} >= 0 ? ({ctype})1 / (1 + exp(-{a})) : exp({a}) / (1 + exp({a})))",
        "softplus": f"({a} > 0 ? {a} + log1p(exp(-{a})) : log1p(exp({a})))",
        "logical_not": f"(!{a})",
        "arcsin": f"asin({a})", "arccos": f"acos({a})", "arctan": f"atan({a})",
        "arcsinh": f"asinh({a})", "arccosh": f"acosh({a})", "arctanh": f"atanh({a})",
    }
    if name in table:
        return table[name]
    if name in ("exp", "log", "log1p", "expm1", "sqrt", "floor", "ceil", "trunc", "sin", "cos",
                "tan", "sinh", "cosh", "tanh", "erf", "isnan", "isinf"):
        return f"{name}({a})"
    raise NotImplementedError(f"no CUDA form for the elementwise op {name!r}")


def _binary(name: str, a: str, b: str, dtype: str, ctype: str) -> str:
    f = _is_float(dtype)
    ops = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "equal": "==",
           "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
           "greater_equal": ">=", "logical_and": "&&", "logical_or": "||", "logical_xor": "!="}
    if name in ops:
        return f"({a} {ops[name]} {b})"
    if name == "power":
        return f"pow({a}, {b})" if f else f"lk_ipow<{ctype}>({a}, {b})"
    if name == "arctan2":
        return f"atan2({a}, {b})"
    if name in ("maximum", "minimum"):
        cmp = ">" if name == "maximum" else "<"
        nan = f" || isnan({a})" if f else ""   # numpy propagates NaN
        return f"(({a} {cmp} {b}{nan}) ? {a} : {b})"
    if name == "floor_divide":
        if f:
            return f"floor({a} / {b})"
        return f"({a} / {b} - ((({a} % {b}) != 0) && (({a} < 0) != ({b} < 0))))"
    if name == "remainder":
        if f:
            return f"({a} - floor({a} / {b}) * {b})"
        return f"((({a} % {b}) + {b}) % {b})"
    raise NotImplementedError(f"no CUDA form for the elementwise op {name!r}")


def elementwise_source(spec: FusedElemwise) -> tuple[str, str, str]:
    """``(in_params, out_params, body)`` for ``cupy.ElementwiseKernel``."""
    n = len(spec.inputs)
    dtypes = list(spec.inputs) + list(spec.dtypes)
    in_params = ", ".join(f"{d} x{i}" for i, d in enumerate(spec.inputs))
    out_dtype = dtypes[spec.output]
    out_params = f"{out_dtype} out0"
    lines = []
    for k, (name, args) in enumerate(spec.steps):
        dtype = spec.dtypes[k]
        ctype = CTYPES[dtype]
        refs = [f"x{a}" if a < n else f"t{a - n}" for a in args]
        operand_dtype = dtypes[args[-1]]
        if name == "where":
            expr = f"({refs[0]} ? {refs[1]} : {refs[2]})"
        elif name == "clip":
            expr = f"min(max({refs[0]}, {refs[1]}), {refs[2]})"
        elif len(refs) == 1:
            expr = _unary(name, refs[0], operand_dtype, ctype)
        else:
            expr = _binary(name, refs[0], refs[1], operand_dtype, ctype)
        lines.append(f"{ctype} t{k} = {expr};")
    ref = f"x{spec.output}" if spec.output < n else f"t{spec.output - n}"
    lines.append(f"out0 = {ref};")
    return in_params, out_params, "\n".join(lines)


#: (cupy module, in_params, out_params, body) -> the callable running that kernel
FUSED_CACHE: dict = {}


def kernel_name(in_params: str, out_params: str, body: str) -> str:
    """A name that identifies the structure (shown by profilers): ``lk_fused_<hash>``."""
    digest = hashlib.sha1(f"{in_params}|{out_params}|{body}".encode()).hexdigest()[:12]
    return f"lk_fused_{digest}"


def clear_cache() -> None:
    FUSED_CACHE.clear()


def build_kernel(spec: FusedElemwise):
    """A callable running ``spec`` as one CUDA kernel (needs cupy and a GPU), shared by
    every spec that generates the same source."""
    key = elementwise_source(spec)     # NotImplementedError first: no cupy needed for that
    xp = cupy()
    run = FUSED_CACHE.get((xp,) + key)
    if run is not None:
        return run
    in_params, out_params, body = key
    kernel = elementwise_kernel(xp, in_params, out_params, body,
                                kernel_name(in_params, out_params, body), preamble=PREAMBLE)

    def run(*args, out=None):
        if out is not None:
            return kernel(*args, out)
        return kernel(*args)
    run.accepts_out = True
    run.source = key
    FUSED_CACHE[(xp,) + key] = run
    return run
