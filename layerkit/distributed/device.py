"""How one packed bucket of gradients is averaged over the ranks.

:class:`~layerkit.distributed.AllreduceMean` packs the gradients of one dtype
into a contiguous bucket and hands it here. A numpy bucket goes to
``MPI_Iallreduce`` as it is (:func:`mean_on_host`). A bucket of device arrays
(cupy's) takes one of three paths, chosen once per world and backend:

``nccl``
    ``cupy.cuda.nccl``: one NCCL communicator per world (rank 0 makes the
    unique id, MPI broadcasts it, every rank builds ``NcclCommunicator(size,
    uid, rank)``); ``allReduce`` in place on the current stream, waited for by
    polling the stream (at most the world's timeout); the division on the
    device.
``cuda-aware-mpi``
    the device buffer itself given to ``MPI_Iallreduce`` (mpi4py reads its
    ``__cuda_array_interface__``), after the stream is synchronised (MPI knows
    no CUDA streams); the division on the device.
``host``
    host staging, for any backend: one copy to the host, ``MPI_Iallreduce``
    there, the division, one copy back.

``auto`` (the default) takes the first of these that every rank can use:
``nccl`` when the backend's arrays are cupy's and ``cupy.cuda.nccl`` imports
with ``available`` true; ``cuda-aware-mpi`` when the MPI library says it takes
device buffers (its ``MPIX_Query_cuda_support()``, which Open MPI and MPICH
export and mpi4py does not wrap: :func:`mpi_cuda_support`); else ``host``.
``LAYERKIT_DISTRIBUTED_DEVICE_PATH`` or ``init(device_path=...)`` forces one
(:func:`requested_device_path` reads them); forcing ``cuda-aware-mpi`` skips
the query (some CUDA-aware builds answer 0). The choice is collective: each
rank reports what it asks for and what it can use (one all-gather at the first
all-reduce of device arrays) and all take the same path; ranks that ask for
different paths, or a forced path that a rank cannot use, raise
:class:`DistributedError` on every rank, naming the ranks and why.
:meth:`World.describe` shows the choice and its reason.

**The sum's dtype.** A bucket is summed in a dtype that holds the sum
(:func:`sum_dtype`), on every path: integers narrower than 64 bits (int8 to
int32, uint8 to uint32) in int64, float16 in float32; the mean is cast back
to the bucket's dtype (integers rounded down). Summed in their own dtype,
two ranks' int8 100s wrapped to -56 and float16 40000s overflowed to inf.
The widening costs one cast on each side and, on the wire, 8 bytes per
integer and 4 per float16 (twice float16's traffic). int64 and uint64 have
no wider integer: their sums wrap past the type's range, as numpy's do.
NCCL has no complex type: a complex bucket is reduced as twice as many floats
of its component type (a sum of complex numbers is the sum of their parts);
a dtype NCCL has no type for takes host staging on the ``nccl`` path. Bool
gradients are refused when the op is built.
"""
from __future__ import annotations

import ctypes
import importlib
import os
import re

import numpy as np

from .errors import DistributedError

__all__ = ["PATHS", "DEVICE_PATHS", "requested_device_path", "sum_dtype", "divide_",
           "mean_on_host",
           "device_reducer", "choose_path", "mpi_cuda_support", "HostStaging", "CudaAwareMpi",
           "Nccl"]

#: the device paths, in the order "auto" tries them
PATHS = ("nccl", "cuda-aware-mpi", "host")

#: what may be asked for: "auto" (the first of PATHS every rank can use) or one of them
DEVICE_PATHS = ("auto",) + PATHS

#: the variable that asks for a path (``init(device_path=...)`` wins over it)
ENV = "LAYERKIT_DISTRIBUTED_DEVICE_PATH"

#: numpy dtype name -> (the cupy.cuda.nccl constant of its type, values per element)
_NCCL_TYPES = {"int8": ("NCCL_INT8", 1), "uint8": ("NCCL_UINT8", 1),
               "int32": ("NCCL_INT32", 1), "uint32": ("NCCL_UINT32", 1),
               "int64": ("NCCL_INT64", 1), "uint64": ("NCCL_UINT64", 1),
               "float16": ("NCCL_FLOAT16", 1), "float32": ("NCCL_FLOAT32", 1),
               "float64": ("NCCL_FLOAT64", 1),
               # no complex type: the real and imaginary parts, summed as floats
               "complex64": ("NCCL_FLOAT32", 2), "complex128": ("NCCL_FLOAT64", 2)}

#: NCCL_UNIQUE_ID_BYTES (nccl.h): cupy's get_unique_id gives a tuple of that many chars
_NCCL_ID_BYTES = 128


def requested_device_path(value: str | None = None) -> tuple[str, str]:
    """``(path, origin)``: the device path asked for and who asked: ``value`` (from
    ``init(device_path=...)``), else ``LAYERKIT_DISTRIBUTED_DEVICE_PATH``, else the
    default, "auto". A value not in :data:`DEVICE_PATHS` raises ValueError."""
    if value is None:
        value = os.environ.get(ENV, "")
        origin = f"{ENV}={value}" if value.strip() else f"the default: {ENV} unset"
    else:
        origin = f"init(device_path={value!r})"
    path = str(value).strip().lower() or "auto"
    if path not in DEVICE_PATHS:
        raise ValueError(f"{origin}: expected one of {', '.join(DEVICE_PATHS)}, got {value!r}")
    return path, origin


def divide_(buf, n: int):
    """``buf``, a sum over ``n`` ranks, divided by ``n`` in place (numpy or cupy;
    integer buffers are rounded down). Returns ``buf``."""
    if n > 1:
        if buf.dtype.kind in "fc":
            buf /= buf.dtype.type(n)
        else:
            buf //= n
    return buf


def sum_dtype(dtype) -> np.dtype:
    """The dtype a bucket of ``dtype`` is summed in over the ranks: int64 for
    integers narrower than 64 bits (signed or not), float32 for float16, else
    ``dtype`` itself."""
    dtype = np.dtype(str(dtype))
    if dtype.kind in "iu" and dtype.itemsize < 8:
        return np.dtype("int64")
    if dtype == np.float16:
        return np.dtype("float32")
    return dtype


def mean_on_host(world, buf: np.ndarray, what: str) -> np.ndarray:
    """Average a numpy buffer over the ranks, in place (summed in :func:`sum_dtype`,
    the mean cast back to ``buf``'s dtype). Returns ``buf``."""
    wide = sum_dtype(buf.dtype)
    if wide == buf.dtype or world.size == 1:
        world.allreduce_sum(buf, what)
        return divide_(buf, world.size)
    total = buf.astype(wide)
    world.allreduce_sum(total, what)
    buf[...] = divide_(total, world.size)          # the mean fits buf's dtype
    return buf


class HostStaging:
    """One copy to the host, the host all-reduce, one copy back (any backend)."""

    name = "host"

    def __init__(self, world, backend, reason: str) -> None:
        self.world, self.backend, self.reason = world, backend, reason

    def mean(self, dev, what: str):
        host = np.asarray(self.backend.to_numpy(dev))
        if type(host) is not np.ndarray or not (host.flags.c_contiguous and
                                               host.flags.writeable):
            host = np.array(host, copy=True)
        mean_on_host(self.world, host, what)
        return self.backend.from_numpy(host)


class CudaAwareMpi:
    """The device buffer handed to ``MPI_Iallreduce`` (a CUDA-aware MPI)."""

    name = "cuda-aware-mpi"

    def __init__(self, world, backend, reason: str) -> None:
        self.world, self.xp, self.reason = world, backend.xp, reason

    def mean(self, dev, what: str):
        wide = sum_dtype(dev.dtype)
        buf = dev if wide == dev.dtype else dev.astype(wide)
        # MPI reads the buffer outside any stream: the kernels that packed it must be done
        self.xp.cuda.get_current_stream().synchronize()
        self.world.allreduce_sum(buf, what)
        divide_(buf, self.world.size)
        return buf if buf is dev else buf.astype(dev.dtype)


class _StreamDone:
    """A CUDA stream seen as a request: ``Test()`` is whether its work is done."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def Test(self) -> bool:  # noqa: N802 (mpi4py's name, so World.wait takes it)
        return bool(self.stream.done)


class Nccl:
    """``cupy.cuda.nccl``: one communicator for the world, all-reduce on the device."""

    name = "nccl"

    def __init__(self, world, backend, nccl, reason: str) -> None:
        self.world, self.xp, self.nccl, self.reason = world, backend.xp, nccl, reason
        uid = np.zeros(_NCCL_ID_BYTES, dtype=np.int16)        # chars, signed or not
        if world.rank == 0:
            made = tuple(nccl.get_unique_id())
            if len(made) != _NCCL_ID_BYTES:
                raise DistributedError(f"cupy.cuda.nccl.get_unique_id() gave {len(made)} "
                                       f"values; expected {_NCCL_ID_BYTES} (NCCL_UNIQUE_ID_BYTES)")
            uid[:] = made
        world.bcast(uid, 0, "the broadcast of the NCCL unique id from rank 0")
        self.comm = nccl.NcclCommunicator(world.size, tuple(int(v) for v in uid), world.rank)
        self.host = HostStaging(world, backend, "a dtype NCCL has no type for")

    def mean(self, dev, what: str):
        wide = sum_dtype(dev.dtype)
        kind = _NCCL_TYPES.get(str(wide))
        if kind is None:
            return self.host.mean(dev, what)
        name, per_element = kind
        buf = dev if wide == dev.dtype else dev.astype(wide)     # on the current stream
        stream = self.xp.cuda.get_current_stream()

        def launch():
            ptr = buf.data.ptr
            self.comm.allReduce(ptr, ptr, buf.size * per_element, getattr(self.nccl, name),
                                self.nccl.NCCL_SUM, stream.ptr)
            return _StreamDone(stream)
        # started (the channel opened, or refused after the exit notice) before NCCL is
        # given the kernel: a refusal leaves no all-reduce queued without its partners
        self.world.track(launch, what)
        divide_(buf, self.world.size)
        return buf if buf is dev else buf.astype(dev.dtype)


# -- the choice ------------------------------------------------------------------------
def _nccl_module(xp):
    """``(cupy.cuda.nccl, None)``, or ``(None, why it cannot be used)``."""
    name = f"{xp.__name__}.cuda.nccl"
    try:
        nccl = importlib.import_module(name)
    except Exception as err:        # ImportError, or CUDA libraries that fail to load
        return None, f"{name} failed to import: {type(err).__name__}: {err}"
    if not getattr(nccl, "available", False):
        return None, f"{name}.available is false (cupy found no NCCL library)"
    return nccl, None


def _loaded_mpi_libraries() -> list:
    """Paths of the MPI libraries mapped into this process (Linux), then None (the
    process's global symbols)."""
    found = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if re.match(r"lib(mpi|mpich)\w*\.so", os.path.basename(path)) and \
                        path not in found:
                    found.append(path)
    except OSError:
        pass
    return found + [None]


def mpi_cuda_support() -> tuple[bool, str]:
    """Whether the MPI library in this process takes CUDA device buffers, and how we
    know: its ``MPIX_Query_cuda_support()`` (Open MPI's extension, which MPICH
    exports too; 1 when built with CUDA and enabled at run time, e.g. MPICH's
    ``MPIR_CVAR_ENABLE_GPU=1``). Call it after MPI is initialised."""
    for path in _loaded_mpi_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        query = getattr(lib, "MPIX_Query_cuda_support", None)
        if query is not None:
            query.restype, query.argtypes = ctypes.c_int, []
            answer = query()
            where = os.path.basename(path) if path else "this process"
            return answer == 1, f"MPIX_Query_cuda_support() = {answer} in {where}"
    return False, ("the MPI library has no MPIX_Query_cuda_support() to ask; force the path "
                   "with LAYERKIT_DISTRIBUTED_DEVICE_PATH=cuda-aware-mpi if it is CUDA-aware")


def _why_not(world, backend, path: str, forced: bool) -> str | None:
    """None when this rank can use ``path`` for ``backend``'s arrays, else why not."""
    if path == "host":
        return None
    if not hasattr(backend.xp, "cuda"):
        return f"the {backend.name!r} backend's arrays are not cupy arrays"
    if path == "nccl":
        return _nccl_module(backend.xp)[1]
    if world.comm is None:
        return "no MPI communicator (a single-process world)"
    if forced:
        return None
    ok, how = mpi_cuda_support()
    return None if ok else f"MPI does not say it is CUDA-aware: {how}"


def choose_path(world, backend) -> tuple[str, str]:
    """``(path, reason)`` for ``backend``'s arrays: the forced path, or the first of
    :data:`PATHS` that every rank can use. A collective (one all-gather of each
    rank's request and what it can use) when the world has several ranks. A
    forced path is the only one this rank evaluates."""
    asked = world.device_path
    forced = asked != "auto"
    # a forced path is the only one asked about (probing the others could fail or be slow:
    # importing NCCL, the MPI query); the requests are still gathered, to compare them
    mine = {p: _why_not(world, backend, p, forced) for p in ((asked,) if forced else PATHS)}
    gathered = world.allgather_object(((asked, world.device_path_origin), mine),
                                      "the choice of the device all-reduce path")
    requests = [request for request, _ in gathered]
    other = next((r for r, (path, _) in enumerate(requests) if path != requests[0][0]), None)
    if other is not None:
        (first, first_origin), (theirs, their_origin) = requests[0], requests[other]
        raise DistributedError(
            f"the ranks ask for different device all-reduce paths: rank 0 asks for {first!r} "
            f"({first_origin}) but rank {other} for {theirs!r} ({their_origin}); every rank "
            f"must ask for the same one ({ENV} or init(device_path=...))")
    everyone = [why for _, why in gathered]

    def first_lacking(path):
        return next(((r, why[path]) for r, why in enumerate(everyone)
                     if why[path] is not None), None)

    if forced:
        lacking = first_lacking(world.device_path)
        if lacking is not None:
            r, why = lacking
            raise DistributedError(
                f"{world.device_path_origin} asks for the {world.device_path!r} all-reduce "
                f"path, but rank {r} of {world.size} cannot use it: {why}")
        return world.device_path, f"forced by {world.device_path_origin}"
    skipped = []
    for path in PATHS:
        lacking = first_lacking(path)
        if lacking is None:
            return path, "auto" + (": " + "; ".join(skipped) if skipped else "")
        r, why = lacking
        skipped.append(f"not {path}: {why}" + (f" (rank {r})" if world.size > 1 else ""))
    raise AssertionError("host staging is always possible")


def device_reducer(world, backend):
    """The path object averaging ``backend``'s buckets in ``world`` (chosen, and for
    NCCL its communicator built, on first use: a collective on every rank)."""
    reducer = world.device_reducers.get(backend.name)
    if reducer is None:
        path, reason = choose_path(world, backend)
        if path == "nccl":
            reducer = Nccl(world, backend, _nccl_module(backend.xp)[0], reason)
        elif path == "cuda-aware-mpi":
            reducer = CudaAwareMpi(world, backend, reason)
        else:
            reducer = HostStaging(world, backend, reason)
        world.device_reducers[backend.name] = reducer
    return reducer
