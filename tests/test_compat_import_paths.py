"""Issue 18, "Import paths the swap must reach": every module path old Theano and
Lasagne scripts import exists, as attribute access and as ``from ... import``, and
the ``lasagne.layers.dnn`` / ``cuda_convnet`` / ``corrmm`` names compute what the
portable layers compute."""
from __future__ import annotations

import importlib
import sys
import types

import numpy as np
import pytest

import layerkit as lasagne
import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.layers import (BatchNormLayer, Conv2DLayer, InputLayer, MaxPool2DLayer, NINLayer,
                             Pool2DLayer, get_all_layers, get_output)

# (module, names) an old script reaches; each is checked both ways
PATHS = [
    ("layerkit.layers.dnn", ["Conv2DDNNLayer", "Conv3DDNNLayer", "MaxPool2DDNNLayer",
                             "Pool2DDNNLayer", "MaxPool3DDNNLayer", "Pool3DDNNLayer",
                             "BatchNormDNNLayer", "batch_norm_dnn",
                             "SpatialPyramidPoolingDNNLayer"]),
    ("layerkit.layers.cuda_convnet", ["Conv2DCCLayer", "MaxPool2DCCLayer",
                                      "ShuffleBC01ToC01BLayer", "ShuffleC01BToBC01Layer",
                                      "bc01_to_c01b", "c01b_to_bc01", "NINLayer_c01b",
                                      "CCLayer"]),
    ("layerkit.layers.corrmm", ["Conv2DMMLayer"]),
    ("layerkit.core.sandbox.rng_mrg", ["MRG_RandomStreams"]),
    ("layerkit.core.tensor.shared_randomstreams", ["RandomStreams"]),
    ("layerkit.core.sandbox.cuda", ["cuda_enabled", "cuda_available", "use", "dnn"]),
    ("layerkit.core.sandbox.cuda.dnn", ["dnn_available"]),
    ("layerkit.core.tensor.nnet.abstract_conv", ["conv2d", "conv2d_grad_wrt_inputs",
                                                 "conv2d_grad_wrt_weights"]),
    ("layerkit.core.compile", ["SharedVariable", "shared", "DebugMode", "NanGuardMode"]),
    ("layerkit.core.gof", ["Op", "Apply", "Variable", "Constant", "graph", "local_optimizer"]),
    ("layerkit.core.printing", ["pydotprint", "debugprint"]),
]


@pytest.mark.parametrize("module, names", PATHS, ids=[m for m, _ in PATHS])
def test_path_exists_as_attribute_and_from_import(module, names):
    mod = importlib.import_module(module)
    # attribute access from the swapped top-level names (import theano / import lasagne)
    top = lasagne if module.startswith("layerkit.layers") else theano
    prefix = "layerkit" if top is lasagne else "layerkit.core"
    obj = top
    for part in module[len(prefix) + 1:].split("."):
        obj = getattr(obj, part)
    assert obj is mod
    for name in names:
        assert getattr(obj, name) is not None
        # from module import name
        ns: dict = {}
        exec(f"from {module} import {name}", ns)
        assert ns[name] is getattr(mod, name)


def test_random_streams_paths_are_layerkits_streams():
    from layerkit.core.sandbox.rng_mrg import MRG_RandomStreams
    from layerkit.core.tensor.shared_randomstreams import RandomStreams
    assert MRG_RandomStreams is theano.MRG_RandomStreams
    assert RandomStreams is theano.RandomStreams
    srng = MRG_RandomStreams(seed=234)           # Theano's int seed
    x = T.dvector("x")
    f = theano.function([x], x * srng.binomial(size=(5,), p=0.5, dtype="float64"))
    out = f(np.ones(5))
    assert set(out.tolist()) <= {0.0, 1.0}
    again = MRG_RandomStreams(seed=234)
    g = theano.function([x], x * again.binomial(size=(5,), p=0.5, dtype="float64"))
    np.testing.assert_array_equal(g(np.ones(5)), out)   # replays from the seed


def test_sandbox_cuda_says_no_cuda():
    import layerkit.core.sandbox.cuda as cuda
    assert cuda.cuda_enabled is False and cuda.cuda_available is False
    assert cuda.dnn.dnn_available() is False and "backend" in cuda.dnn.dnn_available.msg
    with pytest.warns(UserWarning, match="backends"):
        sys.modules["layerkit.core.ignored"]._WARNED.discard(("theano.sandbox.cuda.use",
                                                              "device"))
        cuda.use("gpu0")


# -- lasagne.layers.dnn: the same numbers as the portable layers ----------------------

def _run(layer, data, **kw):
    x = T.tensor4("x")
    return theano.function([x], get_output(layer, x, **kw))(data)


@pytest.fixture
def images():
    return np.random.RandomState(0).standard_normal((2, 3, 9, 9)).astype(theano.config.floatX)


def test_conv2d_dnn_and_mm_are_conv2d_without_flipping(images):
    from layerkit.layers.corrmm import Conv2DMMLayer
    from layerkit.layers.dnn import Conv2DDNNLayer
    l_in = InputLayer((None, 3, 9, 9))
    ref = Conv2DLayer(l_in, 4, 3, stride=2, pad="same", flip_filters=False)
    for cls in (Conv2DDNNLayer, Conv2DMMLayer):
        layer = cls(l_in, 4, 3, stride=2, pad="same", W=ref.W.get_value(),
                    b=np.arange(4.0).astype(theano.config.floatX))
        ref.b.set_value(layer.b.get_value())
        assert layer.flip_filters is False
        assert layer.output_shape == ref.output_shape == (None, 4, 5, 5)
        np.testing.assert_allclose(_run(layer, images), _run(ref, images), rtol=1e-6)
    assert isinstance(Conv2DDNNLayer(l_in, 2, 3), Conv2DLayer)


def test_pool2d_dnn_is_pool2d(images):
    from layerkit.layers.dnn import MaxPool2DDNNLayer, Pool2DDNNLayer
    l_in = InputLayer((None, 3, 9, 9))
    cases = [(MaxPool2DDNNLayer(l_in, 3, stride=2), MaxPool2DLayer(l_in, 3, stride=2)),
             (Pool2DDNNLayer(l_in, 2, pad=1, mode="average_exc_pad"),
              Pool2DLayer(l_in, 2, pad=1, mode="average_exc_pad"))]
    for dnn_layer, ref in cases:
        assert dnn_layer.output_shape == ref.output_shape
        np.testing.assert_allclose(_run(dnn_layer, images), _run(ref, images), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="ignore_border=False"):
        MaxPool2DDNNLayer(l_in, 2, ignore_border=False)


def test_batch_norm_dnn_is_batch_norm(images):
    from layerkit.layers.dnn import BatchNormDNNLayer, batch_norm_dnn
    l_in = InputLayer((None, 3, 9, 9))
    bn, ref = BatchNormDNNLayer(l_in), BatchNormLayer(l_in)
    for kw in ({}, {"deterministic": True}):
        np.testing.assert_allclose(_run(bn, images, **kw), _run(ref, images, **kw),
                                   rtol=1e-5, atol=1e-6)
    assert BatchNormDNNLayer(l_in, axes=0).axes == (0,)
    with pytest.raises(ValueError, match="BatchNormDNNLayer"):
        BatchNormDNNLayer(l_in, axes=(0, 1))
    top = batch_norm_dnn(Conv2DLayer(l_in, 4, 3, name="c"))
    assert [type(lyr).__name__ for lyr in get_all_layers(top)] == [
        "InputLayer", "Conv2DLayer", "BatchNormDNNLayer", "NonlinearityLayer"]
    assert get_all_layers(top)[1].b is None and top.name == "c_bn_nonlin"


@pytest.mark.parametrize("name, portable, module, args", [
    ("Conv3DDNNLayer", "Conv3DLayer", "conv", ((None, 2, 5, 5, 5), 4, 3)),
    ("Pool3DDNNLayer", "Pool3DLayer", "pool", ((None, 2, 4, 4, 4), 2)),
    ("MaxPool3DDNNLayer", "MaxPool3DLayer", "pool", ((None, 2, 4, 4, 4), 2)),
    ("SpatialPyramidPoolingDNNLayer", "SpatialPyramidPoolingLayer", "pool",
     ((None, 2, 8, 8),)),
])
def test_dnn_names_without_a_portable_layer_raise_at_construction(name, portable, module, args):
    """Importing works; constructing either builds the portable layer (once it exists)
    or raises NotImplementedError naming it and issue 18."""
    dnn = importlib.import_module("layerkit.layers.dnn")
    cls = getattr(dnn, name)
    shape, *rest = args
    if getattr(importlib.import_module(f"layerkit.layers.{module}"), portable, None) is None:
        with pytest.raises(NotImplementedError, match=f"{portable}.*issue 18"):
            cls(InputLayer(shape), *rest)
    else:
        portable_cls = getattr(importlib.import_module(f"layerkit.layers.{module}"), portable)
        layer = cls(InputLayer(shape), *rest)
        assert isinstance(layer, portable_cls)
        assert layer.output_shape == portable_cls(InputLayer(shape), *rest).output_shape


# -- lasagne.layers.cuda_convnet --------------------------------------------------------

def test_cuda_convnet_layers_match_portable_ones(images):
    from layerkit.layers.cuda_convnet import (Conv2DCCLayer, MaxPool2DCCLayer, NINLayer_c01b,
                                              bc01_to_c01b, c01b_to_bc01)
    l_in = InputLayer((None, 3, 9, 9))
    ref = Conv2DLayer(l_in, 16, 3, pad=1, flip_filters=False, untie_biases=True)
    W, b = ref.W.get_value(), ref.b.get_value() + 0.5
    ref.b.set_value(b)
    # bc01 (dimshuffle=True)
    cc = Conv2DCCLayer(l_in, 16, 3, pad=1, W=W, b=b, untie_biases=True)
    np.testing.assert_allclose(_run(cc, images), _run(ref, images), rtol=1e-5, atol=1e-6)
    # c01b (dimshuffle=False), between the shuffle layers
    c01b = bc01_to_c01b(l_in)
    cc2 = Conv2DCCLayer(c01b, 16, 3, pad=1, W=W.transpose(1, 2, 3, 0), b=b,
                        untie_biases=True, dimshuffle=False)
    assert cc2.output_shape == (16, 9, 9, None)
    back = c01b_to_bc01(cc2)
    np.testing.assert_allclose(_run(back, images), _run(ref, images), rtol=1e-5, atol=1e-6)
    # pooling keeps partial windows by default
    pool, pref = MaxPool2DCCLayer(back, 2), MaxPool2DLayer(ref, 2, ignore_border=False)
    assert pool.output_shape == pref.output_shape == (None, 16, 5, 5)
    np.testing.assert_allclose(_run(pool, images), _run(pref, images), rtol=1e-5, atol=1e-6)
    pool_c01b = MaxPool2DCCLayer(cc2, 2, dimshuffle=False)
    np.testing.assert_allclose(_run(c01b_to_bc01(pool_c01b), images), _run(pref, images),
                               rtol=1e-5, atol=1e-6)
    # NIN over c01b = NIN over bc01 with W transposed
    nin = NINLayer_c01b(pool_c01b, 5)
    nref = NINLayer(pref, 5, W=nin.W.get_value().T)
    np.testing.assert_allclose(_run(c01b_to_bc01(nin), images), _run(nref, images),
                               rtol=1e-5, atol=1e-6)


# -- theano.gof and theano.printing -----------------------------------------------------

def test_gof_op_with_perform_and_theano_grad():
    from layerkit.core.gof import Apply, Op

    class Scale(Op):
        def __init__(self, k):
            self.k = k

        def make_node(self, x):
            x = T.as_tensor_variable(x)
            return Apply(self, [x], [x.type()])

        def perform(self, node, inputs, output_storage):
            output_storage[0][0] = inputs[0] * self.k

        def grad(self, inputs, output_grads):
            return [output_grads[0] * self.k]

    assert Scale(2) != Scale(2)           # no __props__: identity, as in Theano
    x = T.dvector("x")
    y = Scale(3)(x) + Scale(2)(x)         # not merged into one op
    f = theano.function([x], [y, T.grad(y.sum(), x)])
    out, g = f([1.0, 2.0])
    np.testing.assert_allclose(out, [5.0, 10.0])
    np.testing.assert_allclose(g, [5.0, 5.0])


def test_pydotprint_writes_dot_and_names_pydot(tmp_path, monkeypatch):
    from layerkit.core.printing import pydotprint
    x = T.dvector("x")
    f = theano.function([x], (x ** 2).sum())
    out = tmp_path / "g.dot"
    pydotprint(f, outfile=str(out), format="dot", print_output_file=False)
    assert out.read_text().startswith("digraph")
    monkeypatch.setitem(sys.modules, "pydot", None)          # not installed
    with pytest.raises(ImportError, match="pydot"):
        pydotprint(f, outfile=str(tmp_path / "g.png"))
    # with pydot, the image is its rendering of the same text
    fake = types.SimpleNamespace(graph_from_dot_data=lambda text: [
        types.SimpleNamespace(create=lambda format: f"{format}:{text}".encode())])
    monkeypatch.setitem(sys.modules, "pydot", fake)
    png = tmp_path / "g.png"
    pydotprint(f, outfile=str(png), print_output_file=False)
    assert png.read_bytes().startswith(b"png:digraph")


def test_module_paths_reached_as_attributes_without_importing_them_first():
    """Old scripts write ``theano.sandbox.rng_mrg.MRG_RandomStreams`` after only
    ``import theano``; ``theano.compile.function`` is the function."""
    import layerkit as lasagne
    import layerkit.core as theano
    import layerkit.core.tensor as T
    assert lasagne.layers.dnn.Conv2DDNNLayer is not None
    assert lasagne.layers.cuda_convnet.Conv2DCCLayer is not None
    assert lasagne.layers.corrmm.Conv2DMMLayer is not None
    assert theano.sandbox.rng_mrg.MRG_RandomStreams is theano.RandomStreams
    assert theano.sandbox.cuda.cuda_enabled is False
    assert T.shared_randomstreams.RandomStreams is theano.RandomStreams
    assert theano.compile.function is theano.function
    assert theano.compile.debugmode.DebugMode is theano.compile.DebugMode
    assert theano.gof.Apply is not None


def test_tensor_opt_register_decorators_return_the_rewrite_and_say_it_is_not_run():
    import warnings
    from layerkit.core.ignored import IgnoredArgumentWarning
    from layerkit.core.tensor.opt import register_canonicalize, register_specialize

    def my_rewrite(node):
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert register_canonicalize(my_rewrite) is my_rewrite
        assert register_specialize("fast_run", "my_tag")(my_rewrite) is my_rewrite
    assert any(issubclass(w.category, IgnoredArgumentWarning) for w in caught)


def test_tensor_type_takes_theanos_broadcastable_pattern_positionally():
    """Theano's ``TensorType(dtype, broadcastable)``: a tuple of bools is a pattern
    (True: a size-1 axis), not a list of sizes."""
    import layerkit.core.tensor as T
    t = T.TensorType("float64", (False, True, False))
    assert t.shape == (None, 1, None) and t.broadcastable == (False, True, False)
    assert T.TensorType("float64", (None, 3)).shape == (None, 3)
