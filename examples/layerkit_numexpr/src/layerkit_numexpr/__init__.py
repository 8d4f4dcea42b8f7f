"""layerkit-numexpr: the numpy backend's ``softplus`` evaluated by numexpr.

A kernel-override plugin: it provides no backend, only a faster kernel for
one that exists (``layerkit_kernels`` in :mod:`layerkit_numexpr.plugin`).
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
