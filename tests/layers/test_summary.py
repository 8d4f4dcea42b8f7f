"""layerkit.layers.summary: the table of layers, output shapes and parameter counts."""
import numpy as np

from layerkit.layers import (BatchNormLayer, ConcatLayer, Conv2DLayer, DenseLayer, DropoutLayer,
                             InputLayer, Layer, MaxPool2DLayer, summary)


def test_a_dense_chain_exactly():
    net = InputLayer((None, 4), name="in")
    net = DenseLayer(net, 8, name="hidden")
    net = DenseLayer(net, 2, b=None, name="out")
    assert summary(net).splitlines() == [
        "#  layer   type        output shape  params  trainable  regularizable",
        "0  in      InputLayer  (None, 4)          0          0              0",
        "1  hidden  DenseLayer  (None, 8)         40         40             32",
        "2  out     DenseLayer  (None, 2)         16         16             16",
        "   total                                 56         56             48",
    ]


def test_a_conv_net_counts_by_hand():
    net = InputLayer((None, 1, 8, 8))
    net = Conv2DLayer(net, 6, 3, pad="same")        # 6*1*3*3 + 6 = 60
    net = MaxPool2DLayer(net, 2)
    net = DropoutLayer(net, 0.5)
    net = DenseLayer(net, 10)                       # 6*4*4*10 + 10 = 970
    lines = summary(net).splitlines()
    rows = [line.split() for line in lines[1:-1]]
    assert [r[1] for r in rows] == ["InputLayer", "Conv2DLayer", "MaxPool2DLayer",
                                    "DropoutLayer", "DenseLayer"]   # unnamed: the name is blank
    shapes = [line[lines[0].index("output shape"):lines[0].index("params") - 2].strip()
              for line in lines[1:-1]]
    assert shapes == ["(None, 1, 8, 8)", "(None, 6, 8, 8)", "(None, 6, 4, 4)",
                      "(None, 6, 4, 4)", "(None, 10)"]
    assert [r[-3:] for r in rows] == [["0", "0", "0"], ["60", "60", "54"], ["0", "0", "0"],
                                      ["0", "0", "0"], ["970", "970", "960"]]
    assert lines[-1].split() == ["total", "1030", "1030", "1014"]


def test_untrainable_parameters_and_other_tags_get_columns():
    net = BatchNormLayer(InputLayer((None, 3), name="in"), name="bn")
    # Lasagne's tags: beta trainable; gamma trainable and regularizable;
    # mean and inv_std neither
    lines = summary(net).splitlines()
    assert lines[0].split()[-3:] == ["params", "trainable", "regularizable"]
    assert lines[2].split()[-3:] == ["12", "6", "3"]

    class Scaled(Layer):
        def __init__(self, incoming, **kwargs):
            super().__init__(incoming, **kwargs)
            self.s = self.add_param(np.ones(3, "float32"), (3,), "s", trainable=False,
                                    regularizable=False, frozen=True)

        def get_output_for(self, input, **kwargs):
            return input * self.s

    lines = summary(Scaled(net, name="scale")).splitlines()
    assert lines[0].split()[-4:] == ["params", "trainable", "regularizable", "frozen"]
    assert lines[2].split()[-4:] == ["12", "6", "3", "0"]
    assert lines[3].split()[-4:] == ["3", "0", "0", "3"]
    assert lines[-1].split() == ["total", "15", "6", "3", "3"]


def test_shared_parameters_are_counted_once_and_noted():
    l_in = InputLayer((None, 5), name="in")
    enc = DenseLayer(l_in, 5, name="enc")
    dec = DenseLayer(enc, 5, W=enc.W, name="dec")          # tied weights
    lines = summary(dec).splitlines()
    assert lines[0].endswith("note")
    assert lines[2].split()[-3:] == ["30", "30", "25"]
    assert lines[3].split()[-5:] == ["5", "5", "0", "shares", "25"]
    assert lines[-1].split() == ["total", "35", "35", "25"]


def test_a_merge_network_shows_which_layers_feed_which():
    a = InputLayer((None, 3), name="a")
    b = InputLayer((None, 2), name="b")
    merged = ConcatLayer([DenseLayer(a, 4, name="da"), b], name="cat")
    lines = summary(DenseLayer(merged, 1, name="out")).splitlines()
    assert lines[0].split()[:4] == ["#", "layer", "type", "input"]
    by_name = {line.split()[1]: line.split() for line in lines[1:-1]}
    assert by_name["da"][3] == "0"
    assert by_name["cat"][3] == "1,2"                      # da and b
    assert by_name["cat"][4:6] == ["(None,", "6)"]
    assert by_name["out"][3] == "3"
