"""The demo's data: scikit-learn's handwritten digits, split once and for all."""
from __future__ import annotations

import numpy as np

__all__ = ["load_digit_splits", "random_shifts", "SPLIT_SEED"]

#: the split never changes with --seed, so test accuracies of runs compare
SPLIT_SEED = 0


def load_digit_splits():
    """scikit-learn's 1797 8x8 digits as ``(X, y)`` pairs: training, validation, test.

    Images are float32 of shape ``(n, 1, 8, 8)`` scaled to [0, 1] (the raw
    pixels are 0-16), labels int32. The split is stratified and fixed: 20 %
    test (360 images), 10 % validation (180), the remaining 1257 training.
    """
    # lazy: scikit-learn is the demo extra; main names it when missing, before any work
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images / 16.0).astype("float32")[:, None, :, :]
    y = digits.target.astype("int32")
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=360, stratify=y, random_state=SPLIT_SEED)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=180, stratify=y_rest, random_state=SPLIT_SEED)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


def random_shifts(images, rng, max_shift=1):
    """``images`` (n, c, h, w), each moved by up to ``max_shift`` pixels in each direction.

    Pixels moved in from outside are 0 (the digits' background). Each image
    gets its own offsets, drawn from ``rng``: cheap data augmentation.
    """
    n, c, h, w = images.shape
    m = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    dy, dx = rng.randint(0, 2 * m + 1, size=(2, n))
    rows = (dy[:, None] + np.arange(h))[:, None, :, None]
    cols = (dx[:, None] + np.arange(w))[:, None, None, :]
    return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]
