"""The cupy backend: arrays on a CUDA device."""
from __future__ import annotations

import numpy as np

from layerkit.backend import Backend, BackendUnavailable

try:
    import cupy
except ImportError as err:  # reported by the registry as the reason it is unavailable
    raise BackendUnavailable("cupy is not installed: pip install 'layerkit-cupy[cupy]' "
                             f"({err})") from None


def _device_count() -> int:
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception as err:
        raise BackendUnavailable(f"no CUDA device: {err}") from None


class CupyBackend(Backend):
    name = "cupy"
    version = cupy.__version__
    xp = cupy

    def __init__(self) -> None:
        if _device_count() < 1:
            raise BackendUnavailable("no CUDA device found")
        super().__init__()

    @property
    def device(self) -> str:
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        return f"cuda:{cupy.cuda.Device().id} ({props['name'].decode()})"

    def from_numpy(self, a):
        return cupy.asarray(a)

    def to_numpy(self, x):
        return cupy.asnumpy(x) if isinstance(x, cupy.ndarray) else np.asarray(x)

    def is_array(self, x) -> bool:
        return isinstance(x, cupy.ndarray)
