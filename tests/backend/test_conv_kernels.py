from layerkit.testing.suite_conv import *  # noqa: F401,F403
