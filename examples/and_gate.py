"""Seed 000, "First neural network - AND gate": one sigmoid neuron learns AND.

What the seed did: first checks hand-picked weights (w0 = -300, w1 = w2 = 200)
with ``math.exp``, then trains a single sigmoid unit ``sigmoid(x.w + b)``
on the four input pairs with the squared error, one sample at a time, for
1000 sweeps at alpha = 1.0. It printed
``0 AND 0 = 0.000071``, ``0 AND 1 = 0.037623``, ``1 AND 0 = 0.037746``,
``1 AND 1 = 0.955776``.

What changed: only the imports (``layerkit.core.tensor.nnet as nnet``),
Python 3 prints and ``config.floatX = "float64"`` (the seed relied on
Theano's default). The seed's weight plots are left out; ``--seed`` fixes
numpy's random state. Nothing was missing. This is the seed's full size and
runs in about a second.

    python examples/and_gate.py
"""
import argparse
from math import exp

import numpy

import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
import layerkit.core.tensor.nnet as nnet  # was: import theano.tensor.nnet as nnet


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="nTrainSteps (seed: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"      # the seed relied on Theano's default floatX
    numpy.random.seed(args.seed)

    ### BY HAND WEIGHTS ###

    w0 = -300
    w1 = 200
    w2 = 200

    ### LOGISTIC FUNCTION ###

    def h(x1, x2):
        return 1 / (1 + exp(-w0 - w1 * x1 - w2 * x2))

    ### TRAINING SET ###

    X = [[0,0], [0,1], [1,0], [1,1]] # input
    Y = [0, 0, 0, 1] # expected output

    ### TEST ###

    for x in X: print('%d AND %d = %f' % (x[0], x[1], h(x[0], x[1])))

    rng = numpy.random # random number generator

    ### SETTINGS ###

    nTrainSteps = args.steps # number of training steps
    alpha = 1.0 # learning rate

    ### SYMBOLIC VARIABLES ###

    x = T.vector('x') # input
    y = T.scalar('y') # expected value

    w = theano.shared(rng.randn(2), name = 'w') # 2 weights initialized randomly
    b = theano.shared(rng.randn(), name = 'b') # bias term (w_0)

    ### EXPRESSION GRAPH ###

    layer1 = nnet.sigmoid(T.dot(x,w) + b) # input layer
    layer2 = T.sum(layer1)                # output layer
    cost = (layer2 - y)**2                 # cost function
    gw, gb = T.grad(cost, [w,b])          # gradients

    ### TRAIN ###

    train = theano.function(inputs = [x,y],
                            outputs = cost,
                            updates = ((w, w - alpha * gw),
                                      (b, b - alpha * gb)))

    costs    = [] # value of cost function in each training step
    weights  = [] # value of weights in each training step
    bias     = [] # value of bias term in each training step

    for i in range (nTrainSteps):
        # train net using each element from X
        for j in range(4): c = train(X[j], Y[j])
        # save progress to plot them later
        costs.append(c)
        weights.append(w.get_value())
        bias.append(b.get_value())

    ### TEST ###

    predict = theano.function(inputs=[x], outputs=layer2)

    outputs = []
    for x in X:
        print('%d AND %d = %f' % (x[0], x[1], predict(x)))
        outputs.append(float(predict(x)))

    return {"outputs": outputs, "first_cost": float(costs[0]), "last_cost": float(costs[-1])}


if __name__ == "__main__":
    main()
