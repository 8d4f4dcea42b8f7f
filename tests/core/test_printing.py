"""debugprint and the Graphviz export (layerkit.core.printing) on small graphs."""
import re

import numpy as np

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.printing import debugprint, dot_graph, pprint


def _graph():
    x, y = T.vector("x"), T.vector("y")
    s = x + y
    return x, y, s * 2 + s          # s is used twice: printed once, then referred to


def test_debugprint_of_a_variable_is_the_tree_with_shared_subtrees_once():
    *_, z = _graph()
    text = debugprint(z, file="str")
    assert text.splitlines() == [
        "add [A] float32 (None,)",
        " |multiply [B] float32 (None,)",
        " | |add [C] float32 (None,)",
        " | | |x [float32, shape (None,)]",
        " | | |y [float32, shape (None,)]",
        " | |[2.] [constant float32]",
        " |add [C] float32 (None,) ...",
    ]


def test_debugprint_writes_to_a_file_and_stdout(capsys, tmp_path):
    *_, z = _graph()
    assert debugprint(z) is None
    assert capsys.readouterr().out == debugprint(z, file="str")
    with open(tmp_path / "graph.txt", "w") as f:
        debugprint(z, file=f)
    assert (tmp_path / "graph.txt").read_text() == debugprint(z, file="str")
    assert pprint(z) == "add [A] float32 (None,)"


def test_debugprint_without_types_and_of_several_outputs():
    x, y, z = _graph()
    lines = debugprint([z, x * y], file="str", print_type=False).splitlines()
    assert lines[:3] == ["add [A]", " |multiply [B]", " | |add [C]"]
    assert lines[6] == " |add [C] ..."
    # the second output starts a new tree at depth 0 with a new id
    assert lines[7:] == ["multiply [D]", " |x [float32, shape (None,)]",
                         " |y [float32, shape (None,)]"]


def test_debugprint_of_a_compiled_function_shows_the_rewritten_graph():
    x, y, z = _graph()
    f = theano.function([x, y], z)
    np.testing.assert_allclose(f(np.float32([1, 2]), np.float32([3, 4])), [12, 18])
    before = debugprint(z, file="str")
    after = debugprint(f, file="str")
    assert after != before
    # the two elementwise nodes after the shared sum are fused into one
    assert after.splitlines()[0].startswith("Fused{")
    assert sum(line.count("multiply") for line in after.splitlines()) == 1
    assert after.count("x [float32") == 1 and after.count("y [float32") == 1


def test_debugprint_of_a_compiled_function_includes_its_updates():
    x = T.vector("x")
    w = theano.shared(np.zeros(3, dtype="float32"), name="w")
    cost = T.sum((x * w) ** 2)
    f = theano.function([x], cost, updates=[(w, w - 0.1 * T.grad(cost, w))])
    text = debugprint(f, file="str")
    top = [line for line in text.splitlines() if not line.startswith(" ")]
    assert len(top) == 2                       # the output, then the update of w
    assert top[0].startswith("sum")
    assert "w [shared float32" in text


def test_dot_graph_is_graphviz_with_one_node_per_op_and_variable():
    x, y, z = _graph()
    dot = dot_graph(z)
    assert dot.startswith("digraph layerkit {") and dot.rstrip().endswith("}")
    ops = re.findall(r"^  (n\d+) \[shape=octagon, label=\"([^\"]*)\"\];$", dot, re.M)
    assert [label for _, label in ops] == ["add", "multiply", "add"]
    variables = re.findall(r"^  (v\d+) \[shape=(box|ellipse)", dot, re.M)
    # x, y and the constant are boxes; the three results are ellipses
    assert sorted(shape for _, shape in variables) == ["box"] * 3 + ["ellipse"] * 3
    edges = re.findall(r"^  ([nv]\d+) -> ([nv]\d+);$", dot, re.M)
    # every op input and output is an edge: add(x, y), multiply(s, 2), add(., s)
    assert len(edges) == 2 + 1 + 2 + 1 + 2 + 1
    declared = {n for n, _ in ops} | {v for v, _ in variables}
    assert {a for e in edges for a in e} <= declared
    s_node = next(v for v, _ in variables if f"n0 -> {v};" in dot)
    assert dot.count(f"  {s_node} -> ") == 2         # the shared sum feeds two ops


def test_dot_graph_of_a_compiled_function_and_quotes_in_labels():
    x, y, z = _graph()
    f = theano.function([x, y], z)
    dot = dot_graph(f)
    assert "Fused{" in dot
    label_texts = re.findall(r'label="([^"]*)"', dot)
    assert all('"' not in t for t in label_texts)
