"""function(): inputs, outputs, updates, givens, downcasting, pickling."""
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T


def test_single_output_and_list_outputs(backend):
    x = T.dvector("x")
    f = theano.function([x], x.sum(), backend=backend.name)
    g = theano.function([x], [x.sum(), x * 2], backend=backend.name)
    out = f([1.0, 2.0])
    assert isinstance(out, np.ndarray) and out.shape == () and out == 3.0
    s, d = g(np.array([1.0, 2.0]))
    assert isinstance(d, np.ndarray)
    np.testing.assert_array_equal(d, [2.0, 4.0])


@pytest.mark.parametrize("form", ["dict", "ordered", "tuples", "lists"])
def test_updates_in_every_form_apply_together(form, backend):
    a = theano.shared(np.float64(1.0), name="a")
    b = theano.shared(np.float64(10.0), name="b")
    pairs = [(a, b), (b, a)]  # a swap: each update must read the values from before the call
    updates = {"dict": dict(pairs), "ordered": OrderedDict(pairs), "tuples": tuple(pairs),
               "lists": [list(p) for p in pairs]}[form]
    f = theano.function([], a + b, updates=updates, backend=backend.name)
    assert float(f()) == 11.0
    assert (float(a.get_value()), float(b.get_value())) == (10.0, 1.0)


def test_update_is_cast_to_the_shared_dtype(backend):
    w = theano.shared(np.zeros(3, dtype="float32"))
    x = T.dvector("x")
    f = theano.function([x], [], updates=[(w, w + x)], backend=backend.name)
    f([1.0, 2.0, 3.0])
    assert w.get_value().dtype == np.float32
    np.testing.assert_array_equal(w.get_value(), [1, 2, 3])


def test_update_of_a_non_shared_variable_is_refused():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="not a shared variable"):
        theano.function([x], x, updates=[(x, x + 1)])


def test_update_with_wrong_rank_is_refused():
    w = theano.shared(np.zeros(3))
    with pytest.raises(TypeError, match="dimensions"):
        theano.function([], [], updates=[(w, w.sum())])


def test_givens_slice_of_a_shared_dataset(backend):
    data = theano.shared(np.arange(12.0).reshape(6, 2), name="data")
    index = T.lscalar("index")
    x = T.dmatrix("x")
    f = theano.function([index], x.sum(axis=0), givens={x: data[index * 2:(index + 1) * 2]},
                        backend=backend.name)
    np.testing.assert_array_equal(f(1), [4 + 6, 5 + 7])
    np.testing.assert_array_equal(f(2), [8 + 10, 9 + 11])


def test_results_never_alias_inputs_or_shared_values(backend):
    w = theano.shared(np.ones(3), name="w")
    x = T.dvector("x")
    f = theano.function([x], [x, w, x.T], backend=backend.name)
    a = np.zeros(3)
    r_x, r_w, r_t = f(a)
    r_x[0] = r_w[0] = r_t[1] = 99.0
    assert a[0] == 0.0 and a[1] == 0.0 and w.get_value()[0] == 1.0


def test_lossy_input_cast_is_refused_with_the_flag_named():
    x = T.fvector("x")
    f = theano.function([x], x * 2)
    with pytest.raises(TypeError, match="allow_input_downcast"):
        f(np.array([0.1, 0.2], dtype="float64"))
    g = theano.function([x], x * 2, allow_input_downcast=True)
    assert g(np.array([0.1], dtype="float64")).dtype == np.float32


def test_python_values_that_fit_are_accepted():
    x = T.fvector("x")
    y = T.fscalar("y")
    f = theano.function([x, y], x * y)
    np.testing.assert_array_equal(f([1, 2], 3), [3, 6])  # ints that fit float32 exactly
    assert f([1.0], 0.1).dtype == np.float32              # a Python float into floatX


def test_wrong_count_rank_and_non_numeric_inputs():
    x = T.dmatrix("x")
    f = theano.function([x], x.sum())
    with pytest.raises(TypeError, match="expected 1 argument"):
        f(np.zeros((2, 2)), 1)
    with pytest.raises(TypeError, match="input 0 \\(x\\): expected 2 dimensions, got 1"):
        f(np.zeros(3))
    with pytest.raises(TypeError, match="numeric"):
        f([["a", "b"]])


def test_missing_and_unused_inputs():
    x, y = T.dvector("x"), T.dvector("y")
    with pytest.raises(theano.MissingInputError, match="y"):
        theano.function([x], x + y)
    with pytest.raises(theano.UnusedInputError, match="on_unused_input"):
        theano.function([x, y], x * 2)
    f = theano.function([x, y], x * 2, on_unused_input="ignore")
    np.testing.assert_array_equal(f([1.0], [5.0]), [2.0])


def test_shape_mismatch_raises_where_the_graph_is_built():
    a = T.tensor("float64", shape=(3, 4))
    b = T.tensor("float64", shape=(3, 5))
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(3, 5\)"):
        a + b
    with pytest.raises(ValueError, match="not aligned"):
        T.dot(a, b)


def test_runtime_one_does_not_broadcast_against_a_free_dimension(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = theano.function([x, y], x + y, backend=backend.name)
    with pytest.raises(Exception, match="dimshuffle"):
        f(np.ones((3, 1)), np.ones((3, 4)))
    g = theano.function([x, y], x + T.addbroadcast(y, 1), backend=backend.name)
    np.testing.assert_array_equal(g(np.ones((3, 4)), np.ones((3, 1))), np.full((3, 4), 2.0))


def test_shared_value_semantics():
    w = theano.shared(np.zeros((2, 3), dtype="float32"), name="w")
    w.set_value(np.ones((4, 3), dtype="float32"))   # the size may change
    assert w.get_value().shape == (4, 3)
    with pytest.raises(TypeError, match="dimensions|-d"):
        w.set_value(np.ones(3, dtype="float32"))
    with pytest.raises(TypeError, match="dtype"):
        w.set_value(np.ones((2, 3), dtype="float64"))
    assert theano.shared(0.01).dtype == theano.config.floatX


def test_floatx_is_read_when_a_variable_is_created():
    old = theano.config.floatX
    try:
        theano.config.floatX = "float64"
        assert T.matrix().dtype == "float64"
    finally:
        theano.config.floatX = old
    assert T.matrix().dtype == old


def test_pickle_graph_shared_and_compiled_function(backend):
    w = theano.shared(np.array([1.0, 2.0]), name="w")
    x = T.dvector("x")
    y = (x * w).sum()
    f = theano.function([x], y, updates=[(w, w * 2)], backend=backend.name)
    f2 = pickle.loads(pickle.dumps(f))
    assert float(f2([1.0, 1.0])) == 3.0
    x3, y3 = pickle.loads(pickle.dumps((x, y)))
    g = theano.function([x3], y3, backend=backend.name)
    assert float(g([1.0, 1.0])) == float(f([1.0, 1.0]))


def test_dtype_rules():
    f32 = T.fvector()
    assert (f32 * 0.5).dtype == "float32"          # Python scalars are weak
    assert (T.ivector() / T.ivector()).dtype == theano.config.floatX
    assert T.mean(T.ivector()).dtype == theano.config.floatX
    assert (f32 < 1).dtype == "bool"
    assert (f32 + T.dvector()).dtype == "float64"


def test_scan_without_sequences_needs_n_steps():
    with pytest.raises(ValueError, match="n_steps must be given"):
        theano.scan(lambda: T.constant(1.0), sequences=[])


def test_default_updates_apply_unless_disabled(backend):
    count = theano.shared(np.float64(0.0), name="count")
    count.default_update = count + 1
    x = T.dscalar("x")
    f = theano.function([x], x + count, backend=backend.name)
    assert [float(f(0.0)) for _ in range(3)] == [0.0, 1.0, 2.0]
    g = theano.function([x], x + count, no_default_updates=True, backend=backend.name)
    g(0.0)
    assert float(count.get_value()) == 3.0
    h = theano.function([x], x + count, updates=[(count, count * 0)], backend=backend.name)
    h(0.0)   # an explicit update wins over the default one
    assert float(count.get_value()) == 0.0
