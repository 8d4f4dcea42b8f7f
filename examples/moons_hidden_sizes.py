"""Seed 002, "Building a Neural Net": the numpy 3-layer net on two moons, in layerkit.

What the seed did: ``make_moons(200, noise=0.20)`` after ``np.random.seed(0)``;
a scikit-learn ``LogisticRegressionCV`` as the linear baseline; then a
2 -> nn_hdim tanh -> 2 softmax network written in numpy with hand-derived
backpropagation: full-batch gradient descent on the summed cross-entropy plus
``reg_lambda / 2`` times the squared weights (epsilon = 0.01,
reg_lambda = 0.01), weights ``randn / sqrt(fan_in)`` after
``np.random.seed(0)``, biases 0, 20000 passes, printing the mean loss every
1000 passes for ``build_model(3, print_loss=True)``; then it trains hidden
sizes 1, 2, 3, 4, 5, 20, 50 to plot their decision boundaries. It published
plots, no number.

What was rewritten: the same program with the hand-written backward pass
replaced by ``T.grad``: ``calculate_loss``, ``predict`` and ``build_model``
keep their names, signatures and numbers, but the forward pass is a layerkit
graph over shared ``W1, b1, W2, b2`` and one compiled ``train`` function
applies ``W -= epsilon * dW`` for all four (``dW`` = the gradient of the
summed loss + regularisation, which is exactly what the seed's ``delta``
formulas compute). We report the training accuracy of each model (the seed
showed plots), and also check the first gradient step against the seed's
own numpy formulas.

What changed: plots are left out; ``config.floatX = "float64"`` keeps the
seed's float64 arithmetic. The seed's size (8 x 20000 full-batch steps)
takes about 45 s here, so it is the default.

    python examples/moons_hidden_sizes.py
"""
import argparse
import warnings

import numpy as np
import sklearn
import sklearn.datasets
import sklearn.linear_model

import layerkit.core as theano
import layerkit.core.tensor as T


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20000, help="num_passes (seed: 20000)")
    parser.add_argument("--sizes", default="1,2,3,4,5,20,50",
                        help="hidden layer sizes to compare (seed: 1,2,3,4,5,20,50; '' for none)")
    parser.add_argument("--size-passes", type=int, default=20000,
                        help="num_passes for each size compared (seed: 20000)")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"

    np.random.seed(0)
    X, y = sklearn.datasets.make_moons(200, noise=0.20)

    clf = sklearn.linear_model.LogisticRegressionCV()
    with warnings.catch_warnings():           # scikit-learn's notices of coming default changes
        warnings.simplefilter("ignore", FutureWarning)
        clf.fit(X, y)
    logistic_accuracy = float(np.mean(clf.predict(X) == y))
    print("Logistic regression: training accuracy %.3f" % logistic_accuracy)

    num_examples = len(X) # training set size
    nn_input_dim = 2 # input layer dimensionality
    nn_output_dim = 2 # output layer dimensionality

    epsilon = 0.01 # learning rate for gradient descent
    reg_lambda = 0.01 # regularization strength

    # the network as a layerkit graph (the seed: numpy forward and backward passes)
    x = T.matrix("x")
    labels = T.ivector("labels")
    W1, b1 = theano.shared(np.zeros((2, 1)), "W1"), theano.shared(np.zeros((1, 1)), "b1")
    W2, b2 = theano.shared(np.zeros((1, 2)), "W2"), theano.shared(np.zeros((1, 2)), "b2")
    z1 = T.dot(x, W1) + T.addbroadcast(b1, 0)
    a1 = T.tanh(z1)
    z2 = T.dot(a1, W2) + T.addbroadcast(b2, 0)
    exp_scores = T.exp(z2)
    probs = exp_scores / T.sum(exp_scores, axis=1, keepdims=True)
    corect_logprobs = -T.log(probs[T.arange(labels.shape[0]), labels])
    data_loss = T.sum(corect_logprobs)
    data_loss += reg_lambda/2 * (T.sum(T.sqr(W1)) + T.sum(T.sqr(W2)))
    params = [W1, b1, W2, b2]
    grads = T.grad(data_loss, params)
    train = theano.function([x, labels], data_loss,
                            updates=[(p, p - epsilon * g) for p, g in zip(params, grads)])
    loss_fn = theano.function([x, labels], data_loss)
    predict_fn = theano.function([x], T.argmax(probs, axis=1))
    y32 = y.astype("int32")

    def set_model(model):
        for p in params:
            p.set_value(model[p.name])

    def calculate_loss(model):
        set_model(model)
        return (1./num_examples * float(loss_fn(X, y32)))

    def predict(model, x):
        set_model(model)
        return predict_fn(x)

    def build_model(nn_hdim, num_passes=20000, print_loss=False):
        np.random.seed(0)
        W1 = np.random.randn(nn_input_dim, nn_hdim) / np.sqrt(nn_input_dim)
        b1 = np.zeros((1, nn_hdim))
        W2 = np.random.randn(nn_hdim, nn_output_dim) / np.sqrt(nn_hdim)
        b2 = np.zeros((1, nn_output_dim))
        model = { 'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}
        set_model(model)
        for i in range(0, num_passes):
            train(X, y32)
            if print_loss and i % 1000 == 0:
                model = {p.name: p.get_value() for p in params}
                print("Loss after iteration %i: %f" %(i, calculate_loss(model)))
        return {p.name: p.get_value() for p in params}

    def seed_numpy_step(model):
        """One step of the seed's own numpy backpropagation, for comparison."""
        W1, b1, W2, b2 = (model[k].copy() for k in ("W1", "b1", "W2", "b2"))
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        exp_scores = np.exp(z2)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        delta3 = probs
        delta3[range(num_examples), y] -= 1
        dW2 = (a1.T).dot(delta3)
        db2 = np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1 = np.dot(X.T, delta2)
        db1 = np.sum(delta2, axis=0)
        dW2 += reg_lambda * W2
        dW1 += reg_lambda * W1
        W1 += -epsilon * dW1
        b1 += -epsilon * db1
        W2 += -epsilon * dW2
        b2 += -epsilon * db2
        return { 'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}

    # the seed's gradient formulas and T.grad agree (one step from the seed's init)
    start = build_model(3, num_passes=0)
    ours = build_model(3, num_passes=1)
    theirs = seed_numpy_step(start)
    step_diff = max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours)
    print("one step, T.grad vs the seed's numpy backprop: max difference %.2e" % step_diff)

    first_loss = calculate_loss(start)
    model = build_model(3, num_passes=args.passes, print_loss=True)
    accuracy = float(np.mean(predict(model, X) == y))
    loss = calculate_loss(model)
    print("Hidden layer size 3: loss %.4f, training accuracy %.3f" % (loss, accuracy))

    by_size = {}
    hidden_layer_dimensions = [int(s) for s in args.sizes.split(",") if s.strip()]
    for i, nn_hdim in enumerate(hidden_layer_dimensions):
        model = build_model(nn_hdim, num_passes=args.size_passes)
        by_size[nn_hdim] = float(np.mean(predict(model, X) == y))
        print('Hidden Layer size %d: training accuracy %.3f' % (nn_hdim, by_size[nn_hdim]))

    return {"logistic_accuracy": logistic_accuracy, "accuracy": accuracy, "loss": loss,
            "first_loss": first_loss, "step_diff": step_diff, "by_size": by_size}


if __name__ == "__main__":
    main()
