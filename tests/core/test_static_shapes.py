"""Static sizes survive ``x.shape``: ops built from a shape vector (the gradients of
convolution, reshape) keep what the type of ``x`` knows, so a gradient can flow back
through a dimshuffle that added a size-1 axis."""
import numpy as np

import layerkit.core.tensor as T
from layerkit.testing import verify_grad


def test_shape_of_a_partly_known_variable_keeps_its_static_sizes():
    from layerkit.core.ops.shape import shape_of, static_entries
    v = T.dmatrix("v").dimshuffle(0, "x", 1)
    assert static_entries(shape_of(v)) == (None, 1, None)


def test_filter_gradient_through_a_dimshuffled_filter(backend):
    """A 1-d convolution written as a 2-d one over ``w.dimshuffle(0, 1, 'x', 2)``:
    the filter gradient matches central differences (verify_grad)."""
    rng = np.random.default_rng(0)
    X = rng.random((1, 3, 5, 6))

    def cost(w):
        return (T.nnet.conv2d(T.constant(X), w.dimshuffle(0, 1, "x", 2)) ** 2).sum()
    verify_grad(cost, [rng.random((2, 3, 4))], backend=backend.name)
