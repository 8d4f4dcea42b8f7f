"""Losses and metrics (Lasagne's ``lasagne.objectives``): graph builders.

Each loss gives one value per example (elementwise); :func:`aggregate` turns
that into the scalar to minimise, optionally weighted:

>>> import layerkit.core.tensor as T
>>> from layerkit.objectives import categorical_crossentropy, aggregate
>>> probs, labels = T.fmatrix("probs"), T.ivector("labels")
>>> loss = aggregate(categorical_crossentropy(probs, labels), mode="mean")
>>> loss.ndim
0
"""
from __future__ import annotations

import warnings

from ..core import tensor as T
from ..core.ops.nnet import check_class_labels
from ..utils import as_theano_expression, one_hot

__all__ = ["binary_crossentropy", "categorical_crossentropy", "squared_error",
           "binary_hinge_loss", "multiclass_hinge_loss", "binary_accuracy",
           "categorical_accuracy", "aggregate", "align_targets"]


def align_targets(predictions, targets):
    """Make a vector of targets a column when the predictions are a single column.

    A DenseLayer with one unit gives predictions of shape ``(n, 1)``
    (broadcastable in its last dimension); targets are usually a vector of
    ``n``. Lasagne aligns them so that the loss stays elementwise, ``(n, 1)``,
    instead of broadcasting to ``(n, n)``.
    """
    predictions = as_theano_expression(predictions)
    targets = as_theano_expression(targets)
    if predictions.broadcastable == (False, True) and targets.ndim == 1:
        targets = targets.dimshuffle(0, "x")
    return predictions, targets


def binary_crossentropy(predictions, targets):
    """``-t log(p) - (1 - t) log(1 - p)``, elementwise, for predictions in (0, 1)."""
    predictions, targets = align_targets(predictions, targets)
    return T.nnet.binary_crossentropy(predictions, targets)


def categorical_crossentropy(predictions, targets):
    """``-sum(t * log(p), axis=1)``, per row of a matrix of class probabilities.

    ``targets`` are class indices (an int vector) or one distribution per row
    (a matrix like ``predictions``). Class indices outside ``0 .. C-1`` and a
    number of targets other than the number of rows raise (see
    :func:`layerkit.core.tensor.nnet.categorical_crossentropy`).
    """
    return T.nnet.categorical_crossentropy(as_theano_expression(predictions),
                                           as_theano_expression(targets))


def _labels(targets, predictions, who):
    """Integer class indices checked against the predictions' rows and classes."""
    if targets.dtype.startswith(("int", "uint")):
        return check_class_labels(targets, predictions, who)
    return targets


def squared_error(a, b):
    """``(a - b) ** 2``, elementwise."""
    a, b = align_targets(a, b)
    return T.sqr(a - b)


def binary_hinge_loss(predictions, targets, delta=1, log_odds=None, binary=True):
    """``max(0, delta - t * p)`` with targets in {-1, 1}, elementwise.

    With ``binary=True`` targets in {0, 1} are mapped to {-1, 1}. With
    ``log_odds=False`` the predictions are probabilities and are turned into
    log-odds first; with ``log_odds=True`` they are taken as they are.
    """
    if log_odds is None:
        # Lasagne announced a change of this default; keep its behaviour, say so
        warnings.warn("binary_hinge_loss: the default of `log_odds` may change to False in "
                      "a future version; pass log_odds=True to keep treating predictions as "
                      "log-odds (the current behaviour)", FutureWarning, stacklevel=2)
        log_odds = True
    predictions = as_theano_expression(predictions)
    targets = as_theano_expression(targets)
    if not log_odds:
        predictions = T.log(predictions / (1 - predictions))
    if binary:
        targets = 2 * targets - 1
    predictions, targets = align_targets(predictions, targets)
    return T.nnet.relu(delta - predictions * targets)


def multiclass_hinge_loss(predictions, targets, delta=1):
    """``max(0, max_{j != t} p_j - p_t + delta)``, per row.

    ``targets`` are class indices (an int vector; outside ``0 .. C-1`` they
    raise, as in :func:`categorical_crossentropy`) or one-hot rows.
    """
    predictions = as_theano_expression(predictions)
    targets = as_theano_expression(targets)
    num_cls = predictions.shape[1]
    if targets.ndim == predictions.ndim - 1:
        targets = one_hot(_labels(targets, predictions, "multiclass_hinge_loss"), num_cls)
    elif targets.ndim != predictions.ndim:
        raise TypeError(f"multiclass_hinge_loss: rank mismatch between targets "
                        f"({targets.ndim}-d) and predictions ({predictions.ndim}-d)")
    is_target = T.gt(targets, 0)
    corrects = T.sum(T.switch(is_target, predictions, 0), axis=1)
    # the best wrong class: the target's own score is masked out with -inf
    rest = T.max(T.switch(is_target, -float("inf"), predictions), axis=1)
    return T.nnet.relu(rest - corrects + delta)


def binary_accuracy(predictions, targets, threshold=0.5):
    """1 where ``predictions >= threshold`` agrees with the {0, 1} targets, else 0."""
    predictions, targets = align_targets(predictions, targets)
    return T.eq(T.ge(predictions, threshold), targets)


def categorical_accuracy(predictions, targets, top_k=1):
    """1 where the target class is among the ``top_k`` highest predictions, else 0.

    ``targets`` are class indices (one dimension less than ``predictions``) or
    one-hot / probability rows (the same number of dimensions; their argmax
    is the class). Class indices outside ``0 .. C-1`` raise, as in
    :func:`categorical_crossentropy`.
    """
    predictions = as_theano_expression(predictions)
    targets = as_theano_expression(targets)
    if targets.ndim == predictions.ndim:
        targets = T.argmax(targets, axis=-1)
    elif targets.ndim != predictions.ndim - 1:
        raise TypeError(f"categorical_accuracy: rank mismatch between targets "
                        f"({targets.ndim}-d) and predictions ({predictions.ndim}-d)")
    else:
        targets = _labels(targets, predictions, "categorical_accuracy")
    if top_k == 1:
        return T.eq(T.argmax(predictions, axis=-1), targets)
    # the target is in the top k when fewer than k classes score strictly higher
    # (no sort needed; ties count in the target's favour)
    hot = T.gt(one_hot(targets, predictions.shape[-1]), 0)
    target_score = T.sum(T.switch(hot, predictions, 0), axis=-1)
    higher = T.sum(T.gt(predictions, T.shape_padright(target_score)), axis=-1)
    return T.lt(higher, top_k)


def aggregate(loss, weights=None, mode="mean"):
    """Reduce an elementwise ``loss`` to a scalar.

    ``mode`` is ``'mean'``, ``'sum'`` or ``'normalized_sum'`` (the weighted sum
    divided by the sum of ``weights``, which are then required). ``weights``
    multiply the loss elementwise and must broadcast against it.
    """
    loss = as_theano_expression(loss)
    if weights is not None:
        weights = as_theano_expression(weights)
        loss = loss * weights
    if mode == "mean":
        return loss.mean()
    if mode == "sum":
        return loss.sum()
    if mode == "normalized_sum":
        if weights is None:
            raise ValueError("aggregate: mode='normalized_sum' requires weights")
        return loss.sum() / weights.sum()
    raise ValueError(f"aggregate: mode must be 'mean', 'sum' or 'normalized_sum', got {mode!r}")
