"""``summary(layer)``: a network as a table of layers, output shapes and parameter counts.

>>> from layerkit.layers import InputLayer, DenseLayer, summary
>>> net = DenseLayer(DenseLayer(InputLayer((None, 4), name="in"), 8, name="h"), 2, name="out")
>>> print(summary(net))
#  layer  type        output shape  params  trainable  regularizable
0  in     InputLayer  (None, 4)          0          0              0
1  h      DenseLayer  (None, 8)         40         40             32
2  out    DenseLayer  (None, 2)         18         18             16
   total                                58         58             48
"""
from __future__ import annotations

import math

from ..utils import collect_shared_vars
from .helper import get_all_layers

__all__ = ["summary"]

_FIRST_TAGS = ("trainable", "regularizable")


def _incoming(layer):
    if hasattr(layer, "input_layers"):
        return [lyr for lyr in layer.input_layers if lyr is not None]
    lyr = getattr(layer, "input_layer", None)
    return [] if lyr is None else [lyr]


def _shape(shape) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def summary(layer) -> str:
    """The table of ``layer`` (a layer or a list) and every layer below it, as text.

    One row per layer in :func:`get_all_layers` order: its position, name,
    type, output shape (``None`` for a size known only at run time), number
    of parameter values, and that number split by tag (one column per tag
    found: ``trainable``, ``regularizable``, then any others); then a row of
    totals. A parameter shared by several layers is counted once, at the
    first of them, and the later ones say ``shares N``. When a layer takes
    input from layers other than the row just above it, an ``input`` column
    gives their positions.
    """
    layers = get_all_layers(layer)
    position = {lyr: i for i, lyr in enumerate(layers)}
    seen: set = set()
    tags_found: list[str] = []
    rows = []
    for i, lyr in enumerate(layers):
        counts: dict[str, int] = {}
        total = shared = 0
        for spec, tags in getattr(lyr, "params", {}).items():
            for var in collect_shared_vars(spec):
                size = math.prod(var.get_value(borrow=True).shape)
                if var in seen:
                    shared += size
                    continue
                seen.add(var)
                total += size
                for tag in tags:
                    counts[tag] = counts.get(tag, 0) + size
                    if tag not in tags_found:
                        tags_found.append(tag)
        inputs = [position[inc] for inc in _incoming(lyr)]
        rows.append(dict(index=i, name=lyr.name or "", type=type(lyr).__name__,
                         shape=_shape(lyr.output_shape), total=total, counts=counts,
                         shared=shared, inputs=inputs))

    tags = [t for t in _FIRST_TAGS if t in tags_found] + \
        sorted(t for t in tags_found if t not in _FIRST_TAGS)
    for t in _FIRST_TAGS:  # always shown, so a frozen network reads "trainable 0"
        if t not in tags:
            tags.insert(_FIRST_TAGS.index(t), t)
    chain = all(r["inputs"] in ([], [r["index"] - 1]) for r in rows)
    header = ["#", "layer", "type"] + ([] if chain else ["input"]) + \
        ["output shape", "params"] + tags + (["note"] if any(r["shared"] for r in rows) else [])
    table = [header]
    for r in rows:
        line = [str(r["index"]), r["name"], r["type"]]
        if not chain:
            line.append(",".join(map(str, r["inputs"])))
        line += [r["shape"], str(r["total"])] + [str(r["counts"].get(t, 0)) for t in tags]
        if header[-1] == "note":
            line.append(f"shares {r['shared']}" if r["shared"] else "")
        table.append(line)
    totals = ["", "total", ""] + ([] if chain else [""]) + \
        ["", str(sum(r["total"] for r in rows))] + \
        [str(sum(r["counts"].get(t, 0) for r in rows)) for t in tags]
    if header[-1] == "note":
        totals.append("")
    table.append(totals)

    numeric = set(range(header.index("params"), header.index("params") + 1 + len(tags)))
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    lines = []
    for row in table:
        cells = [cell.rjust(w) if c in numeric else cell.ljust(w)
                 for c, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
