"""The backend-parametrised kernel suite: every kernel of ``docs/kernels.md``
checked against an independent float64 reference.

Run it against any backend by importing it into a test module::

    from layerkit.testing.suite_kernels import *  # noqa: F401,F403

with the pytest plugin loaded (``-p layerkit.testing.plugin``) and, to pick
backends, ``--layerkit-backend=NAME``. References are SciPy where it has the
function (``scipy.special.softmax``, ``log_softmax``, ``logsumexp``,
``expit``, ``erf``), numpy in float64 for plain elementwise functions, and
plain loops for ``take`` and ``scatter_add``. Inputs go in through
``backend.from_numpy``, results come back through ``backend.to_numpy``;
kernels are looked up with ``backend.kernel(name)``. Each failure is a
:class:`~layerkit.testing.compare.KernelMismatch` naming the kernel, the case
and the mismatch (how many elements, the largest errors, where, both values).
Convolution and pooling kernels have their own suite (``suite_conv``), ops and
their gradients too (``suite_ops``); ``pytest -p layerkit.testing`` runs all three.
"""
from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

from layerkit.backend.kernels import BINARY_NAMES, GENERIC_KERNELS, KERNEL_NAMES, UNARY_NAMES
from layerkit.testing.compare import assert_close, blame, expect, fail

__all__ = [
    "test_kernel_table_is_complete", "test_kernel_signatures_match_the_contract",
    "test_out_kernels_write_into_out",
    "test_unary", "test_unary_0d", "test_round_half_to_even", "test_nan_and_inf_tests",
    "test_logical_not", "test_binary", "test_binary_integer", "test_logical_binary",
    "test_where", "test_clip", "test_astype",
    "test_reductions", "test_any_all", "test_argmax_argmin",
    "test_shape_kernels", "test_creation_kernels",
    "test_getitem", "test_setitem", "test_take", "test_scatter_add",
    "test_scatter_add_edges", "test_matmul", "test_tensordot",
    "test_softmax", "test_logsumexp", "test_nnet_extreme_values",
    "test_random_reproducible", "test_random_uniform_distribution",
    "test_random_normal_distribution", "test_random_binomial_distribution",
]

FLOATS = ("float32", "float64")
# float32 results against a float64 reference computed from the same (rounded) inputs
RTOL = {"float32": 2e-6, "float64": 1e-10}
ATOL = {"float32": 1e-6, "float64": 1e-12}
SHAPE = (3, 5, 7)         # odd, non-square: a transposed axis cannot pass by luck
EDGES = (0.0, -0.0, 1000.0, -1000.0)


# -- helpers ------------------------------------------------------------------
def call(backend, name, *arrays, **params):
    """Run kernel ``name`` on ``backend``; numpy arguments move there first.

    Arguments that are not numpy arrays (an indexing key) pass through as they
    are, in their place, as the core passes them. The result comes back as numpy.
    """
    fn = backend.kernel(name)
    args = [backend.from_numpy(np.asarray(a)) if isinstance(a, (np.ndarray, np.generic)) else a
            for a in arrays]
    with warnings.catch_warnings():
        # a kernel that overflows, divides by zero or takes log(0) fails here
        warnings.simplefilter("error", RuntimeWarning)
        try:
            out = fn(*args, **params)
        except RuntimeWarning as warning:
            shapes = [getattr(a, "shape", a) for a in arrays]
            raise fail(name, f"kernel {name!r} warned {warning!r} on inputs of shapes "
                             f"{shapes} with {params}") from None
        except Exception as err:      # the kit's report puts it in this kernel's row
            raise blame(err, name)
    if isinstance(out, tuple):
        return tuple(np.asarray(backend.to_numpy(o)) for o in out)
    return np.asarray(backend.to_numpy(out))


def check(got, want, kernel, case, dtype=None, exact=False, rtol=None, atol=None):
    """Compare shape, dtype and values; a :class:`KernelMismatch` names the kernel,
    the case and the mismatch."""
    __tracebackhide__ = True
    dt = dtype if dtype in RTOL else "float64"
    assert_close(got, want, kernel, case, dtype=dtype, exact=exact,
                 rtol=RTOL[dt] if rtol is None else rtol, atol=ATOL[dt] if atol is None else atol)



def values(low, high, shape=SHAPE, dtype="float64", edges=(), seed=0):
    """Random values in [low, high) of ``shape``, with ``edges`` placed among them."""
    rng = np.random.default_rng(seed)
    flat = rng.uniform(low, high, size=math.prod(shape))
    flat[:len(edges)] = edges
    return rng.permutation(flat).reshape(shape).astype(dtype)


def as64(x):
    return np.asarray(x, dtype=np.float64)


# -- conformance --------------------------------------------------------------
def test_kernel_table_is_complete(backend):
    missing = sorted(KERNEL_NAMES - set(backend.kernel_table))
    if missing:
        raise fail(missing, f"backend {backend.name!r} lacks kernels {missing}")


def _contract_call(name):
    """Positional and keyword placeholders shaped like the core's call of kernel ``name``."""
    sig = inspect.signature(GENERIC_KERNELS[name])
    args, kwargs = [], {}
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            args += [None, None]
        elif p.default is not p.empty or p.name == "xp" or p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = None
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            args.append(None)
    return args, kwargs


def test_kernel_signatures_match_the_contract(backend):
    """Every override accepts the calls the core makes of the generic kernel."""
    bad, names = [], []
    for name in sorted(KERNEL_NAMES & set(backend.kernel_table)):
        fn = backend.kernel_table[name]
        if fn is GENERIC_KERNELS[name]:
            continue
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):   # a builtin without a signature: nothing to check
            continue
        args, kwargs = _contract_call(name)
        try:
            sig.bind(*args, **kwargs)
        except TypeError as err:
            bad.append(f"kernel {name!r}{sig}: {err}")
            names.append(name)
    if bad:
        raise fail(names, f"backend {backend.name!r}: kernels that cannot take the contract's "
                          f"arguments: {'; '.join(bad)}")


def _out_inputs(name):
    """Valid inputs for the elementwise kernel ``name`` (shape (3, 5, 7))."""
    if name in ("logical_not", "logical_and", "logical_or", "logical_xor"):
        return [values(-1, 1, seed=1) > 0, values(-1, 1, seed=2) > 0][:1 if "not" in name else 2]
    if name in UNARY_CASES:
        return [values(*UNARY_CASES[name][1])]
    if name in BINARY_CASES:
        _, sa, sb = BINARY_CASES[name]
        return [_operand(sa, SHAPE, 1), _operand(sb, SHAPE, 2)]
    if name == "clip":
        return [values(-3, 3), values(-2, 0, seed=1), values(0, 2, seed=2)]
    return [values(-3, 3)]            # isnan, isinf


def test_out_kernels_write_into_out(backend):
    """A kernel marked ``accepts_out`` fills the ``out`` it is given and returns it."""
    for name in UNARY_NAMES + BINARY_NAMES + ["clip"]:
        if not backend.supports_out(name):
            continue
        ins = _out_inputs(name)
        want = call(backend, name, *ins)
        out = backend.from_numpy(np.zeros(want.shape, want.dtype))
        try:
            got = backend.kernel(name)(*[backend.from_numpy(a) for a in ins], out=out)
        except Exception as err:
            raise blame(err, name)
        if got is not out:
            raise fail(name, f"kernel {name!r}, case out=: returned a new array, not out")
        check(backend.to_numpy(out), want, name, "out=", exact=True)


def test_operator_kernels_match_their_operator(backend):
    """A kernel that declares an ``operator`` computes what that Python operator
    computes on the backend's arrays: same values, dtype and shape (fusion's
    small-input body uses the operator instead of the kernel)."""
    for name in UNARY_NAMES + BINARY_NAMES:
        sign = getattr(backend.kernel(name), "operator", None)
        if sign is None:
            continue
        if sign not in ("+", "-", "*", "/") or (sign != "-" and name in UNARY_NAMES):
            raise fail(name, f"kernel {name!r} declares operator {sign!r}; expected one of "
                             "'+', '-', '*', '/' ('-' alone for a one-argument kernel)")
        ins = [backend.from_numpy(a) for a in _out_inputs(name)]
        want = call(backend, name, *_out_inputs(name))
        try:
            got = -ins[0] if len(ins) == 1 else eval(f"a {sign} b", {"a": ins[0], "b": ins[1]})
        except Exception as err:
            raise blame(err, name)
        check(backend.to_numpy(got), want, name, f"operator {sign}", exact=True)


# -- elementwise --------------------------------------------------------------
def _softplus64(x):
    return np.logaddexp(0.0, as64(x))


#: name -> (float64 reference, input range, edge values)
UNARY_CASES = {
    "negative": (np.negative, (-3, 3), EDGES),
    "abs": (np.abs, (-3, 3), EDGES),
    "exp": (np.exp, (-3, 3), (0.0, -1000.0)),
    "log": (np.log, (0.1, 5), (1000.0, 1.0)),
    "log1p": (np.log1p, (-0.9, 5), (0.0, 1000.0, 1e-10)),
    "expm1": (np.expm1, (-3, 3), (0.0, 1e-10, -1000.0)),
    "sqrt": (np.sqrt, (0.1, 5), (0.0, 1000.0)),
    "square": (np.square, (-3, 3), EDGES),
    "sign": (np.sign, (-3, 3), EDGES),
    "floor": (np.floor, (-3, 3), EDGES + (-2.0, 2.5)),
    "ceil": (np.ceil, (-3, 3), EDGES + (-2.0, 2.5)),
    "round": (np.round, (-3, 3), EDGES + (0.5, 1.5, -2.5)),
    "trunc": (np.trunc, (-3, 3), EDGES + (-2.7, 2.7)),
    "sin": (np.sin, (-3, 3), (0.0,)),
    "cos": (np.cos, (-3, 3), (0.0,)),
    "tan": (np.tan, (-1.2, 1.2), (0.0,)),
    "arcsin": (np.arcsin, (-0.95, 0.95), (0.0, 1.0, -1.0)),
    "arccos": (np.arccos, (-0.95, 0.95), (0.0, 1.0, -1.0)),
    "arctan": (np.arctan, (-3, 3), EDGES),
    "sinh": (np.sinh, (-3, 3), (0.0,)),
    "cosh": (np.cosh, (-3, 3), (0.0,)),
    "tanh": (np.tanh, (-3, 3), EDGES),
    "arcsinh": (np.arcsinh, (-3, 3), EDGES),
    "arccosh": (np.arccosh, (1.05, 5), (1.0, 1000.0)),
    "arctanh": (np.arctanh, (-0.95, 0.95), (0.0,)),
    "reciprocal": (np.reciprocal, (0.1, 5), (1000.0, -1000.0, -0.5)),
    "sigmoid": (sp.expit, (-6, 6), EDGES + (40.0, -40.0, 700.0, -745.0)),
    "softplus": (_softplus64, (-6, 6), EDGES + (40.0, -40.0, 700.0, -745.0)),
    "erf": (sp.erf, (-4, 4), EDGES + (0.5, -0.5, 3.5, -3.5, 1e-8, 6.0)),
}
_FLOAT_UNARY = sorted(UNARY_CASES)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", _FLOAT_UNARY)
def test_unary(backend, name, dtype):
    ref, (low, high), edges = UNARY_CASES[name]
    x = values(low, high, dtype=dtype, edges=edges)
    got = call(backend, name, x)
    check(got, ref(as64(x)), name, f"{dtype} {SHAPE} in [{low}, {high}) with {edges}", dtype)
    if np.isnan(got).any():
        raise fail(name, f"kernel {name!r}, {dtype}: NaN in the result")


@pytest.mark.parametrize("name", _FLOAT_UNARY)
def test_unary_0d(backend, name):
    ref, (low, high), _ = UNARY_CASES[name]
    x = np.asarray((low + high) / 2 + 0.1, dtype="float32")
    check(call(backend, name, x), ref(as64(x)), name, "0-d float32", "float32")


def test_round_half_to_even(backend):
    for dtype in FLOATS:
        x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.49, 0.51], dtype=dtype)
        want = np.array([-2, -2, -0, 0, 2, 2, 4, 0, 1], dtype=dtype)
        check(call(backend, "round", x), want, "round", f"halves, {dtype}", dtype, exact=True)


def test_nan_and_inf_tests(backend):
    for dtype in FLOATS:
        x = np.array([[0.0, np.nan, np.inf], [-np.inf, -1.0, 1e30]], dtype=dtype)
        for name, ref in (("isnan", np.isnan), ("isinf", np.isinf)):
            check(call(backend, name, x), ref(x), name, f"nan/inf, {dtype}", "bool", exact=True)


def test_logical_not(backend):
    x = values(-1, 1) > 0
    check(call(backend, "logical_not", x), ~x, "logical_not", "bool", "bool", exact=True)


def _nonzero(shape, seed):
    """Values in [-3, 3) kept at least 0.1 away from zero (divisors)."""
    x = values(-3, 3, shape, seed=seed)
    return np.where(np.abs(x) < 0.1, 0.5, x)


#: name -> (float64 reference, a's values, b's values)
BINARY_CASES = {
    "add": (np.add, (-3, 3), (-3, 3)),
    "subtract": (np.subtract, (-3, 3), (-3, 3)),
    "multiply": (np.multiply, (-3, 3), (-3, 3)),
    "divide": (np.divide, (-3, 3), "nonzero"),
    "floor_divide": (np.floor_divide, (-5, 5), "nonzero"),
    "remainder": (np.remainder, (-5, 5), "nonzero"),
    "power": (np.power, (0.1, 3), (-2, 2)),
    "maximum": (np.maximum, (-3, 3), (-3, 3)),
    "minimum": (np.minimum, (-3, 3), (-3, 3)),
    "arctan2": (np.arctan2, (-3, 3), (-3, 3)),
    "equal": (np.equal, "ints", "ints"),
    "not_equal": (np.not_equal, "ints", "ints"),
    "less": (np.less, "ints", "ints"),
    "less_equal": (np.less_equal, "ints", "ints"),
    "greater": (np.greater, "ints", "ints"),
    "greater_equal": (np.greater_equal, "ints", "ints"),
}
_COMPARISONS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")


def _operand(spec, shape, seed):
    if spec == "nonzero":
        return _nonzero(shape, seed)
    if spec == "ints":   # few distinct values, so equality happens
        return np.floor(values(-2, 3, shape, seed=seed))
    return values(*spec, shape=shape, seed=seed)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(BINARY_CASES))
def test_binary(backend, name, dtype):
    ref, sa, sb = BINARY_CASES[name]
    out_dtype = "bool" if name in _COMPARISONS else dtype
    for shape_a, shape_b in (((3, 5, 7), (3, 5, 7)), ((3, 1, 7), (5, 7))):
        a = _operand(sa, shape_a, 1).astype(dtype)
        b = _operand(sb, shape_b, 2).astype(dtype)
        case = f"{dtype} {shape_a} with {shape_b}"
        check(call(backend, name, a, b), ref(as64(a), as64(b)), name, case, out_dtype,
              exact=name in _COMPARISONS)


_INTEGER_BINARY = ("add", "subtract", "multiply", "maximum", "minimum", "floor_divide",
                   "remainder") + _COMPARISONS


@pytest.mark.parametrize("name", _INTEGER_BINARY)
def test_binary_integer(backend, name):
    a = np.arange(-17, 18, dtype=np.int64).reshape(5, 7)
    b = np.array([-3, -2, -1, 1, 2, 3, 7], dtype=np.int64)
    want = getattr(np, name)(a, b)       # numpy's floor semantics are the standard's
    check(call(backend, name, a, b), want, name, "int64 (5, 7) with (7,)", want.dtype.name,
          exact=True)


@pytest.mark.parametrize("name", ("logical_and", "logical_or", "logical_xor"))
def test_logical_binary(backend, name):
    a, b = values(-1, 1, seed=1) > 0, values(-1, 1, (5, 7), seed=2) > 0
    check(call(backend, name, a, b), getattr(np, name)(a, b), name, "bool (3, 5, 7) with (5, 7)",
          "bool", exact=True)


def test_where(backend):
    for dtype in FLOATS:
        cond = values(-1, 1, (3, 1, 7)) > 0
        a, b = values(-3, 3, (5, 7), dtype, seed=1), values(-3, 3, dtype=dtype, seed=2)
        check(call(backend, "where", cond, a, b), np.where(cond, a, b), "where",
              f"{dtype}, broadcast", dtype, exact=True)


def test_clip(backend):
    for dtype in FLOATS:
        x = values(-3, 3, dtype=dtype, edges=EDGES)
        lo = values(-2, 0, (5, 7), dtype, seed=1)
        hi = values(0, 2, (7,), dtype, seed=2)
        check(call(backend, "clip", x, lo, hi), np.minimum(np.maximum(x, lo), hi), "clip",
              f"{dtype}, array bounds", dtype, exact=True)


def test_astype(backend):
    f = values(-3, 3, edges=EDGES)
    cases = [
        (f, "float32"), (f.astype("float32"), "float64"), (np.round(f), "int64"),
        (np.arange(-5, 6), "float32"), (np.arange(-5, 6), "int32"), (f, "bool"),
        (f > 0, "float32"), (f > 0, "int64"),
    ]
    for x, dtype in cases:
        case = f"{x.dtype} -> {dtype}"
        check(call(backend, "astype", x, dtype=dtype), x.astype(dtype), "astype", case, dtype,
              exact=True)


# -- reductions ---------------------------------------------------------------
_AXES = (None, (1,), (0, 2), (2,), (0, 1, 2))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ("sum", "prod", "max", "min", "mean"))
def test_reductions(backend, name, dtype):
    # positive values keep sums free of cancellation, so relative tolerances mean something
    x = values(0.5, 1.5, dtype=dtype, edges=(1.0,))
    ref = getattr(np, name)
    for axis in _AXES:
        for keepdims in (False, True):
            got = call(backend, name, x, axis=axis, keepdims=keepdims)
            check(got, ref(as64(x), axis=axis, keepdims=keepdims), name,
                  f"{dtype} {SHAPE} axis={axis} keepdims={keepdims}", dtype)
    check(call(backend, name, np.asarray(1.25, dtype)), 1.25, name, f"0-d {dtype}", dtype)


def test_any_all(backend):
    x = values(-1, 1) > 0.8
    x[0] = True          # a slice with every element true
    x[1] = False         # and one with none
    for name in ("any", "all"):
        for axis in _AXES:
            for keepdims in (False, True):
                check(call(backend, name, x, axis=axis, keepdims=keepdims),
                      getattr(np, name)(x, axis=axis, keepdims=keepdims), name,
                      f"bool axis={axis} keepdims={keepdims}", "bool", exact=True)


def test_argmax_argmin(backend):
    for dtype in FLOATS:
        x = values(-3, 3, dtype=dtype)
        for name in ("argmax", "argmin"):
            for axis in (None, 0, 1, 2):
                for keepdims in (False, True):
                    want = getattr(np, name)(x, axis=axis, keepdims=keepdims)
                    got = call(backend, name, x, axis=axis, keepdims=keepdims)
                    check(got.astype(np.int64), want, name,
                          f"{dtype} axis={axis} keepdims={keepdims}", exact=True)
        # ties: the first occurrence wins, as in numpy and the standard
        t = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=dtype)
        check(call(backend, "argmax", t, axis=1).astype(np.int64), [1, 0], "argmax",
              "ties", exact=True)


# -- shape and creation -------------------------------------------------------
def test_shape_kernels(backend):
    x = values(-3, 3)
    y = values(-3, 3, (3, 2, 7), seed=1)
    z = values(-3, 3, (3, 1, 7), seed=2)
    cases = [
        ("reshape", (x,), {"shape": (7, 15)}, x.reshape(7, 15)),
        ("reshape", (x,), {"shape": (105,)}, x.reshape(105)),
        ("reshape", (np.asarray(2.0),), {"shape": (1, 1)}, np.ones((1, 1)) * 2),
        ("permute_dims", (x,), {"axes": (2, 0, 1)}, x.transpose(2, 0, 1)),
        ("broadcast_to", (z,), {"shape": (2, 3, 4, 7)}, np.broadcast_to(z, (2, 3, 4, 7))),
        ("concatenate", (x, y, z), {"axis": 1}, np.concatenate([x, y, z], axis=1)),
        ("concatenate", (x,), {"axis": 0}, x),
        ("stack", (x, x + 1), {"axis": 0}, np.stack([x, x + 1], axis=0)),
        ("stack", (x, x + 1, x + 2), {"axis": 3}, np.stack([x, x + 1, x + 2], axis=3)),
        ("flip", (x,), {"axis": None}, np.flip(x)),
        ("flip", (x,), {"axis": 1}, np.flip(x, axis=1)),
        ("flip", (x,), {"axis": (0, 2)}, np.flip(x, axis=(0, 2))),
        ("copy", (x,), {}, x),
    ]
    for name, ins, params, want in cases:
        check(call(backend, name, *ins, **params), want, name,
              f"{[a.shape for a in ins]} {params}", "float64", exact=True)


def test_creation_kernels(backend):
    xp = backend.xp
    cases = [
        ("arange", (0, 10, 3, "int64"), np.arange(0, 10, 3, dtype="int64")),
        ("arange", (0.5, 3.0, 0.25, "float32"), np.arange(0.5, 3.0, 0.25, dtype="float32")),
        ("arange", (5, 0, -2, "int32"), np.arange(5, 0, -2, dtype="int32")),
        ("zeros", ((2, 3), "float32"), np.zeros((2, 3), "float32")),
        ("ones", ((), "int64"), np.ones((), "int64")),
        ("full", ((3, 2), 2.5, "float64"), np.full((3, 2), 2.5)),
        ("full", ((2,), True, "bool"), np.full((2,), True)),
    ]
    for name, args, want in cases:
        got = np.asarray(backend.to_numpy(backend.kernel(name)(*args, xp=xp)))
        check(got, want, name, f"{args}", want.dtype.name, exact=True)


# -- indexing -----------------------------------------------------------------
_KEYS = [
    (slice(1, None, 2), 0),
    (None, slice(None), -1),
    (1,),
    (slice(None, None, -1),),
    (slice(1, 3), slice(None), slice(5, 0, -2)),
    (2, 4, 6),
    (),
]


def test_getitem(backend):
    x = values(-3, 3)
    for key in _KEYS:
        check(call(backend, "getitem", x, key), x[key], "getitem", f"key {key}", "float64",
              exact=True)
    check(call(backend, "getitem", np.asarray(1.5), ()), 1.5, "getitem", "0-d, key ()",
          exact=True)


def test_setitem(backend):
    for dtype in FLOATS:
        x = values(-3, 3, dtype=dtype)
        cases = [
            ((slice(1, 3), 0), values(-1, 1, (7,), dtype, seed=1)),      # y broadcasts
            ((slice(None), slice(None, None, 2), 3), values(-1, 1, (3, 3), dtype, seed=2)),
            ((2, 4, 6), np.asarray(9.0, dtype)),
            ((slice(0, 1),), values(-1, 1, (1, 5, 7), dtype, seed=3)),
        ]
        for key, y in cases:
            for inc in (False, True):
                want = x.copy()
                if inc:
                    want[key] += y
                else:
                    want[key] = y
                got = call(backend, "setitem", x, key, y, inc=inc)
                check(got, want, "setitem", f"{dtype} key {key} y {y.shape} inc={inc}", dtype)


def _take_loop(x, indices, axis):
    moved = np.moveaxis(x, axis, 0)
    out = np.empty((len(indices),) + moved.shape[1:], x.dtype)
    for j, i in enumerate(indices):
        out[j] = moved[i]
    return np.moveaxis(out, 0, axis)


def _scatter_add_loop(x, indices, vals, axis):
    out = np.moveaxis(np.array(x, dtype=np.float64 if x.dtype.kind == "f" else x.dtype), axis, 0)
    moved = np.moveaxis(vals, axis, 0)
    for j, i in enumerate(indices):
        out[i] += moved[j]
    return np.moveaxis(out, 0, axis)


def test_take(backend):
    for dtype in FLOATS:
        x = values(-3, 3, dtype=dtype)
        for axis in (0, 1, 2):
            n = x.shape[axis]
            idx = np.array([n - 1, 0, 1, 0, -1, -n, n - 1], dtype=np.int64)
            got = call(backend, "take", x, idx, axis=axis)
            check(got, _take_loop(x, idx, axis), "take", f"{dtype} axis={axis} {idx}", dtype,
                  exact=True)


def test_scatter_add(backend):
    rng = np.random.default_rng(3)
    for dtype in FLOATS:
        x = values(-3, 3, dtype=dtype)
        for axis in (0, 1, 2):
            n = x.shape[axis]
            for k in (1, 6, 40):   # 40 > n: many duplicates per target
                idx = rng.integers(-n, n, size=k)
                shape = list(x.shape)
                shape[axis] = k
                vals = values(-1, 1, tuple(shape), dtype, seed=k + axis)
                got = call(backend, "scatter_add", x, idx, vals, axis=axis)
                check(got, _scatter_add_loop(x, idx, vals, axis), "scatter_add",
                      f"{dtype} axis={axis} k={k} indices {idx.tolist()}", dtype)


def test_scatter_add_edges(backend):
    x = np.zeros((4, 3))
    # no indices: x unchanged
    got = call(backend, "scatter_add", x, np.zeros(0, np.int64), np.zeros((0, 3)), axis=0)
    check(got, x, "scatter_add", "no indices", "float64", exact=True)
    # an infinite value stays in its own row (no 0 * inf = NaN leaking elsewhere)
    vals = np.array([[np.inf, 1, 2], [1, 1, 1], [3, 3, 3]])
    idx = np.array([1, 2, 2])
    got = call(backend, "scatter_add", x, idx, vals, axis=0)
    check(got, _scatter_add_loop(x, idx, vals, 0), "scatter_add", "inf value", "float64",
          exact=True)
    # integers accumulate exactly; one-hot counting (the embedding-gradient pattern)
    xi = np.zeros(5, np.int64)
    idx = np.array([4, 0, 4, 4, 2, 0, 4], dtype=np.int64)
    got = call(backend, "scatter_add", xi, idx, np.ones(7, np.int64), axis=0)
    check(got, np.bincount(idx, minlength=5), "scatter_add", "int64 counting", "int64",
          exact=True)


# -- linear algebra -----------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_matmul(backend, dtype):
    cases = [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
             ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4,))]
    for sa, sb in cases:
        a, b = values(-1, 1, sa, dtype, seed=1), values(-1, 1, sb, dtype, seed=2)
        check(call(backend, "matmul", a, b), np.matmul(as64(a), as64(b)), "matmul",
              f"{dtype} {sa} @ {sb}", dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_tensordot(backend, dtype):
    a, b = values(-1, 1, (2, 3, 4), dtype, seed=1), values(-1, 1, (4, 3, 5), dtype, seed=2)
    for axes in (((1, 2), (1, 0)), ((2,), (0,)), ((), ())):
        want = np.tensordot(as64(a), as64(b), axes=(list(axes[0]), list(axes[1])))
        check(call(backend, "tensordot", a, b, axes=axes), want, "tensordot",
              f"{dtype} {a.shape}, {b.shape}, axes={axes}", dtype)


# -- nnet ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ("softmax", "log_softmax"))
def test_softmax(backend, name, dtype):
    ref = getattr(sp, name)
    for shape in ((7,), (3, 7), (2, 3, 5)):
        x = values(-8, 8, shape, dtype)
        check(call(backend, name, x), ref(as64(x), axis=-1), name, f"{dtype} {shape}", dtype)
        for axis in range(-len(shape), len(shape)):    # the core passes axis= off the last axis
            check(call(backend, name, x, axis=axis), ref(as64(x), axis=axis), name,
                  f"{dtype} {shape} axis={axis}", dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_logsumexp(backend, dtype):
    x = values(-8, 8, dtype=dtype)
    for axis in (None, (1,), (0, 2), (2,)):
        for keepdims in (False, True):
            want = sp.logsumexp(as64(x), axis=axis, keepdims=keepdims)
            check(call(backend, "logsumexp", x, axis=axis, keepdims=keepdims), want,
                  "logsumexp", f"{dtype} axis={axis} keepdims={keepdims}", dtype)


def test_nnet_extreme_values(backend):
    """Rows with +-1000 stay finite and match SciPy: the max is subtracted first."""
    rows = np.array([[1000.0, -1000.0, 0.0, 999.0],
                     [-1000.0, -1000.0, -1000.0, -1000.0],
                     [1000.0, 1000.0, 1000.0, 1000.0],
                     [0.0, 0.0, 0.0, 0.0]])
    for dtype in FLOATS:
        x = rows.astype(dtype)
        for name in ("softmax", "log_softmax"):
            got = call(backend, name, x)
            if not np.isfinite(got).all():
                raise fail(name, f"kernel {name!r}, case ±1000 rows {dtype}: not finite: {got}")
            check(got, getattr(sp, name)(as64(x), axis=-1), name, f"±1000 rows {dtype}", dtype)
        got = call(backend, "logsumexp", x, axis=(1,))
        check(got, sp.logsumexp(as64(x), axis=1), "logsumexp", f"±1000 rows {dtype}", dtype)


# -- random -------------------------------------------------------------------
_DRAWS = {"random_uniform": {"low": -2.0, "high": 3.0},
          "random_normal": {"mean": 1.0, "std": 2.0},
          "random_binomial": {"n": 3, "p": 0.25}}
N_DRAWS = 100_000
P_MIN = 1e-4     # a correct generator fails a KS test at this level once in 10 000 runs


def draw(backend, name, key, counter, shape, dtype, **params):
    fn = backend.kernel(name)
    try:
        out = fn(key, counter, shape, dtype, xp=backend.xp, **params)
    except Exception as err:
        raise blame(err, name)
    return np.asarray(backend.to_numpy(out))


@pytest.mark.parametrize("name", sorted(_DRAWS))
def test_random_reproducible(backend, name):
    params = _DRAWS[name]
    for dtype in ("float32", "float64") + (("int64",) if name == "random_binomial" else ()):
        first = draw(backend, name, 42, 7, (3, 5, 7), dtype, **params)
        case = f"{dtype} key 42 counter 7"
        check(first, draw(backend, name, 42, 7, (3, 5, 7), dtype, **params), name,
              f"{case}: the same (key, counter, shape) again", dtype, exact=True)
        for key, counter in ((42, 8), (43, 7)):
            other = draw(backend, name, key, counter, (3, 5, 7), dtype, **params)
            expect(other.shape == (3, 5, 7) and other.dtype == np.dtype(dtype), name,
                   f"{dtype} key {key} counter {counter}",
                   f"shape {other.shape} and dtype {other.dtype}, expected (3, 5, 7) {dtype}")
            expect(not np.array_equal(first, other), name, case,
                   f"key {key} counter {counter} gives the same numbers")
        check(draw(backend, name, 1, 0, (), dtype, **params).shape, (), name, "0-d shape",
              exact=True)


@pytest.mark.parametrize("dtype", FLOATS)
def test_random_uniform_distribution(backend, dtype):
    u = draw(backend, "random_uniform", 5, 0, (N_DRAWS,), dtype)
    expect(u.min() >= 0.0 and u.max() < 1.0, "random_uniform", dtype, "draws outside [0, 1)")
    p = st.kstest(as64(u), "uniform").pvalue
    expect(p > P_MIN, "random_uniform", dtype, f"KS p-value {p:.2g} against U(0, 1)")
    v = draw(backend, "random_uniform", 5, 0, (N_DRAWS,), dtype, low=-2.0, high=3.0)
    expect(v.min() >= -2.0 and v.max() <= 3.0, "random_uniform", dtype, "draws outside [-2, 3)")
    p = st.kstest(as64(v), "uniform", args=(-2.0, 5.0)).pvalue
    expect(p > P_MIN, "random_uniform", f"{dtype} low=-2 high=3", f"KS p-value {p:.2g}")
    # consecutive counters are independent draws, not shifted copies
    w = draw(backend, "random_uniform", 5, 1, (N_DRAWS,), dtype)
    for lag in (0, 1, 2, 4):
        r = np.corrcoef(as64(u)[lag:], as64(w)[:N_DRAWS - lag])[0, 1]
        expect(abs(r) < 5 / math.sqrt(N_DRAWS), "random_uniform", dtype,
               f"counters 0 and 1 correlate ({r:.3g}) at lag {lag}")


@pytest.mark.parametrize("dtype", FLOATS)
def test_random_normal_distribution(backend, dtype):
    z = draw(backend, "random_normal", 9, 3, (N_DRAWS // 100, 100), dtype)
    expect(np.isfinite(z).all(), "random_normal", dtype, "non-finite draws")
    p = st.kstest(as64(z).ravel(), "norm").pvalue
    expect(p > P_MIN, "random_normal", dtype, f"KS p-value {p:.2g} against N(0, 1)")
    y = as64(draw(backend, "random_normal", 9, 4, (N_DRAWS,), dtype, mean=1.0, std=2.0))
    p = st.kstest(y, "norm", args=(1.0, 2.0)).pvalue
    expect(p > P_MIN, "random_normal", f"{dtype} mean=1 std=2", f"KS p-value {p:.2g}")


@pytest.mark.parametrize("dtype", ("float32", "int64"))
def test_random_binomial_distribution(backend, dtype):
    for n, p in ((1, 0.3), (5, 0.4), (1, 0.0), (2, 1.0)):
        b = as64(draw(backend, "random_binomial", 11, 2, (N_DRAWS,), dtype, n=n, p=p))
        case = f"{dtype} n={n} p={p}"
        expect(set(np.unique(b)) <= set(range(n + 1)), "random_binomial", case,
               f"values {np.unique(b)}")
        sigma = math.sqrt(max(n * p * (1 - p), 1e-12) / N_DRAWS)
        expect(abs(b.mean() - n * p) <= 5 * sigma, "random_binomial", case,
               f"mean {b.mean():.4f}, expected {n * p} ± {5 * sigma:.4f}")
        if 0 < p < 1:
            observed = np.bincount(b.astype(np.int64), minlength=n + 1)
            expected = st.binom.pmf(np.arange(n + 1), n, p) * N_DRAWS
            chi = st.chisquare(observed, expected).pvalue
            expect(chi > P_MIN, "random_binomial", case, f"chi-square p-value {chi:.2g}")
