"""`layerkit demo`: the conv net on scikit-learn's digits, end to end on one short epoch.

Needs the `demo` extra (scikit-learn, tqdm, matplotlib); skipped without it.
"""
import re
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")

from layerkit import demo  # noqa: E402


def _reported(text):
    m = re.search(r"test accuracy ([0-9.]+)% \((\d+) of (\d+) images\) after (\d+) epochs?", text)
    assert m, text
    return float(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))


def _accuracy_of_saved_params(path):
    """Test accuracy recomputed from the saved file, outside the demo's code path."""
    import layerkit.core as theano
    import layerkit.core.tensor as T
    from layerkit.layers import get_output
    from layerkit.params import load_params
    _, _, (X_test, y_test) = demo.load_digit_splits()
    images = T.tensor4("images")
    network = demo.build_cnn(images)
    load_params(path, network)
    probs = theano.function([images], get_output(network, deterministic=True),
                            backend="numpy")(X_test)
    return int((np.argmax(probs, axis=1) == y_test).sum())


def test_one_epoch_end_to_end(backend, tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert demo.main(["--epochs", "1", "--backend", backend.name, "--output", str(out_dir)]) == 0
    text = capsys.readouterr().out
    assert f"backend {backend.name}" in text
    assert "1257 training, 180 validation, 360 test images" in text
    # the summary table, the progress bar (loss and speed), the epoch's validation
    assert re.search(r"conv1\s+Conv2DLayer\s+\(None, 32, 8, 8\)\s+320", text)
    assert re.search(r"total\s+53002\s+53002", text)
    assert re.search(r"epoch 1/1: 100%.*1257/1257.*img/s.*loss=[0-9.]+", text)
    assert re.search(r"val_acc=0\.[0-9]+", text)
    percent, right, total, epochs = _reported(text)
    assert (total, epochs) == (360, 1)
    assert right / total > 0.5                      # chance is 10 %
    assert abs(percent - 100 * right / total) < 0.06

    png = (out_dir / "learning_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread
    assert imread(out_dir / "learning_curve.png").shape[:2] == (360, 900)
    assert _accuracy_of_saved_params(out_dir / "params.npz") == right
    assert f"wrote {out_dir / 'learning_curve.png'} and {out_dir / 'params.npz'}" in text


def test_the_seed_makes_runs_repeatable(tmp_path, capsys):
    def run(seed, name):
        assert demo.main(["--epochs", "1", "--train-size", "256", "--seed", str(seed),
                          "--output", str(tmp_path / name)]) == 0
        capsys.readouterr()
        with np.load(tmp_path / name / "params.npz") as npz:
            return {k: npz[k] for k in npz.files}

    first, again, other = run(3, "a"), run(3, "b"), run(4, "c")
    assert list(first) == ["conv1.W", "conv1.b", "conv2.W", "conv2.b", "fc.W", "fc.b",
                           "output.W", "output.b"]
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["conv1.W"], other["conv1.W"])


def test_through_the_command_line(tmp_path, capsys):
    from layerkit.cli import main
    assert main(["demo", "--epochs", "1", "--train-size", "64",
                 "--output", str(tmp_path)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert (tmp_path / "params.npz").exists()


def test_a_missing_extra_is_named_before_any_work(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "sklearn", None)       # import sklearn now fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert demo.main(["--output", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "needs scikit-learn and matplotlib, which are not installed" in err
    assert "pip install 'layerkit[demo]'" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--train-size", "-5"], "--train-size must be at least 1, got -5"),
    (["--epochs", "many"], "invalid int value"),
])
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as err:
        demo.main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_output_that_is_a_file_and_an_unknown_backend(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert demo.main(["--output", str(tmp_path / "taken")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert demo.main(["--backend", "no-such-backend", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no-such-backend" in err and "numpy" in err


def test_splits_are_fixed_stratified_and_cover_the_digits_once():
    from sklearn.datasets import load_digits
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = demo.load_digit_splits()
    assert (len(y_tr), len(y_va), len(y_te)) == (1257, 180, 360)
    assert X_tr.shape == (1257, 1, 8, 8) and X_tr.dtype == np.float32 and y_tr.dtype == np.int32
    assert 0.0 == min(X.min() for X in (X_tr, X_va, X_te))
    assert 1.0 == max(X.max() for X in (X_tr, X_va, X_te))
    assert all(35 <= c <= 37 for c in np.bincount(y_te))          # 36 per class, stratified
    digits = load_digits()
    ours = np.concatenate([X.reshape(len(X), 64) for X in (X_tr, X_va, X_te)]) * 16
    labels = np.concatenate([y_tr, y_va, y_te])
    key = lambda X, y: sorted(map(tuple, np.column_stack([X, y]).tolist()))  # noqa: E731
    assert key(ours, labels) == key(digits.data, digits.target)         # the same multiset
    again = demo.load_digit_splits()
    assert np.array_equal(again[2][0], X_te)


def test_random_shifts_move_each_image_by_at_most_one_pixel():
    rng = np.random.RandomState(0)
    images = rng.rand(200, 2, 5, 6).astype("float32") + 1       # no zeros of their own
    shifted = demo.random_shifts(images, np.random.RandomState(1))
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    offsets = set()
    for img, out in zip(images, shifted):
        matches = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ref = np.zeros_like(img)       # pixel (i, j) of out is img[i + dy, j + dx]
                for i in range(5):
                    for j in range(6):
                        if 0 <= i + dy < 5 and 0 <= j + dx < 6:
                            ref[:, i, j] = img[:, i + dy, j + dx]
                if np.array_equal(out, ref):
                    matches.append((dy, dx))
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) == 9                                     # every offset occurs
    same = demo.random_shifts(images, np.random.RandomState(1), max_shift=0)
    np.testing.assert_array_equal(same, images)
