"""Errors name the op and the user's line; NanGuardMode stops at the first bad node."""
import inspect

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.compile import NanGuardError, NanGuardMode
from layerkit.core.linker import KernelError


@pytest.mark.parametrize("mode", ["NanGuardMode", NanGuardMode(True, True, True)])
def test_nan_guard_names_the_node_and_line(mode, backend):
    x = T.dvector("x")
    y, line = T.log(x), inspect.currentframe().f_lineno  # the line reported
    f = theano.function([x], (y * 2).sum(), mode=mode, backend=backend.name)
    assert float(f([1.0, np.e])) == pytest.approx(2.0)
    with _nowarn(), pytest.raises(NanGuardError,
                                  match=rf"log produced NaN[\s\S]*test_reliability.py:{line}"):
        f([1.0, -1.0])


def test_nan_guard_big_values():
    x = T.dvector("x")
    f = theano.function([x], x * 1e6, mode=NanGuardMode(big_is_error=True, big=1e10))
    f([1.0])
    with pytest.raises(NanGuardError, match="value above"):
        f([1e5])


def test_kernel_failure_names_op_shapes_and_line(backend):
    x = T.dmatrix("x")
    idx = T.lvector("idx")
    y = x[idx]  # an out-of-range index fails inside the kernel
    f = theano.function([x, idx], y, backend=backend.name)
    with pytest.raises(Exception, match=r"Take|take|index|bounds"):
        f(np.zeros((2, 3)), np.array([5]))


def test_kernel_error_message_has_the_user_line():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z, line = T.dot(x, y), inspect.currentframe().f_lineno  # sizes unknown until run time
    f = theano.function([x, y], z)
    with pytest.raises(KernelError, match=rf"MatMul[\s\S]*float64\(2, 3\)[\s\S]*test_reliability.py:{line}"):
        f(np.zeros((2, 3)), np.zeros((4, 2)))


class _nowarn:
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
