"""Nonlinearities against scipy/numpy in float64, with finite-difference gradients."""
import numpy as np
import pytest
import scipy.special

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import nonlinearities as nl
from layerkit.testing import verify_grad

SELU_SCALE, SELU_ALPHA = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717

REFERENCES = {
    "sigmoid": (nl.sigmoid, scipy.special.expit),
    "tanh": (nl.tanh, np.tanh),
    "rectify": (nl.rectify, lambda x: np.maximum(x, 0)),
    "leaky_rectify": (nl.leaky_rectify, lambda x: np.where(x > 0, x, 0.01 * x)),
    "very_leaky_rectify": (nl.very_leaky_rectify, lambda x: np.where(x > 0, x, x / 3)),
    "LeakyRectify(0.2)": (nl.LeakyRectify(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "ScaledTanH": (nl.ScaledTanH(2 / 3, 1.7159), lambda x: 1.7159 * np.tanh(2 / 3 * x)),
    "softplus": (nl.softplus, lambda x: np.logaddexp(0, x)),
    "elu": (nl.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "selu": (nl.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))),
    "SELU(2, 3)": (nl.SELU(2, 3), lambda x: 2 * np.where(x > 0, x, 3 * np.expm1(x))),
    "linear": (nl.linear, lambda x: x),
    "softmax": (nl.softmax, lambda x: scipy.special.softmax(x, axis=1)),
}

# non-square, with zero, large and small values
X = np.array([[-30.0, -2.5, -1e-3, 0.0, 0.7, 3.0], [4.0, -0.5, 1.5, 25.0, -7.0, 0.25],
              [0.1, 0.2, -0.3, 0.4, -0.5, 0.6]])


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_against_reference(name, backend):
    fn, ref = REFERENCES[name]
    x = T.dmatrix("x")
    f = theano.function([x], fn(x) * 1, backend=backend.name)
    out = f(X)
    assert out.dtype == np.float64 and out.shape == X.shape
    np.testing.assert_allclose(out, ref(X), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(set(REFERENCES) - {"linear"}))
def test_gradients(name, backend):
    fn, _ = REFERENCES[name]
    # away from the kinks at 0, where finite differences are meaningless
    point = np.array([[-2.0, -0.3, 0.4, 1.7], [0.9, -1.1, 2.2, -0.05]])
    verify_grad(fn, [point], backend=backend.name)


def test_float32_stays_float32(backend):
    x = T.fmatrix("x")
    for name, (fn, _) in REFERENCES.items():
        assert (fn(x) * 1).dtype == "float32", name


def test_aliases():
    assert nl.identity is nl.linear
    assert nl.ScaledTanh is nl.ScaledTanH
    assert nl.leaky_rectify.leakiness == 0.01
    assert nl.very_leaky_rectify.leakiness == pytest.approx(1 / 3)
    assert (nl.selu.scale, nl.selu.scale_neg) == (SELU_SCALE, SELU_ALPHA)
    x = T.dvector()
    assert nl.linear(x) is x
