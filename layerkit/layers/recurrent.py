"""Recurrent layers (Lasagne's ``lasagne.layers.recurrent``).

A recurrent layer reads a sequence ``(batch, steps, features...)`` and gives
the hidden state after every step, ``(batch, steps, units...)`` (or only the
last one with ``only_return_final=True``). The loop is one ``theano.scan``
(``unroll_scan=True``: as many copies of the step as there are steps). The
options the four layers share, with Lasagne's meanings:

- ``mask_input``: a layer giving a ``(batch, steps)`` mask; where it is 0, the
  step keeps the previous state (variable-length sequences);
- ``hid_init`` (and the LSTM's ``cell_init``): an initializer, array or shared
  variable for a ``(1, units)`` parameter repeated over the batch (learned
  when ``learn_init``), or a :class:`~layerkit.layers.Layer` whose output is
  the ``(batch, units)`` initial state;
- ``backwards``: run from the last step to the first (the output is still in
  the input's order);
- ``gradient_steps``: back-propagate through the last this-many steps only
  (scan's ``truncate_gradient``; -1: all);
- ``grad_clipping``: clip the gradient messages of the recurrence to
  ``[-grad_clipping, grad_clipping]`` (``theano.gradient.grad_clip``; 0: off);
- ``precompute_input``: compute the input's contribution for all steps
  before the loop (the same values either way).

Trailing input dimensions beyond the third are flattened (except by
:class:`CustomRecurrentLayer`, whose connections are any layers).

>>> from layerkit.layers import InputLayer, LSTMLayer
>>> l_in = InputLayer((None, 20, 8))
>>> LSTMLayer(l_in, num_units=16).output_shape
(None, 20, 16)
>>> LSTMLayer(l_in, num_units=16, only_return_final=True).output_shape
(None, 16)
"""
from __future__ import annotations

import math
import numbers

from .. import init, nonlinearities
from ..core import gradient
from ..core import scan as _scan
from ..core import tensor as T
from ..utils import collect_shared_vars, inspect_kwargs, unroll_scan
from . import helper
from .base import Layer, MergeLayer
from .dense import DenseLayer
from .input import InputLayer

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer"]


# -- what the layers share ---------------------------------------------------------------------

class _RecurrentBase(MergeLayer):
    """The incomings (input, optional mask, initial states given as layers),
    the loop options and the loop itself."""

    def __init__(self, incoming, mask_input, state_inits, backwards, learn_init,
                 gradient_steps, grad_clipping, unroll_scan, precompute_input,
                 only_return_final, **kwargs):
        # incomings: the input, then the mask, then each initial state given as a layer
        incomings = [incoming]
        self.mask_incoming_index = -1
        if mask_input is not None:
            incomings.append(mask_input)
            self.mask_incoming_index = len(incomings) - 1
        for state, value in state_inits:
            index = -1
            if isinstance(value, Layer):
                incomings.append(value)
                index = len(incomings) - 1
            setattr(self, f"{state}_incoming_index", index)
        super().__init__(incomings, **kwargs)
        self.backwards = backwards
        self.learn_init = learn_init
        self.gradient_steps = gradient_steps
        self.grad_clipping = grad_clipping
        self.unroll_scan = unroll_scan
        self.precompute_input = precompute_input
        self.only_return_final = only_return_final
        if isinstance(gradient_steps, bool) or not isinstance(gradient_steps, numbers.Integral):
            raise TypeError(f"{self!r}: gradient_steps must be an int (-1: the whole "
                            f"sequence), got {gradient_steps!r}")
        if unroll_scan and gradient_steps != -1:
            raise ValueError(f"{self!r}: gradient_steps must be -1 when unroll_scan is True "
                             f"(an unrolled loop back-propagates through every step), got "
                             f"gradient_steps={gradient_steps}")
        if unroll_scan and self.input_shapes[0][1] is None:
            raise ValueError(f"{self!r}: unroll_scan=True needs the sequence length (the "
                             f"input's second dimension) known when the layer is built; the "
                             f"input shape is {self.input_shapes[0]}")

    def _num_units(self, num_units):
        if isinstance(num_units, bool) or not isinstance(num_units, numbers.Integral) \
                or num_units <= 0:
            raise ValueError(f"{self!r}: num_units must be a positive integer, "
                             f"got num_units={num_units!r}")
        return int(num_units)

    def _num_inputs(self):
        trailing = self.input_shapes[0][2:]
        if not trailing or any(s is None for s in trailing):
            raise ValueError(f"{self!r} needs an input of shape (batch, steps, features...) "
                             f"with the feature sizes known; got {self.input_shapes[0]}")
        return math.prod(trailing)

    def _initial_state(self, spec, shape, name):
        """A Layer is kept (its output is the state); anything else is a parameter."""
        if isinstance(spec, Layer):
            return spec
        return self.add_param(spec, shape, name=name, trainable=self.learn_init,
                              regularizable=False)

    def _split_inputs(self, inputs, *states):
        """The input, the mask (or None) and each state's incoming expression (or None)."""
        def pick(index):
            return inputs[index] if index > 0 else None
        return (inputs[0], pick(self.mask_incoming_index),
                *(pick(getattr(self, f"{s}_incoming_index")) for s in states))

    def _clip(self, x):
        if self.grad_clipping:
            return gradient.grad_clip(x, -self.grad_clipping, self.grad_clipping)
        return x

    def _loop(self, step, sequences, outputs_info, non_seqs):
        """The states after every step, each ``(steps, batch, ...)`` in the order run."""
        if self.unroll_scan:
            return unroll_scan(fn=step, sequences=sequences, outputs_info=outputs_info,
                               go_backwards=self.backwards, non_sequences=non_seqs,
                               n_steps=self.input_shapes[0][1])
        outs, _ = _scan(fn=step, sequences=sequences, outputs_info=outputs_info,
                        go_backwards=self.backwards, non_sequences=non_seqs,
                        truncate_gradient=self.gradient_steps, strict=True, return_list=True)
        return outs

    def _finish(self, hid_out):
        """``(steps, batch, ...)`` in the order run -> the layer's output."""
        if self.only_return_final:
            return hid_out[-1]
        hid_out = hid_out.dimshuffle(1, 0, *range(2, hid_out.ndim))
        if self.backwards:
            hid_out = hid_out[:, ::-1]
        return hid_out


def _masked(step, n_states):
    """``step`` whose new states are the previous ones where the mask is 0."""
    def step_masked(input_n, mask_n, *rest):
        previous = rest[:n_states]
        new = step(input_n, *rest)
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        return [T.switch(mask_n, n, p) for n, p in zip(new, previous)]
    return step_masked


def _repeat_over_batch(state, num_batch):
    """A ``(1, ...)`` state as ``(num_batch, ...)`` (Lasagne's product with a ones column)."""
    order = list(range(1, state.ndim - 1)) + [0, state.ndim - 1]
    return T.dot(T.ones((num_batch, 1)), state.dimshuffle(*order))


# -- CustomRecurrentLayer, RecurrentLayer ------------------------------------------------------

class CustomRecurrentLayer(_RecurrentBase):
    """A recurrence through any two layers: ``h_t = nonlinearity(f_i(x_t) + f_h(h_{t-1}))``.

    Parameters
    ----------
    incoming : a :class:`Layer` instance or a tuple
        The input, ``(batch, steps, features...)``.
    input_to_hidden : a :class:`Layer`
        ``f_i``: a chain of layers on its own :class:`InputLayer`, which gets
        one step's input ``(batch, features...)`` (with ``precompute_input``,
        all steps at once as ``(batch * steps, features...)``).
    hidden_to_hidden : a :class:`Layer`
        ``f_h``: a chain of layers on its own :class:`InputLayer`, which gets
        the previous state; its output shape is the state's.
    nonlinearity : callable or None
        Default ``rectify``; None: linear.
    hid_init, backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
    precompute_input, mask_input, only_return_final :
        As described in :mod:`layerkit.layers.recurrent`.

    Its parameters are ``hid_init`` and then those of ``input_to_hidden`` and
    ``hidden_to_hidden`` (in that order, as Lasagne's).
    """

    def __init__(self, incoming, input_to_hidden, hidden_to_hidden,
                 nonlinearity=nonlinearities.rectify, hid_init=init.Constant(0.),
                 backwards=False, learn_init=False, gradient_steps=-1, grad_clipping=0,
                 unroll_scan=False, precompute_input=True, mask_input=None,
                 only_return_final=False, **kwargs):
        super().__init__(incoming, mask_input, [("hid_init", hid_init)], backwards,
                         learn_init, gradient_steps, grad_clipping, unroll_scan,
                         precompute_input, only_return_final, **kwargs)
        for what, layer in (("input_to_hidden", input_to_hidden),
                            ("hidden_to_hidden", hidden_to_hidden)):
            if not isinstance(layer, Layer):
                raise TypeError(f"{self!r}: {what} must be a Layer, got {layer!r}")
        h_to_h_inputs = [lyr for lyr in helper.get_all_layers(hidden_to_hidden)
                         if isinstance(lyr, InputLayer)]
        for what, layer in (("input_to_hidden", input_to_hidden),
                            ("hidden_to_hidden", hidden_to_hidden)):
            count = sum(isinstance(lyr, InputLayer) for lyr in helper.get_all_layers(layer))
            if count != 1:
                raise ValueError(f"{self!r}: `{what}` must have exactly one InputLayer, "
                                 f"but it has {count}")
        self.input_to_hidden = input_to_hidden
        self.hidden_to_hidden = hidden_to_hidden
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity

        input_shape = self.input_shapes[0]
        i_out, h_out = input_to_hidden.output_shape, hidden_to_hidden.output_shape
        if precompute_input and None not in (i_out[0], input_shape[0], input_shape[1]) \
                and i_out[0] != input_shape[0] * input_shape[1]:
            raise ValueError(
                f"{self!r}: with precompute_input=True, input_to_hidden.output_shape[0] must "
                f"be None or batch_size * sequence_length = "
                f"{input_shape[0] * input_shape[1]}, got {i_out[0]}")
        if not precompute_input and None not in (i_out[0], h_out[0]) and i_out[0] != h_out[0]:
            raise ValueError(
                f"{self!r}: with precompute_input=False, input_to_hidden.output_shape[0] "
                f"({i_out[0]}) must equal hidden_to_hidden.output_shape[0] ({h_out[0]})")

        def agree(a, b):
            return all(s1 is None or s2 is None or s1 == s2 for s1, s2 in zip(a[1:], b[1:]))
        if not agree(i_out, h_out):
            raise ValueError(f"{self!r}: the output shapes of input_to_hidden {i_out} and "
                             f"hidden_to_hidden {h_out} must be equal after the first "
                             "dimension")
        h_in = h_to_h_inputs[0].output_shape
        if not agree(i_out, h_in):
            raise ValueError(f"{self!r}: the output shape of input_to_hidden {i_out} must "
                             f"equal the input shape of hidden_to_hidden {h_in} after the "
                             "first dimension")
        self.hid_init = self._initial_state(hid_init, (1,) + tuple(h_out[1:]), "hid_init")
        # get_output keywords the inner layers read (passed on to them, and only those)
        inner = helper.get_all_layers([input_to_hidden, hidden_to_hidden])
        self.get_output_kwargs = sorted(
            {"deterministic"}.union(*(_accepted_kwargs(lyr) for lyr in inner)))

    def get_params(self, unwrap_shared=True, **tags):
        params = super().get_params(unwrap_shared=unwrap_shared, **tags)
        params += helper.get_all_params(self.input_to_hidden, unwrap_shared=unwrap_shared,
                                        **tags)
        params += helper.get_all_params(self.hidden_to_hidden, unwrap_shared=unwrap_shared,
                                        **tags)
        return params

    def get_output_shape_for(self, input_shapes):
        input_shape = input_shapes[0]
        units = tuple(self.hidden_to_hidden.output_shape[1:])
        if self.only_return_final:
            return (input_shape[0],) + units
        return (input_shape[0], input_shape[1]) + units

    def get_output_for(self, inputs, **kwargs):
        input, mask, hid_init = self._split_inputs(inputs, "hid_init")
        kwargs = {k: v for k, v in kwargs.items() if k in self.get_output_kwargs}
        # scan iterates over the first axis: (steps, batch, features...)
        input = input.dimshuffle(1, 0, *range(2, input.ndim))
        seq_len, num_batch = input.shape[0], input.shape[1]
        if self.precompute_input:
            trailing = tuple(input.shape[k] for k in range(2, input.ndim))
            flat = T.reshape(input, (seq_len * num_batch,) + trailing)
            flat = helper.get_output(self.input_to_hidden, flat, **kwargs)
            trailing = tuple(flat.shape[k] for k in range(1, flat.ndim))
            input = T.reshape(flat, (seq_len, num_batch) + trailing)

        non_seqs = helper.get_all_params(self.hidden_to_hidden)
        if not self.precompute_input:
            non_seqs += helper.get_all_params(self.input_to_hidden)

        def step(input_n, hid_previous, *args):
            hid_pre = helper.get_output(self.hidden_to_hidden, hid_previous, **kwargs)
            if self.precompute_input:
                hid_pre = hid_pre + input_n
            else:
                hid_pre = hid_pre + helper.get_output(self.input_to_hidden, input_n, **kwargs)
            return self.nonlinearity(self._clip(hid_pre))

        sequences, step_fun = [input], step
        if mask is not None:
            sequences.append(mask.dimshuffle(1, 0, "x"))
            step_fun = _masked(step, 1)
        if not isinstance(self.hid_init, Layer):
            hid_init = _repeat_over_batch(self.hid_init, num_batch)
        [hid_out] = self._loop(step_fun, sequences, [hid_init], non_seqs)
        return self._finish(hid_out)


def _accepted_kwargs(layer):
    try:
        names = set(inspect_kwargs(layer.get_output_for))
    except (TypeError, ValueError):
        names = set()
    return names | set(getattr(layer, "get_output_kwargs", ()))


class RecurrentLayer(CustomRecurrentLayer):
    """The dense ("vanilla") recurrent layer: ``h_t = nonlinearity(x_t W_in + h_{t-1} W_hid + b)``.

    A :class:`CustomRecurrentLayer` of two :class:`DenseLayer` s, named
    ``"input_to_hidden"`` (``W_in_to_hid``, ``b``) and ``"hidden_to_hidden"``
    (``W_hid_to_hid``, no bias), prefixed with this layer's name when it has
    one. Its parameters, in order: ``hid_init``, ``input_to_hidden.W``,
    ``input_to_hidden.b``, ``hidden_to_hidden.W``.

    Parameters
    ----------
    num_units : int
    W_in_to_hid, W_hid_to_hid : initializer, array or shared variable
        Shapes ``(num_inputs, num_units)``, ``(num_units, num_units)``.
        Default ``Uniform()``.
    b : initializer, array, shared variable or None
        Shape ``(num_units,)``; default ``Constant(0.)``; None: no bias.
    The other arguments are :class:`CustomRecurrentLayer`'s.
    """

    def __init__(self, incoming, num_units, W_in_to_hid=init.Uniform(),
                 W_hid_to_hid=init.Uniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, hid_init=init.Constant(0.),
                 backwards=False, learn_init=False, gradient_steps=-1, grad_clipping=0,
                 unroll_scan=False, precompute_input=True, mask_input=None,
                 only_return_final=False, **kwargs):
        input_shape = incoming if isinstance(incoming, tuple) else incoming.output_shape
        basename = f"{kwargs['name']}." if kwargs.get("name") is not None else ""
        layer_kwargs = {k: v for k, v in kwargs.items() if k != "name"}
        in_to_hid = DenseLayer(InputLayer((None,) + tuple(input_shape[2:])), num_units,
                               W=W_in_to_hid, b=b, nonlinearity=None,
                               name=basename + "input_to_hidden", **layer_kwargs)
        hid_to_hid = DenseLayer(InputLayer((None, num_units)), num_units, W=W_hid_to_hid,
                                b=None, nonlinearity=None, name=basename + "hidden_to_hidden",
                                **layer_kwargs)
        self.W_in_to_hid = in_to_hid.W
        self.W_hid_to_hid = hid_to_hid.W
        self.b = in_to_hid.b
        super().__init__(incoming, in_to_hid, hid_to_hid, nonlinearity=nonlinearity,
                         hid_init=hid_init, backwards=backwards, learn_init=learn_init,
                         gradient_steps=gradient_steps, grad_clipping=grad_clipping,
                         unroll_scan=unroll_scan, precompute_input=precompute_input,
                         mask_input=mask_input, only_return_final=only_return_final, **kwargs)


# -- Gate, LSTMLayer, GRULayer -----------------------------------------------------------------

class Gate:
    """The parameters of one gate of an LSTM or GRU layer.

    A gate computes ``nonlinearity(x_t W_in + h_{t-1} W_hid [+ c W_cell] + b)``;
    the arguments are initializers (or arrays, shared variables) for
    ``W_in`` ``(num_inputs, num_units)``, ``W_hid`` ``(num_units, num_units)``,
    the peephole vector ``W_cell`` ``(num_units,)`` (None: not stored; only
    the LSTM's peepholes read it) and ``b`` ``(num_units,)``. ``nonlinearity``
    None means linear.

    >>> forget = Gate(b=init.Constant(1.0))    # a forget gate that starts open
    """

    def __init__(self, W_in=init.Normal(0.1), W_hid=init.Normal(0.1), W_cell=init.Normal(0.1),
                 b=init.Constant(0.), nonlinearity=nonlinearities.sigmoid):
        self.W_in = W_in
        self.W_hid = W_hid
        if W_cell is not None:
            self.W_cell = W_cell
        self.b = b
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity


class _GatedLayer(_RecurrentBase):
    """Parameters from :class:`Gate` s and the stacked weights of the step."""

    def _add_gate(self, gate, gate_name, num_inputs):
        if not isinstance(gate, Gate):
            raise TypeError(f"{self!r}: {gate_name} must be a Gate, got {gate!r}")
        units = self.num_units
        W_in = self.add_param(gate.W_in, (num_inputs, units), name=f"W_in_to_{gate_name}")
        W_hid = self.add_param(gate.W_hid, (units, units), name=f"W_hid_to_{gate_name}")
        b = self.add_param(gate.b, (units,), name=f"b_{gate_name}", regularizable=False)
        setattr(self, f"W_in_to_{gate_name}", W_in)
        setattr(self, f"W_hid_to_{gate_name}", W_hid)
        setattr(self, f"b_{gate_name}", b)
        return gate.nonlinearity

    def get_output_shape_for(self, input_shapes):
        input_shape = input_shapes[0]
        if self.only_return_final:
            return input_shape[0], self.num_units
        return input_shape[0], input_shape[1], self.num_units

    def _stacked(self, gate_names):
        """The gates' input weights, hidden weights and biases side by side."""
        W_in = T.concatenate([getattr(self, f"W_in_to_{g}") for g in gate_names], axis=1)
        W_hid = T.concatenate([getattr(self, f"W_hid_to_{g}") for g in gate_names], axis=1)
        b = T.concatenate([getattr(self, f"b_{g}") for g in gate_names], axis=0)
        return W_in, W_hid, b

    def _gate_slice(self, x, n):
        return x[:, n * self.num_units:(n + 1) * self.num_units]

    @staticmethod
    def _sequence_input(input):
        """(batch, steps, features...) -> (steps, batch, features)."""
        if input.ndim > 3:
            input = T.flatten(input, 3)
        return input.dimshuffle(1, 0, 2)


class LSTMLayer(_GatedLayer):
    """A long short-term memory layer, with optional peepholes (Graves 2013).

    ``i_t = s_i(x_t W_xi + h_{t-1} W_hi + w_ci * c_{t-1} + b_i)``,
    ``f_t = s_f(x_t W_xf + h_{t-1} W_hf + w_cf * c_{t-1} + b_f)``,
    ``c_t = f_t * c_{t-1} + i_t * s_c(x_t W_xc + h_{t-1} W_hc + b_c)``,
    ``o_t = s_o(x_t W_xo + h_{t-1} W_ho + w_co * c_t + b_o)``,
    ``h_t = o_t * nonlinearity(c_t)``; the output is ``h``.

    Parameters
    ----------
    num_units : int
    ingate, forgetgate, cell, outgate : :class:`Gate`
        Each gate's initializers and nonlinearity (``cell``'s ``W_cell`` is
        never used).
    nonlinearity : callable or None
        Applied to the cell before the output gate; default ``tanh``.
    cell_init, hid_init : initializer, array, shared variable or Layer
        The initial cell and hidden states (module docstring).
    peepholes : bool
        Use the diagonal cell-to-gate weights ``W_cell_to_ingate``,
        ``W_cell_to_forgetgate``, ``W_cell_to_outgate`` (vectors).
    The other arguments are described in :mod:`layerkit.layers.recurrent`.

    Parameters, in order: ``W_in_to_ingate W_hid_to_ingate b_ingate``, the
    same for ``forgetgate``, ``cell`` and ``outgate``, then the peepholes,
    ``cell_init`` and ``hid_init`` (Lasagne's order).
    """

    def __init__(self, incoming, num_units, ingate=Gate(), forgetgate=Gate(),
                 cell=Gate(W_cell=None, nonlinearity=nonlinearities.tanh), outgate=Gate(),
                 nonlinearity=nonlinearities.tanh, cell_init=init.Constant(0.),
                 hid_init=init.Constant(0.), backwards=False, learn_init=False,
                 peepholes=True, gradient_steps=-1, grad_clipping=0, unroll_scan=False,
                 precompute_input=True, mask_input=None, only_return_final=False, **kwargs):
        super().__init__(incoming, mask_input, [("hid_init", hid_init), ("cell_init", cell_init)],
                         backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
                         precompute_input, only_return_final, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = self._num_units(num_units)
        self.peepholes = peepholes
        num_inputs = self._num_inputs()
        self.nonlinearity_ingate = self._add_gate(ingate, "ingate", num_inputs)
        self.nonlinearity_forgetgate = self._add_gate(forgetgate, "forgetgate", num_inputs)
        self.nonlinearity_cell = self._add_gate(cell, "cell", num_inputs)
        self.nonlinearity_outgate = self._add_gate(outgate, "outgate", num_inputs)
        if peepholes:
            for gate, gate_name in ((ingate, "ingate"), (forgetgate, "forgetgate"),
                                    (outgate, "outgate")):
                if not hasattr(gate, "W_cell"):
                    raise ValueError(f"{self!r}: peepholes=True needs {gate_name}.W_cell, but "
                                     f"that Gate was made with W_cell=None")
                setattr(self, f"W_cell_to_{gate_name}",
                        self.add_param(gate.W_cell, (self.num_units,),
                                       name=f"W_cell_to_{gate_name}"))
        self.cell_init = self._initial_state(cell_init, (1, self.num_units), "cell_init")
        self.hid_init = self._initial_state(hid_init, (1, self.num_units), "hid_init")

    def get_output_for(self, inputs, **kwargs):
        input, mask, hid_init, cell_init = self._split_inputs(inputs, "hid_init", "cell_init")
        input = self._sequence_input(input)
        num_batch = input.shape[1]
        W_in, W_hid, b = self._stacked(["ingate", "forgetgate", "cell", "outgate"])
        if self.precompute_input:
            input = T.dot(input, W_in) + b
        slice_w = self._gate_slice

        def step(input_n, cell_previous, hid_previous, *args):
            if not self.precompute_input:
                input_n = T.dot(input_n, W_in) + b
            gates = self._clip(input_n + T.dot(hid_previous, W_hid))
            ingate, forgetgate = slice_w(gates, 0), slice_w(gates, 1)
            cell_input, outgate = slice_w(gates, 2), slice_w(gates, 3)
            if self.peepholes:
                ingate = ingate + cell_previous * self.W_cell_to_ingate
                forgetgate = forgetgate + cell_previous * self.W_cell_to_forgetgate
            ingate = self.nonlinearity_ingate(ingate)
            forgetgate = self.nonlinearity_forgetgate(forgetgate)
            cell_input = self.nonlinearity_cell(cell_input)
            cell = forgetgate * cell_previous + ingate * cell_input
            if self.peepholes:
                outgate = outgate + cell * self.W_cell_to_outgate
            outgate = self.nonlinearity_outgate(outgate)
            return [cell, outgate * self.nonlinearity(cell)]

        sequences, step_fun = [input], step
        if mask is not None:
            sequences.append(mask.dimshuffle(1, 0, "x"))
            step_fun = _masked(step, 2)
        ones = T.ones((num_batch, 1))
        if not isinstance(self.cell_init, Layer):
            cell_init = T.dot(ones, self.cell_init)
        if not isinstance(self.hid_init, Layer):
            hid_init = T.dot(ones, self.hid_init)
        step_reads = [W_hid] + ([self.W_cell_to_ingate, self.W_cell_to_forgetgate,
                                 self.W_cell_to_outgate] if self.peepholes else [])
        if not self.precompute_input:
            step_reads += [W_in, b]
        _, hid_out = self._loop(step_fun, sequences, [cell_init, hid_init],
                                _non_sequences(step_reads))
        return self._finish(hid_out)


class GRULayer(_GatedLayer):
    """A gated recurrent unit layer (Cho et al. 2014), with Lasagne's reset-gate placement.

    ``r_t = s_r(x_t W_xr + h_{t-1} W_hr + b_r)``,
    ``u_t = s_u(x_t W_xu + h_{t-1} W_hu + b_u)``,
    ``c_t = s_c(x_t W_xc + r_t * (h_{t-1} W_hc) + b_c)``,
    ``h_t = (1 - u_t) * h_{t-1} + u_t * c_t``: the reset gate scales
    ``h_{t-1} W_hc`` (PyTorch's ``nn.GRU`` with a zero ``b_hn``), not ``h_{t-1}``.

    Parameters
    ----------
    num_units : int
    resetgate, updategate, hidden_update : :class:`Gate`
        Their ``W_cell`` is never used.
    hid_init : initializer, array, shared variable or Layer
    The other arguments are described in :mod:`layerkit.layers.recurrent`.

    Parameters, in order (Lasagne's): ``W_in_to_updategate W_hid_to_updategate
    b_updategate``, the same for ``resetgate`` and ``hidden_update``, then
    ``hid_init``. With ``grad_clipping``, the gradient is clipped at the
    step's input (with ``precompute_input=False``: at ``x_t`` itself), at
    ``h_{t-1} W_h`` and at the hidden update's pre-activation, as in Lasagne.
    """

    def __init__(self, incoming, num_units, resetgate=Gate(W_cell=None),
                 updategate=Gate(W_cell=None),
                 hidden_update=Gate(W_cell=None, nonlinearity=nonlinearities.tanh),
                 hid_init=init.Constant(0.), backwards=False, learn_init=False,
                 gradient_steps=-1, grad_clipping=0, unroll_scan=False, precompute_input=True,
                 mask_input=None, only_return_final=False, **kwargs):
        super().__init__(incoming, mask_input, [("hid_init", hid_init)], backwards, learn_init,
                         gradient_steps, grad_clipping, unroll_scan, precompute_input,
                         only_return_final, **kwargs)
        self.num_units = self._num_units(num_units)
        num_inputs = self._num_inputs()
        self.nonlinearity_updategate = self._add_gate(updategate, "updategate", num_inputs)
        self.nonlinearity_resetgate = self._add_gate(resetgate, "resetgate", num_inputs)
        self.nonlinearity_hid = self._add_gate(hidden_update, "hidden_update", num_inputs)
        self.hid_init = self._initial_state(hid_init, (1, self.num_units), "hid_init")

    def get_output_for(self, inputs, **kwargs):
        input, mask, hid_init = self._split_inputs(inputs, "hid_init")
        input = self._sequence_input(input)
        num_batch = input.shape[1]
        W_in, W_hid, b = self._stacked(["resetgate", "updategate", "hidden_update"])
        if self.precompute_input:
            input = T.dot(input, W_in) + b
        slice_w = self._gate_slice

        def step(input_n, hid_previous, *args):
            hid_input = self._clip(T.dot(hid_previous, W_hid))
            input_n = self._clip(input_n)
            if not self.precompute_input:
                input_n = T.dot(input_n, W_in) + b
            resetgate = self.nonlinearity_resetgate(slice_w(hid_input, 0) + slice_w(input_n, 0))
            updategate = self.nonlinearity_updategate(
                slice_w(hid_input, 1) + slice_w(input_n, 1))
            hidden_update = slice_w(input_n, 2) + resetgate * slice_w(hid_input, 2)
            hidden_update = self.nonlinearity_hid(self._clip(hidden_update))
            return (1 - updategate) * hid_previous + updategate * hidden_update

        sequences, step_fun = [input], step
        if mask is not None:
            sequences.append(mask.dimshuffle(1, 0, "x"))
            step_fun = _masked(step, 1)
        if not isinstance(self.hid_init, Layer):
            hid_init = T.dot(T.ones((num_batch, 1)), self.hid_init)
        step_reads = [W_hid] + ([W_in, b] if not self.precompute_input else [])
        [hid_out] = self._loop(step_fun, sequences, [hid_init], _non_sequences(step_reads))
        return self._finish(hid_out)


def _non_sequences(step_reads):
    """The shared variables behind what the step reads (its stacked weights).

    The step reads the stacked expressions from its closure, as Lasagne's does;
    scan's ``strict=True`` wants the shared variables they are built from
    listed as non-sequences."""
    return collect_shared_vars(step_reads)
