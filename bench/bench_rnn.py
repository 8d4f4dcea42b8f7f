"""Recurrent nets (issue 19's figures): an LSTM train step against PyTorch CPU's
``nn.LSTM``, the per-step overhead of ``scan``, and the LSTM's compile time.

    python bench/bench_rnn.py [--repeats 7] [--no-write]

The LSTM: input 128, hidden 256, 100 steps, batch 64, float32, one SGD step
(forward, back-propagation through time, update) on the cost
``mean(h_T^2) + mean(h^2)``. layerkit runs it three ways — Lasagne's
``LSTMLayer`` (a scan), the same with ``unroll_scan=True`` (100 copies of the
step in one graph), and a hand-written ``theano.scan`` step — and PyTorch runs
``nn.LSTM`` with ``torch.optim.SGD``. Steps are timed in alternating blocks
(layerkit, PyTorch, layerkit, ...) so that both see the same moments of this
shared machine; the table gives medians and the range of the per-block ratios.
The empty scan: ``scan(lambda h: h + 1, n_steps=N)`` on a 4-float state, per step.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import layerkit.core as theano
import layerkit.core.tensor as T

I, H, S, B = 128, 256, 100, 64


def lstm_layer_step(unroll: bool = False):
    """Lasagne's LSTMLayer (0.2's defaults) and an SGD step, compiled; and the compile ms."""
    import layerkit as lasagne
    x = T.tensor3("x", dtype="float32")
    l_in = lasagne.layers.InputLayer((B, S, I), input_var=x)
    l_lstm = lasagne.layers.LSTMLayer(l_in, H, unroll_scan=unroll)
    hs = lasagne.layers.get_output(l_lstm)
    cost = T.mean(hs[:, -1] ** 2) + T.mean(hs ** 2)
    params = lasagne.layers.get_all_params(l_lstm, trainable=True)
    updates = lasagne.updates.sgd(cost, params, 0.01)
    t = time.perf_counter()
    f = theano.function([x], cost, updates=updates)
    return f, (time.perf_counter() - t) * 1e3, "batch-major"


def scan_lstm_step():
    """The same LSTM written by hand on theano.scan (input projection before the loop)."""
    rng = np.random.default_rng(0)
    w = theano.shared((rng.standard_normal((I, 4 * H)) * 0.05).astype("float32"))
    u = theano.shared((rng.standard_normal((H, 4 * H)) * 0.05).astype("float32"))
    b = theano.shared(np.zeros(4 * H, "float32"))
    x = T.tensor3("x", dtype="float32")

    def step(xw_t, h, c, u):
        z = xw_t + T.dot(h, u)
        i, f = T.nnet.sigmoid(z[:, :H]), T.nnet.sigmoid(z[:, H:2 * H])
        g, o = T.tanh(z[:, 2 * H:3 * H]), T.nnet.sigmoid(z[:, 3 * H:])
        c = f * c + i * g
        return [o * T.tanh(c), c]
    h0 = T.zeros((B, H), dtype="float32")
    (hs, _), _ = theano.scan(step, sequences=T.dot(x, w) + b, outputs_info=[h0, h0],
                             non_sequences=[u], strict=True)
    cost = T.mean(hs[-1] ** 2) + T.mean(hs ** 2)
    params = [w, u, b]
    t = time.perf_counter()
    f = theano.function([x], cost, updates=[(p, p - 0.01 * g)
                                            for p, g in zip(params, T.grad(cost, params))])
    return f, (time.perf_counter() - t) * 1e3, "time-major"


def torch_step():
    import torch
    torch.manual_seed(0)
    model = torch.nn.LSTM(I, H)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step(x):
        opt.zero_grad()
        out, _ = model(x)
        loss = (out[-1] ** 2).mean() + (out ** 2).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def compare(make, repeats: int):
    """Median step ms of layerkit and torch (alternating blocks), the ratio range."""
    import torch
    f, compile_ms, layout = make()
    rng = np.random.default_rng(1)
    x_tm = rng.standard_normal((S, B, I)).astype("float32")
    x_lk = np.ascontiguousarray(x_tm.transpose(1, 0, 2)) if layout == "batch-major" else x_tm
    t = time.perf_counter()
    f(x_lk)
    first_ms = (time.perf_counter() - t) * 1e3
    tstep, xt = torch_step(), torch.from_numpy(x_tm)
    tstep(xt)
    lk, th, ratios = [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(2):
            f(x_lk)
        a = (time.perf_counter() - t) / 2 * 1e3
        t = time.perf_counter()
        for _ in range(2):
            tstep(xt)
        b = (time.perf_counter() - t) / 2 * 1e3
        lk.append(a)
        th.append(b)
        ratios.append(a / b)
    return dict(layerkit=statistics.median(lk), torch=statistics.median(th),
                ratio=statistics.median(ratios), lo=min(ratios), hi=max(ratios),
                compile_ms=compile_ms, first_ms=first_ms)


def empty_scan_us(n_steps: int = 2000, repeats: int = 7) -> float:
    """Per-step microseconds of a scan whose step does almost nothing."""
    n = T.lscalar("n")
    out, _ = theano.scan(lambda h: h + 1.0, outputs_info=T.zeros((4,), dtype="float64"),
                         n_steps=n)
    f = theano.function([n], out[-1])
    f(10)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(n_steps)
        times.append((time.perf_counter() - t) / n_steps * 1e6)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import torch
    theano.config.floatX = "float32"
    t = time.perf_counter()
    theano.function([], T.constant(1.0))()      # backend discovery: once per process
    discovery_ms = (time.perf_counter() - t) * 1e3
    rows = []
    for label, make in (("LSTMLayer (scan)", lstm_layer_step),
                        ("LSTMLayer (unroll_scan=True)", lambda: lstm_layer_step(unroll=True)),
                        ("hand-written theano.scan LSTM", scan_lstm_step)):
        r = compare(make, args.repeats)
        rows.append((label, r))
        print(label, {k: round(v, 2) for k, v in r.items()}, flush=True)
    empty = empty_scan_us()
    lines = [
        "## Recurrent nets (bench/bench_rnn.py)", "",
        f"LSTM input {I}, hidden {H}, {S} steps, batch {B}, float32, one SGD step (forward, "
        f"BPTT, update); PyTorch {torch.__version__} `nn.LSTM` + `optim.SGD` with "
        f"{torch.get_num_threads()} threads; wall ms, medians of {args.repeats} alternating "
        "blocks of 2 steps; ratio = layerkit / PyTorch per block (median, range).", "",
        "| model | layerkit ms | PyTorch ms | ratio | ratio range | compile ms | first call ms |",
        "|---|---|---|---|---|---|---|"]
    for label, r in rows:
        lines.append(f"| {label} | {r['layerkit']:.1f} | {r['torch']:.1f} | {r['ratio']:.2f} | "
                     f"{r['lo']:.2f}-{r['hi']:.2f} | {r['compile_ms']:.0f} | "
                     f"{r['first_ms']:.0f} |")
    lines += ["", f"Compile ms: `theano.function` of the train step (graph, gradient and "
              f"update built before), after the process's first function ({discovery_ms:.0f} ms: "
              "backend discovery and imports, once per process).", "",
              f"Per-step overhead of a scan whose step is `h + 1` on 4 floats: "
              f"{empty:.1f} us per step (2000 steps, median of 7)."]
    print("\n".join(lines[2:]))
    if not args.no_write:
        from pathlib import Path

        from bench_nets import _replace_section
        _replace_section(Path(__file__).resolve().parent / "RESULTS.md", lines[0],
                         "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
