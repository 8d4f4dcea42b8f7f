"""Errors at the user's line, input checks of compiled functions, NanGuardMode.

Every message asserted here names what went wrong (the op or the input), the
shapes or dtypes involved, and, for graph errors, the line of this file that
built the node; see decisions D33-D35, D39, D40 and D25.
"""
import inspect
import pickle

import numpy as np
import pytest

import layerkit as lasagne
import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.compile import NanGuardError, NanGuardMode
from layerkit.core.linker import KernelError
from layerkit.core.op import ShapeError
from layerkit.core.tensor.signal.pool import pool_2d

HERE = "test_reliability.py"


def _line():
    """The line of the caller (the line a graph was built on)."""
    return inspect.currentframe().f_back.f_lineno


# -- shape and dtype errors raise where the graph is built ---------------------------

def test_dot_of_mismatched_shapes_fails_at_the_building_line():
    a, b = T.dmatrix("a", shape=(3, 4)), T.dmatrix("b", shape=(5, 2))
    with pytest.raises(ShapeError) as err:
        line = _line(); T.dot(a, b)  # noqa: E702
    msg = str(err.value)
    assert "dot: shapes (3, 4) and (5, 2) are not aligned (4 (dim 1) != 5 (dim 0))" in msg
    assert f"{HERE}:{line}" in msg
    # raised by the build itself, not later
    assert err.traceback[0].lineno + 1 == line


def _static(*shape):
    return T.tensor("float64", shape=shape)


BUILD_ERRORS = [
    ("add", lambda: _static(3, 4) + _static(5, 2),
     r"add: shapes \(3, 4\) and \(5, 2\) do not match in dimension 0"),
    ("add-rank", lambda: _static(3, 4) + _static(3),
     r"add: shapes \(3, 4\) and \(3,\) do not match in dimension -1"),
    ("tensordot", lambda: T.tensordot(_static(3, 4), _static(5, 2), [[1], [0]]),
     r"tensordot: shapes \(3, 4\) and \(5, 2\) are not aligned"),
    ("concatenate", lambda: T.concatenate([_static(3, 4), _static(5, 2)]),
     r"concatenate along axis 0: shapes \[\(3, 4\), \(5, 2\)\] differ in dimension 1"),
    ("reshape", lambda: T.reshape(_static(3, 4), (5, 5)),
     r"cannot reshape \(3, 4\) \(12 elements\) into \(5, 5\)"),
    ("reshape-two-minus-ones", lambda: T.reshape(_static(3, 4), (2, -1, -1)),
     r"only one entry may be -1"),
    ("conv2d-channels", lambda: T.nnet.conv2d(_static(2, 3, 8, 8), _static(4, 2, 3, 3)),
     r"conv2d: the input has 3 channels but the filters expect 2 \(input shape \(2, 3, 8, 8\), "
     r"filter shape \(4, 2, 3, 3\)\)"),
    ("conv2d-too-big", lambda: T.nnet.conv2d(_static(2, 3, 4, 4), _static(4, 3, 5, 5)),
     r"conv2d: filters of shape \(4, 3, 5, 5\) do not fit the input of shape \(2, 3, 4, 4\)"),
    ("crossentropy", lambda: T.nnet.categorical_crossentropy(_static(4, 3), _static(4, 5)),
     r"categorical_crossentropy: predictions of shape \(4, 3\) and one-hot targets of shape "
     r"\(4, 5\)"),
    ("batched_dot", lambda: T.batched_dot(_static(2, 3, 4), _static(3, 4, 5)),
     r"batched_dot: shapes \(2, 3, 4\) and \(3, 4, 5\) do not agree in the batch size"),
    ("set_subtensor", lambda: T.set_subtensor(_static(3, 4)[:, 0], _static(5)),
     r"set_subtensor: shapes \(3,\) and \(5,\)"),
    ("switch", lambda: T.switch(_static(3, 4) > 0, _static(3, 4), _static(5, 2)),
     r"where: shapes .*\(5, 2\) do not match"),
]


@pytest.mark.parametrize("build, pattern", [c[1:] for c in BUILD_ERRORS],
                         ids=[c[0] for c in BUILD_ERRORS])
def test_build_time_shape_errors_name_the_op_both_shapes_and_the_line(build, pattern):
    with pytest.raises(ShapeError, match=pattern) as err:
        build()
    # the innermost line of user code: here, the lambda in BUILD_ERRORS
    assert f"\n  at {__file__}:{build.__code__.co_firstlineno}" in str(err.value)


@pytest.mark.parametrize("build, pattern", [
    (lambda: pool_2d(T.dtensor4(), ws=(0, 2), ignore_border=True),
     r"pool_2d: ws \(window\) must be a pair of ints >= 1, got \(0, 2\)"),
    (lambda: pool_2d(T.dtensor4(), ws=(2, 2), stride=(0, 1), ignore_border=True),
     r"pool_2d: stride must be a pair of ints >= 1, got \(0, 1\)"),
    (lambda: pool_2d(T.dtensor4(), ws=(2, 2), pad=(-1, 0), ignore_border=True),
     r"pool_2d: pad must be a pair of ints >= 0"),
    (lambda: T.nnet.conv2d(T.dtensor4(), T.dtensor4(), subsample=(0, 1)),
     r"conv2d: subsample \(stride\) must be a pair of ints >= 1, got \(0, 1\)"),
    (lambda: T.nnet.conv2d(T.dtensor4(), T.dtensor4(), filter_dilation=(1, 0)),
     r"conv2d: filter_dilation must be a pair of ints >= 1"),
])
def test_bad_conv_and_pool_parameters_are_refused_naming_the_parameter(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build()


def test_pooling_larger_than_the_input_gives_an_empty_output_not_a_negative_size():
    out = pool_2d(_static(1, 1, 4, 4), ws=(9, 9), stride=(1, 1), ignore_border=True)
    assert out.type.shape == (1, 1, 0, 0)


def test_a_layer_error_names_the_layer_the_parameter_both_shapes_and_the_line():
    net = lasagne.layers.InputLayer((None, 3, 8, 8))
    with pytest.raises(ValueError) as err:
        line = _line(); lasagne.layers.Conv2DLayer(net, 4, 3, W=np.zeros((4, 2, 3, 3), "float32"))  # noqa: E702,E501
    msg = str(err.value)
    assert "Conv2DLayer" in msg and "'W'" in msg
    assert "(4, 2, 3, 3)" in msg and "(4, 3, 3, 3)" in msg
    assert err.traceback[0].lineno + 1 == line


def test_outer_flattens_its_inputs_as_theano_did():
    a, b = T.dmatrix("a"), T.dvector("b")
    f = theano.function([a, b], T.outer(a, b))
    x, y = np.arange(6.0).reshape(2, 3), np.arange(2.0)
    np.testing.assert_array_equal(f(x, y), np.outer(x, y))


# -- failures inside kernels at run time ---------------------------------------------

def test_kernel_error_names_op_shapes_dtypes_and_the_user_line(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z, line = T.dot(x, y), _line()  # sizes unknown until run time
    f = theano.function([x, y], z, backend=backend.name)
    with pytest.raises(KernelError) as err:
        f(np.zeros((3, 4)), np.zeros((5, 2)))
    msg = str(err.value)
    assert "MatMul failed at run time on inputs [float64(3, 4), float64(5, 2)]" in msg
    assert "dot: shapes (3, 4) and (5, 2) are not aligned (4 (dim 1) != 5 (dim 0))" in msg
    assert f"the node was built at {__file__}:{line}" in msg
    assert "gufunc" not in msg                  # not numpy's own wording
    assert isinstance(err.value, ValueError)    # what the bare error was, still caught


def test_shared_variables_of_mismatched_sizes_fail_at_the_first_call():
    a = theano.shared(np.ones((3, 4)), name="a")
    b = theano.shared(np.ones((5, 2)), name="b")
    z, line = T.dot(a, b), _line()   # shared variables record their rank, not their sizes
    f = theano.function([], z)
    with pytest.raises(KernelError, match=rf"float64\(3, 4\), float64\(5, 2\)[\s\S]*not aligned"
                                          rf"[\s\S]*{HERE}:{line}"):
        f()


def test_out_of_range_index_names_take_the_shapes_and_the_line(backend):
    x, idx = T.dmatrix("x"), T.lvector("idx")
    y, line = x[idx], _line()
    f = theano.function([x, idx], y, backend=backend.name)
    with pytest.raises(KernelError) as err:
        f(np.zeros((2, 3)), np.array([5]))
    msg = str(err.value)
    assert msg.startswith("Take{axis=0} failed at run time on inputs [float64(2, 3), int64(1,)]")
    assert f"{HERE}:{line}" in msg
    assert isinstance(err.value, IndexError)


def test_runtime_broadcast_error_in_a_fused_chain_names_the_line(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z, line = T.exp(x + y) * 2, _line()     # fused into one node
    f = theano.function([x, y], z, backend=backend.name)
    with pytest.raises(KernelError) as err:
        f(np.ones((3, 4)), np.ones((5, 4)))
    msg = str(err.value)
    assert "input shapes (3, 4) and (5, 4)" in msg and "dimshuffle" in msg
    assert msg.count(f"{HERE}:{line}") == 1


def test_rewritten_nodes_keep_the_line_that_built_them():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a = T.dot(x, T.constant(np.ones((3, 2))))
    b, line = T.dot(y, T.constant(np.ones((3, 2)))), _line()   # merged with a's constant
    f = theano.function([x, y], [a, b])
    with pytest.raises(KernelError, match=rf"{HERE}:{line}"):
        f(np.ones((2, 3)), np.ones((2, 4)))


def test_kernel_errors_pickle():
    x = T.dmatrix("x")
    f = theano.function([x], T.dot(x, x))
    with pytest.raises(KernelError) as err:
        f(np.ones((2, 3)))
    again = pickle.loads(pickle.dumps(err.value))
    assert isinstance(again, KernelError) and str(again) == str(err.value)


# -- inputs to compiled functions -------------------------------------------------------

def _f(var, downcast=None, backend=None):
    return theano.function([var], var * 1, allow_input_downcast=downcast, backend=backend)


BAD_INPUTS = [
    ("rank-low", T.dmatrix("x"), np.ones(3), TypeError,
     r"^input 0 \(x\): expected 2 dimensions, got 1 \(shape \(3,\)\)$"),
    ("rank-high", T.dmatrix("x"), np.ones((2, 2, 2)), TypeError,
     r"^input 0 \(x\): expected 2 dimensions, got 3"),
    ("rank-scalar", T.dmatrix("x"), 1.0, TypeError, r"^input 0 \(x\): expected 2 dimensions, got 0"),
    ("string", T.dmatrix("x"), "abc", TypeError,
     r"^input 0 \(x\): expected numeric data, got str with dtype <U3$"),
    ("strings", T.dmatrix("x"), [["a", "b"]], TypeError,
     r"^input 0 \(x\): expected numeric data, got list"),
    ("None", T.dmatrix("x"), None, TypeError, r"^input 0 \(x\): expected numeric data, got NoneType"),
    ("dict", T.dmatrix("x"), {"a": 1}, TypeError, r"^input 0 \(x\): expected numeric data, got dict"),
    ("ragged", T.dmatrix("x"), [[1.0, 2.0], [3.0]], TypeError,
     r"^input 0 \(x\): expected numbers, got list"),
    ("symbolic", T.dmatrix("x"), T.dmatrix("z"), TypeError,
     r"^input 0 \(x\): expected a value, got the symbolic variable z"),
    ("complex", T.dmatrix("x"), np.ones((2, 2), complex), TypeError,
     r"^input 0 \(x\): cannot convert complex128 data to float64 without losing precision; "
     r"pass allow_input_downcast=True"),
    ("float64->float32", T.fmatrix("x"), np.ones((2, 2)), TypeError,
     r"cannot convert float64 data to float32 .*allow_input_downcast=True"),
    ("int32->float32", T.fmatrix("x"), np.ones((2, 2), "int32"), TypeError,
     r"cannot convert int32 data to float32"),
    ("pyfloat-list->float32", T.fmatrix("x"), [[0.1, 0.2]], TypeError,
     r"cannot convert list data \(as float64\) to float32 .*allow_input_downcast"),
    ("float->int32", T.ivector("i"), np.array([1.5]), TypeError,
     r"^input 0 \(i\): cannot convert float64 data to int32"),
    ("int64->int32", T.ivector("i"), np.array([1, 2]), TypeError,
     r"cannot convert int64 data to int32"),
    ("float64->fscalar", T.fscalar("s"), np.float64(0.1), TypeError,
     r"cannot convert float64 data to float32"),
    ("fixed-size", T.matrix("xs", shape=(None, 3)), np.ones((2, 4), "float32"), TypeError,
     r"^input 0 \(xs\): expected size 3 in dimension 1, got shape \(2, 4\)$"),
    ("broadcastable", T.row("r"), np.ones((3, 4), "float32"), TypeError,
     r"^input 0 \(r\): expected size 1 in dimension 0 \(a broadcastable dimension\)"),
]


@pytest.mark.parametrize("var, value, error, pattern", [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_are_refused_naming_the_input(var, value, error, pattern):
    with pytest.raises(error, match=pattern):
        _f(var)(value)


@pytest.mark.parametrize("var, value", [
    (T.fmatrix("x"), np.ones((2, 2))),                 # lossy, but allowed
    (T.ivector("i"), np.array([1.7])),
    (T.fscalar("s"), np.float64(0.1)),
])
def test_allow_input_downcast_accepts_lossy_casts(var, value):
    assert _f(var, downcast=True)(value).dtype == np.dtype(var.dtype)
    with pytest.raises(TypeError, match="allow_input_downcast=True"):
        _f(var, downcast=False)(value)


def test_foreign_arrays_are_typed_data_not_python_numbers():
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="cannot convert float64 data to float32"):
        _f(T.fvector("x"))(strict.ones(3, dtype=strict.float64))   # exact values, still refused
    assert _f(T.fvector("x"))([1.0, np.nan])[0] == 1.0           # an exact list passes, NaN too


@pytest.mark.parametrize("var, value", [
    (T.fscalar("s"), 0.1),                             # a Python float into floatX
    (T.dscalar("s"), np.float32(0.5)),                 # a numpy scalar that widens safely
    (T.fscalar("s"), np.float64(1.0)),                 # a numpy scalar that fits exactly (Theano)
    (T.iscalar("s"), np.int64(3)),
    (T.ivector("i"), [1.0, 2.0]),                      # Python floats that are integers
    (T.fmatrix("x"), np.ones((2, 2), "int16")),        # int16 fits float32 exactly
    (T.dmatrix("x"), np.ones((2, 2), bool)),
])
def test_lossless_inputs_are_accepted(var, value):
    _f(var)(value)


def test_backend_arrays_as_inputs_follow_the_same_rules(backend):
    x, v = T.fvector("x"), T.dvector("v")
    f32, f64 = _f(x, backend=backend.name), _f(v, backend=backend.name)
    small = backend.from_numpy(np.ones(3, "float32"))
    np.testing.assert_array_equal(f64(small), np.ones(3))         # widening is safe
    with pytest.raises(TypeError, match=r"^input 0 \(x\): cannot convert .*float64.* to float32 "
                                        r".*allow_input_downcast=True"):
        f32(backend.from_numpy(np.ones(3)))
    assert _f(x, True, backend.name)(backend.from_numpy(np.ones(3))).dtype == np.float32
    with pytest.raises(TypeError, match=r"^input 0 \(v\): expected 1 dimensions, got "):
        f64(backend.from_numpy(np.ones((2, 2))))


def test_argument_count_and_names():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = theano.function([x, y], x + y)
    with pytest.raises(TypeError, match=r"expected 2 argument\(s\) \(x, y\), got 0"):
        f()
    with pytest.raises(TypeError, match=r"expected 2 argument\(s\) \(x, y\), got 3"):
        f(1, 2, 3)
    with pytest.raises(TypeError, match=r"no input named 'z'; inputs are \['x', 'y'\]"):
        f(np.ones((1, 1)), z=np.ones((1, 1)))
    with pytest.raises(TypeError, match=r"no value given for input\(s\) y"):
        f(x=np.ones((1, 1)))
    with pytest.raises(TypeError, match="'x' given twice"):
        f(np.ones((1, 1)), x=np.ones((1, 1)))
    assert f(np.ones((1, 1)), y=np.ones((1, 1)))[0, 0] == 2.0


# -- NanGuardMode ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["NanGuardMode", NanGuardMode(True, True, True),
                                  NanGuardMode(nan_is_error=True, inf_is_error=True,
                                               big_is_error=True)])
def test_nan_guard_names_the_node_and_line(mode, backend):
    x = T.dvector("x")
    y, line = T.log(x), _line()  # the line reported
    f = theano.function([x], (y * 2).sum(), mode=mode, backend=backend.name)
    assert float(f([1.0, np.e])) == pytest.approx(2.0)
    with np.errstate(all="ignore"), pytest.raises(
            NanGuardError, match=rf"log produced NaN \(inputs: float64\(2,\)\)[\s\S]*"
                                 rf"{HERE}:{line}"):
        f([1.0, -1.0])


def test_nan_guard_stops_at_the_first_bad_node():
    x = T.dvector("x")
    h, line = T.exp(x), _line()      # inf at 1000 ...
    r = h / h                        # ... and inf / inf is NaN one node later
    f = theano.function([x], r.sum(), mode="NanGuardMode")
    with np.errstate(all="ignore"), pytest.raises(NanGuardError) as err:
        f(np.array([1.0, 1000.0]))
    assert str(err.value).startswith("NanGuardMode: exp produced Inf")
    assert f"{HERE}:{line}" in str(err.value)


def test_nan_guard_big_values_and_its_flags():
    x = T.dvector("x")
    f = theano.function([x], x * 1e6, mode=NanGuardMode(big_is_error=True, big=1e10))
    f([1.0])
    with pytest.raises(NanGuardError, match=r"multiply produced a value above 1e\+10 "
                                            r"\(largest magnitude 1e\+11\)"):
        f([1e5])
    only_big = NanGuardMode(nan_is_error=False, inf_is_error=False, big_is_error=True)
    g = theano.function([x], x * 2, mode=only_big)
    assert np.isnan(g([np.nan])[0]) and np.isinf(g([np.inf])[0])
    lenient = theano.function([x], x * 1e6, mode=NanGuardMode(True, True, False))
    assert lenient([1e5])[0] == 1e11


def test_nan_guard_checks_inputs_shared_values_and_folded_constants():
    x = T.dvector("x")
    f = theano.function([x], x * 2, mode="NanGuardMode")
    with pytest.raises(NanGuardError, match=r"input 0 \(x\) holds NaN before the call"):
        f([np.nan])
    w = theano.shared(np.array([np.inf]), name="w")
    g = theano.function([x], w * x, mode="NanGuardMode")
    with pytest.raises(NanGuardError, match=r"shared variable w \(created at .*\) holds Inf"):
        g([1.0])
    with np.errstate(all="ignore"):
        c, line = T.log(T.constant(-1.0)) + x, _line()   # folded to a NaN constant
        h = theano.function([x], c, mode="NanGuardMode")
    with pytest.raises(NanGuardError, match=rf"constant holding NaN[\s\S]*{HERE}:{line}"):
        h([1.0])


def test_unknown_mode_is_refused():
    x = T.dvector("x")
    with pytest.raises(ValueError, match="unknown mode 'NanGuard'; expected .*'NanGuardMode'"):
        theano.function([x], x, mode="NanGuard")


def test_nan_guard_is_reachable_by_theanos_path():
    assert theano.compile.nanguardmode.NanGuardMode is NanGuardMode
