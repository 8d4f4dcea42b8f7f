"""examples/data_parallel.py in one process (tests/distributed runs it under mpiexec)."""


def test_data_parallel_in_one_process(run, monkeypatch):
    monkeypatch.setenv("LAYERKIT_DISTRIBUTED", "0")
    from layerkit.distributed import world
    monkeypatch.setattr(world, "_WORLD", None)
    result = run("data_parallel", "--epochs", 3, "--ntrain", 600)
    assert result["ranks"] == 1
    assert result["test_acc"] > 0.7, result
