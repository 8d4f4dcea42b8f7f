"""A compiled call frees each intermediate after its last use: its peak memory
is what is live at once, not the sum of every intermediate; returned results
and updates are never freed early."""
import tracemalloc

import numpy as np

import layerkit.core as theano
import layerkit.core.tensor as T


def _chain(x, n):
    """n intermediates in a row, each read once by the next (no fusion across)."""
    for _ in range(n):
        x = T.extra_ops.cumsum(x)
    return x.sum()


def _peak_bytes(fn, *args):
    fn(*args)                                  # the first call allocates the kernels' state
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_peak_is_what_is_live_not_every_intermediate():
    x = T.dvector("x")
    data = np.linspace(0, 1, 250_000)          # 2 MB a value
    f = theano.function([x], _chain(x, 8))
    assert "del " in f.source
    np.testing.assert_allclose(f(data), np.cumsum(
        np.cumsum(np.cumsum(np.cumsum(np.cumsum(np.cumsum(np.cumsum(np.cumsum(data)))))))).sum(),
        rtol=1e-12)
    # without the deletions the eight 2 MB intermediates would all be alive at the end
    assert _peak_bytes(f, data) < 4 * data.nbytes


def test_results_updates_and_values_read_later_survive():
    x = T.dvector("x")
    w = theano.shared(np.ones(5), name="w")
    a = T.extra_ops.cumsum(x)
    b = T.extra_ops.cumsum(a)
    f = theano.function([x], [a, b, a * 2], updates=[(w, w + b)])
    data = np.arange(5.0)
    got_a, got_b, got_2a = f(data)
    np.testing.assert_array_equal(got_a, np.cumsum(data))
    np.testing.assert_array_equal(got_b, np.cumsum(np.cumsum(data)))
    np.testing.assert_array_equal(got_2a, 2 * np.cumsum(data))
    np.testing.assert_array_equal(w.get_value(), 1 + np.cumsum(np.cumsum(data)))
    body = f.source.split("return")[0]
    returned = f.source.split("return")[1]
    for name in returned.replace("(", " ").replace(")", " ").replace(",", " ").split():
        assert f"del {name}" not in body and f", {name}" not in \
            "".join(ln for ln in body.splitlines() if ln.strip().startswith("del"))
