"""The fusion format translated to CUDA: one ``cupy.ElementwiseKernel`` per
fused chain, generated as text (testable without a GPU) and cached by spec.

Only the contract module ``layerkit.backend.fusion`` is used; cupy is
imported when a kernel is actually built.
"""
from __future__ import annotations

import functools

from layerkit.backend.fusion import FusedElemwise

__all__ = ["CTYPES", "elementwise_source", "build_kernel"]

CTYPES = {"bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
          "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
          "uint32": "unsigned int", "uint64": "unsigned long long", "float16": "float16",
          "float32": "float", "float64": "double"}


def _is_float(dtype: str) -> bool:
    return dtype.startswith("float")


def _unary(name: str, a: str, dtype: str, ctype: str) -> str:
    f = _is_float(dtype)
    table = {
        "negative": f"(-{a})",
        "abs": f"fabs({a})" if f else f"({a} < 0 ? -{a} : {a})",
        "square": f"({a} * {a})",
        "sign": f"(({a} > 0) - ({a} < 0))",
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
        return f"pow({a}, {b})"
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


@functools.lru_cache(maxsize=1024)
def build_kernel(spec: FusedElemwise):
    """A callable running ``spec`` as one CUDA kernel (needs cupy and a GPU)."""
    import cupy
    in_params, out_params, body = elementwise_source(spec)
    kernel = cupy.ElementwiseKernel(in_params, out_params, body, name="layerkit_fused")

    def run(*args, out=None):
        if out is not None:
            return kernel(*args, out)
        return kernel(*args)
    run.accepts_out = True
    return run
