"""A fused chain of elementwise ops (made by the fusion rewrite, never by users)."""
from __future__ import annotations

from ...backend.fusion import compose
from ..graph import Apply
from ..op import Op
from ..types import TensorType
from .elemwise import with_broadcast_check

__all__ = ["Fused"]


class Fused(Op):
    """Run a :class:`layerkit.backend.fusion.FusedElemwise` as one node."""

    __props__ = ("spec", "out_type")

    def __init__(self, spec, out_type: TensorType) -> None:
        self.spec, self.out_type = spec, out_type

    def __repr__(self) -> str:
        return f"Fused{{{self.spec.describe()}}}"

    @property
    def name(self) -> str:
        return f"fused {self.spec.describe()}"

    def make_node(self, *inputs) -> Apply:
        return Apply(self, list(inputs), [self.out_type])

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError("fused nodes exist only in compiled graphs")

    can_destroy = True

    def thunk(self, backend, node):
        return self.destroy_thunk(backend, node, None)

    def destroy_thunk(self, backend, node, position):
        """The thunk for a node whose ``out=`` is the storage of input ``position``
        (an in-place update; see :func:`layerkit.backend.fusion.compose`)."""
        fn = backend.fuse(self.spec) or compose(self.spec, backend, alias=position)
        return with_broadcast_check(fn, node)
