"""An opt-in pytest plugin: ``--layerkit-backend`` and the ``backend`` fixture.

Load it with ``-p layerkit.testing.plugin`` or ``pytest_plugins =
["layerkit.testing.plugin"]`` in a conftest; it is never loaded automatically.

``--layerkit-backend=NAME`` (repeatable, or a comma-separated list) chooses
the backends; the default is every backend that plugins provide. A backend
that cannot run here (no GPU, a missing library) is skipped with its reason.
The name ``host`` selects the host backend: the generic kernels on plain
numpy arrays, which the core uses for shapes and constant folding.
"""
from __future__ import annotations

import pytest

__all__ = ["pytest_addoption", "pytest_generate_tests", "selected_backends", "backend"]

HOST = "host"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("layerkit")
    group.addoption("--layerkit-backend", action="append", default=[], metavar="NAME",
                    help="run backend-parametrised tests on NAME (repeatable or comma-separated; "
                         "default: every discovered backend; 'host' is the generic kernels "
                         "on numpy)")


def selected_backends(config) -> list[str]:
    """The backend names chosen on the command line, else every discovered one."""
    chosen = [n.strip() for opt in config.getoption("--layerkit-backend") or []
              for n in opt.split(",") if n.strip()]
    if chosen:
        return list(dict.fromkeys(chosen))
    from layerkit.backend import backend_names
    return backend_names()


def pytest_generate_tests(metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = selected_backends(metafunc.config)
        metafunc.parametrize("backend", names, ids=names, indirect=True)


@pytest.fixture
def backend(request):
    """The backend under test, created on first use; unavailable ones are skipped."""
    from layerkit.backend import NoBackendError, get_backend
    if request.param == HOST:
        from layerkit.backend import host_backend
        return host_backend()
    try:
        return get_backend(request.param)
    except NoBackendError as err:
        pytest.skip(str(err))
