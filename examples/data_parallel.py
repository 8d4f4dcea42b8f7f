"""Data-parallel training of Lasagne's MNIST MLP over MPI (``layerkit.distributed``).

What this is: the network of Lasagne's MNIST tutorial (``build_mlp`` of
``lasagne_mnist_tutorial.py``: input dropout 0.2, two 800-unit rectifier
layers with dropout 0.5, a 10-way softmax; 1,276,810 parameters) on the local
digits, trained with ``nesterov_momentum`` on every rank at once:

    python examples/data_parallel.py                 # one process
    mpiexec -n 2 python examples/data_parallel.py    # two ranks, same script
    mpiexec -n 4 python examples/data_parallel.py

Every rank builds the network, takes rank 0's parameters
(``broadcast_params``), computes the gradients of its share of each global
batch (``--batch-size`` rows in all, split over the ranks by
``fit(distributed=True)``), and the gradients are averaged inside the
compiled step (``allreduce_grads``) before the update rule sees them, so
every rank applies the same update. Dropout masks differ by rank
(``layerkit.distributed.seed``). Progress is printed by rank 0; the test
accuracy is averaged over the ranks (each evaluates its share of the test
images); ``--save`` writes the parameters from rank 0.

The lines that differ from a one-process Lasagne loop are marked ``# dist``.
See ``docs/distributed.md``.
"""
import argparse
import time

import numpy as np

import layerkit as lasagne                # was: import lasagne
import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
import layerkit.distributed as dist       # dist
from layerkit.params import save_params
from layerkit.train import fit
from lasagne_mnist_tutorial import build_mlp, load_dataset


def train(epochs=5, batch_size=100, ntrain=1000, seed=0, save=None, verbose=2):
    world = dist.get_world()                                            # dist
    dist.seed(seed)                 # dist: was lasagne.random.seed(seed); per-rank dropout
    X_train, y_train, X_val, y_val, X_test, y_test = load_dataset(ntrain=ntrain)
    y_train, y_val, y_test = (y.astype("int32") for y in (y_train, y_val, y_test))

    input_var, target_var = T.tensor4("inputs"), T.ivector("targets")
    network = build_mlp(input_var)
    params = lasagne.layers.get_all_params(network, trainable=True)
    dist.broadcast_params(network)                  # dist: every rank starts from rank 0's

    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, target_var).mean()
    grads = dist.allreduce_grads(T.grad(loss, params))   # dist: averaged over the ranks
    updates = lasagne.updates.nesterov_momentum(grads, params, learning_rate=0.01,
                                                momentum=0.9)  # was: (loss, params, ...)
    train_fn = theano.function([input_var, target_var], loss, updates=updates)

    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    test_loss = lasagne.objectives.categorical_crossentropy(test_prediction, target_var).mean()
    test_acc = T.mean(T.eq(T.argmax(test_prediction, axis=1), target_var),
                      dtype=theano.config.floatX)
    val_fn = theano.function([input_var, target_var], [test_loss, test_acc])

    per_rank = max(1, batch_size // world.size)       # dist: fit's batch_size is per rank
    if world.rank == 0 and verbose:
        print(f"{world.size} rank(s), {per_rank} rows each per step "
              f"({per_rank * world.size} per global batch), "
              f"{sum(p.get_value().size for p in params):,} parameters", flush=True)
    start = time.perf_counter()
    history = fit(train_fn, (X_train, y_train), epochs=epochs, batch_size=per_rank,
                  validation_data=(X_val, y_val), validation_fn=val_fn,
                  validation_names=("val_loss", "val_acc"), verbose=verbose,
                  distributed=True)                                     # dist
    took = time.perf_counter() - start

    # the test set: each rank its share, the sums added over the ranks         # dist
    rows = dist.shard(len(X_test))
    totals = np.zeros(3)
    for lo in range(rows.start, rows.stop, 100):
        hi = min(lo + 100, rows.stop)
        err, acc = val_fn(X_test[lo:hi], y_test[lo:hi])
        totals += [err * (hi - lo), acc * (hi - lo), hi - lo]
    world.allreduce_sum(totals, "the test metrics")
    result = {"ranks": world.size, "test_loss": totals[0] / totals[2],
              "test_acc": totals[1] / totals[2], "train_seconds": took,
              "final_val_acc": history.history["val_acc"][-1]}
    if world.rank == 0 and verbose:
        print(f"test loss {result['test_loss']:.4f}  test accuracy "
              f"{100 * result['test_acc']:.1f} %  ({took:.1f} s of training)", flush=True)
    if save:
        save_params(save, network)                    # writes on rank 0 only
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100,
                        help="rows per global batch, split over the ranks (default 100)")
    parser.add_argument("--ntrain", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="write the parameters here (.npz)")
    args = parser.parse_args(argv)
    return train(args.epochs, args.batch_size, args.ntrain, args.seed, args.save)


if __name__ == "__main__":
    main()
