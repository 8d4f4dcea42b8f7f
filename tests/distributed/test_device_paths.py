"""The device all-reduce paths (nccl, cuda-aware-mpi, host) on the CPU, and on a GPU
when one is lent.

No GPU, cupy, NCCL or MPI is needed for most of this file, as the cupy plugin's
own tests do without them: the paths run against stand-ins that behave like
the real things where the paths depend on it.

* ``FakeDeviceArray``: numpy memory standing in for device memory; ``.data.ptr``
  is its address (as cupy's ``MemoryPointer``) and it has a
  ``__cuda_array_interface__``.
* ``fake_nccl``: ``cupy.cuda.nccl``'s names and signatures (``get_unique_id()`` ->
  128 chars, ``NcclCommunicator(ndev, commId, rank)``, ``allReduce(sendbuf,
  recvbuf, count, datatype, op, stream)`` with pointers and the ``NCCL_*``
  codes of cupy's ``nccl.pxd``); ``allReduce`` reads and writes the memory at
  the pointers it is given, so a wrong count, dtype or pointer gives a wrong sum.
* ``Fabric``: N ranks as N threads of this process; each collective (fake MPI's
  and fake NCCL's) meets at a barrier and sums in rank order with numpy.
"""
from __future__ import annotations

import ctypes
import functools
import threading
import types

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
import layerkit.distributed as dist
from layerkit.distributed import allreduce as allreduce_mod
from layerkit.distributed import device
from layerkit.distributed import world as world_mod

ENV = "LAYERKIT_DISTRIBUTED_DEVICE_PATH"
#: cupy_backends/cuda/libs/nccl.pxd
NCCL_CODES = {"NCCL_SUM": 0, "NCCL_INT8": 0, "NCCL_UINT8": 1, "NCCL_INT32": 2, "NCCL_UINT32": 3,
              "NCCL_INT64": 4, "NCCL_UINT64": 5, "NCCL_FLOAT16": 6, "NCCL_FLOAT32": 7,
              "NCCL_FLOAT64": 8}
CODE_DTYPES = {0: "int8", 1: "uint8", 2: "int32", 3: "uint32", 4: "int64", 5: "uint64",
               6: "float16", 7: "float32", 8: "float64"}


# -- the stand-ins ------------------------------------------------------------------------
class Fabric:
    """``n`` ranks as ``n`` threads: each collective meets at a barrier."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.barrier = threading.Barrier(n, timeout=30)
        self.slots = [None] * n

    def exchange(self, rank: int, value):
        """Every rank's ``value``, in rank order."""
        self.slots[rank] = value
        self.barrier.wait()
        everyone = list(self.slots)
        self.barrier.wait()
        return everyone

    def sum(self, rank: int, value: np.ndarray) -> np.ndarray:
        return functools.reduce(np.add, self.exchange(rank, np.array(value, copy=True)))


class _Done:
    def Test(self):  # noqa: N802
        return True


FAKE_MPI = types.SimpleNamespace(IN_PLACE=object(), SUM=object(),
                                 Get_library_version=lambda: "fake MPI (threads)")


class FakeComm:
    """The mpi4py calls World makes, over a Fabric; ``calls`` records each buffer's type."""

    def __init__(self, fabric: Fabric, rank: int) -> None:
        self.fabric, self.rank, self.calls = fabric, rank, []

    def Iallreduce(self, sendbuf, buf, op):  # noqa: N802
        assert sendbuf is FAKE_MPI.IN_PLACE and op is FAKE_MPI.SUM
        self.calls.append(("Iallreduce", type(buf), str(buf.dtype), buf.size))
        host = np.asarray(buf)                           # the same memory
        host[...] = self.fabric.sum(self.rank, host)
        return _Done()

    def Ibcast(self, buf, root=0):  # noqa: N802
        self.calls.append(("Ibcast", type(buf), str(buf.dtype), buf.size))
        buf[...] = self.fabric.exchange(self.rank, np.array(buf, copy=True))[root]
        return _Done()

    def Iallgather(self, sendbuf, recvbuf):  # noqa: N802
        rows = recvbuf.reshape(self.fabric.n, -1)
        for r, part in enumerate(self.fabric.exchange(self.rank, np.array(sendbuf, copy=True))):
            rows[r] = part.reshape(-1)
        return _Done()


def fake_world(fabric: Fabric, rank: int, device_path=None, timeout=30.0) -> world_mod.World:
    """A World whose communicator is a FakeComm (rank ``rank`` of ``fabric.n``)."""
    world = world_mod.World(None, timeout, device_path)
    world.comm, world.MPI = FakeComm(fabric, rank), FAKE_MPI
    world.rank, world.size = rank, fabric.n
    return world


class FakeDeviceArray(np.ndarray):
    """numpy memory standing in for device memory, with cupy's ``.data.ptr``."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "version": 3,
                "data": (self.ctypes.data, False), "strides": None}


class FakeStream:
    ptr = 0xC0FFEE

    def __init__(self) -> None:
        self.synchronized = 0
        self.finishes = True

    @property
    def done(self) -> bool:
        return self.finishes

    def synchronize(self) -> None:
        self.synchronized += 1


def _memory(ptr: int, count: int, dtype: str) -> np.ndarray:
    """The ``count`` values of ``dtype`` at address ``ptr`` (writable, not a copy)."""
    nbytes = count * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_byte * nbytes).from_address(ptr), dtype=dtype)


def make_fake_nccl(fabric: Fabric, available: bool = True) -> types.ModuleType:
    nccl = types.ModuleType("fakecupy.cuda.nccl")
    nccl.available = available
    nccl.__dict__.update(NCCL_CODES)
    nccl.unique_ids, nccl.communicators = [], []
    rng = np.random.RandomState(0)

    def get_unique_id():
        uid = tuple(int(v) for v in rng.randint(-128, 128, 128))    # signed chars
        nccl.unique_ids.append(uid)
        return uid

    class NcclCommunicator:
        def __init__(self, ndev, commId, rank):  # noqa: N803 (cupy's names)
            assert isinstance(commId, tuple) and len(commId) == 128
            assert commId in nccl.unique_ids, "not the id rank 0 made"
            assert ndev == fabric.n and 0 <= rank < ndev
            self.rank, self.calls = rank, []
            nccl.communicators.append(self)

        def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):  # noqa: N802
            args = dict(sendbuf=sendbuf, recvbuf=recvbuf, count=count, datatype=datatype,
                        op=op, stream=stream)
            assert all(type(v) is int for v in args.values()), args
            assert op == nccl.NCCL_SUM
            self.calls.append(args)
            dtype = CODE_DTYPES[datatype]
            total = fabric.sum(self.rank, _memory(sendbuf, count, dtype))
            _memory(recvbuf, count, dtype)[...] = total

    nccl.get_unique_id = get_unique_id
    nccl.NcclCommunicator = NcclCommunicator
    return nccl


def make_fake_cupy(stream: FakeStream) -> types.ModuleType:
    """The few cupy names the op and the paths use (its module name: ``fakecupy``)."""
    xp = types.ModuleType("fakecupy")
    xp.ndarray = FakeDeviceArray
    xp.concatenate = lambda arrays: np.concatenate(arrays).view(FakeDeviceArray)
    xp.reshape = lambda a, shape: np.reshape(a, shape)
    xp.cuda = types.SimpleNamespace(get_current_stream=lambda: stream)
    return xp


class FakeBackend:
    name = "fakecupy"

    def __init__(self, xp) -> None:
        self.xp = xp
        self.transfers = {"to_host": 0, "to_device": 0}

    def to_numpy(self, x):
        self.transfers["to_host"] += 1
        return np.array(x, copy=True).view(np.ndarray)

    def from_numpy(self, a):
        self.transfers["to_device"] += 1
        return np.array(a, copy=True).view(FakeDeviceArray)


class Job:
    """``n`` fake ranks with the fakes installed; ``run(fn)`` calls ``fn(world)`` on each
    rank's thread (``get_world()`` is that rank's world) and returns the results."""

    def __init__(self, monkeypatch, n=2, nccl=True, cuda_aware=False, device_path=None) -> None:
        self.fabric = Fabric(n)
        self.stream = FakeStream()
        self.xp = make_fake_cupy(self.stream)
        self.nccl = make_fake_nccl(self.fabric)
        self.backend = FakeBackend(self.xp)
        if nccl:
            monkeypatch.setitem(__import__("sys").modules, "fakecupy.cuda.nccl", self.nccl)
        else:   # no such module: importing it fails, as without NCCL
            monkeypatch.delitem(__import__("sys").modules, "fakecupy.cuda.nccl", raising=False)
        monkeypatch.setattr(device, "mpi_cuda_support",
                            lambda: (cuda_aware, f"MPIX_Query_cuda_support() = {int(cuda_aware)} "
                                                 f"in the fake"))
        self.worlds = [fake_world(self.fabric, r, device_path) for r in range(n)]
        local = threading.local()
        monkeypatch.setattr(allreduce_mod, "get_world", lambda: local.world)
        self._local = local

    def run(self, fn):
        results, errors = [None] * len(self.worlds), []

        def rank_main(r):
            self._local.world = self.worlds[r]
            try:
                results[r] = fn(self.worlds[r])
            except BaseException as err:      # noqa: BLE001 (re-raised below)
                errors.append(err)
                self.fabric.barrier.abort()   # the other ranks stop waiting
        threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(len(self.worlds))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
            raise (real or errors)[0]
        return results


def _grads(rank: int):
    """Rank ``rank``'s gradients: two float32 ones and a float64 one."""
    dev = lambda a: np.asarray(a).view(FakeDeviceArray)  # noqa: E731
    return (dev((rank + 1) * np.arange(6, dtype="float32").reshape(2, 3)),
            dev(10 * rank + np.arange(4, dtype="float32")),
            dev(np.array([1.0, 2.0, 3.0]) * rank))


def _averaging_step(backend):
    """The AllreduceMean thunk for (float32 matrix, float32 vector, float64 vector)."""
    op = dist.AllreduceMean()
    node = op.make_node(T.matrix("a"), T.vector("b"), T.dvector("c"))
    return op.thunk(backend, node)


MEANS = (1.5 * np.arange(6, dtype="float32").reshape(2, 3), 5 + np.arange(4, dtype="float32"),
         np.array([0.5, 1.0, 1.5]))


# -- the paths give the mean ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["nccl", "cuda-aware-mpi", "host"])
def test_each_path_averages_over_two_fake_ranks(monkeypatch, path):
    job = Job(monkeypatch, n=2, device_path=path)
    run = _averaging_step(job.backend)

    def two_steps(world):
        outs = [run(*_grads(world.rank)) for _ in range(2)]
        return outs, world.device_reducers["fakecupy"].name

    results = job.run(two_steps)
    for outs, chosen in results:
        assert chosen == path
        for out in outs:
            for got, want in zip(out, MEANS):
                assert type(got) is FakeDeviceArray, "the result must stay on the device"
                assert got.dtype == want.dtype and got.shape == want.shape
                np.testing.assert_array_equal(np.asarray(got), want)
    calls = [w.comm.calls for w in job.worlds]
    if path == "nccl":
        # one unique id (rank 0's), sent by one MPI broadcast; one communicator per rank
        assert len(job.nccl.unique_ids) == 1 and len(job.nccl.communicators) == 2
        assert all(sum(c[0] == "Ibcast" for c in cs) == 1 for cs in calls)
        assert not any(c[0] == "Iallreduce" for cs in calls for c in cs)
        for comm in job.nccl.communicators:
            # one call per dtype and step, in place, on the current stream
            assert [(c["count"], c["datatype"]) for c in comm.calls] == [(10, 7), (3, 8)] * 2
            assert all(c["sendbuf"] == c["recvbuf"] and c["stream"] == FakeStream.ptr
                       for c in comm.calls)
    else:
        # one MPI all-reduce per dtype and step, of the device buffer or of a host copy
        for cs in calls:
            reduces = [c for c in cs if c[0] == "Iallreduce"]
            kind = FakeDeviceArray if path == "cuda-aware-mpi" else np.ndarray
            assert reduces == [("Iallreduce", kind, "float32", 10),
                               ("Iallreduce", kind, "float64", 3)] * 2
        assert not job.nccl.communicators
    if path == "cuda-aware-mpi":
        assert job.stream.synchronized == 2 * 2 * 2       # ranks x steps x buckets
    if path == "host":
        assert job.backend.transfers == {"to_host": 8, "to_device": 8}
    else:
        assert job.backend.transfers == {"to_host": 0, "to_device": 0}


def test_nccl_reduces_complex_as_floats_and_stages_what_it_has_no_type_for(monkeypatch):
    """NCCL has no complex type: a complex64 bucket goes as twice as many float32s;
    int16 is summed as int64 on the device (its sum's dtype); a sum dtype NCCL has no
    type for is staged through the host."""
    job = Job(monkeypatch, n=2, device_path="nccl")
    op = dist.AllreduceMean()
    run = op.thunk(job.backend, op.make_node(T.vector("a"), T.cvector("z"),
                                             T.vector("i", dtype="int16")))

    def step(world):
        r = world.rank
        return run(np.arange(3, dtype="float32").view(FakeDeviceArray) * (r + 1),
                   (np.array([1 + 2j, 3j], dtype="complex64") * (2 * r + 1))
                   .view(FakeDeviceArray),
                   (np.array([1, 5], dtype="int16") * (r + 1)).view(FakeDeviceArray))
    for a, z, i in job.run(step):
        np.testing.assert_array_equal(np.asarray(a), 1.5 * np.arange(3, dtype="float32"))
        assert z.dtype == np.complex64
        np.testing.assert_array_equal(np.asarray(z), np.array([2 + 4j, 6j], "complex64"))
        np.testing.assert_array_equal(np.asarray(i), np.array([1, 7], "int16"))   # rounded down
    calls = job.nccl.communicators[0].calls
    assert [(c["datatype"], c["count"]) for c in calls] == [(7, 3), (7, 4), (4, 2)]
    assert not any(c[0] == "Iallreduce" for c in job.worlds[0].comm.calls)
    monkeypatch.delitem(device._NCCL_TYPES, "int64")        # as if NCCL had no int64
    for (a, z, i) in job.run(step):
        np.testing.assert_array_equal(np.asarray(i), np.array([1, 7], "int16"))
        assert i.dtype == np.int16 and type(i) is FakeDeviceArray
    assert ("Iallreduce", np.ndarray, "int64", 2) in job.worlds[0].comm.calls


def test_bool_gradients_are_refused_when_built():
    """MPI_SUM has no bool (MPI_C_BOOL) and NCCL no bool type: refused with the
    gradient's name and dtype, not an MPI error naming nothing."""
    flag = T.vector("flag", dtype="bool")
    with pytest.raises(TypeError, match=r"AllreduceMean: gradient 1 \('flag'\) has dtype bool, "
                                        r"which cannot be averaged over the ranks"):
        dist.AllreduceMean()(T.vector("g"), flag)
    with pytest.raises(TypeError, match=r"allreduce_grads: gradient 0 \('flag'\) has dtype "
                                        r"bool"):
        dist.allreduce_grads([flag])


def test_bool_values_given_to_a_number_gradient_are_refused(monkeypatch):
    job = Job(monkeypatch, n=1)
    op = dist.AllreduceMean()
    run = op.thunk(job.backend, op.make_node(T.vector("g")))
    for value in (np.array([True, False]), np.array([True]).view(FakeDeviceArray)):
        with pytest.raises(TypeError, match=r"gradient\(s\) \[0\] \(built at .*\) hold bool "
                                            r"values, which cannot be averaged"):
            job.run(lambda world: run(value))


def test_the_nccl_wait_is_bounded(monkeypatch):
    job = Job(monkeypatch, n=1, device_path="nccl")
    job.worlds[0].timeout = 0.2
    job.stream.finishes = False           # a peer that never joins: the stream never drains
    run = _averaging_step(job.backend)
    with pytest.raises(dist.DistributedTimeout, match=r"waited more than 0.2 s"):
        job.run(lambda world: run(*_grads(0)))


#: per dtype, rank 0's and rank 1's values: the extremes of the integers and float16 (sums
#: past their range); float32 and float64 are summed in their own dtype, so below half their max
_EXTREMES = {
    "int8": ([100, -100, 127, -128, 1], [100, -100, 126, -128, 0]),
    "uint8": ([200, 255, 1, 0, 7], [200, 254, 0, 0, 8]),
    "int16": ([20000, -32768, 32767, 3, -3], [20000, -32768, 32766, 4, -4]),
    "uint16": ([40000, 65535, 1, 0, 9], [40000, 65534, 0, 0, 10]),
    "int32": ([2**31 - 1, -2**31, 2**30, 5, -5], [2**31 - 2, -2**31, 2**30, 6, -6]),
    "uint32": ([2**32 - 1, 2**31, 0, 1, 3], [2**32 - 2, 2**31, 1, 0, 4]),
    "int64": ([2**61, -2**61, 7, 1, -1], [2**61, -2**61, 8, 0, -2]),
    "float16": ([40000, -40000, 65504, 1e-3, 0.1], [40000, -40000, 65504, 3e-3, 0.2]),
    "float32": ([1e38, -1e38, 1.5, 1e-30, 0.1], [1e38, -1e38, 2.5, 3e-30, 0.2]),
    "float64": ([8e307, -8e307, 1.5, 1e-300, 0.1], [8e307, -8e307, 2.5, 3e-300, 0.2]),
}


def _reference_mean(dtype):
    """The mean over the two ranks, taken in float64 (integers rounded down)."""
    both = np.array(_EXTREMES[dtype], dtype=dtype)
    if both.dtype.kind in "iu":                        # exact: no float64 rounding of 2**61
        return (both.astype(object).sum(axis=0) // 2).astype(dtype)
    return (both.astype(np.float64).sum(axis=0) / 2).astype(dtype)


@pytest.mark.parametrize("path", ["numpy", "nccl", "cuda-aware-mpi", "host"])
def test_means_of_every_dtype_match_a_float64_reference(monkeypatch, path):
    """Each dtype's mean over two ranks at the edges of its range: summed in its own
    dtype, int8's 100s wrapped (-28) and float16's 40000s overflowed (inf); now the
    sum is taken in a dtype that holds it and the mean cast back."""
    job = Job(monkeypatch, n=2, device_path=None if path == "numpy" else path)
    backend = types.SimpleNamespace(name="numpy", xp=np) if path == "numpy" else job.backend
    op = dist.AllreduceMean()
    dtypes = list(_EXTREMES)
    run = op.thunk(backend, op.make_node(*[T.vector(f"g_{d}", dtype=d) for d in dtypes]))

    def step(world):
        grads = [np.array(_EXTREMES[d][world.rank], dtype=d) for d in dtypes]
        if path != "numpy":
            grads = [g.view(FakeDeviceArray) for g in grads]
        return run(*grads)
    for outs in job.run(step):
        for d, got in zip(dtypes, outs):
            want = _reference_mean(d)
            assert got.dtype == np.dtype(d), d
            assert type(got) is (np.ndarray if path == "numpy" else FakeDeviceArray), d
            if d == "float16":
                np.testing.assert_allclose(np.asarray(got), want, rtol=1e-3, err_msg=d)
            else:
                np.testing.assert_array_equal(np.asarray(got), want, err_msg=d)
    if path == "nccl":
        types_sent = [c["datatype"] for c in job.nccl.communicators[0].calls]
        # int8..uint32 as int64 (6 buckets), int64, float16 as float32, float32, float64
        assert types_sent == [4] * 7 + [7, 7, 8]


def test_nccl_starts_the_collective_before_launching_it(monkeypatch):
    """After this rank's exit notice the all-reduce is refused before NCCL is given
    the kernel (was: allReduce queued first, then the refusal, leaving a kernel on the
    stream with no partner)."""
    job = Job(monkeypatch, n=1, device_path="nccl")
    run = _averaging_step(job.backend)
    job.run(lambda world: run(*_grads(0)))
    comm = job.nccl.communicators[0]
    assert len(comm.calls) == 2
    world = job.worlds[0]
    world.notice_sent = world.collectives              # as the exit hook does
    with pytest.raises(dist.DistributedError, match=r"starts after this rank's Python began "
                                                    r"to end"):
        job.run(lambda world: run(*_grads(0)))
    assert len(comm.calls) == 2, "an NCCL all-reduce was launched after the refusal"


# -- the choice -------------------------------------------------------------------------------
@pytest.mark.parametrize("nccl, cuda_aware, want", [
    (True, True, "nccl"), (True, False, "nccl"), (False, True, "cuda-aware-mpi"),
    (False, False, "host")])
def test_auto_takes_the_first_path_every_rank_can_use(monkeypatch, nccl, cuda_aware, want):
    job = Job(monkeypatch, n=2, nccl=nccl, cuda_aware=cuda_aware)
    chosen = job.run(lambda world: device.choose_path(world, job.backend))
    path, reason = chosen[0]
    assert chosen[0] == chosen[1] and path == want
    assert reason.startswith("auto")
    if not nccl:
        assert "not nccl: fakecupy.cuda.nccl failed to import" in reason
    if want == "host":
        assert "not cuda-aware-mpi: MPI does not say it is CUDA-aware: " \
               "MPIX_Query_cuda_support() = 0" in reason


def test_nccl_that_says_it_is_unavailable(monkeypatch):
    job = Job(monkeypatch, n=1)
    job.nccl.available = False
    path, reason = device.choose_path(job.worlds[0], job.backend)
    assert path == "host" and "fakecupy.cuda.nccl.available is false" in reason


def test_ranks_agree_on_a_path_all_of_them_have(monkeypatch):
    job = Job(monkeypatch, n=2, cuda_aware=True)
    why_not = device._why_not

    def rank_one_lacks_nccl(world, backend, path, forced):
        if path == "nccl" and world.rank == 1:
            return "no GPU on this host"
        return why_not(world, backend, path, forced)
    monkeypatch.setattr(device, "_why_not", rank_one_lacks_nccl)
    chosen = job.run(lambda world: device.choose_path(world, job.backend))
    assert [c[0] for c in chosen] == ["cuda-aware-mpi"] * 2
    assert "not nccl: no GPU on this host (rank 1)" in chosen[0][1]
    for world in job.worlds:
        world.device_path, world.device_path_origin = "nccl", f"{ENV}=nccl"
    with pytest.raises(dist.DistributedError,
                       match=r"LAYERKIT_DISTRIBUTED_DEVICE_PATH=nccl asks for the 'nccl' "
                             r"all-reduce path, but rank 1 of 2 cannot use it: no GPU"):
        job.run(lambda world: device.choose_path(world, job.backend))


@pytest.mark.parametrize("nccl, cuda_aware", [(False, True), (True, False)])
def test_ranks_that_ask_for_different_paths_are_refused_by_name(monkeypatch, nccl, cuda_aware):
    """Rank 0 forces host, rank 1 asks for auto: every rank refuses, naming each
    request and who made it (was a KeyError: rank 0 reported only the host path)."""
    job = Job(monkeypatch, n=2, nccl=nccl, cuda_aware=cuda_aware)
    job.worlds[0].device_path, job.worlds[0].device_path_origin = "host", f"{ENV}=host"
    assert job.worlds[1].device_path_origin == f"the default: {ENV} unset"

    def choose(world):
        try:
            return device.choose_path(world, job.backend)
        except dist.DistributedError as err:
            return str(err)
    messages = job.run(choose)
    assert messages[0] == messages[1] == (
        f"the ranks ask for different device all-reduce paths: rank 0 asks for 'host' "
        f"({ENV}=host) but rank 1 for 'auto' (the default: {ENV} unset); every rank must ask "
        f"for the same one ({ENV} or init(device_path=...))")
    # the same path asked in two ways is one request
    job.worlds[1].device_path = "host"
    job.worlds[1].device_path_origin = "init(device_path='host')"
    assert job.run(choose) == [("host", f"forced by {ENV}=host"),
                               ("host", "forced by init(device_path='host')")]


@pytest.mark.parametrize("forced, nccl, cuda_aware, want", [
    ("host", True, True, "host"),
    ("cuda-aware-mpi", True, False, "cuda-aware-mpi"),   # forcing skips the query
    ("nccl", True, False, "nccl"),
    ("nccl", False, True, "fakecupy.cuda.nccl failed to import")])
def test_a_forced_path(monkeypatch, forced, nccl, cuda_aware, want):
    monkeypatch.setenv(ENV, forced)
    job = Job(monkeypatch, n=1, nccl=nccl, cuda_aware=cuda_aware)
    world = job.worlds[0]
    if "failed" in want:
        with pytest.raises(dist.DistributedError, match=f"asks for the '{forced}' all-reduce "
                                                        f"path, but rank 0 of 1 cannot use it: "
                                                        f"{want}"):
            device.choose_path(world, job.backend)
    else:
        assert device.choose_path(world, job.backend) == (want, f"forced by {ENV}={forced}")


def test_forcing_a_device_path_where_it_cannot_work(monkeypatch):
    job = Job(monkeypatch, n=1)
    single = world_mod.World(None, device_path="cuda-aware-mpi")        # no MPI at all
    with pytest.raises(dist.DistributedError, match="no MPI communicator"):
        device.choose_path(single, job.backend)
    numpyish = types.SimpleNamespace(name="staged", xp=np)           # not cupy's arrays
    for path in ("nccl", "cuda-aware-mpi"):
        forced = fake_world(Fabric(1), 0, device_path=path)
        with pytest.raises(dist.DistributedError, match="'staged' backend's arrays are not "
                                                        "cupy arrays"):
            device.choose_path(forced, numpyish)
    assert device.choose_path(fake_world(Fabric(1), 0), numpyish)[0] == "host"


@pytest.mark.parametrize("forced", ["host", "cuda-aware-mpi", "nccl"])
def test_a_forced_path_is_the_only_one_evaluated(monkeypatch, forced):
    """Forcing a path asks only about it: no NCCL import for host or cuda-aware-mpi,
    no MPI query for any (were all probed); the requests are still compared."""
    job = Job(monkeypatch, n=2, device_path=forced)
    asked, why_not = [], device._why_not

    def recording(world, backend, path, force):
        asked.append((world.rank, path, force))
        return why_not(world, backend, path, force)

    def no_query():
        raise AssertionError("the MPI library was queried for a forced path")
    monkeypatch.setattr(device, "_why_not", recording)
    monkeypatch.setattr(device, "mpi_cuda_support", no_query)
    nccl_module = device._nccl_module
    imported = []
    monkeypatch.setattr(device, "_nccl_module",
                        lambda xp: imported.append(xp) or nccl_module(xp))
    chosen = job.run(lambda world: device.choose_path(world, job.backend))
    assert [c[0] for c in chosen] == [forced, forced]
    assert sorted(asked) == [(0, forced, True), (1, forced, True)]
    assert bool(imported) == (forced == "nccl")


@pytest.mark.parametrize("value", ["nccll", "gpu", "mpi"])
def test_a_bad_forced_value_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ValueError, match=rf"{ENV}={value}: expected one of auto, nccl, "
                                         rf"cuda-aware-mpi, host, got '{value}'"):
        world_mod.World()
    monkeypatch.delenv(ENV)
    with pytest.raises(ValueError, match=r"init\(device_path='x'\): expected one of"):
        dist.init(device_path="x")
    assert world_mod.World(device_path=" NCCL ").device_path == "nccl"
    assert world_mod.World().device_path == "auto"


def test_the_choice_is_visible(monkeypatch):
    job = Job(monkeypatch, n=2)
    before = job.worlds[0].describe()
    assert "device gradients: auto (chosen at the first all-reduce" in before
    assert "numpy gradients: MPI_Iallreduce" in before
    run = _averaging_step(job.backend)
    job.run(lambda world: run(*_grads(world.rank)))
    assert "fakecupy gradients: nccl (auto)" in job.worlds[1].describe()
    monkeypatch.setattr(world_mod, "_WORLD", job.worlds[0])
    assert dist.chosen_device_path(job.backend) == "nccl"    # chosen already: no collective


def test_the_mpi_query_without_an_mpi_library(monkeypatch):
    monkeypatch.setattr(device, "_loaded_mpi_libraries", lambda: [None])
    ok, how = device.mpi_cuda_support()
    assert not ok and "has no MPIX_Query_cuda_support()" in how and ENV in how


# -- on a GPU --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["nccl", "host"])
def test_the_paths_on_a_gpu(monkeypatch, path):
    """The real cupy backend and NCCL in one process (a 1-rank NCCL communicator);
    skipped without cupy and a device. (cuda-aware-mpi needs a CUDA-aware MPI and
    several ranks: not tested on a lent machine.)"""
    from layerkit.backend import backend_status, get_backend
    record = {r.name: r for r in backend_status()}.get("cupy")
    if record is None or record.status != "available":
        pytest.skip("cupy backend unavailable: " + (record.reason if record else
                                                    "layerkit-cupy is not installed"))
    backend = get_backend("cupy")
    if path == "nccl":
        nccl, why = device._nccl_module(backend.xp)
        if nccl is None:
            pytest.skip(why)
    world = world_mod.World(None, device_path=path)
    monkeypatch.setattr(world_mod, "_WORLD", world)
    a, b, c = T.matrix("a"), T.vector("b"), T.dvector("c")
    f = theano.function([a, b, c], dist.AllreduceMean()(a * 2, b, c), backend="cupy",
                        on_device=True)
    for _ in range(2):
        ra, rb, rc = f(np.ones((64, 32), "float32"), np.arange(5, dtype="float32"),
                       np.arange(3.0))
    assert isinstance(ra, backend.xp.ndarray) and rc.dtype == np.float64
    np.testing.assert_array_equal(backend.to_numpy(ra), np.full((64, 32), 2.0))
    np.testing.assert_array_equal(backend.to_numpy(rb), np.arange(5))
    np.testing.assert_array_equal(backend.to_numpy(rc), np.arange(3.0))
    reducer = world.device_reducers["cupy"]
    assert reducer.name == path and f"{path} (forced by init" in world.describe()
    if path == "nccl":
        assert reducer.comm.size() == 1
