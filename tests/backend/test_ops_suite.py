"""The op suite of ``layerkit.testing`` (``suite_ops``) on the selected backends:
graphs compiled through the core, forward against float64 references (numpy,
SciPy) and gradients against finite differences (``verify_grad``).

This is layerkit's one op suite: every core op's numbers are checked here, on
every backend the run selects and by every outside plugin that runs the kit,
and each failure names its op case and kernels. ``tests/core`` keeps what is
about the core itself (graph building, static shapes, rewrites, errors).
"""
from layerkit.testing.suite_ops import *  # noqa: F401,F403
