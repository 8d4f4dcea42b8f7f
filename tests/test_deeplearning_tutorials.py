"""DeepLearningTutorials-style code (logistic_sgd.py): a model object holding
its symbolic input and shared weights, ``givens`` slicing a shared dataset by
a symbolic index, ``T.log(p)[T.arange(n), y]``, and pickling the model."""
import pickle

import numpy
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T


class LogisticRegression(object):
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX),
                               name="W", borrow=True)
        self.b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX),
                               name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


def _dataset():
    rng = numpy.random.RandomState(1)
    X = rng.randn(600, 20)
    labels = numpy.argmax(X @ rng.randn(20, 3), axis=1)
    return X, labels


def test_logistic_sgd_with_givens_and_pickling(backend):
    X, labels = _dataset()
    train_set_x = theano.shared(numpy.asarray(X, dtype=theano.config.floatX), borrow=True)
    train_set_y = T.cast(theano.shared(numpy.asarray(labels, dtype=theano.config.floatX),
                                       borrow=True), "int32")
    index = T.lscalar()
    x = T.matrix("x")
    y = T.ivector("y")
    classifier = LogisticRegression(input=x, n_in=20, n_out=3)
    cost = classifier.negative_log_likelihood(y)
    g_W = T.grad(cost=cost, wrt=classifier.W)
    g_b = T.grad(cost=cost, wrt=classifier.b)
    updates = [(classifier.W, classifier.W - 0.13 * g_W),
               (classifier.b, classifier.b - 0.13 * g_b)]
    batch_size = 60
    train_model = theano.function(
        inputs=[index], outputs=cost, updates=updates, backend=backend.name,
        givens={x: train_set_x[index * batch_size: (index + 1) * batch_size],
                y: train_set_y[index * batch_size: (index + 1) * batch_size]})
    validate = theano.function([], classifier.errors(y), backend=backend.name,
                               givens={x: train_set_x, y: train_set_y})
    first = float(train_model(0))
    assert first == pytest.approx(numpy.log(3), rel=1e-5)    # zero weights: uniform
    for epoch in range(15):
        for i in range(600 // batch_size):
            c = float(train_model(i))
    assert c < first and float(validate()) < 0.08

    restored = pickle.loads(pickle.dumps(classifier))
    predict = theano.function([restored.input], restored.y_pred, backend=backend.name)
    want = numpy.argmax(X.astype(theano.config.floatX) @ classifier.W.get_value()
                        + classifier.b.get_value(), axis=1)
    numpy.testing.assert_array_equal(predict(X.astype(theano.config.floatX)), want)
