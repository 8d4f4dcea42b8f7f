"""Integer-array indexing follows numpy, axis by axis, on every backend (issue 16, item 2).

Several index arrays used to be folded into one linear index over the merged
axes (``i * ncols + j``) before anything was checked: ``m[[0, 1], [-1, 0]]``
read ``m.flat[-1]`` and ``m[[0, 1], [3, 0]]`` read the next row. Every result
here is compared with numpy's own indexing (or ``np.add.at`` for increments
and gradients), computed independently of layerkit; every bad index must raise
``IndexError`` naming the axis, the index, the size and the valid range.
"""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.backend.kernels import GENERIC_KERNELS
from layerkit.testing.verify_grad import verify_grad

M = np.arange(12.0).reshape(4, 3)            # the matrix
X3 = np.arange(60.0).reshape(3, 4, 5)


def _run(backend, inputs, output, *values):
    f = theano.function(inputs, output, backend=backend)
    return np.asarray(f(*values))


def _check(got, want):
    assert got.shape == want.shape, f"shape {got.shape}, numpy gives {want.shape}"
    np.testing.assert_array_equal(got, want)


# -- forward: symbolic index arrays ---------------------------------------------------

@pytest.mark.parametrize("i, j", [
    ([0, 1], [-1, 0]),                   # the case: numpy gives [2, 3]
    ([0, -1, -4, 3], [-3, 2, -1, 0]),    # negative on both axes, each by its own size
    ([3, 3, 0], [2, -3, -2]),
])
def test_two_symbolic_index_arrays_match_numpy(backend, i, j):
    m, a, b = T.dmatrix("m"), T.lvector("i"), T.lvector("j")
    got = _run(backend, [m, a, b], m[a, b], M, np.array(i), np.array(j))
    _check(got, M[np.array(i), np.array(j)])


CONSTANT_KEYS = {
    "pair": lambda: ([0, 1], [-1, 0]),
    "pair_ndarray": lambda: (np.array([2, -1]), np.array([-2, 1])),
    "broadcast_column_row": lambda: (np.array([[0], [-1], [2]]), np.array([-1, 0])),
    "int_and_array": lambda: (-1, [0, -1, 2]),                    # ints join the arrays
    "array_and_int": lambda: ([-1, 0], -2),
    "three_axes": lambda: ([0, -1], [-1, 3], [-5, 4]),
    "leading_slice": lambda: (slice(None), [-1, 0, 2], [-1, 0, 4]),
    "trailing_slice": lambda: ([-1, 0], [-4, 3], slice(1, None)),
    "separated_by_slice": lambda: ([-1, 0], slice(None), [-5, 4]),   # result axes first
    "int_separated": lambda: (0, slice(None), [-1, 1]),
    "ellipsis": lambda: (Ellipsis, [-1, 0], [4, -5]),
    "new_axis_between": lambda: ([0, -1], None, [-1, 2]),
    "new_axis_first": lambda: (None, [-1, 0], [-1, 0]),
    "new_axis_after_2d_index": lambda: (np.array([[0, -1]]), None),
    "basic_int_then_new_axis": lambda: (0, None),
    "basic_new_axis_int": lambda: (None, slice(None), -1, None),
}


@pytest.mark.parametrize("name", sorted(CONSTANT_KEYS))
def test_constant_keys_match_numpy(backend, name):
    key = CONSTANT_KEYS[name]()
    x = M if name.startswith(("pair", "broadcast", "int_and", "array_and", "basic_int")) else X3
    v = T.tensor("float64", shape=(None,) * x.ndim, name="x")
    _check(_run(backend, [v], v[key], x), x[key])


def test_index_arrays_broadcast_at_run_time(backend):
    # sizes unknown when the graph is built: (3, 1) against (2,) broadcasts to (3, 2)
    m, a, b = T.dmatrix("m"), T.lmatrix("i"), T.lvector("j")
    i, j = np.array([[0], [-1], [2]]), np.array([-1, 1])
    _check(_run(backend, [m, a, b], m[a, b], M, i, j), M[i, j])
    f = theano.function([m, a, b], m[a, b], backend=backend)
    with pytest.raises(IndexError, match=r"indexing arrays could not be broadcast together "
                                         r"with shapes \(2, 2\) \(3,\)"):
        f(M, np.zeros((2, 2), np.int64), np.zeros(3, np.int64))


# -- out-of-range indices -----------------------------------------------------------------

def _bounds_message(index, axis, size):
    return (rf"index {index} is out of bounds for axis {axis} with size {size} "
            rf"\(expected an index from {-size} to {size - 1}\)")


@pytest.mark.parametrize("i, j, index, axis, size", [
    ([0, 1], [3, 0], 3, 1, 3),           # the case: read the next row
    ([0, 1], [0, -4], -4, 1, 3),
    ([4, 0], [0, 0], 4, 0, 4),
    ([-5, 0], [0, 0], -5, 0, 4),
])
def test_each_axis_is_bounds_checked(backend, i, j, index, axis, size):
    m, a, b = T.dmatrix("m"), T.lvector("i"), T.lvector("j")
    f = theano.function([m, a, b], m[a, b], backend=backend)
    with pytest.raises(IndexError, match=_bounds_message(index, axis, size)):
        f(M, np.array(i), np.array(j))


@pytest.mark.parametrize("key, index, axis, size", [
    (lambda a: a[[-5]], -5, 0, 4),                 # the generic take wrapped -5 twice
    (lambda a: a[:, [0, 3]], 3, 1, 3),
    (lambda a: a[None, :, [-4]], -4, 1, 3),        # axes named as in the user's tensor
    (lambda a: a[[0], :][:, [-1, 5]], 5, 1, 3),
])
def test_single_index_array_out_of_range_raises(backend, key, index, axis, size):
    m = T.dmatrix("m")
    f = theano.function([m], key(m), backend=backend)
    with pytest.raises(IndexError, match=_bounds_message(index, axis, size)):
        f(M)


def test_separated_arrays_name_the_users_axis(backend):
    x = T.dtensor3("x")
    f = theano.function([x], x[[0, 1], :, [0, 5]], backend=backend)   # axes moved inside
    with pytest.raises(IndexError, match=_bounds_message(5, 2, 5)):
        f(X3)


@pytest.mark.parametrize("build, index, axis, size", [
    (lambda m, v: T.inc_subtensor(m[[4, 0]], v), 4, 0, 4),        # the generic sum dropped it
    (lambda m, v: T.inc_subtensor(m[[-5]], v), -5, 0, 4),
    (lambda m, v: T.inc_subtensor(m[[0, 1], [3, 0]], v[0]), 3, 1, 3),
    (lambda m, v: T.inc_subtensor(m[:, [0, -4]], v[0]), -4, 1, 3),
])
def test_scatter_add_out_of_range_raises(backend, build, index, axis, size):
    m, v = T.dmatrix("m"), T.dvector("v")
    f = theano.function([m, v], build(m, v), backend=backend)
    with pytest.raises(IndexError, match=_bounds_message(index, axis, size)):
        f(M, np.ones(3))


@pytest.mark.parametrize("name", ["take", "scatter_add"])
def test_generic_kernels_refuse_out_of_range_indices(name):
    # the generic kernels, called directly (the host backend, array-api-strict, cupy's
    # scatter_add); the standard leaves out-of-range indices undefined
    kernel = GENERIC_KERNELS[name]
    for bad in (3, -4):
        idx = np.array([0, bad])
        args = (np.zeros((3, 2)), idx) + ((np.ones((2, 2)),) if name == "scatter_add" else ())
        with pytest.raises(IndexError, match=_bounds_message(bad, 0, 3)):
            kernel(*args, axis=0)


# -- increments and gradients (np.add.at is the reference) -----------------------------

def _add_at(x, key, values):
    out = np.array(x, dtype="float64")
    np.add.at(out, key, values)
    return out


INC_CASES = {
    "pair_with_duplicates": (lambda: ([0, -1, 0, 3], [-1, 0, 2, -3]), M),
    "broadcast_pair": (lambda: (np.array([[0], [-1]]), np.array([-1, 0, -1])), M),
    "slice_and_pair": (lambda: (slice(1, None), [-1, 0, -1], [4, -5, 4]), X3),
    "separated_by_slice": (lambda: ([-1, 0, -1], slice(None), [4, -5, 4]), X3),
    "int_and_array": (lambda: (-1, [0, -1, 0]), M),
    "slice_and_single_array": (lambda: (slice(1, None), [0, -1, 0]), M),   # was slice-shaped
}


@pytest.mark.parametrize("name", sorted(INC_CASES))
def test_inc_subtensor_with_index_arrays_matches_np_add_at(backend, name):
    make_key, x = INC_CASES[name]
    key = make_key()
    values = np.arange(np.empty_like(x)[key].size, dtype="float64").reshape(
        np.empty_like(x)[key].shape) + 0.5
    a = T.tensor("float64", shape=(None,) * x.ndim, name="x")
    v = T.tensor("float64", shape=(None,) * values.ndim, name="v")
    got = _run(backend, [a, v], T.inc_subtensor(a[key], v), x, values)
    _check(got, _add_at(x, key, values))


def test_gradient_of_two_index_arrays_matches_np_add_at(backend):
    m, a, b, w = T.dmatrix("m"), T.lvector("i"), T.lvector("j"), T.dvector("w")
    i, j = np.array([0, -1, 0, 3, 1]), np.array([-1, 0, 2, -3, -1])   # (0, 2) twice
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    g = T.grad(T.sum(m[a, b] * w), m)
    got = _run(backend, [m, a, b, w], g, M, i, j, weights)
    _check(got, _add_at(np.zeros_like(M), (i, j), weights))


@pytest.mark.parametrize("name", ["pair", "separated", "broadcast"])
def test_gradient_of_index_arrays_matches_finite_differences(backend, name):
    keys = {"pair": ([0, -1, 0], [-1, 0, -1]),
            "separated": ([-1, 0], slice(None), [4, -5]),
            "broadcast": (np.array([[0], [-1]]), np.array([-1, 0, 1]))}
    x = (M if name != "separated" else X3) / 10.0
    v = T.tensor("float64", shape=(None,) * x.ndim, name="x")
    # the forward first: a gradient consistent with a wrong forward passes finite differences
    _check(_run(backend, [v], v[keys[name]], x), x[keys[name]])
    verify_grad(lambda v: T.tanh(v[keys[name]]) * 2, [x], backend=backend)


# -- the cross-entropy idiom ------------------------------------------------------------

def test_log_p_arange_y_idiom_matches_numpy_and_checks_labels(backend):
    p, y = T.dmatrix("p"), T.lvector("y")
    n = p.shape[0]
    picked = T.log(p)[T.arange(n), y]
    loss = -T.mean(picked)
    f = theano.function([p, y], [picked, T.grad(loss, p)], backend=backend)
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.1, 1.0, size=(5, 4))
    labels = np.array([3, 0, -1, 2, 3])
    got, grad = (np.asarray(r) for r in f(probs, labels))
    want = np.log(probs)[np.arange(5), labels]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    want_grad = _add_at(np.zeros_like(probs), (np.arange(5), labels),
                        -1.0 / (5 * probs[np.arange(5), labels]))
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12)
    # labels 1..C instead of 0..C-1: a label equal to the number of classes
    with pytest.raises(IndexError, match=_bounds_message(4, 1, 4)):
        f(probs, np.array([1, 2, 3, 4, 1]))
