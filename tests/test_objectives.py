"""Objectives against plain numpy float64 references."""
import warnings

import numpy as np
import pytest
import scipy.special

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import objectives as obj

RNG = np.random.RandomState(42)
P = scipy.special.softmax(RNG.randn(5, 4), axis=1)       # probabilities, 5 examples x 4 classes
LABELS = np.array([0, 3, 1, 1, 2], dtype="int32")
ONE_HOT = np.eye(4)[LABELS]
PB = scipy.special.expit(RNG.randn(5, 3))                 # binary probabilities
TB = (RNG.rand(5, 3) > 0.5).astype("float64")


def run(backend, inputs, output, *values):
    return theano.function(inputs, output, backend=backend.name)(*values)


def test_categorical_crossentropy_with_labels_and_one_hot(backend):
    p, t, oh = T.dmatrix("p"), T.ivector("t"), T.dmatrix("oh")
    expected = -np.log(P[np.arange(5), LABELS])
    np.testing.assert_allclose(run(backend, [p, t], obj.categorical_crossentropy(p, t), P, LABELS),
                               expected, rtol=1e-12)
    soft = scipy.special.softmax(RNG.randn(5, 4), axis=1)
    np.testing.assert_allclose(run(backend, [p, oh], obj.categorical_crossentropy(p, oh), P, soft),
                               -(soft * np.log(P)).sum(axis=1), rtol=1e-12)


def test_binary_crossentropy(backend):
    p, t = T.dmatrix("p"), T.dmatrix("t")
    expected = -(TB * np.log(PB) + (1 - TB) * np.log(1 - PB))
    np.testing.assert_allclose(run(backend, [p, t], obj.binary_crossentropy(p, t), PB, TB),
                               expected, rtol=1e-12)


def test_squared_error(backend):
    a, b = T.dmatrix("a"), T.dmatrix("b")
    np.testing.assert_allclose(run(backend, [a, b], obj.squared_error(a, b), PB, TB),
                               (PB - TB) ** 2, rtol=1e-12)


def test_single_column_predictions_align_with_vector_targets(backend):
    # a one-unit DenseLayer gives (n, 1) predictions: the loss stays (n, 1), not (n, n)
    column = T.TensorType("float64", broadcastable=(False, True))("p")
    t = T.dvector("t")
    for loss, ref in [(obj.squared_error, lambda p, t: (p - t) ** 2),
                      (obj.binary_crossentropy,
                       lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p)))]:
        out = run(backend, [column, t], loss(column, t), PB[:, :1], TB[:, 0])
        assert out.shape == (5, 1)
        np.testing.assert_allclose(out, ref(PB[:, :1], TB[:, :1]), rtol=1e-12)


@pytest.mark.parametrize("log_odds, binary", [(True, True), (False, True), (True, False)])
def test_binary_hinge_loss(log_odds, binary, backend):
    p, t = T.dmatrix("p"), T.dmatrix("t")
    preds = PB if not log_odds else RNG.randn(5, 3)
    targets = TB if binary else 2 * TB - 1
    scores = np.log(preds / (1 - preds)) if not log_odds else preds
    expected = np.maximum(0, 1 - scores * (2 * TB - 1))
    out = run(backend, [p, t], obj.binary_hinge_loss(p, t, log_odds=log_odds, binary=binary),
              preds, targets)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


def test_binary_hinge_loss_default_warns_and_takes_log_odds():
    p, t = T.dmatrix("p"), T.dmatrix("t")
    with pytest.warns(FutureWarning, match="log_odds"):
        loss = obj.binary_hinge_loss(p, t, delta=0.5)
    scores = RNG.randn(5, 3)
    out = theano.function([p, t], loss)(scores, TB)
    np.testing.assert_allclose(out, np.maximum(0, 0.5 - scores * (2 * TB - 1)))


def _multiclass_hinge_reference(pred, labels, delta=1.0):
    n = len(labels)
    correct = pred[np.arange(n), labels]
    masked = pred.copy()
    masked[np.arange(n), labels] = -np.inf
    return np.maximum(0, masked.max(axis=1) - correct + delta)


def test_multiclass_hinge_loss(backend):
    p, t, oh = T.dmatrix("p"), T.ivector("t"), T.dmatrix("oh")
    scores = RNG.randn(5, 4)
    expected = _multiclass_hinge_reference(scores, LABELS, 0.5)
    np.testing.assert_allclose(
        run(backend, [p, t], obj.multiclass_hinge_loss(p, t, delta=0.5), scores, LABELS),
        expected, rtol=1e-12)
    np.testing.assert_allclose(
        run(backend, [p, oh], obj.multiclass_hinge_loss(p, oh, delta=0.5), scores, ONE_HOT),
        expected, rtol=1e-12)
    with pytest.raises(TypeError, match="rank mismatch"):
        obj.multiclass_hinge_loss(p, T.dtensor3())


def test_multiclass_hinge_loss_gradient(backend):
    p, t = T.dmatrix("p"), T.ivector("t")
    scores = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = np.array([0, 2], dtype="int32")
    g = run(backend, [p, t], T.grad(obj.multiclass_hinge_loss(p, t).sum(), p), scores, labels)
    # row 0: loss 2 - 1 + 1 > 0, so +1 on the best wrong class, -1 on the target
    # row 1: loss -1 - 3 + 1 < 0, no gradient
    np.testing.assert_array_equal(g, [[-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def test_binary_accuracy(backend):
    p, t = T.dmatrix("p"), T.dmatrix("t")
    out = run(backend, [p, t], obj.binary_accuracy(p, t), PB, TB)
    np.testing.assert_array_equal(out, (PB >= 0.5) == TB)
    out = run(backend, [p, t], obj.binary_accuracy(p, t, threshold=0.7), PB, TB)
    np.testing.assert_array_equal(out, (PB >= 0.7) == TB)


def _top_k_reference(pred, labels, k):
    order = np.argsort(-pred, axis=-1)[..., :k]
    return (order == labels[..., None]).any(axis=-1)


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_categorical_accuracy(top_k, backend):
    p, t, oh = T.dmatrix("p"), T.ivector("t"), T.dmatrix("oh")
    expected = _top_k_reference(P, LABELS, top_k)
    assert 0 < expected.sum() < 5 or top_k == 3
    out = run(backend, [p, t], obj.categorical_accuracy(p, t, top_k=top_k), P, LABELS)
    np.testing.assert_array_equal(out, expected)
    out = run(backend, [p, oh], obj.categorical_accuracy(p, oh, top_k=top_k), P, ONE_HOT)
    np.testing.assert_array_equal(out, expected)


def test_categorical_accuracy_of_3d_predictions(backend):
    p, t = T.dtensor3("p"), T.imatrix("t")
    pred = RNG.rand(2, 3, 5)
    labels = RNG.randint(0, 5, size=(2, 3)).astype("int32")
    for k in (1, 2):
        out = run(backend, [p, t], obj.categorical_accuracy(p, t, top_k=k), pred, labels)
        np.testing.assert_array_equal(out, _top_k_reference(pred, labels, k))


def test_categorical_accuracy_rank_mismatch():
    with pytest.raises(TypeError, match="rank mismatch"):
        obj.categorical_accuracy(T.dmatrix(), T.itensor3())


@pytest.mark.parametrize("mode", ["mean", "sum", "normalized_sum"])
def test_aggregate(mode, backend):
    loss, w = T.dmatrix("loss"), T.dmatrix("w")
    values, weights = RNG.rand(4, 3), RNG.rand(4, 3)
    expected = {"mean": (values * weights).mean(), "sum": (values * weights).sum(),
                "normalized_sum": (values * weights).sum() / weights.sum()}[mode]
    out = run(backend, [loss, w], obj.aggregate(loss, w, mode=mode), values, weights)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    if mode != "normalized_sum":
        unweighted = run(backend, [loss], obj.aggregate(loss, mode=mode), values)
        np.testing.assert_allclose(unweighted, getattr(values, mode)(), rtol=1e-12)


def test_aggregate_default_is_mean_and_errors():
    loss = T.dvector("loss")
    f = theano.function([loss], obj.aggregate(loss))
    assert float(f([1.0, 2.0, 6.0])) == 3.0
    with pytest.raises(ValueError, match="requires weights"):
        obj.aggregate(loss, mode="normalized_sum")
    with pytest.raises(ValueError,
                       match="mode must be 'mean', 'sum' or 'normalized_sum', got 'avg'"):
        obj.aggregate(loss, mode="avg")


def test_losses_accept_numpy_targets():
    p = T.dmatrix("p")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = obj.aggregate(obj.squared_error(p, TB))
    np.testing.assert_allclose(theano.function([p], loss)(PB), ((PB - TB) ** 2).mean())
