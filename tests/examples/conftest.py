"""The fixture the example tests share: run an example's ``main(argv)``."""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

import layerkit
import layerkit.core as theano
import layerkit.random

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def run(monkeypatch):
    """``run(name, *argv)``: the example's ``main(argv)`` result on the numpy backend.

    The examples set ``config.floatX`` as their seeds did, and seed numpy's and
    Lasagne's random generators; all three are restored afterwards.
    """
    monkeypatch.syspath_prepend(str(EXAMPLES))
    saved = theano.config.floatX
    rng_state = np.random.get_state()
    lasagne_rng = layerkit.random.get_rng()

    def _run(name, *argv):
        module = importlib.import_module(name)
        with layerkit.use("numpy"):
            return module.main([str(a) for a in argv])

    yield _run
    theano.config.floatX = saved
    np.random.set_state(rng_state)
    layerkit.random.set_rng(lasagne_rng)
