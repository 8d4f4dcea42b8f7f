"""What ``fit`` calls back: the ``History`` it returns, ``Callback``, ``EarlyStopping``."""
from __future__ import annotations

import math

from ..core.shared import SharedVariable

__all__ = ["History", "Callback", "LambdaCallback", "EarlyStopping"]


class History:
    """What :func:`fit` records: ``history[name]`` is the list of per-epoch values.

    ``epoch`` lists the epochs run (counted from 1). A callback stops the
    training after the current epoch by setting ``stop_training = True``.
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.stop_training = False

    def record(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)

    def __repr__(self) -> str:
        return f"<History: {len(self.epoch)} epochs of {', '.join(self.history) or 'nothing'}>"


class Callback:
    """Base class of callbacks: override the methods you need.

    Epochs are counted from 1; ``logs`` maps each name of :func:`fit` to its
    value (the epoch's mean for training values, the mean over the
    validation data for validation values). ``self.history`` is the run's
    :class:`History`, set before ``on_train_begin``.
    """

    history: History | None = None

    def on_train_begin(self, logs: dict) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict) -> None: ...

    def on_batch_end(self, batch: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, logs: dict) -> None: ...


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **functions) -> None:
        known = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end",
                 "on_train_end")
        for name, fn in functions.items():
            if name not in known:
                raise TypeError(f"LambdaCallback: unknown event {name!r}; the events are "
                                f"{', '.join(known)}")
            setattr(self, name, fn)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    ``mode`` is ``"min"``, ``"max"`` or ``"auto"`` (``max`` when the name
    contains ``acc``, else ``min``); an improvement must exceed
    ``min_delta``. With ``restore_best`` (a layer, a list of layers or a list
    of shared variables) the values those parameters had at the best epoch
    are put back when training ends. After the run, ``best``,
    ``best_epoch`` and ``stopped_epoch`` (None when it ran to the end) tell
    what happened.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best=None) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError(f"EarlyStopping: patience and min_delta must be >= 0, got "
                             f"patience={patience!r}, min_delta={min_delta!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.params = None if restore_best is None else _shared_vars(restore_best)
        self.best = self.best_epoch = self.stopped_epoch = None
        self._best_values = None
        self.wait = 0

    def on_train_begin(self, logs):
        self.best = self.best_epoch = self.stopped_epoch = None
        self._best_values = None
        self.wait = 0

    def _improves(self, value) -> bool:
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, but fit records "
                             f"{', '.join(map(repr, logs))} (validation values need "
                             f"validation_data and validation_fn)")
        value = float(logs[self.monitor])
        if self._improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.params is not None:
                self._best_values = [p.get_value() for p in self.params]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.history.stop_training = True

    def on_train_end(self, logs):
        last = self.history.epoch[-1] if self.history and self.history.epoch else None
        if self._best_values is not None and self.best_epoch != last:
            for p, v in zip(self.params, self._best_values):
                p.set_value(v)


def _shared_vars(spec):
    # lazy: fit runs over compiled functions alone (see layerkit.train); layerkit.layers
    # (~20 ms on top of the core) loads only for restore_best
    from ..layers import Layer, get_all_params
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    if items and all(isinstance(i, Layer) for i in items):
        return get_all_params(list(items))
    if items and all(isinstance(i, SharedVariable) for i in items):
        return list(items)
    raise TypeError(f"EarlyStopping: restore_best takes a layer, a list of layers or a list of "
                    f"shared variables, got {type(spec).__name__}")
