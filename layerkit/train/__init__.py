"""An optional Keras-like ``fit`` over compiled functions (Lasagne users keep their loop).

You compile the functions as usual — a training step returning the loss
(and any metrics), and optionally a deterministic evaluation function — and
``fit`` runs the epochs: minibatches, shuffling, validation after each
epoch, a progress bar (tqdm, when installed), callbacks and early stopping.

>>> import numpy as np
>>> import layerkit.core as theano, layerkit.core.tensor as T
>>> x, y = T.vector("x"), T.vector("y")
>>> w = theano.shared(np.float32(0.0), name="w")
>>> loss = T.mean((w * x - y) ** 2)
>>> step = theano.function([x, y], loss, updates=[(w, w - 0.1 * T.grad(loss, w))])
>>> xs = np.linspace(-1, 1, 64).astype("float32")
>>> history = fit(step, (xs, 3 * xs), epochs=30, batch_size=16, verbose=0,
...               rng=np.random.RandomState(0))
>>> round(float(w.get_value()), 2), len(history.history["loss"])
(3.0, 30)
"""
from .batches import iterate_minibatches
from .callbacks import Callback, EarlyStopping, History, LambdaCallback
from .loop import fit

__all__ = ["fit", "iterate_minibatches", "Callback", "EarlyStopping", "History",
           "LambdaCallback"]
