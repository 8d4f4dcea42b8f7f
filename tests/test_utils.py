"""layerkit.utils: as_tuple and one_hot (Lasagne's), floatX, unique, create_param errors."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.utils import as_tuple, floatX, one_hot, unique


def test_as_tuple():
    assert as_tuple(3, 2) == (3, 3)
    assert as_tuple([1, 2], 2) == (1, 2)
    assert as_tuple((1, 2, 3), 3, int) == (1, 2, 3)
    assert as_tuple(1.5, 1) == (1.5,)
    with pytest.raises(ValueError, match="length 2, got \\(1, 2, 3\\)"):
        as_tuple((1, 2, 3), 2)
    with pytest.raises(TypeError, match="iterable of int, got \\(1, 2.5\\)"):
        as_tuple((1, 2.5), 2, int)
    with pytest.raises(TypeError, match="iterable of int or float, got 'ab'"):
        as_tuple("ab", 2, (int, float))


@pytest.mark.parametrize("m", [None, 6])
def test_one_hot(m, backend, request):
    if m is None and backend.name == "array-api-strict":
        from layerkit.core.linker import KernelError
        request.applymarker(pytest.mark.xfail(
            raises=KernelError, reason="generic arange kernel: a stop computed on the "
            "array-api-strict device meets int true division ('Only floating-point dtypes')"))
    labels = np.array([[0, 3], [2, 3], [1, 0]], dtype="int32")
    x = T.imatrix("x")
    out = theano.function([x], one_hot(x, m), backend=backend.name)(labels)
    expected = np.eye(4 if m is None else m)[labels]          # numpy's one-hot rows
    assert out.dtype == theano.config.floatX
    np.testing.assert_array_equal(out, expected)


def test_one_hot_of_a_vector_and_floatx():
    out = theano.function([], one_hot(np.array([1, 0, 2]), 3))()
    np.testing.assert_array_equal(out, np.eye(3)[[1, 0, 2]])
    assert floatX(np.arange(3)).dtype == np.dtype(theano.config.floatX)
    a, b = object(), object()
    assert unique([a, b, a]) == [a, b]
