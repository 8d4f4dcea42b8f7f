"""``layerkit demo``: train a Lasagne-style MLP on generated two-moons data.

It shows the whole loop a Lasagne user writes — layers, ``get_output``,
an objective, ``nesterov_momentum``, ``function`` — with the loss falling
per epoch and the accuracy on held-out points at the end. (A later release
replaces it with a conv net on handwritten digits.)
"""
from __future__ import annotations

import argparse
import time

import numpy as np

__all__ = ["main", "make_moons"]


def make_moons(n: int, noise: float, rng: np.random.RandomState):
    """Two interleaved half circles (as scikit-learn's ``make_moons``), float32 features."""
    half = n // 2
    t = rng.uniform(0, np.pi, size=n)
    x = np.where(np.arange(n) < half, np.cos(t), 1 - np.cos(t))
    y = np.where(np.arange(n) < half, np.sin(t), 0.5 - np.sin(t))
    X = np.stack([x, y], axis=1) + rng.normal(0, noise, size=(n, 2))
    labels = (np.arange(n) >= half).astype("int32")
    order = rng.permutation(n)
    return X[order].astype("float32"), labels[order]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="layerkit demo", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--backend", default=None, help="backend name (default: the current one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import layerkit as lasagne
    import layerkit.core as theano
    import layerkit.core.tensor as T
    from layerkit.backend import get_backend

    lasagne.random.seed(args.seed)
    rng = np.random.RandomState(args.seed)
    X, y = make_moons(2400, 0.15, rng)
    X_train, y_train, X_test, y_test = X[:2000], y[:2000], X[2000:], y[2000:]

    net = lasagne.layers.InputLayer((None, 2))
    net = lasagne.layers.DenseLayer(net, 64, nonlinearity=lasagne.nonlinearities.rectify)
    net = lasagne.layers.DenseLayer(net, 64, nonlinearity=lasagne.nonlinearities.rectify)
    net = lasagne.layers.DenseLayer(net, 2, nonlinearity=lasagne.nonlinearities.softmax)
    targets = T.ivector("targets")
    prediction = lasagne.layers.get_output(net)
    loss = lasagne.objectives.categorical_crossentropy(prediction, targets).mean()
    params = lasagne.layers.get_all_params(net, trainable=True)
    updates = lasagne.updates.nesterov_momentum(loss, params, learning_rate=0.05, momentum=0.9)
    backend = get_backend(args.backend)
    inputs = lasagne.layers.get_all_layers(net)[0].input_var
    train = theano.function([inputs, targets], loss, updates=updates, backend=backend.name)
    accuracy = lasagne.objectives.categorical_accuracy(
        lasagne.layers.get_output(net, deterministic=True), targets).mean()
    evaluate = theano.function([inputs, targets], accuracy, backend=backend.name)

    print(f"layerkit demo: a {lasagne.layers.count_params(net)}-parameter MLP on two moons, "
          f"backend {backend.name} ({backend.device})")
    start = time.perf_counter()
    batch = 100
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(X_train))
        losses = [float(train(X_train[order[i:i + batch]], y_train[order[i:i + batch]]))
                  for i in range(0, len(X_train), batch)]
        if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}  loss {np.mean(losses):.4f}")
    acc = float(evaluate(X_test, y_test))
    print(f"test accuracy {acc:.1%} after {args.epochs} epochs ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
