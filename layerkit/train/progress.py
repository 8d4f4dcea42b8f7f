"""How ``fit`` reports: a tqdm bar per epoch, one line per epoch, or nothing."""
from __future__ import annotations

import sys
import time

__all__ = ["make_progress", "format_logs"]


def format_logs(logs: dict) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in logs.items())


class _Silent:
    def begin_epoch(self, epoch, epochs, total): ...

    def batch(self, size, running): ...

    def end_epoch(self, logs): ...

    def close(self): ...


class _Lines(_Silent):
    """One line per epoch: its values, the time it took and the examples per second."""

    def __init__(self, file, unit):
        self.file, self.unit = file, unit

    def begin_epoch(self, epoch, epochs, total):
        self.label, self.total, self.start = f"epoch {epoch}/{epochs}", total, time.perf_counter()

    def end_epoch(self, logs):
        took = time.perf_counter() - self.start
        rate = f", {self.total / took:.0f} {self.unit}/s" if took > 0 else ""
        print(f"{self.label}  {format_logs(logs)}  ({took:.1f} s{rate})", file=self.file,
              flush=True)


class _Bar(_Silent):
    """A tqdm bar per epoch: examples done, speed, the running loss; the epoch's values at its end."""

    def __init__(self, tqdm, file, unit):
        self.tqdm, self.file, self.unit, self.bar = tqdm, file, unit, None

    def begin_epoch(self, epoch, epochs, total):
        self.bar = self.tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit=self.unit,
                             file=self.file, leave=True, dynamic_ncols=True, mininterval=0.2)

    def batch(self, size, running):
        self.bar.set_postfix_str(", ".join(f"{k}={v:.4f}" for k, v in running.items()),
                                 refresh=False)
        self.bar.update(size)

    def end_epoch(self, logs):
        self.bar.set_postfix_str(", ".join(f"{k}={v:.4f}" for k, v in logs.items()),
                                 refresh=False)
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def make_progress(verbose, file=None, unit="ex"):
    """0: silent; 1: a tqdm bar per epoch (one line per epoch without tqdm); 2: lines."""
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"fit: verbose must be 0 (silent), 1 (progress bar) or 2 (one line "
                         f"per epoch), got {verbose!r}")
    file = file or sys.stdout
    if not verbose:
        return _Silent()
    if verbose == 1:
        try:  # lazy: the bar is optional, tqdm comes with layerkit[demo]
            from tqdm.auto import tqdm
        except ImportError:
            return _Lines(file, unit)
        return _Bar(tqdm, file, unit)
    return _Lines(file, unit)
