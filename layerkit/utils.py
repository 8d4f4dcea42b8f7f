"""Small helpers shared by layers, updates and scripts (Lasagne's ``lasagne.utils``).

>>> from layerkit.utils import as_tuple, floatX
>>> as_tuple(3, 2)
(3, 3)
>>> floatX([1, 2]).dtype.name
'float32'
"""
from __future__ import annotations

import inspect
import numbers

import numpy as np

from .core import config, shared
from .core import tensor as T
from .core.graph import Variable, ancestors
from .core.shared import SharedVariable

__all__ = ["floatX", "as_tuple", "one_hot", "shared_empty", "as_theano_expression",
           "collect_shared_vars", "unique", "create_param", "inspect_kwargs", "compute_norms",
           "unroll_scan"]


def floatX(arr):
    """``arr`` as a numpy array of dtype ``config.floatX`` (read at call time)."""
    return np.asarray(arr, dtype=config.floatX)


def shared_empty(dim=2, dtype=None):
    """A shared variable holding zeros of shape ``(1,) * dim`` (floatX by default)."""
    return shared(np.zeros((1,) * dim, dtype=dtype or config.floatX))


def as_theano_expression(value):
    """``value`` as a graph variable: variables pass through, arrays become constants."""
    if isinstance(value, Variable):
        return value
    try:
        return T.constant(value)
    except Exception as err:
        raise TypeError(f"input of type {type(value).__name__} is not a graph expression and "
                        f"cannot be wrapped as a constant ({err})") from None


def _type_names(t):
    if isinstance(t, tuple):
        return " or ".join(c.__name__ for c in t)
    return t.__name__


def as_tuple(x, N, t=None):
    """``x`` repeated ``N`` times, or ``x`` itself as a tuple when it is iterable.

    Raises TypeError when an element is not of type ``t`` (if given) and
    ValueError when the iterable does not have length ``N``.
    """
    try:
        items = tuple(x)
    except TypeError:
        items = (x,) * N
    if t is not None and not all(isinstance(v, t) for v in items):
        raise TypeError(f"expected a single value or an iterable of {_type_names(t)}, "
                        f"got {x!r} instead")
    if len(items) != N:
        raise ValueError(f"expected a single value or an iterable with length {N}, "
                         f"got {x!r} instead")
    return items


def one_hot(x, m=None):
    """One-hot encoding of the integer tensor ``x`` as floatX, with ``m`` classes.

    ``m`` defaults to ``max(x) + 1``; the result has one more (trailing)
    dimension than ``x``.
    """
    x = as_theano_expression(x)
    if m is None:
        m = T.cast(T.max(x) + 1, "int64")
    classes = T.arange(m)
    hits = T.eq(T.shape_padright(x), classes.dimshuffle(*(["x"] * x.ndim), 0))
    return T.cast(hits, config.floatX)


def unique(seq):
    """The items of ``seq`` in their first-seen order, each once (by identity)."""
    seen, out = set(), []
    for item in seq:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def collect_shared_vars(expressions):
    """The shared variables an expression (or a list of them) depends on, in order."""
    if isinstance(expressions, Variable):
        expressions = [expressions]
    found = []
    for expr in expressions:
        if isinstance(expr, SharedVariable):
            found.append(expr)
        else:
            found.extend(v for v in ancestors([expr]) if isinstance(v, SharedVariable))
    return unique(found)


def create_param(spec, shape, name=None):
    """A parameter variable of ``shape`` from ``spec``.

    ``spec`` may be a numpy array (wrapped in a shared variable) or a scalar, a
    shared variable (both with their shape checked), another expression (only
    its number of dimensions can be checked), or a callable such as an
    initializer, called with ``shape``. Size-1 dimensions of new shared variables are
    broadcastable: a parameter's shape does not change after creation.
    """
    shape = tuple(shape)
    if any(d <= 0 for d in shape):
        raise ValueError(f"cannot create parameter {name} with a non-positive shape dimension: "
                         f"shape={shape}")
    where = f"cannot initialize parameter {name}: "
    if callable(spec) and not isinstance(spec, Variable):
        spec = spec(shape)
        where += "the initializer returned "
    else:
        where += "the value given is "
    if isinstance(spec, numbers.Number) or (isinstance(spec, np.generic)
                                            and spec.dtype.kind in "biufc"):
        spec = np.asarray(spec)
    if isinstance(spec, np.ndarray):
        if spec.shape != shape:
            raise ValueError(f"{where}an array of shape {spec.shape}, expected shape {shape}")
        spec = shared(spec, broadcastable=tuple(s == 1 for s in shape))
    if isinstance(spec, Variable):
        if spec.ndim != len(shape):
            raise ValueError(f"{where}a variable with {spec.ndim} dimensions, expected "
                             f"{len(shape)} dimensions (shape {shape})")
        if isinstance(spec, SharedVariable):
            # its current value has a shape: a mismatch is an error now, not at run time
            actual = tuple(spec.get_value(borrow=True).shape)
            if actual != shape:
                raise ValueError(f"{where}a shared variable of shape {actual}, "
                                 f"expected shape {shape}")
        if not spec.name:
            spec.name = name
        return spec
    raise TypeError(f"{where}of type {type(spec).__name__}; expected a numpy array, a shared "
                    "variable, an expression, a scalar, or a callable such as an initializer")


def inspect_kwargs(func):
    """The names of the keyword arguments (those with defaults) of ``func``."""
    params = inspect.signature(func).parameters.values()
    return [p.name for p in params
            if p.default is not inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def compute_norms(array, norm_axes=None):
    """Norms of the slices of a numpy array or a graph expression.

    ``norm_axes`` defaults to Lasagne's: axis 0 for a 2-d weight matrix (one
    norm per output unit), all but the first for 3-, 4- and 5-d filters.
    """
    ndim = array.ndim
    if norm_axes is not None:
        axes = tuple(norm_axes)
    elif ndim == 1:
        axes = ()
    elif ndim == 2:
        axes = (0,)
    elif ndim in (3, 4, 5):
        axes = tuple(range(1, ndim))
    else:
        raise ValueError(f"unsupported tensor dimensionality {ndim}; pass norm_axes")
    if isinstance(array, Variable):
        return T.sqrt(T.sum(T.sqr(array), axis=axes)) if axes else abs(array)
    array = np.asarray(array)
    return np.sqrt(np.sum(array ** 2, axis=axes))


def unroll_scan(fn, sequences, outputs_info, non_sequences, n_steps, go_backwards=False):
    """A ``scan`` unrolled into ``n_steps`` copies of ``fn`` (Lasagne's helper).

    Step ``i`` calls ``fn(*[s[i] for s in sequences], *previous_outputs,
    *non_sequences)``, where ``previous_outputs`` are ``outputs_info`` at the
    first step and the last step's results afterwards; ``fn`` returns one
    expression or a list/tuple. The result is a list with, for each output,
    the steps' values stacked along a new first axis (in the order the steps
    ran: from the end with ``go_backwards``). ``n_steps`` must be a Python
    int: the graph grows with it.

    >>> import numpy as np
    >>> import layerkit.core as theano, layerkit.core.tensor as T
    >>> x = T.dvector("x")
    >>> [cumsum] = unroll_scan(lambda xi, total: total + xi, [x], [T.constant(0.0)], [], 3)
    >>> theano.function([x], cumsum)(np.array([1.0, 2.0, 3.0]))
    array([1., 3., 6.])
    """
    sequences, outputs_info, non_sequences = (
        [v] if isinstance(v, Variable) else list(v or [])
        for v in (sequences, outputs_info, non_sequences))   # one variable, as Lasagne
    steps = range(n_steps - 1, -1, -1) if go_backwards else range(n_steps)
    previous = list(outputs_info)
    results = []
    for i in steps:
        out = fn(*([s[i] for s in sequences] + previous + list(non_sequences)))
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        results.append(out)
        previous = out
    return [T.stack([step[k] for step in results]) for k in range(len(results[0]))]
