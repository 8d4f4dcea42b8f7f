"""The backend-parametrised scan suite: loops compiled on the backend, their
results against the same step run by a plain Python loop in float64 numpy, and
their gradients (back-propagation through time) against finite differences.

Run it against any backend like the other suites::

    from layerkit.testing.suite_scan import *  # noqa: F401,F403

Each case is a step function written twice — once over symbolic variables
(``theano.scan``) and once over numpy arrays (the reference loop) — on small
odd shapes. The cases cover sequences of rank 1 to 3, several taps of a
sequence, recurrent outputs read at several past steps, outputs not fed back,
non-sequences, ``go_backwards``, ``n_steps`` shorter than the sequences, a
``while`` loop (``until``), a scan nested in the step of another, an Elman
RNN, an LSTM step, and a gradient of a gradient through the loop.
"""
from __future__ import annotations

import numpy as np
import pytest

from layerkit.testing.compare import assert_close, blame, fail
from layerkit.testing.suite_conv import rng_for
from layerkit.testing.verify_grad import GradientError, verify_grad

__all__ = ["test_scan_forward", "test_scan_gradient"]

_KERNELS = ("scan",)


def _a(*shape, key=0, lo=-1.0, hi=1.0):
    return rng_for("scan", shape, key).uniform(lo, hi, size=shape)


def _scan():
    import layerkit.core as theano
    return theano.scan


def _T():
    import layerkit.core.tensor as T
    return T


# -- the cases: (build over symbolic inputs, numpy reference, input arrays) ------
def _cumsum_build(x):
    out, _ = _scan()(lambda xi, acc: acc + xi * xi, sequences=x,
                     outputs_info=_T().zeros_like(x[0]))
    return out


def _cumsum_ref(x):
    acc, out = np.zeros_like(x[0]), []
    for xi in x:
        acc = acc + xi * xi
        out.append(acc)
    return np.stack(out)


def _elman_build(x, w, u, b, h0):
    T = _T()

    def step(x_t, h, w, u, b):
        return T.tanh(T.dot(x_t, w) + T.dot(h, u) + b)
    out, _ = _scan()(step, sequences=x, outputs_info=h0, non_sequences=[w, u, b])
    return out


def _elman_ref(x, w, u, b, h0):
    h, out = h0, []
    for x_t in x:
        h = np.tanh(x_t @ w + h @ u + b)
        out.append(h)
    return np.stack(out)


def _lstm_build(x, w, u, h0, c0):
    T = _T()
    n = h0.shape[1]

    def step(x_t, h, c, w, u):
        z = T.dot(x_t, w) + T.dot(h, u)
        i, f = T.nnet.sigmoid(z[:, :n]), T.nnet.sigmoid(z[:, n:2 * n])
        g, o = T.tanh(z[:, 2 * n:3 * n]), T.nnet.sigmoid(z[:, 3 * n:])
        c = f * c + i * g
        return [o * T.tanh(c), c]
    (hs, cs), _ = _scan()(step, sequences=x, outputs_info=[h0, c0], non_sequences=[w, u])
    return hs * 2.0 + cs


def _lstm_ref(x, w, u, h0, c0):
    n = h0.shape[1]
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))   # noqa: E731
    h, c, out = h0, c0, []
    for x_t in x:
        z = x_t @ w + h @ u
        i, f, g, o = sig(z[:, :n]), sig(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), sig(z[:, 3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h * 2.0 + c)
    return np.stack(out)


def _mit_sot_build(x, init):
    out, _ = _scan()(lambda x_t, y2, y1: 0.5 * y1 - 0.3 * y2 * x_t + x_t,
                     sequences=x, outputs_info=dict(initial=init, taps=[-2, -1]))
    return out


def _mit_sot_ref(x, init):
    ys = list(init)
    for x_t in x:
        ys.append(0.5 * ys[-1] - 0.3 * ys[-2] * x_t + x_t)
    return np.stack(ys[2:])


def _seq_taps_build(x):
    out, _ = _scan()(lambda a, b, c: a * c - 2.0 * b,
                     sequences=dict(input=x, taps=[-1, 0, 2]))
    return out


def _seq_taps_ref(x):
    return np.stack([x[t - 1] * x[t + 2] - 2.0 * x[t] for t in range(1, len(x) - 2)])


def _backwards_build(x, h0):
    out, _ = _scan()(lambda x_t, h: 0.9 * h * x_t + x_t, sequences=x, outputs_info=h0,
                     go_backwards=True)
    return out


def _backwards_ref(x, h0):
    h, out = h0, []
    for x_t in x[::-1]:
        h = 0.9 * h * x_t + x_t
        out.append(h)
    return np.stack(out)


def _backwards_taps_build(x, h0):
    out, _ = _scan()(lambda a, b, h: h * 0.5 + a - b * h, sequences=dict(input=x, taps=[-1, 1]),
                     outputs_info=h0, go_backwards=True)
    return out


def _backwards_taps_ref(x, h0):
    # as in Theano: taps are offsets in the sequence's own order; the steps run from the end
    h, out = h0, []
    for t in range(len(x) - 2, 0, -1):
        h = h * 0.5 + x[t - 1] - x[t + 1] * h
        out.append(h)
    return np.stack(out)


def _n_steps_build(x, h0):
    out, _ = _scan()(lambda x_t, h: h * x_t + 1.0, sequences=x, outputs_info=h0, n_steps=3)
    return out


def _n_steps_ref(x, h0):
    h, out = h0, []
    for x_t in x[:3]:
        h = h * x_t + 1.0
        out.append(h)
    return np.stack(out)


def _mixed_build(x, w):
    T = _T()

    def step(x_t, s, w):
        return [s + T.sum(x_t * w), T.exp(x_t) * s, w * 2.0]
    (s, y, w2), _ = _scan()(step, sequences=x, outputs_info=[T.zeros_like(w[0]), None, None],
                            non_sequences=w)
    return T.concatenate([s.dimshuffle(0, "x"), y, w2], axis=1)


def _mixed_ref(x, w):
    s, rows = 0.0, []
    for x_t in x:
        y = np.exp(x_t) * s
        s = s + np.sum(x_t * w)
        rows.append(np.concatenate([[s], y, w * 2.0]))
    return np.stack(rows)


def _until_build(x):
    T = _T()
    until = __import__("layerkit.core.scan_module", fromlist=["until"]).until

    def step(x_t, acc):
        new = acc + x_t * x_t
        return new, until(T.sum(new) > 2.0)
    out, _ = _scan()(step, sequences=x, outputs_info=T.zeros_like(x[0]))
    return out


def _until_ref(x):
    acc, out = np.zeros_like(x[0]), []
    for x_t in x:
        acc = acc + x_t * x_t
        out.append(acc)
        if np.sum(acc) > 2.0:
            break
    return np.stack(out)


def _nested_build(x):
    T = _T()

    def row_step(row, carry):
        inner, _ = _scan()(lambda v, a: a * 0.5 + v * carry, sequences=row,
                           outputs_info=T.zeros_like(carry))
        return carry + inner[-1]
    out, _ = _scan()(row_step, sequences=x, outputs_info=T.constant(1.0, dtype="float64"))
    return out


def _nested_ref(x):
    carry, out = 1.0, []
    for row in x:
        a = 0.0
        for v in row:
            a = a * 0.5 + v * carry
        carry = carry + a
        out.append(carry)
    return np.array(out)


def _second_order_build(x, w):
    T = _T()
    out, _ = _scan()(lambda x_t, h, w: T.tanh(h * w + x_t), sequences=x,
                     outputs_info=T.zeros_like(w), non_sequences=w)
    return T.grad(T.sum(out ** 2), w)


def _second_order_ref(x, w):
    # the gradient of sum(h_t^2) w.r.t. w by back-propagation through time in numpy
    hs, h = [np.zeros_like(w)], np.zeros_like(w)
    for x_t in x:
        h = np.tanh(h * w + x_t)
        hs.append(h)
    gw, carry = np.zeros_like(w), np.zeros_like(w)
    for t in range(len(x), 0, -1):
        g = 2.0 * hs[t] + carry
        pre = g * (1.0 - hs[t] ** 2)
        gw += pre * hs[t - 1]
        carry = pre * w
    return gw


def _cases():
    return {
        "cumsum_vector_rows": (_cumsum_build, _cumsum_ref, [_a(5, 3)]),
        "elman_rnn_batch": (_elman_build, _elman_ref,
                            [_a(4, 2, 3), _a(3, 5, key=1), _a(5, 5, key=2, lo=-0.5, hi=0.5),
                             _a(5, key=3), _a(2, 5, key=4)]),
        "lstm_step": (_lstm_build, _lstm_ref,
                      [_a(3, 2, 3), _a(3, 16, key=1), _a(4, 16, key=2, lo=-0.5, hi=0.5),
                       _a(2, 4, key=3), _a(2, 4, key=4)]),
        "two_past_steps": (_mit_sot_build, _mit_sot_ref, [_a(6, 2), _a(2, 2, key=1)]),
        "sequence_taps": (_seq_taps_build, _seq_taps_ref, [_a(7, 2)]),
        "go_backwards": (_backwards_build, _backwards_ref, [_a(5, 3), _a(3, key=1)]),
        "go_backwards_taps": (_backwards_taps_build, _backwards_taps_ref, [_a(6, 2), _a(2, key=1)]),
        "n_steps_shorter": (_n_steps_build, _n_steps_ref, [_a(5, 2), _a(2, key=1)]),
        "mixed_outputs": (_mixed_build, _mixed_ref, [_a(4, 3), _a(3, key=1)]),
        "until": (_until_build, _until_ref, [_a(8, 2, lo=0.2, hi=0.9)]),
        "nested": (_nested_build, _nested_ref, [_a(3, 4, lo=-0.5, hi=0.5)]),
        "second_order": (_second_order_build, _second_order_ref,
                         [_a(4, 3), _a(3, key=1, lo=0.2, hi=0.8)]),
    }


CASES = _cases()


def _inputs(arrays):
    T = _T()
    return [T.tensor("float64", shape=(None,) * a.ndim, name=f"x{i}") for i, a in enumerate(arrays)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_scan_forward(backend, name):
    import layerkit.core as theano

    build, reference, arrays = CASES[name]
    xs = _inputs(arrays)
    try:
        got = theano.function(xs, build(*xs), backend=backend.name)(*arrays)
    except Exception as err:
        raise blame(err, *_KERNELS, direct=False)
    assert_close(got, reference(*arrays), name, f"scan forward on {[a.shape for a in arrays]}",
                 what="scan case", kernels=_KERNELS, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scan_gradient(backend, name):
    build, _, arrays = CASES[name]
    try:
        verify_grad(build, arrays, backend=backend.name)
    except GradientError as err:
        raise fail(_KERNELS, f"scan case {name!r}, gradient against finite differences: {err}",
                   direct=False) from err
