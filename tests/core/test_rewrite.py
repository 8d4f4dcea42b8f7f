"""First rewrites, tested as graphs: constant folding and merging."""
import numpy as np
import pytest

import layerkit.core.tensor as T
from layerkit.core.graph import Constant, toposort
from layerkit.core.rewrite import optimize
from layerkit.core.rewrite.fold import fold_constants
from layerkit.core.rewrite.merge import merge


def _ops(outputs):
    return [type(n.op).__name__ + ":" + str(n.op) for n in toposort(outputs)]


def test_constant_folding_replaces_constant_subgraphs():
    x = T.dvector("x")
    c = T.as_tensor_variable(np.array([1.0, 2.0]))
    (out,) = fold_constants([x + T.exp(c) * 2])
    ops = _ops([out])
    assert ops == ["Elemwise:add"], ops
    const = [i for i in out.owner.inputs if isinstance(i, Constant)][0]
    np.testing.assert_allclose(const.data, np.exp([1.0, 2.0]) * 2)


def test_merge_computes_equal_subexpressions_once():
    x, y = T.dvector("x"), T.dvector("y")
    out = (x + y) * T.exp(x + y) + (x + y)
    before = len(toposort([out]))
    (merged,) = merge([out])
    assert len(toposort([merged])) == before - 2
    adds = [n for n in toposort([merged]) if str(n.op) == "add" and n.inputs[0] is x]
    assert len(adds) == 1


def test_optimize_keeps_inputs_and_shape():
    x = T.dmatrix("x")
    (out,) = optimize([x.sum(axis=1) * 1.0])
    assert out.ndim == 1 and out.dtype == "float64"


def test_fusion_turns_an_elementwise_chain_into_one_node():
    from layerkit.core.rewrite.fuse import fuse_elemwise
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    out = T.exp(x + y) * z - 1.0
    (fused,) = fuse_elemwise([out])
    nodes = toposort([fused])
    assert len(nodes) == 1 and type(nodes[0].op).__name__ == "Fused"
    assert nodes[0].op.spec.describe() == "subtract(multiply(exp(add(x0, x1)), x2), x3)"
    # the temporaries of one shape share one buffer: every step after the first reuses one
    assert nodes[0].op.spec.reuse[1:] == (4, 5, 6)


def test_fusion_stops_at_values_used_twice(backend):
    import layerkit.core as theano
    x = T.dvector("x")
    s = T.exp(x)
    out = [s * 2, s + 1]
    f = theano.function([x], out, backend=backend.name)
    a = np.array([0.5, -1.0, 2.0])
    got = f(a)
    np.testing.assert_allclose(got[0], np.exp(a) * 2)
    np.testing.assert_allclose(got[1], np.exp(a) + 1)


@pytest.mark.filterwarnings("default::RuntimeWarning")   # errors raised: no in-place path
def test_inplace_update_writes_into_the_shared_storage_and_stays_correct(backend):
    import layerkit.core as theano
    w = theano.shared(np.ones(5), name="w")
    x = T.dvector("x")
    cost = ((w * x - 1.0) ** 2).sum()
    f = theano.function([x], cost, updates=[(w, w - 0.1 * T.grad(cost, w))], backend=backend.name)
    xv = np.linspace(0.5, 1.5, 5)
    f(xv)
    before = w.get_value(borrow=True, return_internal_type=True)
    ref = np.ones(5)
    ref -= 0.1 * 2 * (ref * xv - 1) * xv
    for _ in range(4):
        f(xv)
        ref -= 0.1 * 2 * (ref * xv - 1) * xv
    np.testing.assert_allclose(w.get_value(), ref, rtol=1e-12)
    if backend.name == "numpy":
        assert w.get_value(borrow=True, return_internal_type=True) is before
