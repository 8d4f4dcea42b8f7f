"""The CUDA source generated for fused elementwise chains, checked as text
(runs without cupy or a GPU), and compiled and run where a GPU is present."""
import numpy as np
import pytest

import layerkit.core.tensor as T
from layerkit.core.graph import toposort
from layerkit.core.rewrite.fuse import fuse_elemwise
from layerkit_cupy.fusion import elementwise_source


def _spec(expr):
    (fused,) = fuse_elemwise([expr])
    (node,) = toposort([fused])
    return node.op.spec


def test_sigmoid_of_affine_becomes_one_kernel_body():
    x, b = T.fmatrix("x"), T.fmatrix("b")
    in_params, out_params, body = elementwise_source(_spec(T.nnet.sigmoid(x + b) * 2.0))
    assert in_params == "float32 x0, float32 x1, float32 x2"
    assert out_params == "float32 out0"
    lines = body.splitlines()
    assert lines[0] == "float t0 = (x0 + x1);"
    assert lines[1].startswith("float t1 = (t0 >= 0 ? (float)1 / (1 + exp(-t0))")
    assert lines[2] == "float t2 = (t1 * x2);"
    assert lines[-1] == "out0 = t2;"


def test_rmsprop_update_body_and_types():
    p, g, acc = T.dmatrix("p"), T.dmatrix("g"), T.dmatrix("acc")
    acc_new = 0.9 * acc + 0.1 * g ** 2
    _, _, body = elementwise_source(_spec(p - 0.001 * g / T.sqrt(acc_new + 1e-6)))
    assert "sqrt(" in body and "pow(" in body
    assert all(line.startswith(("double ", "out0")) for line in body.splitlines())


def test_integer_floor_division_follows_python():
    a, b = T.lvector("a"), T.lvector("b")
    _, _, body = elementwise_source(_spec((a // b) + 1))
    assert "% " in body and "long long t0" in body


def test_maximum_propagates_nan_like_numpy():
    a, b = T.dvector("a"), T.dvector("b")
    _, _, body = elementwise_source(_spec(T.maximum(a, b) * 2))
    assert "isnan(x0)" in body


def test_generated_kernel_runs_on_the_gpu():
    from layerkit.backend import backend_status
    record = {r.name: r for r in backend_status()}["cupy"]
    if record.status != "available":
        pytest.skip(f"cupy backend unavailable: {record.error}")
    import layerkit.core as theano
    x, b = T.fmatrix("x"), T.fvector("b")
    f = theano.function([x, b], T.nnet.sigmoid(x + b) * 2.0, backend="cupy")
    xv = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    bv = np.array([0.1, -0.2, 0.3], dtype="float32")
    np.testing.assert_allclose(f(xv, bv), 2 / (1 + np.exp(-(xv + bv))), rtol=1e-6)


# -- the kernel cache: by structure -------------------------------------------------------
class _CountingCupy:
    """A stand-in for cupy that only records the kernels asked for (no compiler needed)."""

    def __init__(self):
        self.made = []

    def ElementwiseKernel(self, in_params, out_params, body, name, preamble=""):  # noqa: N802
        self.made.append((in_params, out_params, body, name, preamble))
        return lambda *args: ("ran", name, len(args))


@pytest.fixture
def counting_cupy(monkeypatch):
    import sys
    from layerkit_cupy import fusion
    fake = _CountingCupy()
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(fusion, "FUSED_CACHE", {})
    return fake


def test_kernels_are_cached_by_structure(counting_cupy):
    from dataclasses import replace
    from layerkit_cupy.fusion import build_kernel, kernel_name

    x, b = T.fmatrix("x"), T.fmatrix("b")
    u, v = T.fmatrix("u"), T.fmatrix("v")
    first = _spec(T.nnet.sigmoid(x + b) * 2.0)
    same = _spec(T.nnet.sigmoid(u + v) * 2.0)          # another graph, the same structure
    other = _spec(T.tanh(x + b) * 2.0)
    k1 = build_kernel(first)
    assert build_kernel(same) is k1
    assert build_kernel(replace(first, reuse=(None,) * len(first.reuse))) is k1  # hints only
    k2 = build_kernel(other)
    assert k2 is not k1
    assert len(counting_cupy.made) == 2
    in_params, out_params, body, name, preamble = counting_cupy.made[0]
    assert (in_params, out_params, body) == elementwise_source(first)
    assert name == kernel_name(in_params, out_params, body) and name.startswith("lk_fused_")
    assert "lk_ipow" in preamble
    assert k1.accepts_out and k1.source == elementwise_source(first)
    assert k1("a", "b", "c") == ("ran", name, 3)
    assert k1("a", "b", "c", out="o") == ("ran", name, 4)     # out is the last argument


def test_float64_and_float32_chains_are_different_kernels(counting_cupy):
    from layerkit_cupy.fusion import build_kernel
    f = _spec(T.exp(T.fmatrix("a")) + T.fmatrix("b"))
    d = _spec(T.exp(T.dmatrix("a")) + T.dmatrix("b"))
    assert build_kernel(f) is not build_kernel(d)
    assert len(counting_cupy.made) == 2


def test_backend_fuse_returns_none_for_an_op_without_a_cuda_form(monkeypatch):
    from layerkit.backend.fusion import FusedElemwise
    from layerkit_cupy.backend import CupyBackend

    spec = FusedElemwise(("float32",), (("no_such_op", (0,)),), ("float32",), (None,), 1)
    assert CupyBackend.fuse(object.__new__(CupyBackend), spec) is None


def test_integer_power_uses_the_integer_helper():
    a = T.lvector("a")
    _, _, body = elementwise_source(_spec(a ** 3 + a))
    assert "lk_ipow<long long>(" in body


def test_integer_rounding_is_the_identity_and_float_sign_keeps_nan():
    a = T.lvector("a")
    _, _, body = elementwise_source(_spec(T.floor(a) + T.round(a)))
    assert "floor(" not in body and "rint(" not in body
    x = T.dvector("x")
    _, _, body = elementwise_source(_spec(T.sgn(x) * 2))
    assert "(x0 == x0 ? (double)0 : x0)" in body


# -- the generated kernels run on the host emulation ----------------------------------------
def _fused_inputs(xp, expr, values):
    """The spec of ``expr`` fused, and its inputs in order as device arrays: the given
    values of the variables, the constants' own values."""
    from layerkit.core.graph import Constant
    (fused,) = fuse_elemwise([expr])
    (node,) = toposort([fused])
    inputs = []
    for i, dtype in zip(node.inputs, node.op.spec.inputs):
        value = i.data if isinstance(i, Constant) else values[i]
        inputs.append(xp.asarray(np.asarray(value, dtype=dtype)))
    return node.op.spec, inputs


def _floats(shape, seed, low=-3, high=3, dtype="float64"):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


FLOAT_CASES = [
    ("sigmoid affine", lambda x, y, z: T.nnet.sigmoid(x + y) * 2.0,
     lambda x, y, z: 2.0 / (1.0 + np.exp(-(x + y)))),
    ("sigmoid extremes", lambda x, y, z: T.nnet.sigmoid(x * 300.0) + y,
     lambda x, y, z: __import__("scipy.special").special.expit(x * 300.0) + y),
    ("softplus", lambda x, y, z: T.nnet.softplus(x * 100.0) - y,
     lambda x, y, z: np.logaddexp(0.0, x * 100.0) - y),
    ("exp log1p abs", lambda x, y, z: T.exp(x) * T.log1p(abs(y)),
     lambda x, y, z: np.exp(x) * np.log1p(np.abs(y))),
    ("max min", lambda x, y, z: T.maximum(x, y) + T.minimum(x, z),
     lambda x, y, z: np.maximum(x, y) + np.minimum(x, z)),
    ("switch", lambda x, y, z: T.switch(T.gt(x, y), x, z) * 3.0,
     lambda x, y, z: np.where(x > y, x, z) * 3.0),
    ("clip", lambda x, y, z: T.clip(x, T.minimum(y, z), T.maximum(y, z)) + 1.0,
     lambda x, y, z: np.clip(x, np.minimum(y, z), np.maximum(y, z)) + 1.0),
    ("rounding", lambda x, y, z: T.floor(x) + T.ceil(y) * 10 + T.round(z * 2) * 100,
     lambda x, y, z: np.floor(x) + np.ceil(y) * 10 + np.rint(z * 2) * 100),
    ("sign square sqrt", lambda x, y, z: T.sgn(x) * T.sqr(y) + T.sqrt(abs(z)),
     lambda x, y, z: np.sign(x) * np.square(y) + np.sqrt(np.abs(z))),
    ("tanh erf arctan2", lambda x, y, z: T.tanh(x) + T.erf(y) + T.arctan2(y, z),
     lambda x, y, z: np.tanh(x) + __import__("scipy.special").special.erf(y) + np.arctan2(y, z)),
    ("power", lambda x, y, z: T.pow(abs(x) + 1.0, y) - z,
     lambda x, y, z: np.power(np.abs(x) + 1.0, y) - z),
    ("floor div and remainder", lambda x, y, z: (x // (abs(y) + 0.5)) + (x % (abs(z) + 0.5)),
     lambda x, y, z: (x // (np.abs(y) + 0.5)) + (x % (np.abs(z) + 0.5))),
    ("rmsprop update", lambda p, g, a: p - 0.01 * g / T.sqrt(0.9 * a * a + 0.1 * g ** 2 + 1e-6),
     lambda p, g, a: p - 0.01 * g / np.sqrt(0.9 * a * a + 0.1 * g ** 2 + 1e-6)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("label,build,ref", FLOAT_CASES, ids=[c[0] for c in FLOAT_CASES])
def test_fused_kernels_compute_what_numpy_computes(host_cupy, dtype, label, build, ref):
    from layerkit_cupy.fusion import build_kernel
    mk = T.dmatrix if dtype == "float64" else T.fmatrix
    variables = [mk("x"), mk("y"), mk("z")]
    args = [_floats((4, 6), k, dtype=dtype) for k in range(3)]
    spec, dev = _fused_inputs(host_cupy, build(*variables), dict(zip(variables, args)))
    got = np.asarray(build_kernel(spec)(*dev))
    want = ref(*[a.astype("float64") for a in args])
    rtol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 10)
    out = host_cupy.empty(want.shape, dtype=dtype)
    assert build_kernel(spec)(*dev, out=out) is out
    np.testing.assert_array_equal(np.asarray(out), got)


def test_nan_propagation_in_maximum_and_sign(host_cupy):
    from layerkit_cupy.fusion import build_kernel
    x, y = T.dvector("x"), T.dvector("y")
    a = np.array([np.nan, 1.0, -0.0, 2.0])
    b = np.array([0.0, np.nan, 0.0, -1.0])
    spec, dev = _fused_inputs(host_cupy, T.maximum(x, y) + T.sgn(x) * 0.0 + T.minimum(y, x),
                              {x: a, y: b})
    got = np.asarray(build_kernel(spec)(*dev))
    want = np.maximum(a, b) + np.sign(a) * 0.0 + np.minimum(b, a)
    np.testing.assert_array_equal(got, want)


def test_integer_chains(host_cupy):
    from layerkit_cupy.fusion import build_kernel
    a, b = T.lvector("a"), T.lvector("b")
    av = np.array([-7, 7, -7, 7, 0, 123456789, -5])
    bv = np.array([3, -3, -3, 3, 5, 1000, 2])
    spec, dev = _fused_inputs(host_cupy, (a // b) * 1000 + (a % b) * 10 + abs(a) + T.sgn(b)
                              + a ** 3, {a: av, b: bv})
    got = np.asarray(build_kernel(spec)(*dev))
    want = (av // bv) * 1000 + (av % bv) * 10 + np.abs(av) + np.sign(bv) + av ** 3
    np.testing.assert_array_equal(got, want)


def test_broadcast_inputs(host_cupy):
    from layerkit_cupy.fusion import build_kernel
    x, b = T.fmatrix("x"), T.frow("b")
    xv, bv = _floats((5, 3), 0, dtype="float32"), _floats((1, 3), 1, dtype="float32")
    spec, dev = _fused_inputs(host_cupy, T.nnet.sigmoid(x + b) * 2.0, {x: xv, b: bv})
    got = np.asarray(build_kernel(spec)(*dev))
    np.testing.assert_allclose(got, 2 / (1 + np.exp(-(xv + bv))), rtol=2e-6)
