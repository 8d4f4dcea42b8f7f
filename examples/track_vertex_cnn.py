"""Seed 000, "Toy Detector with CNN": a Lasagne conv net finds the vertex.

What the seed did: the same generated detector events as the MLP example
(track_vertex_mlp.py), seen as 1 x 50 x 100 images, and "the net
taken from Lasagne tutorial, adjusted to regression for toy detector":
10k training samples, "10-20 epochs to get accuracy about 95%" (against
100k samples x 400 epochs for the MLP); it plotted the accuracy per epoch
from a data file. Its code is a link, not in the seed.

What was reconstructed: the network is the conv net of Lasagne's MNIST
tutorial -- Conv2D 32 5x5 (ReLU, Glorot uniform) -> max-pool 2x2 ->
Conv2D 32 5x5 (ReLU) -> max-pool 2x2 -> dropout 0.5 -> Dense 256 (ReLU) ->
dropout 0.5 -> output -- "adjusted to regression": one sigmoid unit
predicting vertex x / 100, with the mean squared error, Nesterov momentum
(lr 0.01, momentum 0.9) as in that tutorial, trained one event at a time like
the seed's MLP, and tested on 1000 events with the MLP's "within N planes"
count on the deterministic (no dropout) output. "Accuracy" is the
"Reconstructed events" fraction (vertex within 5 planes). The ``Event``
class is imported from the MLP example, as the seed's two programs shared
one event generator.

What changed: the imports (``import layerkit as lasagne``...). One event
per update costs about 25 ms here, so the seed's 10 000 events x 10-20
epochs take 40-80 minutes; the default trains 1000 events for one epoch
(under a minute) and ``--full`` runs 10 000 x 10 (add ``--epochs 20`` for
the seed's upper end).

    python examples/track_vertex_cnn.py
    python examples/track_vertex_cnn.py --full
"""
import argparse

import numpy as np

import layerkit as lasagne                # was: import lasagne
import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
import track_vertex_mlp as event  # the seed's Event class (the MLP example)


def genData(n):
    """n events as (1, 1, 50, 100) float32 images and vertex x / 100 targets."""
    X = []
    Y = []
    for i in range(n):
        e = event.Event()
        X.append(np.array(e.data, dtype='float32').reshape((1, 1, event.dim[1], event.dim[0])))
        Y.append(e.vertex[0] / event.dim[0])
    return X, np.array(Y, dtype='float32')


def build_cnn(input_var=None):
    network = lasagne.layers.InputLayer(shape=(None, 1, event.dim[1], event.dim[0]),
                                        input_var=input_var)
    network = lasagne.layers.Conv2DLayer(
        network, num_filters=32, filter_size=(5, 5),
        nonlinearity=lasagne.nonlinearities.rectify,
        W=lasagne.init.GlorotUniform())
    network = lasagne.layers.MaxPool2DLayer(network, pool_size=(2, 2))
    network = lasagne.layers.Conv2DLayer(
        network, num_filters=32, filter_size=(5, 5),
        nonlinearity=lasagne.nonlinearities.rectify)
    network = lasagne.layers.MaxPool2DLayer(network, pool_size=(2, 2))
    network = lasagne.layers.DenseLayer(
        lasagne.layers.dropout(network, p=.5),
        num_units=256,
        nonlinearity=lasagne.nonlinearities.rectify)
    # adjusted to regression: one sigmoid unit for vertex x / 100
    network = lasagne.layers.DenseLayer(
        lasagne.layers.dropout(network, p=.5),
        num_units=1,
        nonlinearity=lasagne.nonlinearities.sigmoid)
    return network


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="the seed's 10000 events x 10 epochs (about 40 minutes)")
    parser.add_argument("--samples", type=int, default=1000, help="training events (seed: 10000)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs (seed: 10-20)")
    parser.add_argument("--test", type=int, default=1000, help="test events (1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (events, init)")
    args = parser.parse_args(argv)
    if args.full:
        args.samples, args.test = 10000, 1000
        args.epochs = max(args.epochs, 10)
    np.random.seed(args.seed)
    lasagne.random.set_rng(np.random.RandomState(args.seed))

    alpha = 0.01
    momentum = 0.9

    x = T.tensor4('inputs')
    y = T.scalar('targets')

    network = build_cnn(x)

    prediction = lasagne.layers.get_output(network)
    cost = lasagne.objectives.squared_error(prediction, y).mean()

    params = lasagne.layers.get_all_params(network, trainable=True)
    updates = lasagne.updates.nesterov_momentum(cost, params, learning_rate=alpha,
                                                momentum=momentum)

    test_prediction = lasagne.layers.get_output(network, deterministic=True)

    train = theano.function([x, y], cost, updates=updates)
    predict = theano.function([x], test_prediction)

    X, Y = genData(args.samples)
    testX, testY = genData(args.test)

    results = []
    for epoch in range(args.epochs):
        costs = [float(train(X[i], Y[i])) for i in range(args.samples)]
        predicted = [float(predict(t)[0, 0]) for t in testX]
        good, bad = event.planes(testY * event.dim[0], predicted)
        print("Epoch %d: mean training cost %.6f" % (epoch + 1, np.mean(costs)))
        event.report(good, args.test)
        results.append({"cost": float(np.mean(costs)),
                        "reconstructed": 100.0 * sum(good) / args.test,
                        "within": [100.0 * g / args.test for g in good]})

    base, _ = event.planes(testY * event.dim[0], [float(Y.mean())] * args.test)
    print("(always predicting the mean vertex: %.2f%% reconstructed)" % (100.0 * sum(base) / args.test))
    return {"reconstructed": results[-1]["reconstructed"], "within": results[-1]["within"],
            "epochs": results, "baseline_reconstructed": 100.0 * sum(base) / args.test}


if __name__ == "__main__":
    main()
