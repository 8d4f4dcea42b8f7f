"""Property tests: random small graphs of elementwise and reduction ops against
numpy in float64. The CI profile (HYPOTHESIS_PROFILE=ci, set by tox under CI)
keeps the example count small."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import layerkit.core as theano  # noqa: E402
import layerkit.core.tensor as T  # noqa: E402

settings.register_profile("ci", max_examples=15, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

UNARY = {"exp": (T.exp, np.exp), "tanh": (T.tanh, np.tanh), "neg": (lambda a: -a, np.negative),
         "sqr": (T.sqr, np.square), "sigmoid": (T.nnet.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
         "abs": (abs, np.abs)}
BINARY = {"add": (lambda a, b: a + b, np.add), "sub": (lambda a, b: a - b, np.subtract),
          "mul": (lambda a, b: a * b, np.multiply), "max": (T.maximum, np.maximum)}
REDUCE = {"sum": (lambda a, ax: a.sum(axis=ax), lambda a, ax: a.sum(axis=ax)),
          "mean": (lambda a, ax: a.mean(axis=ax), lambda a, ax: a.mean(axis=ax)),
          "max": (lambda a, ax: a.max(axis=ax), lambda a, ax: a.max(axis=ax))}


@st.composite
def programs(draw):
    """A random expression over two (3, 4) inputs as a list of instructions."""
    n = draw(st.integers(1, 6))
    ops = []
    for _ in range(n):
        kind = draw(st.sampled_from(["unary", "binary"]))
        if kind == "unary":
            ops.append(("unary", draw(st.sampled_from(sorted(UNARY)))))
        else:
            ops.append(("binary", draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, 1))))
    reduce = draw(st.sampled_from(sorted(REDUCE)))
    axis = draw(st.sampled_from([None, 0, 1]))
    return ops, reduce, axis


def _evaluate(ops, reduce, axis, a, b, unary_of, binary_of, reduce_of):
    value, inputs = a, (a, b)
    for op in ops:
        if op[0] == "unary":
            value = unary_of(op[1])(value)
        else:
            value = binary_of(op[1])(value, inputs[op[2]])
    return reduce_of(reduce)(value, axis)


@given(programs(), st.integers(0, 2**31 - 1))
def test_random_elementwise_graphs_match_numpy(program, seed):
    ops, reduce, axis = program
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1.5, 1.5, size=(2, 3, 4))
    x, y = T.dmatrix("x"), T.dmatrix("y")
    expr = _evaluate(ops, reduce, axis, x, y, lambda k: UNARY[k][0], lambda k: BINARY[k][0],
                     lambda k: REDUCE[k][0])
    f = theano.function([x, y], expr, on_unused_input="ignore")
    with np.errstate(over="ignore"):
        want = _evaluate(ops, reduce, axis, a, b, lambda k: UNARY[k][1], lambda k: BINARY[k][1],
                         lambda k: REDUCE[k][1])
        got = f(a, b)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True)
