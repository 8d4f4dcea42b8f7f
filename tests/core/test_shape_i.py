"""``x.shape[i]`` is one ``ShapeI`` node: its value, its uses in reshapes and
gradients, a static size folded to a constant, a bad index refused at build."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.graph import toposort
from layerkit.core.ops.shape import Shape, ShapeI


def _ops(fn):
    return [type(n.op) for n in toposort(fn.outputs)]


@pytest.mark.parametrize("i", [0, 1, 2, -1, -3])
def test_a_size_is_one_node_with_numpys_value(i):
    x = T.tensor3("x")
    f = theano.function([x], x.shape[i])
    assert ShapeI in _ops(f) and Shape not in _ops(f)
    data = np.zeros((2, 5, 7), dtype=x.dtype)
    got = f(data)
    assert got == data.shape[i] and np.asarray(got).dtype == np.int64


def test_sizes_drive_a_reshape_and_a_mean_with_its_gradient():
    x = T.matrix("x")
    rows = x.reshape((x.shape[0] * x.shape[1],))
    cost = T.sum(rows ** 2) / x.shape[0]
    f = theano.function([x], [rows, cost, T.grad(cost, x)])
    data = np.arange(12, dtype=x.dtype).reshape(3, 4) / 7
    flat, c, g = f(data)
    np.testing.assert_array_equal(flat, data.ravel())
    ref = (data.astype("float64") ** 2).sum() / 3
    np.testing.assert_allclose(c, ref, rtol=1e-6)
    np.testing.assert_allclose(g, 2 * data.astype("float64") / 3, rtol=1e-6)


def test_a_static_size_is_a_constant_and_a_bad_index_is_refused():
    x = T.TensorType("float64", (4, None))("x")
    assert isinstance(x.shape[0], theano.Constant) and int(x.shape[0].data) == 4
    assert x.shape[1].owner.op == ShapeI(1)
    with pytest.raises(IndexError, match="out of bounds for a 2-d tensor"):
        ShapeI(2)(x)


def test_negative_and_positive_indices_share_one_node():
    x = T.matrix("x")
    f = theano.function([x], [x.shape[-1], x.shape[1]])
    assert _ops(f).count(ShapeI) == 1
    assert [int(v) for v in f(np.zeros((2, 3), dtype=x.dtype))] == [3, 3]


def test_a_scan_gradient_keeps_a_size_not_the_array():
    """The backward loop reads z.shape[0] (the gradient of z.sum()): the forward
    loop keeps that size per step, not z (200 steps x 400 kB here)."""
    import tracemalloc
    xs = T.dmatrix("xs")
    w = theano.shared(np.linspace(0, 1, 50_000), name="w")

    def step(x_t, acc):
        z = x_t[0] * w + 1.0
        return acc + z.sum()
    outs, _ = theano.scan(step, sequences=[xs], outputs_info=[T.constant(0.0, dtype="float64")])
    g = theano.function([xs], T.grad(outs[-1], w))
    data = np.random.default_rng(0).normal(size=(200, 3))
    np.testing.assert_allclose(g(data), np.full(50_000, data[:, 0].sum()), rtol=1e-12)
    tracemalloc.start()
    try:
        g(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # one value of w's size per step is kept today (the per-step factor of the
    # weight gradient: 80 MB); keeping z as well doubled it
    assert peak < 1.5 * 200 * w.get_value().nbytes
