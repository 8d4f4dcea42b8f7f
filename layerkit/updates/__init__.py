"""Update rules (Lasagne's ``lasagne.updates``), for ``function(updates=...)``.

Each rule takes a loss (or a list of gradients) and a list of shared
parameters and returns an ``OrderedDict`` mapping every shared variable it
changes (parameters and the rule's own state) to its update expression.
Hyperparameters may be numbers or shared variables (to change them while
training). ``apply_momentum`` and ``apply_nesterov_momentum`` add momentum to
the updates of any other rule; ``norm_constraint`` and
``total_norm_constraint`` rescale expressions.

Rules: :func:`sgd`, :func:`momentum`, :func:`nesterov_momentum`,
:func:`adagrad`, :func:`rmsprop`, :func:`adadelta`, :func:`adam`,
:func:`adamax`, :func:`amsgrad`.

>>> import numpy as np
>>> import layerkit.core as theano, layerkit.core.tensor as T
>>> from layerkit.updates import nesterov_momentum
>>> w = theano.shared(np.array([1.0, -2.0]), name="w")
>>> updates = nesterov_momentum((w ** 2).sum(), [w], learning_rate=0.1, momentum=0.9)
>>> step = theano.function([], [], updates=updates)
>>> for _ in range(50):
...     _ = step()
>>> bool(np.abs(w.get_value()).max() < 0.01)
True
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import core as theano
from ..core import tensor as T
from ..core.shared import SharedVariable
from ..utils import floatX

__all__ = ["get_or_compute_grads", "sgd", "apply_momentum", "momentum",
           "apply_nesterov_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adadelta",
           "adam", "adamax", "amsgrad", "norm_constraint", "total_norm_constraint"]


def get_or_compute_grads(loss_or_grads, params):
    """``loss_or_grads`` itself when it is a list of gradients, else ``grad(loss, params)``."""
    bad = [p for p in params if not isinstance(p, SharedVariable)]
    if bad:
        raise ValueError(f"params must contain shared variables only, got {bad[0]!r} "
                         f"({type(bad[0]).__name__}); for parameter expressions, "
                         "layerkit.utils.collect_shared_vars() finds the shared variables")
    if isinstance(loss_or_grads, list):
        if len(loss_or_grads) != len(params):
            raise ValueError(f"got {len(loss_or_grads)} gradient expressions for "
                             f"{len(params)} parameters")
        return loss_or_grads
    return theano.grad(loss_or_grads, params)


def _state_like(param):
    """Zeros shaped like ``param``'s value (the state of a rule, e.g. a velocity)."""
    value = param.get_value(borrow=True)
    return theano.shared(np.zeros(value.shape, dtype=value.dtype),
                         broadcastable=param.broadcastable)


def sgd(loss_or_grads, params, learning_rate):
    """Stochastic gradient descent: ``param - learning_rate * grad``."""
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        updates[param] = param - learning_rate * grad
    return updates


def apply_momentum(updates, params=None, momentum=0.9):
    """Add classical momentum to ``updates`` (of ``params``, default all keys).

    ``x = momentum * velocity + updates[param]``; the velocity becomes
    ``x - param`` and the parameter ``x``. Returns a new OrderedDict.
    """
    if params is None:
        params = list(updates.keys())
    updates = OrderedDict(updates)
    for param in params:
        velocity = _state_like(param)
        x = momentum * velocity + updates[param]
        updates[velocity] = x - param
        updates[param] = x
    return updates


def momentum(loss_or_grads, params, learning_rate, momentum=0.9):
    """SGD with classical momentum (``apply_momentum`` over ``sgd``)."""
    updates = sgd(loss_or_grads, params, learning_rate)
    return apply_momentum(updates, momentum=momentum)


def apply_nesterov_momentum(updates, params=None, momentum=0.9):
    """Add Nesterov momentum to ``updates`` (of ``params``, default all keys).

    In the reformulation that needs no look-ahead gradient:
    ``x = momentum * velocity + updates[param] - param`` becomes the velocity
    and the parameter becomes ``momentum * x + updates[param]``.
    """
    if params is None:
        params = list(updates.keys())
    updates = OrderedDict(updates)
    for param in params:
        velocity = _state_like(param)
        x = momentum * velocity + updates[param] - param
        updates[velocity] = x
        updates[param] = momentum * x + updates[param]
    return updates


def nesterov_momentum(loss_or_grads, params, learning_rate, momentum=0.9):
    """SGD with Nesterov momentum (``apply_nesterov_momentum`` over ``sgd``)."""
    updates = sgd(loss_or_grads, params, learning_rate)
    return apply_nesterov_momentum(updates, momentum=momentum)


def adagrad(loss_or_grads, params, learning_rate=1.0, epsilon=1e-6):
    """Adagrad: ``accu += grad ** 2``; ``param -= learning_rate * grad / sqrt(accu + epsilon)``."""
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        accu = _state_like(param)
        accu_new = accu + grad ** 2
        updates[accu] = accu_new
        updates[param] = param - (learning_rate * grad / T.sqrt(accu_new + epsilon))
    return updates


def rmsprop(loss_or_grads, params, learning_rate=1.0, rho=0.9, epsilon=1e-6):
    """RMSProp: ``accu = rho * accu + (1 - rho) * grad ** 2``;
    ``param -= learning_rate * grad / sqrt(accu + epsilon)`` (epsilon inside the root)."""
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        accu = _state_like(param)
        accu_new = rho * accu + (1 - rho) * grad ** 2
        updates[accu] = accu_new
        updates[param] = param - (learning_rate * grad / T.sqrt(accu_new + epsilon))
    return updates


def adadelta(loss_or_grads, params, learning_rate=1.0, rho=0.95, epsilon=1e-6):
    """Adadelta (Zeiler 2012) with a ``learning_rate`` factor on the step."""
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        accu = _state_like(param)
        delta_accu = _state_like(param)
        accu_new = rho * accu + (1 - rho) * grad ** 2
        updates[accu] = accu_new
        step = grad * T.sqrt(delta_accu + epsilon) / T.sqrt(accu_new + epsilon)
        updates[param] = param - learning_rate * step
        updates[delta_accu] = rho * delta_accu + (1 - rho) * step ** 2
    return updates


def _time_step():
    """The step counter of Adam and friends, and its next value."""
    t_prev = theano.shared(floatX(0.0))
    return t_prev, t_prev + 1


def adam(loss_or_grads, params, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam (Kingma and Ba 2014), with the bias corrections folded into the step size:
    ``a_t = learning_rate * sqrt(1 - beta2 ** t) / (1 - beta1 ** t)``;
    ``param -= a_t * m_t / (sqrt(v_t) + epsilon)``."""
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev, t = _time_step()
    updates = OrderedDict()
    a_t = learning_rate * T.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for param, g_t in zip(params, grads):
        m_prev = _state_like(param)
        v_prev = _state_like(param)
        m_t = beta1 * m_prev + (1 - beta1) * g_t
        v_t = beta2 * v_prev + (1 - beta2) * g_t ** 2
        updates[m_prev] = m_t
        updates[v_prev] = v_t
        updates[param] = param - a_t * m_t / (T.sqrt(v_t) + epsilon)
    updates[t_prev] = t
    return updates


def adamax(loss_or_grads, params, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adamax, Adam's infinity-norm variant: ``u_t = max(beta2 * u, |g|)``;
    ``param -= learning_rate / (1 - beta1 ** t) * m_t / (u_t + epsilon)``."""
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev, t = _time_step()
    updates = OrderedDict()
    a_t = learning_rate / (1 - beta1 ** t)
    for param, g_t in zip(params, grads):
        m_prev = _state_like(param)
        u_prev = _state_like(param)
        m_t = beta1 * m_prev + (1 - beta1) * g_t
        u_t = T.maximum(beta2 * u_prev, abs(g_t))
        updates[m_prev] = m_t
        updates[u_prev] = u_t
        updates[param] = param - a_t * m_t / (u_t + epsilon)
    updates[t_prev] = t
    return updates


def amsgrad(loss_or_grads, params, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """AMSGrad: Adam with ``sqrt(max over time of v_t)`` in the denominator."""
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev, t = _time_step()
    updates = OrderedDict()
    a_t = learning_rate * T.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for param, g_t in zip(params, grads):
        m_prev = _state_like(param)
        v_prev = _state_like(param)
        v_hat_prev = _state_like(param)
        m_t = beta1 * m_prev + (1 - beta1) * g_t
        v_t = beta2 * v_prev + (1 - beta2) * g_t ** 2
        v_hat_t = T.maximum(v_hat_prev, v_t)
        updates[m_prev] = m_t
        updates[v_prev] = v_t
        updates[v_hat_prev] = v_hat_t
        updates[param] = param - a_t * m_t / (T.sqrt(v_hat_t) + epsilon)
    updates[t_prev] = t
    return updates


def norm_constraint(tensor_var, max_norm, norm_axes=None, epsilon=1e-7):
    """``tensor_var`` rescaled so that its norms over ``norm_axes`` are at most ``max_norm``.

    ``norm_axes`` defaults to axis 0 for a 2-d weight matrix (one norm per
    output unit) and to all axes but the first for 3-, 4- and 5-d filters.
    Returns an expression (typically used as ``updates[W] = norm_constraint(updates[W], 3)``).
    """
    ndim = tensor_var.ndim
    if norm_axes is not None:
        axes = tuple(norm_axes)
    elif ndim == 2:
        axes = (0,)
    elif ndim in (3, 4, 5):
        axes = tuple(range(1, ndim))
    else:
        raise ValueError(f"norm_constraint: unsupported tensor dimensionality {ndim}; "
                         "pass norm_axes")
    norms = T.sqrt(T.sum(T.sqr(tensor_var), axis=axes, keepdims=True))
    target = T.clip(norms, 0, max_norm)
    return tensor_var * (target / (epsilon + norms))


def total_norm_constraint(tensor_vars, max_norm, epsilon=1e-7, return_norm=False):
    """The expressions ``tensor_vars`` rescaled together so their joint norm is at most
    ``max_norm`` (gradient clipping); with ``return_norm`` also the norm before."""
    norm = T.sqrt(sum(T.sum(t ** 2) for t in tensor_vars))
    target = T.clip(norm, 0, max_norm)
    multiplier = target / (epsilon + norm)
    scaled = [t * multiplier for t in tensor_vars]
    return (scaled, norm) if return_norm else scaled
