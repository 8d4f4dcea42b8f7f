"""``theano.tensor.nnet.abstract_conv``: ``conv2d``, ``conv3d`` and their gradients with
Theano's semantics. The ops, their gradients and these builders live in
:mod:`layerkit.core.ops.conv`."""
from __future__ import annotations

from ...ops.conv import (BORDER_MODES, conv2d, conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights,
                         conv3d, conv3d_grad_wrt_inputs, conv3d_grad_wrt_weights,
                         resolve_padding)

__all__ = ["conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "conv3d",
           "conv3d_grad_wrt_inputs", "conv3d_grad_wrt_weights", "resolve_padding",
           "BORDER_MODES"]
