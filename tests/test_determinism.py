"""layerkit.random.seed(n) makes a whole training run (initialisation and
dropout) bitwise reproducible on the numpy backend, within one process and
across processes; it also seeds every RandomStreams created afterwards."""
import hashlib
import os
import subprocess
import sys

import numpy as np

import layerkit as lasagne
import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.random import RandomStreams, get_default_seed, set_default_seed


def _train(seed, steps=25):
    lasagne.random.seed(seed)
    net = lasagne.layers.InputLayer((None, 6))
    net = lasagne.layers.DenseLayer(net, 16)
    net = lasagne.layers.DropoutLayer(net, p=0.3)
    net = lasagne.layers.DenseLayer(net, 3, nonlinearity=lasagne.nonlinearities.softmax)
    y = T.ivector("y")
    loss = lasagne.objectives.categorical_crossentropy(lasagne.layers.get_output(net), y).mean()
    params = lasagne.layers.get_all_params(net, trainable=True)
    x = lasagne.layers.get_all_layers(net)[0].input_var
    train = theano.function([x, y], loss, backend="numpy",
                            updates=lasagne.updates.adam(loss, params, learning_rate=0.01))
    data = np.random.RandomState(0)
    X = data.rand(32, 6).astype("float32")
    Y = data.randint(0, 3, 32).astype("int32")
    for _ in range(steps):
        train(X, Y)
    return lasagne.layers.get_all_param_values(net)


def _digest(values):
    return hashlib.sha256(b"".join(v.tobytes() for v in values)).hexdigest()


def test_same_seed_gives_bitwise_identical_parameters():
    a, b = _train(7), _train(7)
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()


def test_another_seed_gives_other_parameters():
    a, b = _train(7), _train(8)
    assert any(x.tobytes() != y.tobytes() for x, y in zip(a, b))


def test_seed_also_seeds_new_random_streams():
    old = get_default_seed()
    try:
        def draw(seed):
            lasagne.random.seed(seed)
            u = RandomStreams().uniform((5,))
            mask = RandomStreams().binomial((5,), p=0.5)
            return theano.function([], [u, mask], backend="numpy")()
        a, b, c = draw(3), draw(3), draw(4)
        assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
        assert a[0].tobytes() != c[0].tobytes()
    finally:
        set_default_seed(old)


def test_identical_across_processes():
    """Nothing may depend on hash randomisation, ids or dict order of a process."""
    script = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
              "import test_determinism as t; print(t._digest(t._train(11, steps=10)))")
    digests = set()
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed, LAYERKIT_BACKEND="numpy")
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, timeout=300, check=True)
        digests.add(out.stdout.strip().splitlines()[-1])
    assert len(digests) == 1
    assert digests == {_digest(_train(11, steps=10))}
