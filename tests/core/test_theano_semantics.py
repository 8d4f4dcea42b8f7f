"""Theano semantics old programs rely on (issue 18): truthiness, ``theano.In``,
``Variable.eval``, ``OpFromGraph`` with ``grad_overrides``, ``T.sum`` of a list,
``images2neibs``, ``relu(x, alpha)``, ``theano.gradient`` (``grad_clip``,
``zero_grad``), ``T.extra_ops`` and ``grad(known_grads=)``. References are numpy
float64 or central finite differences, never the code under test."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.tensor import extra_ops
from layerkit.core.tensor.nnet.neighbours import images2neibs, neibs2images

RNG = np.random.default_rng(18)


def _fd(f, x, eps=1e-6):
    """Central differences of the scalar ``f`` at ``x`` (float64)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


# -- truthiness ----------------------------------------------------------------------

def test_every_variable_is_true_except_comparisons():
    W = theano.shared(np.zeros(3))
    x = T.dmatrix("x")
    assert W and x and (x + 1) and T.constant(0.0)
    if not W:  # the SdA/rbm/DBN idiom: "was W given?"
        pytest.fail("a shared variable must be true")
    for cmp in (x < 1, x <= 1, x > 1, x >= 1, T.eq(x, 1), T.neq(x, 1)):
        with pytest.raises(TypeError, match="Variables do not support boolean operations"):
            bool(cmp)
    with pytest.raises(TypeError, match="Variables do not support boolean operations"):
        if x < 1:
            pass


# -- In and eval -----------------------------------------------------------------------

def test_in_default_value_used_when_the_argument_is_omitted():
    x, lr = T.dscalar("x"), T.dscalar("lr")
    f = theano.function([x, theano.In(lr, value=0.1)], x * lr)
    assert f(2.0) == pytest.approx(0.2)
    assert f(2.0, 3.0) == pytest.approx(6.0)
    assert f(2.0, lr=0.5) == pytest.approx(1.0)
    assert f(x=4.0) == pytest.approx(0.4)
    g = theano.function([x, theano.In(lr, value=0.1, name="rate")], x + lr)
    assert g(1.0, rate=2.0) == pytest.approx(3.0)
    with pytest.raises(TypeError):
        theano.function([x, lr], x * lr)(2.0)   # no default: still required


def test_eval_with_and_without_inputs_and_its_cache():
    x, y = T.dvector("x"), T.dvector("y")
    e = (x * 2 + y).sum()
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert e.eval({x: a, y: b}) == pytest.approx(13.0)
    assert e.eval({y: b, x: 2 * a}) == pytest.approx(19.0)
    assert len(e._fn_cache) == 1            # the same input set reuses the compiled function
    assert T.constant(np.arange(3.0)).sum().eval() == pytest.approx(3.0)
    np.testing.assert_array_equal(theano.shared(np.ones(2)).eval(), np.ones(2))


# -- OpFromGraph -------------------------------------------------------------------------

def test_opfromgraph_forward_default_gradient_and_shared_inputs():
    x, y = T.dvector("x"), T.dvector("y")
    W = theano.shared(np.array([1.0, -2.0, 0.5]))
    op = theano.OpFromGraph([x, y], [T.tanh(x * y + W)])
    a, b = T.dvector("a"), T.dvector("b")
    out = op(a, b)
    cost = (out ** 2).sum()
    f = theano.function([a, b], [out, T.grad(cost, a)])
    av, bv = RNG.normal(size=3), RNG.normal(size=3)
    got, ga = f(av, bv)
    np.testing.assert_allclose(got, np.tanh(av * bv + W.get_value()), rtol=1e-12)
    np.testing.assert_allclose(
        ga, _fd(lambda v: (np.tanh(v * bv + W.get_value()) ** 2).sum(), av), rtol=1e-6)
    W.set_value(np.zeros(3))               # the hidden input is read at call time
    np.testing.assert_allclose(f(av, bv)[0], np.tanh(av * bv), rtol=1e-12)


def test_opfromgraph_grad_overrides_guided_backprop():
    z = T.dvector("z")
    guided = theano.OpFromGraph(
        [z], [T.maximum(z, 0)],
        grad_overrides=lambda inputs, grads: [grads[0] * (inputs[0] > 0) * (grads[0] > 0)])
    x, g = T.dvector("x"), T.dvector("g")
    f = theano.function([x, g], [guided(x), theano.grad(None, x, known_grads={guided(x): g})])
    xv, gv = np.array([-1.0, 2.0, 3.0, 0.5]), np.array([1.0, -1.0, 2.0, 4.0])
    out, gx = f(xv, gv)
    np.testing.assert_array_equal(out, np.maximum(xv, 0))
    np.testing.assert_array_equal(gx, np.where((xv > 0) & (gv > 0), gv, 0.0))


def test_opfromgraph_under_debugmode():
    x = T.dmatrix("x")
    op = theano.OpFromGraph([x], [T.exp(x).sum(axis=1)])
    a = T.dmatrix("a")
    f = theano.function([a], [op(a), T.grad(op(a).sum(), a)], mode="DebugMode")
    av = RNG.normal(size=(2, 3))
    out, ga = f(av)
    np.testing.assert_allclose(out, np.exp(av).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(ga, np.exp(av), rtol=1e-12)


# -- T.sum / T.mean of a list, relu(alpha) ---------------------------------------------

def test_reductions_of_a_list_stack_it():
    a, b = T.dvector("a"), T.dvector("b")
    av, bv = np.array([1.0, 2.0, 4.0]), np.array([3.0, 5.0, -1.0])
    f = theano.function([a, b], [T.sum([a, b], axis=0), T.mean([a, b]),
                                 T.mean([a, b], axis=0), T.max([a, b], axis=0)])
    s, m, m0, mx = f(av, bv)
    stacked = np.stack([av, bv])
    np.testing.assert_allclose(s, stacked.sum(axis=0))
    assert m == pytest.approx(stacked.mean())
    np.testing.assert_allclose(m0, stacked.mean(axis=0))
    np.testing.assert_allclose(mx, stacked.max(axis=0))


def test_relu_alpha():
    x = T.dvector("x")
    xv = np.array([-2.0, -0.5, 0.5, 3.0])
    for alpha in (0.0, 0.1, 2.0):
        f = theano.function([x], [T.nnet.relu(x, alpha), T.grad(T.nnet.relu(x, alpha).sum(), x)])
        out, g = f(xv)
        np.testing.assert_allclose(out, np.where(xv > 0, xv, alpha * xv))
        np.testing.assert_allclose(g, np.where(xv > 0, 1.0, alpha))


# -- theano.gradient ---------------------------------------------------------------------

def test_gradient_module_grad_clip_zero_grad():
    from layerkit.core import gradient
    from layerkit.core.gradient import consider_constant, disconnected_grad, grad, grad_clip
    assert gradient.grad is theano.grad and grad is theano.grad
    assert consider_constant is disconnected_grad
    x = T.dvector("x")
    xv = np.array([0.1, 1.0, -2.0])
    y = grad_clip(x * 3, -1.0, 2.0)
    f = theano.function([x], [y, T.grad((y ** 2).sum(), x)])
    out, g = f(xv)
    np.testing.assert_allclose(out, 3 * xv)                      # identity forward
    np.testing.assert_allclose(g, 3 * np.clip(2 * 3 * xv, -1.0, 2.0))
    z = gradient.zero_grad(x)
    gz = theano.function([x], T.grad((z * x).sum(), x))(xv)
    np.testing.assert_allclose(gz, xv)                           # only the direct path


# -- grad(known_grads=) --------------------------------------------------------------------

def test_grad_known_grads_is_a_vector_jacobian_product():
    x = T.dvector("x")
    W = T.dmatrix("W")
    y = T.tanh(T.dot(W, x))
    gy = T.dvector("gy")
    gx = theano.grad(None, wrt=x, known_grads={y: gy})
    Wv, xv, gyv = RNG.normal(size=(2, 3)), RNG.normal(size=3), RNG.normal(size=2)
    got = theano.function([x, W, gy], gx)(xv, Wv, gyv)
    np.testing.assert_allclose(got, _fd(lambda v: gyv @ np.tanh(Wv @ v), xv), rtol=1e-6)
    # with a cost too, the two add up
    both = theano.grad(x.sum(), wrt=x, known_grads={y: gy})
    got = theano.function([x, W, gy], both)(xv, Wv, gyv)
    np.testing.assert_allclose(got, 1 + _fd(lambda v: gyv @ np.tanh(Wv @ v), xv), rtol=1e-6)
    with pytest.raises(ValueError):
        theano.grad(None, wrt=x)


# -- extra_ops -------------------------------------------------------------------------------

def test_extra_ops_forward_against_numpy():
    x = T.dmatrix("x")
    v = T.lvector("v")
    xv = RNG.normal(size=(3, 4))
    f = theano.function([x], [extra_ops.cumsum(x), extra_ops.cumsum(x, axis=0),
                              extra_ops.cumprod(x, axis=1), extra_ops.repeat(x, 2),
                              extra_ops.repeat(x, 3, axis=0),
                              extra_ops.repeat(x, np.array([1, 0, 3, 2]), axis=1),
                              extra_ops.diff(x), extra_ops.diff(x, n=2, axis=0)])
    refs = [np.cumsum(xv), np.cumsum(xv, axis=0), np.cumprod(xv, axis=1), np.repeat(xv, 2),
            np.repeat(xv, 3, axis=0), np.repeat(xv, [1, 0, 3, 2], axis=1), np.diff(xv),
            np.diff(xv, n=2, axis=0)]
    for got, ref in zip(f(xv), refs):
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    vv = np.array([0, 3, 1, 3, 3])
    oh, bc, bcm, bcw = theano.function([v], [
        extra_ops.to_one_hot(v, 5, dtype="float64"), extra_ops.bincount(v),
        extra_ops.bincount(v, minlength=7), extra_ops.bincount(v, weights=T.cast(v, "float64") / 2)
    ])(vv)
    np.testing.assert_array_equal(oh, np.eye(5)[vv])
    np.testing.assert_array_equal(bc, np.bincount(vv))
    np.testing.assert_array_equal(bcm, np.bincount(vv, minlength=7))
    np.testing.assert_allclose(bcw, np.bincount(vv, weights=vv / 2))
    col = T.TensorType("float64", (None, 1))("col")
    np.testing.assert_array_equal(theano.function([col], extra_ops.squeeze(col))(
        np.ones((3, 1))), np.ones(3))


def test_extra_ops_gradients_against_finite_differences():
    x = T.dmatrix("x")
    xv = RNG.uniform(0.5, 1.5, size=(3, 4))
    w = RNG.normal(size=(3, 4))
    wrep = RNG.normal(size=(3, 6))
    cases = [
        (lambda t: (extra_ops.cumsum(t, axis=1) * w).sum(),
         lambda a: (np.cumsum(a, axis=1) * w).sum()),
        (lambda t: (extra_ops.cumprod(t, axis=0) * w).sum(),
         lambda a: (np.cumprod(a, axis=0) * w).sum()),
        (lambda t: (extra_ops.repeat(t, np.array([2, 0, 1, 3]), axis=1) * wrep).sum(),
         lambda a: (np.repeat(a, [2, 0, 1, 3], axis=1) * wrep).sum()),
        (lambda t: (extra_ops.diff(t, axis=1) ** 2).sum(),
         lambda a: (np.diff(a, axis=1) ** 2).sum()),
    ]
    for build, ref in cases:
        g = theano.function([x], T.grad(build(x), x), on_unused_input="ignore")(xv)
        np.testing.assert_allclose(g, _fd(ref, xv), rtol=1e-6, atol=1e-8)


# -- images2neibs ------------------------------------------------------------------------------

def _ref_neibs(a, nh, nw, sh, sw):
    rows, cols = (a.shape[2] - nh) // sh + 1, (a.shape[3] - nw) // sw + 1
    return np.array([a[n, c, r * sh:r * sh + nh, q * sw:q * sw + nw].ravel()
                     for n in range(a.shape[0]) for c in range(a.shape[1])
                     for r in range(rows) for q in range(cols)])


def test_images2neibs_modes_gradient_and_inverse():
    x = T.tensor4("x", dtype="float64")
    a = RNG.normal(size=(2, 3, 4, 6))
    np.testing.assert_array_equal(theano.function([x], images2neibs(x, (2, 3)))(a),
                                  _ref_neibs(a, 2, 3, 2, 3))
    b = RNG.normal(size=(2, 1, 5, 7))
    np.testing.assert_array_equal(
        theano.function([x], images2neibs(x, (2, 2), mode="ignore_borders"))(b),
        _ref_neibs(b, 2, 2, 2, 2))
    tiled = RNG.normal(size=(2, 1, 5, 8))          # (8 - 2) % 2 == 0: 'valid' tiles it
    np.testing.assert_array_equal(
        theano.function([x], images2neibs(x, (3, 2), (1, 2), mode="valid"))(tiled),
        _ref_neibs(tiled, 3, 2, 1, 2))
    static = T.TensorType("float64", (1, 1, 5, 5))("s")
    with pytest.raises(ValueError, match="ignore_borders"):
        images2neibs(static, (2, 2))
    # overlapping windows: the gradient adds up, as finite differences say
    wts = RNG.normal(size=_ref_neibs(tiled, 3, 2, 1, 2).shape)
    g = theano.function([x], T.grad((images2neibs(x, (3, 2), (1, 2)) * wts).sum(), x))(tiled)
    np.testing.assert_allclose(g, _fd(lambda v: (_ref_neibs(v, 3, 2, 1, 2) * wts).sum(), tiled),
                               rtol=1e-6, atol=1e-8)
    back = theano.function([x], neibs2images(images2neibs(x, (2, 3)), (2, 3), x.shape))(a)
    np.testing.assert_array_equal(back, a)


def test_op_from_graph_gradient_with_linked_inputs():
    """op(x, x), op(x, 2x) and a shared variable given as an input: each path is
    counted once (the inner graph is differentiated w.r.t. its own inputs)."""
    a, b = T.dvector("a"), T.dvector("b")
    op = theano.OpFromGraph([a, b], [a * b])
    x = T.dvector("x")
    xv = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(theano.function([x], T.grad(op(x, x).sum(), x))(xv), 2 * xv)
    np.testing.assert_allclose(theano.function([x], T.grad(op(x, 2 * x).sum(), x))(xv), 4 * xv)
    w = theano.shared(np.array([1.0, 2.0, 3.0]), name="w")
    op2 = theano.OpFromGraph([a], [a * w])
    np.testing.assert_allclose(theano.function([], T.grad(op2(w).sum(), w))(),
                               2 * w.get_value())


def test_extra_ops_refuse_what_numpy_refuses():
    """repeat, bincount, to_one_hot and images2neibs(mode='valid') check at run time
    what only the values tell, as numpy does, instead of returning wrong numbers."""
    x = T.dvector("x")
    xv = np.array([1.0, 2.0, 3.0])
    r = T.lvector("r")
    f = theano.function([x, r], extra_ops.repeat(x, r))
    np.testing.assert_array_equal(f(xv, np.array([2])), np.repeat(xv, [2]))      # one count
    np.testing.assert_array_equal(f(xv, np.array([1, 0, 2])), np.repeat(xv, [1, 0, 2]))
    with pytest.raises(ValueError, match="one count per element"):
        f(xv, np.array([1, 1]))
    with pytest.raises(ValueError, match="negative"):
        f(xv, np.array([1, -1, 2]))
    np.testing.assert_array_equal(
        theano.function([x], extra_ops.repeat(x, np.array([2])))(xv), np.repeat(xv, 2))
    i = T.lvector("i")
    with pytest.raises(ValueError, match="negative"):
        theano.function([i], extra_ops.bincount(i))(np.array([0, -1, 2]))
    u = T.vector("u", dtype="uint8")
    hot = theano.function([u], extra_ops.to_one_hot(u, 300))(np.array([0, 5], dtype="uint8"))
    want = np.zeros((2, 300))
    want[0, 0] = want[1, 5] = 1
    np.testing.assert_array_equal(hot, want)
    with pytest.raises(IndexError, match="outside 0 .. 300"):
        theano.function([i], extra_ops.to_one_hot(i, 300))(np.array([300]))
    img = T.tensor4("img", dtype="float64")
    g = theano.function([img], images2neibs(img, (2, 2)))
    with pytest.raises(ValueError, match="not tiled"):
        g(np.zeros((1, 1, 5, 5)))
    assert g(np.zeros((1, 1, 4, 4))).shape == (4, 4)


def test_argmax_of_a_list_stacks_it_like_the_other_reductions():
    a, b = T.dvector("a"), T.dvector("b")
    av, bv = np.array([1.0, 5.0, 2.0]), np.array([3.0, 0.0, 2.5])
    got = theano.function([a, b], [T.argmax([a, b], axis=0), T.argmin([a, b], axis=0)])(av, bv)
    np.testing.assert_array_equal(got[0], np.argmax(np.stack([av, bv]), axis=0))
    np.testing.assert_array_equal(got[1], np.argmin(np.stack([av, bv]), axis=0))


def test_concatenate_and_stack_check_the_axis_range_as_numpy():
    x = T.dmatrix("x")
    for build in (lambda: T.concatenate([x, x], axis=2), lambda: T.concatenate([x, x], axis=-3),
                  lambda: T.stack([x, x], axis=5)):
        with pytest.raises(ValueError, match="out of range"):
            build()
    xv = np.arange(6.0).reshape(2, 3)
    got = theano.function([x], [T.concatenate([x, x], axis=-1), T.stack([x, x], axis=-1)])(xv)
    np.testing.assert_array_equal(got[0], np.concatenate([xv, xv], axis=-1))
    np.testing.assert_array_equal(got[1], np.stack([xv, xv], axis=-1))


def test_in_strict_says_it_is_not_applied():
    from layerkit.core.ignored import IgnoredArgumentWarning
    import layerkit.core.ignored as ignored
    ignored._WARNED.discard(("In", "strict"))
    with pytest.warns(IgnoredArgumentWarning, match="strict"):
        theano.In(T.fvector("v"), strict=True)


def test_param_is_in_with_a_default():
    i, lr = T.lscalar("index"), T.dscalar("lr")
    f = theano.function([i, theano.Param(lr, default=0.1)], lr * i)
    assert f(3) == pytest.approx(0.3) and f(3, lr=1.0) == 3.0


def test_scalar_upcast():
    assert theano.scalar.upcast("int8", "float32") == "float32"
    assert theano.scalar.upcast("int64", "float32", "bool") == "float64"


def test_nnet_softmax_of_a_vector_is_one_row_as_in_theano():
    v = T.dvector("v")
    with pytest.warns(UserWarning, match="\\(1, n\\) matrix"):
        import layerkit.core.tensor.nnet as nnet
        nnet._WARNED_VECTOR.clear()
        s = T.nnet.softmax(v)
    assert s.ndim == 2
    got = theano.function([v], s[:, 0])(np.array([1.0, 2.0]))
    np.testing.assert_allclose(got, [np.exp(1) / (np.exp(1) + np.exp(2))])
    assert T.softmax(v).ndim == 1 and T.nnet.softmax(v, axis=-1).ndim == 1
