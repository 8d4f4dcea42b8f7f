"""Canonicalisation and specialisation rewrites, tested graph-in / graph-out.

Each test builds a graph, rewrites it, checks the ops that remain and then
checks the value of the rewritten graph against numpy in float64, so a rule
that changes the result fails too.
"""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.graph import toposort
from layerkit.core.rewrite import optimize
from layerkit.core.rewrite.canonicalize import canonicalize, specialize
from layerkit.core.rewrite.merge import merge


def _ops(outputs):
    return [str(n.op) for n in toposort(outputs)]


def _value(outputs, inputs, values):
    """Evaluate already-rewritten ``outputs`` without rewriting them again (FAST_COMPILE
    would still optimize), by walking the graph with the host backend's thunks."""
    from layerkit.backend import host_backend
    host = host_backend()
    env = {id(v): np.asarray(a) for v, a in zip(inputs, values)}
    for node in toposort(outputs):
        args = [env[id(i)] if id(i) in env else i.data for i in node.inputs]
        result = node.op.thunk(host, node)(*args)
        results = result if isinstance(result, tuple) else (result,)
        for o, r in zip(node.outputs, results):
            env[id(o)] = np.asarray(r)
    return [env[id(o)] if id(o) in env else o.data for o in outputs]


RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))


def test_sum_of_a_sum_with_itself_becomes_two_times_it():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    out = (x + y) + (x + y)
    (new,) = canonicalize(merge([out]))
    assert _ops([new]) == ["add", "multiply"]
    two = [i for i in new.owner.inputs if i is not new.owner.inputs[1]][0]
    assert float(two.data.reshape(())) == 2.0
    np.testing.assert_allclose(_value([new], [x, y], [A, B])[0], 2 * (A + B))


@pytest.mark.parametrize("build, expected", [
    (lambda x: x * 1, lambda a: a),
    (lambda x: 1 * x, lambda a: a),
    (lambda x: x + 0, lambda a: a),
    (lambda x: 0 + x, lambda a: a),
    (lambda x: x - 0, lambda a: a),
    (lambda x: x / 1, lambda a: a),
    (lambda x: x ** 1, lambda a: a),
    (lambda x: -(-x), lambda a: a),
])
def test_neutral_operands_disappear(build, expected):
    x = T.dmatrix("x")
    (new,) = canonicalize([build(x)])
    assert new is x


def test_a_neutral_operand_that_broadcasts_stays():
    """``x * ones((3, 4))`` for a vector x broadcasts: dropping it would change the shape."""
    x = T.dvector("x")
    out = x * np.ones((3, 4))
    (new,) = canonicalize([out])
    assert new.ndim == 2 and "multiply" in _ops([new])


def test_a_neutral_operand_that_changes_the_dtype_stays():
    x = T.ivector("x")
    out = x * 1.0          # float result: x itself is int32
    (new,) = canonicalize([out])
    assert new.dtype == out.dtype and _ops([new]) != []


def test_log_of_one_plus_x_becomes_log1p():
    x = T.dvector("x")
    for out in (T.log(1 + x), T.log(x + 1)):
        (new,) = canonicalize([out])
        assert _ops([new]) == ["log1p"]
        small = np.array([1e-18, 1e-10, 0.5])
        np.testing.assert_allclose(_value([new], [x], [small])[0], np.log1p(small), rtol=1e-15)


def test_exp_minus_one_becomes_expm1():
    x = T.dvector("x")
    (new,) = canonicalize([T.exp(x) - 1])
    assert _ops([new]) == ["expm1"]
    small = np.array([1e-18, 1e-10, 0.5])
    np.testing.assert_allclose(_value([new], [x], [small])[0], np.expm1(small), rtol=1e-15)


def test_double_transpose_cancels():
    x = T.dmatrix("x")
    (new,) = canonicalize([x.T.T])
    assert new is x


def test_dimshuffle_chain_becomes_one_dimshuffle():
    x = T.dmatrix("x")
    out = x.dimshuffle(1, "x", 0).dimshuffle(2, 0, 1)       # (4, 1, 3) -> (3, 4, 1)
    (new,) = canonicalize([out])
    assert _ops([new]) == ["DimShuffle{0,1,x}"]
    np.testing.assert_array_equal(_value([new], [x], [A])[0], A[:, :, None])


def test_reshape_chain_becomes_one_reshape():
    x = T.dmatrix("x")
    out = x.reshape((12,)).reshape((2, 6)).reshape((6, 2))
    (new,) = canonicalize([out])
    reshapes = [n for n in toposort([new]) if type(n.op).__name__ == "Reshape"]
    assert len(reshapes) == 1 and reshapes[0].inputs[0] is x
    np.testing.assert_array_equal(_value([new], [x], [A])[0], A.reshape(6, 2))


def test_sum_of_a_scalar_is_the_scalar():
    s = T.dscalar("s")
    (new,) = canonicalize([T.sum(s)])
    assert new is s


def test_power_by_constants_is_specialised():
    x = T.dvector("x")
    a = np.array([0.5, 2.0, 3.0])
    for p, kernel, ref in ((2, "square", a ** 2), (0.5, "sqrt", np.sqrt(a)),
                           (-1, "reciprocal", 1 / a)):
        (new,) = specialize([x ** p])
        assert _ops([new]) == [kernel]
        np.testing.assert_allclose(_value([new], [x], [a])[0], ref, rtol=1e-15)


def test_integer_power_is_not_specialised_to_float_kernels():
    x = T.ivector("x")
    (new,) = specialize([x ** 2])
    assert new.dtype == "int32"


def test_the_pipeline_on_the_gradient_of_a_transpose(backend):
    """The gradient of ``dot(w.T, v)`` is built from transposes; after the pipeline no
    dimshuffle reads another one, and the compiled result is exact."""
    v = T.dvector("v")
    w = theano.shared(A.copy(), name="w")
    cost = T.sum(T.dot(w.T, v) ** 2)
    g = T.grad(cost, w)
    (opt,) = optimize([g])
    chains = [n for n in toposort([opt]) if type(n.op).__name__ == "DimShuffle"
              and n.inputs[0].owner is not None
              and type(n.inputs[0].owner.op).__name__ == "DimShuffle"]
    assert chains == []
    f = theano.function([v], g, backend=backend.name)
    b = RNG.standard_normal(3)
    np.testing.assert_allclose(f(b), 2 * np.outer(b, A.T @ b), rtol=1e-12)


@pytest.mark.parametrize("excluded", ["fusion", "inplace", "canonicalize:specialize",
                                      "constant_folding:merge:canonicalize:specialize:fusion:inplace"])
def test_optimizer_excluding_skips_phases_and_keeps_results(excluded, backend, monkeypatch):
    """Every phase can be switched off (for measuring it); the values do not change."""
    from layerkit.core import config
    x = T.dmatrix("x")
    w = theano.shared(A.T.copy(), name="w")
    out = T.sum(T.log(1 + T.exp(T.dot(x, w) * 1)) ** 2)
    monkeypatch.setattr(config, "optimizer_excluding", excluded)
    f = theano.function([x], out, updates=[(w, w - 0.1 * T.grad(out, w))], backend=backend.name)
    ops = f.source
    if "fusion" in excluded:
        assert "Fused" not in str([str(n.op) for n in toposort(f.outputs + f.update_values)])
    if "inplace" in excluded:
        assert "out=" not in ops
    w0 = A.T.copy()
    z = B @ w0
    expected = np.sum(np.log1p(np.exp(z)) ** 2)
    np.testing.assert_allclose(f(B), expected, rtol=1e-12)
    grad = B.T @ (2 * np.log1p(np.exp(z)) / (1 + np.exp(-z)))
    np.testing.assert_allclose(w.get_value(), w0 - 0.1 * grad, rtol=1e-12)


def test_fusion_and_inplace_happen_by_default(backend):
    x = T.dmatrix("x")
    w = theano.shared(A.T.copy(), name="w")
    out = T.sum(T.dot(x, w) ** 2)
    f = theano.function([x], out, updates=[(w, w - 0.1 * T.grad(out, w))], backend=backend.name)
    assert any(type(n.op).__name__ == "Fused" for n in toposort(f.outputs + f.update_values))
    # in place only where the backend's kernels accept out= (array-api-strict's do not)
    assert ("out=" in f.source) == backend.supports_out("subtract")


def test_gradient_of_gate_slices_is_one_concatenation():
    """The gradient of an LSTM's four gate slices: one buffer, not four zeroed
    copies and their sum; the value is numpy's."""
    z = T.dmatrix("z")
    n = 3
    cost = (T.sum(T.nnet.sigmoid(z[:, :n]) * 2.0) + T.sum(T.tanh(z[:, 2 * n:3 * n]))
            + T.sum(T.nnet.sigmoid(z[:, n:2 * n]) ** 2) + T.sum(T.exp(z[:, 3 * n:])))
    g = T.grad(cost, z)
    merged = merge([g])
    out = canonicalize(merged)
    ops = _ops(out)
    assert sum(op.startswith("Concatenate") for op in ops) == 1
    # the pieces cover the whole axis: the concatenation is the gradient, no zeros
    assert not any(op.startswith("IncSubtensor") for op in ops)
    zv = np.random.default_rng(0).normal(size=(2, 4 * n))
    s = 1 / (1 + np.exp(-zv))
    ref = np.concatenate([2 * s[:, :n] * (1 - s[:, :n]),
                          2 * s[:, n:2 * n] ** 2 * (1 - s[:, n:2 * n]),
                          1 - np.tanh(zv[:, 2 * n:3 * n]) ** 2, np.exp(zv[:, 3 * n:])], axis=1)
    np.testing.assert_allclose(_value(out, [z], [zv])[0], ref, rtol=1e-12)


def test_slices_with_a_gap_are_not_joined():
    z = T.dmatrix("z")
    g = T.grad(T.sum(z[:, :2] ** 2) + T.sum(z[:, 3:] * 3.0), z)
    out = canonicalize(merge([g]))
    assert not any(op.startswith("Concatenate") for op in _ops(out))
    zv = np.arange(10.0).reshape(2, 5)
    ref = np.zeros_like(zv)
    ref[:, :2] = 2 * zv[:, :2]
    ref[:, 3:] = 3.0
    np.testing.assert_allclose(_value(out, [z], [zv])[0], ref)


def test_gradient_of_every_row_taken_by_index_is_one_concatenation():
    """An unrolled loop reads x[0], x[1], ...: the gradient is one buffer, not a
    zeroed copy of x per row."""
    x = T.dmatrix("x")
    cost = sum(T.sum(T.tanh(x[t]) * (t + 1)) for t in range(4))
    out = canonicalize(merge([T.grad(cost, x)]))
    ops = _ops(out)
    assert sum(op.startswith("IncSubtensor") for op in ops) == 1
    xv = np.random.default_rng(1).normal(size=(4, 3))
    ref = (1 - np.tanh(xv) ** 2) * np.arange(1, 5)[:, None]
    np.testing.assert_allclose(_value(out, [x], [xv])[0], ref, rtol=1e-12)


def test_a_broadcast_piece_is_not_joined():
    z = T.dmatrix("z")
    row = T.row("row", dtype="float64")
    total = T.inc_subtensor(T.zeros_like(z)[:, :2], row) + T.inc_subtensor(T.zeros_like(z)[:, 2:], row)
    out = canonicalize(merge([total]))
    assert not any(op.startswith("Concatenate") for op in _ops(out))


def test_joined_pieces_still_broadcast_as_each_write_did():
    """inc(Z[0:3], M) with M of one row broadcasts; joined with its neighbour it must too."""
    M, N = T.dmatrix("M"), T.dmatrix("N")
    zeros = T.zeros((5, 3), dtype="float64")
    f = theano.function([M, N], T.inc_subtensor(zeros[0:3], M) + T.inc_subtensor(zeros[3:5], N))
    np.testing.assert_array_equal(f(np.ones((1, 3)), np.full((2, 3), 2.0)),
                                  [[1.0] * 3] * 3 + [[2.0] * 3] * 2)


def test_a_term_added_twice_is_kept_twice():
    from layerkit.core.rewrite.canonicalize import adjacent_slices_of_zeros
    a, b = T.dmatrix("a"), T.dmatrix("b")
    zeros = T.zeros((4, 2), dtype="float64")
    v, w = T.set_subtensor(zeros[0:2], a), T.inc_subtensor(zeros[2:4], b)
    total = (v + w) + v
    rewritten = adjacent_slices_of_zeros(total.owner)[0]
    got = _value([rewritten], [a, b], [np.ones((2, 2)), np.full((2, 2), 3.0)])[0]
    np.testing.assert_array_equal(got, [[2.0, 2.0], [2.0, 2.0], [3.0, 3.0], [3.0, 3.0]])


def test_a_sum_of_transposed_products_is_one_product():
    """An unrolled RNN's weight gradient: one term per step, one GEMM."""
    xs = [T.dmatrix(f"x{k}") for k in range(4)]
    gs = [T.dmatrix(f"g{k}") for k in range(4)]
    total = sum((T.dot(x.T, g) for x, g in zip(xs, gs)), T.zeros((3, 2), dtype="float64"))
    out = canonicalize(merge([total]))
    assert sum(op == "MatMul" for op in _ops(out)) == 1
    rng = np.random.default_rng(3)
    xv = [rng.normal(size=(k + 1, 3)) for k in range(4)]
    gv = [rng.normal(size=(k + 1, 2)) for k in range(4)]
    ref = sum(x.T @ g for x, g in zip(xv, gv))
    np.testing.assert_allclose(_value(out, xs + gs, xv + gv)[0], ref, rtol=1e-12)


def test_products_that_may_broadcast_are_not_joined():
    xs = [T.dmatrix(f"x{k}") for k in range(3)]
    col = T.TensorType("float64", (None, 1))("col")
    total = T.dot(xs[0].T, col) + T.dot(xs[1].T, col) + T.dot(xs[2].T, col)
    out = canonicalize(merge([total]))
    assert sum(op == "MatMul" for op in _ops(out)) == 3


def test_a_long_chain_of_additions_compiles_in_linear_time():
    """The rules that walk trees of additions stop at a bounded number of terms
    (a chain of 3000 additions once recursed past Python's limit)."""
    x = T.dvector("x")
    y = x
    for i in range(3000):
        y = y + x * float(i)
    f = theano.function([x], y)
    np.testing.assert_allclose(f(np.ones(2)), np.full(2, 1 + sum(range(3000))))


def test_a_reversed_empty_slice_is_not_joined():
    m = T.zeros((3, 4), dtype="float64")
    x = T.dmatrix("x")
    out = T.set_subtensor(m[0:1], x) + T.set_subtensor(m[1:0], T.zeros((0, 4), dtype="float64"))
    f = theano.function([x], out)
    np.testing.assert_array_equal(f(np.array([[1.0, 2.0, 3.0, 4.0]])),
                                  [[1.0, 2.0, 3.0, 4.0], [0.0] * 4, [0.0] * 4])


def test_a_joined_run_is_never_split_by_an_overlapping_write():
    """[0:2] + [2:4] joined, then [2:3] overlapping: every term is kept."""
    a, b, c = T.dmatrix("a"), T.dmatrix("b"), T.dmatrix("c")
    z = T.zeros((5, 2), dtype="float64")
    out = (T.inc_subtensor(z[0:2], a) + T.inc_subtensor(z[2:4], b)) + T.inc_subtensor(z[2:3], c)
    f = theano.function([a, b, c], out)
    av, bv, cv = np.ones((2, 2)), np.full((2, 2), 2.0), np.full((1, 2), 5.0)
    ref = np.zeros((5, 2))
    ref[0:2] += av
    ref[2:4] += bv
    ref[2:3] += cv
    np.testing.assert_array_equal(f(av, bv, cv), ref)
