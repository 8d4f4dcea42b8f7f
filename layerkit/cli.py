"""The ``layerkit`` command: ``backends``, ``demo``, ``bench``."""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _backends(args) -> int:
    from layerkit.backend import backend_status, plugin_errors
    from layerkit.backend.registry import GENERIC_PROVIDER

    records = backend_status()
    if not records:
        print("no backends installed: pip install layerkit[numpy] "
              "(from a checkout: pip install ./plugins/numpy_backend)")
    for r in records:
        line = f"{r.name:<18} {r.status:<12} from {r.distribution}"
        if r.instance is not None:
            line += f"  version {r.instance.version}  device {r.instance.device}"
        print(line)
        if r.error:
            print(f"{'':18} reason: {r.error}")
    created = [r for r in records if r.instance is not None]
    if created:
        print("\nkernels (provider per backend; '-' is the generic array-API version):")
        names = sorted({k for r in created for k in r.instance.kernel_table})
        width = max(len(n) for n in names) + 2
        print(" " * width + "".join(f"{r.name:<22}" for r in created))
        for k in names:
            cells = []
            for r in created:
                prov = r.instance.kernel_providers.get(k)
                cells.append(f"{'-' if prov == GENERIC_PROVIDER else (prov or 'missing'):<22}")
            if args.overrides and all(c.strip() == "-" for c in cells):
                continue
            print(f"{k:<{width}}" + "".join(cells))
    problems = plugin_errors()
    if problems:
        print("\nplugins skipped:")
        for p in problems:
            print(f"  {p.name} ({p.distribution}): {p.reason}")
    return 0


def _demo(argv) -> int:
    from layerkit import demo
    return demo.main(argv) or 0


def _bench(argv) -> int:
    print("layerkit bench: not available yet; run the scripts in bench/ of a checkout "
          "(python bench/bench_core.py)", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="layerkit", description="layerkit command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("backends", help="list backends, their status and kernel providers")
    p.add_argument("--overrides", action="store_true",
                   help="show only kernels some backend overrides")
    sub.add_parser("demo", help="train the demo network", add_help=False)
    sub.add_parser("bench", help="benchmarks", add_help=False)
    if argv and argv[0] in ("demo", "bench"):
        return {"demo": _demo, "bench": _bench}[argv[0]](argv[1:])
    args = parser.parse_args(argv)
    return _backends(args)


if __name__ == "__main__":
    sys.exit(main())
