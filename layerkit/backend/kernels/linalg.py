"""Linear algebra kernels."""
from __future__ import annotations

from ._namespace import namespace

__all__ = ["LINALG_KERNELS"]


def matmul(a, b):
    """``a @ b`` with the standard's semantics (1-d operands, batch broadcasting)."""
    return namespace(a, b).matmul(a, b)


def tensordot(a, b, axes):
    """Contract ``a``'s axes ``axes[0]`` with ``b``'s ``axes[1]`` (a pair of sequences)."""
    return namespace(a, b).tensordot(a, b, axes=(tuple(axes[0]), tuple(axes[1])))


LINALG_KERNELS = {"matmul": matmul, "tensordot": tensordot}
