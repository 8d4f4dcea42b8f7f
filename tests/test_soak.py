"""bench/soak.py runs and reports its figures. The 20,000-step soak itself is run
by hand (``python bench/soak.py``); its figures are in bench/RESULTS.md ("Soak")."""
import importlib.util
import os

SOAK = os.path.join(os.path.dirname(__file__), os.pardir, "bench", "soak.py")


def test_soak_script_reports_rss_growth_and_speed(capsys):
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    code = soak.main(["--steps", "20", "--warmup", "3"])
    out = capsys.readouterr().out
    assert "soak: 20 steps in" in out and "steps/s" in out
    assert "RSS every 2 steps (MB):" in out
    assert "target < 5 %" in out and "peak" in out
    # 20 steps say nothing about growth; only that the verdict and the exit code agree
    assert code == (0 if "target < 5 %: ok" in out else 1)
