"""layerkit.distributed in a single process (no mpiexec, mpi4py not needed).

The same script must run without a launcher: the world is rank 0 of 1,
``allreduce_grads`` is the identity, ``fit(distributed=True)`` is ``fit``.
The all-reduce op itself is checked here too (it runs at size 1): its
values, fresh outputs, what the compiler may not do with it, DebugMode,
host staging for non-numpy backends (the cupy path) on the CPU.
"""
from __future__ import annotations

import os
import sys
import threading
import types

import numpy as np
import pytest

import layerkit as lasagne
import layerkit.core as theano
import layerkit.core.tensor as T
import layerkit.distributed as dist
from layerkit.distributed import world as world_mod
from layerkit.distributed.exits import ExitNotices
from layerkit.core.graph import toposort
from layerkit.train import fit


@pytest.fixture
def single_world(monkeypatch):
    """A fresh single-process world (whatever the environment of the test run)."""
    monkeypatch.setenv("LAYERKIT_DISTRIBUTED", "0")
    monkeypatch.setattr(world_mod, "_WORLD", None)
    yield dist.get_world()
    world_mod._WORLD = None


def _mlp(seed=0):
    x, y = T.matrix("x"), T.ivector("y")
    lasagne.random.seed(seed)
    net = lasagne.layers.InputLayer((None, 6), x)
    net = lasagne.layers.DenseLayer(net, 8)
    net = lasagne.layers.DenseLayer(net, 3, nonlinearity=lasagne.nonlinearities.softmax)
    params = lasagne.layers.get_all_params(net, trainable=True)
    loss = lasagne.objectives.categorical_crossentropy(lasagne.layers.get_output(net), y).mean()
    return x, y, net, params, loss


def _data(n=50, seed=1):
    rng = np.random.RandomState(seed)
    return rng.randn(n, 6).astype("float32"), rng.randint(0, 3, n).astype("int32")


def test_the_single_world(single_world):
    assert (single_world.rank, single_world.size) == (0, 1)
    assert dist.rank() == 0 and dist.size() == 1 and not dist.is_distributed()
    assert single_world.comm is None
    buf = np.arange(3.0)
    assert single_world.allreduce_sum(buf) is buf and buf.tolist() == [0.0, 1.0, 2.0]
    assert single_world.allgather_object({"a": 1}) == [{"a": 1}]


@pytest.mark.parametrize("env, several", [
    ({}, False), ({"PMI_RANK": "0", "PMI_SIZE": "1"}, False),
    ({"PMI_RANK": "1", "PMI_SIZE": "4"}, True), ({"OMPI_COMM_WORLD_RANK": "0",
                                                 "OMPI_COMM_WORLD_SIZE": "2"}, True),
    ({"PMIX_RANK": "0"}, True), ({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}, False)])
def test_launchers_are_recognised_from_their_variables(monkeypatch, env, several):
    for rank_var, size_var in world_mod._LAUNCHERS:
        monkeypatch.delenv(rank_var, raising=False)
        if size_var:
            monkeypatch.delenv(size_var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert world_mod._launched_with_several() is several


def test_the_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LAYERKIT_DISTRIBUTED_TIMEOUT", "2.5")
    assert world_mod.World().timeout == 2.5
    monkeypatch.setenv("LAYERKIT_DISTRIBUTED_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="number of seconds"):
        world_mod.World()


def test_allreduce_grads_is_the_identity_in_one_process(single_world):
    x, y, net, params, loss = _mlp()
    grads = T.grad(loss, params)
    assert dist.allreduce_grads(grads) == grads           # the same variables, no node
    with pytest.raises(TypeError, match="list of gradient"):
        dist.allreduce_grads(grads[0])


def test_the_op_averages_into_fresh_buffers(single_world):
    a, b, c = T.matrix("a"), T.vector("b"), T.dvector("c")
    outs = dist.AllreduceMean()(a, b, c)
    f = theano.function([a, b, c], outs)
    av, bv, cv = np.ones((2, 3), "float32"), np.arange(4, dtype="float32"), np.arange(2.0)
    ra, rb, rc = f(av, bv, cv)
    assert ra.dtype == np.float32 and rc.dtype == np.float64 and ra.shape == (2, 3)
    np.testing.assert_array_equal(ra, av)
    np.testing.assert_array_equal(rb, bv)
    np.testing.assert_array_equal(rc, cv)
    assert not np.shares_memory(ra, rb)


def test_the_op_is_never_merged_folded_or_differentiated(single_world):
    v = T.vector("v")
    one, two = dist.AllreduceMean()(v * 2)[0], dist.AllreduceMean()(v * 2)[0]
    f = theano.function([v], [one, two])
    assert sum("AllreduceMean" in str(n.op) for n in toposort(f.outputs)) == 2  # not merged
    r1, r2 = f(np.arange(3, dtype="float32"))
    np.testing.assert_array_equal(r1, [0, 2, 4])
    np.testing.assert_array_equal(r2, [0, 2, 4])
    assert not np.shares_memory(r1, r2)
    const = dist.AllreduceMean()(T.constant(np.ones(3, "float32")))[0]
    g = theano.function([], const)
    assert any("AllreduceMean" in str(n.op) for n in toposort(g.outputs))      # not folded
    np.testing.assert_array_equal(g(), np.ones(3, "float32"))
    op = dist.AllreduceMean()
    assert not op.pure and not op.foldable and op.view_map == {} and op.destroy_map == {}
    assert op != dist.AllreduceMean()
    with pytest.raises(NotImplementedError, match="no gradient"):
        T.grad(dist.AllreduceMean()(v)[0].sum(), v)


def test_a_training_step_with_the_op_under_debugmode(single_world):
    x, y, net, params, loss = _mlp()
    grads = dist.AllreduceMean()(*T.grad(loss, params))
    step = theano.function([x, y], loss, updates=lasagne.updates.adam(grads, params),
                           mode="DebugMode")
    X, Y = _data()
    before = [p.get_value() for p in params]
    for _ in range(2):
        step(X, Y)
    assert all(not np.array_equal(b, p.get_value()) for b, p in zip(before, params))


def test_buckets_split_by_dtype_and_size():
    op = dist.AllreduceMean(bucket_bytes=40)
    arrays = [np.zeros(5, "float32"), np.zeros(3), np.zeros(6, "float32"), np.zeros(2, "float32")]
    assert op._buckets(arrays) == [[0], [2, 3], [1]]
    assert dist.AllreduceMean()._buckets(arrays) == [[0, 2, 3], [1]]
    with pytest.raises(ValueError, match="bucket_bytes"):
        dist.AllreduceMean(bucket_bytes=0)


class _Device(np.ndarray):
    """A stand-in for a device array: not a plain numpy array, so the op stages it."""


@pytest.fixture
def staged_backend(single_world):
    """A backend whose arrays are not numpy's: the host-staging (cupy) path."""
    import array_api_compat.numpy as np_compat

    from layerkit.backend import Backend, hookimpl, register_plugin
    from layerkit.backend.registry import isolated

    transfers = {"to_host": 0, "to_device": 0}

    class Staged(Backend):
        name = "staged-numpy"
        version = "0"
        xp = np_compat

        def from_numpy(self, a):
            transfers["to_device"] += 1
            return np.array(a, copy=True).view(_Device)

        def to_numpy(self, x):
            transfers["to_host"] += 1
            return np.array(x, copy=True).view(np.ndarray)

    plugin = types.ModuleType("staged_plugin")
    plugin.layerkit_backends = hookimpl(lambda: [Staged])
    with isolated():
        register_plugin(plugin, "staged-numpy")
        yield "staged-numpy", transfers


def test_host_staging_for_device_arrays(staged_backend):
    name, transfers = staged_backend
    a, b = T.matrix("a"), T.vector("b")
    f = theano.function([a, b], dist.AllreduceMean()(a * 2, b + 1), backend=name,
                        on_device=True)
    av, bv = np.ones((2, 2), "float32"), np.arange(3, dtype="float32")
    transfers.update(to_host=0, to_device=0)
    ra, rb = f(av, bv)
    assert isinstance(ra, _Device)
    np.testing.assert_array_equal(np.asarray(ra), 2 * av)
    np.testing.assert_array_equal(np.asarray(rb), bv + 1)
    # the op itself: one copy to the host and one back for the one float32 bucket
    # (plus the two inputs' transfers to the device)
    assert transfers["to_host"] == 1 and transfers["to_device"] == 3


def test_the_cupy_plugin_on_the_host_emulation(monkeypatch, single_world):
    """The cupy backend's own arrays (emulated on the CPU, as plugins/cupy_backend's
    tests do) go through the op's staging path."""
    pytest.importorskip("layerkit_cupy", reason="the cupy plugin is not installed here")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "plugins",
                                    "cupy_backend", "tests"))
    try:
        import cupy_host_emulation as emulation
    finally:
        sys.path.pop(0)
    if emulation.compiler() is None:
        pytest.skip("no host C++ compiler to emulate the cupy plugin's kernels")
    fake = emulation.install(monkeypatch)
    import layerkit_cupy.plugin
    from layerkit.backend import get_backend, register_plugin
    from layerkit.backend.registry import backend_names, isolated
    with isolated():
        if "cupy" not in backend_names():
            register_plugin(layerkit_cupy.plugin, "cupy", "layerkit-cupy")
        backend = get_backend("cupy")
        assert backend.xp is fake
        a, b = T.matrix("a"), T.dvector("b")
        f = theano.function([a, b], dist.AllreduceMean()(a, b), backend="cupy", on_device=True)
        ra, rb = f(np.ones((2, 3), "float32"), np.arange(2.0))
        assert isinstance(ra, emulation.DeviceArray) and ra.dtype == np.float32
        np.testing.assert_array_equal(backend.to_numpy(ra), np.ones((2, 3)))
        np.testing.assert_array_equal(backend.to_numpy(rb), [0.0, 1.0])


def test_the_op_on_a_gpu():
    """The real cupy backend (skipped without cupy and a device)."""
    from layerkit.backend import backend_status, get_backend
    record = {r.name: r for r in backend_status()}.get("cupy")
    if record is None or record.status != "available":
        pytest.skip("cupy backend unavailable: " + (record.reason if record else
                                                    "layerkit-cupy is not installed"))
    backend = get_backend("cupy")
    a, b = T.matrix("a"), T.vector("b")
    f = theano.function([a, b], dist.AllreduceMean()(a * 2, b), backend="cupy", on_device=True)
    ra, rb = f(np.ones((64, 32), "float32"), np.arange(5, dtype="float32"))
    assert isinstance(ra, backend.xp.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(ra), np.full((64, 32), 2.0))
    np.testing.assert_array_equal(backend.to_numpy(rb), np.arange(5))


def test_fit_distributed_is_fit_in_one_process(single_world):
    X, Y = _data(70)
    runs = []
    for distributed in (False, True):
        x, y, net, params, loss = _mlp()
        grads = dist.allreduce_grads(T.grad(loss, params))
        step = theano.function([x, y], loss, updates=lasagne.updates.sgd(grads, params, 0.1))
        val = theano.function([x, y], loss)
        history = fit(step, (X[:50], Y[:50]), epochs=3, batch_size=16, rng=3, verbose=0,
                      validation_data=(X[50:], Y[50:]), validation_fn=val,
                      distributed=distributed)
        runs.append(([p.get_value() for p in params], history.history))
    (p0, h0), (p1, h1) = runs
    assert h0 == h1
    for a, b in zip(p0, p1):
        np.testing.assert_array_equal(a, b)


def test_broadcast_params_and_seeds_in_one_process(single_world):
    x, y, net, params, loss = _mlp()
    before = [p.get_value() for p in params]
    assert dist.broadcast_params(net) == params
    assert all(np.array_equal(b, p.get_value()) for b, p in zip(before, params))
    assert [s[1] for s in dist.param_signature(params)] == [(6, 8), (8,), (8, 3), (3,)]
    with pytest.raises(TypeError, match="layer"):
        dist.broadcast_params("net")
    assert dist.rank_seed(123) == 123 == dist.rank_seed(123, 0)
    seeds = {dist.rank_seed(123, r) for r in range(64)}
    assert len(seeds) == 64 and all(0 < s < 2 ** 31 for s in seeds)
    assert dist.rank_seed(123, 5) == dist.rank_seed(123, 5) != dist.rank_seed(124, 5)
    u = dist.RandomStreams(7).uniform((4,))
    v = theano.RandomStreams(7).uniform((4,))
    np.testing.assert_array_equal(theano.function([], u)(), theano.function([], v)())


def test_shard_cuts_as_array_split():
    for n in (0, 1, 7, 128, 129):
        for size in (1, 2, 3, 4):
            want = np.array_split(np.arange(n), size)
            got = [np.arange(n)[dist.shard(n, r, size)] for r in range(size)]
            assert all(np.array_equal(a, b) for a, b in zip(want, got))


def test_save_params_writes_on_rank_zero_only(tmp_path, monkeypatch, single_world):
    from layerkit.params import save_params
    x, y, net, params, loss = _mlp()
    save_params(tmp_path / "zero.npz", net)
    assert (tmp_path / "zero.npz").exists()
    monkeypatch.setattr(single_world, "rank", 1)
    save_params(tmp_path / "one.npz", net)
    assert not (tmp_path / "one.npz").exists()


def test_abort_on_error_lets_exceptions_through_in_one_process(single_world):
    with pytest.raises(KeyError):
        with dist.abort_on_error():
            raise KeyError("x")

    @dist.abort_on_error
    def f():
        raise ValueError("y")
    with pytest.raises(ValueError):
        f()


class _Message:
    def __init__(self, made):
        self.made = made

    def Recv(self, buf):  # noqa: N802
        buf[0] = self.made


class _Channel:
    """The exit notices' communicator: notices ``(source, made)`` in order. The first
    probe of each of ``threads`` threads waits for the others' (two threads probe
    the same notice at once: the race a matched probe closes)."""

    def __init__(self, notices, threads=1):
        self.notices, self.sent = list(notices), []
        self.lock, self.probed = threading.Lock(), set()
        self.meet = threading.Barrier(threads, timeout=10)

    def Improbe(self, source, tag, status):  # noqa: N802
        with self.lock:
            message = None
            if self.notices:
                status.source, made = self.notices.pop(0)
                message = _Message(made)
        self._met()
        return message

    # a probe, then a receive (what the notices took before): the probe claims nothing
    def Iprobe(self, source, tag, status):  # noqa: N802
        with self.lock:
            found = bool(self.notices)
            if found:
                status.source = self.notices[0][0]
        self._met()
        return found

    def _met(self):
        """The first probe of each thread: wait until every thread has probed once."""
        if threading.get_ident() not in self.probed:
            self.probed.add(threading.get_ident())
            self.meet.wait()

    def Recv(self, buf, source, tag):  # noqa: N802
        with self.lock:
            mine = [n for n in self.notices if n[0] == source]
            if not mine:
                raise AssertionError(f"Recv from rank {source} would block for ever: its "
                                     f"notice was taken by another thread")
            self.notices.remove(mine[0])
        buf[0] = mine[0][1]

    def Isend(self, buf, dest, tag):  # noqa: N802
        self.sent.append((dest, int(buf[0])))
        return types.SimpleNamespace(Test=lambda: True)


def _world_with_notices(notices, size=2, threads=1):
    """Rank 0 of ``size`` (no MPI) with an exit channel holding ``notices``."""
    def status():
        st = types.SimpleNamespace(source=None)
        st.Get_source = lambda: st.source
        return st
    world = world_mod.World(None)
    world.rank, world.size = 0, size
    world.MPI = types.SimpleNamespace(ANY_SOURCE=-1, Status=status)
    world.exits = ExitNotices(world, _Channel(notices, threads))
    return world


def test_an_exit_notice_stops_only_a_wait_the_leaver_never_joins(single_world):
    """Rank 1 sent its notice after 5 collectives: rank 0 waiting in #5 (which rank 1
    made: its part may still be on the way) keeps waiting; in #6 it raises."""
    world = _world_with_notices([(1, 5)])
    world.collectives = 5
    world.exits.check("the all-reduce #5")
    assert world.exits.exited == {1: 5}
    world.collectives = 6
    with pytest.raises(dist.RankExited, match=r"rank 1 of 2 has exited \(sys.exit\(\), "
                       r"SystemExit or the end of its script\) after 5 collectives, so it will "
                       r"never join the all-reduce #6 \(layerkit's collective #6 on this rank\) "
                       r"that rank 0 waits in"):
        world.exits.check("the all-reduce #6")


def test_two_threads_checking_the_notices_each_take_their_own():
    """Two threads waiting at once both probe the same notice: a matched probe
    (Improbe + Mrecv) gives it to one of them, where a probe then a receive left the
    other blocked in its receive for ever."""
    world = _world_with_notices([(1, 5), (2, 5)], size=3, threads=2)
    world.collectives = 5
    errors = []

    def check():
        try:
            world.exits.check("an all-reduce")
        except BaseException as err:     # noqa: BLE001
            errors.append(err)
    threads = [threading.Thread(target=check) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    assert world.exits.exited == {1: 5, 2: 5}


def test_after_its_exit_notice_a_rank_makes_no_collective():
    """The goodbye sends every other rank the count and closes the world: a later
    collective (an atexit handler that runs after layerkit's) is refused, naming it."""
    world = _world_with_notices([], size=3)
    world.collectives = 4
    world.exits.goodbye()
    assert world.exits.comm.sent == [(1, 4), (2, 4)] and world.closed
    world.exits.goodbye()                                 # once only
    assert len(world.exits.comm.sent) == 2
    with pytest.raises(dist.DistributedError, match=r"rank 0 of 3: the final statistics starts "
                       r"after this rank's Python began to end: layerkit.distributed has told "
                       r"the other ranks that this rank made 4 collectives"):
        world.allreduce_sum(np.ones(2), "the final statistics")
    assert world.collectives == 4
    world.exits.comm.sent.clear()
    world.notice_sent = None
    world.collectives = 1
    world.exits.goodbye()
    with pytest.raises(dist.DistributedError, match=r"that this rank made 1 collective, so"):
        world.barrier("the final barrier")


class _WorldComm(_Channel):
    """The world's own communicator: early notices ``(source, made)``; an ``Idup`` whose
    request never completes (a rank that never joins it); sends recorded with tags."""

    def Idup(self):  # noqa: N802
        return object(), types.SimpleNamespace(Test=lambda: False)

    def Isend(self, buf, dest, tag):  # noqa: N802
        self.sent.append((dest, int(buf[0]), tag))
        return types.SimpleNamespace(Test=lambda: True)


def _world_of_several(notices=(), size=2, timeout=30.0):
    """Rank 0 of ``size`` whose communicator is a _WorldComm: the exit notices' channel
    is opened in its first collective."""
    def status():
        st = types.SimpleNamespace(source=None)
        st.Get_source = lambda: st.source
        return st
    world = world_mod.World(None, timeout)
    world.rank, world.size, world.comm = 0, size, _WorldComm(notices)
    world.MPI = types.SimpleNamespace(ANY_SOURCE=-1, Status=status, Is_finalized=lambda: False)
    world._watch_exits = True
    return world


def test_an_early_notice_stops_the_opening_of_the_channel():
    """Rank 1 ended before layerkit's first collective and said so on the world's
    communicator: rank 0's first collective, waiting for the channel's Idup (which
    rank 1 never joins), raises naming it instead of waiting for the timeout."""
    world = _world_of_several([(1, 0)], timeout=600)
    with pytest.raises(dist.RankExited, match=r"rank 1 of 2 has exited \(sys.exit\(\), "
                       r"SystemExit or the end of its script\) before layerkit's first "
                       r"collective, so it will never join the barrier \(layerkit's collective "
                       r"#1 on this rank\) that rank 0 waits in"):
        world.barrier("the barrier")


def test_the_opening_of_the_channel_times_out_naming_an_early_end():
    world = _world_of_several([], timeout=0.2)
    with pytest.raises(dist.DistributedTimeout, match=r"\(MPI_Comm_idup\) in the barrier waited "
                       r"more than 0.2 s for the other ranks \(layerkit's collective #1 on this "
                       r"rank\); .* or it ended before layerkit's first collective without an "
                       r"exit notice"):
        world.barrier("the barrier")


def test_the_exit_hook_sends_early_notices_where_no_channel_is_open(monkeypatch):
    """At exit a world with no channel sends its early notice on its communicator (the
    reserved tag; once per communicator) and closes; a world with one says goodbye
    on it."""
    from layerkit.distributed import exits
    a, b, c = _world_of_several(size=3), _world_of_several(size=3), _world_of_several(size=3)
    b.comm = a.comm                                 # init() again on the same communicator
    c.exits = ExitNotices(c, _Channel([]))
    c.collectives = 2
    monkeypatch.setattr(exits, "_WORLDS", [a, b, c])
    exits._at_exit()
    assert a.comm.sent == [(1, 0, exits.EARLY_TAG), (2, 0, exits.EARLY_TAG)]
    assert c.exits.comm.sent == [(1, 2), (2, 2)] and not c.comm.sent
    assert a.closed and b.closed and c.closed
    with pytest.raises(dist.DistributedError, match=r"rank 0 of 3: the statistics starts after "
                       r"this rank's Python began to end: layerkit.distributed has told the "
                       r"other ranks that this rank made 0 collectives, so it makes no more "
                       r"\(an atexit handler registered before `import layerkit.distributed` "
                       r"runs after that notice"):
        b.allreduce_sum(np.ones(1), "the statistics")
    exits._at_exit()                                # once only
    assert len(a.comm.sent) == 2 and len(c.exits.comm.sent) == 2


def test_the_exit_hook_is_registered_when_the_module_is_imported():
    """Registered at import (not at the first collective): a handler registered after
    ``import layerkit.distributed`` runs before it."""
    import subprocess
    code = ("import atexit\n"
            "import layerkit.distributed\n"
            "atexit.register(lambda: print('mine first', flush=True))\n"
            "from layerkit.distributed import exits\n"
            "exits._WORLDS.append(type('W', (), {'MPI': type('M', (), {'Is_finalized': "
            "staticmethod(lambda: print('layerkit second', flush=True) or True)})})())\n")
    env = dict(os.environ, LAYERKIT_DISTRIBUTED="0")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["mine first", "layerkit second"], proc.stdout
