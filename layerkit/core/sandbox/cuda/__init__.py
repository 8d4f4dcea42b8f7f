"""``theano.sandbox.cuda``: the old CUDA back end's flags, for scripts that test them.

layerkit has no ``theano.sandbox.cuda`` back end: the device is a backend
plugin (``LAYERKIT_FLAGS=backend=cupy``, ``layerkit backends``), and every
layer runs on every backend. So ``cuda_enabled`` and ``cuda_available`` are
False, and a script that takes its CPU path where Theano had no GPU does the
same here; ``use(...)`` (selecting a GPU) changes nothing and says so.

>>> import layerkit.core.sandbox.cuda as cuda
>>> cuda.cuda_enabled, cuda.cuda_available, cuda.dnn.dnn_available()
(False, False, False)
"""
from ...ignored import warn_ignored
from . import dnn

__all__ = ["cuda_enabled", "cuda_available", "cuda_initialization_error_message", "use",
           "dnn"]

cuda_enabled = False
cuda_available = False
cuda_initialization_error_message = (
    "layerkit has no theano.sandbox.cuda back end; choose a device through a backend "
    "(LAYERKIT_FLAGS=backend=..., see 'layerkit backends')")


def use(device=None, force=False, default_to_move_computation_to_gpu=True,
        move_shared_float32_to_gpu=True, enable_cuda=True, test_driver=True):
    """Theano's ``theano.sandbox.cuda.use('gpu0')``: accepted, and does nothing here."""
    warn_ignored("theano.sandbox.cuda.use", "device",
                 "layerkit chooses its device through backends (LAYERKIT_FLAGS=backend=...)")
