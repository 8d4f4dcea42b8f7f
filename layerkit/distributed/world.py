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
Making the world is local (no collective): ``rank()``, ``size()`` and
``get_world()`` may be called first on one rank alone, and from several
threads (one world is made).

``LAYERKIT_DISTRIBUTED_DEVICE_PATH`` (or ``init(device_path=...)``) asks for
how device (cupy) gradients are reduced: ``nccl``, ``cuda-aware-mpi``,
``host`` or ``auto`` (:mod:`layerkit.distributed.device`, which chooses);
:meth:`World.describe` says what was chosen and why.

**No rank waits forever.** Every collective layerkit makes is non-blocking
and waited for at most ``timeout`` seconds (``LAYERKIT_DISTRIBUTED_TIMEOUT``,
default 600); past it, :class:`DistributedTimeout` is raised. Under MPI with
more than one rank, an exception that ends the program on one rank (and one
raised inside :func:`abort_on_error`) prints ``layerkit.distributed: rank R of
N failed: ...`` and calls ``MPI_Abort``, which ends every rank at once: the
launcher then reports the rank too.

**A rank that exits** (``sys.exit``, ``SystemExit``, or the end of its
script) tells the others as its Python ends (:mod:`layerkit.distributed.exits`):
it sends each rank a notice with the number of collectives it made, on a
duplicate of the communicator opened in the world's first collective (before
that, on the world's communicator with a tag layerkit reserves,
:data:`~layerkit.distributed.exits.EARLY_TAG`), and ends. A rank waiting in a collective that the leaver never made raises
:class:`RankExited` naming it, and that exception aborts the run as above
(about a second after the exit). A normal end never aborts: a rank sends its
notices, completes its sends and finalises, whatever the exit codes and
however far apart the ranks end (MPICH's finalise then waits for the others,
without a deadline). The exit code itself is not seen (Python runs ``atexit`` after
it has dropped the ``SystemExit``), so an exit with code 0 in the middle of
training is caught the same way. After its notice a rank's world is closed:
a later collective (in an ``atexit`` handler registered before
``import layerkit.distributed``) raises :class:`DistributedError`.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
import warnings

import numpy as np

from .device import requested_device_path
from .errors import DistributedError, DistributedTimeout, RankExited
from . import exits as _exits
from .exits import ExitNotices

__all__ = ["World", "get_world", "init", "rank", "size", "is_distributed", "shard",
           "abort_on_error", "DistributedError", "DistributedTimeout", "RankExited",
           "DEFAULT_TIMEOUT"]

#: seconds a collective may wait for the other ranks before raising
DEFAULT_TIMEOUT = 600.0

#: (rank variable, size variable or None) set by the launchers we know
_LAUNCHERS = (
    ("PMI_RANK", "PMI_SIZE"),                            # MPICH hydra, Intel MPI, srun --mpi=pmi2
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),    # Open MPI's mpirun
    ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"),      # MVAPICH
    ("PMIX_RANK", None),                                 # PMIx (srun --mpi=pmix, prterun)
    ("SLURM_PROCID", "SLURM_NTASKS"),                    # srun
)


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


class World:
    """``rank`` and ``size`` of this process, and the few collectives layerkit needs.

    ``comm`` is an mpi4py communicator, or None for the single-process world.
    The collectives work on numpy arrays in place and wait at most
    ``timeout`` seconds. ``device_path`` is the path asked for device
    gradients (one of :data:`~layerkit.distributed.device.DEVICE_PATHS`, "auto"
    by default; ``device_path_origin`` says who asked); ``device_reducers`` holds
    the path chosen for each backend, by its name, once chosen (what
    :func:`layerkit.distributed.chosen_device_path` returns). ``exits`` is the
    channel of the exit notices (:mod:`layerkit.distributed.exits`), opened in
    the first collective.
    """

    def __init__(self, comm=None, timeout: float | None = None,
                 device_path: str | None = None) -> None:
        self.comm = comm
        self.timeout = _timeout_from_env() if timeout is None else float(timeout)
        self.device_path, self.device_path_origin = requested_device_path(device_path)
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
        #: the exit notices, opened in the first collective where there are several ranks
        self.exits: ExitNotices | None = None
        #: the number of collectives this rank's exit notice told the others (None
        #: until sent; then the world is closed)
        self.notice_sent: int | None = None
        self._watch_exits = comm is not None and self.size > 1
        self._opening = threading.Lock()
        if self._watch_exits:
            _exits.watch(self)

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
                         f"of device arrays, or by "
                         f"layerkit.distributed.chosen_device_path(backend))")
        return "\n".join(lines)

    @property
    def is_distributed(self) -> bool:
        """Whether more than one process trains together (what :func:`is_distributed` says)."""
        return self.size > 1

    # -- waiting with a bound -------------------------------------------------
    def wait(self, request, what: str, *, number: int | None = None, check=None,
             hint: str = "") -> None:
        """Wait for ``request`` at most ``timeout`` seconds; raise naming ``what``, this
        rank's collective ``number`` (from 1; by default the last one started) and
        ``hint`` (more causes). ``check(what)`` runs now and then while waiting (by
        default the exit notices' check, once the channel is open)."""
        if request.Test():
            return
        number = self.collectives if number is None else number
        start = time.monotonic()
        deadline = start + self.timeout
        spins, pause = 0, 0.0
        while not request.Test():
            spins += 1
            if spins > 2000:               # spin briefly (a step's peer is near), then back off
                pause = min(1e-3, max(2e-5, pause * 1.5))
                time.sleep(pause)
            if spins % 64 == 0:
                checker = check if check is not None else (
                    self.exits.check if self.exits is not None else None)
                if checker is not None:
                    checker(what)
                if time.monotonic() > deadline:
                    raise DistributedTimeout(
                        f"rank {self.rank} of {self.size}: {what} waited more than "
                        f"{self.timeout:g} s for the other ranks ({_exits.ordinal_text(number)}); "
                        f"at least one rank did not join it: it raised, was killed, is stuck, "
                        f"or runs a different program{hint} (set LAYERKIT_DISTRIBUTED_TIMEOUT "
                        f"to wait longer)")

    # -- the start of each collective ------------------------------------------------
    @property
    def closed(self) -> bool:
        """Whether this rank has sent its exit notice (no collective may start)."""
        return self.notice_sent is not None

    def _start(self, what: str) -> None:
        """Count a collective about to start, or refuse it after this rank's exit
        notice; in the first one, open the exit notices' channel (a collective too,
        made in the same place on every rank)."""
        if self.closed:
            _exits.refuse(self, what)
        if self.exits is None and self._watch_exits:
            with self._opening:
                if self.exits is None:
                    self.exits = ExitNotices.open(self, what)
        self.collectives += 1

    def track(self, launch, what: str) -> None:
        """A collective made outside MPI (an NCCL call): start it as MPI's are (open the
        channel, or refuse after the exit notice; count it), then ``launch()`` it --
        it returns a request whose ``Test()`` says whether it finished -- and wait."""
        self._start(what)
        self.wait(launch(), what)

    # -- collectives ---------------------------------------------------------------
    def allreduce_sum(self, buf, what: str = "an all-reduce"):
        """Sum ``buf`` over the ranks, in place: a C-contiguous numpy array, or on the
        ``cuda-aware-mpi`` path a contiguous device (cupy) array, whose
        ``__cuda_array_interface__`` mpi4py hands to MPI."""
        self._start(what)
        if self.comm is not None and self.size > 1:
            self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM), what)
        return buf

    def bcast(self, buf: np.ndarray, root: int = 0, what: str = "a broadcast") -> np.ndarray:
        """Broadcast ``buf`` (a C-contiguous numpy array) from ``root``, in place."""
        self._start(what)
        if self.comm is not None and self.size > 1:
            self.wait(self.comm.Ibcast(buf, root=root), what)
        return buf

    def allgather_bytes(self, data: bytes, what: str = "an all-gather") -> list[bytes]:
        """Every rank's ``data`` (the same length on every rank), in rank order."""
        self._start(what)
        if self.comm is None or self.size == 1:
            return [data]
        mine = np.frombuffer(data, dtype=np.uint8).copy()
        out = np.empty((self.size, len(mine)), dtype=np.uint8)
        self.wait(self.comm.Iallgather(mine, out), what)
        return [row.tobytes() for row in out]

    def allgather_object(self, obj, what: str = "an all-gather"):
        """Every rank's picklable ``obj``, in rank order (sizes first, then the bytes)."""
        import pickle
        self._start(what)
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
        self._start(what)
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


def _make(comm, timeout, device_path) -> World:
    """A new world (local: no collective); the caller holds ``_LOCK``."""
    global _WORLD
    if comm is None:
        comm = _mpi_comm()
    world = World(comm, timeout, device_path)
    if world.size > 1:
        _install_excepthook(world)
    _WORLD = world
    return world


def init(comm=None, timeout: float | None = None, device_path: str | None = None) -> World:
    """Set up the world (called by :func:`get_world` on first use), replacing any.

    ``comm``: an mpi4py communicator to use instead of ``COMM_WORLD`` (a
    sub-communicator), or None to detect; ``timeout``: seconds a collective
    may wait (default ``LAYERKIT_DISTRIBUTED_TIMEOUT`` or 600); ``device_path``:
    how device (cupy) gradients are reduced, one of
    :data:`~layerkit.distributed.device.DEVICE_PATHS` (default
    ``LAYERKIT_DISTRIBUTED_DEVICE_PATH`` or "auto"). Local: no collective, so
    one rank may call it before the others.
    """
    with _LOCK:
        return _make(comm, timeout, device_path)


def get_world() -> World:
    """The world, set up on first use (see :func:`init`); one world even when several
    threads ask first."""
    world = _WORLD
    if world is not None:
        return world
    with _LOCK:
        return _WORLD if _WORLD is not None else _make(None, None, None)


def rank() -> int:
    """This process's rank (0 in a single process)."""
    return get_world().rank


def size() -> int:
    """How many processes train together (1 in a single process)."""
    return get_world().size


def is_distributed() -> bool:
    """Whether more than one process trains together."""
    return get_world().is_distributed


def shard(n: int, rank: int | None = None, size: int | None = None) -> slice:
    """The rows of ``n`` this rank takes: contiguous, as ``np.array_split`` cuts them
    (the first ``n % size`` ranks one row more)."""
    world = get_world()
    rank = world.rank if rank is None else rank
    size = world.size if size is None else size
    q, r = divmod(n, size)
    lo = rank * q + min(rank, r)
    return slice(lo, lo + q + (1 if rank < r else 0))


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
