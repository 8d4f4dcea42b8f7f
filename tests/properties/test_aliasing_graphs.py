"""Differential property test of the in-place phase (issue 16): random graphs with
views of shared variables, updates of those same variables, several outputs and
repeated outputs, run three ways — optimized; with
``optimizer_excluding=fusion:inplace:canonicalize``; in DebugMode — for two
calls each from the same starting values, against numpy evaluating the same
program on copies. Every result and every updated value must agree.
"""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings, strategies as st  # noqa: E402

import layerkit.core as theano  # noqa: E402
import layerkit.core.tensor as T  # noqa: E402
from layerkit.core.config import config  # noqa: E402

# numpy's floating-point warnings stay warnings here (pytest's configuration makes
# them errors), so that compiled functions take their in-place path: with errors
# raised, the linker runs the program that writes no shared storage (decision D47)
pytestmark = pytest.mark.filterwarnings("default::RuntimeWarning")

# (layerkit, numpy) pairs on (3, 3) values; views keep the shape
VIEWS = {"T": (lambda v: v.T, lambda v: v.T),
         "rows": (lambda v: v[::-1], lambda v: v[::-1]),
         "cols": (lambda v: v[:, ::-1], lambda v: v[:, ::-1]),
         "flat": (lambda v: v.reshape((9,))[::-1].reshape((3, 3)),
                  lambda v: v.reshape(9)[::-1].reshape(3, 3)),
         "shuffle": (lambda v: v.dimshuffle(1, 0), lambda v: v.transpose(1, 0))}
UNARY = {"tanh": (T.tanh, np.tanh), "neg": (lambda v: -v, np.negative),
         "half": (lambda v: v * 0.5, lambda v: v * 0.5)}
BINARY = {"add": (lambda a, b: a + b, np.add), "mul": (lambda a, b: a * b, np.multiply),
          "sub": (lambda a, b: a - b, np.subtract)}
LEAVES = ("a", "b", "x")


@st.composite
def programs(draw):
    """Instructions building values 3.. from the leaves a, b (shared) and x (input)."""
    steps = []
    for _ in range(draw(st.integers(2, 8))):
        n = len(LEAVES) + len(steps)
        kind = draw(st.sampled_from(["view", "unary", "binary"]))
        if kind == "view":
            steps.append(("view", draw(st.sampled_from(sorted(VIEWS))), draw(st.integers(0, n - 1))))
        elif kind == "unary":
            steps.append(("unary", draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, n - 1))))
        else:
            steps.append(("binary", draw(st.sampled_from(sorted(BINARY))),
                          draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
    total = len(LEAVES) + len(steps)
    outputs = draw(st.lists(st.integers(0, total - 1), min_size=1, max_size=4))
    updates = {}
    for target in ("a", "b"):
        if draw(st.booleans()):
            updates[target] = draw(st.integers(0, total - 1))
    return steps, outputs, updates


def _evaluate(steps, leaves, view, unary, binary):
    values = list(leaves)
    for step in steps:
        if step[0] == "view":
            values.append(view(step[1])(values[step[2]]))
        elif step[0] == "unary":
            values.append(unary(step[1])(values[step[2]]))
        else:
            values.append(binary(step[1])(values[step[2]], values[step[3]]))
    return values


def _numpy_calls(program, a0, b0, xs):
    steps, outputs, updates = program
    a, b = a0.copy(), b0.copy()
    results = []
    for x in xs:
        values = _evaluate(steps, [a, b, x], lambda k: VIEWS[k][1], lambda k: UNARY[k][1],
                           lambda k: BINARY[k][1])
        results.append([np.array(values[k], copy=True) for k in outputs])
        new = {"a": a, "b": b}
        for target, k in updates.items():
            new[target] = np.array(values[k], copy=True)
        a, b = new["a"], new["b"]
    return results, a, b


def _layerkit_calls(program, a0, b0, xs, backend, excluding="", mode=None):
    steps, outputs, updates = program
    a = theano.shared(a0.copy(), name="a")
    b = theano.shared(b0.copy(), name="b")
    x = T.dmatrix("x")
    values = _evaluate(steps, [a, b, x], lambda k: VIEWS[k][0], lambda k: UNARY[k][0],
                       lambda k: BINARY[k][0])
    saved = config.optimizer_excluding
    config.optimizer_excluding = excluding
    try:
        f = theano.function([x], [values[k] for k in outputs], backend=backend.name,
                            updates=[({"a": a, "b": b}[t], values[k]) for t, k in updates.items()],
                            on_unused_input="ignore", mode=mode)
    finally:
        config.optimizer_excluding = saved
    results = [f(xv) for xv in xs]
    for got in results:                    # repeated outputs are distinct arrays
        assert len({id(r) for r in got}) == len(got)
    return results, a.get_value(), b.get_value()


@settings(max_examples=max(4, settings.default.max_examples * 3))
@given(program=programs(), seed=st.integers(0, 2**31 - 1))
@example(program=([("view", "T", 0), ("unary", "tanh", 0), ("binary", "add", 4, 3)],
                  [3, 3, 0], {"a": 5}), seed=0)
@example(program=([("view", "rows", 1), ("binary", "mul", 0, 3), ("unary", "half", 1)],
                  [4, 3], {"a": 4, "b": 5}), seed=1)
def test_optimized_unoptimized_and_debugmode_agree_with_numpy(backend, program, seed):
    rng = np.random.default_rng(seed)
    a0, b0 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    xs = [rng.standard_normal((3, 3)) for _ in range(2)]
    want, wa, wb = _numpy_calls(program, a0, b0, xs)
    runs = {"optimized": _layerkit_calls(program, a0, b0, xs, backend),
            "excluding": _layerkit_calls(program, a0, b0, xs, backend,
                                         excluding="fusion:inplace:canonicalize"),
            "DebugMode": _layerkit_calls(program, a0, b0, xs, backend, mode="DebugMode")}
    for how, (got, ga, gb) in runs.items():
        for call, (g_call, w_call) in enumerate(zip(got, want)):
            for k, (g, w) in enumerate(zip(g_call, w_call)):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15,
                                           err_msg=f"{how}: call {call}, output {k}")
        np.testing.assert_allclose(ga, wa, rtol=1e-12, atol=1e-15, err_msg=f"{how}: a")
        np.testing.assert_allclose(gb, wb, rtol=1e-12, atol=1e-15, err_msg=f"{how}: b")
