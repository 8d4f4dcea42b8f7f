"""Lasagne's MNIST tutorial (``examples/mnist.py``) on layerkit, on local digits.

What this is: a reconstruction of the program that Lasagne's tutorial walks
through -- ``build_mlp`` (input dropout 0.2, two 800-unit rectifier layers
with dropout 0.5, a 10-way softmax), ``build_custom_mlp`` (any depth, width
and dropout rates, from a ``custom_mlp:DEPTH,WIDTH,DROP_IN,DROP_HID`` model
string), ``build_cnn`` (two 5x5 convolutions of 32 filters, each followed by
2x2 max-pooling, then dropout, 256 rectifier units, dropout and a softmax),
``iterate_minibatches``, and the training loop: mean categorical
cross-entropy, ``nesterov_momentum`` (learning rate 0.01, momentum 0.9),
a validation function on ``get_output(network, deterministic=True)`` giving
the loss and accuracy, per-epoch reports, a final test, and the parameters
saved with ``np.savez`` (to ``--save`` here; the tutorial wrote model.npz).
It was written again from the tutorial's description and API calls, not
copied; the model, loss, update and evaluation code uses exactly the calls
the tutorial uses.

What changed, as for any old script (the README's "Theano and Lasagne
scripts"): the imports (``layerkit.core`` for ``theano``,
``layerkit.core.tensor`` for ``theano.tensor``, ``layerkit`` for ``lasagne``), Python 3 prints, and ``load_dataset``, which reads
scikit-learn's bundled handwritten digits (upsampled to 28 x 28, see
``data.py``) instead of downloading MNIST: 1797 images, split by default
into 1000 training, 397 validation and 400 test images, with MNIST's dtypes
(float32 pixels in [0, 1] shaped (n, 1, 28, 28), uint8 labels). Beyond
the tutorial: the tutorial's ``main(model, num_epochs)`` is called
``train_and_test`` here, takes the data, the minibatch size and a save
path as arguments and returns its numbers; ``main(argv)`` parses the
command line; ``--epochs``/``--ntrain``/``--nval``/``--ntest``/
``--batch-size``/``--seed`` size the run.

The tutorial trained for 500 epochs on 50000 images in minibatches of 500.
With 50 times less data the default here is 5 epochs on 1000 images in
minibatches of 100 (10 updates per epoch instead of 2): about 15 s for each
MLP and a minute for the CNN on two shared cores (test accuracy about 90 %,
88 % and 87 %). ``--full`` runs the tutorial's 500 epochs on all 1397 training and
validation images, in minibatches of 100: the tutorial's 500 would leave
no complete minibatch of our 397 validation or 400 test images.

    python examples/lasagne_mnist_tutorial.py --model mlp
    python examples/lasagne_mnist_tutorial.py --model custom_mlp:3,200,0.2,0.5
    python examples/lasagne_mnist_tutorial.py --model cnn --epochs 10
    python examples/lasagne_mnist_tutorial.py --model cnn --full
"""
import argparse
import time

import numpy as np

import layerkit as lasagne                # was: import lasagne
import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
from data import digits_images


# ################## Loading the data (local digits, not a download) ##################

def load_dataset(ntrain=1000, nval=397, ntest=400, seed=0):
    images, labels = digits_images(size=28)
    if ntrain + nval + ntest > len(images):
        raise ValueError(f"ntrain + nval + ntest = {ntrain + nval + ntest} exceeds the "
                         f"{len(images)} digits available")
    order = np.random.RandomState(seed).permutation(len(images))
    X = images[order].reshape(-1, 1, 28, 28).astype(np.float32)
    y = labels[order].astype(np.uint8)
    X_train, y_train = X[:ntrain], y[:ntrain]
    X_val, y_val = X[ntrain:ntrain + nval], y[ntrain:ntrain + nval]
    X_test, y_test = X[len(X) - ntest:], y[len(y) - ntest:]
    return X_train, y_train, X_val, y_val, X_test, y_test


# ##################### Build the neural network model #######################

def build_mlp(input_var=None):
    # input layer, for batches of 1-channel 28x28 images
    l_in = lasagne.layers.InputLayer(shape=(None, 1, 28, 28),
                                     input_var=input_var)
    # 20% dropout on the input
    l_in_drop = lasagne.layers.DropoutLayer(l_in, p=0.2)
    # a fully connected layer of 800 rectifier units, Glorot-initialised
    l_hid1 = lasagne.layers.DenseLayer(
        l_in_drop, num_units=800,
        nonlinearity=lasagne.nonlinearities.rectify,
        W=lasagne.init.GlorotUniform())
    # 50% dropout
    l_hid1_drop = lasagne.layers.DropoutLayer(l_hid1, p=0.5)
    # another 800 units
    l_hid2 = lasagne.layers.DenseLayer(
        l_hid1_drop, num_units=800,
        nonlinearity=lasagne.nonlinearities.rectify)
    # 50% dropout again
    l_hid2_drop = lasagne.layers.DropoutLayer(l_hid2, p=0.5)
    # the 10-way softmax output
    l_out = lasagne.layers.DenseLayer(
        l_hid2_drop, num_units=10,
        nonlinearity=lasagne.nonlinearities.softmax)
    return l_out


def build_custom_mlp(input_var=None, depth=2, width=800, drop_input=.2,
                     drop_hidden=.5):
    # the same kind of network with its depth, width and dropout as arguments;
    # the short names of the layers this time
    network = lasagne.layers.InputLayer(shape=(None, 1, 28, 28),
                                        input_var=input_var)
    if drop_input:
        network = lasagne.layers.dropout(network, p=drop_input)
    nonlin = lasagne.nonlinearities.rectify
    for _ in range(depth):
        network = lasagne.layers.DenseLayer(
            network, width, nonlinearity=nonlin)
        if drop_hidden:
            network = lasagne.layers.dropout(network, p=drop_hidden)
    softmax = lasagne.nonlinearities.softmax
    network = lasagne.layers.DenseLayer(network, 10, nonlinearity=softmax)
    return network


def build_cnn(input_var=None):
    network = lasagne.layers.InputLayer(shape=(None, 1, 28, 28),
                                        input_var=input_var)
    # 32 filters of 5x5, then 2x2 max-pooling
    network = lasagne.layers.Conv2DLayer(
        network, num_filters=32, filter_size=(5, 5),
        nonlinearity=lasagne.nonlinearities.rectify,
        W=lasagne.init.GlorotUniform())
    network = lasagne.layers.MaxPool2DLayer(network, pool_size=(2, 2))
    # the same again
    network = lasagne.layers.Conv2DLayer(
        network, num_filters=32, filter_size=(5, 5),
        nonlinearity=lasagne.nonlinearities.rectify)
    network = lasagne.layers.MaxPool2DLayer(network, pool_size=(2, 2))
    # 256 units after 50% dropout
    network = lasagne.layers.DenseLayer(
        lasagne.layers.dropout(network, p=.5),
        num_units=256,
        nonlinearity=lasagne.nonlinearities.rectify)
    # the 10-way softmax after 50% dropout
    network = lasagne.layers.DenseLayer(
        lasagne.layers.dropout(network, p=.5),
        num_units=10,
        nonlinearity=lasagne.nonlinearities.softmax)
    return network


# ############################# Batch iterator ###############################

def iterate_minibatches(inputs, targets, batchsize, shuffle=False):
    assert len(inputs) == len(targets)
    if shuffle:
        indices = np.arange(len(inputs))
        np.random.shuffle(indices)
    for start_idx in range(0, len(inputs) - batchsize + 1, batchsize):
        if shuffle:
            excerpt = indices[start_idx:start_idx + batchsize]
        else:
            excerpt = slice(start_idx, start_idx + batchsize)
        yield inputs[excerpt], targets[excerpt]


# ############################## Main program ################################

def train_and_test(model='mlp', num_epochs=500, dataset=None, batch_size=500, save=None):
    # Load the dataset
    print("Loading data...")
    X_train, y_train, X_val, y_val, X_test, y_test = dataset or load_dataset()

    # Prepare Theano variables for inputs and targets
    input_var = T.tensor4('inputs')
    target_var = T.ivector('targets')

    # Create neural network model (depending on first command line parameter)
    print("Building model and compiling functions...")
    if model == 'mlp':
        network = build_mlp(input_var)
    elif model.startswith('custom_mlp:'):
        depth, width, drop_in, drop_hid = model.split(':', 1)[1].split(',')
        network = build_custom_mlp(input_var, int(depth), int(width),
                                   float(drop_in), float(drop_hid))
    elif model == 'cnn':
        network = build_cnn(input_var)
    else:
        print("Unrecognized model type %r." % model)
        return

    # the training loss: mean cross-entropy of the (noisy) predictions
    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, target_var)
    loss = loss.mean()

    # Stochastic Gradient Descent with Nesterov momentum
    params = lasagne.layers.get_all_params(network, trainable=True)
    updates = lasagne.updates.nesterov_momentum(
        loss, params, learning_rate=0.01, momentum=0.9)

    # the validation loss and accuracy, with dropout turned off
    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    test_loss = lasagne.objectives.categorical_crossentropy(test_prediction,
                                                            target_var)
    test_loss = test_loss.mean()
    test_acc = T.mean(T.eq(T.argmax(test_prediction, axis=1), target_var),
                      dtype=theano.config.floatX)

    # compile a training step and a validation function
    train_fn = theano.function([input_var, target_var], loss, updates=updates)
    val_fn = theano.function([input_var, target_var], [test_loss, test_acc])

    # Finally, launch the training loop.
    print("Starting training...")
    history = []
    for epoch in range(num_epochs):
        # one full pass over the training data
        train_err = 0
        train_batches = 0
        start_time = time.time()
        for batch in iterate_minibatches(X_train, y_train, batch_size, shuffle=True):
            inputs, targets = batch
            train_err += train_fn(inputs, targets)
            train_batches += 1

        # and a full pass over the validation data
        val_err = 0
        val_acc = 0
        val_batches = 0
        for batch in iterate_minibatches(X_val, y_val, batch_size, shuffle=False):
            inputs, targets = batch
            err, acc = val_fn(inputs, targets)
            val_err += err
            val_acc += acc
            val_batches += 1

        # the results of this epoch
        print("Epoch {} of {} took {:.3f}s".format(
            epoch + 1, num_epochs, time.time() - start_time))
        print("  training loss:\t\t{:.6f}".format(train_err / train_batches))
        print("  validation loss:\t\t{:.6f}".format(val_err / val_batches))
        print("  validation accuracy:\t\t{:.2f} %".format(
            val_acc / val_batches * 100))
        history.append((float(train_err / train_batches), float(val_err / val_batches),
                        float(val_acc / val_batches)))

    # After training, we compute and print the test error:
    test_err = 0
    test_acc = 0
    test_batches = 0
    for batch in iterate_minibatches(X_test, y_test, batch_size, shuffle=False):
        inputs, targets = batch
        err, acc = val_fn(inputs, targets)
        test_err += err
        test_acc += acc
        test_batches += 1
    print("Final results:")
    print("  test loss:\t\t\t{:.6f}".format(test_err / test_batches))
    print("  test accuracy:\t\t{:.2f} %".format(
        test_acc / test_batches * 100))

    # the tutorial dumped the parameters to model.npz
    if save:
        np.savez(save, *lasagne.layers.get_all_param_values(network))

    # (not in the tutorial) the numbers, for the tests
    return {"train_loss": [h[0] for h in history], "val_loss": [h[1] for h in history],
            "val_acc": [h[2] for h in history], "test_loss": float(test_err / test_batches),
            "test_acc": float(test_acc / test_batches), "network": network}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp",
                        help="'mlp', 'custom_mlp:DEPTH,WIDTH,DROP_IN,DROP_HID' or 'cnn'")
    parser.add_argument("--epochs", type=int, default=5, help="epochs (tutorial: 500)")
    parser.add_argument("--ntrain", type=int, default=1000, help="training images (max 1396)")
    parser.add_argument("--nval", type=int, default=None,
                        help="validation images (default: 397, or 1397 - ntrain if smaller)")
    parser.add_argument("--ntest", type=int, default=400, help="test images (max 400)")
    parser.add_argument("--batch-size", type=int, default=100, help="minibatch (tutorial: 500)")
    parser.add_argument("--seed", type=int, default=0, help="data split, initialisation, dropout")
    parser.add_argument("--save", default=None, help="save the parameters to this .npz file")
    parser.add_argument("--full", action="store_true",
                        help="the tutorial's 500 epochs on all images (minibatches of 100)")
    args = parser.parse_args(argv)
    if args.full:
        args.epochs, args.ntrain, args.nval, args.ntest, args.batch_size = 500, 1000, 397, 400, 100
    if args.nval is None:
        args.nval = min(397, 1797 - 400 - args.ntrain)
    if args.batch_size > min(args.nval, args.ntest):
        parser.error(f"--batch-size {args.batch_size} leaves no complete minibatch of the "
                     f"{args.nval} validation or {args.ntest} test images")
    np.random.seed(args.seed)
    lasagne.random.set_rng(np.random.RandomState(args.seed))
    dataset = load_dataset(args.ntrain, args.nval, args.ntest, seed=args.seed)
    return train_and_test(args.model, args.epochs, dataset, args.batch_size, args.save)


if __name__ == "__main__":
    main()
