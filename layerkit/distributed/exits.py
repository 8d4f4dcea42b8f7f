"""Exit notices: a rank whose Python ends tells the others, so that none of them
waits for it until the timeout.

**The channel.** The notices travel on a duplicate of the world's communicator
(``MPI_Comm_idup``), so that no message of the user's can pass for one. The
duplicate is made inside the world's first collective, not when the world is
made: every rank makes the world's collectives in the same order, so every
rank's ``Idup`` meets the others', while making the world -- ``rank()``,
``size()``, ``get_world()``, ``save_params`` -- stays local and may happen on
one rank alone.

**The notice.** As this rank's Python ends (an ``atexit`` handler, registered
once when this module is imported: mpi4py finalises MPI through ``Py_AtExit``,
which runs after every Python ``atexit`` handler, so MPI is still there), the
rank sends every other rank one int64, the number of collectives it made, and
waits for its own sends to complete (no deadline: it only warns past the
world's timeout). It does not wait for the others' notices: MPI's finalise,
which follows, waits for the other ranks (MPICH's does, however long they
take), so a normal end, however uneven, aborts nothing.

**The early notice.** A rank that made its world (several ranks under MPI) but
no collective yet has no channel: it sends the same int64 (0) on the world's
own communicator (``world.comm``) with the reserved tag :data:`EARLY_TAG`. A
rank waiting for the channel's ``Idup`` in its first collective takes such
notices (``MPI_Improbe`` with that tag) and raises :class:`RankExited` naming
the leaver, instead of waiting until the timeout. A message of the user's on
the world's communicator with that tag would pass for one: layerkit reserves
it (and a receive of the user's with ``MPI.ANY_TAG`` on that communicator may
take an early notice of a rank that ended). A world that no rank makes a
collective in leaves those notices unread, which MPI's finalise allows.

**The check.** A rank waiting in a collective (:meth:`World.wait
<layerkit.distributed.World.wait>`) takes the notices that came, with a matched
probe (``MPI_Improbe`` then ``MPI_Mrecv``, so that two threads cannot both
claim one notice), and raises :class:`RankExited` when a rank that exited made
fewer collectives than the one it waits in. A rank that made that collective
and ended while its data is still on the way is not a leaver.

**After the notice** the world is closed: the others were told the number of
collectives this rank made, so a collective started later raises
:class:`DistributedError`. Handlers run last registered, first called: one
registered after ``import layerkit.distributed`` runs before the notice and
may make collectives; one registered before that import runs after it and is
refused.

Nothing is sent once MPI is finalised (a script that calls ``MPI.Finalize()``
itself), nor by a rank that never made its world: a rank waiting in a
collective that such a rank never made waits until the timeout. The exit code
is not seen (Python runs ``atexit`` after it has dropped the ``SystemExit``),
so ``sys.exit(0)`` in the middle of training is caught as any other exit.
"""
from __future__ import annotations

import atexit
import sys
import threading
import time

import numpy as np

from .errors import DistributedError, RankExited

__all__ = ["ExitNotices", "TAG", "EARLY_TAG", "watch", "refuse", "collectives_text"]

#: the tag of the notices (on the world's own duplicate communicator)
TAG = 7

#: the tag of the early notices, on the world's communicator itself (``world.comm``):
#: reserved by layerkit (at most 32767, the least ``MPI_TAG_UB`` MPI allows)
EARLY_TAG = 32711

#: the worlds of several ranks made in this process, in order, said goodbye to at exit
_WORLDS: list = []
_LOCK = threading.Lock()


def collectives_text(n: int) -> str:
    """``"1 collective"``, ``"3 collectives"``."""
    return f"{n} collective" + ("" if n == 1 else "s")


def ordinal_text(n: int) -> str:
    """How a message names layerkit's ``n``-th collective on this rank (from 1)."""
    return f"layerkit's collective #{n} on this rank"


def watch(world) -> None:
    """Say goodbye to ``world`` (a world of several ranks under MPI) at exit."""
    with _LOCK:
        _WORLDS.append(world)


def refuse(world, what: str) -> None:
    """Raise :class:`DistributedError`: ``what`` starts after this rank's notice."""
    raise DistributedError(
        f"rank {world.rank} of {world.size}: {what} starts after this rank's Python "
        f"began to end: layerkit.distributed has told the other ranks that this rank "
        f"made {collectives_text(world.notice_sent)}, so it makes no more (an atexit "
        f"handler registered before `import layerkit.distributed` runs after that notice: "
        f"register it after that import, or make the collective before the script ends)")


def _complete(world, sends: dict, what: str) -> None:
    """Wait for this rank's ``sends`` (rank -> request) without a deadline, warning once
    past the world's timeout."""
    start, warned, pause = time.monotonic(), False, 0.0
    while sends:
        sends = {r: req for r, req in sends.items() if not req.Test()}
        if sends and not warned and time.monotonic() - start > world.timeout:
            warned = True
            sys.stderr.write(
                f"layerkit.distributed: rank {world.rank} of {world.size}: its {what} to "
                f"rank(s) {sorted(sends)} is not delivered after {world.timeout:g} s; "
                f"still waiting\n")
            sys.stderr.flush()
        if sends:
            pause = min(1e-2, max(1e-4, pause * 1.5))
            time.sleep(pause)


def early_goodbye(world) -> None:
    """Send every other rank this rank's early notice on ``world.comm`` (a world with
    no channel: no collective made) and complete the sends; close the world."""
    if world.closed:
        return
    world.notice_sent = world.collectives       # first: no collective may start after it
    made = np.array([world.notice_sent], dtype=np.int64)
    sends = {r: world.comm.Isend(made, r, EARLY_TAG)
             for r in range(world.size) if r != world.rank}
    _complete(world, sends, "early exit notice")


def check_early(world, what: str) -> None:
    """Take an early notice on ``world.comm`` (a rank that exited before its first
    collective) and raise :class:`RankExited` naming its sender; called while this
    rank waits for the channel's ``Idup`` in its first collective, ``what``."""
    MPI = world.MPI
    status = MPI.Status()
    message = world.comm.Improbe(MPI.ANY_SOURCE, EARLY_TAG, status)
    if message is None:
        return
    made = np.empty(1, dtype=np.int64)
    message.Recv(made)
    r = status.Get_source()
    raise RankExited(
        f"rank {r} of {world.size} has exited (sys.exit(), SystemExit or the end of its "
        f"script) before layerkit's first collective, so it will never join {what} "
        f"({ordinal_text(world.collectives + 1)}) that rank {world.rank} waits in")


class ExitNotices:
    """The exit notices of one world: its channel (``comm``, a duplicate of the
    world's) and the notices received (``exited``: rank -> collectives it made);
    whether this rank has sent its own is the world's ``closed``."""

    def __init__(self, world, comm) -> None:
        self.world, self.comm = world, comm
        self.exited: dict[int, int] = {}

    @classmethod
    def open(cls, world, what: str) -> "ExitNotices":
        """Duplicate ``world.comm`` (a collective: call it where every rank makes
        the same collective, ``what``, layerkit's first), watching for early notices
        meanwhile."""
        comm, request = world.comm.Idup()
        world.wait(request, f"the opening of the exit notices' channel (MPI_Comm_idup) in "
                            f"{what}", number=world.collectives + 1,
                   check=lambda _: check_early(world, what),
                   hint="; or it ended before layerkit's first collective without an exit "
                        "notice (it never asked for its world, or finalised MPI itself)")
        return cls(world, comm)

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
                f"script) after {collectives_text(self.exited[r])}, so it will never join "
                f"{what} ({ordinal_text(world.collectives)}) that rank {world.rank} waits in")

    def goodbye(self) -> None:
        """Send every other rank this rank's notice and complete the sends; close the
        world. Waits for nothing else (see the module's text)."""
        world = self.world
        if world.closed:
            return
        world.notice_sent = world.collectives   # first: no collective may start after it
        made = np.array([world.notice_sent], dtype=np.int64)
        sends = {r: self.comm.Isend(made, r, TAG) for r in range(world.size) if r != world.rank}
        _complete(world, sends, "exit notice")


def _at_exit() -> None:
    """Each world's goodbye: on its channel, or the early notice where it has none
    (once per communicator)."""
    with _LOCK:
        worlds = list(_WORLDS)
    if not worlds or worlds[0].MPI.Is_finalized():
        return                              # the script finalised MPI itself: nothing to send
    early = set()
    for world in worlds:
        try:
            if world.exits is not None:
                world.exits.goodbye()
            elif id(world.comm) not in early:
                early.add(id(world.comm))
                early_goodbye(world)
            elif not world.closed:           # its communicator's early notice is sent
                world.notice_sent = world.collectives
        except Exception as err:           # noqa: BLE001 (one world's failure, not the others')
            sys.stderr.write(f"layerkit.distributed: rank {world.rank} of {world.size}: its "
                             f"exit notice failed: {type(err).__name__}: {err}\n")
            sys.stderr.flush()


# once, at import: handlers registered later run before this one (and may make
# collectives); mpi4py finalises MPI after every atexit handler (Py_AtExit)
atexit.register(_at_exit)
