"""``axis`` of softmax / log-softmax (issue 16, item 4): it is honoured, not ignored.

Every spelling (``T.softmax``, ``T.nnet.softmax``, ``T.log_softmax``,
``T.nnet.logsoftmax``), every axis (negative too, None for every element),
1- to 4-d inputs, against SciPy in float64; gradients by finite differences;
the stable forms keep the axis; compiled with and without the rewrite passes.
"""
import numpy as np
import pytest
import scipy.special as sp

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core import config
from layerkit.core.graph import toposort
from layerkit.testing import verify_grad

RNG = np.random.default_rng(16)
NO_REWRITES = "constant_folding:merge:canonicalize:specialize:fusion:inplace"
SPELLINGS = {
    "T.softmax": (T.softmax, sp.softmax),
    "T.nnet.softmax": (T.nnet.softmax, sp.softmax),
    "T.log_softmax": (T.log_softmax, sp.log_softmax),
    "T.nnet.logsoftmax": (T.nnet.logsoftmax, sp.log_softmax),
}
SHAPES = [(5,), (3, 4), (2, 3, 4), (2, 3, 1, 4)]


def _ops(outputs):
    return [n.op for n in toposort(outputs if isinstance(outputs, list) else [outputs])]


@pytest.fixture(params=["rewrites", "no_rewrites"])
def rewrites(request, monkeypatch):
    if request.param == "no_rewrites":
        monkeypatch.setattr(config, "optimizer_excluding", NO_REWRITES)
    return request.param


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_axis_of_every_ndim_matches_scipy(spelling, backend, rewrites):
    build, ref = SPELLINGS[spelling]
    for shape in SHAPES:
        x = T.tensor("float64", shape=(None,) * len(shape), name="x")
        xv = RNG.standard_normal(shape) * 4
        for axis in [*range(-len(shape), len(shape)), None]:
            f = theano.function([x], build(x, axis=axis), backend=backend.name)
            np.testing.assert_allclose(f(xv), ref(xv, axis=axis), rtol=1e-12, atol=1e-14,
                                       err_msg=f"{spelling} {shape} axis={axis}")


def test_default_is_still_the_last_axis(backend):
    x = T.dtensor3("x")
    xv = RNG.standard_normal((2, 3, 4))
    f = theano.function([x], [T.nnet.softmax(x), T.log_softmax(x)], backend=backend.name)
    sm, lsm = f(xv)
    np.testing.assert_allclose(sm, sp.softmax(xv, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(lsm, sp.log_softmax(xv, axis=-1), rtol=1e-12)


def test_axis_zero_of_a_matrix_is_columns_not_rows(backend):
    """The issue's case: axis=0 gave the row softmax."""
    x = T.dmatrix("x")
    xv = np.arange(6.0).reshape(2, 3)
    got = theano.function([x], T.nnet.softmax(x, axis=0), backend=backend.name)(xv)
    np.testing.assert_allclose(got.sum(axis=0), np.ones(3), rtol=1e-12)
    np.testing.assert_allclose(got, sp.softmax(xv, axis=0), rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -2, -1, None])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_gradient_along_the_axis_by_finite_differences(name, axis, backend, rewrites):
    fn = getattr(T, name)
    xv = RNG.standard_normal((3, 4, 2))
    verify_grad(lambda x: fn(x, axis=axis), [xv], backend=backend.name)
    # a non-linear cost of the output: the gradient's sum is over the same axis
    verify_grad(lambda x: T.sqr(fn(x, axis=axis) + 0.3), [xv], backend=backend.name)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_gradient_closed_form(axis, backend):
    """d/dx sum(w * log_softmax(x, axis)) = w - softmax(x, axis) * sum(w, axis)."""
    x, w = T.dmatrix("x"), T.dmatrix("w")
    xv, wv = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    cost = T.sum(w * T.log_softmax(x, axis=axis))
    g = theano.function([x, w], T.grad(cost, x), backend=backend.name)(xv, wv)
    want = wv - sp.softmax(xv, axis=axis) * wv.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)


# -- the stable forms keep the axis -------------------------------------------------------

EXTREME = np.array([[1000.0, -1000.0, 0.0],
                    [-1000.0, 1000.0, 1.0]])      # +-1000 down the columns (axis 0)


def test_log_of_softmax_becomes_log_softmax_on_the_same_axis(backend, rewrites):
    x = T.dmatrix("x")
    for axis in (0, -2, 1, None):
        y = T.log(T.nnet.softmax(x, axis=axis))
        kinds = [(type(op).__name__, getattr(op, "axis", "-")) for op in _ops(y)]
        want_axis = None if axis is None else axis % 2
        assert ("LogSoftmax", want_axis) in kinds, kinds
        assert "Softmax" not in [k for k, _ in kinds]
        g = T.grad(T.sum(y * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])), x)
        out, gv = theano.function([x], [y, g], backend=backend.name)(EXTREME)
        np.testing.assert_allclose(out, sp.log_softmax(EXTREME, axis=axis), rtol=1e-12)
        assert np.isfinite(gv).all()


def test_exp_of_log_softmax_becomes_softmax_on_the_same_axis(backend):
    x = T.dmatrix("x")
    y = T.exp(T.log_softmax(x, axis=0))
    assert [(type(op).__name__, op.axis) for op in _ops(y)] == [("Softmax", 0)]
    got = theano.function([x], y, backend=backend.name)(EXTREME)
    np.testing.assert_allclose(got, sp.softmax(EXTREME, axis=0), rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -2, None])
def test_hand_written_softmax_along_an_axis_becomes_softmax_on_that_axis(axis, backend, rewrites):
    x = T.dmatrix("x")
    e = T.exp(x - x.max(axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)
    assert [(type(op).__name__, op.axis) for op in _ops(y)] == \
        [("Softmax", None if axis is None else axis % 2)]
    got = theano.function([x], [y, T.log(y)], backend=backend.name)(EXTREME)
    np.testing.assert_allclose(got[0], sp.softmax(EXTREME, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(got[1], sp.log_softmax(EXTREME, axis=axis), rtol=1e-12)


def test_hand_written_forms_that_are_no_single_softmax_keep_their_value(backend):
    """A sum over two of three axes is no softmax the op computes: not rewritten,
    and the max taken along another axis than the sum is not dropped."""
    x = T.dtensor3("x")
    xv = RNG.standard_normal((2, 3, 4))
    e = T.exp(x)
    two_axes = e / e.sum(axis=(0, 2), keepdims=True)
    assert "Softmax" not in [type(op).__name__ for op in _ops(two_axes)]
    m = T.exp(x - x.max(axis=2, keepdims=True))
    other = m / m.sum(axis=1, keepdims=True)
    f = theano.function([x], [two_axes, other], backend=backend.name)
    a, b = f(xv)
    np.testing.assert_allclose(a, np.exp(xv) / np.exp(xv).sum(axis=(0, 2), keepdims=True),
                               rtol=1e-12)
    shifted = xv - xv.max(axis=2, keepdims=True)        # not constant along axis 1
    np.testing.assert_allclose(b, sp.softmax(shifted, axis=1), rtol=1e-12)
    assert not np.allclose(b, sp.softmax(xv, axis=1))


def test_crossentropy_of_a_softmax_along_another_axis(backend, rewrites):
    """``categorical_crossentropy(softmax(z, axis=0), y)`` is the log of that softmax:
    the stable form must not silently switch to the class (last) axis."""
    z, y = T.dmatrix("z"), T.lvector("y")
    zv, yv = RNG.standard_normal((3, 4)) * 3, np.array([3, 0, 2])
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(z, axis=0), y)
    g = T.grad(loss.sum(), z)
    c, gv = theano.function([z, y], [loss, g], backend=backend.name)(zv, yv)
    np.testing.assert_allclose(c, -sp.log_softmax(zv, axis=0)[np.arange(3), yv], rtol=1e-12)
    onehot = np.eye(4)[yv]
    np.testing.assert_allclose(gv, -(onehot - sp.softmax(zv, axis=0) * onehot.sum(axis=0)),
                               rtol=1e-10, atol=1e-12)


# -- accepted arguments either work or raise ------------------------------------------------

@pytest.mark.parametrize("fn", [T.softmax, T.nnet.softmax, T.log_softmax, T.nnet.logsoftmax])
@pytest.mark.parametrize("axis, err, match", [
    (2, ValueError, r"axis 2 is out of range for a 2-d input"),
    (-3, ValueError, r"axis -3 is out of range for a 2-d input"),
    (1.0, TypeError, r"axis must be an int or None, got 1.0"),
    (True, TypeError, r"axis must be an int or None, got True"),
    ((0, 1), TypeError, r"axis must be an int or None, got \(0, 1\)"),
    ("0", TypeError, r"axis must be an int or None"),
])
def test_bad_axis_is_refused_not_ignored(fn, axis, err, match):
    with pytest.raises(err, match=match):
        fn(T.dmatrix("x"), axis=axis)


def test_numpy_integer_axis_is_an_axis(backend):
    x = T.dmatrix("x")
    xv = RNG.standard_normal((3, 4))
    got = theano.function([x], T.softmax(x, axis=np.int64(0)), backend=backend.name)(xv)
    np.testing.assert_allclose(got, sp.softmax(xv, axis=0), rtol=1e-12)


def test_equal_ops_merge_whatever_the_axis_spelling():
    x = T.dmatrix("x")
    assert T.softmax(x, axis=-2).owner.op == T.softmax(x, axis=0).owner.op
    assert T.softmax(x).owner.op == T.softmax(x, axis=1).owner.op
    assert T.softmax(x, axis=0).owner.op != T.softmax(x, axis=1).owner.op


def test_a_kernel_without_axis_still_gets_the_right_axis():
    """A plugin's softmax written for the last axis only (no ``axis=`` parameter):
    the op moves the axis last around it instead of passing an argument it would
    reject or ignore."""
    from layerkit.backend.kernels import GENERIC_KERNELS
    calls = []

    def last_axis_only(x):
        calls.append(x.shape)
        return sp.softmax(x, axis=-1)

    class Stub:
        def kernel(self, name):
            return last_axis_only if name == "softmax" else GENERIC_KERNELS[name]

    x = T.dtensor3("x")
    xv = RNG.standard_normal((2, 3, 4))
    for axis, moved in ((0, (3, 4, 2)), (1, (2, 4, 3)), (2, (2, 3, 4))):
        node = T.softmax(x, axis=axis).owner
        calls.clear()
        got = node.op.thunk(Stub(), node)(xv)
        assert calls == [moved]
        np.testing.assert_allclose(got, sp.softmax(xv, axis=axis), rtol=1e-12)


def test_hand_written_softmax_keeps_an_offset_that_broadcasts_x():
    """exp(x - m) / sum(...): m is dropped only when x alone has the result's shape;
    here m (4, 1) broadcasts x (1, 3) to (4, 3), and numpy's answer is (4, 3)."""
    x = T.TensorType("float64", (1, 3))("x")
    m = T.TensorType("float64", (4, 1))("m")
    e = T.exp(x - m)
    got = theano.function([x, m], e / e.sum(axis=1, keepdims=True))(
        np.array([[1.0, 2.0, 3.0]]), np.arange(4.0)[:, None])
    np.testing.assert_allclose(got, sp.softmax(
        np.array([[1.0, 2.0, 3.0]]) - np.arange(4.0)[:, None], axis=1), rtol=1e-12)
