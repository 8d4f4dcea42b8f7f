"""Layers merging several inputs."""
from __future__ import annotations

from ..core import tensor as T
from .base import MergeLayer

__all__ = ["ConcatLayer", "concat", "ElemwiseMergeLayer", "ElemwiseSumLayer"]


class ConcatLayer(MergeLayer):
    """Concatenate the inputs along ``axis``; the other sizes must agree."""

    def __init__(self, incomings, axis=1, cropping=None, **kwargs):
        super().__init__(incomings, **kwargs)
        if cropping is not None:
            raise NotImplementedError("ConcatLayer: cropping is not supported yet")
        self.axis = axis
        self.get_output_shape_for(self.input_shapes)  # check now

    def get_output_shape_for(self, input_shapes):
        ndim = len(input_shapes[0])
        axis = self.axis % ndim
        if any(len(s) != ndim for s in input_shapes):
            raise ValueError(f"ConcatLayer: inputs have different ranks: {input_shapes}")
        out = []
        for ax in range(ndim):
            sizes = [s[ax] for s in input_shapes]
            if ax == axis:
                out.append(None if None in sizes else sum(sizes))
            else:
                known = {s for s in sizes if s is not None}
                if len(known) > 1:
                    raise ValueError(f"ConcatLayer: mismatch: input shapes must be the same except "
                                     f"in the concatenation axis {axis}; got {input_shapes}")
                out.append(known.pop() if known else None)
        return tuple(out)

    def get_output_for(self, inputs, **kwargs):
        return T.concatenate(inputs, axis=self.axis)


concat = ConcatLayer


class ElemwiseMergeLayer(MergeLayer):
    """Fold the inputs with ``merge_function`` (e.g. ``T.maximum``)."""

    def __init__(self, incomings, merge_function, cropping=None, **kwargs):
        super().__init__(incomings, **kwargs)
        self.merge_function = merge_function
        self.get_output_shape_for(self.input_shapes)

    def get_output_shape_for(self, input_shapes):
        ndim = len(input_shapes[0])
        out = []
        for ax in range(ndim):
            known = {s[ax] for s in input_shapes if s[ax] is not None}
            if len(known) > 1 or any(len(s) != ndim for s in input_shapes):
                raise ValueError(f"{type(self).__name__}: mismatch: not all input shapes are the "
                                 f"same: {input_shapes}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def get_output_for(self, inputs, **kwargs):
        output = inputs[0]
        for x in inputs[1:]:
            output = self.merge_function(output, x)
        return output


class ElemwiseSumLayer(ElemwiseMergeLayer):
    """The (optionally weighted, ``coeffs``) sum of the inputs."""

    def __init__(self, incomings, coeffs=1, cropping=None, **kwargs):
        super().__init__(incomings, T.add, cropping=cropping, **kwargs)
        if isinstance(coeffs, list):
            if len(coeffs) != len(incomings):
                raise ValueError(f"ElemwiseSumLayer: got {len(coeffs)} coeffs for "
                                 f"{len(incomings)} input layers")
        else:
            coeffs = [coeffs] * len(incomings)
        self.coeffs = coeffs

    def get_output_for(self, inputs, **kwargs):
        output = None
        for coeff, x in zip(self.coeffs, inputs):
            if coeff != 1:
                x = x * coeff
            output = x if output is None else output + x
        return output
