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


def _evaluate(fn, arrays, batch_size, names, world=None):
    totals, count = np.zeros(len(names)), 0
    if world is not None:              # this rank's contiguous share of the rows
        # lazy: importing layerkit.distributed registers its exit hook; only distributed fits
        from ..distributed.world import shard
        rows = shard(len(arrays[0]), world.rank, world.size)
        arrays = tuple(a[rows] for a in arrays) if rows.stop > rows.start else None
    for batch in (iterate_minibatches(*arrays, batch_size=batch_size) if arrays else ()):
        n = len(batch[0])
        totals += n * np.asarray(_values(fn(*batch), names, "validation_fn"))
        count += n
    if world is not None:
        totals, count = _sum_over_ranks(world, totals, count, "the validation metrics")
    return dict(zip(names, (totals / count).tolist()))


def _sum_over_ranks(world, totals, count, what):
    """``(totals, count)`` summed over the ranks (float64, one all-reduce)."""
    buf = np.append(np.asarray(totals, dtype=np.float64), np.float64(count))
    world.allreduce_sum(buf, f"the all-reduce of {what}")
    return buf[:-1], buf[-1]


def _sharded_batches(arrays, batch_size, shuffle, rng, world):
    """This rank's share of each global batch of ``batch_size * size`` rows.

    Rank 0 draws the epoch's order and sends it to all; each global batch is
    cut by :func:`~layerkit.distributed.shard` (as ``np.array_split`` cuts it:
    shares differ by at most one row), and a last batch with fewer rows than
    ranks is skipped by every rank. Yields ``(global rows, this rank's batch)``."""
    # lazy: importing layerkit.distributed registers its exit hook; only distributed fits
    from ..distributed.world import shard
    n = len(arrays[0])
    if shuffle:
        order = rng.permutation(n) if world.rank == 0 else np.empty(n, dtype=np.int64)
        order = world.bcast(np.ascontiguousarray(order, dtype=np.int64), 0,
                            "the broadcast of the epoch's order")
    else:
        order = np.arange(n)
    step = batch_size * world.size
    for start in range(0, n, step):
        idx = order[start:start + step]
        if len(idx) < world.size:
            return
        mine = idx[shard(len(idx), world.rank, world.size)]
        yield len(idx), tuple(a[mine] for a in arrays)


def fit(train_fn, data, *, epochs=1, batch_size=32, shuffle=True, rng=None,
        validation_data=None, validation_fn=None, names=("loss",), validation_names=None,
        callbacks=(), verbose=1, file=None, unit="ex", distributed=False):
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

    ``distributed=True`` trains on every rank of :mod:`layerkit.distributed`
    at once (run under ``mpiexec``; ``train_fn`` averages its gradients with
    ``allreduce_grads``): each step takes a global batch of ``batch_size``
    rows *per rank* in the order rank 0 draws, and each rank calls
    ``train_fn`` on its share; the epoch's training values and the
    validation values (each rank evaluates its share of
    ``validation_data``) are averaged over all ranks, weighted by rows, so
    every rank's history and ``on_epoch_end`` see the same numbers. Per
    batch they do not: ``on_batch_end`` gets this rank's own outputs on its
    share (``size``: its rows), and the progress bar, shown on rank 0 only,
    counts the global batch's rows but shows rank 0's running values until
    the epoch ends. The last global batch of an epoch, when it does not
    divide evenly over the ranks, gives shares that differ by one row
    (fewer rows than ranks: it is skipped), and ``allreduce_grads`` weights
    each rank's mean gradient equally, so that step is not exactly the
    global batch's mean gradient (with a mean loss, the rows of the shorter
    shares weigh a little more). An exception on one rank ends all of them
    (:func:`~layerkit.distributed.abort_on_error`). In a single process it
    is ``fit`` itself. Call :func:`~layerkit.distributed.broadcast_params`
    before, so that every rank starts from the same parameters.

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
    world = None
    if distributed:
        # lazy: importing layerkit.distributed registers its exit hook; only distributed fits
        from ..distributed.world import abort_on_error, get_world
        world = get_world()
        if world.rank != 0:
            verbose = 0
        if world.size > 1:
            with abort_on_error():
                return _fit(train_fn, arrays, epochs, batch_size, shuffle, rng, validation_data,
                            validation_fn, names, validation_names, callbacks, verbose, file,
                            unit, world)
    return _fit(train_fn, arrays, epochs, batch_size, shuffle, rng, validation_data,
                validation_fn, names, validation_names, callbacks, verbose, file, unit, world)


def _fit(train_fn, arrays, epochs, batch_size, shuffle, rng, validation_data, validation_fn,
         names, validation_names, callbacks, verbose, file, unit, world):
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
            if world is None:
                batches = ((None, b) for b in iterate_minibatches(
                    *arrays, batch_size=batch_size, shuffle=shuffle, rng=rng))
            else:
                batches = _sharded_batches(arrays, batch_size, shuffle, rng, world)
            for i, (seen, batch) in enumerate(batches):
                size = len(batch[0])
                values = _values(train_fn(*batch), names, "train_fn")
                totals += size * np.asarray(values)
                count += size
                progress.batch(size if seen is None else seen,
                               dict(zip(names, (totals / count).tolist())))
                if callbacks:
                    logs = dict(zip(names, values), size=size)
                    for cb in callbacks:
                        cb.on_batch_end(i, logs)
            if world is not None:
                totals, count = _sum_over_ranks(world, totals, count, "the training metrics")
            logs = dict(zip(names, (totals / count).tolist()))
            if validation_fn is not None:
                logs.update(_evaluate(validation_fn, validation_data, batch_size,
                                      validation_names, world))
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
