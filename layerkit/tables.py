"""Plain-text tables for the command line (``layerkit backends``, ``--check``)."""
from __future__ import annotations

__all__ = ["GENERIC_LABEL", "format_table"]

#: what the tables show as the provider of a kernel from ``layerkit.backend.kernels``
GENERIC_LABEL = "generic"


def format_table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """``rows`` (the first is the header) as lines with left-aligned columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
