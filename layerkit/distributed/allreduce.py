"""Gradients averaged over the ranks inside the compiled step: :class:`AllreduceMean`.

One node takes every gradient and gives their means over the ranks, so the
update rules after it (``lasagne.updates.*``, a hand-written SGD) see the
gradient of the whole global batch. Per call it

1. packs the gradients of each dtype into one contiguous buffer (a bucket;
   ``bucket_bytes`` splits a dtype's gradients into several), so a step sends
   one message per dtype, not one per parameter;
2. sums each bucket over the ranks, waited for at most the world's timeout
   (:meth:`World.wait`), in a dtype that holds the sum
   (:func:`~layerkit.distributed.device.sum_dtype`: int64 for narrower
   integers, float32 for float16);
3. divides by the number of ranks (cast back to the bucket's dtype) and
   returns the gradients as pieces of the bucket (fresh memory: no output shares storage with an input or another
   output).

numpy buckets go to ``MPI_Iallreduce`` directly (mpi4py reads their buffer).
Other backends' buckets are packed on the device and reduced by the path
:mod:`layerkit.distributed.device` chooses once per world and backend: NCCL
(cupy), CUDA-aware MPI (cupy), or host staging (any backend: one copy to the
host and one back per bucket and step). The paths run at any world size, so
an op built by hand in one process runs the path a job would.

**What the compiler is told.** The op is not pure (``pure = False``): two
all-reduces of the same gradients are two collective calls, never merged,
and never constant-folded (``foldable = False``); each :func:`allreduce_grads`
builds its own op (its ``uid``), so compile caches never share one between
graphs. Its outputs are fresh (no ``view_map``) and it writes into no input
(no ``destroy_map``). It has no gradient: differentiating through an
all-reduce raises (take second derivatives before averaging). Every rank
must run the same compiled step the same number of times, as with any
collective.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..core.graph import Apply, Variable, as_variable
from ..core.op import Op
from .device import device_reducer, mean_on_host
from .world import get_world

__all__ = ["AllreduceMean", "allreduce_grads"]

_UIDS = itertools.count()


def _refuse_bool(variables, who: str) -> None:
    """TypeError naming the first bool variable: MPI has no sum of bools
    (``MPI_SUM`` on ``MPI_C_BOOL`` fails), nor NCCL a bool type, and a mean of
    bools is no bool."""
    for i, v in enumerate(variables):
        if str(getattr(getattr(v, "type", None), "dtype", "")) == "bool":
            name = f"{v.name!r}" if getattr(v, "name", None) else "unnamed"
            raise TypeError(f"{who}: gradient {i} ({name}) has dtype bool, which cannot be "
                            f"averaged over the ranks (MPI and NCCL have no sum of bools); "
                            f"cast it to a number (T.cast(g, 'int8')) or leave it out")


class AllreduceMean(Op):
    """``AllreduceMean()(*grads)``: each gradient's mean over the ranks (a list)."""

    __props__ = ("uid", "bucket_bytes")
    pure = False
    foldable = False

    def __init__(self, bucket_bytes: int | None = None) -> None:
        if bucket_bytes is not None and (not isinstance(bucket_bytes, int) or bucket_bytes < 1):
            raise ValueError(f"AllreduceMean: bucket_bytes must be a positive int or None, got "
                             f"{bucket_bytes!r}")
        self.uid = next(_UIDS)
        self.bucket_bytes = bucket_bytes

    def __repr__(self) -> str:
        return f"AllreduceMean{{{self.uid}}}"

    def make_node(self, *grads) -> Apply:
        if not grads:
            raise ValueError("AllreduceMean: no gradients given")
        inputs = [as_variable(g) for g in grads]
        _refuse_bool(inputs, "AllreduceMean")
        return Apply(self, inputs, [v.type for v in inputs])

    def __call__(self, *grads) -> list[Variable]:
        return list(self.make_node(*grads).outputs)

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError(
            "AllreduceMean has no gradient: it averages finished gradients over the ranks; "
            "take any second derivative of the loss before allreduce_grads")

    def _buckets(self, arrays) -> list[list[int]]:
        """Input positions grouped by dtype (first-seen order), split at bucket_bytes."""
        by_dtype: dict[str, list[int]] = {}
        for i, a in enumerate(arrays):
            by_dtype.setdefault(str(a.dtype), []).append(i)
        if self.bucket_bytes is None:
            return list(by_dtype.values())
        buckets = []
        for idx in by_dtype.values():
            current, nbytes = [], 0
            for i in idx:
                size = math.prod(arrays[i].shape) * np.dtype(str(arrays[i].dtype)).itemsize
                if current and nbytes + size > self.bucket_bytes:
                    buckets.append(current)
                    current, nbytes = [], 0
                current.append(i)
                nbytes += size
            buckets.append(current)
        return buckets

    def thunk(self, backend, node):
        xp = backend.xp
        concat = getattr(xp, "concat", None) or xp.concatenate     # array API / cupy name
        single = len(node.outputs) == 1

        def run(*grads):
            world = get_world()
            outs = [None] * len(grads)
            for bucket in self._buckets(grads):
                if str(grads[bucket[0]].dtype) == "bool":       # given where numbers were built
                    raise TypeError(f"{self!r}: gradient(s) {bucket} (built at {node.trace}) "
                                    f"hold bool values, which cannot be averaged over the "
                                    f"ranks (MPI and NCCL have no sum of bools)")
                shapes = [tuple(grads[i].shape) for i in bucket]
                what = (f"the gradient all-reduce {self!r} ({len(bucket)} gradients, built at "
                        f"{node.trace})")
                if all(type(grads[i]) is np.ndarray for i in bucket):
                    buf = np.concatenate([grads[i].reshape(-1) for i in bucket])   # fresh
                    mean_on_host(world, buf, what)
                    take = lambda b, lo, hi, shape: b[lo:hi].reshape(shape)  # noqa: E731
                else:
                    buf = concat([xp.reshape(grads[i], (-1,)) for i in bucket])     # fresh
                    buf = device_reducer(world, backend).mean(buf, what)
                    take = lambda b, lo, hi, shape: xp.reshape(b[lo:hi], shape)  # noqa: E731
                offset = 0
                for i, shape in zip(bucket, shapes):
                    count = math.prod(shape)
                    outs[i] = take(buf, offset, offset + count, shape)
                    offset += count
            return outs[0] if single else tuple(outs)
        return run


def allreduce_grads(grads, bucket_bytes: int | None = None) -> list[Variable]:
    """The gradients ``grads`` (a list of variables) averaged over the ranks.

    Use it between ``T.grad`` and an update rule::

        grads = layerkit.distributed.allreduce_grads(T.grad(loss, params))
        updates = lasagne.updates.adam(grads, params)

    In a single-process world it returns ``grads`` unchanged (no node is
    added). Otherwise every gradient goes through one :class:`AllreduceMean`
    node, which packs them into one buffer per dtype (``bucket_bytes`` caps a
    buffer's size) and averages that buffer over the ranks in every call.
    """
    if isinstance(grads, Variable) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"allreduce_grads: expected a list of gradient variables (as "
                        f"T.grad(loss, params) returns), got {type(grads).__name__}")
    grads = list(grads)
    if any(g is None for g in grads):
        raise TypeError("allreduce_grads: a gradient is None (a disconnected parameter?); "
                        "pass T.grad(..., disconnected_inputs='ignore')'s zeros instead")
    _refuse_bool(grads, "allreduce_grads")      # in one process too: the same script both ways
    if not grads or get_world().size == 1:
        return grads
    return AllreduceMean(bucket_bytes)(*grads)
