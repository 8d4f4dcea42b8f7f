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
