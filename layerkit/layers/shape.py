"""Shape layers: flatten, reshape (with ``[i]`` references), dimshuffle, slice, pad."""
from __future__ import annotations

import numpy as np

from ..core import tensor as T
from .base import Layer

__all__ = ["FlattenLayer", "flatten", "ReshapeLayer", "reshape", "DimshuffleLayer",
           "dimshuffle", "SliceLayer", "PadLayer", "pad"]


class FlattenLayer(Layer):
    """Keep the first ``outdim - 1`` axes and flatten the rest."""

    def __init__(self, incoming, outdim=2, **kwargs):
        super().__init__(incoming, **kwargs)
        if outdim < 1:
            raise ValueError(f"FlattenLayer: outdim must be >= 1, got {outdim}")
        self.outdim = outdim

    def get_output_shape_for(self, input_shape):
        to_flatten = input_shape[self.outdim - 1:]
        flat = None if any(s is None for s in to_flatten) else int(np.prod(to_flatten))
        return input_shape[:self.outdim - 1] + (flat,)

    def get_output_for(self, input, **kwargs):
        return T.flatten(input, self.outdim)


flatten = FlattenLayer


class ReshapeLayer(Layer):
    """Reshape to ``shape``: ints, ``-1`` (once), or ``[i]`` for the input's size on axis i."""

    def __init__(self, incoming, shape, **kwargs):
        super().__init__(incoming, **kwargs)
        shape = tuple(shape)
        for s in shape:
            if isinstance(s, int):
                if s == 0 or s < -1:
                    raise ValueError(f"ReshapeLayer: `shape` integers must be positive or -1, "
                                     f"got {shape}")
            elif isinstance(s, list):
                if len(s) != 1 or not isinstance(s[0], int) or s[0] < 0:
                    raise ValueError(f"ReshapeLayer: `shape` input references must be "
                                     f"single-element lists of int >= 0, got {shape}")
            else:
                raise ValueError(f"ReshapeLayer: `shape` must be a tuple of int and/or [int], "
                                 f"got {shape}")
        if sum(s == -1 for s in shape) > 1:
            raise ValueError(f"ReshapeLayer: `shape` cannot contain multiple -1 values, "
                             f"got {shape}")
        self.shape = shape
        self.get_output_shape_for(self.input_shape)   # check now, not at get_output

    def get_output_shape_for(self, input_shape, **kwargs):
        for s in self.shape:
            if isinstance(s, list) and s[0] >= len(input_shape):
                raise ValueError(f"ReshapeLayer: reference {s} is out of range for input shape "
                                 f"{input_shape}")
        out = [input_shape[s[0]] if isinstance(s, list) else s for s in self.shape]
        masked_in = list(input_shape)
        masked_out = list(out)
        for s in self.shape:
            if isinstance(s, list):
                masked_in[s[0]] = 1
                masked_out[self.shape.index(s)] = 1
        if None in masked_in:
            # unknown input sizes: only -1 can't be resolved
            return tuple(None if o == -1 else o for o in out)
        in_size = int(np.prod(masked_in))
        known = [o for o in masked_out if o not in (-1, None)]
        out_size = int(np.prod(known)) if known else 1
        if -1 in out:
            if in_size % out_size:
                raise ValueError(f"ReshapeLayer: {input_shape} cannot be reshaped to {self.shape}")
            out[out.index(-1)] = in_size // out_size
        elif None not in masked_out and in_size != out_size:
            raise ValueError(f"ReshapeLayer: {input_shape} cannot be reshaped to {self.shape} "
                             f"({in_size} elements versus {out_size})")
        return tuple(out)

    def get_output_for(self, input, **kwargs):
        shape = [input.shape[s[0]] if isinstance(s, list) else s for s in self.shape]
        return T.reshape(input, shape)


reshape = ReshapeLayer


class DimshuffleLayer(Layer):
    """Reorder the axes by ``pattern`` (ints: input axes; 'x': a new axis of size 1).

    Input axes left out of the pattern are dropped; their size must be 1
    (or unknown, and then 1 at run time).

    >>> from layerkit.layers import InputLayer, DimshuffleLayer
    >>> DimshuffleLayer(InputLayer((None, 3, 1, 5)), (0, 'x', 3, 1)).output_shape
    (None, 1, 5, 3)
    """

    def __init__(self, incoming, pattern, **kwargs):
        super().__init__(incoming, **kwargs)
        self.pattern = tuple(pattern)
        used = set()
        for p in self.pattern:
            if p == "x":
                continue
            if isinstance(p, bool) or not isinstance(p, int):
                raise ValueError(f"DimshuffleLayer: the pattern should hold only input axes "
                                 f"(ints) and 'x', got {p!r} in {self.pattern}")
            if p in used:
                raise ValueError(f"DimshuffleLayer: the pattern {self.pattern} holds axis {p} "
                                 "more than once")
            used.add(p)
        self.get_output_shape_for(self.input_shape)   # check now

    def get_output_shape_for(self, input_shape):
        used = {p for p in self.pattern if p != "x"}
        for p in used:
            if not 0 <= p < len(input_shape):
                raise ValueError(f"DimshuffleLayer: the pattern {self.pattern} holds axis {p}, "
                                 f"but the input shape {input_shape} has {len(input_shape)} "
                                 "dimensions")
        for axis, size in enumerate(input_shape):
            if axis not in used and size not in (1, None):
                raise ValueError(f"DimshuffleLayer: the pattern {self.pattern} drops axis "
                                 f"{axis} of the input shape {input_shape}, whose size is "
                                 f"{size}; only axes of size 1 can be dropped")
        return tuple(1 if p == "x" else input_shape[p] for p in self.pattern)

    def get_output_for(self, input, **kwargs):
        # an input variable never marks a size as 1 (decision D73), so the axes
        # dropped here (size 1, or unknown) are declared 1 first; that is
        # checked when the function runs
        dropped = [axis for axis in range(input.ndim) if axis not in self.pattern]
        if dropped:
            input = T.addbroadcast(input, *dropped)
        return input.dimshuffle(self.pattern)


dimshuffle = DimshuffleLayer


class SliceLayer(Layer):
    """Slice (or index) the input along ``axis``."""

    def __init__(self, incoming, indices, axis=-1, **kwargs):
        super().__init__(incoming, **kwargs)
        self.slice, self.axis = indices, axis

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        if isinstance(self.slice, int):
            del shape[self.axis]
        elif shape[self.axis] is not None:
            shape[self.axis] = len(range(*self.slice.indices(shape[self.axis])))
        else:
            shape[self.axis] = None
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        axis = self.axis % input.ndim
        return input[(slice(None),) * axis + (self.slice,)]


class PadLayer(Layer):
    """Zero-pad (or pad with ``val``) the trailing axes by ``width``."""

    def __init__(self, incoming, width, val=0, batch_ndim=2, **kwargs):
        super().__init__(incoming, **kwargs)
        self.width, self.val, self.batch_ndim = width, val, batch_ndim

    def _widths(self, ndim):
        n = ndim - self.batch_ndim
        w = self.width
        if isinstance(w, int):
            return [(w, w)] * n
        return [(p, p) if isinstance(p, int) else tuple(p) for p in w]

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        for k, (a, b) in enumerate(self._widths(len(shape))):
            ax = self.batch_ndim + k
            if shape[ax] is not None:
                shape[ax] += a + b
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        widths = self._widths(input.ndim)
        out_shape = [input.shape[i] for i in range(input.ndim)]
        key = [slice(None)] * input.ndim
        for k, (a, b) in enumerate(widths):
            ax = self.batch_ndim + k
            out_shape[ax] = out_shape[ax] + a + b
            key[ax] = slice(a, a + input.shape[ax])
        base = T.alloc(T.cast(self.val, input.dtype), *out_shape)
        return T.set_subtensor(base[tuple(key)], input)


pad = PadLayer
