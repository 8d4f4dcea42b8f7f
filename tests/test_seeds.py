"""Seed 000's Theano programs (Tomasz Golan's "Introduction to Theano"; see
examples/README.md), run with only an old script's import edits, reach the seed's
numbers (shortened where slow)."""
import numpy
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
import layerkit.core.tensor.nnet as nnet


@pytest.fixture
def float64():
    old = theano.config.floatX
    theano.config.floatX = "float64"   # the seeds relied on Theano's own default
    yield
    theano.config.floatX = old


def test_linear_regression(float64, backend):
    rng = numpy.random.RandomState(0)
    N, a, b, s = 100, 0.50, 0.50, 0.25
    X = (10.0 * rng.random_sample(N))
    Y = [(a * X[i] + b) + rng.normal(0, s) for i in range(N)]
    alpha = 0.01 / N
    x, y = T.vector("x"), T.vector("y")
    w = theano.shared(rng.randn(), name="w")
    b = theano.shared(rng.randn(), name="b")
    prediction = T.dot(x, w) + b
    cost = T.sum(T.pow(prediction - y, 2))
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(inputs=[x, y], outputs=cost, backend=backend.name,
                            updates=((w, w - alpha * gw), (b, b - alpha * gb)))
    costs = [train(X, Y) for _ in range(1000)]
    assert costs[-1] < costs[0]
    ref_w, ref_b = numpy.polyfit(X, Y, 1)
    assert abs(float(w.get_value()) - ref_w) < 0.02  # the seed printed 0.50 * x + 0.47


def test_logistic_regression_on_the_circle(float64, backend):
    rng = numpy.random.RandomState(1)
    N, n = 1000, 4

    def isInCircle(point):
        return int(point[0] * point[0] + point[1] * point[1] < 2 / 3.14)
    randomPoints = (2.0 * rng.random_sample((N, 2)) - 1)
    X = [[p[0], p[1], p[0] * p[0], p[1] * p[1]] for p in randomPoints]
    Y = [isInCircle(x) for x in randomPoints]
    alpha = 0.01
    x, y = T.matrix("x"), T.vector("y")
    w = theano.shared(rng.randn(n), name="w")
    b = theano.shared(rng.randn(), name="b")
    h = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = h > 0.5
    xent = - y * T.log(h) - (1 - y) * T.log(1 - h)
    cost = xent.sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(inputs=[x, y], outputs=cost, backend=backend.name,
                            updates=((w, w - alpha * gw), (b, b - alpha * gb)))
    for i in range(1000):
        train(X, Y)
    predict = theano.function(inputs=[x], outputs=prediction, backend=backend.name)
    points = (2.0 * rng.random_sample((1000, 2)) - 1)
    result = predict([[p[0], p[1], p[0] * p[0], p[1] * p[1]] for p in points])
    score = numpy.mean([result[i] == isInCircle(points[i]) for i in range(1000)])
    assert score > 0.98   # the seed: Score = 0.996
    assert w.get_value()[2] < -15 and w.get_value()[3] < -15


def _gate(X, Y, hidden, steps, alpha, backend, seed):
    rng = numpy.random.RandomState(seed)
    x, y = T.vector("x"), T.scalar("y")

    def layer(x, w):
        b = numpy.array([1])
        xb = T.concatenate([x, b])
        return nnet.sigmoid(T.dot(w.T, xb))
    if hidden:
        w1 = theano.shared(rng.rand(3, 2), name="w")
        w2 = theano.shared(rng.rand(3), name="b")
        out = T.sum(layer(layer(x, w1), w2))
        params = [w1, w2]
    else:
        w = theano.shared(rng.randn(2), name="w")
        b = theano.shared(rng.randn(), name="b")
        out = T.sum(nnet.sigmoid(T.dot(x, w) + b))
        params = [w, b]
    cost = (out - y) ** 2
    train = theano.function(inputs=[x, y], outputs=cost, backend=backend.name,
                            updates=[(p, p - alpha * T.grad(cost, p)) for p in params])
    predict = theano.function(inputs=[x], outputs=out, backend=backend.name)
    for i in range(steps):
        for j in range(4):
            train(X[j], Y[j])
    return [float(predict(v)) for v in X]


def test_and_gate(float64, backend):
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    out = _gate(X, [0, 0, 0, 1], False, 1000, 1.0, backend, 2)
    assert out[3] > 0.9 and max(out[:3]) < 0.1   # the seed: 0.000071 0.037 0.037 0.956


def test_xor_gate(float64, backend):
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    # shortened: the seed ran 10000 sweeps at alpha=0.1; 3000 at alpha=1.0 converge the same way
    out = _gate(X, [0, 1, 1, 0], True, 3000, 1.0, backend, 0)
    assert out[1] > 0.9 and out[2] > 0.9 and out[0] < 0.1 and out[3] < 0.1
