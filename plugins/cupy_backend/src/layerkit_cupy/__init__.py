"""layerkit's cupy backend. Importing this package never imports cupy."""
__version__ = "0.1.0"
