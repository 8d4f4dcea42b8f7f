"""layerkit's numpy backend against PyTorch CPU on the seeds' nets (issue 5).

    python bench/bench_nets.py [--nets mlp_old,convnet] [--rounds 3] [--steps 20]
    python bench/bench_nets.py --ablation [--nets mlp_modern,convnet]

``--threads N`` gives each framework N threads (default 2; another count writes its own
section). ``--ablation`` measures what the compiler's fusion and in-place phases are
worth instead: layerkit as compiled by default, without in-place updates,
and without fusion (which also leaves nothing for in-place), alternating
blocks of each, and writes its own section.

Each framework runs in its own process (2 threads unless --threads); blocks of steps
alternate between them, and the median step time is reported with the
ratio layerkit / PyTorch, the floor (forward+backward FLOPs over the sgemm
rate measured here) and the peak resident memory the training loop adds
above the baseline taken once the net is built, before its first step.
Writes its section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: threads per framework (``--threads``; workers read it from the environment)
THREADS = os.environ.get("LAYERKIT_BENCH_THREADS", "2")


def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(framework: str, net: str, steps: int) -> dict:
    sys.path.insert(0, str(HERE))
    import nets
    X, y = nets.data(net)
    if framework == "torch":
        import torch
        torch.set_num_threads(int(THREADS))
        train, predict = nets.torch_net(net)
    else:
        import layerkit.core  # noqa: F401 - imports and plugin discovery are not compile time
        import layerkit.backend
        from layerkit.core.function import Function
        layerkit.backend.get_backend()
        compiles = []                 # seconds inside each function(...) call
        init = Function.__init__

        def timed_init(self, *a, **k):
            t0 = time.perf_counter()
            init(self, *a, **k)
            compiles.append(time.perf_counter() - t0)
        Function.__init__ = timed_init
        t = time.perf_counter()
        train, predict = nets.layerkit_net(net)
        compile_s = time.perf_counter() - t
        Function.__init__ = init
    # the baseline: imports done, net built, parameters allocated, nothing run yet;
    # the peak above it is what the training loop itself allocates
    base = _current_rss_mb()
    t = time.perf_counter()
    train(X, y)
    first_ms = (time.perf_counter() - t) * 1e3
    for _ in range(3):
        train(X, y)
        predict(X)
    t = time.perf_counter()
    for _ in range(steps):
        train(X, y)
    train_ms = (time.perf_counter() - t) / steps * 1e3
    peak = _peak_rss_mb()
    t = time.perf_counter()
    for _ in range(steps):
        predict(X)
    infer_ms = (time.perf_counter() - t) / steps * 1e3
    out = {"train_ms": train_ms, "infer_ms": infer_ms, "mem_mb": max(0.0, peak - base),
           "first_ms": first_ms}
    if framework != "torch":
        out["compile_ms"] = compile_s * 1e3
        out["train_compile_ms"] = compiles[0] * 1e3 if compiles else float("nan")
    return out


#: the compiler variants of --ablation: label -> phases excluded
VARIANTS = {"default": "", "no in-place": "inplace", "no fusion, no in-place": "fusion:inplace"}


def _run_worker(framework, net, steps, excluding="") -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=THREADS, OPENBLAS_NUM_THREADS=THREADS,
               MKL_NUM_THREADS=THREADS, LAYERKIT_BENCH_THREADS=THREADS)
    if excluding:
        flags = env.get("LAYERKIT_FLAGS", "")
        env["LAYERKIT_FLAGS"] = ",".join(f for f in (flags, f"optimizer_excluding={excluding}") if f)
    proc = subprocess.run([sys.executable, __file__, "--worker", framework, "--net", net,
                           "--steps", str(steps)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sgemm_gflops() -> float:
    env = dict(os.environ, OMP_NUM_THREADS=THREADS, OPENBLAS_NUM_THREADS=THREADS)
    code = ("import numpy as np,time;a=np.random.rand(1024,1024).astype('float32');a@a;"
            "t=time.perf_counter();[a@a for _ in range(20)];"
            "print(2*1024**3*20/(time.perf_counter()-t)/1e9)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env=env).stdout)


def main(argv=None) -> int:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default=parser_default_nets())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", default=THREADS,
                        help="BLAS/torch threads per framework (default 2)")
    parser.add_argument("--worker", choices=["layerkit", "torch"])
    parser.add_argument("--net")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--ablation", action="store_true",
                        help="default vs no in-place vs no fusion (layerkit only)")
    args = parser.parse_args(argv)
    THREADS = str(args.threads)
    if args.worker:
        print(json.dumps(worker(args.worker, args.net, args.steps)))
        return 0
    sys.path.insert(0, str(HERE))
    import nets
    gflops = sgemm_gflops()
    print(f"sgemm rate here ({THREADS} threads): {gflops:.1f} GFLOP/s")
    if args.ablation:
        return ablation(args, gflops)
    rows = []
    for net in args.nets.split(","):
        results = {"layerkit": [], "torch": []}
        error = None
        for _ in range(args.rounds):
            for fw in ("layerkit", "torch"):
                try:
                    results[fw].append(_run_worker(fw, net, args.steps))
                except Exception as err:  # a missing kernel or torch: report, go on
                    error = f"{fw}: {err}"
            if error:
                break
        if error:
            print(f"{net:<12} not measured: {error}")
            rows.append((net, None, error))
            continue
        med = {fw: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for fw, rs in results.items()}
        floor_ms = 3 * nets.flops(net) / (gflops * 1e9) * 1e3
        row = dict(net=net, lk=med["layerkit"], pt=med["torch"], floor=floor_ms)
        rows.append((net, row, None))
        print(f"{net:<12} train {row['lk']['train_ms']:7.2f} ms vs torch {row['pt']['train_ms']:7.2f}"
              f" (x{row['lk']['train_ms'] / row['pt']['train_ms']:.2f}), infer "
              f"{row['lk']['infer_ms']:6.2f} vs {row['pt']['infer_ms']:6.2f} "
              f"(x{row['lk']['infer_ms'] / row['pt']['infer_ms']:.2f}), floor {floor_ms:.2f} ms, "
              f"mem +{row['lk']['mem_mb']:.0f} vs +{row['pt']['mem_mb']:.0f} MB, "
              f"build+compile {row['lk']['compile_ms']:.0f} ms (train function "
              f"{row['lk']['train_compile_ms']:.0f}), first call {row['lk']['first_ms']:.1f} ms")
    if not args.no_write:
        write_results(rows, gflops)
    return 0


def ablation(args, gflops) -> int:
    nets_ = args.nets if args.nets != parser_default_nets() else "mlp_modern,convnet"
    heading = "## Compiler ablation: fusion and in-place (bench/bench_nets.py --ablation)"
    if THREADS != "2":
        heading = heading[:-1] + f" --threads {THREADS})"
    lines = [heading, "",
             f"numpy backend, batch 128, float32, {THREADS} thread(s), medians over alternating "
             "blocks; "
             f"sgemm {gflops:.1f} GFLOP/s. Train and inference step in ms; the ratio is to the "
             "default compilation (higher: the phase was worth that much).", "",
             "| net | variant | train ms | ratio | infer ms | peak MB above baseline |",
             "|---|---|---|---|---|---|"]
    for net in nets_.split(","):
        results = {label: [] for label in VARIANTS}
        for _ in range(args.rounds):
            for label, excluding in VARIANTS.items():
                results[label].append(_run_worker("layerkit", net, args.steps, excluding))
        med = {label: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for label, rs in results.items()}
        base = med["default"]["train_ms"]
        for label, m in med.items():
            print(f"{net:<12} {label:<24} train {m['train_ms']:7.2f} ms (x{m['train_ms'] / base:.2f})"
                  f", infer {m['infer_ms']:6.2f} ms, mem +{m['mem_mb']:.0f} MB")
            lines.append(f"| {net} | {label} | {m['train_ms']:.2f} | {m['train_ms'] / base:.2f} | "
                         f"{m['infer_ms']:.2f} | {m['mem_mb']:.0f} |")
    if not args.no_write:
        _replace_section(HERE / "RESULTS.md", lines[0], "\n".join(lines) + "\n")
    return 0


def parser_default_nets() -> str:
    return "logreg,mlp_old,mlp_modern,convnet,lasagne_cnn"


def write_results(rows, gflops) -> None:
    each = "2 threads each" if THREADS == "2" else f"{THREADS} thread(s) each"
    heading = "## numpy backend vs PyTorch CPU (bench/bench_nets.py)" if THREADS == "2" else \
        f"## numpy backend vs PyTorch CPU, {each} (bench/bench_nets.py --threads {THREADS})"
    lines = [heading, "",
             f"Batch 128, float32, {each}, medians over alternating blocks; "
             f"sgemm {gflops:.1f} GFLOP/s; {time.strftime('%Y-%m-%d %H:%M')}, load average "
             f"{os.getloadavg()[0]:.1f} at the end. Ratios are layerkit / PyTorch (lower is "
             "better).", "",
             "| net | train ms | torch train ms | ratio | infer ms | torch infer ms | ratio | "
             "floor ms | mem MB (lk / torch) | build + compile ms | train compile ms | "
             "first call ms (lk / torch) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for net, row, err in rows:
        if row is None:
            lines.append(f"| {net} | not measured: {err} | | | | | | | |")
            continue
        lk, pt = row["lk"], row["pt"]
        lines.append(f"| {net} | {lk['train_ms']:.2f} | {pt['train_ms']:.2f} | "
                     f"{lk['train_ms'] / pt['train_ms']:.2f} | {lk['infer_ms']:.2f} | "
                     f"{pt['infer_ms']:.2f} | {lk['infer_ms'] / pt['infer_ms']:.2f} | "
                     f"{row['floor']:.2f} | {lk['mem_mb']:.0f} / {pt['mem_mb']:.0f} | "
                     f"{lk['compile_ms']:.0f} | {lk['train_compile_ms']:.0f} | "
                     f"{lk['first_ms']:.1f} / {pt['first_ms']:.1f} |")
    _replace_section(HERE / "RESULTS.md", lines[0], "\n".join(lines) + "\n")


def _replace_section(path: Path, heading: str, text: str) -> None:
    old = path.read_text() if path.exists() else "# Benchmark results\n\n"
    parts = old.split("\n## ")
    kept = [p for p in parts if not ("## " + p).startswith(heading) and not p.startswith(heading)]
    new = "\n## ".join(kept).rstrip() + "\n\n" + text
    path.write_text(new)


if __name__ == "__main__":
    raise SystemExit(main())
