"""layerkit.params: save_params / load_params (.npz by name, atomic, strict, no pickle)."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.backend import NoBackendError, get_backend
from layerkit.layers import (BatchNormLayer, Conv2DLayer, DenseLayer, InputLayer, get_all_params,
                             get_output)
from layerkit.params import ParamFileError, load_params, param_names, save_params
from layerkit.updates import sgd

NAMES = ["conv.W", "conv.b", "bn.beta", "bn.gamma", "bn.mean", "bn.inv_std", "out.W", "out.b"]


def make_net(units=3, seed=0):
    rng = np.random.RandomState(seed)
    import layerkit.random
    layerkit.random.set_rng(rng)
    net = InputLayer((None, 2, 5, 5), name="in")
    net = Conv2DLayer(net, 4, 3, name="conv")
    net = BatchNormLayer(net, name="bn")
    return DenseLayer(net, units, name="out")


def values(net):
    return [p.get_value() for p in get_all_params(net)]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def train_one_step(net, backend):
    inp = net.input_layer.input_layer.input_layer.input_var
    loss = T.mean(get_output(net) ** 2)
    step = theano.function([inp], loss, updates=sgd(loss, get_all_params(net, trainable=True),
                                                    0.1), backend=backend.name)
    step(np.random.RandomState(1).rand(6, 2, 5, 5).astype("float32"))


def other_backend(name):
    for other in ("numpy", "array-api-strict"):
        if other != name:
            try:
                return get_backend(other)
            except (NoBackendError, ValueError):
                continue
    pytest.skip("no second backend to load on")


# --- the file ----------------------------------------------------------------------------

def test_file_is_a_plain_npz_keyed_by_parameter_name(tmp_path):
    net = make_net()
    path = tmp_path / "net.npz"
    save_params(path, net)
    assert param_names(net) == NAMES
    with np.load(path, allow_pickle=False) as npz:          # numpy reads it, no pickle
        assert npz.files == NAMES
        assert_same([npz[k] for k in NAMES], values(net))
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == [k + ".npy" for k in NAMES]
    assert not [p for p in os.listdir(tmp_path) if p != "net.npz"]     # no temporary left


def test_missing_and_repeated_names_get_their_position():
    net = DenseLayer(DenseLayer(InputLayer((None, 2)), 3), 1)       # unnamed: W, b, W, b
    assert param_names(net) == ["W#0", "b#1", "W#2", "b#3"]
    named = DenseLayer(DenseLayer(InputLayer((None, 2)), 3, name="h"), 1)
    assert param_names(named) == ["h.W", "h.b", "W", "b"]


@pytest.mark.parametrize("suffix", ["net.npz", "weights.bin", "no_suffix"])
def test_path_is_used_as_given(tmp_path, suffix):
    net = make_net()
    save_params(str(tmp_path / suffix), net)
    assert os.listdir(tmp_path) == [suffix]
    fresh = make_net(seed=5)
    load_params(str(tmp_path / suffix), fresh)
    assert_same(values(fresh), values(net))


# --- round trips -------------------------------------------------------------------------

def test_round_trip_restores_every_parameter_and_the_outputs(backend, tmp_path):
    net = make_net()
    train_one_step(net, backend)                 # the values now live on `backend`
    saved = values(net)
    save_params(tmp_path / "net.npz", net)

    fresh = make_net(seed=7)
    assert not np.array_equal(values(fresh)[0], saved[0])
    load_params(tmp_path / "net.npz", fresh)
    assert_same(values(fresh), saved)

    x = np.random.RandomState(2).rand(3, 2, 5, 5).astype("float32")
    inp = lambda n: n.input_layer.input_layer.input_layer.input_var   # noqa: E731
    out_a = theano.function([inp(net)], get_output(net, deterministic=True),
                            backend=backend.name)(x)
    out_b = theano.function([inp(fresh)], get_output(fresh, deterministic=True),
                            backend=backend.name)(x)
    np.testing.assert_array_equal(out_a, out_b)


def test_saved_on_one_backend_loads_and_runs_on_another(backend, tmp_path):
    other = other_backend(backend.name)
    net = make_net()
    train_one_step(net, backend)
    save_params(tmp_path / "net.npz", net)
    fresh = make_net(seed=3)
    load_params(tmp_path / "net.npz", fresh)
    x = np.random.RandomState(4).rand(2, 2, 5, 5).astype("float32")
    inp = lambda n: n.input_layer.input_layer.input_layer.input_var   # noqa: E731
    ref = theano.function([inp(net)], get_output(net, deterministic=True),
                          backend=backend.name)(x)
    got = theano.function([inp(fresh)], get_output(fresh, deterministic=True),
                          backend=other.name)(x)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    # and back: the loaded network, trained on the other backend, saves from there
    train_one_step(fresh, other)
    save_params(tmp_path / "again.npz", fresh)
    with np.load(tmp_path / "again.npz") as npz:
        assert_same([npz[k] for k in NAMES], values(fresh))


def test_a_list_of_layers_and_lasagne_style_positional_files(tmp_path):
    net = make_net()
    save_params(tmp_path / "a.npz", [net])
    np.savez(tmp_path / "lasagne.npz", *values(net))       # Lasagne's own idiom: arr_0, ...
    fresh = make_net(seed=9)
    load_params(tmp_path / "lasagne.npz", fresh)
    assert_same(values(fresh), values(net))
    from_list = make_net(seed=8)
    load_params(tmp_path / "a.npz", from_list)              # saved from a list of layers
    assert_same(values(from_list), values(net))


# --- refusing bad input, changing nothing -------------------------------------------------

def test_wrong_shape_is_refused_naming_the_parameter(tmp_path):
    save_params(tmp_path / "net.npz", make_net(units=3))
    other = make_net(units=4, seed=1)
    before = values(other)
    with pytest.raises(ValueError, match=r"parameter 'out\.W' has shape \(36, 4\), but .* "
                                         r"holds shape \(36, 3\)"):
        load_params(tmp_path / "net.npz", other)
    assert_same(values(other), before)


def test_wrong_dtype_is_refused_naming_the_parameter(tmp_path):
    net = make_net()
    save_params(tmp_path / "net.npz", net)
    with np.load(tmp_path / "net.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["conv.b"] = arrays["conv.b"].astype("float64")
    np.savez(tmp_path / "f64.npz", **arrays)
    before = values(net)
    with pytest.raises(TypeError, match=r"parameter 'conv\.b' has dtype float32, but .* holds "
                                        r"dtype float64"):
        load_params(tmp_path / "f64.npz", net)
    assert_same(values(net), before)


def test_missing_and_unexpected_names_are_listed(tmp_path):
    net = make_net()
    with np.load(_saved(tmp_path, net)) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["extra.W"] = arrays.pop("out.W")
    np.savez(tmp_path / "renamed.npz", **arrays)
    before = values(net)
    with pytest.raises(ValueError) as err:
        load_params(tmp_path / "renamed.npz", net)
    message = str(err.value)
    assert "'out.W' are not in the file" in message
    assert "'extra.W' are not parameters of the network" in message
    assert "No parameter was changed" in message
    assert_same(values(net), before)


def _saved(tmp_path, net, name="net.npz"):
    path = tmp_path / name
    save_params(path, net)
    return path


@pytest.mark.parametrize("keep", [0, 10, 200, "half", -30, -1])
def test_truncated_file_gives_a_clear_error_and_changes_nothing(tmp_path, keep):
    path = _saved(tmp_path, make_net())
    data = path.read_bytes()
    cut = len(data) // 2 if keep == "half" else keep if keep >= 0 else len(data) + keep
    path.write_bytes(data[:cut])
    target = make_net(seed=11)
    before = values(target)
    with pytest.raises(ParamFileError, match=r"cannot read .*net\.npz.* truncated, corrupted"):
        load_params(path, target)
    assert_same(values(target), before)


def test_corrupted_array_data_is_caught_by_its_checksum(tmp_path):
    net = make_net()
    path = _saved(tmp_path, net)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("out.W.npy")
    # the member's data follow its local header (30 bytes + name + extra); flip a byte
    # well inside the array, past the .npy header
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size - 20] ^= 0xFF
    path.write_bytes(bytes(data))
    target = make_net(seed=12)
    before = values(target)
    with pytest.raises(ParamFileError, match="CRC"):
        load_params(path, target)
    assert_same(values(target), before)


def test_files_that_are_not_parameter_files(tmp_path):
    net = make_net()
    before = values(net)
    (tmp_path / "text.npz").write_text("not a zip file\n")
    np.save(tmp_path / "one.npy", np.zeros(3))
    np.savez(tmp_path / "pickled.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ParamFileError, match="cannot read"):
        load_params(tmp_path / "text.npz", net)
    with pytest.raises(ParamFileError, match=r"single array \(\.npy\)"):
        load_params(tmp_path / "one.npy", net)
    with pytest.raises(ParamFileError, match="pickle"):
        load_params(tmp_path / "pickled.npz", net)
    with pytest.raises(FileNotFoundError):
        load_params(tmp_path / "absent.npz", net)
    assert_same(values(net), before)


def test_bad_arguments_name_what_was_expected(tmp_path):
    net = make_net()
    with pytest.raises(TypeError, match="expected a layer .*, got ndarray"):
        save_params(tmp_path / "x.npz", np.zeros(3))
    with pytest.raises(TypeError, match="expected a layer .*, got str"):
        load_params(tmp_path / "x.npz", "net")
    with pytest.raises(FileNotFoundError, match="the folder .*missing.* does not exist"):
        save_params(tmp_path / "missing" / "x.npz", net)
    with pytest.raises(IsADirectoryError, match="is a folder; give a file path"):
        save_params(tmp_path, net)
    with pytest.raises(TypeError, match=r"expected a file path \(str or os.PathLike\), got int"):
        save_params(3, net)
    assert os.listdir(tmp_path) == []


# --- atomic saves -------------------------------------------------------------------------

def test_a_save_that_fails_midway_leaves_the_old_file(tmp_path, monkeypatch):
    import layerkit.params as params_module
    old_net = make_net(seed=0)
    path = _saved(tmp_path, old_net)
    old_bytes = path.read_bytes()

    def broken(f, arrays):
        f.write(b"PK\x03\x04 half of a file")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(params_module, "_write_npz", broken)
    with pytest.raises(OSError, match="disk full"):
        save_params(path, make_net(seed=1))
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["net.npz"]           # the temporary file is removed


_CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_params import make_net
    import layerkit.params as params
    path, where = sys.argv[1], sys.argv[2]
    net = make_net(seed=1)
    kill = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    if where == "mid-array":
        import numpy.lib.format as fmt
        real = fmt.write_array
        def write_array(fp, array, *a, **k):
            if array.size > 50:                      # the first large array: half, then die
                fp.write(b"\\x93NUMPY" + b"\\0" * 100)
                kill()
            return real(fp, array, *a, **k)
        fmt.write_array = write_array
    elif where == "before-rename":
        os.replace = kill
    elif where == "loop":
        print("saving", flush=True)
        while True:
            params.save_params(path, net)
    params.save_params(path, net)
    print("not killed", flush=True)
""")


def _child(tmp_path, where):
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=os.path.dirname(__file__)))
    return [sys.executable, str(script), str(tmp_path / "net.npz"), where]


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("where", ["mid-array", "before-rename"])
def test_a_save_killed_midway_leaves_the_previous_file_intact(tmp_path, where):
    old_net = make_net(seed=0)
    path = _saved(tmp_path, old_net)
    old_bytes = path.read_bytes()
    proc = subprocess.run(_child(tmp_path, where), capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert path.read_bytes() == old_bytes
    leftovers = [p for p in os.listdir(tmp_path) if p.startswith(".net.npz.")]
    assert len(leftovers) == 1                    # the killed save's temporary file
    target = make_net(seed=5)
    load_params(path, target)
    assert_same(values(target), values(old_net))


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killing_a_process_that_keeps_saving_never_leaves_a_partial_file(tmp_path):
    old_net, new_net = make_net(seed=0), make_net(seed=1)
    path = _saved(tmp_path, old_net)
    proc = subprocess.Popen(_child(tmp_path, "loop"), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "saving"
        time.sleep(0.3)                            # somewhere inside one of many saves
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
    target = make_net(seed=5)
    load_params(path, target)                      # a complete file: old values or new ones
    got = values(target)
    assert any(all(np.array_equal(a, b) for a, b in zip(got, values(net)))
               for net in (old_net, new_net))
