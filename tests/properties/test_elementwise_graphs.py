"""Property tests: random small graphs of elementwise and reduction ops against
numpy in float64, and their gradients against finite differences. The
example count comes from the profile chosen in ``conftest.py`` (small and
derandomized under CI)."""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, example, given, settings, strategies as st  # noqa: E402

import layerkit.core as theano  # noqa: E402
import layerkit.core.tensor as T  # noqa: E402
from layerkit.testing import verify_grad  # noqa: E402


def examples(factor: float) -> int:
    """``factor`` times the example count of the profile loaded by conftest.py: cheap
    checks (a forward pass) run more examples than finite differences do."""
    return max(1, int(factor * settings.default.max_examples))

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


@settings(max_examples=examples(5))
@given(program=programs(), seed=st.integers(0, 2**31 - 1))
@example(program=([("unary", k) for k in sorted(UNARY)] + [("binary", k, 1) for k in sorted(BINARY)],
                  "max", 1), seed=3)
def test_random_elementwise_graphs_match_numpy(program, seed, backend):
    ops, reduce, axis = program
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1.5, 1.5, size=(2, 3, 4))
    x, y = T.dmatrix("x"), T.dmatrix("y")
    expr = _evaluate(ops, reduce, axis, x, y, lambda k: UNARY[k][0], lambda k: BINARY[k][0],
                     lambda k: REDUCE[k][0])
    f = theano.function([x, y], expr, on_unused_input="ignore", backend=backend.name)
    with np.errstate(over="ignore"):
        want = _evaluate(ops, reduce, axis, a, b, lambda k: UNARY[k][1], lambda k: BINARY[k][1],
                         lambda k: REDUCE[k][1])
        got = f(a, b)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True)


# smooth ops only (abs and max have kinks that finite differences straddle)
SMOOTH_UNARY = {"exp": (T.exp, np.exp), "tanh": (T.tanh, np.tanh), "neg": (lambda a: -a, np.negative),
                "sqr": (T.sqr, np.square), "sin": (T.sin, np.sin),
                "sigmoid": (T.nnet.sigmoid, lambda a: 1 / (1 + np.exp(-a)))}
SMOOTH_BINARY = {k: BINARY[k] for k in ("add", "sub", "mul")}
SMOOTH_REDUCE = {k: REDUCE[k] for k in ("sum", "mean")}


def _largest_intermediate(ops, a, b) -> float:
    """The largest magnitude any step of the smooth program reaches (numpy, float64)."""
    value, inputs, largest = a, (a, b), np.abs(a).max()
    with np.errstate(over="ignore", invalid="ignore"):
        for op in ops:
            if op[0] == "unary":
                value = SMOOTH_UNARY[op[1]][1](value)
            else:
                value = SMOOTH_BINARY[op[1]][1](value, inputs[op[2]])
            largest = max(largest, np.abs(value).max())
    return float(largest) if np.isfinite(largest) else np.inf


@st.composite
def smooth_programs(draw):
    n = draw(st.integers(1, 4))
    ops = []
    for _ in range(n):
        if draw(st.booleans()):
            ops.append(("unary", draw(st.sampled_from(sorted(SMOOTH_UNARY)))))
        else:
            ops.append(("binary", draw(st.sampled_from(sorted(SMOOTH_BINARY))),
                        draw(st.integers(0, 1))))
    return ops, draw(st.sampled_from(sorted(SMOOTH_REDUCE))), draw(st.sampled_from([None, 0, 1]))


@settings(max_examples=examples(4))
@given(program=smooth_programs(), seed=st.integers(0, 2**31 - 1))
@example(program=([("unary", "tanh"), ("binary", "mul", 1), ("unary", "sigmoid"),
                   ("unary", "sin")], "sum", None), seed=1)
@example(program=([("unary", "exp"), ("binary", "sub", 1), ("unary", "sqr"),
                   ("unary", "neg")], "mean", 0), seed=2)
def test_random_graph_gradients_match_finite_differences(program, seed, backend):
    ops, reduce, axis = program
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1.5, 1.5, size=(2, 2, 3))
    with np.errstate(over="ignore", invalid="ignore"):
        value = _evaluate(ops, reduce, axis, a, b, lambda k: SMOOTH_UNARY[k][1],
                          lambda k: SMOOTH_BINARY[k][1], lambda k: SMOOTH_REDUCE[k][1])
    assume(np.all(np.isfinite(value)) and np.abs(value).max() < 1e3)
    # a bounded result can still hide a huge intermediate (sin(exp(exp(x)))), whose
    # gradient finite differences cannot measure: keep every intermediate moderate
    assume(_largest_intermediate(ops, a, b) < 50)
    verify_grad(lambda x, y: _evaluate(ops, reduce, axis, x, y, lambda k: SMOOTH_UNARY[k][0],
                                       lambda k: SMOOTH_BINARY[k][0],
                                       lambda k: SMOOTH_REDUCE[k][0]),
                [a, b], n_tests=1, rng=np.random.default_rng(seed), backend=backend.name)
