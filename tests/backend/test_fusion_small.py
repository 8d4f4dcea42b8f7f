"""Fused chains on small inputs: the body with Python operators and no
temporaries' buffers gives what the ufuncs give, value for value and dtype for
dtype, on numpy scalars, 0-d arrays, arrays at and past ``SMALL_SIZE``, and
writes ``out=`` when given."""
import numpy as np
import pytest

from layerkit.backend import get_backend
from layerkit.backend.fusion import SMALL_SIZE, FusedElemwise, compose

UFUNCS = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
          "divide": np.divide, "negative": np.negative, "exp": np.exp}

# (steps, number of inputs): a chain mixing operators with a kernel that has none
CHAINS = [
    ((("multiply", (0, 1)), ("subtract", (3, 2)), ("divide", (4, 1))), 3),
    ((("negative", (0,)), ("exp", (2,)), ("add", (3, 1)), ("multiply", (4, 4))), 2),
    ((("subtract", (0, 1)), ("multiply", (2, 1)), ("multiply", (4, 3))), 3),
]


def _reference(steps, args):
    """The chain evaluated with the ufuncs themselves."""
    values = list(args)
    for name, idx in steps:
        values.append(UFUNCS[name](*(values[i] for i in idx)))
    return values[-1]


def _spec(steps, n, dtype):
    return FusedElemwise(inputs=(dtype,) * n, steps=steps, dtypes=(dtype,) * len(steps),
                         reuse=(None,) * len(steps), output=n + len(steps) - 1)


def _inputs(rng, n, shape, dtype):
    if shape == "scalar":                   # what a vector-by-vector product returns
        return [np.dtype(dtype).type(rng.uniform(0.5, 2)) for _ in range(n)]
    return [rng.uniform(0.5, 2, size=shape).astype(dtype) for _ in range(n)]


@pytest.mark.parametrize("chain", range(len(CHAINS)))
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", ["scalar", (), (3,), (2, SMALL_SIZE // 2),
                                   (SMALL_SIZE + 1,)])
def test_small_and_large_bodies_give_the_ufuncs_results(chain, dtype, shape):
    steps, n = CHAINS[chain]
    fn = compose(_spec(steps, n, dtype), get_backend("numpy"))
    assert "if small:" in fn.source
    args = _inputs(np.random.default_rng(chain), n, shape, dtype)
    expected = _reference(steps, args)
    got = fn(*args)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_array_equal(got, expected)
    out = np.zeros(np.shape(expected), dtype)
    if out.ndim:                            # out= is written when given, in both bodies
        assert fn(*args, out=out) is out
        np.testing.assert_array_equal(out, expected)


def test_a_python_number_among_the_inputs_takes_the_kernels():
    steps, n = CHAINS[0]
    fn = compose(_spec(steps, n, "float64"), get_backend("numpy"))
    args = [np.arange(1.0, 4.0), 2.0, np.ones(3)]
    np.testing.assert_array_equal(fn(*args), _reference(steps, args))


def test_integer_chains_keep_the_kernels():
    """numpy scalars warn on integer overflow where arrays wrap: no operators there."""
    spec = _spec((("multiply", (0, 1)), ("add", (2, 1))), 2, "int64")
    fn = compose(spec, get_backend("numpy"))
    assert "if small:" not in fn.source
    big = np.int64(2) ** 62
    with np.errstate(over="raise"):
        np.testing.assert_array_equal(fn(np.array([big]), np.array([4])),
                                      np.array([big]) * 4 + 4)


def test_complex_chains_keep_the_kernels():
    """A complex numpy scalar's product is rounded unlike the ufunc's (fused
    multiply-adds in its loop): complex steps never take the operator."""
    spec = _spec((("add", (0, 1)), ("multiply", (4, 2)), ("multiply", (5, 3))), 4,
                 "complex128")
    fn = compose(spec, get_backend("numpy"))
    assert "if small:" not in fn.source
    rng = np.random.default_rng(5)
    for _ in range(200):
        args = [np.complex128(complex(*rng.normal(size=2))) for _ in range(4)]
        np.testing.assert_array_equal(fn(*args), _reference(spec.steps, args))


def test_small_inputs_with_a_large_result_take_the_buffered_body():
    """(1024, 1) and (1, 1024) are small inputs of a 1M-element result: the body
    without buffers would allocate every temporary at full size."""
    steps, n = CHAINS[0]
    spec = FusedElemwise(inputs=("float64",) * n, steps=steps, dtypes=("float64",) * 3,
                         reuse=(None, 3, 4), output=5)     # each step may overwrite the last
    fn = compose(spec, get_backend("numpy"))
    col = np.linspace(1, 2, SMALL_SIZE).reshape(-1, 1)
    row, one = col.reshape(1, -1), np.float64(1.5)
    import tracemalloc
    fn(col, row, one)
    tracemalloc.start()
    try:
        got = fn(col, row, one)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(got, _reference(steps, [col, row, one]))
    assert peak < 1.5 * got.nbytes      # one buffer, reused by every step


class _PlainBackend:
    """A backend whose kernels declare no operator (cupy's, the generic ones)."""

    def kernel(self, name):
        return UFUNCS[name]

    def supports_out(self, name):
        return True


def test_backends_without_operators_keep_one_body():
    fn = compose(_spec(*CHAINS[0], "float64"), _PlainBackend())
    assert "if small:" not in fn.source
    args = _inputs(np.random.default_rng(0), 3, (3,), "float64")
    np.testing.assert_array_equal(fn(*args), _reference(CHAINS[0][0], args))
