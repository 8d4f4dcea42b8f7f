"""The demo's learning curve, drawn with matplotlib's Agg canvas (no display needed)."""
from __future__ import annotations

from layerkit.params import atomic_write

__all__ = ["save_learning_curve"]


def save_learning_curve(history, path, title="layerkit demo") -> None:
    """Loss (training and validation) and accuracy per epoch, side by side, as a PNG.

    Written as parameter files are (:func:`layerkit.params.atomic_write`):
    through symbolic links, atomically, never into a FIFO or a device.
    """
    # lazy: matplotlib is the demo extra; main names it when missing, before any work
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, epochs = history.history, history.epoch
    fig = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for name, label in (("loss", "training batches"), ("val_loss", "validation")):
        if name in h:
            loss_ax.plot(epochs, h[name], marker="o", markersize=3, label=label)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="loss", yscale="log")
    for name, label in (("acc", "training batches"), ("val_acc", "validation")):
        if name in h:
            acc_ax.plot(epochs, [100 * v for v in h[name]], marker="o", markersize=3, label=label)
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
        if len(epochs) < 12:
            ax.set_xticks(epochs)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png"), "save_learning_curve")
