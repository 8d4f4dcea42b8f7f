"""The scan suite of ``layerkit.testing`` (``suite_scan``) on the selected
backends: loops against a plain Python loop in float64 numpy, gradients through
the loop against finite differences."""
from layerkit.testing.suite_scan import *  # noqa: F401,F403
