"""Seed 002, "Feedforward Neural Networks" (Keras): a 3072-768-384-2 MLP, in layerkit.

What the seed did: reads a folder of images (``--dataset``, cats and dogs),
resizes each to 32 x 32 with OpenCV and flattens it to 3072 raw pixel values
(/255), encodes the labels (taken from the file names) with ``LabelEncoder``
and one-hot with ``np_utils.to_categorical(labels, 2)``, splits 75 % / 25 %
with ``train_test_split(..., test_size=0.25, random_state=42)``, and trains a
Keras ``Sequential`` model: Dense(768, relu, init "uniform") -> Dense(384,
relu, init "uniform") -> Dense(2) -> softmax, loss ``binary_crossentropy``,
``SGD(lr=0.01)``, 50 epochs of batch size 128; then prints
``[INFO] loss=..., accuracy: ...%`` on the test split. It published no number.

What was rewritten: the model, loss, optimiser and loops are the same network
written with layerkit's Lasagne-style API -- ``DenseLayer`` with
``init.Uniform(0.05)`` (Keras 1's "uniform" initialiser draws from
U(-0.05, 0.05); biases start at 0, as in Keras) and ``init.GlorotUniform()``
for the last Dense (Keras 1's default), ``objectives.binary_crossentropy``
averaged over all outputs (what Keras's ``binary_crossentropy`` on two
one-hot columns computes), ``updates.sgd`` at 0.01, shuffled minibatches of
128 (Keras's ``fit`` shuffles), and Keras's "accuracy" for this loss -- the
fraction of output units whose rounded value equals the target.

What was reconstructed: the image folder (the seed used Kaggle's cats and
dogs, a download) -- here scikit-learn's handwritten digits, upsampled to
32 x 32 and repeated over 3 colour channels as ``cv2.imread`` returns
(3072 values, 0..255), with the two labels "even" and "odd" in place of
"cat" and "dog" (1797 images; the split keeps 1347 for training).
``sklearn.cross_validation`` is now ``sklearn.model_selection``.

The seed's 50 epochs take about 20 s here, so they are the default.

    python examples/keras_style_mlp.py
"""
import argparse

import numpy as np
from sklearn.model_selection import train_test_split   # was: sklearn.cross_validation
from sklearn.preprocessing import LabelEncoder

import layerkit as lasagne
import layerkit.core as theano
import layerkit.core.tensor as T
from data import digits_images


def load_images():
    """Reconstructed data: 32 x 32 x 3 digit images (0..255) with labels 'even' / 'odd'."""
    images, digits = digits_images(size=32)
    images = np.repeat((images * 255.0)[..., None], 3, axis=-1)   # H x W x 3, like cv2.imread
    labels = ["even" if d % 2 == 0 else "odd" for d in digits]
    return images, labels


def image_to_feature_vector(image):
    # the seed: cv2.resize(image, (32, 32)).flatten(); our images are 32 x 32 already
    return image.flatten()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50, help="nb_epoch (seed: 50)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--seed", type=int, default=0, help="random seed (init, shuffling)")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)
    lasagne.random.set_rng(np.random.RandomState(args.seed))

    print("[INFO] describing images...")
    images, image_labels = load_images()
    data = []
    labels = []
    for (i, image) in enumerate(images[:args.limit]):
        data.append(image_to_feature_vector(image))
        labels.append(image_labels[i])
        if i > 0 and i % 1000 == 0:
            print("[INFO] processed {}/{}".format(i, len(images)))

    le = LabelEncoder()
    labels = le.fit_transform(labels)
    data = np.array(data) / 255.0
    labels = np.eye(2)[labels]             # was: np_utils.to_categorical(labels, 2)
    print("[INFO] constructing training/testing split...")
    (trainData, testData, trainLabels, testLabels) = train_test_split(
        data, labels, test_size=0.25, random_state=42)
    trainData, testData = trainData.astype("float32"), testData.astype("float32")
    trainLabels, testLabels = trainLabels.astype("float32"), testLabels.astype("float32")

    # the model: Dense(768, relu) -> Dense(384, relu) -> Dense(2) -> softmax
    model = lasagne.layers.InputLayer((None, 3072))
    model = lasagne.layers.DenseLayer(model, 768, W=lasagne.init.Uniform(0.05),
                                      nonlinearity=lasagne.nonlinearities.rectify)
    model = lasagne.layers.DenseLayer(model, 384, W=lasagne.init.Uniform(0.05),
                                      nonlinearity=lasagne.nonlinearities.rectify)
    model = lasagne.layers.DenseLayer(model, 2, W=lasagne.init.GlorotUniform(),
                                      nonlinearity=lasagne.nonlinearities.softmax)

    print("[INFO] compiling model...")
    inputs = lasagne.layers.get_all_layers(model)[0].input_var
    targets = T.fmatrix("targets")
    prediction = lasagne.layers.get_output(model)
    loss = lasagne.objectives.binary_crossentropy(prediction, targets).mean()
    accuracy = T.mean(T.eq(T.round(prediction), targets))    # Keras's binary "accuracy"
    params = lasagne.layers.get_all_params(model, trainable=True)
    updates = lasagne.updates.sgd(loss, params, learning_rate=0.01)
    train = theano.function([inputs, targets], [loss, accuracy], updates=updates)
    evaluate = theano.function([inputs, targets], [loss, accuracy])

    batch_size = 128
    history = []
    for epoch in range(args.epochs):
        order = np.random.permutation(len(trainData))
        seen, loss_sum, acc_sum = 0, 0.0, 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch_loss, batch_acc = train(trainData[idx], trainLabels[idx])
            loss_sum += float(batch_loss) * len(idx)
            acc_sum += float(batch_acc) * len(idx)
            seen += len(idx)
        history.append(loss_sum / seen)
        print("Epoch {}/{} - loss: {:.4f} - acc: {:.4f}".format(
            epoch + 1, args.epochs, loss_sum / seen, acc_sum / seen))

    print("[INFO] evaluating on testing set...")
    (loss, accuracy) = evaluate(testData, testLabels)
    print("[INFO] loss={:.4f}, accuracy: {:.4f}%".format(float(loss), float(accuracy) * 100))

    return {"loss": float(loss), "accuracy": float(accuracy), "epoch_losses": history}


if __name__ == "__main__":
    main()
