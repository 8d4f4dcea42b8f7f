"""Time the numpy backend's ``softplus`` against this plugin's, per size and dtype.

    python bench.py [--threads N] [--repeat R] [--cpu]

Both kernels write into a preallocated ``out`` (as the compiler calls them),
on inputs uniform in [-6, 6). The table gives the best of R timings (wall
clock, microseconds) and the speedup; the last column says which kernel the
plugin uses at that size by default (``DEFAULT_MIN_SIZE``). numexpr gains by
using the cores numpy leaves idle, so wall-clock timings on a busy machine
mean little: the load average is printed first. ``--cpu`` times CPU instead
(``time.process_time``, every thread of the process counted): the work each
kernel does, whatever else runs; wall time on idle cores is about the CPU time
divided by the threads that get one.
"""
from __future__ import annotations

import argparse
import os
import time
import timeit

import numexpr
import numpy as np

from layerkit_numexpr.elemwise import DEFAULT_MIN_SIZE, make_softplus

SIZES = (1 << 10, 1 << 13, 1 << 15, 1 << 16, 1 << 17, 1 << 20, 1 << 22)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="numexpr threads (default: its own)")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cpu", action="store_true", help="CPU time of all threads, not wall time")
    args = ap.parse_args(argv)
    if args.threads:
        numexpr.set_num_threads(args.threads)
    from layerkit_numpy.backend import NUMPY_KERNELS
    own = NUMPY_KERNELS["softplus"]
    ours = make_softplus(own, 0)             # numexpr at every size
    print(f"numexpr {numexpr.__version__}, {numexpr.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; numpy {np.__version__}")
    timer = time.process_time if args.cpu else time.perf_counter
    what = "CPU" if args.cpu else "wall"
    print(f"{'dtype':8} {'size':>8} {'numpy ' + what:>10} {'numexpr ' + what:>12} "
          f"{'ratio':>7}  default   (microseconds per call)")
    for dtype in ("float32", "float64"):
        for size in SIZES:
            x = np.random.default_rng(0).uniform(-6, 6, size).astype(dtype)
            out = np.empty_like(x)
            number = max(3, int(2e5 // size))
            t_np = min(timeit.repeat(lambda: own(x, out=out), number=number,
                                     repeat=args.repeat, timer=timer)) / number
            t_ne = min(timeit.repeat(lambda: ours(x, out=out), number=number,
                                     repeat=args.repeat, timer=timer)) / number
            used = "numexpr" if size >= DEFAULT_MIN_SIZE else "numpy"
            print(f"{dtype:8} {size:>8} {t_np * 1e6:>10.1f} {t_ne * 1e6:>12.1f} "
                  f"{t_np / t_ne:>6.2f}x  {used}")


if __name__ == "__main__":
    main()
