"""``layerkit demo``: a conv net on scikit-learn's handwritten digits.

The loop a Lasagne user writes — layers, ``get_output``, an objective,
``get_all_params``, ``adam`` and ``function`` — with :func:`layerkit.train.fit`
running the epochs: a progress bar with the loss and speed, validation loss
and accuracy after each epoch, then the test accuracy. Training images are
shifted by up to a pixel at random, and the learning rate decays by 5 % per
epoch (a callback). It writes ``learning_curve.png`` and the trained
parameters (``params.npz``, see :mod:`layerkit.params`) into the output
folder. The data (1797 8x8 images, no download) are split once and for all;
``--seed`` sets the initial weights, the shuffling, the shifts and dropout.

    layerkit demo --epochs 40 --backend numpy --output layerkit-demo --seed 0

Needs the ``demo`` extra (scikit-learn, tqdm, matplotlib):
``pip install 'layerkit[demo]'``.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time

import numpy as np

import layerkit as lasagne
from layerkit.backend import NoBackendError, get_backend

__all__ = ["main", "build_cnn", "load_digit_splits", "random_shifts"]

from .data import load_digit_splits, random_shifts
from .net import build_cnn

EPOCHS = 40
LEARNING_RATE = 0.003      # adam's, multiplied by DECAY after every epoch
DECAY = 0.95

#: the demo extra: (module to import, distribution to install)
EXTRA = (("sklearn", "scikit-learn"), ("tqdm", "tqdm"), ("matplotlib", "matplotlib"))


def missing_extra() -> list[str]:
    """The distributions of the ``demo`` extra that cannot be imported here."""
    missing = []
    for module, dist in EXTRA:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(dist)
    return missing


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="layerkit demo",
        description="Train a conv net on scikit-learn's handwritten digits; write the learning "
                    "curve and the trained parameters.")
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help=f"passes over the training images ({EPOCHS})")
    parser.add_argument("--backend", default=None,
                        help="backend to run on (default: the selected one, usually numpy)")
    parser.add_argument("--output", default="layerkit-demo",
                        help="folder for learning_curve.png and params.npz (./layerkit-demo)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the initial weights, shuffling and dropout (0)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step (32)")
    parser.add_argument("--train-size", type=int, default=None, metavar="N",
                        help="train on only the first N training images (a quick check)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "train_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return args


def _blas_threads(n):
    """Limit BLAS threads (threadpoolctl comes with scikit-learn); a no-op without it."""
    try:
        from threadpoolctl import threadpool_limits  # lazy: optional (comes with scikit-learn)
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def main(argv=None) -> int:
    """Run the demo with ``argv`` as for ``layerkit demo``; returns the exit status."""
    args = _parse(argv)
    missing = missing_extra()
    if missing:
        names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1
                             else missing)
        print(f"layerkit demo needs {names}, which "
              f"{'is' if len(missing) == 1 else 'are'} not installed: "
              f"pip install 'layerkit[demo]' (from a checkout: pip install -e '.[demo]')",
              file=sys.stderr)
        return 2
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        print(f"layerkit demo: --output {args.output!r} is a file, not a folder", file=sys.stderr)
        return 2

    # lazy: core, layers, params, train and plot load only here, after the argument and
    # extra checks: ~100 ms off `layerkit demo --help` and its error messages
    import layerkit.core as theano
    import layerkit.core.tensor as T
    from layerkit.params import save_params
    from layerkit.train import LambdaCallback, fit

    from .plot import save_learning_curve

    try:
        backend = get_backend(args.backend)
    except (ValueError, NoBackendError) as err:
        print(f"layerkit demo: {err}", file=sys.stderr)
        return 2

    start = time.perf_counter()
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_digit_splits()
    if args.train_size is not None:
        X_train, y_train = X_train[:args.train_size], y_train[:args.train_size]

    lasagne.random.seed(args.seed)
    images, labels = T.tensor4("images"), T.ivector("labels")
    network = build_cnn(images)
    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, labels).mean()
    acc = lasagne.objectives.categorical_accuracy(prediction, labels).mean()
    params = lasagne.layers.get_all_params(network, trainable=True)
    learning_rate = theano.shared(lasagne.utils.floatX(LEARNING_RATE), name="learning_rate")
    updates = lasagne.updates.adam(loss, params, learning_rate=learning_rate)
    train_fn = theano.function([images, labels], [loss, acc], updates=updates,
                               backend=backend.name)
    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    test_loss = lasagne.objectives.categorical_crossentropy(test_prediction, labels).mean()
    test_acc = lasagne.objectives.categorical_accuracy(test_prediction, labels).mean()
    eval_fn = theano.function([images, labels], [test_loss, test_acc], backend=backend.name)

    print(f"layerkit demo: a conv net on scikit-learn's handwritten digits (8x8): "
          f"{len(X_train)} training, {len(X_val)} validation, {len(X_test)} test images; "
          f"backend {backend.name}, seed {args.seed}")
    print(lasagne.layers.summary(network), flush=True)

    shifts = np.random.RandomState([args.seed, 1])

    def train_step(batch_images, batch_labels):     # augmentation: fit calls any function
        return train_fn(random_shifts(batch_images, shifts), batch_labels)

    def decay(epoch, logs):
        learning_rate.set_value(learning_rate.get_value() * DECAY)

    # small GEMMs: one BLAS thread is as fast on a quiet machine and far faster on a busy one
    with _blas_threads(1):
        history = fit(train_step, (X_train, y_train), epochs=args.epochs,
                      batch_size=args.batch_size, rng=args.seed,
                      validation_data=(X_val, y_val), validation_fn=eval_fn,
                      names=("loss", "acc"), validation_names=("val_loss", "val_acc"),
                      callbacks=[LambdaCallback(on_epoch_end=decay)], unit="img")
        _, accuracy = (float(v) for v in eval_fn(X_test, y_test))
    took = time.perf_counter() - start

    ran = len(history.epoch)
    print(f"test accuracy {accuracy:.1%} ({round(accuracy * len(y_test))} of {len(y_test)} "
          f"images) after {ran} epoch{'s' * (ran != 1)}, {took:.1f} s")

    os.makedirs(args.output, exist_ok=True)
    curve = os.path.join(args.output, "learning_curve.png")
    weights = os.path.join(args.output, "params.npz")
    save_learning_curve(history, curve, title=f"layerkit demo: test accuracy {accuracy:.1%}")
    save_params(weights, network)
    print(f"wrote {curve} and {weights}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
