"""The numpy convolution kernels' internal strategies against the generic kernels.

``layerkit_numpy.conv`` picks a column layout by the contraction depth
(``BATCHED_MAX_K``) and works in chunks of samples or output rows
(``CHUNK_BYTES``); the kernel suite's small shapes fit one chunk. Here both
layouts are forced, with chunks from one row (or sample) to everything, and the
results compared with the generic array-API kernels in float64.
"""
import itertools

import numpy as np
import pytest

from layerkit.backend.kernels import conv as generic
from layerkit_numpy import conv as fast

CASES = [  # (N, C, H, W, O, kh, kw), stride, padding, dilation
    ((3, 2, 9, 8, 4, 3, 2), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 10, 2, 2, 3), (2, 1), (1, 2), (1, 1)),
    ((1, 1, 11, 6, 3, 3, 3), (1, 2), (2, 1), (2, 1)),
    ((4, 2, 6, 6, 2, 1, 1), (3, 3), (0, 0), (1, 1)),
    ((2, 4, 8, 9, 3, 3, 3), (2, 2), (1, 1), (1, 2)),
]


@pytest.fixture(params=list(itertools.product(["batched", "channel-major"], [1, 3000, 10**9])),
                ids=lambda v: f"{v[0]}-chunk{v[1]}")
def strategy(request, monkeypatch):
    layout, chunk = request.param
    monkeypatch.setattr(fast, "BATCHED_MAX_K", 10**9 if layout == "batched" else 0)
    monkeypatch.setattr(fast, "CHUNK_BYTES", chunk)
    fast.clear_buffers()
    yield request.param
    fast.clear_buffers()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_conv_strategies_match_the_generic_kernels(strategy, case):
    (n, c, h, w, o, kh, kw), stride, padding, dilation = CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal((n, c, h, w))
    f = rng.standard_normal((o, c, kh, kw))[:, :, ::-1, ::-1]      # a negative-stride view
    p = dict(stride=stride, padding=padding, dilation=dilation)
    y = fast.conv2d(x, f, **p)
    np.testing.assert_allclose(y, generic.conv2d(x, f, **p), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(fast.conv2d_grad_input(gy, f, x.shape, **p),
                               generic.conv2d_grad_input(gy, f, x.shape, **p),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.conv2d_grad_weight(x, gy, f.shape, **p),
                               generic.conv2d_grad_weight(x, gy, f.shape, **p),
                               rtol=1e-12, atol=1e-12)


def test_chunks_cover_every_row_once(strategy):
    plan = fast._Plan((3, 2, 9, 8), (4, 2, 3, 2), (1, 1), (0, 0), (1, 1))
    chunks = plan.chunks(8)
    total = plan.n if plan.batched else plan.oh
    assert chunks[0][0] == 0 and chunks[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
