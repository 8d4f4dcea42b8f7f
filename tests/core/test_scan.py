"""scan's semantics beyond the numbers of ``suite_scan``: random draws inside the
loop, updates of shared variables, truncated back-propagation, ``strict``, the
errors a user gets, the paths old scripts import, the one loop a training
function runs, threads and DebugMode."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.graph import toposort
from layerkit.core.random import RandomStreams
from layerkit.core.scan_module import Scan, until


def _scans(fn):
    return [n for n in toposort(fn.outputs + fn.update_values) if isinstance(n.op, Scan)]


# -- random draws ------------------------------------------------------------------
def test_draws_inside_the_step_differ_by_step_and_by_call():
    srng = RandomStreams(3)
    n = T.lscalar("n")
    out, updates = theano.scan(lambda: srng.uniform((4,)), n_steps=n)
    f = theano.function([n], out, updates=updates)
    a, b = f(5), f(5)
    assert a.shape == (5, 4)
    assert len({tuple(r) for r in a}) == 5              # every step drew anew
    assert not np.allclose(a, b)                         # every call too
    assert np.all((a >= 0) & (a < 1))


def test_draws_replay_from_the_seed():
    def run():
        srng = RandomStreams(11)
        out, upd = theano.scan(lambda: srng.normal((3,)), n_steps=4)
        f = theano.function([], out, updates=upd)
        return f(), f()
    first, second = run(), run()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_a_draw_made_outside_the_step_is_the_same_at_every_step():
    srng = RandomStreams(5)
    mask = srng.uniform((3,))
    out, _ = theano.scan(lambda: mask * 2.0, n_steps=4)
    got = theano.function([], out)()
    for row in got[1:]:
        np.testing.assert_array_equal(row, got[0])


def test_gradient_through_dropout_inside_the_loop_sees_the_forward_masks():
    """The backward loop recomputes the step: its draws must be the forward's."""
    srng = RandomStreams(7)
    x = T.dmatrix("x")
    h0 = T.dvector("h0")
    w = T.dvector("w")

    def step(x_t, h, w):
        keep = srng.binomial((3,), p=0.5, dtype="float64")
        return [T.tanh(h * w * keep + x_t), keep]
    (hs, masks), _ = theano.scan(step, sequences=x, outputs_info=[h0, None], non_sequences=w)
    cost = T.sum(hs ** 2)
    f = theano.function([x, h0, w], [cost, masks] + T.grad(cost, [h0, w]))
    rng = np.random.default_rng(0)
    xv, h0v, wv = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)
    c, m, g_h0, g_w = f(xv, h0v, wv)
    assert 0 < m.sum() < m.size                          # some kept, some dropped

    def reference(h0v, wv):
        h, total = h0v, 0.0
        for t in range(5):
            h = np.tanh(h * wv * m[t] + xv[t])
            total += np.sum(h ** 2)
        return total
    assert np.isclose(c, reference(h0v, wv))
    eps = 1e-6
    for got, which in ((g_h0, 0), (g_w, 1)):
        num = np.zeros(3)
        for i in range(3):
            args = [h0v.copy(), wv.copy()]
            args[which][i] += eps
            up = reference(*args)
            args[which][i] -= 2 * eps
            num[i] = (up - reference(*args)) / (2 * eps)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)


# -- updates --------------------------------------------------------------------
def test_updates_of_shared_variables_are_carried_and_returned():
    c = theano.shared(np.float64(4.0), name="c")
    vals, updates = theano.scan(lambda: (c * 2, {c: c + 1}), n_steps=3)
    assert list(updates) == [c]
    f = theano.function([], vals, updates=updates)
    np.testing.assert_array_equal(f(), [8.0, 10.0, 12.0])   # each step sees the last
    assert c.get_value() == 7.0
    np.testing.assert_array_equal(f(), [14.0, 16.0, 18.0])


def test_returned_updates_are_a_dict_users_extend():
    w = theano.shared(np.zeros(2), name="w")
    x = T.dvector("x")
    out, updates = theano.scan(lambda a: a * 2, sequences=x)
    updates[w] = w + out.sum()             # rbm.py adds its parameter updates so
    theano.function([x], [], updates=updates)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(w.get_value(), [6.0, 6.0])


# -- truncated back-propagation ------------------------------------------------------
def test_truncate_gradient_stops_after_k_steps():
    x = T.dmatrix("x")
    w = T.dvector("w")
    h0 = T.dvector("h0")
    k = 2

    def step(x_t, h, w):
        return T.tanh(h * w + x_t)
    hs, _ = theano.scan(step, sequences=x, outputs_info=h0, non_sequences=w,
                        truncate_gradient=k)
    cost = T.sum(hs ** 2)
    g = theano.function([x, h0, w], T.grad(cost, [x, h0, w]))
    rng = np.random.default_rng(1)
    xv, h0v, wv = rng.normal(size=(6, 3)), rng.normal(size=3), rng.normal(size=3)
    gx, gh0, gw = g(xv, h0v, wv)

    # the reference: each output's gradient flows back through at most k steps
    hs_v = [h0v]
    for t in range(6):
        hs_v.append(np.tanh(hs_v[-1] * wv + xv[t]))
    ref_x, ref_w = np.zeros_like(xv), np.zeros(3)
    carry = np.zeros(3)
    for t in range(6, 6 - k, -1):          # the backward loop runs the last k steps
        g_h = 2 * hs_v[t] + carry
        pre = g_h * (1 - hs_v[t] ** 2)
        ref_x[t - 1] = pre
        ref_w += pre * hs_v[t - 1]
        carry = pre * wv
    np.testing.assert_allclose(gx, ref_x, atol=1e-12)
    np.testing.assert_allclose(gw, ref_w, atol=1e-12)
    np.testing.assert_array_equal(gh0, np.zeros(3))     # beyond the truncation


# -- strict, errors ---------------------------------------------------------------
def test_strict_refuses_a_shared_variable_not_in_non_sequences():
    w = theano.shared(np.ones(3), name="w")
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="strict=True.*w.*non_sequences"):
        theano.scan(lambda r: r * w, sequences=x, strict=True)
    out, _ = theano.scan(lambda r, w: r * w, sequences=x, non_sequences=[w], strict=True)
    np.testing.assert_array_equal(theano.function([x], out)(np.ones((2, 3))), np.ones((2, 3)))
    # a non-sequence may be an expression of shared variables (Lasagne's LSTM passes them)
    out, _ = theano.scan(lambda r, w2: r * w2, sequences=x, non_sequences=[2 * w], strict=True)
    np.testing.assert_array_equal(theano.function([x], out)(np.ones((2, 3))), np.full((2, 3), 2.0))


def test_dtype_of_a_recurrent_output_must_match_its_initial_value():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="output 0 .* float64.*initial value.*float32"):
        theano.scan(lambda a, s: s + a, sequences=x, outputs_info=T.constant(0.0, dtype="float32"))


def test_a_recurrent_output_that_changes_shape_is_refused_at_run_time():
    x = T.dmatrix("x")
    h0 = T.dvector("h0")
    out, _ = theano.scan(lambda r, h: r + 0.0 * T.sum(h), sequences=x, outputs_info=h0)
    f = theano.function([x, h0], out)
    with pytest.raises(ValueError, match="initial value has shape \\(2,\\).*returns shape \\(3,\\)"):
        f(np.ones((4, 3)), np.ones(2))


def test_an_output_that_changes_shape_between_steps_is_refused():
    x = T.lvector("x")
    out, _ = theano.scan(lambda n: T.ones((n,)), sequences=x)
    f = theano.function([x], out)
    with pytest.raises(ValueError, match="at step 1, output 0 has shape \\(3,\\).*\\(2,\\)"):
        f(np.array([2, 3]))


def test_n_steps_beyond_the_sequence_is_refused():
    x = T.dvector("x")
    out, _ = theano.scan(lambda a: a * 2, sequences=x, n_steps=5)
    with pytest.raises(ValueError, match="sequence 0 has 3 entries, fewer than the 5 steps"):
        theano.function([x], out)(np.ones(3))


def test_outputs_info_must_match_the_outputs():
    x = T.dvector("x")
    with pytest.raises(ValueError, match="outputs_info has 2 entries .* returned 1"):
        theano.scan(lambda a, s: s + a, sequences=x, outputs_info=[x[0], None])
    with pytest.raises(ValueError, match="taps \\[1\\] must be negative"):
        theano.scan(lambda a, s: s + a, sequences=x, outputs_info=dict(initial=x[0], taps=[1]))


def test_until_stops_early_and_n_steps_bounds_it():
    n = T.dscalar("n")
    out, _ = theano.scan(lambda prev: (prev * 2, until(prev * 2 > n)),
                         outputs_info=T.constant(1.0, dtype="float64"), n_steps=10)
    f = theano.function([n], out)
    np.testing.assert_array_equal(f(20.0), [2.0, 4.0, 8.0, 16.0, 32.0])
    assert len(f(1e9)) == 10


def test_zero_steps_give_empty_outputs():
    x = T.dmatrix("x")
    h0 = T.dvector("h0")
    out, _ = theano.scan(lambda r, h: h + r, sequences=x, outputs_info=h0)
    f = theano.function([x, h0], [out, T.grad(T.sum(out) + T.sum(h0), h0)])
    got, g = f(np.zeros((0, 3)), np.ones(3))
    assert got.shape == (0, 3)
    np.testing.assert_array_equal(g, np.ones(3))


# -- the compiled function ----------------------------------------------------------
def test_a_training_step_runs_one_forward_loop():
    """The gradient's wider forward loop (keeping intermediates) replaces the
    forward loop the cost uses: one forward and one backward loop run."""
    x = T.dmatrix("x")
    w = theano.shared(np.full(3, 0.5), name="w")

    def step(r, h, w):           # the sigmoid's value is an intermediate the gradient reads
        return T.tanh(h * w + r) * T.nnet.sigmoid(h + r)
    hs, _ = theano.scan(step, sequences=x, outputs_info=T.zeros((3,), dtype="float64"),
                        non_sequences=w)
    cost = T.sum(hs ** 2)
    f = theano.function([x], cost, updates=[(w, w - 0.1 * T.grad(cost, w))])
    scans = _scans(f)
    assert len(scans) == 2 and any(n.op.extends is not None for n in scans)
    xv = np.random.default_rng(0).normal(size=(4, 3))
    # the same step with merging disabled (two forward loops) gives the same numbers
    w2 = theano.shared(np.full(3, 0.5), name="w2")
    hs2, _ = theano.scan(step, sequences=x, outputs_info=T.zeros((3,), dtype="float64"),
                         non_sequences=w2)
    cost2 = T.sum(hs2 ** 2)
    saved = theano.config.optimizer_excluding
    theano.config.optimizer_excluding = "merge"
    try:
        f2 = theano.function([x], cost2, updates=[(w2, w2 - 0.1 * T.grad(cost2, w2))])
    finally:
        theano.config.optimizer_excluding = saved
    assert len(_scans(f2)) == 3
    for _ in range(3):
        assert np.isclose(f(xv), f2(xv))
    np.testing.assert_allclose(w.get_value(), w2.get_value(), rtol=1e-14)


def test_loop_invariant_work_is_computed_once_before_the_loop():
    x = T.dmatrix("x")
    w = T.dmatrix("w")
    out, _ = theano.scan(lambda r, h: T.dot(h, T.exp(w).T) + r, sequences=x,
                         outputs_info=T.zeros((2,), dtype="float64"))
    node = out.scan_node
    inner_ops = {type(n.op).__name__ for n in toposort(node.op.inner_outputs)}
    assert "MatMul" in inner_ops
    assert not any(getattr(n.op, "scalar_name", None) == "exp" or "exp" in repr(n.op)
                   for n in toposort(node.op.inner_outputs))
    f = theano.function([x, w], out)
    xv, wv = np.ones((3, 2)), np.full((2, 2), 0.1)
    h, ref = np.zeros(2), []
    for r in xv:
        h = h @ np.exp(wv).T + r
        ref.append(h)
    np.testing.assert_allclose(f(xv, wv), ref)


def test_scan_in_debugmode():
    x = T.dmatrix("x")
    w = T.dvector("w")
    hs, _ = theano.scan(lambda r, h, w: T.tanh(h * w + r), sequences=x,
                        outputs_info=T.zeros((3,), dtype="float64"), non_sequences=w)
    cost = T.sum(hs ** 2)
    args = [np.random.default_rng(2).normal(size=(4, 3)), np.full(3, 0.3)]
    fast = theano.function([x, w], [cost, T.grad(cost, w)])
    debug = theano.function([x, w], [cost, T.grad(cost, w)], mode="DebugMode")
    for a, b in zip(fast(*args), debug(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_calls_from_several_threads():
    x = T.dmatrix("x")
    hs, _ = theano.scan(lambda r, h: h * 0.5 + r, sequences=x,
                        outputs_info=T.zeros((2,), dtype="float64"))
    f = theano.function([x], hs)
    inputs = [np.full((50, 2), float(k)) for k in range(8)]
    expected = [f(v) for v in inputs]
    errors = []

    def work(k):
        for _ in range(20):
            if not np.array_equal(f(inputs[k]), expected[k]):
                errors.append(k)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# -- the paths old scripts import ---------------------------------------------------
def test_theano_paths():
    import layerkit.core.scan_module as scan_module
    assert theano.scan is scan_module.scan
    assert scan_module.until is until
    for name in ("map", "reduce", "foldl", "foldr"):
        assert getattr(theano, name) is getattr(scan_module, name)


def test_a_function_with_a_loop_pickles():
    import pickle
    x = T.dvector("x")
    out, _ = theano.scan(lambda a, s: s + a, sequences=x,
                         outputs_info=T.constant(0.0, dtype="float64"))
    f = theano.function([x], out)
    f(np.ones(3))
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(g(np.array([1.0, 2.0, 3.0])), [1.0, 3.0, 6.0])


def _views_repeats_updates_graph(tag):
    """A loop whose step returns views and a repeated output, reads a shared
    variable it updates, inside a function that also updates shared variables."""
    w = theano.shared(np.arange(6.0).reshape(2, 3) / 10, name=f"w{tag}")
    acc = theano.shared(np.float64(0.0), name=f"acc{tag}")
    x = T.dmatrix("x")

    def step(r, h, w):
        new = T.tanh(T.dot(h, w) + r + acc)
        return [new[:2] + 0.0, new.T, new, new], {acc: acc + new.sum()}
    (h, ht, y1, y2), updates = theano.scan(
        step, sequences=x, outputs_info=[T.zeros((2,), dtype="float64"), None, None, None], non_sequences=w)
    cost = T.sum(y1 ** 2) + T.sum(ht[::-1] * 0.5) + T.sum(y2)
    updates[w] = w - 0.1 * T.grad(cost, w)
    return [x], [y1, y2, ht, h[::-1], cost], updates, (w, acc)


def test_optimized_unfused_and_debugmode_agree_on_views_repeats_and_updates():
    xv = np.random.default_rng(4).normal(size=(5, 3))
    results = []
    for tag, mode, excluded in (("a", None, ""), ("b", None, "fusion:inplace"),
                                ("c", "DebugMode", "")):
        ins, outs, updates, shared = _views_repeats_updates_graph(tag)
        saved = theano.config.optimizer_excluding
        theano.config.optimizer_excluding = excluded
        try:
            f = theano.function(ins, outs, updates=updates, mode=mode)
        finally:
            theano.config.optimizer_excluding = saved
        got = [f(xv) for _ in range(2)]
        y1, y2 = got[-1][0], got[-1][1]
        assert y1 is not y2 and not np.shares_memory(y1, y2)
        results.append((got, [s.get_value() for s in shared]))
    ref_got, ref_shared = results[0]
    for got, shared in results[1:]:
        for call_a, call_b in zip(ref_got, got):
            for a, b in zip(call_a, call_b):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        for a, b in zip(ref_shared, shared):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# -- found in review ----------------------------------------------------------------
def _fd(fn, v, eps=1e-6):
    out = np.zeros_like(v)
    for i in range(v.size):
        e = np.zeros_like(v)
        e.flat[i] = eps
        out.flat[i] = (fn(v + e) - fn(v - e)) / (2 * eps)
    return out


def _swap_tanh_loss(xv, h):
    """sum over steps of |h_t|^2 for h_t = tanh(h_{t-1} * x_t + reversed(h_{t-1})), numpy."""
    total = 0.0
    for a in xv:
        h = np.tanh(h * a + h[::-1])
        total += np.sum(h ** 2)
    return total


def test_a_variable_returned_twice_gets_both_gradients():
    x, h0 = T.dmatrix("x"), T.dvector("h0")

    def step(a, h):
        new = T.tanh(h * a + h[::-1])
        return new, new
    (h, y), _ = theano.scan(step, sequences=x, outputs_info=[h0, None])
    g = theano.function([x, h0], [T.grad(T.sum(h ** 2), h0), T.grad(T.sum(y ** 2), h0)])
    xv, hv = np.random.default_rng(0).normal(size=(4, 2)), np.array([0.3, -0.2])
    for got in g(xv, hv):
        np.testing.assert_allclose(got, _fd(lambda h: _swap_tanh_loss(xv, h), hv), rtol=1e-6)


def test_the_shared_update_idiom_return_new_and_update_to_new():
    s = theano.shared(np.array([0.3, -0.2]), name="s")
    x = T.dmatrix("x")

    def step(a):
        new = T.tanh(s * a + s[::-1])
        return new, {s: new}
    out, _ = theano.scan(step, sequences=x)
    g = theano.function([x], T.grad(T.sum(out ** 2), s))
    xv = np.random.default_rng(1).normal(size=(4, 2))
    np.testing.assert_allclose(g(xv), _fd(lambda h: _swap_tanh_loss(xv, h), s.get_value()),
                               rtol=1e-6)


def test_an_initial_value_longer_than_its_taps_gets_a_gradient_of_its_shape():
    xi = T.dvector("xi")
    o, _ = theano.scan(lambda a, b: a * b, outputs_info=dict(initial=xi, taps=[-3, -1]),
                       n_steps=2)
    got = theano.function([xi], T.grad(o.sum(), xi))(np.arange(1.0, 6.0))
    np.testing.assert_allclose(got, [9.0, 3.0, 3.0, 0.0, 0.0])


def test_zero_steps_give_outputs_of_the_right_row_shape_and_gradients():
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    y, _ = theano.scan(lambda r: r * 2, sequences=x)
    (h, y2), _ = theano.scan(lambda r, h: [h + r, r.sum() * h], sequences=x,
                             outputs_info=[h0, None])
    f = theano.function([x, h0], [y, y.sum(axis=0), y2,
                                  T.grad(T.sum(h ** 2) + y.sum() + y2.sum(), x)])
    a, b, c, d = f(np.zeros((0, 3)), np.ones(3))
    assert a.shape == (0, 3) and c.shape == (0, 3) and d.shape == (0, 3)
    np.testing.assert_array_equal(b, np.zeros(3))


def test_a_too_short_sequence_read_at_taps_is_named_as_the_user_gave_it():
    x = T.dvector("x")
    o, _ = theano.scan(lambda a, b: a + b, sequences=dict(input=x, taps=[-1, 0]), n_steps=5)
    with pytest.raises(ValueError, match="sequence 0 has 5 entries; read at taps \\[-1, 0\\], "
                                         "they give 4 steps, fewer than the 5 steps"):
        theano.function([x], o)(np.ones(5))


def test_an_input_projection_is_one_product_before_the_loop():
    """dot(x_t, W) (and the elementwise work on rows around it) runs once for all
    steps; the loop keeps the recurrent product only. Two sequences of different
    lengths: the loop runs for the shorter, and so does the projection."""
    x, y, w, u = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("w"), T.dmatrix("u")

    def step(x_t, y_t, h, w, u):
        return T.tanh(T.dot(x_t * 2.0 + y_t, w) + T.dot(h, u))
    hs, _ = theano.scan(step, sequences=[x, y], outputs_info=T.zeros((3,), dtype="float64"),
                        non_sequences=[w, u])
    inner = hs.scan_node.op
    products = [n for n in toposort(inner.inner_outputs) if type(n.op).__name__ == "MatMul"]
    assert len(products) == 1 and products[0].inputs[1] is not None
    rng = np.random.default_rng(7)
    xv, yv = rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    wv, uv = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.5
    cost = T.sum(hs ** 2)
    f = theano.function([x, y, w, u], [hs] + T.grad(cost, [x, w, u]))
    got = f(xv, yv, wv, uv)

    def ref(xv, wv, uv):
        h, out = np.zeros(3), []
        for t in range(4):
            h = np.tanh((xv[t] * 2 + yv[t]) @ wv + h @ uv)
            out.append(h)
        return np.array(out)
    np.testing.assert_allclose(got[0], ref(xv, wv, uv), rtol=1e-12)
    for k, (arg, g) in enumerate(zip((xv, wv, uv), got[1:])):
        def cost_of(v, k=k):
            args = [xv, wv, uv]
            args[k] = v
            return np.sum(ref(*args) ** 2)
        np.testing.assert_allclose(g, _fd(cost_of, arg), rtol=1e-6, atol=1e-9)


def test_strict_sees_shared_variables_in_work_moved_before_the_loop():
    w = theano.shared(np.ones((3, 2)), name="Ws")
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="strict=True.*Ws.*non_sequences"):
        theano.scan(lambda r: T.dot(r, w), sequences=x, strict=True)


def test_a_short_sequence_feeding_moved_work_is_named():
    x, y, w = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("w")
    out, _ = theano.scan(lambda a, b: T.dot(a + b, w), sequences=[x, y], n_steps=5)
    f = theano.function([x, y, w], out)
    with pytest.raises(ValueError, match="sequence 1 .* fewer entries than the steps"):
        f(np.ones((5, 3)), np.ones((3, 3)), np.ones((3, 2)))
