"""Update rules (Lasagne's ``lasagne.updates``): each returns an OrderedDict
mapping shared variables to their update expressions, for ``function(updates=)``.

>>> import layerkit.core as theano, layerkit.core.tensor as T
>>> from layerkit.updates import sgd, apply_momentum
>>> w = theano.shared(1.0, name="w")
>>> updates = apply_momentum(sgd(w ** 2, [w], learning_rate=0.1), [w], momentum=0.9)
>>> len(updates)   # the parameter and its velocity
2
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
    """``loss_or_grads`` if it is a list of gradients, else ``grad(loss, params)``."""
    if any(not isinstance(p, SharedVariable) for p in params):
        raise ValueError("params must contain shared variables only; if it contains "
                         "expressions, compute their gradients yourself and pass the list")
    if isinstance(loss_or_grads, list):
        if len(loss_or_grads) != len(params):
            raise ValueError(f"got {len(loss_or_grads)} gradients for {len(params)} parameters")
        return loss_or_grads
    return theano.grad(loss_or_grads, params)


def _zeros_like(param, name=None):
    value = param.get_value(borrow=True)
    return theano.shared(np.zeros(value.shape, dtype=value.dtype),
                         broadcastable=param.broadcastable, name=name)


def sgd(loss_or_grads, params, learning_rate):
    """``param - learning_rate * grad``."""
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        updates[param] = param - learning_rate * grad
    return updates


def apply_momentum(updates, params=None, momentum=0.9):
    """Classical momentum on top of existing updates:
    ``v = momentum * v + update - param; param = param + v``."""
    if params is None:
        params = list(updates.keys())
    updates = OrderedDict(updates)
    for param in params:
        velocity = _zeros_like(param)
        x = momentum * velocity + updates[param]
        updates[velocity] = x - param
        updates[param] = x
    return updates


def momentum(loss_or_grads, params, learning_rate, momentum=0.9):
    return apply_momentum(sgd(loss_or_grads, params, learning_rate), params, momentum)


def apply_nesterov_momentum(updates, params=None, momentum=0.9):
    """Nesterov momentum in Lasagne's reformulation:
    ``v = momentum * v + update - param; param = param + momentum * v + update - param``."""
    if params is None:
        params = list(updates.keys())
    updates = OrderedDict(updates)
    for param in params:
        velocity = _zeros_like(param)
        x = momentum * velocity + updates[param] - param
        updates[velocity] = x
        updates[param] = momentum * x + updates[param]
    return updates


def nesterov_momentum(loss_or_grads, params, learning_rate, momentum=0.9):
    return apply_nesterov_momentum(sgd(loss_or_grads, params, learning_rate), params, momentum)


def adagrad(loss_or_grads, params, learning_rate=1.0, epsilon=1e-6):
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        accu = _zeros_like(param)
        accu_new = accu + grad ** 2
        updates[accu] = accu_new
        updates[param] = param - learning_rate * grad / T.sqrt(accu_new + epsilon)
    return updates


def rmsprop(loss_or_grads, params, learning_rate=1.0, rho=0.9, epsilon=1e-6):
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    one = T.constant(1)
    for param, grad in zip(params, grads):
        accu = _zeros_like(param)
        accu_new = rho * accu + (one - rho) * grad ** 2
        updates[accu] = accu_new
        updates[param] = param - learning_rate * grad / T.sqrt(accu_new + epsilon)
    return updates


def adadelta(loss_or_grads, params, learning_rate=1.0, rho=0.95, epsilon=1e-6):
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    one = T.constant(1)
    for param, grad in zip(params, grads):
        accu, delta_accu = _zeros_like(param), _zeros_like(param)
        accu_new = rho * accu + (one - rho) * grad ** 2
        updates[accu] = accu_new
        update = grad * T.sqrt(delta_accu + epsilon) / T.sqrt(accu_new + epsilon)
        updates[param] = param - learning_rate * update
        updates[delta_accu] = rho * delta_accu + (one - rho) * update ** 2
    return updates


def _step_counter():
    return theano.shared(floatX(0.0))


def adam(loss_or_grads, params, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev = _step_counter()
    updates = OrderedDict()
    one = T.constant(1)
    t = t_prev + 1
    a_t = learning_rate * T.sqrt(one - beta2 ** t) / (one - beta1 ** t)
    for param, g in zip(params, grads):
        m_prev, v_prev = _zeros_like(param), _zeros_like(param)
        m_t = beta1 * m_prev + (one - beta1) * g
        v_t = beta2 * v_prev + (one - beta2) * g ** 2
        updates[m_prev] = m_t
        updates[v_prev] = v_t
        updates[param] = param - a_t * m_t / (T.sqrt(v_t) + epsilon)
    updates[t_prev] = t
    return updates


def adamax(loss_or_grads, params, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8):
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev = _step_counter()
    updates = OrderedDict()
    one = T.constant(1)
    t = t_prev + 1
    a_t = learning_rate / (one - beta1 ** t)
    for param, g in zip(params, grads):
        m_prev, u_prev = _zeros_like(param), _zeros_like(param)
        m_t = beta1 * m_prev + (one - beta1) * g
        u_t = T.maximum(beta2 * u_prev, abs(g))
        updates[m_prev] = m_t
        updates[u_prev] = u_t
        updates[param] = param - a_t * m_t / (u_t + epsilon)
    updates[t_prev] = t
    return updates


def amsgrad(loss_or_grads, params, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev = _step_counter()
    updates = OrderedDict()
    one = T.constant(1)
    t = t_prev + 1
    a_t = learning_rate * T.sqrt(one - beta2 ** t) / (one - beta1 ** t)
    for param, g in zip(params, grads):
        m_prev, v_prev, v_hat_prev = _zeros_like(param), _zeros_like(param), _zeros_like(param)
        m_t = beta1 * m_prev + (one - beta1) * g
        v_t = beta2 * v_prev + (one - beta2) * g ** 2
        v_hat_t = T.maximum(v_hat_prev, v_t)
        updates[m_prev], updates[v_prev], updates[v_hat_prev] = m_t, v_t, v_hat_t
        updates[param] = param - a_t * m_t / (T.sqrt(v_hat_t) + epsilon)
    updates[t_prev] = t
    return updates


def norm_constraint(tensor_var, max_norm, norm_axes=None, epsilon=1e-7):
    """Rescale ``tensor_var`` so its norms over ``norm_axes`` are at most ``max_norm``."""
    ndim = tensor_var.ndim
    if norm_axes is None:
        norm_axes = {2: (0,), 3: tuple(range(1, 3)), 4: tuple(range(1, 4)),
                     5: tuple(range(1, 5))}.get(ndim)
        if norm_axes is None:
            raise ValueError(f"unsupported tensor dimensionality {ndim}; must specify norm_axes")
    norms = T.sqrt(T.sum(T.sqr(tensor_var), axis=norm_axes, keepdims=True))
    target = T.clip(norms, 0, max_norm)
    return tensor_var * (target / (epsilon + norms))


def total_norm_constraint(tensor_vars, max_norm, epsilon=1e-7, return_norm=False):
    """Rescale a list of tensors together so their joint norm is at most ``max_norm``."""
    norm = T.sqrt(sum(T.sum(t ** 2) for t in tensor_vars))
    target = T.clip(norm, 0, max_norm)
    multiplier = target / (epsilon + norm)
    scaled = [t * multiplier for t in tensor_vars]
    return (scaled, norm) if return_norm else scaled
