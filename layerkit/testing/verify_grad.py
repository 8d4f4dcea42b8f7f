"""``verify_grad``: a symbolic gradient against central finite differences.

As Theano's: the outputs are projected on a fixed random tensor so one
scalar cost checks every output element, and everything runs in float64.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import layerkit.core as theano
import layerkit.core.tensor as T

__all__ = ["verify_grad", "GradientError"]


class GradientError(AssertionError):
    """The symbolic and the numeric gradient disagree."""


def verify_grad(fun: Callable, pt: Sequence, n_tests: int = 2, rng=None, eps: float = 1e-6,
                abs_tol: float = 1e-7, rel_tol: float = 1e-6, backend=None,
                mode=None, cast_to_output_type=False, out_type=None) -> None:
    """Check ``T.grad`` of ``fun(*inputs)`` at the point ``pt`` (a list of arrays).

    Raises :class:`GradientError` naming the input, the element and both
    values when ``|symbolic - numeric| > abs_tol + rel_tol * |numeric|``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    if isinstance(rng, np.random.RandomState):
        rng = np.random.default_rng(rng.randint(2**31))
    pt = [np.array(p, dtype="float64") for p in pt]
    inputs = [T.tensor("float64", shape=(None,) * p.ndim, name=f"input{i}")
              for i, p in enumerate(pt)]
    out = fun(*inputs)
    if isinstance(out, (list, tuple)):
        raise TypeError("verify_grad: fun must return one variable")
    out = T.as_tensor_variable(out)
    f_out = theano.function(inputs, out, backend=backend, on_unused_input="ignore")
    for _ in range(n_tests):
        value = np.asarray(f_out(*pt))
        proj = rng.uniform(-1.0, 1.0, size=value.shape)
        cost = T.sum(T.cast(out, "float64") * proj)
        grads = T.grad(cost, inputs, disconnected_inputs="ignore")
        f_cost = theano.function(inputs, cost, backend=backend, on_unused_input="ignore")
        f_grad = theano.function(inputs, grads, backend=backend, on_unused_input="ignore")
        symbolic = f_grad(*pt)
        for k, (p, g) in enumerate(zip(pt, symbolic)):
            numeric = _central_difference(f_cost, pt, k, eps)
            err = np.abs(g - numeric)
            bound = abs_tol + rel_tol * np.abs(numeric) + 1e-9 * max(1.0, np.abs(value).max(initial=0))
            if np.any(err > bound) or not np.all(np.isfinite(g)):
                worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.ndim else ()
                raise GradientError(
                    f"verify_grad: gradient of input {k} (shape {p.shape}) disagrees with finite "
                    f"differences at element {tuple(int(i) for i in worst)}: symbolic "
                    f"{np.asarray(g)[worst]!r}, numeric {np.asarray(numeric)[worst]!r} "
                    f"(abs_tol={abs_tol}, rel_tol={rel_tol}); max abs error {err.max():.3g}")


def _central_difference(f_cost, pt, k, eps):
    base = [p.copy() for p in pt]
    x = base[k]
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = float(f_cost(*base))
        flat[i] = old - eps
        down = float(f_cost(*base))
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad
