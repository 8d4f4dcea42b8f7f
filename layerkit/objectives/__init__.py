"""Loss functions and metrics (Lasagne's ``lasagne.objectives``): graph builders.

A typical use::

    prediction = get_output(network)
    loss = aggregate(categorical_crossentropy(prediction, targets), mode="mean")
"""
from __future__ import annotations

from ..core import tensor as T

__all__ = ["binary_crossentropy", "categorical_crossentropy", "squared_error",
           "binary_hinge_loss", "multiclass_hinge_loss", "binary_accuracy",
           "categorical_accuracy", "aggregate"]


def _align(a, b):
    """Broadcast a one-d target against a column prediction as Lasagne does."""
    a, b = T.as_tensor_variable(a), T.as_tensor_variable(b)
    if a.ndim != b.ndim:
        raise TypeError(f"rank mismatch between predictions ({a.ndim}-d) and targets ({b.ndim}-d)")
    return a, b


def binary_crossentropy(predictions, targets):
    predictions, targets = _align(predictions, targets)
    return T.nnet.binary_crossentropy(predictions, targets)


def categorical_crossentropy(predictions, targets):
    """Targets as class indices (one dim less) or as a distribution (same shape)."""
    return T.nnet.categorical_crossentropy(predictions, targets)


def squared_error(a, b):
    a, b = _align(a, b)
    return (a - b) ** 2


def binary_hinge_loss(predictions, targets, delta=1, log_odds=None, binary=True):
    if log_odds is None:
        log_odds = False
    if not log_odds:
        predictions = T.log(predictions / (1 - predictions))
    if binary:
        targets = 2 * targets - 1
    predictions, targets = _align(predictions, targets)
    return T.nnet.relu(delta - predictions * targets)


def multiclass_hinge_loss(predictions, targets, delta=1):
    predictions = T.as_tensor_variable(predictions)
    targets = T.as_tensor_variable(targets)
    num_cls = predictions.shape[1]
    if targets.ndim == predictions.ndim - 1:
        from ..utils import one_hot
        targets = one_hot(targets, num_cls)
    elif targets.ndim != predictions.ndim:
        raise TypeError("rank mismatch between targets and predictions")
    corrects = T.sum(predictions * targets, axis=1)
    # the best wrong class: the target's own score is masked out
    rest = T.max(T.switch(T.gt(targets, 0), -1e30, predictions), axis=1)
    return T.nnet.relu(rest - corrects + delta)


def binary_accuracy(predictions, targets, threshold=0.5):
    predictions, targets = _align(predictions, targets)
    predictions = T.ge(predictions, threshold)
    return T.eq(predictions, T.gt(targets, 0.5) if targets.dtype.startswith("float") else targets)


def categorical_accuracy(predictions, targets, top_k=1):
    """1 where the target class is among the ``top_k`` highest predictions."""
    predictions = T.as_tensor_variable(predictions)
    targets = T.as_tensor_variable(targets)
    if targets.ndim == predictions.ndim:
        targets = T.argmax(targets, axis=-1)
    elif targets.ndim != predictions.ndim - 1:
        raise TypeError("rank mismatch between targets and predictions")
    if top_k == 1:
        return T.eq(T.argmax(predictions, axis=-1), targets)
    # the target is in the top k when fewer than k classes score strictly higher
    target_score = T.sum(predictions * _one_hot_like(targets, predictions), axis=-1)
    higher = T.sum(T.gt(predictions, target_score.dimshuffle(0, "x")), axis=-1)
    return T.lt(higher, top_k)


def _one_hot_like(targets, predictions):
    return T.cast(T.eq(targets.dimshuffle(0, "x"),
                       T.arange(predictions.shape[1]).dimshuffle("x", 0)), predictions.dtype)


def aggregate(loss, weights=None, mode="mean"):
    """Reduce an elementwise ``loss`` to a scalar: 'mean', 'sum' or 'normalized_sum'."""
    loss = T.as_tensor_variable(loss)
    if weights is not None:
        loss = loss * weights
    if mode == "mean":
        return loss.mean()
    if mode == "sum":
        return loss.sum()
    if mode == "normalized_sum":
        if weights is None:
            raise ValueError("require weights for mode='normalized_sum'")
        return loss.sum() / T.as_tensor_variable(weights).sum()
    raise ValueError(f"mode must be 'mean', 'sum' or 'normalized_sum', got {mode!r}")
