"""The ``layerkit`` command: ``backends``, ``demo``.

``layerkit backends`` (or ``python -m layerkit backends``) lists every
discovered backend with its status, version, provider and device, which
package provides each kernel, and every plugin that was skipped, with why.
``layerkit backends --check NAME`` runs the kit (``layerkit.testing``) on
backend NAME and prints one row per kernel: passed, failed, generic fallback
or not checked; it exits with 1 when anything failed.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .backend.registry import GENERIC_PROVIDER, backend_status, plugin_errors
from .tables import GENERIC_LABEL, format_table

__all__ = ["main", "format_backends"]

def format_backends(kernels: str = "all") -> str:
    """The text of ``layerkit backends``; ``kernels`` is 'all', 'overrides' or 'none'."""
    records = backend_status()
    out: list[str] = []
    if not records:
        out.append("No backends installed. Install the numpy backend: pip install 'layerkit[numpy]'"
                   " (from a checkout: pip install ./plugins/numpy_backend)")
    else:
        out.append("Backends:")
        rows = [["NAME", "STATUS", "VERSION", "PROVIDER", "DEVICE"]]
        reasons = {}
        for r in records:
            rows.append([r.name, r.status, r.version or "-", r.distribution, r.device or "-"])
            if r.reason:
                reasons[len(rows) - 1] = r.reason
        for i, line in enumerate(format_table(rows)):
            out.append(line)
            if i in reasons:
                out.append(f"      reason: {reasons[i]}")

    created = [r for r in records if r.instance is not None]
    if created and kernels != "none":
        out.append("")
        out.append(f"Kernels (the package providing each; '{GENERIC_LABEL}' is "
                   f"{GENERIC_PROVIDER}; '*' marks a plugin overriding the backend's own):")
        names = sorted({k for r in created for k in r.instance.kernel_table})
        rows = [["KERNEL"] + [r.name for r in created]]
        for k in names:
            cells = []
            for r in created:
                prov = r.instance.kernel_providers.get(k)
                if prov is None:
                    cells.append("(missing)")
                elif prov == GENERIC_PROVIDER:
                    cells.append(GENERIC_LABEL)
                else:
                    cells.append(prov + ("*" if prov != r.distribution else ""))
            if kernels == "overrides" and all(c == GENERIC_LABEL for c in cells):
                continue
            rows.append([k] + cells)
        out.extend(format_table(rows))

    problems = plugin_errors()
    if problems:
        out.append("")
        out.append("Plugins skipped or misbehaving:")
        for p in problems:
            out.append(f"  {p.name} ({p.distribution}): {p.reason}")
    return "\n".join(out)


def _backends(args: argparse.Namespace) -> int:
    if args.check:
        return _check(args)
    print(format_backends("overrides" if args.overrides else
                          "none" if args.no_kernels else "all"))
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        # lazy: the kit needs pytest (the testing extra), and `layerkit backends` must run
        # without it; layerkit.testing also loads layerkit.core (~70 ms)
        from layerkit.testing.check import check_backend, format_report
        report = check_backend(args.check, full=args.full,
                               pytest_args=["-k", args.k] if args.k else [])
    except ModuleNotFoundError as err:
        if err.name not in ("pytest", "scipy", "hypothesis"):
            raise
        print(f"layerkit backends --check needs {err.name}: pip install 'layerkit[testing]'",
              file=sys.stderr)
        return 2
    except (ValueError, RuntimeError) as err:   # unknown, or unavailable here (NoBackendError)
        print(f"layerkit backends --check: {err}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 1 if report.failed else 0


def _demo(argv: Sequence[str]) -> int:
    try:
        # lazy: the demo needs its extra (scikit-learn, ...), and `layerkit backends` must
        # run without it
        demo = importlib.import_module("layerkit.demo")
    except ModuleNotFoundError as err:
        if err.name == "layerkit.demo":
            print("layerkit demo: not available in this version of layerkit", file=sys.stderr)
        else:
            print(f"layerkit demo needs {err.name}: pip install 'layerkit[demo]'",
                  file=sys.stderr)
        return 2
    return demo.main(list(argv)) or 0


_PASSTHROUGH = {"demo": _demo}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerkit", description="layerkit command line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("backends", help="list backends, their status and kernel providers")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--overrides", action="store_true",
                       help="list only kernels that some backend does not take from the "
                            "generic set")
    shown.add_argument("--no-kernels", action="store_true", help="leave out the kernel table")
    shown.add_argument("--check", metavar="NAME",
                       help="run the conformance kit on backend NAME (seconds) and print a "
                            "row per kernel: passed / failed / generic fallback; exits 1 on "
                            "any failure")
    p.add_argument("--full", action="store_true",
                   help="with --check: the full conv/pool grids, not the representative cases")
    p.add_argument("-k", metavar="EXPR",
                   help="with --check: only the kit's tests matching EXPR (pytest's -k)")
    sub.add_parser("demo", help="train the demo network (options: layerkit demo --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``layerkit`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in _PASSTHROUGH:  # their own options are theirs to parse
            return _PASSTHROUGH[argv[0]](argv[1:])
        args = _parser().parse_args(argv)
        return _backends(args)
    except BrokenPipeError:  # `layerkit backends | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
