"""Core overheads (issue 3's figures): the per-call time of seed 000's XOR train
step (one sample per call, float64) and the compile time of the logistic
regression train function.

    python bench/bench_core.py [--backend numpy]

Prints medians over repeated blocks; writes nothing. The compiler issue sets
the targets (XOR step <= 12 us).
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
    for i in range(2000):
        train(X[i % 4], Y[i % 4])
    blocks = []
    for _ in range(7):
        t = time.perf_counter()
        for i in range(4000):
            train(X[i % 4], Y[i % 4])
        blocks.append((time.perf_counter() - t) / 4000 * 1e6)
    return statistics.median(blocks)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args()
    theano.config.floatX = "float64"
    print(f"backend {args.backend}")
    print(f"XOR train step:               {xor_step(args.backend):8.1f} us per call (median)")
    print(f"logistic regression compile:  {logistic_compile(args.backend):8.2f} ms (median)")


if __name__ == "__main__":
    main()
