"""The interim demo: a Lasagne-style MLP on generated data, as `layerkit demo` runs it."""
import re

import pytest

from layerkit import demo


def _losses(text):
    return [float(v) for v in re.findall(r"training loss ([0-9.]+)", text)]


def test_demo_trains_and_reports(backend, capsys):
    assert demo.main(["--epochs", "6", "--backend", backend.name, "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert f"backend {backend.name}" in out
    losses = _losses(out)
    assert len(losses) == 6                       # one line per epoch
    assert losses[-1] < 0.5 * losses[0]
    accuracy = float(re.search(r"test accuracy ([0-9.]+)%", out).group(1))
    assert accuracy > 85


def test_demo_is_repeatable_from_its_seed(capsys):
    demo.main(["--epochs", "2", "--seed", "5"])
    first = _losses(capsys.readouterr().out)
    demo.main(["--epochs", "2", "--seed", "5"])
    assert _losses(capsys.readouterr().out) == first
    demo.main(["--epochs", "2", "--seed", "6"])
    assert _losses(capsys.readouterr().out) != first


def test_demo_through_the_command_line(capsys):
    from layerkit.cli import main
    assert main(["demo", "--epochs", "1"]) == 0
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--epochs", "many"], "invalid int value"),
])
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as err:
        demo.main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_backend_is_named(capsys):
    assert demo.main(["--backend", "no-such-backend"]) == 2
    err = capsys.readouterr().err
    assert "no-such-backend" in err and "numpy" in err     # the known backends are listed


def test_make_moons_is_two_balanced_classes():
    import numpy as np
    X, y = demo.make_moons(100, 0.1, np.random.RandomState(0))
    assert X.shape == (100, 2) and X.dtype == np.float32
    assert y.dtype == np.int32 and y.sum() == 50
