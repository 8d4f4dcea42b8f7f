"""The kit as an outside author runs it: ``pytest -p layerkit.testing`` and
``layerkit backends --check``, on the numpy backend, with and without a plugin
whose ``sigmoid`` is wrong on purpose (``tests/plugins/layerkit_wrong_kernel``,
installed into a temporary directory the way pip would: its package on the
path and a ``.dist-info`` with its entry point)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from layerkit.testing.compare import KernelMismatch, assert_close, describe_mismatch
from layerkit.testing.kit import SUITES, suite_paths

WRONG = Path(__file__).resolve().parents[1] / "plugins" / "layerkit_wrong_kernel"


def _install(site: Path, dist: str, version: str, entry_points: str) -> None:
    """The metadata ``pip install`` leaves behind, without building: a
    ``.dist-info`` with the entry points (the package goes on PYTHONPATH)."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture(scope="module")
def wrong_site(tmp_path_factory):
    """PYTHONPATH entries under which the wrong-sigmoid plugin is installed."""
    pyproject = (WRONG / "pyproject.toml").read_text()
    assert 'wrong-sigmoid = "layerkit_wrong_kernel"' in pyproject
    site = tmp_path_factory.mktemp("site")
    _install(site, "layerkit-wrong-kernel", "0.1.0",
             "[layerkit]\nwrong-sigmoid = layerkit_wrong_kernel\n")
    return [str(site), str(WRONG / "src")]


def _run(args, site=(), cwd=None, timeout=300):
    """Run ``python args`` in a fresh process, ``site`` on its PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERKIT_")}
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONPATH"] = os.pathsep.join([*site, *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def _table_rows(out):
    """KERNEL -> the other cells of its row in the --check table."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["KERNEL", "PROVIDER"])
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows[line.split()[0]] = line.split()[1:]
    return rows


def test_describe_mismatch_names_count_errors_index_and_values():
    want = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    got = want.copy()
    got[1, 2] = 0.7
    got[0, 0] = np.nan
    text = describe_mismatch(got, want, rtol=1e-6, atol=1e-6)
    assert text.startswith("2 of 6 elements differ beyond rtol=1e-06, atol=1e-06")
    assert "at index (0, 0) (got nan, expected 0.1)" in text
    assert describe_mismatch(got[1:, :2], want[1:, :2], 1e-6, 1e-6) is None
    with pytest.raises(KernelMismatch, match=r"kernel 'sigmoid', case c: shape \(2,\), "
                                             r"expected \(3,\)") as info:
        assert_close(np.zeros(2), np.zeros(3), "sigmoid", "c")
    assert info.value.layerkit_kernels == ("sigmoid",)


def test_the_kit_is_the_suites_our_own_tests_import():
    assert [Path(p).name for p in suite_paths()] == [s.rsplit(".", 1)[1] + ".py" for s in SUITES]
    assert all(Path(p).is_file() for p in suite_paths())


def test_pytest_p_layerkit_testing_collects_the_three_suites(tmp_path):
    res = _run(["-m", "pytest", "-p", "layerkit.testing", "--layerkit-backend=numpy",
                "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    for suite, test in (("suite_kernels", "test_unary[numpy-sigmoid-float32]"),
                        ("suite_conv", "test_pool2d_grad["), ("suite_ops", "test_op_gradient[")):
        assert f"{suite}.py::{test}" in res.stdout, res.stdout[-3000:]


def test_the_kit_catches_a_wrong_kernel_naming_it_the_case_and_the_mismatch(wrong_site,
                                                                            tmp_path):
    res = _run(["-m", "pytest", "-p", "layerkit.testing", "--layerkit-backend=numpy", "-q",
                "-p", "no:cacheprovider", "-k",
                "test_unary and sigmoid and float32 and not 0d or test_op_forward and sigmoid"],
               site=wrong_site, cwd=tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out[-3000:]
    # the kernel suite: kernel, case, how many elements, largest errors with index and values
    m = re.search(r"KernelMismatch: kernel 'sigmoid', case float32 \(3, 5, 7\) in \[-6, 6\) "
                  r"with .*: (\d+) of 105 elements differ beyond rtol=2e-06, atol=1e-06; "
                  r"max abs error (\S+)( and max rel error \S+)? at index \(\d+, \d+, \d+\) "
                  r"\(got \S+, expected \S+\)", out)
    assert m, out[-4000:]
    assert int(m.group(1)) > 0 and float(m.group(2)) > 1e-3
    # the op suite: the compiled graph on the backend fails too, naming the kernel
    assert re.search(r"op case 'sigmoid', case forward on \[\(3, 4\)\] \(kernels sigmoid\): "
                     r"\d+ of 12 elements differ", out), out[-4000:]
    assert re.search(r"FAILED \S*suite_kernels.py::test_unary\[numpy-sigmoid-float32\]", out)
    assert "def assert_close" not in out     # the report shows the test's line, not the helper


def test_backends_check_prints_a_row_per_kernel_and_fails_on_the_wrong_one(wrong_site,
                                                                           tmp_path):
    res = _run(["-m", "layerkit", "backends", "--check", "numpy", "-k",
                "test_unary and (sigmoid or tanh or softplus) or test_shape_kernels "
                "or test_op_gradient and softplus"],
               site=wrong_site, cwd=tmp_path)
    out = res.stdout
    assert res.returncode == 1, out + res.stderr
    rows = _table_rows(out)
    assert rows["sigmoid"][:2] == ["layerkit-wrong-kernel*", "failed"], out
    assert "kernel 'sigmoid', case float32 (3, 5, 7)" in " ".join(rows["sigmoid"])
    assert rows["tanh"][:2] == ["layerkit-numpy", "passed"]
    # softplus's gradient is a sigmoid: that op case fails, in sigmoid's row, not softplus's
    assert rows["softplus"][:2] == ["layerkit-numpy", "passed"]
    assert "test_op_gradient[numpy-softplus]: op case 'softplus'" in out
    assert rows["copy"][:3] == ["generic", "generic", "fallback"]      # the generic kernel
    assert rows["matmul"][:3] == ["layerkit-numpy", "not", "checked"]  # left out by -k
    assert re.search(r"sigmoid \(\d failing tests?\):\n    test_unary\[numpy-sigmoid-float\d\d\]: "
                     r"kernel 'sigmoid', case float\d\d \(3, 5, 7\) .* elements differ", out), out
    assert "Kernels: " in out and " 1 failed" in out


def test_backends_check_passes_on_numpy_and_rejects_unknown_backends(tmp_path):
    res = _run(["-m", "layerkit", "backends", "--check", "numpy", "-k",
                "test_unary and tanh or test_conv2d_grads"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"conv2d_grad_weight +layerkit-numpy +passed", res.stdout), res.stdout
    assert "0 failed" in res.stdout
    res = _run(["-m", "layerkit", "backends", "--check", "nmupy"], cwd=tmp_path)
    assert res.returncode == 2
    assert "unknown backend 'nmupy'" in res.stderr and "Did you mean 'numpy'?" in res.stderr
