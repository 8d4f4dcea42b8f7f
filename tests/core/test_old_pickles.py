"""A compiled function pickled by an earlier layerkit still loads and computes
the right numbers (issue 17 moved modules: pooling from ``ops/conv.py`` to
``ops/pool.py``, builders out of ``tensor/basic.py``; the old class paths stay
importable for pickles like this one).

``data/function_before_issue17.pkl`` was written at commit da20bac by
``pickle.dump({"function": f, "W": W0, "x": x, ...})`` for
``f = function([x], sigmoid(max_pool_2d(conv2d(x, W), (2, 2), ignore_border=True)))``.
Unpickling runs code: the file is part of this repository, made by us.
"""
import pickle
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "function_before_issue17.pkl"


def _reference(x, w):
    """conv2d (Theano's: the filters flipped), 2x2 max-pool, sigmoid, in float64 loops."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    flipped = w[:, :, ::-1, ::-1]
    conv = np.zeros((n, o, h - kh + 1, wd - kw + 1))
    for i in range(conv.shape[2]):
        for j in range(conv.shape[3]):
            patch = x[:, :, i:i + kh, j:j + kw]
            conv[:, :, i, j] = np.einsum("nchw,ochw->no", patch, flipped)
    ph, pw = conv.shape[2] // 2, conv.shape[3] // 2
    pooled = conv[:, :, :2 * ph, :2 * pw].reshape(n, o, ph, 2, pw, 2).max(axis=(3, 5))
    return 1 / (1 + np.exp(-pooled))


def test_a_function_pickled_before_the_redesign_loads_and_agrees_with_numpy():
    with open(DATA, "rb") as fh:
        saved = pickle.load(fh)
    f, x, w = saved["function"], saved["x"], saved["W"]
    np.testing.assert_allclose(f(x), _reference(x, w), rtol=1e-12)
