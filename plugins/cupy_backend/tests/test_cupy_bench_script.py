"""bench/bench_cupy.py's own code, on the CPU: the layerkit side on the host emulation
of cupy (building the nets with ``on_device=True``, the numpy cross-check, the
event timing), the PyTorch side up to moving to the GPU, and the results file.
None of it measures anything; the benchmark itself needs a GPU
(``plugins/cupy_backend/device_check.sh bench``)."""
from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

import cupy_host_emulation as emulation

BENCH = Path(__file__).resolve().parents[3] / "bench"


@pytest.fixture(scope="module")
def bench():
    if not (BENCH / "bench_cupy.py").exists():
        pytest.skip("bench/bench_cupy.py is not in this checkout")
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_cupy", BENCH / "bench_cupy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(BENCH))


@pytest.mark.parametrize("net", ["logreg", "mlp_old", "mlp_modern", "convnet"])
def test_nets_build_on_the_device_and_agree_with_numpy(bench, host_backend, net):
    report = bench.check_against_numpy(net, 8)
    assert report.startswith("ok: "), report
    train, predict = bench.layerkit_cupy_net(net)
    X, y = bench.data(net, 8)
    xp = host_backend.xp
    loss = train(xp.asarray(X), xp.asarray(y))
    assert isinstance(loss, emulation.DeviceArray) and loss.shape == ()
    assert isinstance(predict(xp.asarray(X)), emulation.DeviceArray)
    ms = bench._time_block("layerkit", lambda: train(xp.asarray(X), xp.asarray(y)), 2, True)
    assert ms > 0


def test_torch_models_come_from_bench_nets(bench):
    pytest.importorskip("torch")
    import nets
    for net in nets.NETS:
        train, _ = nets.torch_net(net)
        found = inspect.getclosurevars(train).nonlocals
        assert {"model", "opt"} <= set(found), f"{net}: bench_cupy reads model and opt from " \
                                               f"nets.torch_net's closure, found {sorted(found)}"


def _row(net, batch, lk, pt):
    return {"net": net, "batch": batch, "compile_ms": 12.0, "warmup_ms": 100.0,
            "layerkit_train_sync_ms": lk, "torch_train_sync_ms": pt,
            "layerkit_train_async_ms": lk * 0.9, "torch_train_async_ms": pt * 0.9,
            "layerkit_infer_sync_ms": 0.2, "torch_infer_sync_ms": 0.1, "floor_ms": 0.01,
            "check": "ok: predictions agree 100.0%"}


def test_results_section_is_written_replaced_and_merged(bench, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## numpy backend vs PyTorch CPU\n\nnumbers\n")
    meta = {"gpu": "NVIDIA H200", "cupy": "14.2.0", "torch": "2.11.0", "cuda": 13000,
            "tflops": 51.0, "steps": 30, "blocks": 5, "warmup": 10}
    rows = [_row("mlp_old", 128, 0.5, 0.45), _row("convnet", 512, 5.0, 2.0),
            {"net": "lasagne_cnn", "batch": 128, "error": "RuntimeError: boom"}]
    bench.write_results(results, rows, meta)
    bench.write_results(results, rows[:1], meta)              # replaced, not appended
    text = results.read_text()
    assert text.count(bench.HEADING) == 1 and "## numpy backend vs PyTorch CPU" in text
    assert "| mlp_old | 128 | 0.500 / 0.450 | 1.11 |" in text and "<= 1.2 met" in text
    returned = tmp_path / "RESULTS_cupy.md"
    returned.write_text("# Benchmark results\n\n## other\n\nx\n")
    bench.write_results(returned, rows, meta)
    assert bench.merge(returned, results) == 0
    text = results.read_text()
    assert text.count(bench.HEADING) == 1 and "## other" not in text
    assert "| convnet | 512 | 5.000 / 2.000 | 2.50 |" in text and "MISSED" in text
    assert "not measured: RuntimeError: boom" in text
