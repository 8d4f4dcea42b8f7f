"""Keep freed array memory in the process (glibc's malloc), so training steps do
not page-fault.

A training step frees and allocates the same large temporaries every call.
glibc returns a freed block above its mmap threshold to the system and trims
the heap's free top, so the next step maps the pages again and takes a minor
fault on every 4 KiB of them (measured: 2,245 faults and 6 ms of system time
per step of the 784-625-625-10 MLP when its updates run in place, none
without that churn). Raising the mmap threshold to its maximum (32 MiB) and
the trim threshold to 1 GiB keeps those blocks in the heap for reuse, as
PyTorch's caching allocator does on its side.

This is process-wide, so it is done once, when the numpy backend is created,
only on glibc, and not when the user set ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` themselves; ``LAYERKIT_NUMPY_KEEP_MEMORY=0`` turns it off.

Transparent huge pages are left as numpy sets them: numpy asks for them
(``madvise``) on arrays of 4 MiB and more. What they cost is the first call of
a function: its peak memory is touched for the first time then (a train step's
intermediates, all fresh), and on this project's 2-core virtual machine, whose
host takes back freed guest memory, a fresh huge page is host memory again:
300 MB of them took 540-770 ms to touch after a few seconds idle (34-118 ms
right after another process freed them), 4 KiB pages 122-140 ms either way.
lasagne_cnn's first train call (one thread, 6 s idle before) measured 667-922
ms with huge pages and 357-465 ms with ``NUMPY_MADVISE_HUGEPAGE=0``, against a
~235 ms step; the rest of the first call (imports, plans, buffers, BLAS
threads) is under 10 ms. They are kept because the steady step is faster with
them (lasagne_cnn 2.3 % median, 1.1-6.6 % over 8 alternating pairs, one
thread), which repays that first call after about 60-90 steps: a short run
(a test, a first-call benchmark) may set ``NUMPY_MADVISE_HUGEPAGE=0``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20          # glibc's maximum on 64-bit machines
TRIM_THRESHOLD = 2**30

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as the module says; True when it was done (now or before)."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if os.environ.get("LAYERKIT_NUMPY_KEEP_MEMORY", "1") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
