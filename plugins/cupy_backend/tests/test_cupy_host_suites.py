"""layerkit's conformance suites (``layerkit.testing.suite_*``) run against the cupy
backend created on the host emulation of cupy: the backend's kernel table, its
Python code and its CUDA source (compiled by the host C++ compiler) go through
every case the numpy backend passes. What this cannot show is cupy's and the
GPU's own behaviour (NVRTC, cuBLAS, CUDA's math library): ``test_cupy_gpu.py``
and the same suites with ``--layerkit-backend=cupy`` do that on a GPU.

The suite functions are called directly with the backend, once per case of
their ``parametrize`` marks (the pytest plugin's ``backend`` parametrisation
only knows backends named on the command line), leaving out the cases marked
``layerkit_full_grid`` as ``--layerkit-quick`` does: ``test_cupy_host_kernels.py``
runs the whole conv and pool grids against the generic kernels.
"""
from __future__ import annotations

import importlib
import inspect
import itertools

import pytest

SUITES = ("suite_kernels", "suite_conv", "suite_ops")


FULL_GRID = "layerkit_full_grid"


def _param_values(value, n):
    if hasattr(value, "values") and hasattr(value, "marks") and hasattr(value, "id"):
        if any(getattr(m, "name", None) == FULL_GRID for m in value.marks):
            return None                       # the full grid: test_cupy_host_kernels has it
        return tuple(value.values)            # a pytest.param(...): always a tuple
    return tuple(value) if n > 1 else (value,)


def _combinations(fn):
    """The keyword arguments of every case of ``fn``'s parametrize marks."""
    axes = []
    for mark in getattr(fn, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [s.strip() for s in names.split(",")] if isinstance(names, str) else list(names)
        axes.append([dict(zip(names, vals)) for vals in
                     (_param_values(v, len(names)) for v in values) if vals is not None])
    for combo in itertools.product(*axes):
        merged = {}
        for part in combo:
            merged.update(part)
        yield merged


def _cases():
    for suite in SUITES:
        try:
            module = importlib.import_module(f"layerkit.testing.{suite}")
        except ModuleNotFoundError as err:
            if err.name != f"layerkit.testing.{suite}":
                raise
            continue
        for name in module.__all__:
            fn = getattr(module, name)
            if not callable(fn) or not name.startswith("test_"):
                continue
            for k, kwargs in enumerate(_combinations(fn)):
                yield pytest.param(suite, name, kwargs, id=f"{suite}.{name}[{k}]")


@pytest.mark.parametrize("suite,name,kwargs", list(_cases()))
def test_suite_case_on_the_emulated_cupy_backend(host_backend, suite, name, kwargs):
    fn = getattr(importlib.import_module(f"layerkit.testing.{suite}"), name)
    params = inspect.signature(fn).parameters
    extra = set(params) - set(kwargs) - {"backend"}
    if extra:
        pytest.skip(f"{name} needs fixtures this runner does not provide: {sorted(extra)}")
    fn(backend=host_backend, **kwargs)
