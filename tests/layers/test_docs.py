"""The examples of docs/layers.md (a network with batch norm and dropout, a custom layer
in three methods) run as written."""
import doctest
from pathlib import Path

import layerkit.core as theano

DOC = Path(__file__).resolve().parents[2] / "docs" / "layers.md"


def test_docs_layers_examples_run():
    old = theano.config.floatX
    try:
        result = doctest.testfile(str(DOC), module_relative=False, verbose=False,
                                  optionflags=doctest.ELLIPSIS)
    finally:
        theano.config.floatX = old
    assert result.attempted > 20
    assert result.failed == 0, f"{result.failed} of docs/layers.md's examples failed (see above)"
