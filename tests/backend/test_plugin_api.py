"""The plugin API is declared, and the shipped plugins keep to it.

A plugin imports from layerkit only the names in ``layerkit.backend.PLUGIN_API``,
and only from ``layerkit.backend`` (``docs/writing-a-backend.md`` §1). The
imports are read with ``ast`` from the source, not by importing it, so the cupy
plugin's GPU-only code is checked too, and so are imports inside functions,
``import layerkit.backend as lb`` followed by ``lb.name``, and
``importlib.import_module("layerkit....")``.

Checked: every module of the two shipped plugins' packages and the worked
outside plugin (``examples/layerkit_numexpr``) except its ``tests/``: a
plugin's tests may use ``layerkit.testing`` and layerkit's user API as well.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import layerkit.backend
from layerkit.backend import PLUGIN_API

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("plugins/numpy_backend/src", "plugins/cupy_backend/src", "examples/layerkit_numexpr")
API_MODULE = "layerkit.backend"


def _modules() -> list[Path]:
    files = []
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT / top).parts
            if "tests" not in rel and not any(p.endswith(".egg-info") for p in rel):
                files.append(path)
    return files


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def undeclared_imports(source: str, api=PLUGIN_API) -> list[tuple[int, str]]:
    """``(line, what)`` for everything ``source`` takes from layerkit outside ``api``."""
    tree = ast.parse(source)
    bad: list[tuple[int, str]] = []
    aliases: dict[str, str] = {}      # local name -> the layerkit module it is bound to

    def is_layerkit(name: str) -> bool:
        return name == "layerkit" or name.startswith("layerkit.")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if not is_layerkit(a.name):
                    continue
                if a.name not in ("layerkit", API_MODULE):
                    bad.append((node.lineno, a.name))
                elif a.asname:
                    aliases[a.asname] = a.name
                else:
                    aliases["layerkit"] = "layerkit"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and is_layerkit(node.module):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if node.module == API_MODULE and a.name in api:
                    continue
                if full == API_MODULE:       # from layerkit import backend
                    aliases[a.asname or a.name] = API_MODULE
                    continue
                bad.append((node.lineno, full))
        elif isinstance(node, ast.Call) and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and is_layerkit(node.args[0].value) \
                and (_dotted(node.func) or "").split(".")[-1] in ("import_module", "__import__"):
            if node.args[0].value != API_MODULE:
                bad.append((node.lineno, node.args[0].value))
    # attributes read through a module bound above: lb.Backend, layerkit.backend.Backend
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:   # whole chains only
            continue
        dotted = _dotted(node)
        if dotted is None or dotted.split(".")[0] not in aliases:
            continue
        head, *rest = dotted.split(".")
        full = ".".join([aliases[head], *rest])
        if full.startswith(API_MODULE + "."):
            name = full[len(API_MODULE) + 1:].split(".")[0]
            if name not in api:
                bad.append((node.lineno, f"{API_MODULE}.{name}"))
        elif full != API_MODULE and not API_MODULE.startswith(full):
            bad.append((node.lineno, full))
    return sorted(set(bad))


def test_the_checked_modules_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    for expected in ("plugins/numpy_backend/src/layerkit_numpy/plugin.py",
                     "plugins/numpy_backend/src/layerkit_numpy/elemwise.py",
                     "plugins/cupy_backend/src/layerkit_cupy/conv.py",
                     "plugins/cupy_backend/src/layerkit_cupy/fusion.py",
                     "examples/layerkit_numexpr/src/layerkit_numexpr/plugin.py"):
        assert expected in names


def test_shipped_plugins_import_only_the_plugin_api():
    report = []
    for path in _modules():
        for line, what in undeclared_imports(path.read_text(encoding="utf-8")):
            report.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not report, ("imports from layerkit outside layerkit.backend.PLUGIN_API "
                        "(docs/writing-a-backend.md):\n  " + "\n  ".join(report))


def test_the_api_is_exported_and_documented():
    assert len(set(PLUGIN_API)) == len(PLUGIN_API)
    missing = [n for n in PLUGIN_API if not hasattr(layerkit.backend, n)]
    assert not missing, f"declared but not exported from layerkit.backend: {missing}"
    assert set(PLUGIN_API) <= set(layerkit.backend.__all__)
    doc = (ROOT / "docs" / "writing-a-backend.md").read_text(encoding="utf-8")
    undocumented = [n for n in PLUGIN_API if not re.search(rf"`{re.escape(n)}[`(]", doc)]
    assert not undocumented, f"plugin API names not in docs/writing-a-backend.md: {undocumented}"


@pytest.mark.parametrize("source,expected", [
    ("from layerkit.backend import Backend, hookimpl", []),
    ("from layerkit.backend import get_backend", ["layerkit.backend.get_backend"]),
    ("from layerkit.backend.kernels.conv import ConvGeometry",
     ["layerkit.backend.kernels.conv.ConvGeometry"]),
    ("from layerkit.backend.kernels import nnet as g", ["layerkit.backend.kernels.nnet"]),
    ("def f():\n    from layerkit.core import tensor", ["layerkit.core.tensor"]),
    ("import layerkit.core.tensor as T", ["layerkit.core.tensor"]),
    ("import layerkit.backend as lb\nlb.Backend\nlb.registry.use",
     ["layerkit.backend.registry"]),
    ("import layerkit.backend\nlayerkit.backend.FusedElemwise\nlayerkit.core",
     ["layerkit.core"]),
    ("from layerkit import backend\nbackend.hookimpl\nbackend.fusion.compose",
     ["layerkit.backend.fusion"]),
    ("from layerkit import core", ["layerkit.core"]),
    ("import importlib\nimportlib.import_module('layerkit.backend.kernels.pool')",
     ["layerkit.backend.kernels.pool"]),
    ("from .kernels import x\nimport numpy\nfrom layerkit_numpy import conv", []),
])
def test_the_checker_catches_what_it_should(source, expected):
    assert [what for _, what in undeclared_imports(source)] == expected
