"""mode='DebugMode' (issue 16): every node checked against the generic kernels,
inputs checked unmodified, undeclared views refused, and each call compared
with the graph compiled with optimizer_excluding=fusion:inplace.

The faulty backends here are numpy backends with one kernel broken on
purpose; the reference for a correct run is numpy."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.backend import Backend
from layerkit.backend.kernels import GENERIC_KERNELS
from layerkit.core.compile import DebugMode, DebugModeError
from layerkit.core.config import config


def _numpy_backend(name, **broken):
    class Faulty(Backend):
        xp = np
        version = "0"
        kernels = {}

        def from_numpy(self, a):
            return np.asarray(a)

        def to_numpy(self, x):
            return np.asarray(x)

    Faulty.name = name
    backend = Faulty()
    backend.kernel_table.update(GENERIC_KERNELS)
    backend.kernel_providers.update({k: "layerkit (generic)" for k in GENERIC_KERNELS})
    for k, fn in broken.items():
        backend.kernel_table[k] = fn
        backend.kernel_providers[k] = "acme-kernels"
    return backend


def _graph():
    x = T.dmatrix("x")
    w = theano.shared(np.linspace(-1, 1, 12).reshape(3, 4), name="w")
    h = T.tanh(T.dot(x, w))                       # the line DebugMode must name
    cost = (h ** 2).sum()
    return x, w, h, cost


def test_a_correct_function_runs_and_agrees_with_numpy(backend):
    x, w, h, cost = _graph()
    w0 = w.get_value()
    g = T.grad(cost, w)
    f = theano.function([x], [cost, h, h], updates=[(w, w - 0.1 * g)], mode="DebugMode",
                        backend=backend.name)
    X = np.random.default_rng(0).standard_normal((5, 3))
    c, h1, h2 = f(X)
    ref = np.tanh(X @ w0)
    np.testing.assert_allclose(h1, ref, rtol=1e-12)
    assert h1 is not h2
    np.testing.assert_allclose(c, (ref ** 2).sum(), rtol=1e-12)
    grad = X.T @ (2 * ref * (1 - ref ** 2))
    np.testing.assert_allclose(w.get_value(), w0 - 0.1 * grad, rtol=1e-10)


def test_a_wrong_kernel_is_named_with_the_user_line_and_its_provider():
    backend = _numpy_backend("debug-wrong-tanh", tanh=lambda x, out=None: np.tanh(x) * 1.001)
    x, w, h, cost = _graph()
    f = theano.function([x], h, mode="DebugMode", backend=backend)
    with pytest.raises(DebugModeError) as err:
        f(np.ones((2, 3)))
    text = str(err.value)
    assert "tanh" in text and "test_debugmode.py" in text and "generic kernels" in text


def test_a_kernel_that_writes_into_its_input_is_caught():
    def exp_in_place(x, out=None):
        return np.exp(x, out=x)
    backend = _numpy_backend("debug-destroying-exp", exp=exp_in_place)
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + x, mode="DebugMode", backend=backend)
    with pytest.raises(DebugModeError, match="input 0 .* was modified"):
        f(np.arange(3.0))


def test_an_undeclared_view_is_caught():
    backend = _numpy_backend("debug-aliasing-neg", negative=lambda x, out=None: x[...])
    x = T.dvector("x")
    f = theano.function([x], -x, mode="DebugMode", backend=backend)
    with pytest.raises(DebugModeError, match="shares memory with input 0"):
        f(np.zeros(3))


def test_a_wrong_fused_chain_is_caught():
    """The backend's own fused kernel is wrong; each kernel alone is right."""
    backend = _numpy_backend("debug-wrong-fuse")
    backend.fuse = lambda spec: (lambda *args, out=None: np.zeros(np.broadcast_shapes(
        *[np.shape(a) for a in args])))
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) * 2 + x, mode="DebugMode", backend=backend)
    with pytest.raises(DebugModeError, match="differs"):
        f(np.ones(3))


def test_the_mode_comes_from_config_mode(monkeypatch):
    backend = _numpy_backend("debug-config", tanh=lambda x, out=None: np.tanh(x) + 1e-3)
    monkeypatch.setattr(config, "mode", "DebugMode")
    x = T.dvector("x")
    f = theano.function([x], T.tanh(x), backend=backend)
    assert isinstance(f.debug, DebugMode)
    with pytest.raises(DebugModeError):
        f(np.ones(2))
    monkeypatch.setattr(config, "mode", "FAST_RUN")
    assert theano.function([x], T.tanh(x), backend=backend).debug is None


def test_an_unknown_config_mode_is_refused_naming_the_flag(monkeypatch):
    monkeypatch.setattr(config, "mode", "FAST_RUNN")
    x = T.dvector("x")
    with pytest.raises(ValueError, match="config.mode"):
        theano.function([x], x * 2)


def test_a_debug_call_leaves_updates_and_random_streams_as_one_call_would(backend):
    from layerkit.core.random import RandomStreams
    srng = RandomStreams(seed=7)
    c = theano.shared(np.zeros(4), name="c")
    u = srng.uniform((4,))
    plain = theano.function([], u, updates=[(c, c + u)], backend=backend.name)
    a = plain()
    srng2 = RandomStreams(seed=7)
    c2 = theano.shared(np.zeros(4), name="c2")
    u2 = srng2.uniform((4,))
    debug = theano.function([], u2, updates=[(c2, c2 + u2)], mode="DebugMode",
                            backend=backend.name)
    b = debug()
    np.testing.assert_array_equal(a, b)                 # the same first draw
    np.testing.assert_array_equal(c2.get_value(), b)    # updated once, not twice
    assert not np.array_equal(debug(), b)               # the stream advanced once per call


def test_nanguardmode_says_it_ignores_optimizer_and_linker():
    from layerkit.core.compile import NanGuardMode
    from layerkit.core.ignored import IgnoredArgumentWarning
    import layerkit.core.ignored as ignored
    ignored._WARNED.discard(("NanGuardMode", "linker"))
    with pytest.warns(IgnoredArgumentWarning, match="linker"):
        NanGuardMode(linker="cvm")


def test_a_failed_debug_call_leaves_the_update_unapplied():
    backend = _numpy_backend("debug-wrong-inplace-tanh",
                             tanh=lambda x, out=None: np.multiply(np.tanh(x), 1.001, out=out))
    backend.kernel_table["tanh"].accepts_out = True
    w0 = np.linspace(-1, 1, 4)
    w = theano.shared(w0.copy(), name="w")
    f = theano.function([], [], updates=[(w, T.tanh(w) * 0.5 + 1)], mode="DebugMode",
                        backend=backend)
    with pytest.raises(DebugModeError):
        f()
    np.testing.assert_array_equal(w.get_value(), w0)


def test_debug_calls_from_several_threads_count_every_call():
    import threading
    c = theano.shared(np.float64(0.0), name="c")
    inc = theano.function([], [], updates=[(c, c + 1)], mode="DebugMode")
    errors = []

    def work():
        try:
            for _ in range(50):
                inc()
        except Exception as err:         # pragma: no cover - what the test is about
            errors.append(err)
    pool = [threading.Thread(target=work) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    assert float(c.get_value()) == 200.0


def test_generated_code_survives_odd_file_names_and_reprs(tmp_path):
    """The emitted lines end with '# op at file:line': a file name that is not
    UTF-8, or a carriage return in it, must not break (or inject into) the code."""
    import subprocess
    import sys
    import os
    name = os.fsdecode(b"caf\xe9\rprint('injected').py")
    script = tmp_path / name
    script.write_text("import numpy as np\nimport layerkit.core as theano\n"
                      "import layerkit.core.tensor as T\n"
                      "x = T.dvector('x')\n"
                      "print(theano.function([x], T.tanh(x) * 2 + 1)(np.zeros(2)).tolist())\n")
    done = subprocess.run([sys.executable, os.fsencode(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1.0, 1.0]"
