"""Recurrent layers (CustomRecurrentLayer, RecurrentLayer, LSTMLayer, GRULayer, Gate).

Each layer's output and its gradients (w.r.t. the input and every trainable
parameter) against a numpy float64 loop written here, differentiated by central
differences; masks, backwards, only_return_final, learn_init, precompute_input,
unroll_scan, initial states given as layers, truncated back-propagation
(gradient_steps) and grad_clipping; PyTorch's nn.RNN / nn.LSTM / nn.GRU with the
weights copied (when torch is installed); Lasagne's signatures, parameter names,
shapes and order, and a Lasagne-format parameter list loaded with
set_all_param_values.
"""
import inspect
import warnings

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init, layers, nonlinearities
from layerkit.layers import (Conv2DLayer, CustomRecurrentLayer, DenseLayer, DropoutLayer, Gate,
                             GRULayer, InputLayer, LSTMLayer, RecurrentLayer, ReshapeLayer,
                             get_all_param_values, get_all_params, get_output,
                             set_all_param_values)
from layerkit.testing import verify_grad
from layerkit.testing.plugin import QUICK_BACKENDS

B, STEPS, F, U = 2, 4, 3, 3          # batch, steps, features, units: small on purpose


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def build(kind, l_in, **kw):
    if kind == "rnn":
        kw.setdefault("nonlinearity", nonlinearities.tanh)   # smooth, for finite differences
        return RecurrentLayer(l_in, U, **kw)
    return {"lstm": LSTMLayer, "gru": GRULayer}[kind](l_in, U, **kw)


def randomize(layer, seed=0, scale=0.6):
    """Random values for every parameter (peepholes and initial states included)."""
    rng = np.random.RandomState(seed)
    for p in layer.get_params():
        p.set_value(rng.uniform(-scale, scale, p.get_value().shape))
    return {p.name: p.get_value() for p in layer.get_params()}


def mask_values():
    # a hole inside the first sequence (not only padding at the end), a shorter second one
    return np.array([[1, 1, 0, 1], [1, 1, 1, 0]], dtype="float64")


# -- the numpy reference ---------------------------------------------------------------------

def rnn_step(P):
    def step(x_t, h):
        return [np.tanh(x_t @ P["input_to_hidden.W"] + P["input_to_hidden.b"]
                        + h @ P["hidden_to_hidden.W"])]
    return step


def lstm_step(P, peepholes=True):
    def gate(name, x_t, h):
        return x_t @ P[f"W_in_to_{name}"] + h @ P[f"W_hid_to_{name}"] + P[f"b_{name}"]

    def step(x_t, c, h):
        i, f = gate("ingate", x_t, h), gate("forgetgate", x_t, h)
        o = gate("outgate", x_t, h)
        if peepholes:
            i, f = i + c * P["W_cell_to_ingate"], f + c * P["W_cell_to_forgetgate"]
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(gate("cell", x_t, h))
        if peepholes:
            o = o + c_new * P["W_cell_to_outgate"]
        return [c_new, sigmoid(o) * np.tanh(c_new)]
    return step


def gru_step(P):
    def step(x_t, h):
        r = sigmoid(x_t @ P["W_in_to_resetgate"] + h @ P["W_hid_to_resetgate"] + P["b_resetgate"])
        u = sigmoid(x_t @ P["W_in_to_updategate"] + h @ P["W_hid_to_updategate"]
                    + P["b_updategate"])
        c = np.tanh(x_t @ P["W_in_to_hidden_update"] + P["b_hidden_update"]
                    + r * (h @ P["W_hid_to_hidden_update"]))      # Lasagne: r * (h W_hc)
        return [(1 - u) * h + u * c]
    return step


STEP = {"rnn": rnn_step, "lstm": lstm_step, "gru": gru_step}


def initial_states(kind, A):
    ones = np.ones((A["x"].shape[0], 1))
    h0 = A["h0"] if "h0" in A else ones @ A["hid_init"]
    if kind != "lstm":
        return [h0]
    return [A["c0"] if "c0" in A else ones @ A["cell_init"], h0]


def reference(kind, A, mask=None, backwards=False, only_return_final=False, truncate=-1,
              base=None, peepholes=True):
    """The layer's output for the arrays ``A`` (parameters by name, ``x``, optional
    ``h0``/``c0``). With ``truncate=k`` the steps before the last k (in the order
    run) use ``base``'s arrays: finite differences then see only the last k steps,
    which is what truncated back-propagation (Theano's) differentiates."""
    def step_for(arrays):
        extra = {"peepholes": peepholes} if kind == "lstm" else {}
        return STEP[kind](arrays, **extra)
    x = A["x"]
    steps = x.shape[1]
    first_free = 0 if truncate < 0 else max(steps - truncate, 0)
    states = initial_states(kind, A if first_free == 0 else base)
    outs = []
    for i, t in enumerate(range(steps - 1, -1, -1) if backwards else range(steps)):
        arrays = A if i >= first_free else base
        new = step_for(arrays)(arrays["x"][:, t], *states)
        if mask is not None:
            new = [np.where(mask[:, t, None] != 0, n, s) for n, s in zip(new, states)]
        states = new
        outs.append(states[-1])
    out = np.stack(outs, axis=1)
    if only_return_final:
        return out[:, -1]
    return out[:, ::-1] if backwards else out


def numeric_grads(f, A, keys, eps=1e-6):
    """Central differences of the scalar ``f(A)`` w.r.t. ``A[k]`` for each key."""
    grads = {}
    for k in keys:
        g = np.zeros_like(A[k])
        for idx in np.ndindex(A[k].shape):
            plus = {**A, k: A[k].copy()}
            minus = {**A, k: A[k].copy()}
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = (f(plus) - f(minus)) / (2 * eps)
        grads[k] = g
    return grads


# -- the layer's side ------------------------------------------------------------------------

def compiled(layer, input_layers, backend, wrt_inputs):
    """A function of the input layers' values and ``proj``: the output, then the
    gradients of ``sum(output * proj)`` w.r.t. the trainable parameters and the
    input layers in ``wrt_inputs``."""
    out = get_output(layer)
    proj = T.tensor("float64", shape=(None,) * out.ndim, name="proj")
    params = get_all_params(layer, trainable=True)
    wrt = params + [lyr.input_var for lyr in wrt_inputs]
    grads = T.grad(T.sum(out * proj), wrt)
    f = theano.function([lyr.input_var for lyr in input_layers] + [proj], [out] + grads,
                        backend=backend.name)
    return f, [p.name for p in params]


def check_case(kind, backend, mask=False, h0_layer=False, c0_layer=False, truncate=-1,
               **kw):
    """Output and gradients of one configuration against the numpy reference."""
    rng = np.random.RandomState(3)
    l_in = InputLayer((None, None, F), name="x")
    inputs, wrt, keys = [l_in], [l_in], {"x": "x"}
    if mask:
        l_mask = InputLayer((None, None), name="mask")
        kw["mask_input"] = l_mask
        inputs.append(l_mask)
    for flag, arg, key in ((h0_layer, "hid_init", "h0"), (c0_layer, "cell_init", "c0")):
        if flag:
            l_state = InputLayer((None, U), name=key)
            kw[arg] = l_state
            inputs.append(l_state)
            wrt.append(l_state)
            keys[key] = key
    layer = build(kind, l_in, gradient_steps=truncate, **kw)
    A = randomize(layer)
    A["x"] = rng.randn(B, STEPS, F)
    for key in ("h0", "c0"):
        if key in keys:
            A[key] = rng.uniform(-1, 1, (B, U))
    m = mask_values() if mask else None
    opts = dict(mask=m, backwards=kw.get("backwards", False),
                only_return_final=kw.get("only_return_final", False),
                peepholes=kw.get("peepholes", True))
    expected = reference(kind, A, **opts)
    proj = rng.randn(*expected.shape)
    f, names = compiled(layer, inputs, backend, wrt)
    args = [A["x"]] + ([m] if mask else []) + [A[k] for k in ("h0", "c0") if k in keys]
    out, *grads = f(*args, proj)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    if backend.name in QUICK_BACKENDS:   # gradients: the same graph; finite differences on numpy
        return layer, out, grads
    want = numeric_grads(lambda a: np.sum(reference(kind, a, truncate=truncate, base=A, **opts)
                                          * proj), A, names + list(keys))
    for name, got in zip(names + list(keys), grads):
        np.testing.assert_allclose(got, want[name], rtol=1e-6, atol=1e-8,
                                   err_msg=f"{kind}: gradient of {name}")
    return layer, out, grads


CASES = {
    "default": {},
    "mask-backwards": dict(mask=True, backwards=True),
    "final-no-precompute-learn-init": dict(only_return_final=True, precompute_input=False,
                                           learn_init=True),
    "mask-final-backwards-learn-init": dict(mask=True, only_return_final=True, backwards=True,
                                            learn_init=True),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_against_numpy(kind, case, backend, float64):
    check_case(kind, backend, **CASES[case])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_initial_states_as_layers(kind, backend, float64):
    """hid_init (and cell_init) given as layers: their outputs start the loop, and
    the gradient reaches them; learn_init is then ignored for those states."""
    layer, _, _ = check_case(kind, backend, mask=True, h0_layer=True,
                             c0_layer=(kind == "lstm"), learn_init=True)
    assert "hid_init" not in [p.name for p in layer.get_params()]
    names = [lyr.name for lyr in layer.input_layers]
    assert names == ["x", "mask", "h0"] + (["c0"] if kind == "lstm" else [])
    assert layer.hid_init is layer.input_layers[2]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_truncated_gradient(kind, backend, float64):
    """gradient_steps=2 of 4: only the last two steps are back-propagated (earlier
    input rows and the initial state get no gradient), as Theano's truncate_gradient
    (the LSTM here without peepholes)."""
    extra = {"peepholes": False} if kind == "lstm" else {}
    _, _, grads = check_case(kind, backend, truncate=2, learn_init=True, mask=True, **extra)
    if backend.name not in QUICK_BACKENDS:
        x_grad = grads[-1]
        assert np.all(x_grad[:, :STEPS - 2] == 0) and np.any(x_grad[:, STEPS - 2:] != 0)


def test_truncated_gradient_backwards(backend, float64):
    """Going backwards, the last steps run are the first of the sequence."""
    _, _, grads = check_case("gru", backend, truncate=1, backwards=True)
    if backend.name not in QUICK_BACKENDS:
        assert np.all(grads[-1][:, 1:] == 0) and np.any(grads[-1][:, 0] != 0)


def paired(kind, backend, other, **kw):
    """Outputs and gradients of two layers with the same weights, one with ``other``
    options added, from one function."""
    l_in = InputLayer((None, STEPS, F))
    l_mask = InputLayer((None, STEPS))
    a = build(kind, l_in, mask_input=l_mask, learn_init=True, **kw)
    b = build(kind, l_in, mask_input=l_mask, learn_init=True, **kw, **other)
    randomize(a)
    set_all_param_values(b, get_all_param_values(a))
    outs = get_output([a, b])
    proj = np.random.RandomState(5).randn(*((B, U) if kw.get("only_return_final")
                                            else (B, STEPS, U)))
    results = []
    for layer, out in zip((a, b), outs):
        results += [out] + T.grad(T.sum(out * proj), get_all_params(layer, trainable=True)
                                  + [l_in.input_var])
    f = theano.function([l_in.input_var, l_mask.input_var], results, backend=backend.name)
    values = f(np.random.RandomState(6).randn(B, STEPS, F), mask_values())
    half = len(values) // 2
    return values[:half], values[half:]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_unroll_scan_equals_scan(kind, backend, float64):
    first, second = paired(kind, backend, {"unroll_scan": True}, backwards=True)
    for p, q in zip(first, second):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_precompute_input_false_equals_true(kind, backend, float64):
    first, second = paired(kind, backend, {"precompute_input": False}, only_return_final=True)
    for p, q in zip(first, second):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


# -- grad_clipping ---------------------------------------------------------------------------

def rnn_clipped_bptt(A, proj, clip, mask):
    """Hand-written back-propagation of the tanh RNN, the gradient into each step's
    pre-activation clipped to [-clip, clip] (Lasagne's grad_clip placement)."""
    W, b, Wh = A["input_to_hidden.W"], A["input_to_hidden.b"], A["hidden_to_hidden.W"]
    x = A["x"]
    hs = [np.ones((B, 1)) @ A["hid_init"]]
    for t in range(STEPS):
        new = np.tanh(x[:, t] @ W + b + hs[-1] @ Wh)
        hs.append(np.where(mask[:, t, None] != 0, new, hs[-1]))
    g = {"input_to_hidden.W": 0.0, "input_to_hidden.b": 0.0, "hidden_to_hidden.W": 0.0,
         "x": np.zeros_like(x)}
    dh = np.zeros((B, U))
    for t in range(STEPS - 1, -1, -1):
        dh = dh + proj[:, t]
        m = mask[:, t, None]
        new = np.tanh(x[:, t] @ W + b + hs[t] @ Wh)
        da = np.clip(dh * m * (1 - new ** 2), -clip, clip)
        g["input_to_hidden.W"] = g["input_to_hidden.W"] + x[:, t].T @ da
        g["input_to_hidden.b"] = g["input_to_hidden.b"] + da.sum(0)
        g["hidden_to_hidden.W"] = g["hidden_to_hidden.W"] + hs[t].T @ da
        g["x"][:, t] = da @ W.T
        dh = dh * (1 - m) + da @ Wh.T
    return g


def test_rnn_grad_clipping_against_hand_written_bptt(backend, float64):
    l_in, l_mask = InputLayer((None, STEPS, F)), InputLayer((None, STEPS))
    layer = build("rnn", l_in, mask_input=l_mask, grad_clipping=0.05)
    A = randomize(layer, scale=1.0)
    rng = np.random.RandomState(7)
    A["x"], proj, m = rng.randn(B, STEPS, F), rng.randn(B, STEPS, U), mask_values()
    f, names = compiled(layer, [l_in, l_mask], backend, [l_in])
    out, *grads = f(A["x"], m, proj)
    np.testing.assert_allclose(out, reference("rnn", A, mask=m), rtol=1e-10)
    want = rnn_clipped_bptt(A, proj, 0.05, m)
    unclipped = rnn_clipped_bptt(A, proj, np.inf, m)
    for name, got in zip(names + ["x"], grads):
        np.testing.assert_allclose(got, want[name], rtol=1e-10, atol=1e-12, err_msg=name)
    assert not np.allclose(want["hidden_to_hidden.W"], unclipped["hidden_to_hidden.W"])


def torch_clip(torch, bound):
    """theano.gradient.grad_clip in torch: identity forward, gradient clamped."""
    class Clip(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return g.clamp(-bound, bound)
    return Clip.apply


def torch_gated_loop(torch, kind, P, x, clip, precompute):
    """Lasagne's LSTM / GRU step in torch, with Lasagne's grad_clip placement."""
    c = torch_clip(torch, clip)
    gates = (["ingate", "forgetgate", "cell", "outgate"] if kind == "lstm"
             else ["resetgate", "updategate", "hidden_update"])
    W_in = torch.cat([P[f"W_in_to_{g}"] for g in gates], 1)
    W_hid = torch.cat([P[f"W_hid_to_{g}"] for g in gates], 1)
    b = torch.cat([P[f"b_{g}"] for g in gates], 0)
    h = torch.ones(x.shape[0], 1, dtype=x.dtype) @ P["hid_init"]
    cell = torch.ones(x.shape[0], 1, dtype=x.dtype) @ P["cell_init"] if kind == "lstm" else None
    pre = x @ W_in + b if precompute else x
    outs = []

    def sl(z, n):
        return z[:, n * U:(n + 1) * U]
    for t in range(x.shape[1]):
        inp = pre[:, t]
        if kind == "lstm":
            if not precompute:
                inp = inp @ W_in + b
            g = c(inp + h @ W_hid)
            i = torch.sigmoid(sl(g, 0) + cell * P["W_cell_to_ingate"])
            f = torch.sigmoid(sl(g, 1) + cell * P["W_cell_to_forgetgate"])
            cell = f * cell + i * torch.tanh(sl(g, 2))
            o = torch.sigmoid(sl(g, 3) + cell * P["W_cell_to_outgate"])
            h = o * torch.tanh(cell)
        else:
            hid_input = c(h @ W_hid)
            inp = c(inp)
            if not precompute:
                inp = inp @ W_in + b
            r = torch.sigmoid(sl(hid_input, 0) + sl(inp, 0))
            u = torch.sigmoid(sl(hid_input, 1) + sl(inp, 1))
            upd = torch.tanh(c(sl(inp, 2) + r * sl(hid_input, 2)))
            h = (1 - u) * h + u * upd
        outs.append(h)
    return torch.stack(outs, 1)


@pytest.mark.parametrize("kind, precompute", [("lstm", True), ("gru", True), ("gru", False)])
def test_gated_grad_clipping_against_torch(kind, precompute, backend, float64):
    torch = pytest.importorskip("torch")
    l_in = InputLayer((None, STEPS, F))
    layer = build(kind, l_in, grad_clipping=0.02, precompute_input=precompute)
    A = randomize(layer, scale=1.0)
    rng = np.random.RandomState(8)
    x, proj = rng.randn(B, STEPS, F), rng.randn(B, STEPS, U)
    f, names = compiled(layer, [l_in], backend, [l_in])
    out, *grads = f(x, proj)

    def torch_grads(clip):
        P = {k: torch.tensor(v, requires_grad=True) for k, v in A.items()}
        tx = torch.tensor(x, requires_grad=True)
        t_out = torch_gated_loop(torch, kind, P, tx, clip, precompute)
        (t_out * torch.tensor(proj)).sum().backward()
        return t_out.detach().numpy(), {**{k: v.grad.numpy() for k, v in P.items()},
                                        "x": tx.grad.numpy()}
    t_out, want = torch_grads(0.02)
    _, unclipped = torch_grads(np.inf)
    np.testing.assert_allclose(out, t_out, rtol=1e-10, atol=1e-12)
    for name, got in zip(names + ["x"], grads):
        np.testing.assert_allclose(got, want[name], rtol=1e-9, atol=1e-12, err_msg=name)
    assert not np.allclose(want["x"], unclipped["x"])     # the bound is active


# -- PyTorch's modules -----------------------------------------------------------------------

def torch_module(torch, kind, A, nonlinearity="tanh"):
    """nn.RNN / nn.LSTM / nn.GRU (batch_first, float64) with the layer's weights copied,
    and a function mapping the module's gradients back to the layer's parameter names."""
    if kind == "rnn":
        mod = torch.nn.RNN(F, U, nonlinearity=nonlinearity, batch_first=True)
        w_ih, w_hh, b_ih = A["input_to_hidden.W"].T, A["hidden_to_hidden.W"].T, \
            A["input_to_hidden.b"]
    elif kind == "lstm":
        gates = ["ingate", "forgetgate", "cell", "outgate"]       # torch's i, f, g, o
        mod = torch.nn.LSTM(F, U, batch_first=True)
        w_ih = np.concatenate([A[f"W_in_to_{g}"] for g in gates], 1).T
        w_hh = np.concatenate([A[f"W_hid_to_{g}"] for g in gates], 1).T
        b_ih = np.concatenate([A[f"b_{g}"] for g in gates])
    else:
        # torch's r, z, n; z = 1 - Lasagne's update gate u, so z's weights are -u's
        gates, signs = ["resetgate", "updategate", "hidden_update"], [1, -1, 1]
        mod = torch.nn.GRU(F, U, batch_first=True)
        w_ih = np.concatenate([s * A[f"W_in_to_{g}"] for g, s in zip(gates, signs)], 1).T
        w_hh = np.concatenate([s * A[f"W_hid_to_{g}"] for g, s in zip(gates, signs)], 1).T
        b_ih = np.concatenate([s * A[f"b_{g}"] for g, s in zip(gates, signs)])
    mod = mod.double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(w_ih))
        mod.weight_hh_l0.copy_(torch.tensor(w_hh))
        mod.bias_ih_l0.copy_(torch.tensor(b_ih))
        mod.bias_hh_l0.zero_()     # b_hn = 0: then torch's r * (W_hn h + b_hn) is Lasagne's

    def grads():
        g_ih, g_hh = mod.weight_ih_l0.grad.numpy().T, mod.weight_hh_l0.grad.numpy().T
        g_b = mod.bias_ih_l0.grad.numpy()
        if kind == "rnn":
            return {"input_to_hidden.W": g_ih, "hidden_to_hidden.W": g_hh,
                    "input_to_hidden.b": g_b}
        out = {}
        for n, (g, s) in enumerate(zip(gates, [1] * 4 if kind == "lstm" else signs)):
            sl = slice(n * U, (n + 1) * U)
            out[f"W_in_to_{g}"], out[f"W_hid_to_{g}"] = s * g_ih[:, sl], s * g_hh[:, sl]
            out[f"b_{g}"] = s * g_b[sl]
        return out
    return mod, grads


@pytest.mark.parametrize("backwards, only_return_final", [(False, False), (True, True)])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_against_torch_modules(kind, backwards, only_return_final, backend, float64):
    torch = pytest.importorskip("torch")
    l_in = InputLayer((None, STEPS, F))
    extra = {"peepholes": False} if kind == "lstm" else {}
    layer = build(kind, l_in, learn_init=True, backwards=backwards,
                  only_return_final=only_return_final, **extra)
    A = randomize(layer)
    rng = np.random.RandomState(9)
    x = rng.randn(B, STEPS, F)
    proj = rng.randn(*((B, U) if only_return_final else (B, STEPS, U)))
    f, names = compiled(layer, [l_in], backend, [l_in])
    out, *grads = f(x, proj)

    mod, mod_grads = torch_module(torch, kind, A)
    tx = torch.tensor(x, requires_grad=True)
    inits = {k: torch.tensor(A[k], requires_grad=True) for k in ("hid_init", "cell_init")
             if k in A}
    state = {k: v.expand(B, U).unsqueeze(0) for k, v in inits.items()}
    seq = tx.flip(1) if backwards else tx
    if kind == "lstm":
        t_out, _ = mod(seq, (state["hid_init"], state["cell_init"]))
    else:
        t_out, _ = mod(seq, state["hid_init"])
    if only_return_final:
        t_out = t_out[:, -1]
    elif backwards:
        t_out = t_out.flip(1)
    (t_out * torch.tensor(proj)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    want = {**mod_grads(), "x": tx.grad.numpy(),
            **{k: v.grad.numpy() for k, v in inits.items()}}
    assert sorted(names + ["x"]) == sorted(want)
    for name, got in zip(names + ["x"], grads):
        np.testing.assert_allclose(got, want[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_rnn_default_relu_against_torch(backend, float64):
    torch = pytest.importorskip("torch")
    l_in = InputLayer((None, STEPS, F))
    rng = np.random.RandomState(10)
    layer = RecurrentLayer(l_in, U, W_in_to_hid=rng.randn(F, U), W_hid_to_hid=rng.randn(U, U) / 2,
                           b=rng.randn(U) / 2)
    A = {p.name: p.get_value() for p in layer.get_params()}
    x = rng.randn(B, STEPS, F)
    out = theano.function([l_in.input_var], get_output(layer), backend=backend.name)(x)
    mod, _ = torch_module(torch, "rnn", A, nonlinearity="relu")
    np.testing.assert_allclose(out, mod(torch.tensor(x))[0].detach().numpy(), rtol=1e-10)
    assert (out == 0).any() and (out > 0).any()


# -- CustomRecurrentLayer ----------------------------------------------------------------------

def test_custom_recurrent_equals_recurrent_layer(backend, float64):
    """CustomRecurrentLayer over two DenseLayers is RecurrentLayer; its parameters
    are hid_init, then input_to_hidden's, then hidden_to_hidden's."""
    l_in = InputLayer((None, STEPS, F))
    rnn = build("rnn", l_in)
    randomize(rnn)
    i2h = DenseLayer(InputLayer((None, F)), U, W=rnn.W_in_to_hid, b=rnn.b, nonlinearity=None)
    h2h = DenseLayer(InputLayer((None, U)), U, W=rnn.W_hid_to_hid, b=None, nonlinearity=None)
    custom = CustomRecurrentLayer(l_in, i2h, h2h, nonlinearity=nonlinearities.tanh,
                                  hid_init=rnn.hid_init, precompute_input=False)
    assert custom.get_params() == rnn.get_params() == \
        [rnn.hid_init, rnn.W_in_to_hid, rnn.b, rnn.W_hid_to_hid]
    x = np.random.RandomState(11).randn(B, STEPS, F)
    a, b = theano.function([l_in.input_var], get_output([rnn, custom]), backend=backend.name)(x)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    values = {p.name: p.get_value() for p in rnn.get_params()}
    np.testing.assert_allclose(a, reference("rnn", {**values, "x": x}), rtol=1e-10)


def test_custom_recurrent_convolutional(backend, float64):
    """A convolutional recurrence: the state is (batch, channels, rows, columns)."""
    n_ch, rows = 2, 4
    l_in = InputLayer((None, 3, 1, rows, rows))
    i2h = Conv2DLayer(InputLayer((None, 1, rows, rows)), n_ch, 3, pad="same",
                      nonlinearity=None)
    h2h = Conv2DLayer(InputLayer(i2h.output_shape), n_ch, 3, pad="same", nonlinearity=None,
                      b=None)
    layer = CustomRecurrentLayer(l_in, i2h, h2h, nonlinearity=nonlinearities.tanh,
                                 learn_init=True)
    assert layer.output_shape == (None, 3, n_ch, rows, rows)
    assert layer.hid_init.get_value().shape == (1, n_ch, rows, rows)
    assert [p.name for p in layer.get_params()] == ["hid_init", "W", "b", "W"]
    randomize(layer, scale=0.3)
    x = np.random.RandomState(12).randn(2, 3, 1, rows, rows)
    out = theano.function([l_in.input_var], get_output(layer), backend=backend.name)(x)
    assert out.shape == (2, 3, n_ch, rows, rows)
    # the step by hand, with the layers' own convolutions (one step at a time)
    xi, hi = T.dtensor4(), T.dtensor4()
    conv = theano.function([xi, hi], get_output(i2h, xi) + get_output(h2h, hi),
                           backend=backend.name)
    h = np.broadcast_to(layer.hid_init.get_value(), (2, n_ch, rows, rows))
    for t in range(3):
        h = np.tanh(conv(x[:, t], h))
        np.testing.assert_allclose(out[:, t], h, rtol=1e-10)
    if backend.name not in QUICK_BACKENDS:
        verify_grad(lambda v: get_output(layer, v), [x], backend=backend.name)


def test_custom_recurrent_checks_its_connections():
    l_in = InputLayer((None, STEPS, F))
    i2h = DenseLayer(InputLayer((None, F)), U)
    with pytest.raises(ValueError, match="equal after the first dimension"):
        CustomRecurrentLayer(l_in, i2h, DenseLayer(InputLayer((None, U)), U + 1))
    with pytest.raises(ValueError, match="input shape of hidden_to_hidden"):
        CustomRecurrentLayer(l_in, i2h, DenseLayer(InputLayer((None, U + 2)), U))
    with pytest.raises(ValueError, match="batch_size \\* sequence_length"):
        CustomRecurrentLayer(InputLayer((2, STEPS, F)), DenseLayer(InputLayer((5, F)), U),
                             DenseLayer(InputLayer((None, U)), U))
    with pytest.raises(ValueError, match="exactly one InputLayer"):
        two = layers.ElemwiseSumLayer([DenseLayer(InputLayer((None, F)), U),
                                       DenseLayer(InputLayer((None, F)), U)])
        CustomRecurrentLayer(l_in, two, DenseLayer(InputLayer((None, U)), U))


def test_inner_layers_get_output_keywords():
    """deterministic reaches a dropout inside input_to_hidden; no unused-kwargs warning."""
    l_in = InputLayer((None, STEPS, F))
    i2h = DropoutLayer(DenseLayer(InputLayer((None, F)), U, W=init.Constant(1.0),
                                  nonlinearity=None), p=0.5)
    layer = CustomRecurrentLayer(l_in, i2h, DenseLayer(InputLayer((None, U)), U),
                                 nonlinearity=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = get_output(layer, deterministic=True)
        noisy = get_output(layer)
    x = np.ones((B, STEPS, F), dtype=theano.config.floatX)
    f = theano.function([l_in.input_var], [det, noisy])
    (d1, n1), (d2, n2) = f(x), f(x)
    np.testing.assert_array_equal(d1, d2)
    assert not np.array_equal(n1, n2)
    with pytest.warns(UserWarning, match="unused kwargs"):
        get_output(layer, determinstic=True)


# -- shapes, parameters, defaults, Lasagne's files --------------------------------------------

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_output_shapes(kind, backend):
    l_in = InputLayer((None, 5, 2, 3))         # trailing axes flattened: 6 features
    full, final = build(kind, l_in), build(kind, l_in, only_return_final=True)
    assert full.output_shape == (None, 5, U) and final.output_shape == (None, U)
    assert full.get_output_shape_for([(7, None, 2, 3)]) == (7, None, U)
    x = np.random.RandomState(0).randn(4, 5, 2, 3).astype(theano.config.floatX)
    a, b = theano.function([l_in.input_var], get_output([full, final]), backend=backend.name)(x)
    assert a.shape == (4, 5, U) and b.shape == (4, U) and a.dtype == theano.config.floatX


LASAGNE_NAMES = {
    "rnn": [("hid_init", (1, U)), ("input_to_hidden.W", (F, U)), ("input_to_hidden.b", (U,)),
            ("hidden_to_hidden.W", (U, U))],
    "lstm": [(f"{w}_{g}", s) for g in ("ingate", "forgetgate", "cell", "outgate")
             for w, s in (("W_in_to", (F, U)), ("W_hid_to", (U, U)), ("b", (U,)))]
    + [(f"W_cell_to_{g}", (U,)) for g in ("ingate", "forgetgate", "outgate")]
    + [("cell_init", (1, U)), ("hid_init", (1, U))],
    "gru": [(f"{w}_{g}", s) for g in ("updategate", "resetgate", "hidden_update")
            for w, s in (("W_in_to", (F, U)), ("W_hid_to", (U, U)), ("b", (U,)))]
    + [("hid_init", (1, U))],
}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_parameter_names_shapes_order_and_tags(kind):
    layer = build(kind, InputLayer((None, None, F)))
    assert [(p.name, p.get_value().shape) for p in layer.get_params()] == LASAGNE_NAMES[kind]
    trainable = [p.name for p in layer.get_params(trainable=True)]
    assert [n for n, _ in LASAGNE_NAMES[kind] if not n.endswith("_init")] == trainable
    regularizable = [p.name for p in layer.get_params(regularizable=True)]
    assert regularizable == [n for n, _ in LASAGNE_NAMES[kind]          # the weights only
                             if n.split(".")[-1].startswith("W")]
    learned = build(kind, InputLayer((None, None, F)), learn_init=True)
    assert [p.name for p in learned.get_params(trainable=True)] == \
        [n for n, _ in LASAGNE_NAMES[kind]]
    named = build(kind, InputLayer((None, None, F)), name="r")
    assert [p.name for p in named.get_params()] == [f"r.{n}" for n, _ in LASAGNE_NAMES[kind]]


def test_lasagne_parameter_file_round_trip(float64):
    """A Lasagne parameter list (get_all_param_values of embedding -> LSTM -> GRU ->
    dense) loads into the same net built here, each array where Lasagne put it."""
    l_in = InputLayer((None, None, F))
    l_mask = InputLayer((None, None))
    l_lstm = LSTMLayer(l_in, U, mask_input=l_mask, name="lstm")
    l_gru = GRULayer(l_lstm, U, mask_input=l_mask, only_return_final=True, name="gru")
    l_rnn = RecurrentLayer(ReshapeLayer(l_lstm, (-1, 1, U)), U, name="rnn")
    l_out = layers.ConcatLayer([DenseLayer(l_gru, U, name="out"),
                                ReshapeLayer(l_rnn, (-1, U))], axis=0)
    names = [p.name for p in get_all_params(l_out)]
    expected = ([f"lstm.{n}" for n, _ in LASAGNE_NAMES["lstm"]]
                + [f"gru.{n}" for n, _ in LASAGNE_NAMES["gru"]] + ["out.W", "out.b"]
                + [f"rnn.{n}" for n, _ in LASAGNE_NAMES["rnn"]])
    assert names == expected
    rng = np.random.RandomState(0)
    file_values = [rng.randn(*p.get_value().shape) for p in get_all_params(l_out)]
    set_all_param_values(l_out, file_values)
    for p, v in zip(get_all_params(l_out), file_values):
        np.testing.assert_array_equal(p.get_value(), v)
    np.testing.assert_array_equal(l_lstm.W_cell_to_forgetgate.get_value(), file_values[13])
    np.testing.assert_array_equal(l_gru.b_resetgate.get_value(), file_values[17 + 5])
    with pytest.raises(ValueError, match="got 3 values"):
        set_all_param_values(l_lstm, file_values[:3])


LASAGNE_SIGNATURES = {
    CustomRecurrentLayer: "incoming input_to_hidden hidden_to_hidden nonlinearity hid_init "
                          "backwards learn_init gradient_steps grad_clipping unroll_scan "
                          "precompute_input mask_input only_return_final",
    RecurrentLayer: "incoming num_units W_in_to_hid W_hid_to_hid b nonlinearity hid_init "
                    "backwards learn_init gradient_steps grad_clipping unroll_scan "
                    "precompute_input mask_input only_return_final",
    LSTMLayer: "incoming num_units ingate forgetgate cell outgate nonlinearity cell_init "
               "hid_init backwards learn_init peepholes gradient_steps grad_clipping "
               "unroll_scan precompute_input mask_input only_return_final",
    GRULayer: "incoming num_units resetgate updategate hidden_update hid_init backwards "
              "learn_init gradient_steps grad_clipping unroll_scan precompute_input "
              "mask_input only_return_final",
    Gate: "W_in W_hid W_cell b nonlinearity",
}


@pytest.mark.parametrize("cls", list(LASAGNE_SIGNATURES), ids=lambda c: c.__name__)
def test_lasagne_signatures_and_defaults(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    names = [p.name for p in params if p.kind is not p.VAR_KEYWORD]
    assert names == LASAGNE_SIGNATURES[cls].split()
    assert (params[-1].kind is params[-1].VAR_KEYWORD) == (cls is not Gate)
    defaults = {p.name: p.default for p in params}
    if cls is Gate:
        for w in ("W_in", "W_hid", "W_cell"):
            assert isinstance(defaults[w], init.Normal) and defaults[w].std == 0.1
        assert defaults["nonlinearity"] is nonlinearities.sigmoid
        return
    assert (defaults["backwards"], defaults["learn_init"], defaults["gradient_steps"],
            defaults["grad_clipping"], defaults["unroll_scan"], defaults["precompute_input"],
            defaults["mask_input"], defaults["only_return_final"]) == \
        (False, False, -1, 0, False, True, None, False)
    assert isinstance(defaults["hid_init"], init.Constant) and defaults["hid_init"].val == 0.0
    if cls is RecurrentLayer:
        assert isinstance(defaults["W_in_to_hid"], init.Uniform)
        assert defaults["nonlinearity"] is nonlinearities.rectify
    if cls is LSTMLayer:
        assert defaults["peepholes"] is True and defaults["nonlinearity"] is nonlinearities.tanh
        assert not hasattr(defaults["cell"], "W_cell")
        assert defaults["cell"].nonlinearity is nonlinearities.tanh
    if cls is GRULayer:
        assert all(not hasattr(defaults[g], "W_cell")
                   for g in ("resetgate", "updategate", "hidden_update"))
        assert defaults["hidden_update"].nonlinearity is nonlinearities.tanh


def test_lasagne_paths_and_gate():
    import layerkit as lasagne
    assert lasagne.layers.recurrent.LSTMLayer is LSTMLayer
    for name in ("CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer"):
        assert name in layers.__all__ and getattr(lasagne.layers, name) is \
            getattr(lasagne.layers.recurrent, name)
    gate = Gate(W_cell=None, nonlinearity=None)
    assert not hasattr(gate, "W_cell") and gate.nonlinearity is nonlinearities.identity


def test_errors():
    l_in = InputLayer((None, None, F))
    with pytest.raises(ValueError, match="gradient_steps must be -1 when unroll_scan"):
        LSTMLayer(InputLayer((None, 4, F)), U, unroll_scan=True, gradient_steps=2)
    with pytest.raises(ValueError, match="sequence length"):
        GRULayer(l_in, U, unroll_scan=True)
    with pytest.raises(ValueError, match="peepholes=True needs forgetgate.W_cell"):
        LSTMLayer(l_in, U, forgetgate=Gate(W_cell=None))
    LSTMLayer(l_in, U, forgetgate=Gate(W_cell=None), peepholes=False)
    with pytest.raises(ValueError, match="num_units must be a positive integer"):
        GRULayer(l_in, 0)
    with pytest.raises(ValueError, match="feature sizes known"):
        LSTMLayer(InputLayer((None, None, None)), U)
    with pytest.raises(ValueError, match="'hid_init'.*\\(1, 3\\)"):
        GRULayer(l_in, U, hid_init=np.zeros((2, 3)))


def test_float32_with_a_float_mask_trains(train_step, backend):
    """floatX float32 end to end (mask included): one SGD step lowers the loss."""
    l_in = InputLayer((None, STEPS, F))
    layer = LSTMLayer(l_in, U, learn_init=True, grad_clipping=5.0)
    x = np.random.RandomState(0).randn(B, STEPS, F).astype("float32")
    y = train_step(layer, x, backend)
    assert y.dtype == np.float32
    l_mask = InputLayer((None, STEPS))
    masked = GRULayer(l_in, U, mask_input=l_mask)
    f = theano.function([l_in.input_var, l_mask.input_var], get_output(masked),
                        backend=backend.name)
    out = f(x, mask_values().astype("float32"))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 2], out[0, 1])      # the masked step kept the state
