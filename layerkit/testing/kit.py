"""The kit: layerkit's conformance suites, run against a backend with one command.

::

    pytest -p layerkit.testing --layerkit-backend=acme            # the whole kit
    pytest -p layerkit.testing --layerkit-backend=acme --layerkit-quick   # seconds
    pytest -p layerkit.testing --layerkit-backend=acme -k sigmoid  # one kernel

``-p layerkit.testing`` (or ``-p layerkit.testing.kit``) loads the pytest
plugin (``layerkit.testing.plugin``: ``--layerkit-backend``, the ``backend``
fixture) and adds the suites of :data:`SUITES` to what pytest collects:

* ``suite_kernels``: every kernel of the contract against float64 references;
* ``suite_conv``: convolution and pooling kernels, their gradients included;
* ``suite_ops``: ops compiled on the backend, forward and gradients by finite
  differences (fusion, in-place updates and ``out=`` included);
* ``suite_scan``: loops (``theano.scan``) against Python loops, and their
  gradients by finite differences.

Run with no paths, only the kit runs; with paths, the kit runs with them.
These are the very modules layerkit's own tests and plugins import (``from
layerkit.testing.suite_kernels import *`` in a test module is the other way to
run them). Every failure names the kernel (or the op case), the case and the
mismatch; ``layerkit backends --check NAME`` runs the same suites and prints
one row per kernel.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["SUITES", "suite_paths", "pytest_configure", "pytest_pycollect_makemodule"]

pytest_plugins = ["layerkit.testing.plugin"]

#: the suite modules of the kit, in the order they run
SUITES = ("layerkit.testing.suite_kernels", "layerkit.testing.suite_conv",
          "layerkit.testing.suite_ops", "layerkit.testing.suite_scan")


def suite_paths() -> list[str]:
    """The files of :data:`SUITES` (where this installation of layerkit has them)."""
    here = Path(__file__).resolve().parent
    return [str(here / (name.rsplit(".", 1)[1] + ".py")) for name in SUITES]


def pytest_configure(config) -> None:
    from _pytest.config import Config  # lazy: pytest is optional; suite_paths works without it

    paths = suite_paths()
    # no paths on the command line: pytest would collect the current directory
    # (or testpaths); the kit alone runs instead
    if config.args_source != Config.ArgsSource.ARGS:
        config.args[:] = paths
    else:
        config.args.extend(p for p in paths if p not in config.args)


def pytest_pycollect_makemodule(module_path, parent):
    """Name the suites ``layerkit/testing/suite_*.py`` in test ids when they lie outside
    the rootdir (an installed layerkit), where pytest would leave the file out of the id."""
    import pytest  # lazy: pytest is optional; suite_paths works without it

    if str(module_path) not in suite_paths():
        return None
    try:
        module_path.relative_to(parent.config.rootpath)
        return None
    except ValueError:
        nodeid = module_path.relative_to(module_path.parents[2]).as_posix()
        return pytest.Module.from_parent(parent, path=module_path, nodeid=nodeid)
