"""Products: numpy's ``matmul`` and ``tensordot`` (BLAS for float32/float64)."""
from __future__ import annotations

import numpy as np

__all__ = ["LINALG_KERNELS"]


def matmul(a, b):
    if 1 <= a.ndim <= 2 and 1 <= b.ndim <= 2 and type(a) is np.ndarray:
        # the same product for matrices and vectors: ndarray.dot calls the same BLAS
        # routines, without the generalized ufunc's dispatch (0.5 against 1.4 us a call
        # on a 2x3 matrix)
        return a.dot(b)
    if a.ndim > 2 and b.ndim == 2:
        # a stack of rows times one matrix is one GEMM over all the rows (numpy would
        # run one product per matrix of the stack, slower still on a strided view:
        # an RNN's input projection of a (time, batch, features) transpose)
        rows = np.ascontiguousarray(a).reshape(-1, a.shape[-1])
        return np.matmul(rows, b).reshape(a.shape[:-1] + (b.shape[-1],))
    return np.matmul(a, b)   # BLAS for float32/float64


def tensordot(a, b, axes):
    return np.tensordot(a, b, axes=(list(axes[0]), list(axes[1])))


LINALG_KERNELS = {"matmul": matmul, "tensordot": tensordot}
