"""Hook implementations; the backend module (which imports cupy) loads lazily."""
from layerkit.backend import hookimpl


def _make_cupy_backend():
    from .backend import CupyBackend
    return CupyBackend()


_make_cupy_backend.name = "cupy"


@hookimpl
def layerkit_backends():
    return [_make_cupy_backend]
