"""A host emulation of the parts of cupy the plugin uses, for tests on machines
without a GPU.

* Arrays are numpy arrays of the subclass :class:`DeviceArray` (cupy's
  ``ndarray`` here); ``asarray``/``asnumpy`` copy, as transfers to and from a
  device do, so a test cannot pass by aliasing host memory.
* ``RawKernel(source, name)`` compiles the very CUDA source the plugin generates
  with the host C++ compiler (a prelude defines ``__global__``, ``threadIdx``,
  ``__fmul_rn``, ...) and runs the grid's blocks and threads one after another.
  The plugin's kernels are grid-stride loops without shared memory or
  synchronisation, so this is an exact emulation of their index arithmetic.
  It is strict where cupy is silent: every scalar argument must be a numpy
  scalar of exactly the declared C type (cupy passes a scalar's bytes as they
  are) and every pointer a C-contiguous device array of the declared type.
* ``ElementwiseKernel(in_params, out_params, body, name, preamble=)`` compiles
  the body inside a loop over the broadcast elements, with ``i`` the flat
  index, as cupy does.

Numerics are the host's: ``expf``/``logf``/``cosf`` of glibc, not CUDA's, so
transcendental results agree with the GPU to a few ulp, integer and exactly
rounded arithmetic bit for bit.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types

import numpy as np

__all__ = ["compiler", "make_fake_cupy", "install", "DeviceArray", "HOST_PRELUDE",
           "host_source", "compile_source", "parse_signature"]

HOST_PRELUDE = r"""
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <algorithm>
using namespace std;
struct lk_uint3 { unsigned int x, y, z; };
static lk_uint3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
"""

#: C type -> (ctypes type, numpy dtype)
_SCALARS = {
    "bool": (ctypes.c_bool, "bool"), "signed char": (ctypes.c_int8, "int8"),
    "short": (ctypes.c_int16, "int16"), "int": (ctypes.c_int32, "int32"),
    "long long": (ctypes.c_int64, "int64"), "unsigned char": (ctypes.c_uint8, "uint8"),
    "unsigned short": (ctypes.c_uint16, "uint16"), "unsigned int": (ctypes.c_uint32, "uint32"),
    "unsigned long long": (ctypes.c_uint64, "uint64"), "float": (ctypes.c_float, "float32"),
    "double": (ctypes.c_double, "float64"),
}
_BY_DTYPE = {d: c for c, (_, d) in _SCALARS.items()}


@functools.lru_cache(maxsize=1)
def compiler() -> str | None:
    """The host C++ compiler (``$CXX``, ``g++``, ``c++`` or ``clang++``), or None."""
    for cand in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    return None


_LIBS: dict = {}


def _cache_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), f"layerkit_hostcuda_{os.getuid()}")
    os.makedirs(path, exist_ok=True)
    return path


def compile_source(source: str) -> ctypes.CDLL:
    """Compile C++ ``source`` into a shared library (cached by its text) and load it."""
    lib = _LIBS.get(source)
    if lib is not None:
        return lib
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no host C++ compiler (g++, c++ or clang++) to emulate CUDA kernels")
    digest = hashlib.sha256((cxx + "\0" + source).encode()).hexdigest()[:24]
    so = os.path.join(_cache_dir(), f"k_{digest}.so")
    if not os.path.exists(so):
        cpp = so[:-3] + f".{os.getpid()}.cpp"
        tmp = so + f".{os.getpid()}.tmp"
        with open(cpp, "w") as f:
            f.write(source)
        proc = subprocess.run([cxx, "-O2", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=off",
                               "-w", "-o", tmp, cpp], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the host compiler rejected the kernel source:\n{proc.stderr}\n"
                               f"--- source ---\n{source}")
        os.replace(tmp, so)
        os.unlink(cpp)
    lib = _LIBS[source] = ctypes.CDLL(so)
    return lib


def _host_text(cuda: str) -> str:
    return cuda.replace('extern "C" __global__', 'extern "C"')


_SIG = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\((.*?)\)\s*\{', re.S)


def parse_signature(source: str, name: str) -> list[tuple[str, str, bool]]:
    """``[(C type, parameter name, is_pointer)]`` of the ``__global__`` function ``name``."""
    for m in _SIG.finditer(source):
        if m.group(1) != name:
            continue
        params = []
        for raw in m.group(2).split(","):
            raw = " ".join(raw.replace("__restrict__", " ").split())
            pointer = "*" in raw
            decl = raw.replace("*", " ").split()
            pname, ctype = decl[-1], " ".join(w for w in decl[:-1] if w != "const")
            params.append((ctype, pname, pointer))
        return params
    raise ValueError(f"no __global__ function {name!r} in the source")


def host_source(cuda: str, name: str) -> str:
    """The host C++ translation unit for kernel ``name``, with a launcher
    ``lk_launch_<name>(grid, block, args...)`` that runs every block and thread."""
    params = parse_signature(cuda, name)
    decl = ", ".join(f"{c}{'*' if p else ''} {n}" for c, n, p in params)
    call = ", ".join(n for _, n, _ in params)
    launcher = f"""
extern "C" void lk_launch_{name}(unsigned int g, unsigned int b, {decl}) {{
    gridDim.x = g; gridDim.y = gridDim.z = 1; blockDim.x = b; blockDim.y = blockDim.z = 1;
    threadIdx.y = threadIdx.z = blockIdx.y = blockIdx.z = 0;
    for (unsigned int bi = 0; bi < g; ++bi) {{
        for (unsigned int ti = 0; ti < b; ++ti) {{
            blockIdx.x = bi; threadIdx.x = ti;
            {name}({call});
        }}
    }}
}}
"""
    return HOST_PRELUDE + _host_text(cuda) + launcher


class DeviceArray(np.ndarray):
    """An array "on the device" of the emulation (a numpy array underneath)."""


def _dev(x):
    if isinstance(x, DeviceArray):
        return x
    if isinstance(x, np.ndarray):
        return x.view(DeviceArray)
    if isinstance(x, np.generic):       # cupy returns 0-d arrays, not scalars
        return np.asarray(x).view(DeviceArray)
    if isinstance(x, tuple):
        return tuple(_dev(v) for v in x)
    if isinstance(x, list):
        return [_dev(v) for v in x]
    return x


class RawKernel:
    """``cupy.RawKernel`` run on the host (see the module's docstring)."""

    created = 0

    def __init__(self, code: str, name: str, **options) -> None:
        type(self).created += 1
        self.code, self.name = code, name
        self.params = parse_signature(code, name)
        self._fn = None

    def compile(self, log_stream=None):
        self._launcher()

    def _launcher(self):
        if self._fn is None:
            lib = compile_source(host_source(self.code, self.name))
            fn = getattr(lib, f"lk_launch_{self.name}")
            fn.argtypes = [ctypes.c_uint, ctypes.c_uint] + [
                ctypes.c_void_p if p else _SCALARS[c][0] for c, _, p in self.params]
            fn.restype = None
            self._fn = fn
        return self._fn

    def __call__(self, grid, block, args, shared_mem=0, stream=None):
        grid, block = tuple(grid), tuple(block)
        if len(grid) != 1 or len(block) != 1:
            raise ValueError(f"{self.name}: the emulation runs 1-d launches, got {grid}, {block}")
        if len(args) != len(self.params):
            raise TypeError(f"{self.name}: {len(self.params)} parameters, {len(args)} arguments")
        converted = []
        for k, (a, (ctype, pname, pointer)) in enumerate(zip(args, self.params)):
            where = f"{self.name} argument {k} ({ctype}{'*' if pointer else ''} {pname})"
            if pointer:
                if not isinstance(a, DeviceArray):
                    raise TypeError(f"{where}: expected a device array, got {type(a).__name__}")
                if not a.flags.c_contiguous:
                    raise ValueError(f"{where}: the array is not C-contiguous (a kernel reading "
                                     f"it as flat memory would read the wrong elements)")
                want = _SCALARS[ctype][1]
                if a.dtype != np.dtype(want):
                    raise TypeError(f"{where}: array of {a.dtype}, expected {want}")
                converted.append(a.ctypes.data)
            else:
                want = _SCALARS[ctype][1]
                if not isinstance(a, np.generic) or a.dtype != np.dtype(want):
                    raise TypeError(f"{where}: expected a numpy {want} scalar, got {a!r} "
                                    f"({type(a).__name__}); cupy would pass its bytes unchanged")
                converted.append(a.item())
        self._launcher()(int(grid[0]), int(block[0]), *converted)


def _parse_params(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) != 2 or words[0] == "raw":
            raise NotImplementedError(f"the emulation takes 'dtype name' parameters, got {part!r}")
        out.append((np.dtype(words[0]).name, words[1]))
    return out


class ElementwiseKernel:
    """``cupy.ElementwiseKernel`` run on the host (see the module's docstring)."""

    created = 0

    def __init__(self, in_params: str, out_params: str, operation: str, name: str = "kernel",
                 preamble: str = "", **options) -> None:
        type(self).created += 1
        self.inputs, self.outputs = _parse_params(in_params), _parse_params(out_params)
        self.operation, self.name, self.preamble = operation, name, preamble
        self._fn = None

    def source(self) -> str:
        params = ["long long n"]
        loads = []
        for k, (dtype, pname) in enumerate(self.inputs):
            c = _BY_DTYPE[dtype]
            params += [f"const {c}* p{k}", f"long long s{k}"]
            loads.append(f"const {c} {pname} = p{k}[i_ * s{k}];")
        for k, (dtype, pname) in enumerate(self.outputs):
            c = _BY_DTYPE[dtype]
            params.append(f"{c}* q{k}")
            loads.append(f"{c}& {pname} = q{k}[i_];")
        body = "\n        ".join(loads + self.operation.splitlines())
        return (HOST_PRELUDE + _host_text(self.preamble) + f"""
extern "C" void lk_elementwise({", ".join(params)}) {{
    for (long long i_ = 0; i_ < n; ++i_) {{
        const ptrdiff_t i = (ptrdiff_t)i_;
        {body}
    }}
}}
""")

    def _compiled(self):
        if self._fn is None:
            fn = compile_source(self.source()).lk_elementwise
            fn.restype = None
            self._fn = fn
        return self._fn

    def __call__(self, *args, **kwargs):
        if kwargs.pop("size", None) is not None or kwargs:
            raise NotImplementedError(f"the emulation takes no keyword arguments: {kwargs}")
        n_in, n_out = len(self.inputs), len(self.outputs)
        if len(args) not in (n_in, n_in + n_out):
            raise TypeError(f"{self.name}: {n_in} inputs (+ {n_out} outputs), {len(args)} given")
        ins, outs = args[:n_in], args[n_in:]
        arrays = [a for a in list(ins) + list(outs) if isinstance(a, np.ndarray)]
        shape = np.broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
        for o in outs:
            if not isinstance(o, np.ndarray) or o.shape != shape:
                raise ValueError(f"{self.name}: an output of shape {getattr(o, 'shape', o)}, "
                                 f"expected {shape}")
        c_args = [ctypes.c_longlong(int(np.prod(shape, dtype=np.int64)))]
        keep = []
        for a, (dtype, pname) in zip(ins, self.inputs):
            if isinstance(a, np.ndarray):
                if a.dtype != np.dtype(dtype):
                    raise TypeError(f"{self.name} input {pname}: array of {a.dtype}, "
                                    f"declared {dtype}")
                flat = np.ascontiguousarray(np.broadcast_to(a, shape)).ravel() \
                    if a.size != 1 else np.ascontiguousarray(a).ravel()
                stride = 1 if a.size != 1 else 0
            else:
                flat = np.asarray(a).astype(dtype).ravel()
                stride = 0
            keep.append(flat)
            c_args += [ctypes.c_void_p(flat.ctypes.data), ctypes.c_longlong(stride)]
        results = []
        for k, (dtype, pname) in enumerate(self.outputs):
            if outs:
                if outs[k].dtype != np.dtype(dtype):
                    raise TypeError(f"{self.name} output {pname}: array of {outs[k].dtype}, "
                                    f"declared {dtype}")
                buf = np.array(outs[k], dtype=dtype, order="C", copy=True)
            else:
                buf = np.empty(shape, dtype=dtype)
            results.append(buf)
            c_args.append(ctypes.c_void_p(buf.ctypes.data))
        if int(np.prod(shape, dtype=np.int64)):
            self._compiled()(*c_args)
        if outs:
            for o, buf in zip(outs, results):
                o[...] = buf
            results = list(outs)
        results = [_dev(r) for r in results]
        return results[0] if n_out == 1 else tuple(results)


def make_fake_cupy() -> types.ModuleType:
    """A fresh module standing in for cupy (numpy underneath, kernels on the host)."""
    mod = types.ModuleType("cupy")
    mod.__version__ = "host-emulation"
    mod.ndarray = DeviceArray
    mod.RawKernel = RawKernel
    mod.ElementwiseKernel = ElementwiseKernel

    def asarray(a, dtype=None, order=None):
        if isinstance(a, DeviceArray) and (dtype is None or a.dtype == np.dtype(dtype)):
            return a
        return np.array(a, dtype=dtype, order=order or "K", copy=True).view(DeviceArray)

    def asnumpy(a, stream=None, order="C"):
        return np.array(a, copy=True, order=order).view(np.ndarray)

    mod.asarray = asarray
    mod.array = lambda a, dtype=None, copy=True, order="K", ndmin=0: \
        np.array(a, dtype=dtype, copy=True, order=order, ndmin=ndmin).view(DeviceArray)
    mod.asnumpy = asnumpy

    class _Device:
        id = 0

        def __init__(self, i=0):
            self.id = i

        def synchronize(self):
            pass

    class _Event:                      # host time: the emulation runs synchronously
        def __init__(self, *args, **kwargs):
            self.t = None

        def record(self, stream=None):
            self.t = time.perf_counter()

        def synchronize(self):
            pass

    mod.cuda = types.SimpleNamespace(
        Device=_Device, Event=_Event,
        get_elapsed_time=lambda start, end: (end.t - start.t) * 1e3,
        runtime=types.SimpleNamespace(
            getDeviceCount=lambda: 1,
            getDeviceProperties=lambda i: {"name": b"host emulation (C++ on the CPU)"},
            runtimeGetVersion=lambda: 0))

    def __getattr__(name):
        fn = getattr(np, name)
        if callable(fn) and not isinstance(fn, type):
            @functools.wraps(fn)
            def wrapped(*args, **kwargs):
                return _dev(fn(*args, **kwargs))
            setattr(mod, name, wrapped)
            return wrapped
        return fn

    mod.__getattr__ = __getattr__
    return mod


def make_fake_cupyx() -> dict[str, types.ModuleType]:
    import scipy.special as sp

    special = types.ModuleType("cupyx.scipy.special")
    for name in ("expit", "erf"):
        ufunc = getattr(sp, name)

        def wrapped(*args, _u=ufunc, out=None):
            return _dev(_u(*args, out=out))
        setattr(special, name, wrapped)
    scipy_mod = types.ModuleType("cupyx.scipy")
    scipy_mod.special = special
    cupyx = types.ModuleType("cupyx")
    cupyx.scipy = scipy_mod
    return {"cupyx": cupyx, "cupyx.scipy": scipy_mod, "cupyx.scipy.special": special}


def install(monkeypatch) -> types.ModuleType:
    """Put a fresh emulation in ``sys.modules`` for one test (``monkeypatch`` undoes it)."""
    mod = make_fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", mod)
    for name, m in make_fake_cupyx().items():
        monkeypatch.setitem(sys.modules, name, m)
    return mod
