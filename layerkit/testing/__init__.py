"""Testing tools for layerkit and for authors of backend plugins.

- :func:`verify_grad` checks a symbolic gradient against finite differences;
- ``layerkit.testing.plugin`` is an opt-in pytest plugin (``-p
  layerkit.testing.plugin``) adding ``--layerkit-backend`` and a ``backend``
  fixture parametrised over the selected backends;
- ``layerkit.testing.suite_kernels`` (and friends) are the backend-parametrised
  suites: import them into a test module to run them against your backend.
"""
from .verify_grad import GradientError, verify_grad

__all__ = ["verify_grad", "GradientError"]
