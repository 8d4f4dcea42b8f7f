"""First rewrites, tested as graphs: constant folding and merging."""
import numpy as np

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
