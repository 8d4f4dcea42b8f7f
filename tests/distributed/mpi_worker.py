"""What the distributed tests run, under ``mpiexec -n N`` or as one plain process.

    python mpi_worker.py train OUT.npz [--steps 100]
    python mpi_worker.py raise | shapes | stuck | killed | exit [CODE] | uneven
    python mpi_worker.py alone OUT.npz | threads | finalize all|one | late | atexit
    python mpi_worker.py early world|none

``train``: for each of (MLP, conv net) x (SGD, adam), ``--steps`` steps on
global batches of 128 rows, each rank taking its ``128 / size`` rows and
averaging gradients with ``allreduce_grads``; then ``fit(distributed=True)``
for two shuffled epochs with validation. Rank 0 writes every final parameter
and the fit histories to OUT.npz, and each rank's parameters are compared
bitwise across ranks (``identical`` in the file). Under several ranks it also
records the MPI library's answer to ``MPIX_Query_cuda_support`` and averages a
gradient of numpy stand-ins for device arrays through the device path the
ranks agree on (host staging here).

The failure modes: ``raise`` (rank 1 raises at step 3), ``shapes`` (rank 1
builds a wider hidden layer), ``stuck`` (rank 1 sleeps instead of stepping;
the others' all-reduce times out), ``killed`` (rank 1 kills itself),
``exit`` (rank 1 calls ``sys.exit(CODE)`` at step 3, CODE 1 by default).
``uneven``: a clean end where rank 0 ends its script 3 s after the others.

The world's start and end, with no compiled step (each under a second):
``alone``: rank 0 asks its rank and saves parameters (``save_params``) while
rank 1 waits in the script's own ``MPI_Barrier``, then rank 1 asks; then
both make collectives. ``threads``: two threads of rank 0 ask for the world
at once while it is being made (made slower here). ``finalize``: the script
calls ``MPI.Finalize()`` itself on every rank (``all``) or on rank 1
(``one``). ``late``: a handler registered with ``atexit`` before
``import layerkit.distributed`` (at the top of this file) makes a collective
(after layerkit's exit notice). ``atexit``: one registered after that import
but before the world's first collective makes one (before the notice: its
first collective, which opens the channel).

``early``: rank 1 ends before layerkit's first collective while rank 0 waits
in a barrier; ``world``: rank 1 made its world first (``dist.rank()``), so it
sends the early notice; ``none``: it never asked for its world (no notice).
"""
from __future__ import annotations

import argparse
import atexit
import hashlib
import os
import signal
import sys
import threading
import time
import types

import numpy as np


def _late_report():
    """The ``late`` mode's handler: registered before layerkit.distributed is imported."""
    import layerkit.distributed as d
    d.get_world().allreduce_sum(np.ones(1), "the final statistics")


if __name__ == "__main__" and sys.argv[1:2] == ["late"]:
    atexit.register(_late_report)      # before the import below: runs after layerkit's hook

import layerkit as lasagne  # noqa: E402 (after the late mode's handler)
import layerkit.core as theano  # noqa: E402
import layerkit.core.tensor as T  # noqa: E402
import layerkit.distributed as dist  # noqa: E402
from layerkit.train import fit  # noqa: E402

GLOBAL_BATCH = 128


def build(kind, input_var, hidden=32):
    L = lasagne.layers
    if kind == "mlp":
        net = L.InputLayer((None, 20), input_var)
        net = L.DenseLayer(net, hidden, nonlinearity=lasagne.nonlinearities.rectify, name="h")
    else:
        net = L.InputLayer((None, 1, 8, 8), input_var)
        net = L.Conv2DLayer(net, 4, 3, pad="same", name="conv")
        net = L.MaxPool2DLayer(net, 2)
    return L.DenseLayer(net, 10, nonlinearity=lasagne.nonlinearities.softmax, name="out")


def data(kind, n, seed=1):
    rng = np.random.RandomState(seed)
    shape = (n, 20) if kind == "mlp" else (n, 1, 8, 8)
    X = rng.randn(*shape).astype("float32")
    w = rng.randn(int(np.prod(shape[1:])), 10)
    y = np.argmax(X.reshape(n, -1) @ w + rng.randn(n, 10), axis=1).astype("int32")
    return X, y


def compile_step(kind, rule, hidden=32):
    x = T.matrix("x") if kind == "mlp" else T.tensor4("x")
    y = T.ivector("y")
    lasagne.random.seed(0)
    net = build(kind, x, hidden)
    params = lasagne.layers.get_all_params(net, trainable=True)
    dist.broadcast_params(net)
    out = lasagne.layers.get_output(net)
    loss = lasagne.objectives.categorical_crossentropy(out, y).mean()
    grads = dist.allreduce_grads(T.grad(loss, params))
    if rule == "sgd":
        updates = lasagne.updates.sgd(grads, params, learning_rate=0.1)
    else:
        updates = lasagne.updates.adam(grads, params, learning_rate=0.01)
    step = theano.function([x, y], loss, updates=updates)
    det = lasagne.layers.get_output(net, deterministic=True)
    acc = T.mean(T.eq(T.argmax(det, axis=1), y))
    val = theano.function([x, y], [lasagne.objectives.categorical_crossentropy(det, y).mean(),
                                   acc])
    return net, params, step, val


class Staged(np.ndarray):
    """numpy memory that the all-reduce op takes for a device array (not np.ndarray)."""


def device_path_under_mpi(world):
    """The op's device path over real MPI: the ranks' choice (an all-gather) and host
    staging of rank r's ``(r + 1) * arange(4)``."""
    backend = types.SimpleNamespace(
        name="staged", xp=np, to_numpy=lambda x: np.array(x).view(np.ndarray),
        from_numpy=lambda a: np.array(a).view(Staged))
    op = dist.AllreduceMean()
    run = op.thunk(backend, op.make_node(T.vector("g")))
    got = run((np.arange(4, dtype="float32") * (world.rank + 1)).view(Staged))
    assert type(got) is Staged
    return np.asarray(got), world.device_reducers["staged"].name


def train(out, steps):
    world = dist.get_world()
    results, digests = {}, []
    for kind in ("mlp", "conv"):
        X, Y = data(kind, steps * GLOBAL_BATCH)
        for rule in ("sgd", "adam"):
            net, params, step, _ = compile_step(kind, rule)
            mine = dist.shard(GLOBAL_BATCH)
            for i, p in enumerate(params):
                results[f"{kind}_{rule}_{i}_init"] = p.get_value()
            for k in range(steps):
                rows = slice(k * GLOBAL_BATCH, (k + 1) * GLOBAL_BATCH)
                step(X[rows][mine], Y[rows][mine])
            for i, p in enumerate(params):
                value = p.get_value()
                results[f"{kind}_{rule}_{i}"] = value
                digests.append(value.tobytes())
    # fit(distributed=True): two shuffled epochs of 256 rows, 64 rows per global batch
    X, Y = data("mlp", 256 + 100, seed=2)
    net, params, step, val = compile_step("mlp", "sgd")
    history = fit(step, (X[:256], Y[:256]), epochs=2, batch_size=64 // world.size,
                  rng=np.random.RandomState(3), validation_data=(X[256:], Y[256:]),
                  validation_fn=val, validation_names=("val_loss", "val_acc"), verbose=0,
                  distributed=True)
    for i, p in enumerate(params):
        results[f"fit_{i}"] = p.get_value()
        digests.append(p.get_value().tobytes())
    for name, values in history.history.items():
        results[f"history_{name}"] = np.asarray(values)
    if world.size > 1:
        from layerkit.distributed.device import mpi_cuda_support
        results["device_mpi_query"] = np.array(mpi_cuda_support()[1])
        results["device_staged_mean"], path = device_path_under_mpi(world)
        results["device_staged_path"] = np.array(path)
    digest = hashlib.sha256(b"".join(digests)).digest()
    identical = len(set(world.allgather_bytes(digest))) == 1
    if world.rank == 0:
        np.savez(out, identical=identical, size=world.size, **results)


def failing(mode, code=1):
    world = dist.get_world()
    kind = "mlp"
    hidden = 33 if (mode == "shapes" and world.rank == 1) else 32
    net, params, step, _ = compile_step(kind, "sgd", hidden)
    X, Y = data(kind, 10 * GLOBAL_BATCH)
    mine = dist.shard(GLOBAL_BATCH)
    for k in range(10):
        if world.rank == 1 and k == 3:
            if mode == "raise":
                raise ValueError("rank 1's data loader broke at step 3")
            if mode == "stuck":
                time.sleep(120)
            if mode == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            if mode == "exit":
                print(f"rank 1 exits at {time.time():.3f}", flush=True)
                sys.exit(code)
        rows = slice(k * GLOBAL_BATCH, (k + 1) * GLOBAL_BATCH)
        step(X[rows][mine], Y[rows][mine])
    if mode == "uneven" and world.rank == 0:
        time.sleep(3)
    print(f"rank {world.rank} finished", flush=True)


def small_net():
    x = T.matrix("x")
    return lasagne.layers.DenseLayer(lasagne.layers.InputLayer((None, 6), x), 3, name="d")


def reduce_ranks(world, times=3):
    """``times`` all-reduces of ones; each must give ``size``."""
    for _ in range(times):
        buf = np.ones(3)
        world.allreduce_sum(buf)
        assert buf.tolist() == [world.size] * 3, buf


def start_and_end(mode, arg):
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    me = comm.rank
    from layerkit.distributed import world as world_mod
    if mode == "alone":
        # layerkit.distributed on one rank first: local, while rank 1 waits in MPI
        from layerkit.params import save_params
        net = small_net()
        if comm.rank == 0:
            assert dist.rank() == 0 and dist.size() == comm.size
            save_params(arg, net)
        comm.Barrier()
        if comm.rank == 1:
            assert dist.rank() == 1
        dist.broadcast_params(net)
        reduce_ranks(dist.get_world())
    elif mode == "threads":
        if comm.rank == 0:
            made = world_mod.World.__init__

            def slow_init(self, *args, **kwargs):
                time.sleep(0.3)                  # a slow start: the other thread asks meanwhile
                made(self, *args, **kwargs)
            world_mod.World.__init__ = slow_init
            both = threading.Barrier(2)
            seen = []

            def ask():
                both.wait()
                seen.append(dist.get_world())
            thread = threading.Thread(target=ask)
            thread.start()
            ask()
            thread.join()
            world_mod.World.__init__ = made
            assert seen[0] is seen[1], "two worlds were made"
        reduce_ranks(dist.get_world())
    elif mode == "finalize":
        reduce_ranks(dist.get_world())
        if arg == "all" or me == 1:
            print(f"rank {me} finalizes", flush=True)
            MPI.Finalize()
    elif mode == "late":
        reduce_ranks(dist.get_world())             # _late_report was registered at the top
    elif mode == "atexit":
        def report():
            stats = np.array([float(me + 1)])
            dist.get_world().allreduce_sum(stats, "the final statistics")
            print(f"rank {me} total {stats[0]:g}", flush=True)
        atexit.register(report)    # after the import, before the first collective: runs first
        dist.get_world()
    elif mode == "early":
        if me == 1:
            if arg == "world":
                assert dist.rank() == 1
            print(f"rank 1 exits at {time.time():.3f}", flush=True)
            sys.exit(0)
        dist.get_world().barrier("the barrier after the data loading")
    print(f"rank {me} finished", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("train", "raise", "shapes", "stuck", "killed", "exit",
                                         "uneven", "alone", "threads", "finalize", "late",
                                         "atexit", "early"))
    parser.add_argument("out", nargs="?", help="train, alone: the .npz to write; exit: the "
                                               "code; finalize: all or one; early: world or "
                                               "none")
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    if args.mode == "train":
        train(args.out, args.steps)
    elif args.mode == "exit":
        failing(args.mode, int(args.out or 1))
    elif args.mode in ("alone", "threads", "finalize", "late", "atexit", "early"):
        start_and_end(args.mode, args.out)
    else:
        failing(args.mode)


if __name__ == "__main__":
    sys.exit(main())
