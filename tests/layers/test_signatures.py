"""Every name of issue 7 (and their neighbours) exists with Lasagne's signature: the
parameter names in order and the defaults, written out here from Lasagne's documentation.

Initializer defaults are compared by class and attributes (``Constant(0.)`` is
``("Constant", {"val": 0.0})``); the nonlinearity and pool-function defaults by identity.
"""
import inspect

import pytest

import layerkit.core.tensor as T
from layerkit import init, layers, nonlinearities, objectives, regularization, updates, utils

KW = "**kwargs"
EMPTY = inspect.Parameter.empty
RECTIFY = nonlinearities.rectify
GLOROT = ("GlorotUniform", {"gain": 1.0, "c01b": False})
ZERO = ("Constant", {"val": 0.0})
ONE = ("Constant", {"val": 1.0})
REG = {"regularizable": True}

# name -> [(parameter, default)], EMPTY for a required one, KW for **kwargs / **tags
SIGNATURES = {
    # layers named in the issue
    layers.ConcatLayer: [("incomings", EMPTY), ("axis", 1), ("cropping", None), KW],
    layers.ElemwiseSumLayer: [("incomings", EMPTY), ("coeffs", 1), ("cropping", None), KW],
    layers.ElemwiseMergeLayer: [("incomings", EMPTY), ("merge_function", EMPTY),
                                ("cropping", None), KW],
    layers.BiasLayer: [("incoming", EMPTY), ("b", ZERO), ("shared_axes", "auto"), KW],
    layers.ScaleLayer: [("incoming", EMPTY), ("scales", ONE), ("shared_axes", "auto"), KW],
    layers.ExpressionLayer: [("incoming", EMPTY), ("function", EMPTY), ("output_shape", None),
                             KW],
    layers.DimshuffleLayer: [("incoming", EMPTY), ("pattern", EMPTY), KW],
    layers.SliceLayer: [("incoming", EMPTY), ("indices", EMPTY), ("axis", -1), KW],
    layers.PadLayer: [("incoming", EMPTY), ("width", EMPTY), ("val", 0), ("batch_ndim", 2), KW],
    layers.GlobalPoolLayer: [("incoming", EMPTY), ("pool_function", T.mean), KW],
    layers.Upscale2DLayer: [("incoming", EMPTY), ("scale_factor", EMPTY), ("mode", "repeat"),
                            KW],
    layers.TransposedConv2DLayer: [
        ("incoming", EMPTY), ("num_filters", EMPTY), ("filter_size", EMPTY), ("stride", (1, 1)),
        ("crop", 0), ("untie_biases", False), ("W", GLOROT), ("b", ZERO),
        ("nonlinearity", RECTIFY), ("flip_filters", False), ("output_size", None), KW],
    layers.DilatedConv2DLayer: [
        ("incoming", EMPTY), ("num_filters", EMPTY), ("filter_size", EMPTY),
        ("dilation", (1, 1)), ("pad", 0), ("untie_biases", False), ("W", GLOROT), ("b", ZERO),
        ("nonlinearity", RECTIFY), ("flip_filters", False), KW],
    layers.NINLayer: [("incoming", EMPTY), ("num_units", EMPTY), ("untie_biases", False),
                      ("W", GLOROT), ("b", ZERO), ("nonlinearity", RECTIFY), KW],
    layers.LocalResponseNormalization2DLayer: [("incoming", EMPTY), ("alpha", 1e-4), ("k", 2),
                                               ("beta", 0.75), ("n", 5), KW],
    layers.BatchNormLayer: [("incoming", EMPTY), ("axes", "auto"), ("epsilon", 1e-4),
                            ("alpha", 0.1), ("beta", ZERO), ("gamma", ONE), ("mean", ZERO),
                            ("inv_std", ONE), KW],
    layers.batch_norm: [("layer", EMPTY), KW],
    layers.EmbeddingLayer: [("incoming", EMPTY), ("input_size", EMPTY), ("output_size", EMPTY),
                            ("W", ("Normal", {"std": 0.01, "mean": 0.0})), KW],
    # the layers they are used with
    layers.DenseLayer: [("incoming", EMPTY), ("num_units", EMPTY), ("W", GLOROT), ("b", ZERO),
                        ("nonlinearity", RECTIFY), ("num_leading_axes", 1), KW],
    layers.NonlinearityLayer: [("incoming", EMPTY), ("nonlinearity", RECTIFY), KW],
    layers.Conv2DLayer: [
        ("incoming", EMPTY), ("num_filters", EMPTY), ("filter_size", EMPTY), ("stride", (1, 1)),
        ("pad", 0), ("untie_biases", False), ("W", GLOROT), ("b", ZERO),
        ("nonlinearity", RECTIFY), ("flip_filters", True), ("num_groups", 1),
        ("convolution", "any"), KW],
    layers.Conv1DLayer: [
        ("incoming", EMPTY), ("num_filters", EMPTY), ("filter_size", EMPTY), ("stride", 1),
        ("pad", 0), ("untie_biases", False), ("W", GLOROT), ("b", ZERO),
        ("nonlinearity", RECTIFY), ("flip_filters", True), ("convolution", "any"), KW],
    layers.Pool2DLayer: [("incoming", EMPTY), ("pool_size", EMPTY), ("stride", None),
                         ("pad", (0, 0)), ("ignore_border", True), ("mode", "max"), KW],
    layers.MaxPool2DLayer: [("incoming", EMPTY), ("pool_size", EMPTY), ("stride", None),
                            ("pad", (0, 0)), ("ignore_border", True), KW],
    layers.Pool1DLayer: [("incoming", EMPTY), ("pool_size", EMPTY), ("stride", None),
                         ("pad", 0), ("ignore_border", True), ("mode", "max"), KW],
    layers.DropoutLayer: [("incoming", EMPTY), ("p", 0.5), ("rescale", True),
                          ("shared_axes", ()), KW],
    layers.GaussianNoiseLayer: [("incoming", EMPTY), ("sigma", 0.1), KW],
    layers.FlattenLayer: [("incoming", EMPTY), ("outdim", 2), KW],
    layers.ReshapeLayer: [("incoming", EMPTY), ("shape", EMPTY), KW],
    layers.ParametricRectifierLayer: [("incoming", EMPTY),
                                      ("alpha", ("Constant", {"val": 0.25})),
                                      ("shared_axes", "auto"), KW],
    layers.RandomizedRectifierLayer: [("incoming", EMPTY), ("lower", 0.3), ("upper", 0.8),
                                      ("shared_axes", "auto"), KW],
    layers.standardize: [("layer", EMPTY), ("offset", EMPTY), ("scale", EMPTY),
                         ("shared_axes", "auto")],
    layers.get_output: [("layer_or_layers", EMPTY), ("inputs", None), KW],
    layers.get_output_shape: [("layer_or_layers", EMPTY), ("input_shapes", None)],
    layers.get_all_layers: [("layer", EMPTY), ("treat_as_input", None)],
    layers.get_all_params: [("layer", EMPTY), ("unwrap_shared", True), KW],
    layers.count_params: [("layer", EMPTY), KW],
    layers.get_all_param_values: [("layer", EMPTY), KW],
    layers.set_all_param_values: [("layer", EMPTY), ("values", EMPTY), KW],
    # init, nonlinearities
    init.Sparse: [("sparsity", 0.1), ("std", 0.01)],
    init.Orthogonal: [("gain", 1.0)],
    nonlinearities.ScaledTanH: [("scale_in", 1), ("scale_out", 1)],
    nonlinearities.LeakyRectify: [("leakiness", 0.01)],
    nonlinearities.SELU: [("scale", 1), ("scale_neg", 1)],
    nonlinearities.elu: [("x", EMPTY)],
    nonlinearities.softplus: [("x", EMPTY)],
    # objectives
    objectives.binary_hinge_loss: [("predictions", EMPTY), ("targets", EMPTY), ("delta", 1),
                                   ("log_odds", None), ("binary", True)],
    objectives.multiclass_hinge_loss: [("predictions", EMPTY), ("targets", EMPTY),
                                       ("delta", 1)],
    objectives.binary_accuracy: [("predictions", EMPTY), ("targets", EMPTY),
                                 ("threshold", 0.5)],
    objectives.categorical_accuracy: [("predictions", EMPTY), ("targets", EMPTY), ("top_k", 1)],
    objectives.aggregate: [("loss", EMPTY), ("weights", None), ("mode", "mean")],
    # regularization
    regularization.apply_penalty: [("tensor_or_tensors", EMPTY), ("penalty", EMPTY), KW],
    regularization.regularize_layer_params: [("layer", EMPTY), ("penalty", EMPTY),
                                             ("tags", REG), KW],
    regularization.regularize_layer_params_weighted: [("layers", EMPTY), ("penalty", EMPTY),
                                                      ("tags", REG), KW],
    regularization.regularize_network_params: [("layer", EMPTY), ("penalty", EMPTY),
                                               ("tags", REG), KW],
    # updates
    updates.adagrad: [("loss_or_grads", EMPTY), ("params", EMPTY), ("learning_rate", 1.0),
                      ("epsilon", 1e-6)],
    updates.adadelta: [("loss_or_grads", EMPTY), ("params", EMPTY), ("learning_rate", 1.0),
                       ("rho", 0.95), ("epsilon", 1e-6)],
    updates.adamax: [("loss_or_grads", EMPTY), ("params", EMPTY), ("learning_rate", 0.002),
                     ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)],
    updates.amsgrad: [("loss_or_grads", EMPTY), ("params", EMPTY), ("learning_rate", 0.001),
                      ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)],
    updates.nesterov_momentum: [("loss_or_grads", EMPTY), ("params", EMPTY),
                                ("learning_rate", EMPTY), ("momentum", 0.9)],
    updates.norm_constraint: [("tensor_var", EMPTY), ("max_norm", EMPTY), ("norm_axes", None),
                              ("epsilon", 1e-7)],
    updates.total_norm_constraint: [("tensor_vars", EMPTY), ("max_norm", EMPTY),
                                    ("epsilon", 1e-7), ("return_norm", False)],
    # utils
    utils.as_tuple: [("x", EMPTY), ("N", EMPTY), ("t", None)],
    utils.one_hot: [("x", EMPTY), ("m", None)],
    utils.unroll_scan: [("fn", EMPTY), ("sequences", EMPTY), ("outputs_info", EMPTY),
                        ("non_sequences", EMPTY), ("n_steps", EMPTY), ("go_backwards", False)],
}


def _describe(default):
    if isinstance(default, init.Initializer):
        attrs = {k: v for k, v in vars(default).items() if not k.startswith("_")}
        return (type(default).__name__, attrs)
    return default


def _same(actual, expected):
    if expected == "any":
        return True
    if callable(expected) and not isinstance(expected, type):
        return actual is expected
    if isinstance(expected, tuple) and len(expected) == 2 and isinstance(expected[1], dict):
        name, attrs = expected
        got_name, got_attrs = _describe(actual) if isinstance(actual, init.Initializer) \
            else (None, None)
        return got_name == name and all(got_attrs.get(k) == v for k, v in attrs.items())
    return actual == expected and type(actual) is type(expected) or (
        isinstance(actual, (int, float)) and isinstance(expected, (int, float))
        and not isinstance(actual, bool) and actual == expected)


@pytest.mark.parametrize("obj", list(SIGNATURES), ids=lambda o: o.__qualname__)
def test_lasagne_signature(obj):
    target = obj.__init__ if isinstance(obj, type) else obj
    params = list(inspect.signature(target).parameters.values())
    if isinstance(obj, type):
        params = params[1:]                                   # self
    got = [KW if p.kind is p.VAR_KEYWORD else (p.name, p.default) for p in params]
    expected = SIGNATURES[obj]
    assert [g if g == KW else g[0] for g in got] == [e if e == KW else e[0] for e in expected]
    for (name, default), (_, want) in ((g, e) for g, e in zip(got, expected) if g != KW):
        assert _same(default, want), f"{obj.__qualname__}({name}=...): default {default!r}, " \
                                     f"Lasagne's is {want!r}"


def test_every_issue_name_is_exported():
    names = """ConcatLayer ElemwiseSumLayer ElemwiseMergeLayer BiasLayer ScaleLayer
        ExpressionLayer DimshuffleLayer SliceLayer PadLayer GlobalPoolLayer Upscale2DLayer
        TransposedConv2DLayer Deconv2DLayer DilatedConv2DLayer NINLayer
        LocalResponseNormalization2DLayer BatchNormLayer batch_norm EmbeddingLayer""".split()
    for name in names:
        assert name in layers.__all__ and getattr(layers, name) is not None
    assert layers.Deconv2DLayer is layers.TransposedConv2DLayer
    for module, module_names in [
            (init, ["Sparse"]),
            (nonlinearities, ["ScaledTanH", "very_leaky_rectify", "elu", "selu", "softplus"]),
            (objectives, ["binary_hinge_loss", "multiclass_hinge_loss", "binary_accuracy",
                          "categorical_accuracy", "aggregate"]),
            (regularization, ["apply_penalty", "regularize_layer_params",
                              "regularize_layer_params_weighted"]),
            (updates, ["adagrad", "adadelta", "adamax", "amsgrad", "norm_constraint",
                       "total_norm_constraint"]),
            (utils, ["as_tuple", "one_hot"])]:
        for name in module_names:
            assert name in module.__all__, f"{module.__name__}.{name}"
