"""Integer targets of ``categorical_crossentropy`` are checked (issue 16, item 3).

A label outside ``0 .. C-1`` (labels counted from 1, a negative label) and a
number of targets other than the number of prediction rows used to train
silently: the gradient went to a neighbouring row, or the extra rows were
dropped. They now raise, naming the label, the number of classes and the row
(``IndexError``), or both shapes (``ValueError``): in the loss, in its
gradient alone, in the stable softmax form, with and without the rewrite
passes, at build time where the labels or shapes are known, and in the
Lasagne-level objectives that take class indices.
"""
import numpy as np
import pytest
import scipy.special as sp

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import objectives
from layerkit.core import config
from layerkit.core.op import ShapeError

RNG = np.random.default_rng(3)
NO_REWRITES = "constant_folding:merge:canonicalize:specialize:fusion:inplace"
Z = RNG.standard_normal((3, 3))


@pytest.fixture(params=["rewrites", "no_rewrites"])
def rewrites(request, monkeypatch):
    if request.param == "no_rewrites":
        monkeypatch.setattr(config, "optimizer_excluding", NO_REWRITES)
    return request.param


def _graphs(form):
    """(inputs, loss, gradient w.r.t. the logits) for one way of writing the loss."""
    z, y = T.dmatrix("z"), T.lvector("y")
    if form == "softmax":           # rewritten to log_softmax at build time
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(z), y)
    elif form == "probabilities":   # a plain log of given probabilities
        loss = T.nnet.categorical_crossentropy(T.exp(z) / 3.0, y)
    else:                           # Lasagne's objective, aggregated
        loss = objectives.categorical_crossentropy(T.nnet.softmax(z), y)
    return [z, y], loss, T.grad(loss.mean(), z)


FORMS = ["softmax", "probabilities", "lasagne"]
# which outputs: the loss alone, the gradient alone (a training step), both
OUTPUTS = {"loss": lambda l, g: [l], "grad": lambda l, g: [g], "both": lambda l, g: [l, g]}


@pytest.mark.parametrize("outputs", sorted(OUTPUTS))
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("labels, bad, row", [
    ([0, 3, 1], 3, 1),       # labels 1..C: C is out of bounds (was: the next row's class 0)
    ([1, 2, 3], 3, 2),       # the last row (was: index error from the flattened gather)
    ([0, -1, 2], -1, 1),     # negative (was: the previous row's last class)
    ([2, 0, -4], -4, 2),
    ([7, 0, 0], 7, 0),
])
def test_out_of_range_label_raises_naming_label_classes_and_row(form, outputs, labels, bad, row,
                                                                backend, rewrites):
    inputs, loss, g = _graphs(form)
    f = theano.function(inputs, OUTPUTS[outputs](loss, g), backend=backend.name)
    with pytest.raises(IndexError, match=rf"target {bad} is out of bounds for 3 classes "
                                         rf"\(labels must be in 0\.\.2\), at row {row}\b"):
        f(Z, np.array(labels))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("rows, targets", [(4, 3), (3, 4), (2, 3)])
def test_row_count_mismatch_raises_naming_both_shapes(form, rows, targets, backend, rewrites):
    inputs, loss, g = _graphs(form)
    f = theano.function(inputs, [loss, g], backend=backend.name)
    with pytest.raises(ValueError, match=rf"dimension mismatch between predictions of shape "
                                         rf"\({rows}, 3\) and integer targets of shape "
                                         rf"\({targets},\)"):
        f(RNG.standard_normal((rows, 3)), np.zeros(targets, dtype="int64"))


def test_higher_rank_targets_must_match_every_leading_axis(backend):
    """(2, 3, C) predictions with (3, 2) targets: the same count, flattened alike, once
    silently paired the wrong rows."""
    p, t = T.dtensor3("p"), T.lmatrix("t")
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(p), t)
    f = theano.function([p, t], [loss, T.grad(loss.sum(), p)], backend=backend.name)
    pv = RNG.standard_normal((2, 3, 4))
    with pytest.raises(ValueError, match=r"predictions of shape \(2, 3, 4\) and integer "
                                         r"targets of shape \(3, 2\)"):
        f(pv, np.zeros((3, 2), dtype="int64"))
    with pytest.raises(IndexError, match=r"target 4 is out of bounds for 4 classes .* at "
                                         r"index \(1, 2\) of the targets"):
        f(pv, np.array([[0, 1, 2], [3, 0, 4]]))
    tv = np.array([[0, 1, 2], [3, 0, 3]])
    c, g = f(pv, tv)
    want = -sp.log_softmax(pv, axis=-1)[np.arange(2)[:, None], np.arange(3), tv]
    np.testing.assert_allclose(c, want, rtol=1e-12)
    np.testing.assert_allclose(g, sp.softmax(pv, axis=-1) - np.eye(4)[tv], rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_valid_labels_give_the_reference_loss_and_gradient(dtype, backend, rewrites):
    """Boundary labels 0 and C-1 pass; the values are -log_softmax and softmax - onehot."""
    z, y = T.dmatrix("z"), T.tensor(dtype, shape=(None,), name="y")
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(z), y)
    f = theano.function([z, y], [loss, T.grad(loss.sum(), z)], backend=backend.name)
    zv = RNG.standard_normal((4, 5)) * 3
    yv = np.array([0, 4, 4, 2], dtype=dtype)
    c, g = f(zv, yv)
    np.testing.assert_allclose(c, -sp.log_softmax(zv, axis=1)[np.arange(4), yv], rtol=1e-12)
    np.testing.assert_allclose(g, sp.softmax(zv, axis=1) - np.eye(5)[yv], rtol=1e-10, atol=1e-12)


def test_empty_batch_is_fine(backend):
    z, y = T.dmatrix("z"), T.lvector("y")
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(z), y)
    c = theano.function([z, y], loss, backend=backend.name)(np.zeros((0, 3)),
                                                            np.zeros(0, "int64"))
    assert c.shape == (0,)


def test_the_error_names_the_users_line(backend):
    z, y = T.dmatrix("z"), T.lvector("y")
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(z), y)  # the line named
    f = theano.function([z, y], loss, backend=backend.name)
    with pytest.raises(IndexError, match=r"test_crossentropy_labels\.py:\d+"):
        f(Z, np.array([1, 2, 3]))


def test_a_failed_call_does_not_poison_the_next(backend):
    z, y = T.dmatrix("z"), T.lvector("y")
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(z), y)
    f = theano.function([z, y], loss, backend=backend.name)
    with pytest.raises(IndexError):
        f(Z, np.array([1, 2, 3]))
    np.testing.assert_allclose(f(Z, np.array([0, 1, 2])),
                               -sp.log_softmax(Z, axis=1)[np.arange(3), [0, 1, 2]], rtol=1e-12)


# -- at build time, where the labels or shapes are known ------------------------------------

def test_constant_labels_are_checked_when_the_graph_is_built():
    p = T.tensor("float64", shape=(None, 3), name="p")
    with pytest.raises(IndexError, match=r"target 3 is out of bounds for 3 classes .* at row 1"):
        T.nnet.categorical_crossentropy(T.nnet.softmax(p), np.array([0, 3, 1]))
    with pytest.raises(IndexError, match=r"target -1 is negative, at row 2"):
        T.nnet.categorical_crossentropy(T.dmatrix("q"), np.array([0, 1, -1]))
    with pytest.raises(IndexError, match=r"target 5 is out of bounds for 3 classes"):
        objectives.categorical_crossentropy(p, np.array([5]))


def test_static_shapes_are_checked_when_the_graph_is_built():
    p = T.tensor("float64", shape=(4, 3), name="p")
    with pytest.raises(ShapeError, match=r"predictions of shape \(4, 3\) and integer targets "
                                         r"of shape \(3,\)"):
        T.nnet.categorical_crossentropy(p, T.tensor("int64", shape=(3,), name="t"))
    with pytest.raises(ShapeError, match=r"predictions of shape \(4, 3\) and integer targets "
                                         r"of shape \(None, None\)"):
        T.nnet.categorical_crossentropy(p, T.lmatrix("t"))
    with pytest.raises(ShapeError, match=r"predictions of shape \(4, 3\) and integer targets "
                                         r"of shape \(3,\)"):
        T.nnet.categorical_crossentropy(p, np.array([0, 1, 2]))


# -- the Lasagne objectives that take class indices -----------------------------------------

@pytest.mark.parametrize("objective", [
    objectives.categorical_crossentropy,
    lambda p, t: objectives.multiclass_hinge_loss(p, t),
    lambda p, t: objectives.categorical_accuracy(p, t),
    lambda p, t: objectives.categorical_accuracy(p, t, top_k=2),
])
def test_lasagne_objectives_with_class_indices_refuse_bad_labels(objective, backend):
    p, t = T.dmatrix("p"), T.ivector("t")
    f = theano.function([p, t], objective(p, t), backend=backend.name)
    pv = sp.softmax(RNG.standard_normal((3, 4)), axis=1)
    f(pv, np.array([0, 3, 1], dtype="int32"))             # fine
    with pytest.raises(IndexError, match=r"target 4 is out of bounds for 4 classes .* row 1"):
        f(pv, np.array([0, 4, 1], dtype="int32"))
    with pytest.raises(ValueError, match=r"predictions of shape \(3, 4\) and integer targets "
                                         r"of shape \(2,\)"):
        f(pv, np.array([0, 1], dtype="int32"))


def test_lasagne_training_step_with_labels_from_one_raises_and_updates_nothing(backend):
    """The beginner's mistake end to end: labels 1..C on a softmax layer."""
    from layerkit.layers import DenseLayer, InputLayer, get_all_params, get_output
    from layerkit.nonlinearities import softmax
    from layerkit.updates import sgd
    x, y = T.dmatrix("x"), T.ivector("y")
    net = DenseLayer(InputLayer((None, 2)), 3, nonlinearity=softmax)
    loss = objectives.categorical_crossentropy(get_output(net, x), y).mean()
    params = get_all_params(net, trainable=True)
    step = theano.function([x, y], loss, updates=sgd(loss, params, 0.1), backend=backend.name)
    before = [p.get_value().copy() for p in params]
    with pytest.raises(IndexError, match=r"target 3 is out of bounds for 3 classes"):
        step(RNG.standard_normal((4, 2)), np.array([1, 2, 3, 1], dtype="int32"))
    for b, p in zip(before, params):
        np.testing.assert_array_equal(p.get_value(), b)
    step(RNG.standard_normal((4, 2)), np.array([0, 1, 2, 0], dtype="int32"))
