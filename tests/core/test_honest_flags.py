"""Arguments accepted for Theano/Lasagne compatibility either work or say so
(issue 16, item 12: acc_dtype, clone(share_inputs), and the others found)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import layerkit.core as C
import layerkit.core.tensor as T
from layerkit.core import ignored
from layerkit.core.graph import ancestors
from layerkit.core.ignored import IgnoredArgumentWarning
from layerkit.core.printing import debugprint
from layerkit.core.tensor.nnet import abstract_conv
from layerkit.core.tensor.nnet import conv as old_conv


@pytest.fixture(autouse=True)
def fresh_warnings():
    ignored._WARNED.clear()   # each test sees the once-per-process warning
    yield
    ignored._WARNED.clear()


def run(inputs, out, *args):
    return C.function(inputs, out)(*args)


# -- acc_dtype ---------------------------------------------------------------------
# float16 reduced over axis 0 adds row by row in float16: 2048 + 1 rounds to 2048
HALF = np.ones((4096, 3), dtype="float16")


def test_float16_sum_accumulates_in_acc_dtype():
    x = T.matrix("x", dtype="float16")
    plain = run([x], T.sum(x, axis=0), HALF)
    wide = run([x], T.sum(x, axis=0, acc_dtype="float32"), HALF)
    np.testing.assert_array_equal(plain, HALF.sum(axis=0))            # numpy's own: 2048
    assert plain[0] == 2048
    expected = HALF.sum(axis=0, dtype="float32").astype("float16")    # 4096
    assert wide.dtype == np.float16           # the result keeps the default dtype
    np.testing.assert_array_equal(wide, expected)
    assert wide[0] == 4096


def test_float32_mean_accumulates_in_acc_dtype():
    a = np.ones((1001, 2), dtype="float32")
    a[0] = 1e8                                  # float32: 1e8 + 1 == 1e8
    x = T.matrix("x")
    got = run([x], T.mean(x, axis=0, acc_dtype="float64"), a)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, a.mean(axis=0, dtype="float64").astype("float32"))
    assert not np.array_equal(got, a.mean(axis=0))


def test_int8_accumulator_wraps_as_numpy_and_result_dtype_is_the_default():
    a = np.array([100, 100, 100], dtype="int8")
    x = T.vector("x", dtype="int8")
    s = run([x], T.sum(x, acc_dtype="int8"), a)
    p = run([x], T.prod(x, acc_dtype="int8"), a)
    m = run([x], T.mean(x, acc_dtype="int8"), a)
    assert s.dtype == np.int64 and p.dtype == np.int64
    assert s == np.sum(a, dtype="int8") == 44
    assert p == np.prod(a, dtype="int8")
    np.testing.assert_allclose(m, np.sum(a, dtype="int8") / 3, rtol=1e-6)
    assert run([x], T.sum(x), a) == 300                       # the default accumulator


def test_dtype_is_the_result_dtype_it_declares():
    a = np.array([100, 100, 100], dtype="int8")
    x = T.vector("x", dtype="int8")
    y = T.sum(x, dtype="int8")
    got = run([x], y, a)
    assert y.dtype == "int8" and got.dtype == np.int8       # was int64 (300)
    assert got == np.sum(a, dtype="int64").astype("int8")


def test_dtype_narrower_than_the_input_rounds_only_the_result():
    a = np.ones((4096, 3), dtype="float32")
    x = T.matrix("x")
    got = run([x], T.sum(x, axis=0, dtype="float16"), a)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, a.sum(axis=0).astype("float16"))   # 4096, not 2048


def test_acc_dtype_that_loses_precision_is_refused():
    with pytest.raises(TypeError, match="acc_dtype='float16'"):
        T.sum(T.vector("x"), acc_dtype="float16")
    with pytest.raises(TypeError, match="acc_dtype='int8'"):
        T.sum(T.vector("x"), acc_dtype="int8")
    T.sum(T.vector("i", dtype="int32"), acc_dtype="float64")    # floats for ints: fine


def test_acc_dtype_keeps_the_gradient():
    x = T.vector("x", dtype="float16")
    g = C.grad(T.sum(x * x, acc_dtype="float32"), x)
    a = np.array([1.0, -2.0, 3.0], dtype="float16")
    got = run([x], g, a)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, 2 * a)


# -- clone(share_inputs) --------------------------------------------------------------
def leaves(v):
    return [a for a in ancestors([v]) if a.owner is None and not isinstance(a, C.Constant)]


def test_clone_share_inputs_false_clones_the_inputs_and_aliases_shared_storage():
    x = T.vector("x")
    w = C.shared(np.ones(3, dtype="float32"), name="w")
    y = (x * w).sum()
    assert {id(v) for v in leaves(C.clone(y))} == {id(x), id(w)}
    y2 = C.clone(y, share_inputs=False)
    new = leaves(y2)
    assert len(new) == 2 and not any(v is x or v is w for v in new)
    x2 = next(v for v in new if not isinstance(v, C.SharedVariable))
    w2 = next(v for v in new if isinstance(v, C.SharedVariable))
    assert (x2.name, x2.type) == ("x", x.type) and w2.name == "w"
    f = C.function([x2], y2, updates=[(w2, w2 * 2)])
    assert f(np.ones(3, dtype="float32")) == 3.0
    np.testing.assert_array_equal(w.get_value(), [2, 2, 2])    # the same storage
    w.set_value(np.full(3, 5, dtype="float32"))
    np.testing.assert_array_equal(w2.get_value(), [5, 5, 5])
    with pytest.raises(C.MissingInputError):
        C.function([x], y2)                                      # the old input is gone


def test_clone_share_inputs_false_carries_default_updates_over_the_clone():
    x = T.vector("x")
    count = C.shared(np.float32(0), name="count")
    tick = count.alias()
    tick.default_update = count + x.sum()
    y = x * 2 + 0 * tick
    y2 = C.clone(y, share_inputs=False)
    x2 = next(v for v in leaves(y2) if not isinstance(v, C.SharedVariable))
    assert x2 is not x
    f = C.function([x2], y2)
    f(np.ones(4, dtype="float32"))
    assert float(count.get_value()) == 4.0


# -- grad ---------------------------------------------------------------------------
def test_grad_return_disconnected():
    x, y = T.scalar("x"), T.scalar("y")
    gx, gy = C.grad(x * 2, [x, y], disconnected_inputs="ignore", return_disconnected="None")
    assert gy is None and gx is not None
    gy = C.grad(x * 2, y, disconnected_inputs="ignore")
    assert float(C.function([y], gy, on_unused_input="ignore")(1.0)) == 0.0
    with pytest.raises(NotImplementedError, match="Disconnected"):
        C.grad(x * 2, y, disconnected_inputs="ignore", return_disconnected="Disconnected")
    with pytest.raises(ValueError, match="return_disconnected"):
        C.grad(x * 2, x, return_disconnected="zeros")
    with pytest.raises(ValueError, match="disconnected_inputs"):
        C.grad(x * 2, y, disconnected_inputs="Ignore")           # was silently "ignore"


# -- reshape(ndim) ---------------------------------------------------------------------
def test_reshape_ndim_with_a_shape_vector_of_unknown_length():
    x, s = T.matrix("x"), T.lvector("s")
    y = T.reshape(x, s, ndim=3)
    assert y.ndim == 3
    a = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(run([x, s], y, a, [3, 1, 2]), a.reshape(3, 1, 2))
    with pytest.raises(Exception, match="reshape"):
        run([x, s], y, a, [6, 1])
    with pytest.raises(ValueError, match="ndim=3"):
        T.reshape(x, (3, 2), ndim=3)


# -- flags ignored with a warning --------------------------------------------------------
def test_set_subtensor_inplace_warns_once_and_computes_the_same():
    x = T.vector("x")
    with pytest.warns(IgnoredArgumentWarning, match="set_subtensor: the argument 'inplace'"):
        y = T.set_subtensor(x[:1], 5.0, inplace=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.set_subtensor(x[:1], 5.0, inplace=True)                 # once per process
    np.testing.assert_array_equal(run([x], y, np.zeros(3, dtype="float32")), [5, 0, 0])


def test_conv2d_extra_keywords_warn_and_unshared_is_refused():
    x, w = T.tensor4("x"), T.tensor4("w")
    with pytest.warns(IgnoredArgumentWarning, match="conv2d: the argument 'imshp'"):
        abstract_conv.conv2d(x, w, imshp=(1, 1, 5, 5))
    with pytest.raises(NotImplementedError, match="unshared"):
        abstract_conv.conv2d(x, w, unshared=True)
    with pytest.raises(NotImplementedError, match="num_groups"):
        abstract_conv.conv2d_grad_wrt_inputs(x, w, (None, 2, 5, 5), num_groups=2)
    with pytest.raises(NotImplementedError, match="num_groups"):
        abstract_conv.conv2d_grad_wrt_weights(x, w, (2, 2, 3, 3), num_groups=2)
    with pytest.raises(Exception, match="input_shape"):           # was not even read
        abstract_conv.conv2d_grad_wrt_weights(T.matrix("m"), w, (2, 2, 3, 3),
                                              input_shape=(1, 2, 5, 5))


def test_old_conv2d_takes_image_shape_before_filter_shape_and_names_ignored_keywords():
    x, w = T.tensor4("x"), T.tensor4("w")
    a = np.random.default_rng(0).normal(size=(2, 1, 5, 5)).astype("float32")
    k = np.random.default_rng(1).normal(size=(3, 1, 2, 2)).astype("float32")
    with pytest.warns(IgnoredArgumentWarning, match="'unroll_batch'"):
        y = old_conv.conv2d(x, w, (2, 1, 5, 5), (3, 1, 2, 2), unroll_batch=2)
    assert y.type.shape[1] == 3          # from filter_shape; image_shape is a hint only
    got = run([x, w], y, a, k)
    flipped = k[:, :, ::-1, ::-1]                                  # a true convolution
    ref = np.zeros((2, 3, 4, 4), dtype="float64")
    for i in range(4):
        for j in range(4):
            ref[:, :, i, j] = np.einsum("nchw,ochw->no", a[:, :, i:i + 2, j:j + 2], flipped)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(NotImplementedError, match="imshp_logical"):
        old_conv.conv2d(x, w, imshp_logical=(1, 10, 10))


def test_input_layer_names_keywords_it_ignores():
    from layerkit.layers import InputLayer
    with pytest.warns(IgnoredArgumentWarning, match="InputLayer: the argument 'nonlinearity'"):
        InputLayer((None, 3), nonlinearity=None)


def test_random_streams_keywords():
    srng = C.RandomStreams(3)
    with pytest.warns(IgnoredArgumentWarning, match="'nstreams'"):
        srng.uniform((2,), nstreams=4)
    with pytest.raises(NotImplementedError, match="truncate"):
        srng.normal((2,), truncate=True)
    with pytest.raises(TypeError, match="mean"):
        srng.normal((2,), mean=3.0)                          # Theano's name is avg
    draw = srng.binomial((1000,), prob=0.0)                    # Theano's old name for p
    assert run([], draw).sum() == 0


def test_debugprint_ids():
    x = T.vector("x")
    y = T.exp(x) + 1
    assert "[A]" in debugprint(y, file="str")
    assert "[0]" in debugprint(y, file="str", ids="int")
    assert "[" not in debugprint(y, file="str", ids="").splitlines()[0]
    with pytest.raises(ValueError, match="ids"):
        debugprint(y, file="str", ids="letters")


def test_misspelt_flags_and_phases_say_so(monkeypatch):
    import subprocess
    import sys
    from layerkit.core.config import config
    done = subprocess.run([sys.executable, "-c", "import layerkit.core"], capture_output=True,
                          text=True, env={**__import__("os").environ,
                                          "LAYERKIT_FLAGS": "floatx=float64"})
    assert "unknown flag(s) floatx" in done.stderr
    monkeypatch.setattr(config, "optimizer_excluding", "fusion:inplce")
    with pytest.raises(ValueError, match="unknown phase.*inplce"):
        config.excluded()
