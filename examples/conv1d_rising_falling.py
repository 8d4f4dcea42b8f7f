"""Seed 004, the 1-D convolution: learn a 2-tap filter that tells rising from falling series.

What the seed did: defines a "valid" 1-D convolution in numpy
(``_convolve(x, w)``: ``(x[i:i+len(w)] * w).sum()`` for every i, over a
batch with ``convolve(X, w)``), derives dz_i/dw_j = x_{i+j}, loads a toy
dataset ``load_up_down(50)`` from its ``utils`` module, and trains two
weights ``Ws = [0.5, 0.5]`` with learning rates ``alphas = (0.01, 0.01)``
through a ``Trainer`` class from the same module: prediction
``convolve(X, (w0, w1)).mean(axis=1)``, loss ``mean((Y - pred)**2) / 2``,
gradients written by hand, progress shown as an animation. It published an
animation and a final ``t.loss()`` value that the page does not show.

What was reconstructed: the ``utils`` module (``load_up_down``, ``Trainer``)
is lost. ``load_up_down(n)`` here makes n training and n test series of
length 10 that rise or fall by one unit per step from a random level in
[-1, 1]: ``x_t = c + s * t``, labels ``y = s`` (+1 rising, -1 falling). The
``Trainer`` becomes a plain loop of full-batch gradient steps, each weight
with its own learning rate. The convolution is layerkit's: ``T.nnet.conv2d``
over series shaped (n, 1, 1, length) with a (1, 1, 1, 2) filter and
``filter_flip=False`` -- the cross-correlation ``w0 x_i + w1 x_{i+1}`` that
the seed's ``_convolve`` computes -- and the gradients come from ``T.grad``.
Two quirks of the seed are not carried over, and are reported instead:
its ``_convolve`` loops over every i, so the last window is a single sample
and numpy broadcasting adds a spurious ``x_n * (w0 + w1)`` term; and its
hand-written gradients (``dl_dw0 = mean(X[:-1])``) leave out the factor
``dl_dp = -(Y - pred)``, so they are not the loss's gradients. We compare our
convolution with the seed's ``convolve`` on its valid part.

The exact fit is w0 = -1, w1 = +1 (the level c cancels, the mean step is
+-1). Plain gradient descent at the seed's learning rates gets the loss from
about 6 to below 0.01 within 50 steps with a different, nearly as good w,
then creeps toward the exact fit along the badly conditioned direction;
sign(pred) classifies the test series. The default 300 steps take a second.

    python examples/conv1d_rising_falling.py
"""
import argparse

import numpy as np

import layerkit.core as theano
import layerkit.core.tensor as T


def _convolve(x, w, type='valid'):
    # the seed's numpy convolution (x and w are np vectors)
    conv = []
    for i in range(len(x)):
        if type == 'valid':
            conv.append((x[i: i+len(w)] * w).sum())
    return np.array(conv)


def convolve(X, w):
    # Convolves a batch X to w (the seed's)
    w = np.array(w)
    X = np.array(X)
    conv = []
    for i in range(len(X)):
        conv.append(_convolve(X[i], w))
    return np.array(conv)


def load_up_down(n, length=10, seed=0):
    """Reconstructed: n rising and falling series (x_t = c + s t), labels s = +-1."""
    rng = np.random.RandomState(seed)

    def make(count):
        s = rng.choice([-1.0, 1.0], size=count)
        c = rng.uniform(-1, 1, size=count)
        x = c[:, None] + s[:, None] * np.arange(length)[None, :]
        return x, s
    return make(n), make(n)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="gradient steps")
    parser.add_argument("--n", type=int, default=50, help="series in each split (seed: 50)")
    parser.add_argument("--seed", type=int, default=0, help="data seed")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"

    (x_train, y_train), (x_test, y_test) = load_up_down(args.n, seed=args.seed)

    # Initilize the parameters
    Ws = [0.5, 0.5]
    alphas = (0.01, 0.01)

    w0 = theano.shared(np.asarray(Ws[0]), name="w0")
    w1 = theano.shared(np.asarray(Ws[1]), name="w1")
    X = T.matrix("X")
    Y = T.vector("Y")

    # the 1-D convolution as a (1 x 2) 2-D cross-correlation
    series = X.dimshuffle(0, 'x', 'x', 1)                  # (n, 1, 1, length)
    kernel = T.stack([w0, w1]).dimshuffle('x', 'x', 'x', 0)  # (1, 1, 1, 2)
    conv = T.nnet.conv2d(series, kernel, filter_flip=False)[:, 0, 0, :]
    pred = conv.mean(axis=1)
    loss = (T.sqr(Y - pred) * 1 / 2.).mean()

    g0, g1 = T.grad(loss, [w0, w1])
    train = theano.function([X, Y], loss,
                            updates=[(w0, w0 - alphas[0] * g0), (w1, w1 - alphas[1] * g1)])
    predict = theano.function([X], pred)
    convolve_fn = theano.function([X], conv)

    # our convolution against the seed's numpy one (its valid part)
    seed_conv = convolve(x_train, (Ws[0], Ws[1]))[:, :x_train.shape[1] - 1]
    conv_diff = float(np.abs(convolve_fn(x_train) - seed_conv).max())
    print("conv2d vs the seed's convolve: max difference %.2e" % conv_diff)

    print(predict(x_train)[:5])
    losses = []
    for step in range(args.steps):
        losses.append(float(train(x_train, y_train)))
        if step % 50 == 0:
            print("step %3d  loss %.6f  w = (%.4f, %.4f)"
                  % (step, losses[-1], w0.get_value(), w1.get_value()))

    test_loss = float(0.5 * np.mean((y_test - predict(x_test)) ** 2))
    accuracy = float(np.mean(np.sign(predict(x_test)) == y_test))
    print("final: w = (%.4f, %.4f), training loss %.6f, test loss %.6f, test accuracy %.3f"
          % (w0.get_value(), w1.get_value(), losses[-1], test_loss, accuracy))

    return {"w": [float(w0.get_value()), float(w1.get_value())], "first_loss": losses[0],
            "loss": losses[-1], "test_loss": test_loss, "accuracy": accuracy,
            "conv_diff": conv_diff}


if __name__ == "__main__":
    main()
