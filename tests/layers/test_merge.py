"""Merge layers: ConcatLayer, ElemwiseSumLayer, ElemwiseMergeLayer and autocrop: output
shapes, values against numpy in float64, one training step through them on every backend."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init
from layerkit.layers import (BiasLayer, ConcatLayer, DenseLayer, ElemwiseMergeLayer,
                             ElemwiseSumLayer, InputLayer, autocrop, autocrop_array_shapes, concat,
                             count_params, get_output)


def _two_inputs(shape_a, shape_b):
    return InputLayer(shape_a, name="a"), InputLayer(shape_b, name="b")


def _compile(layer, inputs, backend):
    return theano.function([l.input_var for l in inputs], get_output(layer),
                           backend=backend.name)


# -- shapes ----------------------------------------------------------------------

@pytest.mark.parametrize("shape_a, shape_b, axis, expected", [
    ((None, 3, 4), (None, 5, 4), 1, (None, 8, 4)),
    ((2, 3, 4), (2, 3, 6), -1, (2, 3, 10)),
    ((None, 3, 4), (7, 3, 4), 0, (None, 3, 4)),
    ((None, 3, None), (None, 2, 6), 1, (None, 5, 6)),
])
def test_concat_shapes(shape_a, shape_b, axis, expected):
    a, b = _two_inputs(shape_a, shape_b)
    layer = ConcatLayer([a, b], axis=axis)
    assert layer.output_shape == expected
    assert count_params(layer) == 0
    assert concat is ConcatLayer


def test_concat_mismatch_is_refused():
    a, b = _two_inputs((None, 3, 4), (None, 5, 6))
    with pytest.raises(ValueError, match="except in the concatenation axis"):
        ConcatLayer([a, b], axis=1)
    with pytest.raises(ValueError, match="different ranks"):
        ConcatLayer([a, InputLayer((None, 3))])


def test_concat_cropping_never_crops_the_concatenation_axis():
    a, b = _two_inputs((None, 3, 10, 10), (None, 5, 8, 9))
    layer = ConcatLayer([a, b], cropping=["lower", "center", "center", "upper"])
    assert layer.cropping == ["lower", None, "center", "upper"]
    assert layer.output_shape == (None, 8, 8, 9)
    with pytest.raises(ValueError, match="unknown crop mode 'middle'"):
        ConcatLayer([a, b], cropping=[None, None, "middle"])


@pytest.mark.parametrize("coeffs", [1, [0.5, -2.0]])
def test_elemwise_sum_shapes(coeffs):
    a, b = _two_inputs((None, 3, 4), (2, None, 4))
    layer = ElemwiseSumLayer([a, b], coeffs=coeffs)
    assert layer.output_shape == (2, 3, 4)
    assert count_params(layer) == 0


def test_elemwise_merge_mismatch_is_refused():
    a, b = _two_inputs((None, 3, 4), (None, 3, 5))
    with pytest.raises(ValueError, match="not all input shapes are the same"):
        ElemwiseSumLayer([a, b])
    with pytest.raises(ValueError, match="different numbers of dimensions"):
        ElemwiseMergeLayer([a, InputLayer((None, 3))], T.mul)
    with pytest.raises(ValueError, match="2 coeffs for 3 input layers"):
        ElemwiseSumLayer([a, a, a], coeffs=[1, 2])


def test_autocrop_array_shapes():
    shapes = [(1, 2, 3, 4), (5, 6, 7, 8), (5, 4, None, 2)]
    assert autocrop_array_shapes(shapes, [None, "lower", "center", "upper"]) == \
        [(1, 2, None, 2), (5, 2, None, 2), (5, 2, None, 2)]
    assert autocrop_array_shapes(shapes, None) == shapes


# -- values ------------------------------------------------------------------------

def test_concat_values(backend, float64):
    rng = np.random.RandomState(0)
    xa, xb = rng.randn(2, 3, 4), rng.randn(2, 2, 4)
    a, b = _two_inputs((None, 3, 4), (None, 2, 4))
    out = _compile(ConcatLayer([a, b]), [a, b], backend)(xa, xb)
    np.testing.assert_array_equal(out, np.concatenate([xa, xb], axis=1))


@pytest.mark.parametrize("mode", ["lower", "center", "upper"])
def test_concat_with_cropping_values(mode, backend, float64):
    rng = np.random.RandomState(1)
    xa, xb = rng.randn(2, 3, 7, 4), rng.randn(2, 2, 4, 6)
    a, b = _two_inputs((None, 3, 7, 4), (None, 2, 4, 6))
    layer = ConcatLayer([a, b], cropping=[None, None, mode, mode])
    assert layer.output_shape == (None, 5, 4, 4)

    def crop(x, size, axis):     # written out per mode, independently of autocrop
        n = x.shape[axis]
        start = {"lower": 0, "upper": n - size, "center": (n - size) // 2}[mode]
        return np.take(x, np.arange(start, start + size), axis=axis)
    ref = np.concatenate([crop(crop(xa, 4, 2), 4, 3), crop(crop(xb, 4, 2), 4, 3)], axis=1)
    np.testing.assert_array_equal(_compile(layer, [a, b], backend)(xa, xb), ref)


def test_autocrop_of_expressions_with_unknown_sizes(backend, float64):
    x, y = T.tensor3("x"), T.tensor3("y")
    cx, cy = autocrop([x, y], [None, "center", "upper"])
    f = theano.function([x, y], [cx, cy], backend=backend.name)
    xa, xb = np.arange(2 * 5 * 3.0).reshape(2, 5, 3), np.arange(2 * 2 * 6.0).reshape(2, 2, 6)
    ox, oy = f(xa, xb)
    np.testing.assert_array_equal(ox, xa[:, 1:3, 0:3])
    np.testing.assert_array_equal(oy, xb[:, 0:2, 3:6])


@pytest.mark.parametrize("coeffs", [1, [0.5, -2.0, 3.0]])
def test_elemwise_sum_values(coeffs, backend, float64):
    rng = np.random.RandomState(2)
    xs = [rng.randn(2, 3) for _ in range(3)]
    ins = [InputLayer((None, 3)) for _ in range(3)]
    out = _compile(ElemwiseSumLayer(ins, coeffs=coeffs), ins, backend)(*xs)
    weights = [1, 1, 1] if coeffs == 1 else coeffs
    np.testing.assert_allclose(out, sum(w * x for w, x in zip(weights, xs)), rtol=1e-14)


@pytest.mark.parametrize("merge, reference", [
    (T.maximum, np.maximum), (T.mul, np.multiply),
], ids=["maximum", "mul"])
def test_elemwise_merge_values(merge, reference, backend, float64):
    rng = np.random.RandomState(3)
    xa, xb = rng.randn(2, 3), rng.randn(2, 3)
    a, b = _two_inputs((None, 3), (None, 3))
    out = _compile(ElemwiseMergeLayer([a, b], merge), [a, b], backend)(xa, xb)
    np.testing.assert_array_equal(out, reference(xa, xb))


def test_elemwise_sum_with_cropping(backend, float64):
    xa, xb = np.ones((2, 3, 5)), 2 * np.ones((2, 3, 3))
    a, b = _two_inputs((None, 3, 5), (None, 3, 3))
    layer = ElemwiseSumLayer([a, b], cropping=[None, None, "center"])
    assert layer.output_shape == (None, 3, 3)
    np.testing.assert_array_equal(_compile(layer, [a, b], backend)(xa, xb), 3 * np.ones((2, 3, 3)))


# -- training ----------------------------------------------------------------------

def test_merge_layers_train(backend, train_step):
    """A residual-style block: dense branches merged by sum, concatenation and product."""
    l_in = InputLayer((None, 4))
    d1 = DenseLayer(l_in, 3, b=init.Constant(0.1))
    d2 = DenseLayer(l_in, 3, nonlinearity=None)
    summed = ElemwiseSumLayer([d1, d2], coeffs=[1.0, 0.5])
    product = ElemwiseMergeLayer([summed, BiasLayer(d2, b=init.Constant(1.0))], T.mul)
    layer = ConcatLayer([product, d1])
    assert layer.output_shape == (None, 6)
    assert count_params(layer) == 2 * (4 * 3 + 3) + 3
    train_step(layer, np.random.RandomState(4).rand(5, 4).astype("float32"), backend)
