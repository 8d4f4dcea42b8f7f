"""Exit notices: a rank whose Python ends tells the others, so that none of them
waits for it until the timeout.

**The channel.** The notices travel on a duplicate of the world's communicator
(``MPI_Comm_idup``), so that no message of the user's can pass for one. The
duplicate is made inside the world's first collective, not when the world is
made: every rank makes the world's collectives in the same order, so every
rank's ``Idup`` meets the others', while making the world -- ``rank()``,
``size()``, ``get_world()``, ``save_params`` -- stays local and may happen on
one rank alone. A world that makes no collective opens no channel and sends
no notice.

**The notice.** As this rank's Python ends (an ``atexit`` handler, registered
when the channel opens: after mpi4py's own, so it runs before mpi4py finalises
MPI), the rank sends every other rank one int64, the number of collectives it
made, and waits for its own sends to complete (no deadline: it only warns past
the world's timeout). It does not wait for the others' notices: MPI's
finalise, which follows, waits for the other ranks (MPICH's does, however long
they take), so a normal end, however uneven, aborts nothing.

**The check.** A rank waiting in a collective (:meth:`World.wait
<layerkit.distributed.World.wait>`) takes the notices that came, with a matched
probe (``MPI_Improbe`` then ``MPI_Mrecv``, so that two threads cannot both
claim one notice), and raises :class:`RankExited` when a rank that exited made
fewer collectives than the one it waits in. A rank that made that collective
and ended while its data is still on the way is not a leaver.

**After the notice** the world is closed: the others were told the number of
collectives this rank made, so a collective started later (in an ``atexit``
handler that runs after this one, i.e. registered before the world's first
collective) raises :class:`DistributedError`.

Nothing is sent once MPI is finalised (a script that calls ``MPI.Finalize()``
itself): a rank waiting in a collective that such a rank never made waits
until the timeout. The exit code is not seen (Python runs ``atexit`` after it
has dropped the ``SystemExit``), so ``sys.exit(0)`` in the middle of training
is caught as any other exit.
"""
from __future__ import annotations

import atexit
import sys
import threading
import time

import numpy as np

from .errors import DistributedError, RankExited

__all__ = ["ExitNotices", "TAG"]

#: the tag of the notices (on the world's own duplicate communicator)
TAG = 7

#: the channels opened in this process, in order, said goodbye to at exit
_OPENED: list = []
_HOOKED = False
_LOCK = threading.Lock()


class ExitNotices:
    """The exit notices of one world: its channel (``comm``, a duplicate of the
    world's), the notices received (``exited``: rank -> collectives it made), and
    whether this rank has sent its own (``closed``)."""

    def __init__(self, world, comm) -> None:
        self.world, self.comm = world, comm
        self.exited: dict[int, int] = {}
        self.closed = False
        #: the number of collectives this rank's notice says it made, once sent
        self.made: int | None = None

    @classmethod
    def open(cls, world, what: str) -> "ExitNotices":
        """Duplicate ``world.comm`` (a collective: call it where every rank makes
        the same collective, ``what``) and say goodbye on it at exit."""
        comm, request = world.comm.Idup()
        world.wait(request, f"the opening of the exit notices' channel (MPI_Comm_idup) in "
                            f"{what}")
        notices = cls(world, comm)
        _register(notices)
        return notices

    def check(self, what: str) -> None:
        """Take the notices that came; raise :class:`RankExited` when a rank that
        exited made fewer collectives than the one this rank waits in (``what``)."""
        MPI = self.world.MPI
        status = MPI.Status()
        while True:
            message = self.comm.Improbe(MPI.ANY_SOURCE, TAG, status)
            if message is None:
                break
            made = np.empty(1, dtype=np.int64)
            message.Recv(made)                    # MPI_Mrecv: this notice, and only this
            self.exited[status.Get_source()] = int(made[0])
        world = self.world
        gone = sorted(r for r, made in list(self.exited.items()) if made < world.collectives)
        if gone:
            r = gone[0]
            raise RankExited(
                f"rank {r} of {world.size} has exited (sys.exit(), SystemExit or the end of its "
                f"script) after {self.exited[r]} collectives, so it will never join {what} "
                f"(collective #{world.collectives}) that rank {world.rank} waits in")

    def refuse(self, what: str) -> None:
        """Raise :class:`DistributedError`: ``what`` starts after this rank's notice."""
        world = self.world
        made = world.collectives if self.made is None else self.made
        raise DistributedError(
            f"rank {world.rank} of {world.size}: {what} starts after this rank's Python "
            f"began to end: layerkit.distributed has told the other ranks that this rank "
            f"made {made} collectives, so it makes no more (an atexit handler "
            f"registered before the world's first collective runs after that notice: make "
            f"the collective before the script ends)")

    def goodbye(self) -> None:
        """Send every other rank this rank's notice and complete the sends; close the
        world. Waits for nothing else (see the module's text)."""
        if self.closed:
            return
        world = self.world
        self.closed = True                  # first: no collective may start after the count
        self.made = world.collectives
        made = np.array([self.made], dtype=np.int64)
        sends = {r: self.comm.Isend(made, r, TAG) for r in range(world.size) if r != world.rank}
        start, warned, pause = time.monotonic(), False, 0.0
        while sends:
            sends = {r: req for r, req in sends.items() if not req.Test()}
            if sends and not warned and time.monotonic() - start > world.timeout:
                warned = True
                sys.stderr.write(
                    f"layerkit.distributed: rank {world.rank} of {world.size}: its exit notice "
                    f"to rank(s) {sorted(sends)} is not delivered after {world.timeout:g} s; "
                    f"still waiting\n")
                sys.stderr.flush()
            pause = min(1e-2, max(1e-4, pause * 1.5))
            time.sleep(pause)


def _register(notices: ExitNotices) -> None:
    """Remember ``notices`` for the goodbye; the first time, register the hook
    (after mpi4py's import, so it runs before mpi4py finalises MPI)."""
    global _HOOKED
    with _LOCK:
        _OPENED.append(notices)
        if not _HOOKED:
            atexit.register(_at_exit)
            _HOOKED = True


def _at_exit() -> None:
    if not _OPENED or _OPENED[0].world.MPI.Is_finalized():
        return                              # the script finalised MPI itself: nothing to send
    for notices in list(_OPENED):
        notices.goodbye()
