"""The plugin as installed: found through its entry point, shown by ``layerkit
backends``, numexpr used from the threshold on, the numpy kernel below it.

The kit checks the kernel's numbers on every case (run it with
``LAYERKIT_NUMEXPR_MIN_SIZE=0 pytest -p layerkit.testing --layerkit-backend=numpy``
so that even its small cases go through numexpr); these tests check the rest.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

layerkit_numexpr = pytest.importorskip("layerkit_numexpr")

from layerkit.backend import get_backend, plugin_errors, registry  # noqa: E402
from layerkit.cli import format_backends  # noqa: E402
from layerkit_numexpr.elemwise import DEFAULT_MIN_SIZE  # noqa: E402

DIST = "layerkit-numexpr"


@pytest.fixture
def numpy_backend(monkeypatch):
    """The numpy backend created afresh, with the default threshold."""
    monkeypatch.delenv("LAYERKIT_NUMEXPR_MIN_SIZE", raising=False)
    monkeypatch.delenv("LAYERKIT_DISABLE_PLUGINS", raising=False)
    with registry.isolated():
        yield get_backend("numpy")


def _reference(x):
    return np.logaddexp(0.0, x.astype(np.float64))


def test_the_plugin_provides_numpys_softplus(numpy_backend):
    assert numpy_backend.kernel_providers["softplus"] == DIST
    assert numpy_backend.supports_out("softplus")
    # every other kernel is still the numpy plugin's or the generic one
    others = {p for k, p in numpy_backend.kernel_providers.items() if k != "softplus"}
    assert DIST not in others


def test_layerkit_backends_shows_it(numpy_backend):
    row = next(line for line in format_backends("overrides").splitlines()
               if line.split()[:1] == ["softplus"])
    assert f"{DIST}*" in row.split()
    # and so does the console command of the installed layerkit
    out = subprocess.run([sys.executable, "-m", "layerkit", "backends", "--overrides"],
                         capture_output=True, text=True, check=True).stdout
    assert any(line.split()[:1] == ["softplus"] and f"{DIST}*" in line
               for line in out.splitlines()), out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [DEFAULT_MIN_SIZE - 1, DEFAULT_MIN_SIZE, 3 * DEFAULT_MIN_SIZE + 7])
def test_large_and_small_arrays_match_numpys_kernel(numpy_backend, dtype, size):
    x = np.random.default_rng(size).uniform(-50, 50, size).astype(dtype)
    x[:6] = [0.0, -0.0, 1000.0, -1000.0, 40.0, -745.0 if dtype == "float64" else -100.0]
    kernel = numpy_backend.kernel("softplus")
    got = kernel(x)
    assert got.dtype == x.dtype and got.shape == x.shape
    # relative accuracy down to the smallest normal number; below it, float32 subnormals
    # carry few digits (numpy's own kernel loses them the same way)
    rtol, atol = (2e-6, 1.2e-38) if dtype == "float32" else (1e-13, 2.3e-308)
    np.testing.assert_allclose(got, _reference(x), rtol=rtol, atol=atol)
    if size < DEFAULT_MIN_SIZE:     # below the threshold: exactly the numpy plugin's kernel
        np.testing.assert_array_equal(got, kernel.fallback(x))
    out = np.empty_like(x)
    assert kernel(x, out=out) is out
    np.testing.assert_array_equal(out, got)


def test_arrays_numexpr_cannot_take_go_to_the_numpy_kernel(numpy_backend):
    kernel = numpy_backend.kernel("softplus")
    big = np.linspace(-5, 5, 2 * DEFAULT_MIN_SIZE)
    np.testing.assert_allclose(kernel(big[::2]), _reference(big[::2]), rtol=1e-13)
    ints = np.arange(-3, 4)
    np.testing.assert_array_equal(kernel(ints), kernel.fallback(ints))
    assert float(kernel(np.float32(2.0))) == pytest.approx(np.logaddexp(0, 2.0), rel=1e-6)
    out = np.empty(2 * DEFAULT_MIN_SIZE)[::2]          # a strided out: numpy fills it
    assert kernel(big[::2].copy(), out=out) is out
    np.testing.assert_allclose(out, _reference(big[::2]), rtol=1e-13)


def test_a_compiled_graph_runs_on_it(numpy_backend):
    import layerkit.core as theano
    import layerkit.core.tensor as T

    x = T.matrix("x", dtype="float32")
    f = theano.function([x], T.nnet.softplus(x) * 2, backend="numpy")
    a = np.random.default_rng(1).uniform(-8, 8, (512, 300)).astype("float32")
    np.testing.assert_allclose(f(a), 2 * _reference(a), rtol=5e-6)


def test_a_bad_threshold_is_reported_not_fatal(monkeypatch):
    monkeypatch.setenv("LAYERKIT_NUMEXPR_MIN_SIZE", "lots")
    with registry.isolated():
        backend = get_backend("numpy")
        assert backend.kernel_providers["softplus"] == "layerkit-numpy"
        problems = [p for p in plugin_errors() if p.distribution == DIST]
        assert problems and "LAYERKIT_NUMEXPR_MIN_SIZE must be a whole number of elements, " \
                            "got 'lots'" in problems[0].reason
