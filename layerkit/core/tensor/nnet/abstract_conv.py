"""``theano.tensor.nnet.abstract_conv``: ``conv2d`` and its gradients with Theano's
semantics. The op, its gradient and these builders live in
:mod:`layerkit.core.ops.conv`."""
from __future__ import annotations

from ...ops.conv import (BORDER_MODES, conv2d, conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights,
                         resolve_padding)

__all__ = ["conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "resolve_padding",
           "BORDER_MODES"]
