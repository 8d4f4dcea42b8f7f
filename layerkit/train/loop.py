"""``fit``: epochs of minibatch steps through a compiled training function."""
from __future__ import annotations

import numpy as np

from ..random import get_rng
from .batches import as_arrays, iterate_minibatches
from .callbacks import Callback, History, LambdaCallback
from .progress import make_progress

__all__ = ["fit"]


def _values(out, names, what):
    """The outputs of a compiled function as floats, one per name."""
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if len(outs) != len(names):
        raise ValueError(f"fit: {what} returned {len(outs)} value(s) but {len(names)} "
                         f"name(s) were given ({', '.join(names)}); pass one name per "
                         f"output, e.g. names=('loss', 'acc')")
    values = []
    for name, v in zip(names, outs):
        a = np.asarray(v)
        if a.size != 1:
            raise ValueError(f"fit: {what}'s output {name!r} has shape {a.shape}; fit averages "
                             f"scalars over batches, so return a scalar (e.g. the mean)")
        values.append(float(a.reshape(())))
    return values


def _callbacks(callbacks):
    result = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            result.append(cb)
        elif callable(cb):
            result.append(LambdaCallback(on_epoch_end=cb))
        else:
            raise TypeError(f"fit: a callback must be a Callback or a function "
                            f"(epoch, logs), got {type(cb).__name__}")
    return result


def _evaluate(fn, arrays, batch_size, names):
    totals, count = np.zeros(len(names)), 0
    for batch in iterate_minibatches(*arrays, batch_size=batch_size):
        n = len(batch[0])
        totals += n * np.asarray(_values(fn(*batch), names, "validation_fn"))
        count += n
    return dict(zip(names, (totals / count).tolist()))


def fit(train_fn, data, *, epochs=1, batch_size=32, shuffle=True, rng=None,
        validation_data=None, validation_fn=None, names=("loss",), validation_names=None,
        callbacks=(), verbose=1, file=None, unit="ex"):
    """Train with ``train_fn`` (a compiled step) on ``data`` for ``epochs`` epochs.

    ``data`` is an array or a tuple of arrays with one example per row, such
    as ``(X, y)``; each step calls ``train_fn(*batch)`` on ``batch_size`` rows
    (the last batch of an epoch holds the remainder), shuffled every epoch
    with ``rng`` when ``shuffle`` (a numpy ``RandomState``/``Generator`` or a
    seed; default :func:`layerkit.random.get_rng`, so ``layerkit.random.seed``
    makes runs repeatable). ``train_fn`` returns the loss, or several scalars
    named by ``names`` (default ``("loss",)``); their epoch values are means
    weighted by batch size.

    After each epoch, ``validation_fn(*batch)`` (compile it with
    ``deterministic=True`` outputs) runs over ``validation_data`` in batches
    of ``batch_size``; its outputs are named by ``validation_names``
    (default ``("val_loss",)`` for one output).

    ``callbacks`` are :class:`Callback` objects or functions ``(epoch, logs)``
    called after each epoch; one stops the run by setting
    ``history.stop_training`` (see :class:`EarlyStopping`). ``verbose``: 1 a
    progress bar per epoch (tqdm; one line per epoch if it is not
    installed), 2 one line per epoch, 0 nothing; written to ``file``
    (default stdout), counting ``unit``\\ s per second.

    Returns the :class:`History` (``history.history["val_loss"]`` ...).
    """
    arrays = as_arrays(data, "fit: data")
    if not callable(train_fn):
        raise TypeError(f"fit: train_fn must be a compiled function, got "
                        f"{type(train_fn).__name__}")
    for label, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"fit: {label} must be a positive integer, got {value!r}")
    if (validation_data is None) != (validation_fn is None):
        raise ValueError("fit: validation needs both validation_data and validation_fn; got "
                         + ("only validation_data" if validation_fn is None
                            else "only validation_fn"))
    names = (names,) if isinstance(names, str) else tuple(names)
    if validation_fn is not None:
        validation_data = as_arrays(validation_data, "fit: validation_data")
        validation_names = ("val_loss",) if validation_names is None else \
            ((validation_names,) if isinstance(validation_names, str) else tuple(validation_names))
        clash = set(names) & set(validation_names)
        if clash:
            raise ValueError(f"fit: names {sorted(clash)} are used for both training and "
                             f"validation outputs")
    if isinstance(rng, (int, np.integer)):
        rng = np.random.RandomState(rng)
    elif rng is None and shuffle:
        rng = get_rng()

    history = History()
    callbacks = _callbacks(callbacks)
    for cb in callbacks:
        cb.history = history
    progress = make_progress(verbose, file, unit)
    n = len(arrays[0])
    try:
        for cb in callbacks:
            cb.on_train_begin({})
        for epoch in range(1, epochs + 1):
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            progress.begin_epoch(epoch, epochs, n)
            totals, count = np.zeros(len(names)), 0
            batches = iterate_minibatches(*arrays, batch_size=batch_size, shuffle=shuffle,
                                          rng=rng)
            for i, batch in enumerate(batches):
                size = len(batch[0])
                values = _values(train_fn(*batch), names, "train_fn")
                totals += size * np.asarray(values)
                count += size
                progress.batch(size, dict(zip(names, (totals / count).tolist())))
                if callbacks:
                    logs = dict(zip(names, values), size=size)
                    for cb in callbacks:
                        cb.on_batch_end(i, logs)
            logs = dict(zip(names, (totals / count).tolist()))
            if validation_fn is not None:
                logs.update(_evaluate(validation_fn, validation_data, batch_size,
                                      validation_names))
            history.record(epoch, logs)
            progress.end_epoch(logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, dict(logs))
            if history.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end({})
    finally:
        progress.close()
    return history
