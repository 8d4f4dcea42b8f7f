"""Soak: an MLP trains 20,000 steps; resident memory at the start (after the
first steps) and at the end is reported, with the growth in percent.

    python bench/soak.py [--steps 20000] [--warmup 200] [--backend numpy]

Not a timed test: run it by hand and read the growth (target < 5 %). RSS is
also sampled ten times along the way, so steady growth shows even when it
stays under the target. On a 2-core machine shared with other work, OpenBLAS's
threads lose time slices: ``OPENBLAS_NUM_THREADS=1`` gives the steps/s the
machine can do (see bench/RESULTS.md, "Soak").
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """The process's peak resident set (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=200,
                        help="steps before the starting RSS is read (buffers, caches)")
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args(argv)

    import layerkit as lasagne
    import layerkit.core as theano
    import layerkit.core.tensor as T

    lasagne.random.seed(0)
    net = lasagne.layers.InputLayer((None, 784))
    net = lasagne.layers.DenseLayer(net, 256)
    net = lasagne.layers.DropoutLayer(net, 0.5)
    net = lasagne.layers.DenseLayer(net, 10, nonlinearity=lasagne.nonlinearities.softmax)
    y = T.ivector("y")
    loss = lasagne.objectives.categorical_crossentropy(lasagne.layers.get_output(net), y).mean()
    params = lasagne.layers.get_all_params(net, trainable=True)
    x = lasagne.layers.get_all_layers(net)[0].input_var
    train = theano.function([x, y], loss, backend=args.backend,
                            updates=lasagne.updates.rmsprop(loss, params, learning_rate=1e-3))
    rng = np.random.RandomState(0)
    X = rng.rand(64, 784).astype("float32")
    Y = rng.randint(0, 10, 64).astype("int32")
    for _ in range(args.warmup):
        train(X, Y)
    start = rss_mb()
    t = time.perf_counter()
    every = max(1, args.steps // 10)
    samples = []
    for step in range(1, args.steps + 1):
        loss = train(X, Y)
        if step % every == 0:
            samples.append(f"{rss_mb():.1f}")
    elapsed = time.perf_counter() - t
    end = rss_mb()
    growth = 100 * (end - start) / start
    print(f"soak: {args.steps} steps in {elapsed:.1f} s ({args.steps / elapsed:.1f} steps/s) on "
          f"{args.backend}; final loss {float(loss):.4f}")
    print(f"RSS every {every} steps (MB): {' '.join(samples)}")
    print(f"RSS {start:.1f} MB -> {end:.1f} MB ({growth:+.2f} %); peak {peak_mb():.1f} MB; "
          f"target < 5 %: {'ok' if growth < 5 else 'FAILED'}")
    return 0 if growth < 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
