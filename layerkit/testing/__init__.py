"""Testing tools for layerkit and for authors of backend plugins.

- :func:`verify_grad` checks a symbolic gradient against finite differences;
- ``layerkit.testing.plugin`` is an opt-in pytest plugin (``-p
  layerkit.testing.plugin``) adding ``--layerkit-backend`` and a ``backend``
  fixture parametrised over the selected backends;
- ``layerkit.testing.suite_kernels``, ``suite_conv``, ``suite_ops`` and ``suite_scan`` are the
  backend-parametrised suites (the kit); ``pytest -p layerkit.testing
  --layerkit-backend=NAME`` runs them all against backend NAME (see
  ``layerkit.testing.kit``), or import them into a test module;
- ``layerkit.testing.compare`` is how they compare and report: a
  :class:`KernelMismatch` names the kernel, the case and the mismatch.
"""
from .compare import KernelMismatch
from .verify_grad import GradientError, verify_grad

__all__ = ["verify_grad", "GradientError", "KernelMismatch"]

# read by pytest only when this package is loaded as a plugin (-p layerkit.testing):
# that runs the kit; importing layerkit.testing does nothing of the kind
pytest_plugins = ["layerkit.testing.kit"]
