"""The fusion format: a backend-neutral description of a chain of elementwise
ops, and the default way to run one.

The core builds :class:`FusedElemwise` specs; a backend may turn one into a
single kernel through ``Backend.fuse`` (cupy: a generated ElementwiseKernel).
Otherwise :func:`compose` runs the steps with the backend's own kernels,
writing into buffers the spec marks as reusable wherever a kernel accepts
``out=`` — one pass over memory per step, but no fresh arrays.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["FusedElemwise", "compose", "broadcast_shape", "SMALL_SIZE"]

#: inputs of at most this many elements take the fused chain's small-array body
SMALL_SIZE = 1024


@dataclass(frozen=True)
class FusedElemwise:
    """``inputs`` are values 0..n-1 (their dtypes); step k makes value n+k.

    Each step is ``(kernel name, argument value indices)``; ``dtypes[k]`` is
    its result dtype; ``reuse[k]`` is a value whose buffer step k may
    overwrite (a temporary of the same shape and dtype, dead after step k),
    or None. ``output`` is the value returned.
    """

    inputs: tuple[str, ...]
    steps: tuple[tuple[str, tuple[int, ...]], ...]
    dtypes: tuple[str, ...]
    reuse: tuple[int | None, ...]
    output: int

    def describe(self) -> str:
        """The expression as text, e.g. ``sigmoid(add(x0, x1))``."""
        names = [f"x{i}" for i in range(len(self.inputs))]
        for name, args in self.steps:
            names.append(f"{name}({', '.join(names[a] for a in args)})")
        return names[self.output]


def compose(spec: FusedElemwise, backend, alias: int | None = None) -> Callable[..., Any]:
    """A Python function running ``spec`` with ``backend``'s kernels.

    It accepts ``out=``: when given (and of the result's shape), the last
    step writes there, so an update can overwrite its parameter in place.

    ``alias`` says that ``out``, when given, is the storage of input
    ``alias``: then the step that reads that input for the last time writes
    into it already (``0.9 * acc`` straight into ``acc``), instead of into a
    fresh array, since the input's old value is not needed after it. An
    elementwise step may write over an input it reads at the same positions.
    """
    n = len(spec.inputs)
    env: dict[str, Any] = {}
    lines = []
    last = len(spec.steps) - 1
    early = None                      # the step that writes into out before the last one
    if alias is not None:
        readers = [k for k, (_, args) in enumerate(spec.steps) if alias in args]
        if readers and readers[-1] != last and spec.dtypes[readers[-1]] == spec.dtypes[last]:
            early = readers[-1]
    out_ok = backend.supports_out(spec.steps[last][0])
    for k, (name, args) in enumerate(spec.steps):
        kname = f"k{k}"
        kernel = backend.kernel(name)
        env[kname] = getattr(kernel, "direct", kernel)
        call = ", ".join(f"v{a}" for a in args)
        can_out = backend.supports_out(name)
        reuse = f"v{spec.reuse[k]}" if spec.reuse[k] is not None else None
        if can_out and k in (early, last):
            # into out= when given and of this step's shape, else as usual
            lines.append(f"o = out if out is not None and out.shape == _shape({call}) "
                         f"else {reuse}")
            lines.append(f"v{n + k} = {kname}({call}, out=o)")
        elif can_out and reuse is not None:
            lines.append(f"v{n + k} = {kname}({call}, out={reuse})")
        else:
            lines.append(f"v{n + k} = {kname}({call})")
    params = ", ".join(f"v{i}" for i in range(n))
    small = _small_body(spec, backend, out_ok)
    if small:
        # every input small, and the result too: inputs (1024, 1) and (1, 1024) are not
        test = " and ".join(f"v{i}.size <= {SMALL_SIZE}" for i in range(n))
        if n > 1:
            same = " == ".join(f"v{i}.shape" for i in range(n))
            test += f" and ({same} or _small_result({params}))"
        lines = ["try:", f"    small = {test}", "except (AttributeError, TypeError):",
                 "    small = False", "if small:"] + ["    " + ln for ln in small] + \
            [f"    return v{spec.output}"] + lines
    src = f"def fused({params}, out=None):\n    " + "\n    ".join(lines) + \
        f"\n    return v{spec.output}\n"
    env["_shape"], env["_small_result"] = broadcast_shape, _small_result
    exec(compile(src, f"<fused {spec.describe()[:60]}>", "exec"), env)
    fn = env["fused"]
    fn.accepts_out = out_ok
    fn.source = src
    return fn


def _small_result(*arrays) -> bool:
    """Whether the elementwise result of ``arrays`` (each at most ``SMALL_SIZE``
    elements) is small too: it is when every array of more than one element has
    one shape (0.3 us; the common case: constants and same-shaped operands),
    else from the broadcast shape."""
    shape = None
    for a in arrays:
        if a.size != 1:
            if shape is None:
                shape = a.shape
            elif a.shape != shape:
                return math.prod(broadcast_shape(*arrays)) <= SMALL_SIZE
    return True


def _small_body(spec: FusedElemwise, backend, out_ok: bool) -> list[str]:
    """The lines of a body for small inputs, or [] where it would gain nothing.

    A kernel may carry ``operator`` (``"+"``, ``"-"``, ``"*"``, ``"/"``): the
    Python operator computes what the kernel computes, the same values and
    dtypes. On small arrays and numpy scalars the operator costs a fraction of
    the call (0.06 against 0.6 us on a numpy scalar), and so does leaving out
    the temporaries' ``out=`` buffers, which only save allocations of large
    arrays. Only real float results take the operator: numpy integer scalars
    warn where arrays wrap, and a complex scalar product is rounded unlike the
    ufunc's (whose loop uses fused multiply-adds). ``out=``, when given, is
    still written by the last step.
    """
    n, last = len(spec.inputs), len(spec.steps) - 1
    ops = [getattr(backend.kernel(name), "operator", None) if spec.dtypes[k][:5] == "float"
           else None
           for k, (name, _) in enumerate(spec.steps)]
    if not any(ops):
        return []
    lines = []
    for k, (name, args) in enumerate(spec.steps):
        call = ", ".join(f"v{a}" for a in args)
        if ops[k] and len(args) == 2:
            plain = f"v{n + k} = v{args[0]} {ops[k]} v{args[1]}"
        elif ops[k] == "-" and len(args) == 1:
            plain = f"v{n + k} = -v{args[0]}"
        else:
            plain = f"v{n + k} = k{k}({call})"
        if k == last and out_ok:
            lines += ["if out is None:", "    " + plain, "else:",
                      f"    o = out if out.shape == _shape({call}) else None",
                      f"    v{n + k} = k{k}({call}, out=o)"]
        else:
            lines.append(plain)
    return lines


def broadcast_shape(*arrays) -> tuple:
    """The shape of an elementwise result over ``arrays`` (anything with ``.shape``)."""
    try:
        first = arrays[0].shape
        for a in arrays:                   # the common case: every shape the same
            if a.shape != first:
                break
        else:
            return tuple(first)
    except AttributeError:                 # a Python number among them
        pass
    shapes = [tuple(getattr(a, "shape", ())) for a in arrays]
    ndim = max(len(s) for s in shapes)
    out = []
    for axis in range(ndim):
        size = 1
        for s in shapes:
            d = s[axis - ndim + len(s)] if axis - ndim + len(s) >= 0 else 1
            if d != 1:
                size = d
        out.append(size)
    return tuple(out)
