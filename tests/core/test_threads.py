"""Compiled functions called from several threads (issue 16, item 9): each call
acts as if the calls ran one after another — no lost update, no torn vector,
no repeated random draw."""
import sys
import threading

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.config import config
from layerkit.core.random import RandomStreams

# numpy's floating-point warnings stay warnings here (pytest's configuration makes
# them errors), so that compiled functions take their in-place path: with errors
# raised, the linker runs the program that writes no shared storage (decision D47)
pytestmark = pytest.mark.filterwarnings("default::RuntimeWarning")

THREADS, CALLS = 8, 300


def _hammer(fn, calls=CALLS, threads=THREADS):
    results = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(k):
        start.wait()
        for _ in range(calls):
            results[k].append(fn())
    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)          # switch threads as often as possible: races show
    try:
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    return [r for rs in results for r in rs]


@pytest.mark.parametrize("excluding", ["", "inplace"])
def test_no_update_is_lost(backend, excluding, monkeypatch):
    monkeypatch.setattr(config, "optimizer_excluding", excluding)
    c = theano.shared(np.float64(0.0), name="c")
    inc = theano.function([], c, updates=[(c, c + 1)], backend=backend.name)
    seen = _hammer(inc)
    assert float(c.get_value()) == THREADS * CALLS
    # each call saw a distinct value before its own update: 0 .. 2399
    assert sorted(float(s) for s in seen) == list(map(float, range(THREADS * CALLS)))


def test_an_in_place_vector_is_never_torn(backend):
    """Every element of v is updated by the same step; a call must never see (or
    leave) a vector that is half one step and half the next."""
    v = theano.shared(np.zeros(50_000), name="v")
    step = theano.function([], v.sum(), updates=[(v, v * 1.0 + 1.0)], backend=backend.name)
    sums = _hammer(step, calls=40)
    final = v.get_value()
    assert np.all(final == final[0]) and final[0] == THREADS * 40
    assert all(float(s) % 50_000 == 0 for s in sums)


def test_random_draws_never_repeat_across_threads(backend):
    srng = RandomStreams(seed=1234)
    draw = theano.function([], srng.uniform((4,)), backend=backend.name)
    draws = _hammer(draw, calls=50)
    rows = {tuple(np.asarray(d).tolist()) for d in draws}
    assert len(rows) == len(draws) == THREADS * 50


def test_set_value_from_another_thread_is_atomic_with_calls(backend):
    """A set_value racing with in-place steps: the value afterwards is either the
    one set plus some whole steps, never a mix of positions."""
    v = theano.shared(np.zeros(20_000), name="v")
    step = theano.function([], [], updates=[(v, v + 1.0)], backend=backend.name)
    stop = threading.Event()

    def setter():
        while not stop.is_set():
            v.set_value(np.full(20_000, -1000.0))
    t = threading.Thread(target=setter)
    t.start()
    try:
        for _ in range(300):
            step()
            value = v.get_value()
            assert np.all(value == value[0])
    finally:
        stop.set()
        t.join()


def test_an_update_target_the_function_does_not_read_is_locked_too():
    """``updates=[(w, x)]`` reads nothing of w, but writes it: a call must hold w's lock,
    or a concurrent in-place step of w can be lost."""
    x = T.dscalar("x")
    w = theano.shared(np.float64(0.0), name="w")
    f = theano.function([x], [], updates=[(w, x)])
    from layerkit.core.shared import storage_lock
    assert storage_lock(w) in f.program.locks
