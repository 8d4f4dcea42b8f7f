"""Graph printing: ``debugprint`` (Theano's text tree) and a Graphviz dot export."""
from __future__ import annotations

import io
import sys
from typing import Iterable

from .function import Function
from .graph import Constant, Variable, toposort
from .shared import SharedVariable

__all__ = ["debugprint", "dot_graph", "pprint", "pydotprint"]


def _outputs_of(obj) -> tuple[list[Variable], str]:
    """Variables to print: a variable, a list of them, or a compiled function (rewritten)."""
    if isinstance(obj, Function):
        return list(obj.outputs) + list(obj.update_values), "compiled"
    if isinstance(obj, Variable):
        return [obj], "graph"
    return list(obj), "graph"


def _label(v: Variable) -> str:
    if isinstance(v, Constant):
        return f"{v!r} [constant {v.dtype}]"
    kind = "shared " if isinstance(v, SharedVariable) else ""
    return f"{v.name or '<' + kind.strip() + ('input' if not kind else '') + '>'} [{kind}{v.dtype}, shape {v.type.shape}]"


def debugprint(obj, file=None, print_type: bool = True, ids: str = "CHAR") -> str | None:
    """Print a graph as an indented tree, one node per line; shared subtrees once.

    ``file='str'`` returns the text instead of printing it. ``ids`` is how a
    node is tagged (Theano's choices): ``'CHAR'`` letters (A, B, ...), ``'int'``
    numbers (0, 1, ...), ``'id'`` the Python ``id`` of the node, ``''`` none.
    """
    if ids not in ("CHAR", "int", "id", ""):
        raise ValueError(f"debugprint: ids must be 'CHAR', 'int', 'id' or '', got {ids!r}")
    outputs, _ = _outputs_of(obj)
    out = io.StringIO()
    names: dict[int, str] = {}

    def ident(node_or_var) -> str:
        key = id(node_or_var)
        if key not in names:
            n = len(names)
            names[key] = {"CHAR": _letters(n), "int": str(n), "id": str(key)}.get(ids, "")
        return names[key]

    stack = [(v, 0) for v in reversed(outputs)]
    seen: set[int] = set()
    while stack:
        v, depth = stack.pop()
        pad = " |" * depth
        if v.owner is None:
            out.write(f"{pad}{_label(v)}\n")
            continue
        node = v.owner
        typ = f" {v.dtype} {v.type.shape}" if print_type else ""
        name = f" '{v.name}'" if v.name else ""
        tag = ident(node)
        tag = f" [{tag}]" if tag else ""
        if id(node) in seen:
            out.write(f"{pad}{node.op}{tag}{name}{typ} ...\n")
            continue
        seen.add(id(node))
        out.write(f"{pad}{node.op}{tag}{name}{typ}\n")
        stack.extend((i, depth + 1) for i in reversed(node.inputs))
    text = out.getvalue()
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return None


def _letters(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def pprint(v: Variable) -> str:
    """A one-line summary of a variable's graph (its output op and inputs)."""
    return debugprint(v, file="str").splitlines()[0]


def dot_graph(obj) -> str:
    """The graph in Graphviz's dot language (render it with ``dot -Tpng``)."""
    outputs, _ = _outputs_of(obj)
    lines = ["digraph layerkit {", "  rankdir=BT;"]
    ids: dict[int, str] = {}

    def vid(v: Variable) -> str:
        if id(v) not in ids:
            ids[id(v)] = f"v{len(ids)}"
            shape = "box" if v.owner is None else "ellipse"
            label = _label(v).replace('"', "'") if v.owner is None else \
                f"{v.dtype} {v.type.shape}"
            lines.append(f'  {ids[id(v)]} [shape={shape}, label="{label}"];')
        return ids[id(v)]

    for k, node in enumerate(toposort(outputs)):
        nid = f"n{k}"
        lines.append(f'  {nid} [shape=octagon, label="{str(node.op).replace(chr(34), chr(39))}"];')
        for i in node.inputs:
            lines.append(f"  {vid(i)} -> {nid};")
        for o in node.outputs:
            lines.append(f"  {nid} -> {vid(o)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def pydotprint(fct, outfile=None, compact=True, format="png", with_ids=False,
               high_contrast=True, cond_highlight=None, colorCodes=None, max_label_size=70,
               scan_graphs=False, var_with_name_simple=False, print_output_file=True,
               return_image=False):
    """Theano's ``theano.printing.pydotprint``: draw a graph (a variable, a list of them
    or a compiled function) to ``outfile``.

    ``format='dot'`` writes the Graphviz text of :func:`dot_graph` and needs
    nothing. Any other format ('png', 'svg', 'pdf', ...) is drawn by the
    optional package ``pydot`` (with Graphviz's ``dot`` program), which
    layerkit does not ship: without it this raises ``ImportError`` saying so.
    ``outfile`` defaults to ``layerkit.pydotprint.<format>`` in the current
    directory; ``return_image=True`` returns the image's bytes (the text for
    'dot') instead of writing a file. The layout options (``compact``,
    ``with_ids``, ``high_contrast``, ``colorCodes``, ``max_label_size``,
    ``var_with_name_simple``, ``cond_highlight``, ``scan_graphs``) only change
    the drawing's looks and are not applied: the drawing is :func:`dot_graph`'s.
    """
    text = dot_graph(fct)
    if format == "dot":
        image = text.encode()
    else:
        try:
            import pydot  # optional: only this drawing needs it
        except ImportError:
            raise ImportError(
                f"pydotprint: drawing a {format!r} image needs the optional package pydot and "
                "Graphviz's 'dot' program (pip install pydot; Graphviz from your system's "
                "packages), which layerkit does not ship. pydotprint(..., format='dot') or "
                "layerkit.core.printing.dot_graph(...) give the Graphviz text without "
                "them.") from None
        (graph,) = pydot.graph_from_dot_data(text)
        image = graph.create(format=format)
    if return_image:
        return text if format == "dot" else image
    if outfile is None:
        outfile = f"layerkit.pydotprint.{format}"
    with open(outfile, "wb") as fh:
        fh.write(image)
    if print_output_file:
        print(f"The output file is available at {outfile}")
    return None
