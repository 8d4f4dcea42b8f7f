"""Data-parallel training under ``mpiexec`` (issue 21's correctness bullets).

Each test starts ``mpiexec -n N python mpi_worker.py ...`` (skipped, with the
reason, where mpi4py or mpiexec is missing: ``pip install 'layerkit[mpi]'``).

**Tolerance.** N ranks x 128/N rows must give the parameters of 1 process x 128
rows "to float32 summation-order rounding": the gradient of a mean over 128
rows is summed in another order (N partial means of 128/N rows, then their
mean), so each step's gradient differs by a few float32 ulps, and 100 steps
of SGD/adam carry those differences along without amplifying them much (a
contracting training). Measured on this machine: at most 2.4e-7 absolute
(2 ulps of 1.0) for 2 and 4 ranks. The bound is ``5e-6 * (1 + |p|)``, 20x
that, while a step that did not average (each rank on its own half) or
summed instead of averaging moves the parameters by 1e-2 or more.
Same seed and rank count: bitwise equal parameters, run to run and rank to rank.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("mpi_worker.py")
TOL = 5e-6


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None, "mpi4py is not installed (pip install 'layerkit[mpi]')"
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        return None, "no mpiexec next to this Python or on PATH (pip install mpich)"
    return found, None


MPIEXEC, WHY = _mpiexec()
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason=f"no MPI here: {WHY}")


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "OMPI_", "PMIX_", "LAYERKIT_DISTRIBUTED"))}
    # one BLAS thread per rank: the ranks share this machine's cores
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def _run(n, *args, timeout=90, **env):
    cmd = [sys.executable, str(WORKER), *map(str, args)]
    if n:
        cmd = [MPIEXEC, "-n", str(n), *cmd]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(**env))
    return proc, time.monotonic() - start


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Final parameters of 1 process x 128, 2 ranks x 64 (twice) and 4 ranks x 32."""
    folder = tmp_path_factory.mktemp("mpi")
    results = {}
    for label, n in (("1", 0), ("2", 2), ("2-again", 2), ("4", 4)):
        out = folder / f"{label}.npz"
        proc, _ = _run(n, "train", out)
        assert proc.returncode == 0, f"{label} rank(s) failed:\n{proc.stdout}\n{proc.stderr}"
        results[label] = dict(np.load(out))
    return results


def _params(result):
    return {k: v for k, v in result.items() if k not in ("size", "identical")
            and not k.startswith(("history_", "device_")) and not k.endswith("_init")}


@pytest.mark.parametrize("label", ["2", "4"])
def test_n_ranks_give_the_parameters_of_one_process(trained, label):
    one, many = trained["1"], trained[label]
    assert int(many["size"]) == int(label) and int(one["size"]) == 1
    assert bool(many["identical"]), "the ranks' parameters differ from each other"
    for key, want in _params(one).items():
        got = many[key]
        err = np.abs(got - want) / (1 + np.abs(want))
        assert err.max() <= TOL, f"{key}: {err.max():.2e} relative to 1 + |p| over {TOL}"
    for key in ("history_loss", "history_val_loss", "history_val_acc"):
        np.testing.assert_allclose(many[key], one[key], rtol=1e-6, atol=1e-6, err_msg=key)


def test_the_comparison_is_sensitive(trained):
    """Training moved every parameter array far more than the tolerance, so a step
    that skipped or botched the averaging could not pass the check above."""
    one = trained["1"]
    for key, final in _params(one).items():
        init = one.get(key + "_init")
        if init is not None:
            assert np.abs(final - init).max() > 100 * TOL, key


def test_runs_are_bitwise_deterministic(trained):
    a, b = trained["2"], trained["2-again"]
    for key, value in a.items():
        np.testing.assert_array_equal(value, b[key], err_msg=key)


@pytest.mark.parametrize("label", ["2", "4"])
def test_the_device_path_under_mpi(trained, label):
    """The ranks agree on a device path (an all-gather) and host staging averages
    over real MPI; the MPI library was asked whether it takes CUDA buffers."""
    result, n = trained[label], int(label)
    assert str(result["device_staged_path"]) == "host"
    np.testing.assert_array_equal(result["device_staged_mean"],
                                  np.arange(4, dtype="float32") * (n + 1) / 2)
    query = str(result["device_mpi_query"])
    # the library's answer (mpich's wheel exports the query), not the text without one
    assert re.fullmatch(r"MPIX_Query_cuda_support\(\) = \d+ in \S+", query), query


def test_a_rank_that_raises_stops_every_rank_naming_it():
    proc, took = _run(2, "raise", timeout=60)
    assert proc.returncode != 0
    assert "rank 1 of 2" in proc.stderr and "ValueError" in proc.stderr, (proc.stdout, proc.stderr)
    assert "rank 0 finished" not in proc.stdout
    assert took < 30


@pytest.mark.parametrize("code", [1, 0])
def test_a_rank_that_exits_stops_every_rank_naming_it(code):
    """``sys.exit(code)`` on rank 1 at step 3 (code 0 too: mid-training it is no clean
    end): rank 0, waiting in an all-reduce rank 1 never makes, stops within seconds
    naming rank 1, not at the timeout (120 s here)."""
    proc, took = _run(2, "exit", code, timeout=90, LAYERKIT_DISTRIBUTED_TIMEOUT="120")
    ended = time.time()
    assert proc.returncode != 0
    assert "rank 0 of 2" in proc.stderr and "rank 1 of 2 has exited" in proc.stderr, \
        (proc.stdout, proc.stderr)
    assert "rank 0 finished" not in proc.stdout
    exited = float(re.search(r"rank 1 exits at ([0-9.]+)", proc.stdout).group(1))
    assert ended - exited < 10, f"the run ended {ended - exited:.1f} s after rank 1 exited"
    assert took < 60


def test_ranks_that_end_at_different_times_end_cleanly():
    """The exit notices do not abort a normal end: rank 0 ends 3 s after rank 1, longer
    than the timeout (2 s), which bounds collectives, not a rank's last work."""
    proc, _ = _run(2, "uneven", timeout=90, LAYERKIT_DISTRIBUTED_TIMEOUT="2")
    assert proc.returncode == 0, proc.stderr
    assert "rank 0 finished" in proc.stdout and "rank 1 finished" in proc.stdout
    assert "layerkit.distributed" not in proc.stderr, proc.stderr


def _both_finished(proc):
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "rank 0 finished" in proc.stdout and "rank 1 finished" in proc.stdout, proc.stdout
    assert "layerkit.distributed" not in proc.stderr, proc.stderr


def test_making_the_world_on_one_rank_first_is_local(tmp_path):
    """rank(), size() and save_params on rank 0 while rank 1 waits in the script's own
    MPI_Barrier: making the world is no collective (the exit notices' channel opens in
    the first collective), so neither waits for the other."""
    out = tmp_path / "p.npz"
    proc, took = _run(2, "alone", out, timeout=60, LAYERKIT_DISTRIBUTED_TIMEOUT="5")
    _both_finished(proc)
    assert sorted(np.load(out)) == ["d.W", "d.b"]
    assert took < 30


def test_two_threads_asking_for_the_world_at_once_get_one():
    proc, took = _run(2, "threads", timeout=60, LAYERKIT_DISTRIBUTED_TIMEOUT="5")
    _both_finished(proc)
    assert took < 30


@pytest.mark.parametrize("who", ["all", "one"])
def test_a_script_that_finalizes_mpi_itself_ends_cleanly(who):
    """MPI.Finalize() in the script (on every rank, or on rank 1 alone): no exit notice
    is sent after it, and the other rank's notice does not wait for one."""
    proc, took = _run(2, "finalize", who, timeout=60, LAYERKIT_DISTRIBUTED_TIMEOUT="5")
    _both_finished(proc)
    assert proc.stdout.count("finalizes") == (2 if who == "all" else 1)
    assert took < 30


def test_a_collective_after_the_exit_notice_is_refused():
    """A handler registered with atexit before ``import layerkit.distributed`` runs
    after layerkit's exit notice: its collective is refused by name on each rank (the
    others were told this rank made no more), not left to hang or to meet a closed peer."""
    proc, took = _run(2, "late", timeout=60, LAYERKIT_DISTRIBUTED_TIMEOUT="5")
    assert "rank 0 finished" in proc.stdout and "rank 1 finished" in proc.stdout, proc.stdout
    for r in (0, 1):
        assert f"DistributedError: rank {r} of 2: the final statistics starts after this " \
               f"rank's Python began to end: layerkit.distributed has told the other ranks " \
               f"that this rank made 3 collectives" in proc.stderr, proc.stderr
    assert took < 30


def test_a_user_atexit_handler_registered_after_the_import_makes_collectives():
    """A handler registered after ``import layerkit.distributed`` -- even before the
    world's first collective -- runs before layerkit's exit notice (mpi4py finalises
    MPI after every atexit handler), so its collective works; was refused, and the
    run ended 0 without the statistics."""
    proc, took = _run(2, "atexit", timeout=60, LAYERKIT_DISTRIBUTED_TIMEOUT="5")
    _both_finished(proc)
    assert "rank 0 total 3" in proc.stdout and "rank 1 total 3" in proc.stdout, proc.stdout
    assert took < 30


def test_a_rank_that_exits_before_the_first_collective_is_named():
    """Rank 1 made its world and exits before layerkit's first collective: its early
    notice (on the world's communicator, the reserved tag) stops rank 0's first
    collective within seconds, naming rank 1, not at the timeout (120 s here)."""
    proc, took = _run(2, "early", "world", timeout=90, LAYERKIT_DISTRIBUTED_TIMEOUT="120")
    ended = time.time()
    assert proc.returncode != 0
    assert "rank 1 of 2 has exited (sys.exit(), SystemExit or the end of its script) " \
           "before layerkit's first collective, so it will never join the barrier after " \
           "the data loading (layerkit's collective #1 on this rank) that rank 0 waits in" \
           in proc.stderr, (proc.stdout, proc.stderr)
    exited = float(re.search(r"rank 1 exits at ([0-9.]+)", proc.stdout).group(1))
    assert ended - exited < 10, f"the run ended {ended - exited:.1f} s after rank 1 exited"
    assert took < 60


def test_a_rank_that_never_made_its_world_is_caught_by_the_timeout():
    """Without a world rank 1 sends no notice: rank 0 times out in the channel's
    opening, and the message says a rank may have ended before layerkit's first
    collective."""
    proc, took = _run(2, "early", "none", timeout=60, LAYERKIT_DISTRIBUTED_TIMEOUT="2")
    assert proc.returncode != 0
    assert "rank 0 of 2: the opening of the exit notices' channel (MPI_Comm_idup) in the " \
           "barrier after the data loading waited more than 2 s for the other ranks " \
           "(layerkit's collective #1 on this rank)" in proc.stderr, proc.stderr
    assert "or it ended before layerkit's first collective without an exit notice" \
        in proc.stderr, proc.stderr
    assert took < 30


def test_a_stuck_rank_makes_the_others_time_out():
    proc, took = _run(2, "stuck", timeout=60, LAYERKIT_DISTRIBUTED_TIMEOUT="2")
    assert proc.returncode != 0
    assert "rank 0 of 2" in proc.stderr and "waited more than 2 s" in proc.stderr, proc.stderr
    assert took < 30


def test_a_killed_rank_ends_the_run():
    proc, took = _run(2, "killed", timeout=60)
    assert proc.returncode != 0 and "rank 0 finished" not in proc.stdout
    assert took < 30


def test_ranks_with_different_networks_are_refused_at_start():
    proc, _ = _run(2, "shapes", timeout=60)
    assert proc.returncode != 0
    assert "build different networks" in proc.stderr, proc.stderr
    assert "'h.W' of shape (20, 33) (float32) on rank 1 but 'h.W' of shape (20, 32)" \
        in proc.stderr


def test_the_example_under_two_ranks():
    pytest.importorskip("sklearn", reason="the example's digits need scikit-learn (the "
                        "`examples` extra)")
    example = Path(__file__).resolve().parents[2] / "examples" / "data_parallel.py"
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(example), "--epochs", "1",
                           "--ntrain", "200"], capture_output=True, text=True, timeout=90,
                          env=_env(), cwd=example.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("2 rank(s), 50 rows each per step") == 1      # rank 0 prints
    assert proc.stdout.count("test accuracy") == 1, proc.stdout
