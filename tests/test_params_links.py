"""Saving through symbolic links and to odd targets (issue 16, item 8).

``save_params`` (and the demo's learning curve) replace the file a link points
to, atomically in that file's folder, and leave the link a link; a FIFO, a
device or a folder is refused with an error naming it and left as it was; a
save that fails midway loses nothing.
"""
import os
import stat

import numpy as np
import pytest

import layerkit.params as params_module
from layerkit.layers import DenseLayer, InputLayer, get_all_param_values
from layerkit.params import load_params, param_names, save_params

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt",
                                reason="POSIX links and FIFOs")


def _net(seed):
    net = DenseLayer(InputLayer((None, 3)), 2, name="out")
    rng = np.random.default_rng(seed)
    for p in net.get_params():
        p.set_value(rng.standard_normal(p.get_value().shape).astype(p.dtype))
    return net


def _saved(path, net):
    with np.load(path) as npz:
        return [npz[k] for k in param_names(net)]


def _leftovers(*folders):
    return [n for f in folders for n in os.listdir(f) if n.endswith(".tmp")]


def _same_values(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    data, work = tmp_path / "data", tmp_path / "work"
    data.mkdir()
    work.mkdir()
    target = data / "params.npz"
    old, new = _net(0), _net(1)
    save_params(target, old)
    link = work / "latest.npz"
    os.symlink(target, link)
    chain = work / "chain.npz"
    os.symlink("latest.npz", chain)                 # a relative link to a link
    save_params(chain, new)
    assert os.path.islink(link) and os.path.islink(chain)
    assert os.readlink(chain) == "latest.npz" and os.readlink(link) == str(target)
    assert stat.S_ISREG(os.lstat(target).st_mode)
    assert _same_values(_saved(target, new), get_all_param_values(new))
    assert _leftovers(data, work) == []
    fresh = _net(2)
    load_params(link, fresh)
    assert _same_values(get_all_param_values(fresh), get_all_param_values(new))


def test_a_dangling_link_creates_its_target(tmp_path):
    target = tmp_path / "sub" / "params.npz"
    (tmp_path / "sub").mkdir()
    link = tmp_path / "params.npz"
    os.symlink(target, link)
    net = _net(3)
    save_params(link, net)
    assert os.path.islink(link) and target.is_file()
    assert _same_values(_saved(target, net), get_all_param_values(net))


def test_a_save_keeps_the_targets_permissions(tmp_path):
    target = tmp_path / "private.npz"
    save_params(target, _net(0))
    os.chmod(target, 0o640)             # a new file would get the umask's mode
    link = tmp_path / "link.npz"
    os.symlink(target, link)
    save_params(link, _net(1))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.path.islink(link)


def test_a_fifo_a_device_and_a_folder_are_refused_and_left_alone(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"pipe\.npz.*FIFO"):
        save_params(fifo, _net(0))
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    to_fifo = tmp_path / "to_pipe.npz"
    os.symlink(fifo, to_fifo)
    with pytest.raises(ValueError, match="FIFO"):
        save_params(to_fifo, _net(0))
    assert os.path.islink(to_fifo) and stat.S_ISFIFO(os.lstat(fifo).st_mode)

    if os.path.exists(os.devnull) and stat.S_ISCHR(os.stat(os.devnull).st_mode):
        to_null = tmp_path / "to_null.npz"
        os.symlink(os.devnull, to_null)
        with pytest.raises(ValueError, match=f"to_null.npz.*{os.devnull}.*character device"):
            save_params(to_null, _net(0))
        assert os.path.islink(to_null) and stat.S_ISCHR(os.stat(os.devnull).st_mode)

    folder = tmp_path / "folder"
    folder.mkdir()
    to_folder = tmp_path / "to_folder"
    os.symlink(folder, to_folder)
    with pytest.raises(IsADirectoryError, match="to_folder"):
        save_params(to_folder, _net(0))
    assert os.path.islink(to_folder) and os.listdir(folder) == []
    assert _leftovers(tmp_path) == []


def test_a_failed_save_through_a_link_loses_nothing(tmp_path, monkeypatch):
    data, work = tmp_path / "data", tmp_path / "work"
    data.mkdir()
    work.mkdir()
    target = data / "params.npz"
    good = _net(0)
    save_params(target, good)
    before = target.read_bytes()
    link = work / "params.npz"
    os.symlink(target, link)

    def half_then_fail(f, arrays):
        f.write(before[: len(before) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(params_module, "_write_npz", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_params(link, _net(1))
    assert target.read_bytes() == before and os.path.islink(link)
    assert _leftovers(data, work) == []
    monkeypatch.undo()
    written_in = []
    real_write = params_module._write_npz

    def watch(f, arrays):
        written_in.append(os.listdir(data))
        real_write(f, arrays)

    monkeypatch.setattr(params_module, "_write_npz", watch)
    save_params(link, _net(1))
    # the temporary file lived beside the target (so the rename replaced the target)
    assert any(n.endswith(".tmp") for n in written_in[0])
    assert os.path.islink(link)
    assert _same_values(_saved(target, _net(1)), get_all_param_values(_net(1)))


def test_the_demo_learning_curve_is_written_through_a_link(tmp_path):
    pytest.importorskip("matplotlib")
    from layerkit.demo.plot import save_learning_curve
    from layerkit.train import History

    history = History()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.5, 0.75)], start=1):
        history.record(epoch, {"loss": loss, "acc": acc})
    target = tmp_path / "curves" / "curve.png"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "curve.png"
    os.symlink(target, link)
    save_learning_curve(history, link)
    assert os.path.islink(link)
    assert target.read_bytes().startswith(b"\x89PNG")
    if os.path.exists(os.devnull) and stat.S_ISCHR(os.stat(os.devnull).st_mode):
        to_null = tmp_path / "null.png"
        os.symlink(os.devnull, to_null)
        with pytest.raises(ValueError, match="character device"):
            save_learning_curve(history, to_null)
        assert os.path.islink(to_null)
