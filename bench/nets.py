"""The benchmark nets, defined twice: with layerkit (as the seeds write them) and
with PyTorch (the reference). Batch 128, float32; a train step and an inference pass."""
from __future__ import annotations

import numpy as np

BATCH = 128
NETS = ["logreg", "mlp_old", "mlp_modern", "convnet", "lasagne_cnn"]
INPUT = {"logreg": (784,), "mlp_old": (784,), "mlp_modern": (784,), "convnet": (1, 28, 28),
         "lasagne_cnn": (3, 32, 32)}


def data(net: str, seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.rand(BATCH, *INPUT[net]).astype("float32")
    y = rng.randint(0, 10, BATCH).astype("int64")
    return X, y


def flops(net: str) -> float:
    """Multiply-adds x 2 of one forward pass (matmuls and convolutions only)."""
    def mm(*dims):
        total = 0
        for a, b in zip(dims, dims[1:]):
            total += 2 * BATCH * a * b
        return total

    def conv(c, o, k, h, w):  # output size h x w
        return 2 * BATCH * o * c * k * k * h * w
    return {
        "logreg": mm(784, 10),
        "mlp_old": mm(784, 625, 10),
        "mlp_modern": mm(784, 625, 625, 10),
        "convnet": conv(1, 32, 3, 30, 30) + conv(32, 64, 3, 13, 13) + conv(64, 128, 3, 5, 5)
        + mm(128 * 9, 625, 10),
        "lasagne_cnn": conv(3, 64, 3, 30, 30) + conv(64, 32, 3, 28, 28) + mm(32 * 13 * 13, 128, 10),
    }[net]


# -- layerkit ------------------------------------------------------------------

def layerkit_net(net: str, backend: str = "numpy"):
    """(train(X, y) -> loss, predict(X) -> classes) compiled with layerkit."""
    import layerkit as lasagne
    import layerkit.core as theano
    import layerkit.core.tensor as T
    from layerkit.core.tensor.nnet import conv2d
    from layerkit.core.tensor.signal.downsample import max_pool_2d

    lasagne.random.seed(0)
    rng = np.random.RandomState(0)
    srng = theano.RandomStreams(0)

    def init_weights(shape):
        return theano.shared(np.asarray(rng.randn(*shape) * 0.01, dtype="float32"))

    def rectify(x):
        return T.maximum(x, 0.0)

    def dropout(x, p):
        if p > 0:
            retain = 1 - p
            x = x * srng.binomial(x.shape, p=retain, dtype="float32") / retain
        return x

    def rmsprop(cost, params, lr=0.001, rho=0.9, epsilon=1e-6):
        grads = T.grad(cost=cost, wrt=params)
        updates = []
        for p, g in zip(params, grads):
            acc = theano.shared(p.get_value() * 0.0)
            acc_new = rho * acc + (1 - rho) * g ** 2
            g = g / T.sqrt(acc_new + epsilon)
            updates += [(acc, acc_new), (p, p - lr * g)]
        return updates

    def sgd(cost, params, lr=0.05):
        return [(p, p - lr * g) for p, g in zip(params, T.grad(cost=cost, wrt=params))]

    Y = T.ivector("Y")
    if net == "lasagne_cnn":
        from layerkit.nonlinearities import leaky_rectify, softmax
        X = T.tensor4("X")
        network = lasagne.layers.InputLayer((None, 3, 32, 32), X)
        network = lasagne.layers.Conv2DLayer(network, 64, (3, 3), nonlinearity=leaky_rectify)
        network = lasagne.layers.Conv2DLayer(network, 32, (3, 3), nonlinearity=leaky_rectify)
        network = lasagne.layers.Pool2DLayer(network, (3, 3), stride=2, mode="max")
        network = lasagne.layers.DenseLayer(lasagne.layers.dropout(network, 0.5), 128,
                                            nonlinearity=leaky_rectify, W=lasagne.init.Orthogonal())
        network = lasagne.layers.DenseLayer(lasagne.layers.dropout(network, 0.5), 10,
                                            nonlinearity=softmax)
        prediction = lasagne.layers.get_output(network)
        loss = lasagne.objectives.categorical_crossentropy(prediction, Y)
        loss = loss.mean() + 1e-4 * lasagne.regularization.regularize_network_params(
            network, lasagne.regularization.l2)
        params = lasagne.layers.get_all_params(network, trainable=True)
        updates = lasagne.updates.nesterov_momentum(loss, params, learning_rate=0.01, momentum=0.9)
        test = T.argmax(lasagne.layers.get_output(network, deterministic=True), axis=1)
    elif net == "convnet":
        X = T.ftensor4("X")
        w, w2, w3 = init_weights((32, 1, 3, 3)), init_weights((64, 32, 3, 3)), \
            init_weights((128, 64, 3, 3))
        w4, w_o = init_weights((128 * 3 * 3, 625)), init_weights((625, 10))

        def model(X, p_conv, p_hidden):
            l1 = dropout(max_pool_2d(rectify(conv2d(X, w, border_mode="full")), (2, 2)), p_conv)
            l2 = dropout(max_pool_2d(rectify(conv2d(l1, w2)), (2, 2)), p_conv)
            l3 = dropout(T.flatten(max_pool_2d(rectify(conv2d(l2, w3)), (2, 2)), outdim=2), p_conv)
            l4 = dropout(rectify(T.dot(l3, w4)), p_hidden)
            return T.nnet.softmax(T.dot(l4, w_o))
        params = [w, w2, w3, w4, w_o]
        loss = T.mean(T.nnet.categorical_crossentropy(model(X, 0.2, 0.5), Y))
        updates = rmsprop(loss, params)
        test = T.argmax(model(X, 0.0, 0.0), axis=1)
    else:
        X = T.fmatrix("X")
        if net == "logreg":
            w = init_weights((784, 10))
            params, out, test_out = [w], T.nnet.softmax(T.dot(X, w)), None
            updates_fn = sgd
        elif net == "mlp_old":
            w_h, w_o = init_weights((784, 625)), init_weights((625, 10))
            params = [w_h, w_o]
            out = T.nnet.softmax(T.dot(T.nnet.sigmoid(T.dot(X, w_h)), w_o))
            test_out, updates_fn = None, sgd
        else:
            w_h, w_h2, w_o = init_weights((784, 625)), init_weights((625, 625)), init_weights((625, 10))
            params = [w_h, w_h2, w_o]

            def model(X, p_in, p_hidden):
                h = rectify(T.dot(dropout(X, p_in), w_h))
                h2 = rectify(T.dot(dropout(h, p_hidden), w_h2))
                return T.nnet.softmax(T.dot(dropout(h2, p_hidden), w_o))
            out, test_out, updates_fn = model(X, 0.2, 0.5), model(X, 0.0, 0.0), rmsprop
        loss = T.mean(T.nnet.categorical_crossentropy(out, Y))
        updates = updates_fn(loss, params)
        test = T.argmax(test_out if test_out is not None else out, axis=1)
    train = theano.function([X, Y], loss, updates=updates, allow_input_downcast=True, backend=backend)
    predict = theano.function([X], test, allow_input_downcast=True, backend=backend)
    return (lambda x, y: train(x, y.astype("int32"))), predict


# -- PyTorch ---------------------------------------------------------------------

def torch_net(net: str):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    if net == "logreg":
        model = nn.Sequential(nn.Linear(784, 10, bias=False))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
    elif net == "mlp_old":
        model = nn.Sequential(nn.Linear(784, 625, bias=False), nn.Sigmoid(),
                              nn.Linear(625, 10, bias=False))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
    elif net == "mlp_modern":
        model = nn.Sequential(nn.Dropout(0.2), nn.Linear(784, 625, bias=False), nn.ReLU(),
                              nn.Dropout(0.5), nn.Linear(625, 625, bias=False), nn.ReLU(),
                              nn.Dropout(0.5), nn.Linear(625, 10, bias=False))
        opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-6)
    elif net == "convnet":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=2, bias=False), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Dropout(0.2),
            nn.Conv2d(32, 64, 3, bias=False), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Dropout(0.2),
            nn.Conv2d(64, 128, 3, bias=False), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Flatten(), nn.Dropout(0.2),
            nn.Linear(128 * 9, 625, bias=False), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(625, 10, bias=False))
        opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-6)
    else:
        model = nn.Sequential(
            nn.Conv2d(3, 64, 3), nn.LeakyReLU(0.01), nn.Conv2d(64, 32, 3), nn.LeakyReLU(0.01),
            nn.MaxPool2d(3, stride=2), nn.Flatten(), nn.Dropout(0.5),
            nn.Linear(32 * 13 * 13, 128), nn.LeakyReLU(0.01), nn.Dropout(0.5), nn.Linear(128, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                              weight_decay=2e-4)

    def train(x, y):
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
        return loss.item()

    def predict(x):
        model.eval()
        with torch.no_grad():
            return model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return train, predict
