"""The run-time broadcast check that the linker writes inline: a size-1 input that was
not declared broadcastable is refused (Theano's rule) by a single elementwise op and by
a fused chain, with the op's message; agreeing shapes run."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T


@pytest.mark.parametrize("build", [lambda x, y: x + y, lambda x, y: T.exp(x + y) * 2],
                         ids=["single op", "fused chain"])
def test_undeclared_broadcast_is_refused(build, backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = theano.function([x, y], build(x, y), backend=backend.name)
    a = np.arange(12.0).reshape(3, 4)
    f(a, a)                                # agreeing shapes run
    with pytest.raises(ValueError, match=r"do not match in dimension 0"):
        f(a, np.ones((1, 4)))
    assert "_check" in f.source            # the comparison is written into the function


def test_agreeing_shapes_give_numpy_values(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = theano.function([x, y], T.exp(x + y) * 2, backend=backend.name)
    a, b = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(f(a, b), np.exp(a + b) * 2, rtol=1e-15)


def test_a_python_float_into_a_float64_scalar_is_exact(backend):
    s = T.dscalar("s")
    f = theano.function([s], s * 1, backend=backend.name)
    assert f(0.1) == 0.1 and f(1e-310) == 1e-310
