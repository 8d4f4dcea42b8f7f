"""``theano.sandbox.cuda.dnn``: cuDNN is not available through this path.

Lasagne tested ``dnn.dnn_available()`` before building its cuDNN layers;
``layerkit.layers.dnn`` needs no test (its layers are portable), and this one
answers False with a ``msg`` saying why, as Theano's did."""
__all__ = ["dnn_available", "version"]


def dnn_available() -> bool:
    """False: layerkit has no theano.sandbox.cuda back end (see ``dnn_available.msg``)."""
    return False


dnn_available.msg = ("layerkit has no theano.sandbox.cuda back end; layerkit.layers.dnn's "
                     "layers run on every backend")


def version():
    """Theano raised when cuDNN was absent; so does this."""
    raise RuntimeError(dnn_available.msg)
