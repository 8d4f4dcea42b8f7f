"""An opt-in pytest plugin: ``--layerkit-backend``, ``--layerkit-quick`` and the
``backend`` fixture.

Load it with ``-p layerkit.testing.plugin`` or ``pytest_plugins =
["layerkit.testing.plugin"]`` in a conftest; it is never loaded automatically.
(``-p layerkit.testing`` loads it too, and runs the kit: see ``layerkit.testing.kit``.)

``--layerkit-backend=NAME`` (repeatable, or a comma-separated list) chooses
the backends; the default is every backend that plugins provide. A backend
that cannot run here (no GPU, a missing library) is skipped with its reason.
The name ``host`` selects the host backend: the generic kernels on plain
numpy arrays, which the core uses for shapes and constant folding.

``--layerkit-quick`` leaves out the grid cases marked ``layerkit_full_grid``
(three quarters of the convolution and pooling grids); the backends in
:data:`QUICK_BACKENDS` always run that way.
"""
from __future__ import annotations

import pytest

from layerkit.backend import NoBackendError, backend_names, get_backend, host_backend

__all__ = ["pytest_addoption", "pytest_configure", "pytest_generate_tests",
           "pytest_collection_modifyitems", "selected_backends", "backend", "QUICK_BACKENDS"]

HOST = "host"
#: backends that always leave out the full grids: layerkit's own test backend over
#: array-api-strict runs the generic kernels, slow by design
QUICK_BACKENDS = ("array-api-strict",)
FULL_GRID_MARK = "layerkit_full_grid"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("layerkit")
    group.addoption("--layerkit-backend", action="append", default=[], metavar="NAME",
                    help="run backend-parametrised tests on NAME (repeatable or comma-separated; "
                         "default: every discovered backend; 'host' is the generic kernels "
                         "on numpy)")
    group.addoption("--layerkit-quick", action="store_true", default=False,
                    help="leave out the grid cases marked layerkit_full_grid (the kit's "
                         "representative quarter of the conv and pool grids still runs)")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", f"{FULL_GRID_MARK}: a case of the full conv/pool grids, left out by "
                   f"--layerkit-quick and on {', '.join(QUICK_BACKENDS)}")


def selected_backends(config) -> list[str]:
    """The backend names chosen on the command line, else every discovered one."""
    chosen = [n.strip() for opt in config.getoption("--layerkit-backend") or []
              for n in opt.split(",") if n.strip()]
    if chosen:
        return list(dict.fromkeys(chosen))
    return backend_names()


def pytest_generate_tests(metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = selected_backends(metafunc.config)
        metafunc.parametrize("backend", names, ids=names, indirect=True)


def pytest_collection_modifyitems(config, items) -> None:
    quick = config.getoption("--layerkit-quick")
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on = callspec.params.get("backend") if callspec is not None else None
        if item.get_closest_marker(FULL_GRID_MARK) and (quick or on in QUICK_BACKENDS):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def backend(request):
    """The backend under test, created on first use; unavailable ones are skipped."""
    if request.param == HOST:
        return host_backend()
    try:
        return get_backend(request.param)
    except NoBackendError as err:
        pytest.skip(str(err))
