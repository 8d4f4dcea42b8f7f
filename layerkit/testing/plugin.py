"""An opt-in pytest plugin: ``--layerkit-backend`` and the ``backend`` fixture.

Load it with ``-p layerkit.testing.plugin`` or ``pytest_plugins = [...]`` in a
conftest; it is never loaded automatically.
"""
from __future__ import annotations

import pytest

__all__ = ["pytest_addoption", "pytest_generate_tests", "selected_backends"]


def pytest_addoption(parser) -> None:
    group = parser.getgroup("layerkit")
    group.addoption("--layerkit-backend", action="append", default=[], metavar="NAME",
                    help="run backend-parametrised tests on NAME (repeatable or comma-separated; "
                         "default: every discovered backend)")


def selected_backends(config) -> list[str]:
    from layerkit.backend import backend_names
    chosen = [n.strip() for opt in config.getoption("--layerkit-backend") or []
              for n in opt.split(",") if n.strip()]
    return chosen or backend_names()


def pytest_generate_tests(metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = selected_backends(metafunc.config)
        metafunc.parametrize("backend", names, ids=names, indirect=True)


@pytest.fixture
def backend(request):
    """The backend under test, created on first use; unavailable ones are skipped."""
    from layerkit.backend import NoBackendError, get_backend
    try:
        return get_backend(request.param)
    except NoBackendError as err:
        pytest.skip(str(err))
