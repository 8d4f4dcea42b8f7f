"""Parameter files: ``save_params(path, layer)`` and ``load_params(path, layer)``.

A parameter file is a plain ``.npz`` (``np.load`` reads it) holding one array
per parameter of the network, in :func:`~layerkit.layers.get_all_params`
order, under the parameter's name (``"conv1.W"``). A name that is missing or
used by several parameters gets its position appended (``"W#3"``), so every
key is unique. No pickle is written or read (``allow_pickle=False``).

Saving is atomic: the arrays go to a temporary file in the same folder, which
is flushed to disk and then renamed over ``path``; a save that fails or is
killed leaves the previous file as it was. (A killed save can leave its
temporary ``.<name>.<random>.tmp`` file behind.) A symbolic link is followed:
the file it points to is replaced (atomically, in its own folder) and the
link stays a link; a FIFO, a device or a folder is refused with an error.

Loading reads and checks everything before it changes anything: a truncated
or corrupted file, a missing or unexpected name, or a shape or dtype that
differs from the parameter's raises an error naming the parameter, and the
network keeps its values. The file does not depend on the backend the values
lived on: save after training on one backend, load and run on another.

>>> import os, tempfile
>>> from layerkit.layers import InputLayer, DenseLayer
>>> net = DenseLayer(InputLayer((None, 3)), 2, name="out")
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> save_params(path, net)
>>> param_names(net)
['out.W', 'out.b']
>>> load_params(path, net)
"""
from __future__ import annotations

import os
import secrets
import stat
import zipfile

import numpy as np

from .layers import Layer, get_all_params

__all__ = ["save_params", "load_params", "param_names", "ParamFileError"]


class ParamFileError(ValueError):
    """A parameter file that cannot be read: not an ``.npz``, truncated or corrupted."""


def _params(layer, what):
    layers = [layer] if isinstance(layer, Layer) else layer
    if not isinstance(layers, (list, tuple)) or not layers or \
            not all(isinstance(lyr, Layer) for lyr in layers):
        raise TypeError(f"{what}: expected a layer (or a list of layers) as the network, "
                        f"got {type(layer).__name__}")
    return get_all_params(layer)


def _keys(params):
    names = [p.name for p in params]
    keys = []
    for i, name in enumerate(names):
        if name and names.count(name) == 1 and "#" not in name:
            keys.append(name)
        else:
            keys.append(f"{name or 'param'}#{i}")
    return keys


def param_names(layer):
    """The keys under which :func:`save_params` stores ``layer``'s parameters, in order."""
    return _keys(_params(layer, "param_names"))


def _folder_of(path, what):
    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
        raise TypeError(f"{what}: expected a file path (str or os.PathLike), got "
                        f"{type(path).__name__}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{what}: {path!r} is a folder; give a file path such as "
                                f"{os.path.join(path, 'params.npz')!r}")
    return path, os.path.dirname(os.path.abspath(path))


def _kind(mode) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _save_target(path, what):
    """The file a save to ``path`` replaces, its symbolic links followed, and its stat.

    Refuses a target that exists and is not a regular file (a folder, a FIFO,
    a device, a socket), naming it.
    """
    real = os.path.realpath(path)
    shown = repr(path) if real == os.path.abspath(path) else \
        f"{path!r} (a symbolic link to {real!r})"
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"{what}: {shown} is a folder; give a file path such as "
                                    f"{os.path.join(path, 'params.npz')!r}")
        raise ValueError(f"{what}: {shown} is {kind}, not a regular file; {what} writes "
                         f"only regular files (it replaces the file atomically) and has "
                         f"left {real!r} as it was")
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{what}: the folder {folder!r} does not exist"
                                + (f" (the target of {path!r})" if real != os.path.abspath(path)
                                   else ""))
    return real, folder, st


def atomic_write(path, write, what="write") -> None:
    """Replace the file at ``path`` with what ``write(f)`` writes to a binary file ``f``.

    Symbolic links are followed: the file they point to is replaced and the
    links stay links. A target that exists and is not a regular file (a
    folder, a FIFO, a device) is refused with an error naming it. The bytes go
    to a temporary file in the target's folder, flushed to disk, which is then
    renamed over the target (keeping the target's permission bits): if
    ``write`` raises, or the process is killed, the previous file stays whole.
    A hard link to the old file keeps the old contents (the rename makes a new
    file, as every atomic save does).
    """
    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
        raise TypeError(f"{what}: expected a file path (str or os.PathLike), got "
                        f"{type(path).__name__}")
    path = os.fspath(path)
    real, folder, old = _save_target(path, what)
    base = os.path.basename(real)
    while True:  # O_EXCL: never write into a file someone else made; the umask sets its mode
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if old is not None:                  # the file replaced keeps its permission bits
            try:
                os.chmod(tmp, stat.S_IMODE(old.st_mode) & 0o777)
            except OSError:                  # a file system without modes: keep the umask's
                pass
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def save_params(path, layer) -> None:
    """Write the values of every parameter of ``layer`` (a layer or a list) to ``path``.

    The file is an ``.npz`` keyed by parameter name (see :func:`param_names`),
    written atomically: a temporary file in the same folder, flushed to disk,
    then renamed over ``path``. ``path`` is used as given (no suffix added).
    A symbolic link is followed (the file it points to is replaced, the link
    stays); a path that is a folder, a FIFO or a device is refused.

    Under MPI with several ranks (:mod:`layerkit.distributed`) only rank 0
    writes; the other ranks check the arguments and return (it is not a
    collective: calling it on rank 0 alone is fine).
    """
    path, _ = _folder_of(path, "save_params")
    _save_target(path, "save_params")       # a bad target is refused before any work
    params = _params(layer, "save_params")
    # lazy: importing layerkit.distributed registers its exit hook; load_params needs none
    from .distributed.world import get_world
    if get_world().rank != 0:
        return
    arrays = {key: np.ascontiguousarray(p.get_value()) for key, p in zip(_keys(params), params)}
    for key, value in arrays.items():
        if value.dtype.hasobject:
            raise TypeError(f"save_params: parameter {key!r} holds Python objects "
                            f"(dtype {value.dtype}); only numeric arrays can be saved")
    atomic_write(path, lambda f: _write_npz(f, arrays), "save_params")


def _write_npz(f, arrays) -> None:
    """What ``np.savez`` writes (one ``<key>.npy`` member per array), pickle refused."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def _fsync_folder(folder) -> None:
    # makes the rename itself durable on POSIX; not possible (nor needed) everywhere
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read(path) -> dict[str, np.ndarray]:
    """Every array of the file, read in full (so a bad CRC or a short member shows now)."""
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ParamFileError(f"load_params: {path!r} holds a single array (.npy), not a "
                                 f"parameter file (.npz) written by save_params")
        with npz:
            return {key: npz[key] for key in npz.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError, ParamFileError):
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, NotImplementedError,
            UnicodeDecodeError) as err:
        raise ParamFileError(f"load_params: cannot read {path!r} as a parameter file (.npz): "
                             f"{type(err).__name__}: {err}. The file is truncated, corrupted "
                             f"or not a parameter file; no parameter was changed.") from None


def _listing(names, limit=6):
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def load_params(path, layer) -> None:
    """Set every parameter of ``layer`` (a layer or a list) from the file at ``path``.

    Names, shapes and dtypes must match the network exactly; every check is
    made (and the whole file read) before any parameter changes, so on error
    the network keeps its values. A file saved Lasagne's way,
    ``np.savez(path, *get_all_param_values(net))`` (keys ``arr_0``,
    ``arr_1``, ...), is read by position.
    """
    path, _ = _folder_of(path, "load_params")
    params = _params(layer, "load_params")
    keys = _keys(params)
    arrays = _read(path)

    if set(arrays) != set(keys) and len(arrays) == len(keys) and \
            set(arrays) == {f"arr_{i}" for i in range(len(keys))}:
        arrays = {key: arrays[f"arr_{i}"] for i, key in enumerate(keys)}   # Lasagne's habit
    missing = [k for k in keys if k not in arrays]
    unexpected = [k for k in arrays if k not in keys]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"the network's parameters {_listing(missing)} are not in the file")
        if unexpected:
            parts.append(f"the file's {_listing(unexpected)} are not parameters of the network")
        raise ValueError(f"load_params: {path!r} does not match the network: "
                         + "; ".join(parts) + f". The network has {len(keys)} parameters "
                         f"({_listing(keys)}); the file has {len(arrays)}. No parameter was "
                         f"changed.")
    for key, param in zip(keys, params):
        value, expected = arrays[key], param.get_value(borrow=True)
        if value.shape != expected.shape:
            raise ValueError(f"load_params: parameter {key!r} has shape {expected.shape}, but "
                             f"{path!r} holds shape {value.shape} for it. No parameter was "
                             f"changed.")
        if value.dtype != expected.dtype:
            raise TypeError(f"load_params: parameter {key!r} has dtype {expected.dtype}, but "
                            f"{path!r} holds dtype {value.dtype} for it (build the network "
                            f"with the floatX it was saved with). No parameter was changed.")

    old = [p.get_value() for p in params]
    try:
        for key, param in zip(keys, params):
            param.set_value(arrays[key], borrow=True)
    except BaseException:
        for param, value in zip(params, old):
            param.set_value(value, borrow=True)
        raise
