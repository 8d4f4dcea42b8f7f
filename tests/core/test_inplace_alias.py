"""In-place updates whose parameter is read early in the fused chain: the step that
reads it last writes into its storage (fusion.compose's ``alias``), and the values
stay those of a plain numpy computation."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.backend.fusion import SMALL_SIZE, FusedElemwise, compose

# numpy's floating-point warnings stay warnings here (pytest's configuration makes
# them errors), so that compiled functions take their in-place path: with errors
# raised, the linker runs the program that writes no shared storage (decision D47)
pytestmark = pytest.mark.filterwarnings("default::RuntimeWarning")


def test_rmsprop_accumulator_updated_in_place_matches_numpy(backend):
    rng = np.random.default_rng(0)
    x = T.dmatrix("x")
    w0 = rng.standard_normal((4, 3))
    w = theano.shared(w0.copy(), name="w")
    acc = theano.shared(np.zeros((4, 3)), name="acc")
    cost = T.sum(T.tanh(T.dot(x, w)) ** 2)
    g = T.grad(cost, w)
    new_acc = 0.9 * acc + 0.1 * g ** 2
    step = theano.function([x], cost, backend=backend.name,
                           updates=[(acc, new_acc), (w, w - 0.01 * g / T.sqrt(new_acc + 1e-6))])
    storage = acc.get_value(borrow=True, return_internal_type=True)
    X = rng.standard_normal((5, 4))
    w_ref, acc_ref = w0.copy(), np.zeros((4, 3))
    for _ in range(3):
        step(X)
        h = np.tanh(X @ w_ref)
        grad = X.T @ (2 * h * (1 - h ** 2))
        acc_ref = 0.9 * acc_ref + 0.1 * grad ** 2
        w_ref = w_ref - 0.01 * grad / np.sqrt(acc_ref + 1e-6)
    np.testing.assert_allclose(acc.get_value(), acc_ref, rtol=1e-12)
    np.testing.assert_allclose(w.get_value(), w_ref, rtol=1e-12)
    if backend.supports_out("add"):               # numpy's kernels accept out=: in place
        assert acc.get_value(borrow=True, return_internal_type=True) is storage


def test_compose_with_an_alias_writes_early_into_out():
    from layerkit.backend import get_backend
    backend = get_backend("numpy")
    # value 4 = multiply(x0, x1) reads x1 (the aliased input) for the last time;
    # value 5 = add(x4, x2) is the result
    spec = FusedElemwise(inputs=("float64",) * 3,
                         steps=(("multiply", (0, 1)), ("add", (3, 2))),
                         dtypes=("float64", "float64"), reuse=(None, 3), output=4)
    fn = compose(spec, backend, alias=1)
    assert "v3 = k0(v0, v1, out=o)" in fn.source       # the first step may write out
    # small arrays take the body without temporaries' buffers; large ones write early
    for n in (3, SMALL_SIZE + 1):
        a, b, c = np.full(n, 0.9), np.arange(float(n)), np.ones(n)
        target = b                                     # out is input 1's storage
        result = fn(a, b, c, out=target)
        assert result is target
        np.testing.assert_allclose(result, 0.9 * np.arange(float(n)) + 1)
        # without out= nothing is overwritten
        b2 = np.arange(float(n))
        np.testing.assert_allclose(fn(a, b2, c), 0.9 * np.arange(float(n)) + 1)
        np.testing.assert_array_equal(b2, np.arange(float(n)))
