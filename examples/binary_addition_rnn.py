"""Seed 002, the numpy RNN that learns 8-bit binary addition, on ``theano.scan`` and on Lasagne.

What the seed did (Trask's "anyone can learn to code an LSTM" network, in
Lesley Cordero's guide): two numbers below 128, written in 8 bits, are fed
to a recurrent net one bit pair per step, least significant bit first; it
must output the bits of their sum. 2 inputs, 16 sigmoid hidden units with a
recurrence (``synapse_0``, ``synapse_h``), one sigmoid output
(``synapse_1``), no biases; weights uniform in [-1, 1) after
``np.random.seed(0)``; 10000 iterations of one random sum each, with
backpropagation through time written by hand (the gradient of half the
summed squared error over the 8 steps) and plain SGD at alpha = 0.1. Every
1000 iterations it printed ``Error:`` (the summed absolute error over the
8 bits), ``Pred:``, ``True:`` and ``a + b = prediction``. The guide shows
no output.

What was rewritten: the same model twice, with layerkit computing the
gradient (``T.grad``) instead of the hand-written backward pass, selected
by ``--model``:

- ``scan`` (default): the hidden state as a hand-written ``theano.scan``
  over the 8 steps, ``h_t = sigmoid(x_t . synapse_0 + h_{t-1} . synapse_h)``,
  the output ``sigmoid(h_t . synapse_1)``;
- ``lasagne``: ``lasagne.layers.RecurrentLayer`` (16 sigmoid units, no
  bias) whose output ``ReshapeLayer`` folds into rows for a sigmoid
  ``DenseLayer`` of one unit (no bias), reshaped back to 8 bits per sum.

Both start from the seed's weights (drawn in the seed's order from the same
random stream), see the same sums in the same order, minimise the seed's
loss ``0.5 * sum((y - out) ** 2)`` with ``W -= alpha * grad`` and print what
the seed printed. Since ``T.grad`` of that loss is exactly the seed's
backward pass, both retrace the seed's training run: ``--reference``
(default on) also runs the seed's own numpy program and reports the
largest difference of the printed errors and of the final weights.

Beyond the seed: after training we add every pair a, b < 128 (16384 sums,
in one batched call) and report the accuracy on all of them and on 200
pairs that training never drew (the held-out set). With the default seed
the network gets every sum right.

This is the seed's full size (10000 iterations, one sum each, float64:
``config.floatX = "float64"``) and it takes a few seconds, so it is the
default; there is no ``--full``.

    python examples/binary_addition_rnn.py
    python examples/binary_addition_rnn.py --model lasagne
"""
import argparse
import copy
import time

import numpy as np

import layerkit as lasagne                # was: import lasagne
import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T

binary_dim = 8
largest_number = pow(2, binary_dim)
input_dim, hidden_dim, output_dim = 2, 16, 1
# int2binary[i]: the 8 bits of i, most significant first (as in the seed)
int2binary = np.unpackbits(np.array([range(largest_number)], dtype=np.uint8).T, axis=1)


def encode(a_ints, b_ints):
    """Inputs ``(n, 8, 2)`` and target bits ``(n, 8)``, least significant bit first."""
    a_ints, b_ints = np.asarray(a_ints), np.asarray(b_ints)
    a = int2binary[a_ints][:, ::-1]
    b = int2binary[b_ints][:, ::-1]
    c = int2binary[a_ints + b_ints][:, ::-1]
    return np.stack([a, b], axis=-1).astype("float64"), c.astype("float64")


def decode(bits):
    """The integers whose bits (least significant first, one row each) are ``bits``."""
    return np.round(bits).astype(np.int64) @ (1 << np.arange(binary_dim))


def initial_weights(rng):
    """The seed's weights, drawn in the seed's order."""
    synapse_0 = 2 * rng.random_sample((input_dim, hidden_dim)) - 1
    synapse_1 = 2 * rng.random_sample((hidden_dim, output_dim)) - 1
    synapse_h = 2 * rng.random_sample((hidden_dim, hidden_dim)) - 1
    return synapse_0, synapse_1, synapse_h


# ---------------------------------------------------------------- the two models

def build_scan(X, synapse_0, synapse_1, synapse_h):
    """``X``: ``(n, 8, 2)``. The output bits ``(n, 8)`` and the weights by the seed's names."""
    W0 = theano.shared(synapse_0, name="synapse_0")
    W1 = theano.shared(synapse_1, name="synapse_1")
    Wh = theano.shared(synapse_h, name="synapse_h")

    def step(x_t, h_prev, W0, Wh):
        # hidden layer (input ~+ prev_hidden)
        return T.nnet.sigmoid(T.dot(x_t, W0) + T.dot(h_prev, Wh))

    h0 = T.zeros((X.shape[0], hidden_dim))
    H, _ = theano.scan(step, sequences=X.dimshuffle(1, 0, 2), outputs_info=h0,
                       non_sequences=[W0, Wh])                  # H: (8, n, 16)
    out = T.nnet.sigmoid(T.dot(H, W1))                          # (8, n, 1)
    return out[:, :, 0].T, {"synapse_0": W0, "synapse_1": W1, "synapse_h": Wh}


def build_lasagne(X, synapse_0, synapse_1, synapse_h):
    """The same network from Lasagne's layers."""
    l_in = lasagne.layers.InputLayer((None, binary_dim, input_dim), input_var=X)
    l_rec = lasagne.layers.RecurrentLayer(
        l_in, hidden_dim, W_in_to_hid=synapse_0, W_hid_to_hid=synapse_h, b=None,
        nonlinearity=lasagne.nonlinearities.sigmoid)           # (n, 8, 16)
    l_steps = lasagne.layers.ReshapeLayer(l_rec, (-1, hidden_dim))   # (n * 8, 16)
    l_bit = lasagne.layers.DenseLayer(l_steps, output_dim, W=synapse_1, b=None,
                                      nonlinearity=lasagne.nonlinearities.sigmoid)
    l_out = lasagne.layers.ReshapeLayer(l_bit, (-1, binary_dim))    # (n, 8)
    assert len(lasagne.layers.get_all_params(l_out, trainable=True)) == 3   # no biases
    return lasagne.layers.get_output(l_out), {"synapse_0": l_rec.W_in_to_hid,
                                              "synapse_1": l_bit.W,
                                              "synapse_h": l_rec.W_hid_to_hid}


MODELS = {"scan": build_scan, "lasagne": build_lasagne}


# ---------------------------------------------------------------- the seed's numpy program

def seed_numpy(iterations, alpha, seed, print_every):
    """The seed's program (prints left out): its errors every ``print_every``
    iterations and its final weights."""
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def sigmoid_output_to_derivative(output):
        return output * (1 - output)

    rng = np.random.RandomState(seed)
    synapse_0, synapse_1, synapse_h = initial_weights(rng)
    synapse_0_update = np.zeros_like(synapse_0)
    synapse_1_update = np.zeros_like(synapse_1)
    synapse_h_update = np.zeros_like(synapse_h)
    errors = []
    for j in range(iterations):
        a_int = rng.randint(largest_number // 2)
        a = int2binary[a_int]
        b_int = rng.randint(largest_number // 2)
        b = int2binary[b_int]
        c = int2binary[a_int + b_int]
        overallError = 0
        layer_2_deltas = list()
        layer_1_values = list()
        layer_1_values.append(np.zeros(hidden_dim))
        for position in range(binary_dim):
            X = np.array([[a[binary_dim - position - 1], b[binary_dim - position - 1]]])
            y = np.array([[c[binary_dim - position - 1]]]).T
            layer_1 = sigmoid(np.dot(X, synapse_0) + np.dot(layer_1_values[-1], synapse_h))
            layer_2 = sigmoid(np.dot(layer_1, synapse_1))
            layer_2_error = y - layer_2
            layer_2_deltas.append((layer_2_error) * sigmoid_output_to_derivative(layer_2))
            overallError += np.abs(layer_2_error[0])
            layer_1_values.append(copy.deepcopy(layer_1))
        future_layer_1_delta = np.zeros(hidden_dim)
        for position in range(binary_dim):
            X = np.array([[a[position], b[position]]])
            layer_1 = layer_1_values[-position - 1]
            prev_layer_1 = layer_1_values[-position - 2]
            layer_2_delta = layer_2_deltas[-position - 1]
            layer_1_delta = (future_layer_1_delta.dot(synapse_h.T)
                             + layer_2_delta.dot(synapse_1.T)) * sigmoid_output_to_derivative(layer_1)
            synapse_1_update += np.atleast_2d(layer_1).T.dot(layer_2_delta)
            synapse_h_update += np.atleast_2d(prev_layer_1).T.dot(layer_1_delta)
            synapse_0_update += X.T.dot(layer_1_delta)
            future_layer_1_delta = layer_1_delta
        synapse_0 += synapse_0_update * alpha
        synapse_1 += synapse_1_update * alpha
        synapse_h += synapse_h_update * alpha
        synapse_0_update *= 0
        synapse_1_update *= 0
        synapse_h_update *= 0
        if j % print_every == 0:
            errors.append(float(overallError[0]))
    return errors, [synapse_0, synapse_1, synapse_h]


# ---------------------------------------------------------------- training

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="scan",
                        help="theano.scan by hand, or lasagne.layers.RecurrentLayer (default: scan)")
    parser.add_argument("--iterations", type=int, default=10000, help="training sums (seed: 10000)")
    parser.add_argument("--alpha", type=float, default=0.1, help="learning rate (seed: 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed (seed: 0)")
    parser.add_argument("--print-every", type=int, default=1000, help="(seed: 1000)")
    parser.add_argument("--heldout", type=int, default=200,
                        help="pairs never drawn in training, to test on (default: 200)")
    parser.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the seed's numpy program and compare (default: on)")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"          # the seed's numpy arithmetic is float64
    start = time.time()

    rng = np.random.RandomState(args.seed)    # the seed: np.random.seed(0)
    initial = initial_weights(rng)
    X = T.tensor3("X")                        # (sums, 8 steps, 2 bits)
    Y = T.matrix("Y")                         # (sums, 8 bits)
    out, weights = MODELS[args.model](X, *[w.copy() for w in initial])
    params = list(weights.values())
    loss = 0.5 * T.sum((Y - out) ** 2)        # what the seed's deltas are the gradient of
    overall_error = T.sum(abs(Y - out))
    grads = T.grad(loss, params)
    train = theano.function([X, Y], [overall_error, out],
                            updates=[(p, p - args.alpha * g) for p, g in zip(params, grads)])
    predict = theano.function([X], out)

    errors, seen = [], set()
    for j in range(args.iterations):
        a_int = rng.randint(largest_number // 2)
        b_int = rng.randint(largest_number // 2)
        seen.add((a_int, b_int))
        x, y = encode([a_int], [b_int])
        err, bits = train(x, y)
        # print out progress
        if j % args.print_every == 0:
            errors.append(float(err))
            d = np.round(bits[0, ::-1]).astype(np.uint8)
            print("Error:" + str(np.array([err])))
            print("Pred:" + str(d))
            print("True:" + str(int2binary[a_int + b_int]))
            print(str(a_int) + " + " + str(b_int) + " = " + str(decode(bits)[0]))
            print("------------")
    train_time = time.time() - start

    # every pair a, b < 128 in one call; the held-out ones were never drawn in training
    a_all, b_all = np.divmod(np.arange((largest_number // 2) ** 2), largest_number // 2)
    x_all, _ = encode(a_all, b_all)
    right = decode(predict(x_all)) == a_all + b_all
    unseen = np.array([(a, b) not in seen for a, b in zip(a_all, b_all)])
    heldout = np.random.RandomState(args.seed + 1).choice(
        np.flatnonzero(unseen), size=min(args.heldout, int(unseen.sum())), replace=False)
    accuracy_all, accuracy_heldout = float(right.mean()), float(right[heldout].mean())
    print("%s: %d of %d held-out sums right (accuracy %.3f; all %d pairs below 128: %.4f), "
          "%.1f s" % (args.model, right[heldout].sum(), len(heldout), accuracy_heldout,
                      len(right), accuracy_all, train_time))
    result = {"model": args.model, "errors": errors, "accuracy_heldout": accuracy_heldout,
              "n_heldout": int(len(heldout)), "accuracy_all": accuracy_all,
              "seconds": train_time}

    if args.reference:
        ref_errors, ref_weights = seed_numpy(args.iterations, args.alpha, args.seed,
                                             args.print_every)
        result["reference_errors"] = ref_errors
        result["error_diff"] = float(np.max(np.abs(np.subtract(errors, ref_errors))))
        result["weight_diff"] = float(max(
            np.max(np.abs(weights[name].get_value() - w))
            for name, w in zip(["synapse_0", "synapse_1", "synapse_h"], ref_weights)))
        print("the seed's numpy program: errors %s; largest difference of the errors %.2g, "
              "of the final weights %.2g" % (", ".join("%.4f" % e for e in ref_errors),
                                             result["error_diff"], result["weight_diff"]))
    return result


if __name__ == "__main__":
    main()
