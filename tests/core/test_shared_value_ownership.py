"""Who owns a shared variable's storage (issue 16, items 5 and 12).

``borrow=False`` (the default of ``shared``, ``set_value`` and ``get_value``)
copies, always and on every backend, so training (which updates parameters in
place) never writes into the caller's array and the caller's writes never
change a parameter. ``shared(strict=, allow_downcast=)`` decide what
``set_value`` may cast, with Theano's meaning.
"""
import pickle

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import layers as L
from layerkit import updates

FLOATX = theano.config.floatX


def _net(seed):
    rng = np.random.default_rng(seed)
    net = L.InputLayer((None, 4))
    net = L.DenseLayer(net, 5, W=rng.standard_normal((4, 5)).astype(FLOATX))
    return L.DenseLayer(net, 2, nonlinearity=None, W=rng.standard_normal((5, 2)).astype(FLOATX))


def _trainer(net, backend):
    x, y = T.matrix("x"), T.matrix("y")
    params = L.get_all_params(net, trainable=True)
    loss = ((L.get_output(net, x) - y) ** 2).mean()
    return theano.function([x, y], loss, updates=updates.sgd(loss, params, 0.1),
                           backend=backend.name)


def _batch(seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((8, 4)).astype(FLOATX),
            rng.standard_normal((8, 2)).astype(FLOATX))


def _sgd_step(w, x, lr):
    """One step of ``w - lr * d/dw sum((x * w - 1) ** 2)`` in numpy."""
    return w - lr * np.sum(2 * (x * w - 1) * x)


def test_two_nets_set_from_one_snapshot_train_independently(backend):
    # Lasagne's idiom: start several networks from the same saved values
    a, b = _net(0), _net(1)
    train_a, train_b = _trainer(a, backend), _trainer(b, backend)
    X, Y = _batch()
    train_a(X, Y)
    train_b(X, Y)                       # both now hold their values on the backend
    snapshot = L.get_all_param_values(a)
    kept = [v.copy() for v in snapshot]
    L.set_all_param_values(a, snapshot)
    L.set_all_param_values(b, snapshot)
    for _ in range(3):
        train_a(X, Y)
    for v, k in zip(snapshot, kept):
        np.testing.assert_array_equal(v, k)          # the snapshot is the user's, untouched
    for v, k in zip(L.get_all_param_values(b), kept):
        np.testing.assert_array_equal(v, k)          # b was not trained
    for _ in range(3):
        train_b(X, Y)
    for va, vb in zip(L.get_all_param_values(a), L.get_all_param_values(b)):
        np.testing.assert_array_equal(va, vb)        # same start, same steps: same values
    assert not all(np.array_equal(v, k) for v, k in zip(L.get_all_param_values(a), kept))


def _used(backend, value):
    """A shared variable already used (its value lives on ``backend``) and its trainer."""
    x = T.vector("x", dtype=value.dtype)
    w = theano.shared(value.copy(), name="w")
    loss = ((x * w - 1) ** 2).sum()
    step = theano.function([x], loss, updates=updates.sgd(loss, [w], 0.01),
                           backend=backend.name)
    step(np.ones(value.shape[-1:] or (3,), dtype=value.dtype))
    return w, step


def test_without_borrow_training_never_writes_into_the_callers_array(backend):
    first = np.full(3, 0.5)
    w = theano.shared(first)                 # copied here, so the first move keeps no alias
    x = T.dvector("x")
    loss = ((x * w - 1) ** 2).sum()
    step = theano.function([x], loss, updates=updates.sgd(loss, [w], 0.01),
                           backend=backend.name)
    step(np.ones(3))
    np.testing.assert_array_equal(first, np.full(3, 0.5))
    mine = np.array([0.25, 0.5, 2.0])
    w.set_value(mine)
    x = np.array([1.0, 2.0, -1.0])
    step(x)
    np.testing.assert_array_equal(mine, [0.25, 0.5, 2.0])    # training did not write into it
    expected = np.array([0.25, 0.5, 2.0]) - 0.01 * 2 * (x * [0.25, 0.5, 2.0] - 1) * x
    np.testing.assert_allclose(w.get_value(), expected, rtol=1e-12)
    mine[:] = 99.0
    np.testing.assert_allclose(w.get_value(), expected, rtol=1e-12)  # nor do writes to it


def test_set_value_copies_an_array_of_the_backend_itself(backend):
    w, _ = _used(backend, np.zeros(3))
    given = backend.from_numpy(np.array([1.0, 2.0, 3.0]))
    w.set_value(given)
    assert w.get_value(borrow=True, return_internal_type=True) is not given
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0, 3.0])
    w.set_value(given, borrow=True)                         # Theano keeps it with borrow=True
    assert w.get_value(borrow=True, return_internal_type=True) is given
    mine = np.full(3, 0.5)
    assert theano.shared(mine, borrow=True).get_value(borrow=True) is mine
    assert theano.shared(mine).get_value(borrow=True) is not mine


def test_get_value_of_the_internal_type_is_a_copy_unless_borrowed(backend):
    w, _ = _used(backend, np.full(3, 0.5))
    internal = w.get_value(borrow=True, return_internal_type=True)
    copy = w.get_value(return_internal_type=True)
    assert backend.is_array(copy) and copy is not internal
    np.testing.assert_array_equal(backend.to_numpy(copy), w.get_value())
    if isinstance(copy, np.ndarray):
        before = w.get_value()
        copy[...] = -7.0
        np.testing.assert_array_equal(w.get_value(), before)
        assert not np.shares_memory(copy, backend.to_numpy(internal))


@pytest.mark.parametrize("borrow", [False, True])
def test_a_read_only_array_can_be_set_and_trained(backend, borrow, tmp_path):
    np.save(tmp_path / "w.npy", np.array([0.25, 0.5, 2.0]))
    mapped = np.load(tmp_path / "w.npy", mmap_mode="r")
    frozen = np.array([0.25, 0.5, 2.0])
    frozen.setflags(write=False)
    x = np.array([1.0, 2.0, -1.0])
    expected = np.array([0.25, 0.5, 2.0]) - 0.01 * 2 * (x * [0.25, 0.5, 2.0] - 1) * x
    for given in (mapped, frozen):
        w, step = _used(backend, np.zeros(3))
        w.set_value(given, borrow=borrow)
        step(x)
        np.testing.assert_allclose(w.get_value(), expected, rtol=1e-12)
        np.testing.assert_array_equal(given, [0.25, 0.5, 2.0])
        # and as the initial value of a new variable
        v = theano.shared(given, borrow=borrow)
        xv = T.dvector("x")
        loss = ((xv * v - 1) ** 2).sum()
        theano.function([xv], loss, updates=updates.sgd(loss, [v], 0.01),
                        backend=backend.name)(x)
        np.testing.assert_allclose(v.get_value(), expected, rtol=1e-12)
        np.testing.assert_array_equal(given, [0.25, 0.5, 2.0])


def test_a_numpy_scalar_sets_a_0d_parameter(backend):
    x = np.array([1.0, 2.0, -1.0], dtype="float32")
    w, step = _used(backend, np.zeros((), dtype="float32"))
    w.set_value(np.float32(2.0))
    step(x)
    np.testing.assert_allclose(w.get_value(), _sgd_step(np.float32(2.0), x, np.float32(0.01)),
                               rtol=1e-6)
    # a float64 scalar follows the rule for Python floats: cast to the variable's dtype
    w.set_value(np.float64(0.5))
    assert w.get_value().dtype == np.float32 and w.get_value() == np.float32(0.5)
    step(x)
    np.testing.assert_allclose(w.get_value(), _sgd_step(np.float32(0.5), x, np.float32(0.01)),
                               rtol=1e-6)
    with pytest.raises(TypeError, match="dtype"):           # an array keeps needing the dtype
        w.set_value(np.array(2.0))


# -- shared(strict=..., allow_downcast=...) ---------------------------------

def test_strict_takes_only_the_exact_dtype(backend):
    w, _ = _used(backend, np.zeros(3, dtype="float32"))
    s = theano.shared(np.zeros(3, dtype="float32"), strict=True)
    s.set_value(np.ones(3, dtype="float32"))
    for bad in ([1.0, 2.0, 3.0], np.ones(3), np.ones(3, dtype="float16")):
        with pytest.raises(TypeError, match="strict"):
            s.set_value(bad)
    np.testing.assert_array_equal(s.get_value(), np.ones(3))
    z = theano.shared(np.zeros((), dtype="float32"), strict=True)
    with pytest.raises(TypeError, match="strict"):
        z.set_value(1.0)
    z.set_value(np.float32(1.5))
    assert z.get_value() == np.float32(1.5)
    # without strict, a list is cast as before
    w.set_value([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0, 3.0])


def test_allow_downcast_true_casts_any_array(backend):
    w, step = _used(backend, np.zeros(3, dtype="float32"))
    d = theano.shared(np.zeros(3, dtype="float32"), allow_downcast=True)
    wide = np.array([0.1, 1e-3, 3.0])
    d.set_value(wide)
    assert d.get_value().dtype == np.float32
    np.testing.assert_array_equal(d.get_value(), wide.astype("float32"))
    with pytest.raises(TypeError, match="allow_downcast"):  # the default refuses, naming the flag
        w.set_value(wide)


def test_allow_downcast_false_refuses_a_lossy_number():
    f = theano.shared(np.float32(0.0), allow_downcast=False)
    f.set_value(0.5)                                   # exact in float32
    assert f.get_value() == np.float32(0.5)
    with pytest.raises(TypeError, match="allow_downcast=False"):
        f.set_value(0.1)                               # not exact in float32
    assert f.get_value() == np.float32(0.5)
    f.set_value(np.nan)
    assert np.isnan(f.get_value())
    d = theano.shared(np.float32(0.0))                 # the default casts it
    d.set_value(0.1)
    assert d.get_value() == np.float32(0.1)


def test_strict_and_allow_downcast_survive_pickling_and_apply_through_an_alias():
    s = theano.shared(np.zeros(3, dtype="float32"), strict=True)
    s2, alias = pickle.loads(pickle.dumps((s, s.alias())))
    assert alias.target is s2 and alias.strict
    with pytest.raises(TypeError, match="strict"):
        alias.set_value([1.0, 2.0, 3.0])
    alias.set_value(np.ones(3, dtype="float32"))
    np.testing.assert_array_equal(s2.get_value(), np.ones(3))


def test_an_alias_pickles_without_a_second_copy_of_the_value():
    big = theano.shared(np.zeros(100_000))
    alias = big.alias()
    both = len(pickle.dumps((big, alias)))
    assert both < 1.5 * len(pickle.dumps(big))
