"""The numpy backend keeps freed memory in the process: a training step whose updates
run in place must not page-fault on its temporaries every call (layerkit_numpy.memory)."""
import os
import platform
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import resource
    import numpy as np
    import layerkit.core as theano
    import layerkit.core.tensor as T
    rng = np.random.default_rng(0)
    x, y = T.matrix("x"), T.ivector("y")
    srng = theano.RandomStreams(0)
    ws = [theano.shared(rng.standard_normal(s).astype("float32") * 0.01)
          for s in ((784, 625), (625, 625), (625, 10))]

    def drop(h, p):
        return h * srng.binomial(h.shape, p=1 - p, dtype="float32") / (1 - p)
    h = T.maximum(T.dot(drop(x, 0.2), ws[0]), 0)
    h = T.maximum(T.dot(drop(h, 0.5), ws[1]), 0)
    p = T.nnet.softmax(T.dot(drop(h, 0.5), ws[2]))
    cost = T.mean(T.nnet.categorical_crossentropy(p, y))
    updates = []
    for w in ws:
        acc = theano.shared(np.zeros(w.get_value().shape, dtype="float32"))
        g = T.grad(cost, w)
        new_acc = 0.9 * acc + 0.1 * g ** 2
        updates += [(acc, new_acc), (w, w - 0.001 * g / T.sqrt(new_acc + 1e-6))]
    step = theano.function([x, y], cost, updates=updates, backend="numpy")
    X = rng.random((128, 784)).astype("float32")
    Y = rng.integers(0, 10, 128).astype("int32")
    for _ in range(5):
        step(X, Y)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step(X, Y)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
""")


def _faults_per_step(keep: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(LAYERKIT_NUMPY_KEEP_MEMORY=keep, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the tuning applies to glibc's malloc only")
def test_steady_training_steps_do_not_page_fault():
    without = _faults_per_step("0")
    if without < 100:
        pytest.skip(f"this malloc keeps freed memory by itself ({without:.0f} faults per "
                    "step without the tuning): nothing to show")
    with_tuning = _faults_per_step("1")
    assert with_tuning < without / 10, (with_tuning, without)
