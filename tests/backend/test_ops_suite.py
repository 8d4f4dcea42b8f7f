"""The op suite of ``layerkit.testing`` (graphs compiled on the selected backends,
forward against float64 references, gradients against finite differences)."""
from layerkit.testing.suite_ops import *  # noqa: F401,F403
