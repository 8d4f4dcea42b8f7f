"""Layers merging several inputs."""
from __future__ import annotations

from ..core import tensor as T
from .base import MergeLayer

__all__ = ["ConcatLayer", "concat", "ElemwiseMergeLayer", "ElemwiseSumLayer", "autocrop",
           "autocrop_array_shapes"]

CROP_MODES = ("lower", "center", "upper")


def _check_cropping(cropping, who):
    if cropping is None:
        return None
    cropping = list(cropping)
    for mode in cropping:
        if mode is not None and mode not in CROP_MODES:
            raise ValueError(f"{who}: unknown crop mode {mode!r}; expected None or one of "
                             f"{CROP_MODES}")
    return cropping


def autocrop_array_shapes(input_shapes, cropping):
    """The shapes of the inputs after :func:`autocrop`: on every axis with a
    crop mode, each size becomes the smallest (None if any is unknown)."""
    if cropping is None:
        return [tuple(s) for s in input_shapes]
    ndim = len(input_shapes[0])
    if any(len(s) != ndim for s in input_shapes):
        raise ValueError(f"autocrop: not all inputs have the same number of dimensions: "
                         f"{input_shapes}")
    cropping = _check_cropping(cropping, "autocrop")
    cropping += [None] * (ndim - len(cropping))
    result = [list(s) for s in input_shapes]
    for axis, mode in enumerate(cropping):
        if mode is None:
            continue
        sizes = [s[axis] for s in input_shapes]
        smallest = None if None in sizes else min(sizes)
        for shape in result:
            shape[axis] = smallest
    return [tuple(s) for s in result]


def autocrop(inputs, cropping):
    """Crop the expressions ``inputs`` to a common size on the axes that
    ``cropping`` (one entry per leading axis) names.

    A mode of None leaves the axis alone; 'lower' keeps the first elements,
    'upper' the last, 'center' the middle ones (the extra element, for an odd
    difference, is cut from the end), so every input gets the smallest size
    along that axis.
    """
    if cropping is None:
        return list(inputs)
    ndim = inputs[0].ndim
    if any(x.ndim != ndim for x in inputs):
        raise ValueError(f"autocrop: not all inputs have the same number of dimensions: "
                         f"{[x.ndim for x in inputs]}")
    cropping = _check_cropping(cropping, "autocrop")
    keys = [[slice(None)] * ndim for _ in inputs]
    for axis, mode in enumerate(cropping):
        if mode is None:
            continue
        # sizes known at build time stay Python ints (and so keep the output's static shape)
        sizes = [x.shape[axis] if x.type.shape[axis] is None else x.type.shape[axis]
                 for x in inputs]
        if all(isinstance(size, int) for size in sizes):
            smallest = min(sizes)
        else:
            smallest = sizes[0]
            for size in sizes[1:]:
                smallest = T.minimum(smallest, size)
        for key, size in zip(keys, sizes):
            if mode == "lower":
                key[axis] = slice(0, smallest)
            elif mode == "upper":
                key[axis] = slice(size - smallest, size)
            else:
                start = (size - smallest) // 2
                key[axis] = slice(start, start + smallest)
    return [x[tuple(key)] for x, key in zip(inputs, keys)]


class ConcatLayer(MergeLayer):
    """Concatenate the inputs along ``axis``; the other sizes must agree.

    ``cropping`` (None, or a crop mode per leading axis: None, 'lower',
    'center' or 'upper'; see :func:`autocrop`) first crops the inputs to a
    common size; the concatenation axis is never cropped (its entry is set
    to None, as Lasagne does).

    >>> from layerkit.layers import InputLayer, ConcatLayer
    >>> a, b = InputLayer((None, 3, 10, 10)), InputLayer((None, 5, 8, 9))
    >>> ConcatLayer([a, b], cropping=[None, None, "center", "center"]).output_shape
    (None, 8, 8, 9)
    """

    def __init__(self, incomings, axis=1, cropping=None, **kwargs):
        super().__init__(incomings, **kwargs)
        self.axis = axis
        cropping = _check_cropping(cropping, f"{self!r}")
        if cropping is not None:
            # never crop along the concatenation axis: the sizes there add up
            ndim = len(self.input_shapes[0])
            if -ndim <= axis < ndim and axis % ndim < len(cropping):
                cropping[axis % ndim] = None
        self.cropping = cropping
        self.get_output_shape_for(self.input_shapes)  # check now

    def get_output_shape_for(self, input_shapes):
        input_shapes = autocrop_array_shapes(input_shapes, self.cropping)
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
        return T.concatenate(autocrop(inputs, self.cropping), axis=self.axis)


concat = ConcatLayer


class ElemwiseMergeLayer(MergeLayer):
    """Fold the inputs with ``merge_function`` (e.g. ``T.maximum``, ``T.mul``);
    the shapes must agree, after ``cropping`` (as in :class:`ConcatLayer`)."""

    def __init__(self, incomings, merge_function, cropping=None, **kwargs):
        super().__init__(incomings, **kwargs)
        self.merge_function = merge_function
        self.cropping = _check_cropping(cropping, f"{self!r}")
        self.get_output_shape_for(self.input_shapes)

    def get_output_shape_for(self, input_shapes):
        input_shapes = autocrop_array_shapes(input_shapes, self.cropping)
        ndim = len(input_shapes[0])
        if any(len(s) != ndim for s in input_shapes):
            raise ValueError(f"{type(self).__name__}: mismatch: the inputs have different numbers "
                             f"of dimensions: {input_shapes}")
        out = []
        for ax in range(ndim):
            known = {s[ax] for s in input_shapes if s[ax] is not None}
            if len(known) > 1:
                raise ValueError(f"{type(self).__name__}: mismatch: not all input shapes are the "
                                 f"same: {input_shapes}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def get_output_for(self, inputs, **kwargs):
        inputs = autocrop(inputs, self.cropping)
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
        inputs = autocrop(inputs, self.cropping)
        output = None
        for coeff, x in zip(self.coeffs, inputs):
            if coeff != 1:
                x = x * coeff
            output = x if output is None else output + x
        return output
