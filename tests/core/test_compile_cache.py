"""Compiled graphs cached by structure: a second compile of the same graph skips the
rewrites, and the function it gives computes with its own inputs and shared values."""
import inspect

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.rewrite import cache


def _logistic(w0, backend):
    """The model and its training function, built by the same lines each time."""
    x, y = T.dmatrix("x"), T.dvector("y")
    w = theano.shared(w0.copy(), name="w")
    p = T.nnet.sigmoid(T.dot(x, w))
    cost = T.nnet.binary_crossentropy(p, y).mean()
    g = T.grad(cost, w)
    return w, theano.function([x, y], cost, updates=[(w, w - 0.5 * g)], backend=backend.name)


def _reference_step(w, X, Y, lr=0.5):
    p = 1 / (1 + np.exp(-X @ w))
    cost = -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))
    return cost, w - lr * X.T @ (p - Y) / len(Y)


def test_same_structure_hits_the_cache_and_keeps_its_own_shared_values(backend):
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((20, 4)), (rng.random(20) > 0.5).astype(float)
    w_a, w_b = rng.standard_normal(4), rng.standard_normal(4)
    cache.clear()
    w, f_a = _logistic(w_a, backend)
    before = cache.stats()
    w2, f_b = _logistic(w_b, backend)
    after = cache.stats()
    assert after["hits"] == before["hits"] + 1 and after["misses"] == before["misses"]
    for _ in range(3):
        ca, cb = f_a(X, Y), f_b(X, Y)
        ref_a, w_a = _reference_step(w_a, X, Y)
        ref_b, w_b = _reference_step(w_b, X, Y)
        np.testing.assert_allclose([ca, cb], [ref_a, ref_b], rtol=1e-12)
    np.testing.assert_allclose(w.get_value(), w_a, rtol=1e-12)
    np.testing.assert_allclose(w2.get_value(), w_b, rtol=1e-12)


def _compile(kind, c, backend):
    """Compile one of a few graphs of ``x`` and a constant (or stream) ``c``. Graphs of
    one kind are built at the same lines, so only ``c`` can tell two apart."""
    x = T.dvector("x")
    build = {"affine": lambda: x * c + 1.0,
             "exp": lambda: T.exp(x * c),
             "shift": lambda: x + c,
             "draw": lambda: x + c.uniform((5,))}[kind]
    return theano.function([x], build(), backend=backend.name)


def test_different_constants_or_structure_miss(backend):
    cache.clear()
    f1 = _compile("affine", 2.0, backend)
    f2 = _compile("affine", 3.0, backend)
    f3 = _compile("exp", 2.0, backend)
    assert cache.stats()["hits"] == 0
    _compile("affine", 2.0, backend)                       # the same again: a hit
    assert cache.stats()["hits"] == 1
    a = np.array([0.5, -1.0])
    np.testing.assert_allclose(f1(a), a * 2 + 1)
    np.testing.assert_allclose(f2(a), a * 3 + 1)
    np.testing.assert_allclose(f3(a), np.exp(a * 2))


def test_large_constants_are_compared_by_content(backend):
    cache.clear()
    c1, c2 = np.arange(100.0), np.arange(100.0)[::-1].copy()
    f1 = _compile("shift", c1, backend)
    f2 = _compile("shift", c2, backend)
    assert cache.stats()["hits"] == 0
    _compile("shift", c1.copy(), backend)                  # equal content: a hit
    assert cache.stats()["hits"] == 1
    a = np.ones(100)
    np.testing.assert_allclose(f1(a), a + c1)
    np.testing.assert_allclose(f2(a), a + c2)


def test_random_streams_are_not_shared_between_cached_graphs(backend):
    cache.clear()
    f1 = _compile("draw", theano.RandomStreams(1), backend)
    f2 = _compile("draw", theano.RandomStreams(1), backend)   # equal ops, another stream
    assert cache.stats()["hits"] == 0
    z = np.zeros(5)
    first = f1(z)
    assert not np.array_equal(first, f1(z))                   # each call draws anew
    np.testing.assert_array_equal(f2(z), first)               # its own state: draw one


def test_equal_graphs_built_at_other_lines_report_their_own_line(backend):
    """A cached graph never lends its node's line to another graph's error message."""
    from layerkit.core.linker import KernelError
    cache.clear()

    def build():
        x, y = T.dmatrix("x"), T.dmatrix("y")
        return x, y, T.exp(x + y) * 2

    x1, y1, z1 = build()
    f1 = theano.function([x1, y1], z1, backend=backend.name)
    x2, y2 = T.dmatrix("x"), T.dmatrix("y")
    z2, line = T.exp(x2 + y2) * 2, inspect.currentframe().f_lineno   # another line
    f2 = theano.function([x2, y2], z2, backend=backend.name)
    x3, y3, z3 = build()                          # the same line again: a hit
    theano.function([x3, y3], z3, backend=backend.name)
    assert cache.stats()["hits"] == 1
    with pytest.raises(KernelError) as err:
        f2(np.ones((3, 4)), np.ones((5, 4)))
    assert f"test_compile_cache.py:{line}" in str(err.value)
    with pytest.raises(KernelError):
        f1(np.ones((3, 4)), np.ones((5, 4)))
