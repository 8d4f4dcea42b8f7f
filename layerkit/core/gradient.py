"""``theano.gradient`` under its old path (``import layerkit.core as theano``;
``theano.gradient.grad_clip(...)``, ``from layerkit.core.gradient import grad``).

- :func:`grad`: symbolic differentiation, with Theano's ``known_grads``;
- :func:`disconnected_grad` (alias ``consider_constant``): identity forward, no
  gradient flows through it (the input counts as disconnected);
- :func:`zero_grad`: identity forward, a zero gradient (the input stays connected);
- :func:`grad_clip`: identity forward, the gradient clipped elementwise to
  ``[lower_bound, upper_bound]``.
"""
from __future__ import annotations

from .grad import DisconnectedInputError, grad
from .ops.basic import GradBlock, disconnected_grad
from .ops.elemwise import GradClip, ZeroGrad, grad_clip, zero_grad

__all__ = ["grad", "DisconnectedInputError", "disconnected_grad", "consider_constant",
           "zero_grad", "grad_clip", "GradClip", "ZeroGrad", "GradBlock"]

consider_constant = disconnected_grad
