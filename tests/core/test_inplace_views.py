"""In-place updates, views, results and failed calls (issue 16, items 1, 6 and 7).

Theano's rule: results and updates are all computed from the values before
the call; results never alias each other, the caller's arrays or shared
storage; a call that raises changes nothing. Every expected value here is
plain numpy on copies of the starting values.
"""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.config import config

# numpy's floating-point warnings stay warnings here (pytest's configuration makes
# them errors), so that compiled functions take their in-place path: with errors
# raised, the linker runs the program that writes no shared storage (decision D47)
pytestmark = pytest.mark.filterwarnings("default::RuntimeWarning")


@pytest.fixture(params=["optimized", "no-inplace"])
def excluding(request, monkeypatch):
    """Every test runs optimized and with the in-place phase off: both must agree
    with numpy (the second is the reference configuration the issue names)."""
    if request.param == "no-inplace":
        monkeypatch.setattr(config, "optimizer_excluding", "fusion:inplace")
    return request.param


def _w(shape=(3, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_results_that_view_a_parameter_are_the_values_before_the_update(backend, excluding):
    w0 = _w((2, 3))
    w = theano.shared(w0.copy(), name="w")
    f = theano.function([], [w[0], w.T], updates=[(w, w * 0.5 + T.tanh(w))],
                        backend=backend.name)
    first, transposed = f()
    np.testing.assert_array_equal(first, w0[0])
    np.testing.assert_array_equal(transposed, w0.T)
    np.testing.assert_allclose(w.get_value(), w0 * 0.5 + np.tanh(w0), rtol=1e-12)


def test_an_update_reading_a_view_of_its_own_parameter(backend, excluding):
    w0 = _w()
    w = theano.shared(w0.copy(), name="w")
    f = theano.function([], [], updates=[(w, T.tanh(w) * 0.5 + w.T)], backend=backend.name)
    f()
    np.testing.assert_allclose(w.get_value(), np.tanh(w0) * 0.5 + w0.T, rtol=1e-12)
    f()
    w1 = np.tanh(w0) * 0.5 + w0.T
    np.testing.assert_allclose(w.get_value(), np.tanh(w1) * 0.5 + w1.T, rtol=1e-12)


def test_two_updates_reading_each_others_views(backend, excluding):
    """a <- a + b.T and b <- b * a[::-1]: each reads the other's old value."""
    a0, b0 = _w(seed=1), _w(seed=2)
    a = theano.shared(a0.copy(), name="a")
    b = theano.shared(b0.copy(), name="b")
    f = theano.function([], [a.T, b[0]], updates=[(a, a + b.T), (b, b * a[::-1])],
                        backend=backend.name)
    ra, rb = f()
    np.testing.assert_array_equal(ra, a0.T)
    np.testing.assert_array_equal(rb, b0[0])
    np.testing.assert_allclose(a.get_value(), a0 + b0.T, rtol=1e-12)
    np.testing.assert_allclose(b.get_value(), b0 * a0[::-1], rtol=1e-12)


def test_a_result_through_a_chain_of_views(backend, excluding):
    w0 = _w((2, 6))
    w = theano.shared(w0.copy(), name="w")
    view = w.reshape((3, 4)).T[1:].dimshuffle(1, 0)
    f = theano.function([], view, updates=[(w, 2 * w + 1)], backend=backend.name)
    np.testing.assert_array_equal(f(), w0.reshape(3, 4).T[1:].T)
    np.testing.assert_allclose(w.get_value(), 2 * w0 + 1)


def test_the_same_output_twice_gives_distinct_arrays(backend, excluding):
    x = T.dvector("x")
    y = x * 2
    f = theano.function([x], [y, y, y.T, x], backend=backend.name)
    given = np.arange(3.0)
    r = f(given)
    assert len({id(a) for a in r}) == 4
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert not np.shares_memory(r[a], r[b])
    assert not np.shares_memory(r[3], given)
    r[0][0] = 100.0
    np.testing.assert_array_equal(r[1], given * 2)


def test_an_update_by_another_shared_variable_does_not_share_its_storage(backend, excluding):
    """After (a <- b), training a in place must not change b."""
    a = theano.shared(np.zeros(3), name="a")
    b = theano.shared(np.arange(3.0), name="b")
    theano.function([], [], updates=[(a, b)], backend=backend.name)()
    step = theano.function([], [], updates=[(a, a * 2 + 1)], backend=backend.name)
    step()
    np.testing.assert_array_equal(b.get_value(), np.arange(3.0))
    np.testing.assert_array_equal(a.get_value(), np.arange(3.0) * 2 + 1)


def test_an_update_by_an_input_does_not_keep_the_callers_array(backend, excluding):
    x = T.dvector("x")
    a = theano.shared(np.zeros(3), name="a")
    theano.function([x], [], updates=[(a, x)], backend=backend.name)(given := np.ones(3))
    theano.function([], [], updates=[(a, a * 3)], backend=backend.name)()
    np.testing.assert_array_equal(given, np.ones(3))
    np.testing.assert_array_equal(a.get_value(), np.full(3, 3.0))


def test_a_call_that_fails_changes_no_shared_variable(backend, excluding):
    """The update of ``a`` runs (in place) before the update of ``b`` indexes out of
    bounds; the failed call must leave ``a`` as it was, every time."""
    i = T.lscalar("i")
    a0 = _w((4,), seed=3)
    a = theano.shared(a0.copy(), name="a")
    b = theano.shared(np.arange(4.0), name="b")
    f = theano.function([i], [], updates=[(a, a * 0.5 + 1), (b, b + b[i])],
                        backend=backend.name)
    for _ in range(2):
        with pytest.raises(IndexError):
            f(7)
        np.testing.assert_array_equal(a.get_value(), a0)
        np.testing.assert_array_equal(b.get_value(), np.arange(4.0))
    f(1)
    np.testing.assert_allclose(a.get_value(), a0 * 0.5 + 1)
    np.testing.assert_array_equal(b.get_value(), np.arange(4.0) + 1)


def test_a_failing_broadcast_in_a_later_update_changes_nothing(backend, excluding):
    """Two in-place chains; the second's run-time broadcast check fails (a shape
    given through set_value after compiling): neither variable may change."""
    m0, v0 = _w((2, 3), seed=4), _w((2, 3), seed=5)
    m = theano.shared(m0.copy(), name="m")
    v = theano.shared(v0.copy(), name="v")
    g = T.dmatrix("g")
    m_new = 0.9 * m + 0.1 * g
    f = theano.function([g], [], updates=[(m, m_new), (v, 0.5 * v + m_new * g)],
                        backend=backend.name)
    with pytest.raises(ValueError):
        f(np.ones((1, 3)))          # a run-time 1 does not broadcast: refused
    np.testing.assert_array_equal(m.get_value(), m0)
    np.testing.assert_array_equal(v.get_value(), v0)
    gv = np.full((2, 3), 0.5)
    f(gv)
    m1 = 0.9 * m0 + 0.1 * gv
    np.testing.assert_allclose(m.get_value(), m1)
    np.testing.assert_allclose(v.get_value(), 0.5 * v0 + m1 * gv)


def test_in_place_still_chosen_for_an_optimizer_step(backend):
    """The analysis is not so cautious that training stops being in place: the
    accumulators of RMSprop keep their storage (when the backend takes out=)."""
    if not backend.supports_out("add"):
        pytest.skip(f"{backend.name} kernels take no out=")
    import layerkit as lasagne
    x = T.dmatrix("x")
    w = theano.shared(_w((3, 2)), name="w")
    cost = T.sum(T.tanh(T.dot(x, w)) ** 2)
    updates = lasagne.updates.rmsprop(cost, [w], learning_rate=0.01)
    f = theano.function([x], cost, updates=updates, backend=backend.name)
    storages = {id(v): v.get_value(borrow=True, return_internal_type=True) for v in updates}
    f(np.ones((4, 3)))
    f(np.ones((4, 3)))
    kept = [v.get_value(borrow=True, return_internal_type=True) is storages[id(v)]
            for v in updates]
    assert all(kept), kept


@pytest.mark.parametrize("how", ["errstate", "warnings"])
def test_a_floating_point_error_in_an_update_changes_nothing(backend, how):
    """When numpy raises on floating-point errors (np.errstate(all='raise'), or
    RuntimeWarning turned into an error), an overflow in the second update must
    not leave the first one written in place."""
    import warnings
    if backend.name != "numpy":
        pytest.skip("numpy's error state")
    a = theano.shared(np.ones(3), name="a")
    b = theano.shared(np.ones(3), name="b")
    z = theano.shared(np.zeros(3), name="z")
    f = theano.function([], [], updates=[(a, a * 2 + 1), (b, b / z + 1)], backend=backend.name)
    with warnings.catch_warnings():
        if how == "errstate":
            ctx = np.errstate(all="raise")
        else:
            warnings.simplefilter("error", RuntimeWarning)
            ctx = np.errstate(all="warn")
        with ctx, pytest.raises((FloatingPointError, RuntimeWarning)):
            f()
    np.testing.assert_array_equal(a.get_value(), np.ones(3))
    np.testing.assert_array_equal(b.get_value(), np.ones(3))
    with np.errstate(all="ignore"):
        f()
    np.testing.assert_array_equal(a.get_value(), np.full(3, 3.0))
    assert np.all(np.isinf(b.get_value()))


def test_a_broadcast_result_or_update_is_a_writeable_array_of_its_own(backend, excluding):
    """T.alloc of a computed value is a broadcast view (read-only in numpy, and
    overlapping memory on any backend): as a result it must be a writeable copy,
    and stored as an update, later in-place steps must work on it."""
    x = T.dvector("x")
    r = theano.function([x], T.alloc(x.sum() * 2, 2, 3), backend=backend.name)(np.ones(3))
    r[0, 0] = 5.0
    np.testing.assert_array_equal(r, [[5.0, 6, 6], [6, 6, 6]])
    s = theano.shared(np.float64(0.5), name="s")
    w = theano.shared(np.zeros((3, 4)), name="w")
    theano.function([], [], updates=[(w, T.alloc(T.exp(s) * 2, 3, 4))], backend=backend.name)()
    step = theano.function([], [], updates=[(w, w * 2 + 1)], backend=backend.name)
    step()
    step()
    start = np.exp(0.5) * 2
    np.testing.assert_allclose(w.get_value(), np.full((3, 4), (start * 2 + 1) * 2 + 1))


def test_updating_a_variable_and_its_alias_in_one_call_is_refused():
    w = theano.shared(np.ones(3), name="w")
    wa = w.alias()
    with pytest.raises(ValueError, match="updated twice"):
        theano.function([], [], updates=[(w, w * 2), (wa, wa + 1)])
    # an alias's default update gives way to an explicit update of the storage
    wa.default_update = wa + 1
    f = theano.function([], wa * 1, updates=[(w, w * 2)])
    f()
    np.testing.assert_array_equal(w.get_value(), np.full(3, 2.0))


def test_updates_given_as_a_one_shot_iterator_survive_pickling_and_debugmode():
    import pickle
    w = theano.shared(np.ones(3), name="w")
    f = theano.function([], [], updates=zip([w], [w * 2]), mode="DebugMode")
    f()
    np.testing.assert_array_equal(w.get_value(), np.full(3, 2.0))
    g = pickle.loads(pickle.dumps(f))
    assert len(g.update_targets) == 1


def test_a_filter_moved_back_to_the_front_is_seen():
    """simplefilter() of a filter already present only reorders the list: the cached
    'does numpy raise?' verdict must notice, or a failing call writes in place."""
    import warnings
    a = theano.shared(np.ones(3), name="a")
    b = theano.shared(np.ones(3), name="b")
    z = theano.shared(np.zeros(3), name="z")
    f = theano.function([], [], updates=[(a, a * 2 + 1), (b, b / z + 1)])
    with warnings.catch_warnings(), np.errstate(all="warn"):
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        f()
        b.set_value(np.ones(3))
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning):
            f()
    np.testing.assert_array_equal(a.get_value(), np.full(3, 3.0))
