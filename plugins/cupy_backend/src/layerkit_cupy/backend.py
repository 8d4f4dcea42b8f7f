"""The cupy backend: arrays on a CUDA device.

cupy is imported when the backend is created, never when the plugin is
loaded, so a machine without cupy or without a GPU only sees the backend
listed as unavailable, with the reason.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from layerkit.backend import Backend, BackendUnavailable

from . import __version__
from .kernels import CUPY_KERNELS

__all__ = ["CupyBackend"]


def _import_cupy() -> Any:
    """Import cupy and check for a CUDA device; BackendUnavailable says what is missing."""
    try:
        import cupy
    except ModuleNotFoundError as err:
        if err.name != "cupy":  # cupy is there, but something it needs is not
            raise BackendUnavailable(f"cupy failed to import: {err}") from None
        raise BackendUnavailable("cupy is not installed: pip install 'layerkit-cupy[cupy]' "
                                 "(or the cupy wheel matching your CUDA)") from None
    except Exception as err:  # e.g. CUDA libraries missing or of the wrong version
        raise BackendUnavailable(f"cupy failed to import: {type(err).__name__}: {err}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # no driver, or a driver too old for this cupy
        raise BackendUnavailable(f"no CUDA device: {type(err).__name__}: {err}") from None
    if count < 1:
        raise BackendUnavailable("no CUDA device: the CUDA runtime reports 0 devices")
    return cupy


class CupyBackend(Backend):
    """CUDA arrays through cupy: cuBLAS products, im2col convolution, custom pooling,
    softmax and counter-based random kernels, and one generated kernel per fused
    elementwise chain (see ``kernels.py``)."""

    name = "cupy"
    #: the plugin's version; the device line names cupy's and CUDA's
    version = __version__
    #: kernels overriding the generic ones; they find cupy when called, so reading
    #: this table never imports it
    kernels = CUPY_KERNELS

    def __init__(self) -> None:
        self.xp = _import_cupy()
        super().__init__()

    @property
    def device(self) -> str:
        cupy = self.xp
        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        cuda = cupy.cuda.runtime.runtimeGetVersion()
        return f"cuda:{dev.id} {gpu} (cupy {cupy.__version__}, CUDA runtime {cuda})"

    def from_numpy(self, a: np.ndarray) -> Any:
        return self.xp.asarray(a)

    def to_numpy(self, x: Any) -> np.ndarray:
        if isinstance(x, self.xp.ndarray):
            return self.xp.asnumpy(x)
        return np.asarray(x)

    def is_array(self, x: Any) -> bool:
        return isinstance(x, self.xp.ndarray)

    def fuse(self, spec):
        """One generated ElementwiseKernel per fused chain (cached by structure)."""
        from .fusion import build_kernel
        try:
            return build_kernel(spec)
        except NotImplementedError:
            return None  # an op without a CUDA form: the core composes kernels instead
