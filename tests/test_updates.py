"""Update rules over several steps against plain-numpy float64 implementations of
Lasagne's formulas, written out below (not torch.optim's, which differ for
RMSProp's epsilon, Adam's bias correction and Nesterov's reformulation)."""
import inspect
from collections import OrderedDict

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import updates

STEPS = 6
A = np.array([[1.0, 2.0], [0.5, 3.0], [1.5, 0.25]])
B = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]])
C = np.array([[0.1, -0.3]])
W0 = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]])
b0 = np.array([[0.8, -0.6]])


def numpy_grads(W, b):
    """Gradients of the loss of ``symbolic_loss``."""
    return A * W + B, b ** 3 + C


def symbolic_loss(W, b):
    return 0.5 * T.sum(A * W ** 2) + T.sum(B * W) + T.sum(b ** 4) / 4 + T.sum(C * b)


# -- the reference rules: state is a dict per parameter, t is the step count --

def ref_sgd(p, g, s, t, learning_rate):
    return p - learning_rate * g


def ref_momentum(p, g, s, t, learning_rate, momentum=0.9):
    v = momentum * s.get("v", 0) - learning_rate * g
    s["v"] = v
    return p + v


def ref_nesterov_momentum(p, g, s, t, learning_rate, momentum=0.9):
    v = momentum * s.get("v", 0) - learning_rate * g
    s["v"] = v
    return p + momentum * v - learning_rate * g


def ref_adagrad(p, g, s, t, learning_rate=1.0, epsilon=1e-6):
    s["a"] = s.get("a", 0) + g ** 2
    return p - learning_rate * g / np.sqrt(s["a"] + epsilon)


def ref_rmsprop(p, g, s, t, learning_rate=1.0, rho=0.9, epsilon=1e-6):
    s["a"] = rho * s.get("a", 0) + (1 - rho) * g ** 2
    return p - learning_rate * g / np.sqrt(s["a"] + epsilon)


def ref_adadelta(p, g, s, t, learning_rate=1.0, rho=0.95, epsilon=1e-6):
    s["a"] = rho * s.get("a", 0) + (1 - rho) * g ** 2
    step = g * np.sqrt(s.get("d", 0) + epsilon) / np.sqrt(s["a"] + epsilon)
    s["d"] = rho * s.get("d", 0) + (1 - rho) * step ** 2
    return p - learning_rate * step


def ref_adam(p, g, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    s["m"] = beta1 * s.get("m", 0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0) + (1 - beta2) * g ** 2
    a_t = learning_rate * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    return p - a_t * s["m"] / (np.sqrt(s["v"]) + epsilon)


def ref_adamax(p, g, s, t, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8):
    s["m"] = beta1 * s.get("m", 0) + (1 - beta1) * g
    s["u"] = np.maximum(beta2 * s.get("u", 0), np.abs(g))
    return p - learning_rate / (1 - beta1 ** t) * s["m"] / (s["u"] + epsilon)


def ref_amsgrad(p, g, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    s["m"] = beta1 * s.get("m", 0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0) + (1 - beta2) * g ** 2
    s["vhat"] = np.maximum(s.get("vhat", 0), s["v"])
    a_t = learning_rate * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    return p - a_t * s["m"] / (np.sqrt(s["vhat"]) + epsilon)


REFERENCES = {
    "sgd": ref_sgd, "momentum": ref_momentum, "nesterov_momentum": ref_nesterov_momentum,
    "adagrad": ref_adagrad, "rmsprop": ref_rmsprop, "adadelta": ref_adadelta,
    "adam": ref_adam, "adamax": ref_adamax, "amsgrad": ref_amsgrad,
}

# (name, hyperparameters): the defaults where a rule has them, then other values
CASES = [
    ("sgd", {"learning_rate": 0.1}),
    ("momentum", {"learning_rate": 0.05}),
    ("momentum", {"learning_rate": 0.05, "momentum": 0.5}),
    ("nesterov_momentum", {"learning_rate": 0.05}),
    ("nesterov_momentum", {"learning_rate": 0.05, "momentum": 0.7}),
    ("adagrad", {}),
    ("adagrad", {"learning_rate": 0.1, "epsilon": 1e-3}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "rho": 0.5, "epsilon": 1e-2}),
    ("adadelta", {}),
    ("adadelta", {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-3}),
    ("adam", {}),
    ("adam", {"learning_rate": 0.1, "beta1": 0.8, "beta2": 0.9, "epsilon": 1e-4}),
    ("adamax", {}),
    ("adamax", {"learning_rate": 0.1, "beta1": 0.8, "beta2": 0.9, "epsilon": 1e-4}),
    ("amsgrad", {}),
    ("amsgrad", {"learning_rate": 0.1, "beta1": 0.8, "beta2": 0.9, "epsilon": 1e-4}),
]


@pytest.fixture
def float64():
    old = theano.config.floatX
    theano.config.floatX = "float64"
    yield
    theano.config.floatX = old


def reference_run(name, hyper, steps=STEPS, schedule=None):
    rule = REFERENCES[name]
    W, b = W0.copy(), b0.copy()
    states = ({}, {})
    history = []
    for t in range(1, steps + 1):
        if schedule:
            hyper = dict(hyper, **schedule(t))
        gW, gb = numpy_grads(W, b)
        W = rule(W, gW, states[0], t, **hyper)
        b = rule(b, gb, states[1], t, **hyper)
        history.append((W.copy(), b.copy()))
    return history


def make_params():
    W = theano.shared(W0.copy(), name="W")
    b = theano.shared(b0.copy(), name="b", broadcastable=(True, False))
    return W, b


@pytest.mark.parametrize("name, hyper", CASES,
                         ids=[f"{n}-{'defaults' if len(h) <= 1 else 'custom'}" for n, h in CASES])
def test_rule_against_numpy_over_several_steps(name, hyper, backend, float64):
    W, b = make_params()
    ups = getattr(updates, name)(symbolic_loss(W, b), [W, b], **hyper)
    assert isinstance(ups, OrderedDict)
    assert W in ups and b in ups and all(isinstance(k, theano.SharedVariable) for k in ups)
    step = theano.function([], [], updates=ups, backend=backend.name)
    for t, (W_ref, b_ref) in enumerate(reference_run(name, hyper), start=1):
        step()
        np.testing.assert_allclose(W.get_value(), W_ref, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name} W after step {t}")
        np.testing.assert_allclose(b.get_value(), b_ref, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name} b after step {t}")


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov_momentum", "rmsprop", "adam"])
def test_hyperparameters_as_shared_variables(name, backend, float64):
    """A shared learning rate changed between steps is read on the next step."""
    W, b = make_params()
    lr = theano.shared(0.05, name="lr")
    ups = getattr(updates, name)(symbolic_loss(W, b), [W, b], learning_rate=lr)
    step = theano.function([], [], updates=ups, backend=backend.name)

    def schedule(t):
        return {"learning_rate": 0.05 if t <= 3 else 0.01}

    for t, (W_ref, b_ref) in enumerate(reference_run(name, {"learning_rate": 0.05},
                                                     schedule=schedule), start=1):
        lr.set_value(schedule(t)["learning_rate"])
        step()
        np.testing.assert_allclose(W.get_value(), W_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b.get_value(), b_ref, rtol=1e-10, atol=1e-12)


def test_shared_momentum_and_betas(backend, float64):
    W, b = make_params()
    mom, beta1 = theano.shared(0.5), theano.shared(0.8)
    ups = updates.nesterov_momentum(symbolic_loss(W, b), [W, b], 0.05, momentum=mom)
    W2, b2 = make_params()
    ups.update(updates.adam(symbolic_loss(W2, b2), [W2, b2], 0.1, beta1=beta1))
    step = theano.function([], [], updates=ups, backend=backend.name)
    ref_n = reference_run("nesterov_momentum", {"learning_rate": 0.05, "momentum": 0.5})
    ref_a = reference_run("adam", {"learning_rate": 0.1, "beta1": 0.8})
    for (Wn, bn), (Wa, ba) in zip(ref_n, ref_a):
        step()
        np.testing.assert_allclose(W.get_value(), Wn, rtol=1e-10)
        np.testing.assert_allclose(W2.get_value(), Wa, rtol=1e-10)


def test_precomputed_gradients_and_apply_momentum_to_some_params(backend, float64):
    W, b = make_params()
    grads = T.grad(symbolic_loss(W, b), [W, b])
    ups = updates.sgd(grads, [W, b], 0.1)
    ups = updates.apply_nesterov_momentum(ups, params=[W], momentum=0.9)
    assert len(ups) == 3                      # W, b and W's velocity only
    step = theano.function([], [], updates=ups, backend=backend.name)
    ref_W = reference_run("nesterov_momentum", {"learning_rate": 0.1, "momentum": 0.9})
    ref_b = reference_run("sgd", {"learning_rate": 0.1})
    for (W_ref, _), (_, b_ref) in zip(ref_W, ref_b):
        step()
        np.testing.assert_allclose(W.get_value(), W_ref, rtol=1e-10)
        np.testing.assert_allclose(b.get_value(), b_ref, rtol=1e-10)


def test_apply_momentum_returns_a_new_dict_with_velocities_after_params():
    W, b = make_params()
    sgd = updates.sgd(symbolic_loss(W, b), [W, b], 0.1)
    out = updates.apply_momentum(sgd)
    assert out is not sgd and len(sgd) == 2
    keys = list(out)
    assert keys[:2] == [W, b] and len(keys) == 4
    for velocity in keys[2:]:
        assert isinstance(velocity, theano.SharedVariable)
        assert (velocity.get_value() == 0).all()
    # state keeps each parameter's dtype and broadcastable pattern
    assert keys[3].broadcastable == (True, False) and keys[3].dtype == b.dtype


def test_float32_parameters_stay_float32(backend):
    W = theano.shared(W0.astype("float32"))
    b = theano.shared(b0.astype("float32"), broadcastable=(True, False))
    for name, hyper in CASES:
        ups = getattr(updates, name)(symbolic_loss(W, b), [W, b], **hyper)
        for var, expr in ups.items():
            assert expr.dtype == var.dtype == "float32", (name, var)
    step = theano.function([], [], updates=updates.adam(symbolic_loss(W, b), [W, b]),
                           backend=backend.name)
    step()
    assert W.get_value().dtype == np.float32


def test_lasagne_defaults():
    expected = {
        "sgd": {},
        "momentum": {"momentum": 0.9},
        "nesterov_momentum": {"momentum": 0.9},
        "apply_momentum": {"params": None, "momentum": 0.9},
        "apply_nesterov_momentum": {"params": None, "momentum": 0.9},
        "adagrad": {"learning_rate": 1.0, "epsilon": 1e-6},
        "rmsprop": {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},
        "adadelta": {"learning_rate": 1.0, "rho": 0.95, "epsilon": 1e-6},
        "adam": {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        "adamax": {"learning_rate": 0.002, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        "amsgrad": {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        "norm_constraint": {"norm_axes": None, "epsilon": 1e-7},
        "total_norm_constraint": {"epsilon": 1e-7, "return_norm": False},
    }
    for name, defaults in expected.items():
        params = inspect.signature(getattr(updates, name)).parameters.values()
        got = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        assert got == defaults, name


def test_get_or_compute_grads():
    W, b = make_params()
    grads = [W * 2, b * 2]
    assert updates.get_or_compute_grads(grads, [W, b]) is grads
    assert len(updates.get_or_compute_grads(symbolic_loss(W, b), [W, b])) == 2
    with pytest.raises(ValueError, match="got 1 gradient expressions for 2 parameters"):
        updates.get_or_compute_grads([W], [W, b])
    with pytest.raises(ValueError, match="params must contain shared variables only"):
        updates.sgd(T.sum(W), [W, T.dmatrix("x")], 0.1)


# -- norm constraints ---------------------------------------------------------

def ref_norm_constraint(x, max_norm, axes, epsilon=1e-7):
    norms = np.sqrt((x ** 2).sum(axis=axes, keepdims=True))
    return x * (np.clip(norms, 0, max_norm) / (epsilon + norms))


@pytest.mark.parametrize("shape, norm_axes, default_axes", [
    ((5, 4), None, (0,)),
    ((3, 4, 5), None, (1, 2)),
    ((2, 3, 4, 5), None, (1, 2, 3)),
    ((5, 4), (1,), (1,)),
])
def test_norm_constraint(shape, norm_axes, default_axes, backend):
    rng = np.random.RandomState(0)
    value = rng.randn(*shape) * rng.choice([0.1, 3.0], size=shape[:1] + (1,) * (len(shape) - 1))
    x = T.TensorType("float64", shape=(None,) * len(shape))("x")
    f = theano.function([x], updates.norm_constraint(x, 2.0, norm_axes=norm_axes),
                        backend=backend.name)
    out = f(value)
    np.testing.assert_allclose(out, ref_norm_constraint(value, 2.0, default_axes), rtol=1e-12)
    assert (np.sqrt((out ** 2).sum(axis=default_axes)) <= 2.0 + 1e-9).all()


def test_norm_constraint_needs_axes_for_other_ranks():
    with pytest.raises(ValueError, match="unsupported tensor dimensionality 1"):
        updates.norm_constraint(T.dvector(), 1.0)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_total_norm_constraint(max_norm, backend):
    a, b = T.dmatrix("a"), T.dvector("b")
    va, vb = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([4.0, -1.0, 0.25])
    scaled, norm = updates.total_norm_constraint([a, b], max_norm, return_norm=True)
    f = theano.function([a, b], scaled + [norm], backend=backend.name)
    out_a, out_b, out_norm = f(va, vb)
    total = np.sqrt((va ** 2).sum() + (vb ** 2).sum())
    factor = min(total, max_norm) / (1e-7 + total)
    np.testing.assert_allclose(out_norm, total, rtol=1e-12)
    np.testing.assert_allclose(out_a, va * factor, rtol=1e-12)
    np.testing.assert_allclose(out_b, vb * factor, rtol=1e-12)
    assert len(updates.total_norm_constraint([a, b], 1.0)) == 2
