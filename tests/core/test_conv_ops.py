"""conv2d and pooling as the core builds them: the static shapes it infers and the
warnings it gives, without compiling anything.

The numbers (forward against SciPy, gradients against finite differences, second
order and the transposed convolution) are checked on every backend by the kit:
``layerkit.testing.suite_conv`` calls the kernels directly and
``layerkit.testing.suite_ops`` compiles conv2d and pooling graphs
(``tests/backend/test_ops_suite.py`` runs it here).
"""
import pytest

import layerkit.core.tensor as T
from layerkit.core.tensor.signal.pool import max_pool_2d, pool_2d


def test_theano_tutorials_shapes_with_the_old_default():
    X = T.tensor("float32", shape=(None, 1, 28, 28))
    w = T.tensor("float32", shape=(32, 1, 3, 3))
    w2 = T.tensor("float32", shape=(64, 32, 3, 3))
    w3 = T.tensor("float32", shape=(128, 64, 3, 3))
    l1 = max_pool_2d(T.nnet.conv2d(X, w, border_mode="full"), (2, 2))
    l2 = max_pool_2d(T.nnet.conv2d(l1, w2), (2, 2))
    l3 = max_pool_2d(T.nnet.conv2d(l2, w3), (2, 2))
    assert [v.type.shape[2] for v in (l1, l2, l3)] == [15, 7, 3]   # 28-30-15-13-7-5-3


def test_pool_2d_warns_when_ignore_border_is_omitted():
    with pytest.warns(UserWarning, match="ignore_border"):
        pool_2d(T.dtensor4(), (2, 2))
