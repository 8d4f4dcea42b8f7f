"""The world: this process's rank among ``size`` processes, and how they talk.

Under a launcher (``mpiexec``, ``mpirun``, ``srun``) with more than one
process, the world is MPI's ``COMM_WORLD`` through mpi4py. Anywhere else --
a plain ``python script.py``, ``mpiexec -n 1``, or mpi4py not installed -- it
is a single-process world: rank 0 of 1, every collective the identity, and
mpi4py is not even imported. The same script runs both ways.

Whether a launcher started us is read from the variables launchers set
(``PMI_SIZE`` for MPICH/Intel MPI/hydra, ``OMPI_COMM_WORLD_SIZE`` for Open
MPI, ``MV2_COMM_WORLD_SIZE``, ``PMIX_RANK``, ``SLURM_NTASKS`` under
``srun``), so a single process never pays for MPI's start-up.
``LAYERKIT_DISTRIBUTED=0`` forces the single world, ``=1`` forces MPI.
``LAYERKIT_DISTRIBUTED_DEVICE_PATH`` (or ``init(device_path=...)``) forces how
device (cupy) gradients are reduced: ``nccl``, ``cuda-aware-mpi``, ``host``
or ``auto`` (:mod:`layerkit.distributed.device`); :meth:`World.describe`
says what was chosen and why.

**No rank waits forever.** Every collective layerkit makes is non-blocking
and waited for at most ``timeout`` seconds (``LAYERKIT_DISTRIBUTED_TIMEOUT``,
default 600); past it, :class:`DistributedTimeout` is raised. Under MPI with
more than one rank, an exception that ends the program on one rank (and one
raised inside :func:`abort_on_error`) prints ``layerkit.distributed: rank R of
N failed: ...`` and calls ``MPI_Abort``, which ends every rank at once: the
launcher then reports the rank too.

**A rank that exits** (``sys.exit``, ``SystemExit``, or the end of its
script) tells the others as its Python ends: an ``atexit`` handler sends each
rank a notice with the number of collectives it made, on a duplicate of the
communicator, then waits (at most ``timeout``) for every other rank's notice.
A rank waiting in a collective that the leaver never made raises
:class:`RankExited` naming it, and that exception aborts the run as above
(about a second after the exit). At a normal end every rank sends and receives
its notices and nothing aborts, whatever the exit codes, and however far
apart the ranks end (within the timeout). The exit code itself is not seen
(Python runs ``atexit`` after it has dropped the ``SystemExit``), so an exit
with code 0 in the middle of training is caught the same way.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import os
import sys
import threading
import time
import warnings

import numpy as np

from ..core.errors import LocatedError

__all__ = ["World", "get_world", "init", "rank", "size", "is_distributed", "abort_on_error",
           "DistributedError", "DistributedTimeout", "RankExited", "DEFAULT_TIMEOUT",
           "DEVICE_PATHS"]

#: seconds a collective may wait for the other ranks before raising
DEFAULT_TIMEOUT = 600.0

#: how device arrays' buckets may be reduced ("auto" chooses; see layerkit.distributed.device)
DEVICE_PATHS = ("auto", "nccl", "cuda-aware-mpi", "host")

#: the tag of the notices a rank sends as its Python ends (on the world's own communicator)
_EXIT_TAG = 7

#: (rank variable, size variable or None) set by the launchers we know
_LAUNCHERS = (
    ("PMI_RANK", "PMI_SIZE"),                            # MPICH hydra, Intel MPI, srun --mpi=pmi2
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),    # Open MPI's mpirun
    ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"),      # MVAPICH
    ("PMIX_RANK", None),                                 # PMIx (srun --mpi=pmix, prterun)
    ("SLURM_PROCID", "SLURM_NTASKS"),                    # srun
)


class DistributedError(RuntimeError):
    """Ranks that disagree (different networks), or a collective that failed."""


class DistributedTimeout(DistributedError, LocatedError):
    """A collective waited longer than the world's timeout for the other ranks.

    A ``LocatedError``: its message names the collective (and, for a gradient
    all-reduce, the line that built it), so a compiled call that raises it is not
    replayed node by node (a replay would wait a second time)."""


class RankExited(DistributedError, LocatedError):
    """Another rank's Python ended (``sys.exit``, ``SystemExit``, the end of its
    script) before the collective this rank waits in, which it will never join."""


def _launched_with_several() -> bool:
    """Whether a launcher's variables say this process is one of several (or may be)."""
    for rank_var, size_var in _LAUNCHERS:
        if rank_var in os.environ:
            if size_var is None or size_var not in os.environ:
                return True                # a rank without a size: ask MPI
            try:
                return int(os.environ[size_var]) > 1
            except ValueError:
                return True
    return False


def _timeout_from_env() -> float:
    raw = os.environ.get("LAYERKIT_DISTRIBUTED_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"LAYERKIT_DISTRIBUTED_TIMEOUT must be a number of seconds, "
                         f"got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"LAYERKIT_DISTRIBUTED_TIMEOUT must be positive, got {raw!r}")
    return value


def _device_path(value: str | None) -> tuple[str, str]:
    """The requested device path and who asked: ``value`` (from ``init``), else
    ``LAYERKIT_DISTRIBUTED_DEVICE_PATH``, else "auto"."""
    if value is None:
        value = os.environ.get("LAYERKIT_DISTRIBUTED_DEVICE_PATH", "")
        origin = f"LAYERKIT_DISTRIBUTED_DEVICE_PATH={value}"
    else:
        origin = f"init(device_path={value!r})"
    path = str(value).strip().lower() or "auto"
    if path not in DEVICE_PATHS:
        raise ValueError(f"{origin}: expected one of {', '.join(DEVICE_PATHS)}, got {value!r}")
    return path, origin


class World:
    """``rank`` and ``size`` of this process, and the few collectives layerkit needs.

    ``comm`` is an mpi4py communicator, or None for the single-process world.
    The collectives work on numpy arrays in place and wait at most
    ``timeout`` seconds. ``device_path`` is the requested path for device
    gradients (one of :data:`DEVICE_PATHS`; ``device_path_origin`` says who
    asked); ``device_reducers`` holds the path chosen for each backend, by its
    name, once chosen.
    """

    def __init__(self, comm=None, timeout: float | None = None,
                 device_path: str | None = None) -> None:
        self.comm = comm
        self.timeout = _timeout_from_env() if timeout is None else float(timeout)
        self.device_path, self.device_path_origin = _device_path(device_path)
        self.device_reducers: dict = {}
        if comm is None:
            self.rank, self.size, self.MPI = 0, 1, None
        else:
            from mpi4py import MPI
            self.MPI = MPI
            self.rank, self.size = comm.Get_rank(), comm.Get_size()
            # MPI errors become Python exceptions, not a silent abort or a hang
            comm.Set_errhandler(MPI.ERRORS_RETURN)
        #: how many collectives this world has made (named in timeout messages)
        self.collectives = 0
        #: the communicator of the exit notices (see _watch_exits), and for each rank
        #: whose notice came, how many collectives it had made
        self._exits = None
        self._exited: dict[int, int] = {}

    def __repr__(self) -> str:
        if self.comm is None:
            kind = "single process"
        else:
            kind = "MPI " + self.MPI.Get_library_version().splitlines()[0].strip()
        return f"<World rank {self.rank} of {self.size} ({kind})>"

    def describe(self) -> str:
        """Who this rank is and how gradients are reduced: numpy's, and each backend's
        device path with the reason it was chosen (or the request, before the first
        all-reduce of device arrays chooses)."""
        lines = [repr(self)[1:-1]]
        if self.size == 1:
            lines.append("gradients: not reduced (one process)")
        else:
            lines.append("numpy gradients: MPI_Iallreduce on the host buffer")
        for name, reducer in self.device_reducers.items():
            lines.append(f"{name} gradients: {reducer.name} ({reducer.reason})")
        if not self.device_reducers:
            lines.append(f"device gradients: {self.device_path} (chosen at the first all-reduce "
                         f"of device arrays, or by layerkit.distributed.device_path(backend))")
        return "\n".join(lines)

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    # -- waiting with a bound -------------------------------------------------
    def wait(self, request, what: str) -> None:
        """Wait for ``request`` at most ``timeout`` seconds; raise naming ``what``."""
        if request.Test():
            return
        start = time.monotonic()
        deadline = start + self.timeout
        spins, pause = 0, 0.0
        while not request.Test():
            spins += 1
            if spins > 2000:               # spin briefly (a step's peer is near), then back off
                pause = min(1e-3, max(2e-5, pause * 1.5))
                time.sleep(pause)
            if spins % 64 == 0 and self._exits is not None:
                self._check_exits(what)
            if spins % 64 == 0 and time.monotonic() > deadline:
                raise DistributedTimeout(
                    f"rank {self.rank} of {self.size}: {what} waited more than "
                    f"{self.timeout:g} s for the other ranks (collective #{self.collectives}); "
                    f"at least one rank did not join it: it raised, was killed, is stuck, or "
                    f"runs a different program (set LAYERKIT_DISTRIBUTED_TIMEOUT to wait "
                    f"longer)")

    # -- ranks that exit ------------------------------------------------------------
    def _watch_exits(self) -> None:
        """Open the channel of the exit notices: a duplicate of ``comm``, so that no
        message of the user's can pass for one."""
        exits, request = self.comm.Idup()
        self.wait(request, "the set-up of the world (MPI_Comm_idup)")
        self._exits = exits

    def _check_exits(self, what: str) -> None:
        """Take the exit notices that came; raise :class:`RankExited` when a rank that
        exited made fewer collectives than the one this rank waits in."""
        status = self.MPI.Status()
        while self._exits.Iprobe(self.MPI.ANY_SOURCE, _EXIT_TAG, status):
            made = np.empty(1, dtype=np.int64)
            self._exits.Recv(made, status.Get_source(), _EXIT_TAG)
            self._exited[status.Get_source()] = int(made[0])
        gone = sorted(r for r, made in self._exited.items() if made < self.collectives)
        if gone:
            r = gone[0]
            raise RankExited(
                f"rank {r} of {self.size} has exited (sys.exit(), SystemExit or the end of its "
                f"script) after {self._exited[r]} collectives, so it will never join {what} "
                f"(collective #{self.collectives}) that rank {self.rank} waits in")

    def _goodbye(self) -> None:
        """As this rank's Python ends: send every other rank the exit notice, then wait
        at most ``timeout`` for theirs (a normal end); abort the run past it."""
        made = np.array([self.collectives], dtype=np.int64)
        others = [r for r in range(self.size) if r != self.rank]
        sends = [self._exits.Isend(made, r, _EXIT_TAG) for r in others]
        waiting = {r: np.empty(1, dtype=np.int64) for r in others if r not in self._exited}
        recvs = {r: self._exits.Irecv(buf, r, _EXIT_TAG) for r, buf in waiting.items()}
        deadline = time.monotonic() + self.timeout
        while sends or recvs:
            sends = [req for req in sends if not req.Test()]
            recvs = {r: req for r, req in recvs.items() if not req.Test()}
            if (sends or recvs) and time.monotonic() > deadline:
                missing = sorted(recvs) or others
                self.abort(f"has ended its script after {self.collectives} collectives, but "
                           f"rank(s) {missing} did not end theirs within {self.timeout:g} s "
                           f"(set LAYERKIT_DISTRIBUTED_TIMEOUT to wait longer); aborting all "
                           f"{self.size} ranks")
            time.sleep(1e-3)

    def track(self, request, what: str) -> None:
        """Count a collective started outside MPI (an NCCL call; ``request.Test()``
        says whether it finished) and wait for it as for MPI's."""
        self.collectives += 1
        self.wait(request, what)

    # -- collectives on numpy arrays ---------------------------------------------
    def allreduce_sum(self, buf: np.ndarray, what: str = "an all-reduce") -> np.ndarray:
        """Sum ``buf`` (a C-contiguous numpy array) over the ranks, in place."""
        self.collectives += 1
        if self.comm is not None and self.size > 1:
            self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM), what)
        return buf

    def bcast(self, buf: np.ndarray, root: int = 0, what: str = "a broadcast") -> np.ndarray:
        """Broadcast ``buf`` (a C-contiguous numpy array) from ``root``, in place."""
        self.collectives += 1
        if self.comm is not None and self.size > 1:
            self.wait(self.comm.Ibcast(buf, root=root), what)
        return buf

    def allgather_bytes(self, data: bytes, what: str = "an all-gather") -> list[bytes]:
        """Every rank's ``data`` (the same length on every rank), in rank order."""
        self.collectives += 1
        if self.comm is None or self.size == 1:
            return [data]
        mine = np.frombuffer(data, dtype=np.uint8).copy()
        out = np.empty((self.size, len(mine)), dtype=np.uint8)
        self.wait(self.comm.Iallgather(mine, out), what)
        return [row.tobytes() for row in out]

    def allgather_object(self, obj, what: str = "an all-gather"):
        """Every rank's picklable ``obj``, in rank order (sizes first, then the bytes)."""
        import pickle
        self.collectives += 1
        if self.comm is None or self.size == 1:
            return [obj]
        data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
        sizes = np.empty(self.size, dtype=np.int64)
        self.wait(self.comm.Iallgather(np.array([len(data)], dtype=np.int64), sizes), what)
        padded = np.zeros(int(sizes.max()), dtype=np.uint8)
        padded[:len(data)] = data
        out = np.empty((self.size, len(padded)), dtype=np.uint8)
        self.wait(self.comm.Iallgather(padded, out), what)
        return [pickle.loads(out[r, :sizes[r]].tobytes()) for r in range(self.size)]

    def barrier(self, what: str = "a barrier") -> None:
        self.collectives += 1
        if self.comm is not None and self.size > 1:
            self.wait(self.comm.Ibarrier(), what)

    def abort(self, message: str, code: int = 1) -> None:
        """Print ``message`` (naming this rank) and end every rank (``MPI_Abort``)."""
        sys.stderr.write(f"layerkit.distributed: rank {self.rank} of {self.size} "
                         f"(pid {os.getpid()}) {message}\n")
        sys.stderr.flush()
        if self.comm is not None and self.size > 1:
            sys.stdout.flush()
            # the launcher forwards our output through a pipe and stops reading it when
            # it ends the ranks: give it a moment, or the message can be lost under load
            time.sleep(1.0)
            self.comm.Abort(code)
        raise SystemExit(code)


_WORLD: World | None = None
_EXIT_HOOK = False
_LOCK = threading.Lock()


def _mpi_comm():
    """COMM_WORLD when a launcher started several of us, else None."""
    forced = os.environ.get("LAYERKIT_DISTRIBUTED", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return None
    if forced not in ("1", "true", "yes", "on") and "mpi4py.MPI" not in sys.modules \
            and not _launched_with_several():
        return None
    try:
        from mpi4py import MPI
    except ImportError as err:
        if forced in ("1", "true", "yes", "on"):
            raise ImportError("LAYERKIT_DISTRIBUTED=1 but mpi4py is not installed: "
                              "pip install 'layerkit[mpi]' (mpi4py and mpich)") from err
        warnings.warn("layerkit.distributed: this process was started by an MPI launcher "
                      "but mpi4py is not installed, so it runs as a single process (every "
                      "rank alone, training on all the data); pip install 'layerkit[mpi]'",
                      UserWarning, stacklevel=4)
        return None
    return MPI.COMM_WORLD


def _install_excepthook(world: World) -> None:
    """An uncaught exception on one rank ends all of them, naming the rank."""
    previous = sys.excepthook

    def hook(tp, value, tb):
        try:
            previous(tp, value, tb)
        finally:
            if issubclass(tp, KeyboardInterrupt):
                what = "was interrupted"
            else:
                what = f"failed: {tp.__name__}: {value}"
            world.abort(f"{what}; aborting all {world.size} ranks")
    hook.layerkit_distributed = True
    if not getattr(previous, "layerkit_distributed", False):
        sys.excepthook = hook


def _at_exit() -> None:
    world = _WORLD
    if world is not None and world._exits is not None:
        world._goodbye()


def _install_exit_hook() -> None:
    """Once per process: the exit notice at the end of Python (see the module's text).
    Registered after mpi4py's import, so it runs before mpi4py finalises MPI."""
    global _EXIT_HOOK
    if not _EXIT_HOOK:
        atexit.register(_at_exit)
        _EXIT_HOOK = True


def init(comm=None, timeout: float | None = None, device_path: str | None = None) -> World:
    """Set up the world (called by :func:`get_world` on first use).

    ``comm``: an mpi4py communicator to use instead of ``COMM_WORLD`` (a
    sub-communicator), or None to detect; ``timeout``: seconds a collective
    may wait (default ``LAYERKIT_DISTRIBUTED_TIMEOUT`` or 600); ``device_path``:
    how device (cupy) gradients are reduced, one of :data:`DEVICE_PATHS`
    (default ``LAYERKIT_DISTRIBUTED_DEVICE_PATH`` or "auto").
    """
    global _WORLD
    with _LOCK:
        if comm is None:
            comm = _mpi_comm()
        world = World(comm, timeout, device_path)
        if world.size > 1:
            _install_excepthook(world)
            world._watch_exits()
            _install_exit_hook()
        _WORLD = world
        return world


def get_world() -> World:
    """The world, set up on first use (see :func:`init`)."""
    world = _WORLD
    return world if world is not None else init()


def rank() -> int:
    """This process's rank (0 in a single process)."""
    return get_world().rank


def size() -> int:
    """How many processes train together (1 in a single process)."""
    return get_world().size


def is_distributed() -> bool:
    """Whether more than one process trains together."""
    return get_world().size > 1


@contextlib.contextmanager
def _abort_block(world):
    try:
        yield world
    except BaseException as err:
        if world.size == 1 or isinstance(err, SystemExit) and not err.code:
            raise
        import traceback
        traceback.print_exc()
        world.abort(f"failed: {type(err).__name__}: {err}; aborting all {world.size} ranks")


def abort_on_error(fn=None):
    """A context manager (``with abort_on_error():``) or decorator: an exception
    inside ends every rank at once (``MPI_Abort``) after printing it with this
    rank's number, instead of leaving the others waiting. In a single process
    the exception propagates as usual."""
    if fn is None:
        return _abort_block(get_world())

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with _abort_block(get_world()):
            return fn(*args, **kwargs)
    return wrapped
