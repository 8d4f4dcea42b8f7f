"""Seed 002, "Lasagne" (and the Theano snippet before it): a small conv net.

What the seed did: section 3.1 shows Theano's hello world --
``x = theano.tensor.fvector('x')``, ``W = theano.shared([0.2, 0.7])``,
``y = (x * W).sum()``, ``f([1.0, 1.0])`` printing 0.9. Section 3.3 builds a
Lasagne conv net for 3 x 32 x 32 images and 10 classes: two 3x3 convolutions
(64 and 32 filters, leaky rectifiers), a 3x3 max-pool of stride 2, dropout
0.5, a 128-unit dense layer (leaky rectifier, orthogonal init), dropout 0.5,
a 10-way softmax; loss = mean categorical cross-entropy + 1e-4 * L2 of all
weights; Nesterov momentum (lr 0.01, momentum 0.9); 100 epochs over
``training_data``, printing the mean loss per epoch; then a deterministic
prediction for ``test_data[0]``. It published no number.

What was reconstructed: ``training_data`` and ``test_data`` are never
defined in the seed (it meant something like CIFAR-10). They are made here
from scikit-learn's handwritten digits, upsampled to 32 x 32 and repeated over
3 channels (float32, labels int32 as ``T.ivector`` needs): 1347 training
images in minibatches of 50 and 450 test images, the test set also cut into
minibatches so that ``test_data[0]`` is a batch as the seed's
``predict_fn(test_data[0])`` needs. We also report the test accuracy (the
seed printed only the first batch's predicted classes).

What changed: only the imports (``import layerkit as lasagne``,
``layerkit.core`` for ``theano``) and the data. On this 2-core machine an
epoch over 1347 images takes about 10 s, so the default trains on 500
images for 4 epochs (under a minute) and ``--full`` runs the seed's 100
epochs on all of them.

    python examples/lasagne_convnet_32x32.py
    python examples/lasagne_convnet_32x32.py --full
"""
import argparse

import numpy
import numpy as np

import layerkit as lasagne                # was: import lasagne
import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
from data import digits_images


def load_batches(ntrain, ntest, batch_size=50, seed=0):
    """Reconstructed data: digits as 3 x 32 x 32 float32 images, int32 labels, in batches."""
    images, labels = digits_images(size=32)
    order = np.random.RandomState(seed).permutation(len(images))
    X = np.repeat(images[order][:, None], 3, axis=1).astype("float32")
    y = labels[order].astype("int32")
    trX, trY = X[:ntrain], y[:ntrain]
    teX, teY = X[len(X) - ntest:], y[len(y) - ntest:]
    training_data = [(trX[i:i + batch_size], trY[i:i + batch_size])
                     for i in range(0, len(trX), batch_size)]
    test_data = [teX[i:i + batch_size] for i in range(0, len(teX), batch_size)]
    return training_data, test_data, teY


def theano_snippet():
    # section 3.1 of the seed
    x = theano.tensor.fvector('x')
    W = theano.shared(numpy.asarray([0.2, 0.7]), 'W')
    y = (x * W).sum()

    f = theano.function([x], y)
    output = f([1.0, 1.0])
    print(output)
    return float(output)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the seed's 100 epochs, all images")
    parser.add_argument("--epochs", type=int, default=4, help="epochs (seed: 100)")
    parser.add_argument("--ntrain", type=int, default=500, help="training images (max 1347)")
    parser.add_argument("--ntest", type=int, default=450, help="test images (max 450)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (data order, init)")
    args = parser.parse_args(argv)
    if args.full:
        args.epochs, args.ntrain, args.ntest = 100, 1347, 450
    np.random.seed(args.seed)
    lasagne.random.set_rng(np.random.RandomState(args.seed))

    snippet = theano_snippet()

    training_data, test_data, test_labels = load_batches(args.ntrain, args.ntest, seed=args.seed)

    input_var = T.tensor4('X')
    target_var = T.ivector('y')

    from layerkit.nonlinearities import leaky_rectify, softmax  # was: from lasagne.nonlinearities import ...
    network = lasagne.layers.InputLayer((None, 3, 32, 32), input_var)
    network = lasagne.layers.Conv2DLayer(network, 64, (3, 3),
                                         nonlinearity=leaky_rectify)
    network = lasagne.layers.Conv2DLayer(network, 32, (3, 3),
                                         nonlinearity=leaky_rectify)
    network = lasagne.layers.Pool2DLayer(network, (3, 3), stride=2, mode='max')
    network = lasagne.layers.DenseLayer(lasagne.layers.dropout(network, 0.5),
                                        128, nonlinearity=leaky_rectify,
                                        W=lasagne.init.Orthogonal())
    network = lasagne.layers.DenseLayer(lasagne.layers.dropout(network, 0.5),
                                        10, nonlinearity=softmax)

    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, target_var)
    loss = loss.mean() + 1e-4 * lasagne.regularization.regularize_network_params(
        network, lasagne.regularization.l2)

    params = lasagne.layers.get_all_params(network, trainable=True)
    updates = lasagne.updates.nesterov_momentum(loss, params, learning_rate=0.01,
                                                momentum=0.9)

    train_fn = theano.function([input_var, target_var], loss, updates=updates)

    epoch_losses = []
    for epoch in range(args.epochs):
        loss = 0
        for input_batch, target_batch in training_data:
            loss += train_fn(input_batch, target_batch)
        print("Epoch %d: Loss %g" % (epoch + 1, loss / len(training_data)))
        epoch_losses.append(float(loss / len(training_data)))

    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    predict_fn = theano.function([input_var], T.argmax(test_prediction, axis=1))
    print("Predicted class for first test input: %r" % predict_fn(test_data[0]))

    # (not in the seed) the accuracy over the whole test set
    predicted = np.concatenate([predict_fn(batch) for batch in test_data])
    accuracy = float(np.mean(predicted == test_labels))
    print("Test accuracy: %.4f" % accuracy)

    return {"snippet": snippet, "epoch_losses": epoch_losses, "accuracy": accuracy}


if __name__ == "__main__":
    main()
