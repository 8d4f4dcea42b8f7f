"""``layerkit backends --check NAME``: the kit run in-process, reported per kernel.

:func:`check_backend` runs the kit's suites (``layerkit.testing.kit.SUITES``,
the very modules ``pytest -p layerkit.testing`` runs) with ``pytest.main``
on one backend, the representative quarter of the conv/pool grids unless
``full``. While a test runs, the backend records every kernel looked up
through ``backend.kernel(name)``; a test that passes counts for each of them.
A failure goes to the kernels its exception blames
(:func:`layerkit.testing.compare.blamed_kernels`: every failure of the suites
names them), else to every kernel the test looked up. A failure of a compiled
graph (the op suite) goes to those of its kernels that also fail when called
directly, when there are any, since they explain it. :func:`format_report`
prints one row per kernel: ``passed``, ``failed``, ``generic fallback`` (the
backend uses layerkit's generic array-API kernel, and it passed) or ``not
checked``.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from layerkit.backend import get_backend
from layerkit.backend.kernels import KERNEL_NAMES
from layerkit.backend.registry import GENERIC_PROVIDER, backend_status
from layerkit.tables import GENERIC_LABEL, format_table
from layerkit.testing.compare import KernelMismatch, blamed_kernels, is_direct
from layerkit.testing.kit import suite_paths

__all__ = ["KernelResult", "CheckReport", "check_backend", "format_report"]

PASSED, FAILED, GENERIC, NOT_CHECKED = "passed", "failed", "generic fallback", "not checked"


@dataclass
class KernelResult:
    """What the kit found about one kernel of the backend."""

    name: str
    #: the package providing the backend's kernel (``layerkit (generic)`` for the generic one)
    provider: str
    passed: int = 0
    #: one line per failing test: the test and the failure's message
    failures: list[str] = field(default_factory=list)

    @property
    def generic(self) -> bool:
        return self.provider == GENERIC_PROVIDER

    @property
    def status(self) -> str:
        if self.failures:
            return FAILED
        if not self.passed:
            return NOT_CHECKED
        return GENERIC if self.generic else PASSED


@dataclass
class CheckReport:
    """The outcome of :func:`check_backend`."""

    backend: str
    version: str
    distribution: str
    kernels: dict[str, KernelResult]
    tests: dict[str, int]            # pytest outcome -> count
    #: failures that blame no kernel (a collection error, a broken fixture)
    other_failures: list[str]
    seconds: float
    quick: bool
    #: pytest's own output, for when something went wrong outside the tests
    pytest_output: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.other_failures) or any(k.failures for k in self.kernels.values())


class _Recorder:
    """Wraps ``backend.kernel`` for the run: collects the names looked up per test."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.seen: set[str] = set()
        self._lookup = backend.kernel

    def __enter__(self) -> "_Recorder":
        lookup = self._lookup

        def kernel(name: str):
            self.seen.add(name)
            return lookup(name)
        self.backend.kernel = kernel          # shadows the method on this instance only
        return self

    def __exit__(self, *exc: object) -> None:
        self.backend.__dict__.pop("kernel", None)


def _message(excinfo: Any) -> str:
    err = excinfo.value
    text = str(err) if isinstance(err, KernelMismatch) else f"{type(err).__name__}: {err}"
    return text.strip()


class _Collector:
    """A pytest plugin object: one entry per test, the kernels it looked up."""

    def __init__(self, recorder: _Recorder, report: CheckReport) -> None:
        self.recorder, self.report = recorder, report
        #: op-suite failures: (line, kernels blamed, kernels looked up), placed at the end
        self.indirect: list[tuple[str, tuple[str, ...], frozenset[str]]] = []

    def _result(self, name: str) -> KernelResult:
        found = self.report.kernels.get(name)
        if found is None:
            found = KernelResult(name, self.recorder.backend.kernel_providers.get(name, "?"))
            self.report.kernels[name] = found
        return found

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.recorder.seen = set()

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        import pytest  # lazy: the testing extra; this module imports without it
        if call.excinfo is None or call.excinfo.errisinstance(pytest.skip.Exception):
            return
        test = item.name
        line = f"{test}: {_message(call.excinfo)}"
        blamed = blamed_kernels(call.excinfo.value) or tuple(sorted(self.recorder.seen))
        if blamed and not is_direct(call.excinfo.value):
            self.indirect.append((line, blamed, frozenset(self.recorder.seen)))
            return
        if not blamed:
            self.report.other_failures.append(line)
        for name in blamed:
            self._result(name).failures.append(line)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = "failed" if report.failed else report.outcome
            self.report.tests[outcome] = self.report.tests.get(outcome, 0) + 1
        if report.when == "call" and report.passed:
            for name in self.recorder.seen:
                self._result(name).passed += 1

    def place_indirect(self) -> None:
        """Put each op-suite failure in the rows of the kernels that explain it."""
        direct = {k for k, r in self.report.kernels.items() if r.failures}
        for line, blamed, seen in self.indirect:
            culprits = (set(blamed) | seen) & direct
            for name in sorted(culprits) or blamed:
                self._result(name).failures.append(line)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.report.other_failures.append(f"collecting {report.nodeid}: "
                                              f"{str(report.longrepr).strip()[-2000:]}")


def check_backend(name: str, *, full: bool = False, pytest_args: Sequence[str] = ()) -> CheckReport:
    """Run the kit on backend ``name`` and return the per-kernel outcome.

    Raises ``ValueError`` (unknown backend) or ``NoBackendError`` (not
    available here) before running anything, and ``ModuleNotFoundError``
    when pytest (the ``testing`` extra) is not installed.
    """
    # lazy: pytest is the testing extra; without it this raises here, as documented above,
    # while format_report and the report classes still work
    import pytest

    backend = get_backend(name)
    record = next(r for r in backend_status(create=False) if r.name == name)
    report = CheckReport(backend=name, version=str(backend.version),
                         distribution=record.distribution, kernels={}, tests={},
                         other_failures=[], seconds=0.0, quick=not full)
    collector = _Collector(_Recorder(backend), report)
    for k in sorted(set(backend.kernel_table) | KERNEL_NAMES):
        collector._result(k)
    with tempfile.TemporaryDirectory(prefix="layerkit-check-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")      # the current directory's settings do not apply
        args = [*suite_paths(), "-p", "layerkit.testing.plugin", f"--layerkit-backend={name}",
                "-c", str(ini), "--rootdir", tmp, "-p", "no:cacheprovider", "-q",
                "--no-header", "-o", "console_output_style=classic"]
        if not full:
            args.append("--layerkit-quick")
        args.extend(pytest_args)
        out = io.StringIO()
        start = time.perf_counter()
        with collector.recorder, contextlib.redirect_stdout(out):
            code = pytest.main(args, plugins=[collector])
        report.seconds = time.perf_counter() - start
    collector.place_indirect()
    report.pytest_output = out.getvalue()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not report.failed:
        report.other_failures.append(f"pytest stopped with exit code {int(code)} "
                                     f"({getattr(code, 'name', code)})")
    return report


def _short(text: str, width: int) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width - 3] + "..."


def format_report(report: CheckReport, detail_width: int = 100) -> str:
    """The text ``layerkit backends --check`` prints."""
    tests = ", ".join(f"{n} {k}" for k, n in sorted(report.tests.items()))
    out = [f"Kit run on backend {report.backend!r} ({report.distribution} {report.version}), "
           f"{'quick: representative conv/pool cases' if report.quick else 'full grids'}: "
           f"{tests or 'no tests'} in {report.seconds:.1f} s", ""]
    rows = [["KERNEL", "PROVIDER", "RESULT", "TESTS", "FIRST FAILURE"]]
    for k in sorted(report.kernels):
        r = report.kernels[k]
        provider = GENERIC_LABEL if r.generic else r.provider
        if provider not in (GENERIC_LABEL, report.distribution):
            provider += "*"
        n = r.passed + len(r.failures)
        rows.append([k, provider, r.status, str(n) if n else "-",
                     _short(r.failures[0], detail_width) if r.failures else ""])
    out.extend(format_table(rows))
    failed = [r for r in report.kernels.values() if r.failures]
    if failed or report.other_failures:
        out += ["", "Failures (the first three per kernel; rerun one with "
                    "pytest -p layerkit.testing --layerkit-backend=NAME -k TEST):"]
        for r in sorted(failed, key=lambda r: r.name):
            out.append(f"  {r.name} ({len(r.failures)} failing test"
                       f"{'s' if len(r.failures) != 1 else ''}):")
            for line in r.failures[:3]:
                out.extend("    " + t for t in line.splitlines()[:12])
        for line in report.other_failures:
            out.extend("  " + t for t in line.splitlines()[:20])
    counts: dict[str, int] = {}
    for r in report.kernels.values():
        counts[r.status] = counts.get(r.status, 0) + 1
    out += ["", "Kernels: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in
                                        (PASSED, FAILED, GENERIC, NOT_CHECKED))
            + ("; '*' marks a plugin overriding the backend's own kernel" if any(
                row[1].endswith("*") for row in rows[1:]) else "")]
    return "\n".join(out)
