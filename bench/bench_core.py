"""Core overheads (issue 3's figures): the per-call time of seed 000's XOR
train step (``examples/xor_gate.py``: one sample per call, float64) and the
compile time of the logistic regression train function.

    python bench/bench_core.py [--backend numpy] [--no-write]

Prints medians over repeated blocks of CPU time (``time.process_time``, less
disturbed by other processes than wall time), with the same XOR step written
by hand in numpy as the reference measured in the same run, and rewrites its
section of bench/RESULTS.md. The compiler issue sets the targets (XOR step
<= 12 us).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy

import layerkit.core as theano
import layerkit.core.tensor as T
import layerkit.core.tensor.nnet as nnet


def xor_step(backend: str):
    rng = numpy.random.RandomState(0)
    x, y = T.vector("x"), T.scalar("y")
    w1 = theano.shared(rng.rand(3, 2), name="w")
    w2 = theano.shared(rng.rand(3), name="b")

    def layer(x, w):
        return nnet.sigmoid(T.dot(w.T, T.concatenate([x, numpy.array([1])])))
    cost = (T.sum(layer(layer(x, w1), w2)) - y) ** 2
    train = theano.function([x, y], cost, backend=backend,
                            updates=[(w, w - 0.1 * T.grad(cost, w)) for w in (w1, w2)])
    X = [numpy.array(v, dtype="float64") for v in ([0, 0], [0, 1], [1, 0], [1, 1])]
    Y = [0.0, 1.0, 1.0, 0.0]
    return _blocks(train, X, Y)


def _blocks(step, X, Y, calls=4000, blocks=7) -> float:
    """Median CPU microseconds per call over ``blocks`` blocks of ``calls`` calls."""
    for i in range(2000):
        step(X[i % 4], Y[i % 4])
    times = []
    for _ in range(blocks):
        t = time.process_time()
        for i in range(calls):
            step(X[i % 4], Y[i % 4])
        times.append((time.process_time() - t) / calls * 1e6)
    return statistics.median(times)


def xor_step_by_hand():
    """The same XOR step (forward, backprop, SGD) written in plain numpy: the reference."""
    rng = numpy.random.RandomState(0)
    w1, w2 = rng.rand(3, 2), rng.rand(3)
    one = numpy.ones(1)

    def sigmoid(z):
        return 1 / (1 + numpy.exp(-z))

    def step(x, y):
        nonlocal w1, w2
        a = numpy.concatenate([x, one])
        h = sigmoid(w1.T @ a)
        b = numpy.concatenate([h, one])
        o = sigmoid(w2 @ b)
        d = 2 * (o - y) * o * (1 - o)
        dh = d * w2[:2] * h * (1 - h)
        w1 = w1 - 0.1 * numpy.outer(a, dh)
        w2 = w2 - 0.1 * d * b
        return (o - y) ** 2
    X = [numpy.array(v, dtype="float64") for v in ([0, 0], [0, 1], [1, 0], [1, 1])]
    return _blocks(step, X, [0.0, 1.0, 1.0, 0.0])


def logistic_compile(backend: str):
    times = []
    for _ in range(7):
        x, y = T.matrix("x"), T.vector("y")
        w = theano.shared(numpy.zeros(4), name="w")
        b = theano.shared(0.0, name="b")
        h = 1 / (1 + T.exp(-T.dot(x, w) - b))
        cost = (-y * T.log(h) - (1 - y) * T.log(1 - h)).sum()
        gw, gb = T.grad(cost, [w, b])
        t = time.perf_counter()
        theano.function([x, y], cost, updates=((w, w - 0.01 * gw), (b, b - 0.01 * gb)),
                        backend=backend)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def compile_scaling(backend: str, sizes=(100, 200, 400, 800)):
    """Compile time of chains of ``3 n`` elementwise nodes (best of 3, no cache hits):
    linear in the graph's size when the time per node stays flat."""
    from layerkit.core.rewrite import cache
    rows = []
    for n in sizes:
        best = float("inf")
        for _ in range(3):
            cache.clear()
            x = T.dvector("x")
            y = x
            for i in range(n):
                y = T.tanh(y * (1.0 + i * 1e-3)) + x
            t = time.perf_counter()
            theano.function([x], y, backend=backend)
            best = min(best, time.perf_counter() - t)
        rows.append((3 * n, best * 1e3))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    theano.config.floatX = "float64"
    xor, hand = xor_step(args.backend), xor_step_by_hand()
    compile_ms = logistic_compile(args.backend)
    lines = [
        "## Core overheads (bench/bench_core.py)", "",
        f"Backend {args.backend}, float64, CPU time (`process_time`), medians of 7 blocks.", "",
        "| measure | layerkit | reference (same run) | ratio |", "|---|---|---|---|",
        f"| seed 000 XOR train step, one sample per call | {xor:.1f} us | hand-written numpy "
        f"{hand:.1f} us | {xor / hand:.2f} |",
        f"| compile of the logistic-regression train function | {compile_ms:.2f} ms | | |",
    ]
    scaling = compile_scaling(args.backend)
    lines += ["", "Compile time against graph size (elementwise chains, wall time):", "",
              "| nodes | compile ms | us per node |", "|---|---|---|"]
    lines += [f"| {n} | {ms:.1f} | {ms * 1e3 / n:.0f} |" for n, ms in scaling]
    print("\n".join(lines[2:]))
    if not args.no_write:
        from bench_nets import _replace_section
        from pathlib import Path
        _replace_section(Path(__file__).resolve().parent / "RESULTS.md", lines[0],
                         "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
