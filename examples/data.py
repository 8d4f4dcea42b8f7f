"""Local data for the examples: handwritten digits shaped like MNIST.

The tutorials in the seeds load MNIST from disk with a small ``load.py``
(``trX, teX, trY, teY = mnist(onehot=True)``) that is not part of the seeds,
and this project downloads nothing. ``mnist_like`` stands in for it: it takes
scikit-learn's bundled handwritten digits (1797 images of 8x8 pixels, values
0..16, shipped inside scikit-learn, no network), upsamples each to a 20x20
digit with ``scipy.ndimage.zoom`` and pads it with a 4-pixel border, as MNIST
centres a 20x20 digit in a 28x28 frame. Pixels are scaled to [0, 1] as
``load.mnist`` divided by 255. Images come back flattened to 784 columns,
as ``load.mnist`` returned them; a conv net reshapes them to (-1, 1, 28, 28).

The split is a fixed shuffle (``seed``) into 1347 training and 450 test
images by default (75 % / 25 %). This is about 1/45 of MNIST's training set,
so the tutorials' numbers on real MNIST are an upper reference, not a target.

``scikit-learn`` is the ``examples`` extra of layerkit
(``pip install layerkit[examples]``, or ``pip install scikit-learn``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["digits_images", "mnist_like", "one_hot"]

_CACHE: dict = {}


def one_hot(x, n):
    """Rows of ``n`` zeros with a 1 at each label of ``x`` (as load.py's one_hot)."""
    x = np.asarray(x).ravel()
    o_h = np.zeros((len(x), n))
    o_h[np.arange(len(x)), x] = 1
    return o_h


def digits_images(size=28, border=4):
    """All 1797 digits as float64 images ``(n, size, size)`` in [0, 1], and labels.

    Each 8x8 digit is zoomed (bilinear) to ``size - 2 * border`` pixels square
    and centred with ``border`` empty pixels on every side.
    """
    key = (size, border)
    if key not in _CACHE:
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("the examples' digit data needs scikit-learn: "
                              "pip install 'layerkit[examples]' (or pip install scikit-learn)"
                              ) from exc
        from scipy import ndimage

        digits = load_digits()
        inner = size - 2 * border
        if inner < 8:
            raise ValueError(f"size {size} leaves no room for the digit with border {border}")
        zoomed = ndimage.zoom(digits.images / 16.0, (1, inner / 8.0, inner / 8.0), order=1)
        zoomed = np.clip(zoomed, 0.0, 1.0)
        images = np.zeros((len(zoomed), size, size))
        images[:, border:border + inner, border:border + inner] = zoomed
        _CACHE[key] = (images, digits.target.astype("int64"))
    images, labels = _CACHE[key]
    return images.copy(), labels.copy()


def mnist_like(ntrain=1347, ntest=450, onehot=True, seed=0, size=28):
    """``trX, teX, trY, teY`` like the tutorials' ``load.mnist`` (flattened images).

    ``ntrain + ntest`` may not exceed 1797. Labels are one-hot float rows when
    ``onehot`` (as ``load.mnist(onehot=True)``), else integer class ids.
    """
    images, labels = digits_images(size)
    if ntrain + ntest > len(images):
        raise ValueError(f"ntrain + ntest = {ntrain + ntest} exceeds the {len(images)} "
                         "digits available")
    order = np.random.RandomState(seed).permutation(len(images))
    X = images[order].reshape(len(images), size * size)
    Y = labels[order]
    trX, teX = X[:ntrain], X[len(X) - ntest:]
    trY, teY = Y[:ntrain], Y[len(Y) - ntest:]
    if onehot:
        trY, teY = one_hot(trY, 10), one_hot(teY, 10)
    return trX, teX, trY, teY
