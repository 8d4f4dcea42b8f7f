"""Property tests: ``T.nnet.conv2d`` and ``pool_2d`` on random shapes, strides,
paddings, dilations and memory layouts, against references written here in
float64 (``scipy.signal.correlate`` per channel for convolution, plain Python
loops over the windows for pooling), and their gradients against finite
differences. The example count comes from the profile in ``conftest.py``."""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
signal = pytest.importorskip("scipy.signal")
from hypothesis import example, given, settings, strategies as st  # noqa: E402

import layerkit.core as theano  # noqa: E402
import layerkit.core.tensor as T  # noqa: E402
from layerkit.core.tensor.signal.pool import pool_2d  # noqa: E402
from layerkit.testing import verify_grad  # noqa: E402


def examples(factor: float) -> int:
    """``factor`` times the example count of the profile loaded by conftest.py: cheap
    checks (a forward pass) run more examples than finite differences do."""
    return max(1, int(factor * settings.default.max_examples))

POOL_MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


# -- references -------------------------------------------------------------------

def ref_conv2d(x, w, stride, pad, dilation, flip):
    """Theano's conv2d: correlate each (sample, out channel) with scipy, summed over the
    input channels, on the zero-padded input with the dilated (and flipped) filter."""
    if flip:
        w = w[:, :, ::-1, ::-1]
    o, c, kh, kw = w.shape
    dil = np.zeros((o, c, (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1))
    dil[:, :, ::dilation[0], ::dilation[1]] = w
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    out = np.array([[sum(signal.correlate(xp[i, k], dil[j, k], mode="valid") for k in range(c))
                     for j in range(o)] for i in range(x.shape[0])])
    return out[:, :, ::stride[0], ::stride[1]]


def ref_windows(n, ws, s, p, ignore_border):
    """(start, stop) of each window along one axis, clipped to the real cells, and the
    window's size counted in the padded input (for average_inc_pad)."""
    if ignore_border:
        count = max(0, (n + 2 * p - ws) // s + 1)
    elif s >= ws:                      # Theano's Pool.out_shape
        count = (n - 1) // s + 1
    else:
        count = max(0, (n - 1 - ws + s) // s) + 1
    out = []
    for i in range(count):
        lo, hi = i * s - p, i * s - p + ws
        inc = ws if ignore_border else min(hi, n) - lo    # a cut window counts its cut size
        out.append((max(lo, 0), min(hi, n), inc))
    return out


def ref_pool2d(x, ws, stride, pad, mode, ignore_border):
    rows = ref_windows(x.shape[2], ws[0], stride[0], pad[0], ignore_border)
    cols = ref_windows(x.shape[3], ws[1], stride[1], pad[1], ignore_border)
    out = np.zeros(x.shape[:2] + (len(rows), len(cols)))
    for a in range(x.shape[0]):
        for b in range(x.shape[1]):
            for i, (r0, r1, rinc) in enumerate(rows):
                for j, (c0, c1, cinc) in enumerate(cols):
                    cells = [x[a, b, r, c] for r in range(r0, r1) for c in range(c0, c1)]
                    if mode == "max":
                        out[a, b, i, j] = max(cells)
                    elif mode == "sum":
                        out[a, b, i, j] = sum(cells)
                    elif mode == "average_inc_pad":
                        out[a, b, i, j] = sum(cells) / (rinc * cinc)
                    else:
                        out[a, b, i, j] = sum(cells) / len(cells)
    return out


# -- strategies ---------------------------------------------------------------------

pairs = st.tuples

@st.composite
def conv_cases(draw, small=False):
    """``small``: fewer elements, for finite differences (two calls per element)."""
    most = 2 if small else 3
    n, c, o = draw(st.integers(1, most - 1)), draw(st.integers(1, most)), draw(st.integers(1, most))
    k = draw(pairs(st.integers(1, 4), st.integers(1, 4)))
    dilation = draw(pairs(st.integers(1, 2), st.integers(1, 2)))
    stride = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    border = draw(st.sampled_from(["valid", "full", "half", "int", "pair"]))
    span = tuple((k[i] - 1) * dilation[i] + 1 for i in range(2))
    if border == "int":
        border = draw(st.integers(0, 3))
        pad = (border, border)
    elif border == "pair":
        border = draw(pairs(st.integers(0, 3), st.integers(0, 3)))
        pad = border
    else:
        pad = {"valid": (0, 0), "full": tuple(s - 1 for s in span),
               "half": tuple(s // 2 for s in span)}[border]      # Theano's: dilated span // 2
    # at least one output row and column
    extra = 3 if small else 5
    hw = tuple(draw(st.integers(max(1, span[i] - 2 * pad[i]), max(1, span[i] - 2 * pad[i]) + extra))
               for i in range(2))
    return dict(x=(n, c) + hw, w=(o, c) + k, border=border, pad=pad, stride=stride,
                dilation=dilation, flip=draw(st.booleans()),
                layout=draw(st.sampled_from(["contiguous", "strided", "fortran"])))


@st.composite
def pool_cases(draw):
    ws = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    stride = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    ignore_border = draw(st.booleans())
    pad = (0, 0)
    if ignore_border:
        pad = (draw(st.integers(0, ws[0] - 1)), draw(st.integers(0, ws[1] - 1)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
             draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    return dict(shape=shape, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border,
                mode=draw(st.sampled_from(POOL_MODES)),
                layout=draw(st.sampled_from(["contiguous", "strided", "fortran"])))


def _laid_out(a, layout):
    """The same values as ``a`` with other memory strides."""
    if layout == "strided":            # every other element of a larger array
        big = np.zeros(tuple(2 * s for s in a.shape))
        big[::2, ::2, ::2, ::2] = a
        return big[::2, ::2, ::2, ::2]
    if layout == "fortran":
        return np.asfortranarray(a)
    return a


def _conv(case):
    return lambda a, b: T.nnet.conv2d(a, b, border_mode=case["border"], subsample=case["stride"],
                                      filter_dilation=case["dilation"], filter_flip=case["flip"])


def _pool(case):
    return lambda a: pool_2d(a, ws=case["ws"], stride=case["stride"], pad=case["pad"],
                             mode=case["mode"], ignore_border=case["ignore_border"])


# -- tests --------------------------------------------------------------------------

# corners that random draws reach only now and then, always run
CONV_CORNERS = [
    dict(x=(1, 2, 6, 5), w=(2, 2, 3, 2), border="half", pad=(2, 1), stride=(1, 1),
         dilation=(2, 1), flip=True, layout="contiguous"),
    dict(x=(2, 1, 7, 9), w=(3, 1, 2, 3), border="full", pad=(2, 4), stride=(2, 3),
         dilation=(2, 2), flip=False, layout="strided"),
    dict(x=(1, 3, 4, 4), w=(2, 3, 4, 4), border=(3, 1), pad=(3, 1), stride=(3, 1),
         dilation=(1, 1), flip=True, layout="fortran"),
]
POOL_CORNERS = [
    dict(shape=(1, 2, 5, 4), ws=(3, 2), stride=(2, 1), pad=(1, 1), ignore_border=True,
         mode="average_exc_pad", layout="contiguous"),
    dict(shape=(2, 1, 5, 7), ws=(3, 3), stride=(2, 2), pad=(0, 0), ignore_border=False,
         mode="average_inc_pad", layout="strided"),
    dict(shape=(1, 1, 7, 6), ws=(3, 2), stride=(1, 3), pad=(2, 0), ignore_border=True,
         mode="max", layout="fortran"),
    dict(shape=(1, 1, 4, 5), ws=(2, 3), stride=(3, 2), pad=(0, 0), ignore_border=False,
         mode="sum", layout="contiguous"),
]


def _corners(cases, small=False):
    """``@example`` decorators for the corner cases."""
    def decorate(test):
        for case in cases:
            if small and np.prod(case.get("x", (1,))) > 60:
                continue
            test = example(case=case, seed=1)(test)
        return test
    return decorate


@settings(max_examples=examples(5))
@given(case=conv_cases(), seed=st.integers(0, 2**31 - 1))
@_corners(CONV_CORNERS)
def test_conv2d_random_cases_match_scipy(case, seed, backend):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=case["x"]), rng.normal(size=case["w"])
    X, W = T.dtensor4("x"), T.dtensor4("w")
    f = theano.function([X, W], _conv(case)(X, W), backend=backend.name)
    got = f(_laid_out(x, case["layout"]), _laid_out(w, case["layout"]))
    want = ref_conv2d(x, w, case["stride"], case["pad"], case["dilation"], case["flip"])
    assert got.shape == want.shape, case
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=str(case))


@given(case=conv_cases(small=True), seed=st.integers(0, 2**31 - 1))
@_corners(CONV_CORNERS, small=True)
def test_conv2d_random_cases_gradients_match_finite_differences(case, seed, backend):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=case["x"]), rng.normal(size=case["w"])
    verify_grad(_conv(case), [x, w], n_tests=1, rng=rng, backend=backend.name)


@settings(max_examples=examples(5))
@given(case=pool_cases(), seed=st.integers(0, 2**31 - 1))
@_corners(POOL_CORNERS)
def test_pool_random_cases_match_python_loops(case, seed, backend):
    rng = np.random.default_rng(seed)
    # integer values make ties in max windows common
    x = rng.integers(-3, 4, size=case["shape"]).astype("float64")
    X = T.dtensor4("x")
    got = theano.function([X], _pool(case)(X), backend=backend.name)(_laid_out(x, case["layout"]))
    want = ref_pool2d(x, case["ws"], case["stride"], case["pad"], case["mode"],
                      case["ignore_border"])
    assert got.shape == want.shape, case
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=str(case))


@settings(max_examples=examples(2))
@given(case=pool_cases(), seed=st.integers(0, 2**31 - 1))
@_corners(POOL_CORNERS)
def test_pool_random_cases_gradients_match_finite_differences(case, seed, backend):
    rng = np.random.default_rng(seed)
    # distinct values, spaced far more than the finite-difference step, so that no max
    # window has a tie that the step would break
    size = int(np.prod(case["shape"]))
    x = (rng.permutation(size) * 0.1 + rng.uniform(0, 0.01, size)).reshape(case["shape"])
    verify_grad(_pool(case), [x], n_tests=1, rng=rng, backend=backend.name)
