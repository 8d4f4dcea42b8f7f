"""Seed 004, edge kernels: ``scipy.signal.convolve2d`` beside ``T.nnet.conv2d``.

What the seed did: takes one MNIST training image (``x_train[2]`` from
``load_MNIST()`` of its lost ``utils`` module), designs four 3x3 line
detectors (vertical, horizontal and the two diagonals: a ridge of 2 between
-1s), convolves the image with each using ``scipy.signal.convolve2d`` (mode
'full') and shows ``conv > 1.5`` -- the pixels where the line is found --
beside each kernel. It published the pictures.

What was reconstructed: ``load_MNIST`` is lost and nothing is downloaded;
``x_train`` here is scikit-learn's handwritten digits upsampled to 28 x 28
with pixels in [0, 1] (``data.mnist_like``), so ``x_train[2]`` is a
different digit. The plots become counts: for each kernel, how many pixels
pass ``conv > 1.5``.

What is compared: the seed's scipy computation, kept as it was, and the same
four convolutions done by layerkit in one call of ``T.nnet.conv2d`` with
``border_mode='full'`` (Theano's convolution flips the filters, as
``convolve2d`` does, so the results must agree to rounding). The seed's four
kernels are all unchanged by a 180-degree turn, so they cannot tell a
convolution from a cross-correlation; a fifth, Sobel kernel (not in the seed)
is compared too, for which the flip matters. ``--plot``
shows the seed's figure when matplotlib is installed. Runs in a second.

    python examples/edge_kernels_conv2d.py
"""
import argparse

import numpy as np
from scipy import signal

import layerkit.core as theano
import layerkit.core.tensor as T
from data import mnist_like


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, default=2, help="which training image (seed: 2)")
    parser.add_argument("--plot", action="store_true", help="show the seed's figure (matplotlib)")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"

    # Load MNIST (reconstructed: digits shaped like MNIST)
    x_train, x_test, y_train, y_test = mnist_like(onehot=False)
    x_train = x_train.reshape(-1, 28, 28)
    img = x_train[args.index]

    # Design the kernels
    kernels = [[[-1, 2, -1],[-1, 2, -1],[-1, 2, -1]],
               [[-1, -1, -1],[2, 2, 2],[-1, -1, -1]],
               [[2, -1, -1],[-1, 2, -1],[-1, -1, 2]],
               [[-1, -1, 2],[-1, 2, -1],[2, -1, -1]], ]

    # the seed: scipy, one kernel at a time
    scipy_convs = [signal.convolve2d(img, k) for k in kernels]

    # (not in the seed) a kernel that a 180-degree turn changes: checks the flip
    sobel = [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    scipy_convs.append(signal.convolve2d(img, sobel))

    # layerkit: all four kernels in one conv2d (batch 1, 1 channel, 4 filters)
    image = T.tensor4("image")
    filters = T.tensor4("filters")
    convs = theano.function([image, filters], T.nnet.conv2d(image, filters, border_mode='full'))
    ours = convs(img[None, None], np.asarray(kernels + [sobel], dtype="float64")[:, None])[0]

    max_diff = max(float(np.abs(o - s).max()) for o, s in zip(ours, scipy_convs))
    edges_scipy = [int((conv > 1.5).sum()) for conv in scipy_convs[:4]]
    edges_ours = [int((conv > 1.5).sum()) for conv in ours[:4]]
    sobel_diff = float(np.abs(ours[4] - scipy_convs[4]).max())
    sobel_unflipped = float(np.abs(ours[4] - signal.correlate2d(img, sobel)).max())
    names = ["vertical", "horizontal", "diagonal \\", "diagonal /"]
    print("image %d (digit %d), output shape %s" % (args.index, y_train[args.index], ours[0].shape))
    for name, a, b in zip(names, edges_scipy, edges_ours):
        print("%-11s pixels with conv > 1.5: scipy %3d, layerkit %3d" % (name, a, b))
    print("largest difference between scipy.signal.convolve2d and T.nnet.conv2d: %.2e" % max_diff)
    print("Sobel kernel: difference %.2e from convolve2d, %.2f from correlate2d"
          % (sobel_diff, sobel_unflipped))

    if args.plot:
        import matplotlib.pyplot as plt
        for i, k in enumerate(kernels):
            i = i*2+1
            plt.subplot(3,4,i)
            plt.imshow(k, cmap='gray')
            plt.subplot(3,4,i+1)
            plt.imshow(ours[(i - 1) // 2] > 1.5, cmap='gray')
        plt.subplot(349)
        plt.imshow(img, cmap='gray')
        plt.show()

    return {"max_diff": max_diff, "edges_scipy": edges_scipy, "edges_ours": edges_ours,
            "sobel_diff": sobel_diff, "sobel_unflipped_diff": sobel_unflipped,
            "shape": list(ours[0].shape)}


if __name__ == "__main__":
    main()
