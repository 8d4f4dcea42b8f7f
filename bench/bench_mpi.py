"""Data-parallel steps per second and the all-reduce's share of a step.

    OPENBLAS_NUM_THREADS=1 python bench/bench_mpi.py               # 1 rank
    OPENBLAS_NUM_THREADS=1 mpiexec -n 2 python bench/bench_mpi.py  # 2 ranks

The net is Lasagne's MNIST MLP (784-800-800-10, 1,276,810 float32
parameters: 5.1 MB of gradients per step) or, with ``--net cnn``, Lasagne's
MNIST conv net (two 32x5x5 convolutions with 2x2 max-pooling, dense 256, 10;
input 1x28x28; 160,362 parameters, 0.64 MB of gradients), without dropout,
SGD, on random data. ``--scaling strong`` keeps the global batch (``--batch``
rows split over the ranks), ``weak`` gives every rank ``--batch`` rows. Rank 0
prints one JSON line: steps/s, the time inside the all-reduce node per step (from the
compiled function's profile) and its share, the bare all-reduce of the
gradient buffer, and the floor of that reduction on one host (the bytes
read and written once at this machine's measured copy bandwidth).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import layerkit as lasagne
import layerkit.core as theano
import layerkit.core.tensor as T
import layerkit.distributed as dist


def build(input_var, kind="mlp"):
    L = lasagne.layers
    if kind == "mlp":
        net = L.InputLayer((None, 784), input_var)
        net = L.DenseLayer(net, 800)
        net = L.DenseLayer(net, 800)
    else:
        net = L.InputLayer((None, 1, 28, 28), input_var)
        for _ in range(2):
            net = L.Conv2DLayer(net, 32, (5, 5))
            net = L.MaxPool2DLayer(net, (2, 2))
        net = L.DenseLayer(net, 256)
    return L.DenseLayer(net, 10, nonlinearity=lasagne.nonlinearities.softmax)


def copy_bandwidth(nbytes, repeats=20):
    a = np.ones(nbytes // 4, dtype=np.float32)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * nbytes / best          # read + write


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--scaling", choices=("strong", "weak"), default="strong")
    parser.add_argument("--net", choices=("mlp", "cnn"), default="mlp")
    args = parser.parse_args(argv)
    world = dist.get_world()
    rows = args.batch // world.size if args.scaling == "strong" else args.batch

    x, y = (T.matrix("x") if args.net == "mlp" else T.tensor4("x")), T.ivector("y")
    lasagne.random.seed(0)
    net = build(x, args.net)
    params = lasagne.layers.get_all_params(net, trainable=True)
    dist.broadcast_params(net)
    loss = lasagne.objectives.categorical_crossentropy(lasagne.layers.get_output(net), y).mean()
    grads = dist.allreduce_grads(T.grad(loss, params))
    step = theano.function([x, y], loss, updates=lasagne.updates.sgd(grads, params, 0.01),
                           profile=True)
    rng = np.random.RandomState(world.rank)
    X = rng.rand(rows, *((784,) if args.net == "mlp" else (1, 28, 28))).astype("float32")
    Y = rng.randint(0, 10, rows).astype("int32")
    for _ in range(3):
        step(X, Y)
    world.barrier()
    step.profile_stats.clear()
    start = time.perf_counter()
    for _ in range(args.steps):
        step(X, Y)
    took = time.perf_counter() - start
    in_allreduce = sum(t for name, (t, _) in step.profile_stats.items()
                       if name.startswith("AllreduceMean")) / args.steps

    nbytes = sum(p.get_value().nbytes for p in params)
    buf = np.ones(nbytes // 4, dtype=np.float32)
    world.barrier()
    times = []
    for _ in range(20):
        t = time.perf_counter()
        world.allreduce_sum(buf)
        times.append(time.perf_counter() - t)
    bare = float(np.median(times))
    result = {"net": args.net, "ranks": world.size, "scaling": args.scaling, "rows_per_rank": rows,
              "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
              "steps_per_s": args.steps / took, "step_ms": 1e3 * took / args.steps,
              "allreduce_node_ms": 1e3 * in_allreduce,
              "allreduce_share": in_allreduce / (took / args.steps),
              "bare_allreduce_ms": 1e3 * bare, "gradient_bytes": nbytes,
              "floor_ms": 1e3 * 2 * nbytes / copy_bandwidth(nbytes)}
    if world.rank == 0:
        print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
