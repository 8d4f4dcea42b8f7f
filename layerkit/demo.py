"""``layerkit demo``: train a Lasagne-style MLP on generated two-class data.

The whole loop a Lasagne user writes — stacked ``DenseLayer``s,
``get_output``, an objective, ``get_all_params``, ``nesterov_momentum`` and
``function`` — on two interleaved half-moons generated with numpy from a
fixed seed. It prints the training loss of every epoch and the accuracy on
held-out points, in a few seconds. (A later release replaces it with a conv
net on handwritten digits.)

    layerkit demo --epochs 20 --backend numpy --seed 0
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main", "make_moons", "build_mlp"]


def make_moons(n, noise, rng):
    """``n`` points on two interleaved half circles with Gaussian ``noise``.

    Returns float32 features of shape ``(n, 2)`` and int32 labels (0 for the
    upper moon, 1 for the lower one), shuffled with ``rng``.
    """
    labels = (np.arange(n) >= n // 2).astype("int32")
    angle = rng.uniform(0.0, np.pi, size=n)
    # the lower moon is the upper one flipped and shifted into its hollow
    x = np.where(labels == 0, np.cos(angle), 1.0 - np.cos(angle))
    y = np.where(labels == 0, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], axis=1) + rng.normal(0.0, noise, size=(n, 2))
    order = rng.permutation(n)
    return points[order].astype("float32"), labels[order]


def build_mlp(input_var=None, num_hidden=32, num_classes=2):
    """Input (2 features) -> two rectified dense layers -> softmax."""
    from layerkit import layers, nonlinearities

    net = layers.InputLayer((None, 2), input_var=input_var, name="input")
    net = layers.DenseLayer(net, num_hidden, nonlinearity=nonlinearities.rectify, name="hidden1")
    net = layers.DenseLayer(net, num_hidden, nonlinearity=nonlinearities.rectify, name="hidden2")
    return layers.DenseLayer(net, num_classes, nonlinearity=nonlinearities.softmax, name="output")


def _parse(argv):
    parser = argparse.ArgumentParser(prog="layerkit demo",
                                     description="Train a Lasagne-style MLP on generated "
                                                 "two-class data (two moons).")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the data (20)")
    parser.add_argument("--backend", default=None,
                        help="backend to run on (default: the selected one, usually numpy)")
    parser.add_argument("--seed", type=int, default=0, help="seed for data and weights (0)")
    parser.add_argument("--batch-size", type=int, default=50, help="examples per step (50)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
    return args


def main(argv=None):
    """Run the demo; ``argv`` as for ``layerkit demo`` (``--epochs``, ``--backend``, ``--seed``)."""
    args = _parse(argv)

    import layerkit as lasagne
    import layerkit.core as theano
    import layerkit.core.tensor as T
    from layerkit.backend import NoBackendError, get_backend

    try:
        backend = get_backend(args.backend)
    except (ValueError, NoBackendError) as err:
        print(f"layerkit demo: {err}", file=sys.stderr)
        return 2
    lasagne.random.seed(args.seed)
    rng = np.random.RandomState(args.seed)
    X, y = make_moons(1200, 0.15, rng)
    X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]

    inputs, targets = T.matrix("inputs"), T.ivector("targets")
    network = build_mlp(inputs)
    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, targets).mean()
    params = lasagne.layers.get_all_params(network, trainable=True)
    updates = lasagne.updates.nesterov_momentum(loss, params, learning_rate=0.05, momentum=0.9)
    train_fn = theano.function([inputs, targets], loss, updates=updates, backend=backend.name)

    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    test_acc = lasagne.objectives.categorical_accuracy(test_prediction, targets).mean()
    test_fn = theano.function([inputs, targets], test_acc, backend=backend.name)

    print(f"layerkit demo: an MLP with {lasagne.layers.count_params(network)} parameters on "
          f"{len(X_train)} generated points (two moons), backend {backend.name}")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(X_train))
        losses = []
        for i in range(0, len(order), args.batch_size):
            batch = order[i:i + args.batch_size]
            losses.append(float(train_fn(X_train[batch], y_train[batch])))
        print(f"epoch {epoch:3d}/{args.epochs}  training loss {np.mean(losses):.4f}")
    accuracy = float(test_fn(X_test, y_test))
    print(f"test accuracy {accuracy:.1%} on {len(X_test)} held-out points "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
