"""Per-op profiles of the conv nets (issue 20): where a step of the numpy backend goes.

    python bench/profile_nets.py [--nets convnet,lasagne_cnn] [--steps 10] [--blocks 3]
                                 [--json out.json] [--write]
    python bench/profile_nets.py --before /tmp/before [--rounds 2] [--write]

The nets are bench/nets.py's (the same builder bench_nets.py times), compiled
twice: as usual and with ``profile=True``. One BLAS thread (threadpoolctl and
the *_NUM_THREADS variables). After a warm-up, ``--blocks`` blocks alternate
``--steps`` plain steps with ``--steps`` profiled ones; the tables give each
op's calls and milliseconds per step from the profiled steps, its share of the
profiled step, what the step spends outside the ops' kernels (dispatch,
updates, the timer itself), and the plain step's time for comparison.

The first form profiles whatever layerkit is on the import path and prints the
tables. ``--before DIR`` compares two checkouts of the library: it runs the
first form in subprocesses, alternately with DIR's layerkit and numpy plugin
on the import path ("before") and with this checkout's or ``--after DIR2``'s
("after"; a worktree of HEAD keeps others' uncommitted edits out), waits for a
quiet moment before each run (``--quiet``), checks from the printed module
paths that each run imported the library it was meant to, and reports per-op
medians over the rounds and the step times' medians and ranges.

The worker only uses what layerkit already had before issue 20:
``function(..., profile=True)`` and ``Function.profile_stats`` (op name ->
[seconds, calls]); a library without them gets its plain step times only.
``--per-node`` (first form) also prints a table per node, through the
emitter's private ``_timed`` (ordinals in link order). ``--write`` puts the
section "Per-op profiles of the conv nets" into bench/RESULTS.md (bench_nets.py's
section writer; the section is replaced), ``--from-json`` rewrites it from a
``--before`` run's ``--json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONV_NETS = "convnet,lasagne_cnn"
HEADING = "## Per-op profiles of the conv nets (bench/profile_nets.py)"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TOP = {"train": 12, "infer": 6}


# -- the worker: one library, the nets profiled in this process ------------------------

def _op_key(name: str) -> str:
    """Group an op's name across nodes and processes: random streams differ only by key."""
    return re.sub(r"\{key=0x[0-9a-f]+\}", "", name)


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _library_info() -> dict:
    import layerkit
    import layerkit.backend
    backend = layerkit.backend.get_backend("numpy")
    plugin = sys.modules.get(type(backend).__module__)
    kernels = sorted({getattr(sys.modules.get(m), "__file__", None) or m
                      for m in sys.modules if m.startswith("layerkit_numpy")})
    root = Path(layerkit.__file__).resolve().parent.parent
    status = _git(root, "status", "--porcelain", "--", "layerkit", "plugins/numpy_backend")
    return {"layerkit": layerkit.__file__,
            "backend_module": getattr(plugin, "__file__", None),
            "numpy_plugin_files": [k for k in kernels if k and k.endswith(".py")],
            "root": str(root), "commit": _git(root, "rev-parse", "--short", "HEAD"),
            "dirty": bool(status)}


def _node_label(node, ordinal: int) -> str:
    """An op's name, its ordinal among the nodes of that op, the shapes of its shared inputs."""
    shapes = []
    for v in node.inputs:
        value = getattr(v, "get_value", None)
        if value is not None:
            try:
                shapes.append("x".join(map(str, value(borrow=True).shape)) or "scalar")
            except Exception:  # noqa: BLE001 - a label only
                pass
    name = str(node.op)
    name = name if len(name) <= 56 else name[:53] + "..."
    return f"{name} #{ordinal}" + (f" [shared {', '.join(shapes)}]" if shapes else "")


def _capture_functions(profile: bool, build, per_node: bool = False):
    """Run ``build()`` with every compiled Function recorded (and profiled if asked).

    ``per_node``: each profiled node also gets its own stats, kept as
    ``fn._profile_nodes`` = [(label, {op: [seconds, calls]})] (through the
    emitter's private ``_timed``; without it, nothing per node)."""
    import layerkit.core  # noqa: F401 - `layerkit.core.function` is the function there
    cls = sys.modules["layerkit.core.function"].Function
    emit = sys.modules.get("layerkit.core.emit")
    made, nodes = [], []
    init, timed = cls.__init__, getattr(emit, "_timed", None)

    def recording_init(self, *a, **k):
        start = len(nodes)
        try:
            init(self, *a, **dict(k, profile=profile))
        except TypeError as err:     # a library without profiling: plain functions
            if "profile" not in str(err):
                raise
            init(self, *a, **k)
        self._profile_nodes = nodes[start:]
        made.append(self)

    def node_timed(thunk, node, stats):
        own: dict = {}
        nodes.append((node, own))
        return timed(timed(thunk, node, own), node, stats)
    cls.__init__ = recording_init
    if per_node and timed is not None:
        emit._timed = node_timed
    try:
        result = build()
    finally:
        cls.__init__ = init
        if timed is not None:
            emit._timed = timed
    for fn in made:
        seen: dict[str, int] = {}
        labelled = []
        for node, own in fn._profile_nodes:
            k = seen[str(node.op)] = seen.get(str(node.op), -1) + 1
            labelled.append((_node_label(node, k), own))
        fn._profile_nodes = labelled
    return result, made


def _block(fn, args, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        fn(*args)
    return (time.perf_counter() - t) / steps * 1e3


def profile_net(net: str, steps: int, blocks: int, warmup: int = 3,
                per_node: bool = False) -> dict:
    sys.path.insert(0, str(HERE))
    import nets
    X, y = nets.data(net)
    (train, predict), _ = _capture_functions(False, lambda: nets.layerkit_net(net))
    (ptrain, ppredict), made = _capture_functions(True, lambda: nets.layerkit_net(net), per_node)
    # nets.layerkit_net compiles the train function first, then the inference one
    compiled = {"train": made[0] if made else None, "infer": made[1] if len(made) > 1 else None}
    calls = {"train": ((train, (X, y)), (ptrain, (X, y))),
             "infer": ((predict, (X,)), (ppredict, (X,)))}
    for _ in range(warmup):
        for plain, profiled in calls.values():
            plain[0](*plain[1])
            profiled[0](*profiled[1])
    out = {}
    for kind, ((plain, args), (profiled, _)) in calls.items():
        stats = getattr(compiled[kind], "profile_stats", None)
        node_stats = getattr(compiled[kind], "_profile_nodes", [])
        for d in [stats or {}] + [own for _, own in node_stats]:
            d.clear()
        plain_ms, profiled_ms = [], []
        for _ in range(blocks):
            plain_ms.append(_block(plain, args, steps))
            profiled_ms.append(_block(profiled, args, steps))
        total = steps * blocks
        ops: dict[str, list[float]] = {}
        for name, (seconds, n) in (stats or {}).items():
            entry = ops.setdefault(_op_key(name), [0.0, 0.0])
            entry[0] += seconds * 1e3 / total
            entry[1] += n / total
        out[kind] = {"plain_ms": plain_ms, "profiled_ms": profiled_ms, "ops": ops,
                     "profiled": stats is not None}
        if node_stats:
            out[kind]["nodes"] = {label: [sum(t for t, _ in own.values()) * 1e3 / total,
                                          sum(n for _, n in own.values()) / total]
                                  for label, own in node_stats}
    return out


def worker(nets_: list[str], steps: int, blocks: int, per_node: bool = False) -> dict:
    import numpy  # noqa: F401 - loads the BLAS that threadpoolctl then limits
    from threadpoolctl import threadpool_info, threadpool_limits
    threadpool_limits(1)
    info = _library_info()
    result = {"library": info, "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "blas": [(p.get("internal_api"), p.get("num_threads")) for p in threadpool_info()],
              "load_start": os.getloadavg(), "steps": steps, "blocks": blocks, "nets": {}}
    for net in nets_:
        result["nets"][net] = profile_net(net, steps, blocks, per_node=per_node)
    result["load_end"] = os.getloadavg()
    return result


# -- tables ------------------------------------------------------------------------------

def _cell(name: str, width: int = 80) -> str:
    name = name if len(name) <= width else name[:width - 3] + "..."
    return "`" + name.replace("|", "\\|").replace("`", "'") + "`"


def outside_ms(r: dict, key: str = "ops") -> float:
    """The profiled step's mean time less its ops' (dispatch, updates, the timers)."""
    return statistics.fmean(r["profiled_ms"]) - sum(ms for ms, _ in r[key].values())


def table(ops: dict, outside: float, top: int) -> list[str]:
    """Markdown rows: the ``top`` ops by time, "other", the time outside the ops, and
    the step they add up to."""
    rows = sorted(ops.items(), key=lambda kv: -kv[1][0])
    step_ms = sum(r[1][0] for r in rows) + outside
    lines = ["| op | calls per step | ms per step | % of step |", "|---|---|---|---|"]
    for name, (ms, n) in rows[:top]:
        lines.append(f"| {_cell(name)} | {n:g} | {ms:.2f} | {100 * ms / step_ms:.1f} |")
    rest = rows[top:]
    if rest:
        ms, n = sum(r[1][0] for r in rest), sum(r[1][1] for r in rest)
        lines.append(f"| other ({len(rest)} ops) | {n:g} | {ms:.2f} | {100 * ms / step_ms:.1f} |")
    lines.append(f"| outside the ops (dispatch, updates, timers) | | {outside:.2f} | "
                 f"{100 * outside / step_ms:.1f} |")
    lines.append(f"| **profiled step** (the rows' sum) | | **{step_ms:.2f}** | 100 |")
    return lines


def _fmt_range(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms ({min(values):.1f}-{max(values):.1f})"


def print_run(result: dict) -> None:
    lib = result["library"]
    print(f"layerkit {lib['layerkit']} (commit {lib['commit']}{', dirty' if lib['dirty'] else ''})")
    print(f"numpy backend {lib['backend_module']}; BLAS {result['blas']}; "
          f"load {result['load_start'][0]:.2f} -> {result['load_end'][0]:.2f}")
    for net, kinds in result["nets"].items():
        for kind, r in kinds.items():
            print(f"\n### {net}, {'train step' if kind == 'train' else 'inference'}: "
                  f"plain {_fmt_range(r['plain_ms'])}, profiled {_fmt_range(r['profiled_ms'])}\n")
            if r["profiled"]:
                print("\n".join(table(r["ops"], outside_ms(r), TOP[kind])))
                if r.get("nodes"):
                    print("\nper node (timer inside the op's timer; ordinals in link order):\n")
                    print("\n".join(table(r["nodes"], outside_ms(r, "nodes"), TOP[kind])))
            else:
                print("(this library has no profile_stats: step times only)")


# -- before / after --------------------------------------------------------------------------

def _cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPUs busy over ``seconds`` (from /proc/stat)."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = read()
    time.sleep(seconds)
    t1, i1 = read()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit: float, max_wait: float) -> float:
    """Wait until the CPUs are less than ``limit`` busy (at most ``max_wait`` s)."""
    deadline = time.time() + max_wait
    while True:
        busy = _cpu_busy(2.0)
        if busy < limit or time.time() > deadline:
            return busy


def run_library(root: Path, nets_: str, steps: int, blocks: int) -> dict:
    env = dict(os.environ, **{v: "1" for v in THREAD_VARS})
    env["PYTHONPATH"] = os.pathsep.join(
        [str(root), str(root / "plugins" / "numpy_backend" / "src")]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        proc = subprocess.run([sys.executable, __file__, "--nets", nets_, "--steps", str(steps),
                               "--blocks", str(blocks), "--json", str(out), "--quiet-output"],
                              capture_output=True, text=True, env=env, cwd=tmp)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip()[-2000:])
        result = json.loads(out.read_text())
    lib = result["library"]
    for path in [lib["layerkit"], lib["backend_module"]] + lib["numpy_plugin_files"]:
        if path and not Path(path).resolve().is_relative_to(root.resolve()):
            raise RuntimeError(f"the run meant for {root} imported {path}")
    return result


def aggregate(runs: list[dict]) -> dict:
    """Per net and function: per-op medians over the runs, all blocks' step times."""
    agg: dict = {}
    for net in runs[0]["nets"]:
        agg[net] = {}
        for kind in runs[0]["nets"][net]:
            rs = [r["nets"][net][kind] for r in runs]
            names = {n for r in rs for n in r["ops"]}
            ops = {n: [statistics.median(r["ops"].get(n, [0.0, 0.0])[0] for r in rs),
                       statistics.median(r["ops"].get(n, [0.0, 0.0])[1] for r in rs)]
                   for n in names}
            agg[net][kind] = {
                "plain_ms": [v for r in rs for v in r["plain_ms"]],
                "profiled_ms": [v for r in rs for v in r["profiled_ms"]],
                "outside_ms": statistics.median(outside_ms(r) for r in rs),
                "ops": ops, "profiled": all(r["profiled"] for r in rs)}
    return agg


def compare(args) -> dict:
    before, after = Path(args.before).resolve(), Path(args.after or ROOT).resolve()
    runs: dict[str, list] = {"before": [], "after": []}
    loads = []
    for _ in range(args.rounds):
        for label, root in (("before", before), ("after", after)):
            busy = wait_quiet(args.quiet, args.max_wait)
            load = os.getloadavg()[0]
            r = run_library(root, args.nets, args.steps, args.blocks)
            r["busy_before"], r["label"] = busy, label
            runs[label].append(r)
            loads.append((busy, load, r["load_end"][0]))
            lib = r["library"]
            print(f"{label}: commit {lib['commit']}{' (dirty)' if lib['dirty'] else ''}, "
                  f"layerkit {lib['layerkit']}, plugin {lib['backend_module']}; CPUs "
                  f"{100 * busy:.0f} % busy before, load {load:.2f} -> {r['load_end'][0]:.2f}; "
                  + ", ".join(f"{net} train {statistics.median(k['train']['plain_ms']):.1f} ms"
                              f" (profiled {statistics.median(k['train']['profiled_ms']):.1f})"
                              for net, k in r["nets"].items()), flush=True)
    return {"runs": runs, "agg": {label: aggregate(rs) for label, rs in runs.items()},
            "loads": loads, "before_root": str(before)}


def section(cmp: dict, args) -> str:
    runs, agg = cmp["runs"], cmp["agg"]
    labels = list(runs)
    busy = [x[0] for x in cmp["loads"] if x[0] is not None]
    load = [v for x in cmp["loads"] for v in x[1:]]
    dates = sorted(r["date"] for rs in runs.values() for r in rs)
    date = dates[0][:16].replace("T", " ") + (f" to {dates[-1][11:16]}" if len(dates) > 1 else "")
    libs = {label: rs[0]["library"] for label, rs in runs.items()}
    if labels == ["before", "after"]:
        sessions = cmp.get("sessions", 1)
        how = (f"{args.rounds} runs each of before and after, interleaved (before, after, ...)"
               f"{f' in {sessions} sessions' if sessions > 1 else ''}, each ")
        which = (f"Before: `{libs['before']['commit']}` (`f9831e0^`, the parent of issue 20's "
                 f"first commit, as a worktree); after: `{libs['after']['commit']}`"
                 f"{' with uncommitted edits' if libs['after']['dirty'] else ''}"
                 f"{' (a worktree of it)' if Path(libs['after']['root']) != ROOT else ''}. ")
    else:
        how = "one run of "
        which = (f"Library: `{libs[labels[0]]['commit']}`"
                 f"{' with uncommitted edits' if libs[labels[0]]['dirty'] else ''}. ")
    quiet = (f"the CPUs were {100 * min(busy):.0f}-{100 * max(busy):.0f} % busy (both cores) "
             "when each run started, " if busy else "")
    lines = [HEADING, "",
             f"{date}; numpy backend, batch 128, float32, **1 BLAS thread**, one process per run; "
             f"{how}{args.blocks} blocks of {args.steps} plain steps alternating with "
             f"{args.steps} profiled ones after a warm-up. {which}"
             f"Load: {quiet}1-minute load average {min(load):.2f}-{max(load):.2f} at the runs' "
             "starts and ends (a run itself adds 1; this machine's 2 cores are shared).", "",
             "Op rows: medians over the runs of each op's milliseconds and calls per step "
             "(`profile=True`, `Function.profile_stats`, averaged over a run's profiled steps); "
             "\"outside the ops\" is the median over the runs of the profiled step's mean less "
             "its ops (Python dispatch, updates, the timers); the profiled step row is the "
             "rows' sum and the % are of it. Step times: median (min-max) over all blocks of "
             "all runs.", ""]
    first = agg[labels[0]]
    head = "| net | function | " + " | ".join(f"plain step {lb}" for lb in labels)
    rule = "|---|---|" + "---|" * len(labels)
    if len(labels) == 2:
        head += f" | {labels[1]} / {labels[0]}"
        rule += "---|"
    head += " | " + " | ".join(f"profiled step {lb}" for lb in labels) + " |"
    rule += "---|" * len(labels)
    lines += [head, rule]
    for net in first:
        for kind in first[net]:
            rs = [agg[lb][net][kind] for lb in labels]
            row = f"| {net} | {'train' if kind == 'train' else 'inference'} | " + " | ".join(
                _fmt_range(r["plain_ms"]) for r in rs)
            if len(rs) == 2:
                ratio = statistics.median(rs[1]["plain_ms"]) / statistics.median(rs[0]["plain_ms"])
                row += f" | {ratio:.2f}"
            lines.append(row + " | " + " | ".join(_fmt_range(r["profiled_ms"]) for r in rs) + " |")
    for net in first:
        for kind in first[net]:
            for label in labels:
                r = agg[label][net][kind]
                what = "train step" if kind == "train" else "inference"
                lines += ["", f"**{net}, {what}, {label}** (`{libs[label]['commit']}`)", ""]
                if r["profiled"]:
                    lines += table(r["ops"], r["outside_ms"], TOP[kind])
                else:
                    lines.append("(no profile_stats in this library)")
    if args.summary:
        lines += ["", args.summary.replace("\\n", "\n")]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    sys.path.insert(0, str(HERE))
    from bench_nets import _replace_section
    _replace_section(HERE / "RESULTS.md", HEADING, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default=CONV_NETS)
    parser.add_argument("--steps", type=int, default=10, help="steps per block")
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--json", help="write the raw figures here")
    parser.add_argument("--write", action="store_true",
                        help="put the section into bench/RESULTS.md (replaced if present)")
    parser.add_argument("--before", help="a checkout of the library to compare against")
    parser.add_argument("--after", help="with --before: the checkout to compare (default: this one)")
    parser.add_argument("--rounds", type=int, default=2, help="with --before: runs of each")
    parser.add_argument("--quiet", type=float, default=0.35,
                        help="with --before: start a run once the CPUs are less busy than this")
    parser.add_argument("--max-wait", type=float, default=300.0,
                        help="with --before: seconds to wait for a quiet moment at most")
    parser.add_argument("--summary", default="", help="with --write: closing lines")
    parser.add_argument("--from-json",
                        help="the tables from --before runs' --json files (comma-separated)")
    parser.add_argument("--per-node", action="store_true",
                        help="also a table per node (first form, printed only)")
    parser.add_argument("--quiet-output", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.before or args.from_json:
        if args.from_json:
            parts = [json.loads(Path(f).read_text()) for f in args.from_json.split(",")]
            if len({(p["args"]["steps"], p["args"]["blocks"]) for p in parts}) > 1:
                raise SystemExit("--from-json: the runs differ in --steps or --blocks")
            cmp = {"runs": {label: [r for p in parts for r in p["runs"][label]]
                            for label in parts[0]["runs"]},
                   "loads": [x for p in parts for x in p["loads"]], "sessions": len(parts)}
            cmp["agg"] = {label: aggregate(rs) for label, rs in cmp["runs"].items()}
            args.steps, args.blocks = parts[0]["args"]["steps"], parts[0]["args"]["blocks"]
            args.rounds = sum(p["args"]["rounds"] for p in parts)
        else:
            cmp = compare(args)
            cmp["args"] = {k: getattr(args, k) for k in ("rounds", "steps", "blocks", "nets")}
            if args.json:
                Path(args.json).write_text(json.dumps(cmp, indent=1))
        text = section(cmp, args)
        print("\n" + text)
        if args.write:
            write_section(text)
        return 0
    for var in THREAD_VARS:     # for BLAS libraries loaded after this point
        os.environ.setdefault(var, "1")
    result = worker(args.nets.split(","), args.steps, args.blocks, args.per_node)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if not args.quiet_output:
        print_run(result)
    if args.write:
        args.rounds = 1
        cmp = {"runs": {"current": [result]}, "agg": {"current": aggregate([result])},
               "loads": [(None, result["load_start"][0], result["load_end"][0])]}
        write_section(section(cmp, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
