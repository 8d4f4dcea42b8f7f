"""layerkit's cupy backend against PyTorch CUDA on the same GPU (issue 12).

    python3 bench/bench_cupy.py [--nets mlp_old,convnet] [--batches 128,512]
                                [--steps 30] [--blocks 5] [--results bench/RESULTS.md]
    python3 bench/bench_cupy.py --merge RETURNED_RESULTS.md    # copy a device run's section home

The nets are bench/nets.py's (the layerkit graphs as the seeds write them; the
PyTorch models and optimizers of ``nets.torch_net``, moved to the GPU), in float32
at each batch size. Data lives on the GPU for both. After a warm-up (which also
compiles cupy's and layerkit's kernels), blocks of steps alternate between the
two frameworks, each block timed with CUDA events on the framework's stream;
the median per-step time is reported, in two modes:

* ``sync``: the loss comes back to the host every step, as the seeds' scripts
  do (layerkit's default numpy results; PyTorch's ``loss.item()``);
* ``async``: it stays on the device (``on_device=True``; no ``.item()``), so the
  host can run ahead of the GPU.

TF32 is off on both sides (cupy's default; ``allow_tf32 = False`` in PyTorch),
cuDNN autotuning is PyTorch's default (off). Before timing, each layerkit net is
checked against the numpy backend on the same initial weights: the first loss
(nets without dropout) and the untrained predictions must agree.

Writes the section "cupy backend vs PyTorch CUDA" of ``--results``.
Targets (issue 12): MLP train steps <= 1.2x PyTorch CUDA, conv-net train steps <= 2x.
"""
from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
HEADING = "## cupy backend vs PyTorch CUDA (bench/bench_cupy.py)"
TARGET = {"logreg": 1.2, "mlp_old": 1.2, "mlp_modern": 1.2, "convnet": 2.0, "lasagne_cnn": 2.0}
DROPOUT = {"mlp_modern", "convnet", "lasagne_cnn"}


def data(net: str, batch: int, seed: int = 0):
    import nets
    rng = np.random.RandomState(seed)
    X = rng.rand(batch, *nets.INPUT[net]).astype("float32")
    y = rng.randint(0, 10, batch).astype("int64")
    return X, y


@contextlib.contextmanager
def _on_device_functions():
    """``theano.function`` with ``on_device=True`` while bench/nets.py builds a net."""
    import layerkit.core as core
    original = core.function

    def function(*args, **kwargs):
        kwargs.setdefault("on_device", True)
        return original(*args, **kwargs)
    core.function = function
    try:
        yield
    finally:
        core.function = original


def layerkit_cupy_net(net: str):
    import nets
    with _on_device_functions():
        return nets.layerkit_net(net, backend="cupy")


def torch_cuda_net(net: str):
    """``nets.torch_net``'s model and optimizer, on the GPU, with device-side steps."""
    import nets
    import torch
    import torch.nn.functional as F

    train_cpu, _ = nets.torch_net(net)
    closure = inspect.getclosurevars(train_cpu).nonlocals
    model, opt = closure["model"], closure["opt"]
    model.cuda()           # moves the parameters in place: the optimizer keeps them

    def train(x, y):
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def predict(x):
        model.eval()
        with torch.no_grad():
            return model(x).argmax(dim=1)
    return train, predict


def check_against_numpy(net: str, batch: int) -> str:
    """The cupy net and the numpy net from the same initial weights: first loss (no
    dropout) and untrained predictions."""
    import cupy as cp
    import nets
    X, y = data(net, batch)
    train_n, predict_n = nets.layerkit_net(net, backend="numpy")
    train_c, predict_c = layerkit_cupy_net(net)
    agree = float(np.mean(cp.asnumpy(predict_c(cp.asarray(X))) == predict_n(X)))
    notes = [f"predictions agree {agree:.1%}"]
    ok = agree >= 0.99
    if net not in DROPOUT:
        lc, ln = float(cp.asnumpy(train_c(cp.asarray(X), cp.asarray(y)))), float(train_n(X, y))
        rel = abs(lc - ln) / max(abs(ln), 1e-12)
        notes.append(f"first loss {lc:.6f} vs numpy {ln:.6f}")
        ok = ok and rel < 1e-4
    return ("ok: " if ok else "MISMATCH: ") + ", ".join(notes)


def _time_block(kind: str, fn, steps: int, sync: bool) -> float:
    """Milliseconds per step over one block, by CUDA events on the framework's stream."""
    if kind == "torch":
        import torch
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            out = fn()
            if sync:
                out.item()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / steps
    import cupy as cp
    start, end = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    for _ in range(steps):
        out = fn()
        if sync:
            cp.asnumpy(out)
    end.record()
    end.synchronize()
    return cp.cuda.get_elapsed_time(start, end) / steps


def sgemm_tflops() -> float:
    """float32 GEMM rate through cupy (cuBLAS, no TF32), 8192^3, median of 5."""
    import cupy as cp
    a = cp.random.rand(8192, 8192, dtype=cp.float32)
    b = cp.random.rand(8192, 8192, dtype=cp.float32)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(5):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        a @ b
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end))
    return 2 * 8192**3 / (statistics.median(times) * 1e-3) / 1e12


def measure(net: str, batch: int, steps: int, blocks: int, warmup: int) -> dict:
    import cupy as cp
    import torch
    X, y = data(net, batch)
    xc, yc = cp.asarray(X), cp.asarray(y)
    xt, yt = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
    t0 = time.perf_counter()
    lk_train, lk_predict = layerkit_cupy_net(net)
    compile_ms = (time.perf_counter() - t0) * 1e3
    pt_train, pt_predict = torch_cuda_net(net)
    fns = {
        ("layerkit", "train"): lambda: lk_train(xc, yc),
        ("layerkit", "infer"): lambda: lk_predict(xc),
        ("torch", "train"): lambda: pt_train(xt, yt),
        ("torch", "infer"): lambda: pt_predict(xt),
    }
    t0 = time.perf_counter()
    for (fw, what), fn in fns.items():
        for _ in range(warmup):
            fn()
        if fw == "layerkit" and what == "train":
            cp.cuda.Device().synchronize()
            first_ms = (time.perf_counter() - t0) * 1e3   # warm-up incl. kernel compiles
    cp.cuda.Device().synchronize()
    torch.cuda.synchronize()
    times: dict = {}
    for _ in range(blocks):
        for (fw, what), fn in fns.items():
            for sync in (True, False):
                times.setdefault((fw, what, sync), []).append(
                    _time_block(fw, fn, steps, sync))
    row = {"net": net, "batch": batch, "compile_ms": compile_ms, "warmup_ms": first_ms}
    for (fw, what, sync), ts in times.items():
        row[f"{fw}_{what}_{'sync' if sync else 'async'}_ms"] = statistics.median(ts)
    return row


def write_results(path: Path, rows, meta) -> None:
    lines = [HEADING, "",
             f"{meta['gpu']}; cupy {meta['cupy']}, torch {meta['torch']}, CUDA runtime "
             f"{meta['cuda']}; float32, TF32 off; cuBLAS sgemm {meta['tflops']:.1f} TFLOP/s. "
             f"Medians of {meta['blocks']} blocks of {meta['steps']} steps, CUDA events, after "
             f"{meta['warmup']} warm-up steps; inputs on the GPU. **sync**: the loss comes back "
             f"to the host every step (layerkit's default numpy result, PyTorch's `.item()`); "
             f"**async**: it stays on the device (`on_device=True`, no `.item()`). Ratio = "
             f"layerkit / PyTorch; target: MLPs <= 1.2, conv nets <= 2.0 (train, sync). "
             f"floor: 3 x forward FLOPs at the sgemm rate.", "",
             "| net | batch | train ms sync (lk / torch) | ratio | train ms async (lk / torch) "
             "| ratio | infer ms (lk / torch) | floor ms | target | check |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['net']} | {r['batch']} | not measured: {r['error']} "
                         f"| | | | | | | |")
            continue
        rs = r["layerkit_train_sync_ms"] / r["torch_train_sync_ms"]
        ra = r["layerkit_train_async_ms"] / r["torch_train_async_ms"]
        met = "met" if rs <= TARGET[r["net"]] else "MISSED"
        lines.append(
            f"| {r['net']} | {r['batch']} | {r['layerkit_train_sync_ms']:.3f} / "
            f"{r['torch_train_sync_ms']:.3f} | {rs:.2f} | {r['layerkit_train_async_ms']:.3f} / "
            f"{r['torch_train_async_ms']:.3f} | {ra:.2f} | {r['layerkit_infer_sync_ms']:.3f} / "
            f"{r['torch_infer_sync_ms']:.3f} | {r['floor_ms']:.3f} | <= {TARGET[r['net']]} "
            f"{met} | {r.get('check', '')} |")
    lines.append("")
    lines.append("layerkit compile times (ms, graph to callable; kernels compile in the warm-up): "
                 + ", ".join(f"{r['net']}@{r['batch']} {r['compile_ms']:.0f}"
                             for r in rows if "compile_ms" in r))
    replace_section(path, HEADING, "\n".join(lines) + "\n")


def replace_section(path: Path, heading: str, text: str) -> None:
    """Replace the section starting with ``heading`` or append it (bench_nets' writer)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from bench_nets import _replace_section
    _replace_section(path, heading, text)


def merge(returned: Path, results: Path) -> int:
    text = returned.read_text()
    if HEADING not in text:
        print(f"{returned} has no section {HEADING!r}", file=sys.stderr)
        return 1
    section = text[text.index(HEADING):]
    nxt = section.find("\n## ", len(HEADING))
    section = section if nxt < 0 else section[:nxt + 1]
    replace_section(results, HEADING, section.rstrip() + "\n")
    print(f"merged {returned}'s section into {results}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="logreg,mlp_old,mlp_modern,convnet,lasagne_cnn")
    parser.add_argument("--batches", default="128,512")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--results", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--json", help="also write the raw numbers here")
    parser.add_argument("--no-check", action="store_true", help="skip the numpy comparison")
    parser.add_argument("--merge", help="copy this file's cupy section into --results, and stop")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(Path(args.merge), Path(args.results))
    sys.path.insert(0, str(HERE))
    import cupy as cp
    import torch
    import nets
    import layerkit.backend
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    backend = layerkit.backend.get_backend("cupy")      # unavailable: says why, and stops
    tflops = sgemm_tflops()
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    meta = {"gpu": gpu, "cupy": cp.__version__, "torch": torch.__version__,
            "cuda": cp.cuda.runtime.runtimeGetVersion(), "tflops": tflops, "steps": args.steps,
            "blocks": args.blocks, "warmup": args.warmup, "device": backend.device}
    print(f"{backend.device}; sgemm {tflops:.1f} TFLOP/s", flush=True)
    rows = []
    for net in args.nets.split(","):
        check = ""
        if not args.no_check:
            try:
                check = check_against_numpy(net, 128)
            except Exception as err:   # report, go on
                check = f"check failed: {type(err).__name__}: {err}"
            print(f"{net:<12} {check}", flush=True)
        for batch in (int(b) for b in args.batches.split(",")):
            try:
                row = measure(net, batch, args.steps, args.blocks, args.warmup)
            except Exception as err:   # a missing kernel, out of memory: report, go on
                row = {"net": net, "batch": batch, "error": f"{type(err).__name__}: {err}"}
                print(f"{net:<12} {batch:>4} not measured: {row['error']}", flush=True)
                rows.append(row)
                continue
            row["floor_ms"] = 3 * nets.flops(net) * batch / nets.BATCH / (tflops * 1e12) * 1e3
            row["check"] = check
            rows.append(row)
            print(f"{net:<12} {batch:>4} train sync {row['layerkit_train_sync_ms']:.3f} vs "
                  f"{row['torch_train_sync_ms']:.3f} ms (x"
                  f"{row['layerkit_train_sync_ms'] / row['torch_train_sync_ms']:.2f}), async "
                  f"{row['layerkit_train_async_ms']:.3f} vs {row['torch_train_async_ms']:.3f} "
                  f"(x{row['layerkit_train_async_ms'] / row['torch_train_async_ms']:.2f}), infer "
                  f"{row['layerkit_infer_sync_ms']:.3f} vs {row['torch_infer_sync_ms']:.3f}, "
                  f"floor {row['floor_ms']:.3f}", flush=True)
    write_results(Path(args.results), rows, meta)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote the section {HEADING!r} of {args.results}")
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
