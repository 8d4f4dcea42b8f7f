"""The kernel conformance suite of ``layerkit.testing``, run on the selected backends,
and the generic kernels' promises to the host backend (numpy arrays, numbers)."""
import warnings

import numpy as np
import scipy.special as sp

from layerkit.backend.kernels import GENERIC_KERNELS, KERNEL_NAMES
from layerkit.testing.suite_kernels import *  # noqa: F401,F403


def test_generic_table_covers_the_contract():
    assert KERNEL_NAMES <= set(GENERIC_KERNELS)
    doc_names = ("sigmoid softplus erf take scatter_add setitem softmax log_softmax logsumexp "
                 "tensordot random_uniform random_normal random_binomial").split()
    assert set(doc_names) <= KERNEL_NAMES


def test_generic_kernels_take_numpy_scalars_and_python_numbers():
    """Constant folding hands the generic kernels numpy scalars and plain numbers."""
    k = GENERIC_KERNELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isclose(k["sigmoid"](np.float32(0.5)), sp.expit(0.5))
        assert np.isclose(k["erf"](0.5), sp.erf(0.5))
        assert k["sign"](-2.0) == -1.0
        assert k["add"](np.float64(1.0), 2.0) == 3.0
        assert k["where"](np.bool_(False), 1.0, 2.0) == 2.0
        assert k["sum"](np.float32(3.0)) == 3.0
        assert k["setitem"](np.float64(1.0), (), 5.0, inc=True) == 6.0
        assert k["sigmoid"](np.float64(-1000.0)) == 0.0
