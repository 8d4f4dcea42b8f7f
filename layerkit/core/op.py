"""The :class:`Op` base class: what an operation is, not how it runs.

An op infers its output types when the graph is built (``make_node``), gives
its gradient as a graph (``grad``), and names the backend kernel that runs it
(``thunk`` binds that kernel once, at compile time).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .graph import Apply, Variable, user_line

__all__ = ["Op", "ShapeError", "CheckedThunk"]


class ShapeError(ValueError):
    """A shape mismatch found while building a graph.

    The message ends with the line of user code being run (the innermost
    frame outside layerkit), so a mismatch made inside a layer or a helper
    still points at the user's own line.
    """

    def __init__(self, message: str, *args) -> None:
        line = user_line()
        if line != "<unknown>" and "\n  at " not in message:
            message = f"{message}\n  at {line}"
        super().__init__(message, *args)


class CheckedThunk:
    """A thunk whose inputs' sizes must agree on some axes, which only the run-time
    values can tell (Theano's rule: only dimensions known at build time to be 1
    broadcast). The emitter writes the comparisons of ``risks`` inline before the
    call of ``unchecked`` and calls ``check`` (which raises the op's message) only
    on a mismatch; called directly, it checks and runs.

    ``risks`` is ``[(axis, input positions that must agree on it), ...]``.
    """

    __slots__ = ("unchecked", "risks", "check", "accepts_out")

    def __init__(self, unchecked, risks, check) -> None:
        self.unchecked, self.risks, self.check = unchecked, risks, check
        #: the backend contract's flag: the kernel honours ``out=``
        self.accepts_out = getattr(unchecked, "accepts_out", False)

    def __call__(self, *args, out=None):
        self.check(args)
        return self.unchecked(*args) if out is None else self.unchecked(*args, out=out)


class Op:
    """Base class of operations. Ops have value identity through ``__props__``."""

    __props__: tuple[str, ...] = ()
    #: ``{output index: [input indices]}``: outputs that may share memory with those
    #: inputs (reshape, transpose, slicing). The in-place analysis follows these
    #: declarations transitively; an output not listed here must be fresh memory
    #: (DebugMode checks both).
    view_map: dict[int, list[int]] = {}
    #: whether a view output can be written through (False for a broadcast, whose
    #: elements overlap: numpy makes it read-only, cupy does not); a result or a
    #: stored update that is such a view is copied
    view_writeable = True
    #: ``{output index: [input indices]}``: outputs written into those inputs'
    #: storage, destroying their values. Ops in user graphs destroy nothing; the
    #: linker's in-place phase asks ``destroy_thunk`` for a destroying variant.
    destroy_map: dict[int, list[int]] = {}
    #: False: the op may not be merged with an equal-looking one or folded (random draws)
    pure = True
    #: constant folding may replace it by its value (False for ops whose value is
    #: much larger than their inputs: a folded broadcast would be stored whole)
    foldable = True
    #: the op always runs on the host (numpy), whatever the function's backend
    #: (shape arithmetic); other ops run there when all their inputs are host ints
    host = False
    #: the op's random stream (a ``RandomState`` whose counter a call advances), or None
    state = None
    #: another op whose outputs are this op's first outputs, computed from the same
    #: inputs (a scan that also keeps intermediate values for its gradient): where
    #: both are applied to the same inputs, the merge phase keeps this one alone
    extends = None
    #: its result is a comparison's (``a < b``), which has no truth value in Python
    #: (Theano's rule: ``if a < b:`` raises; every other variable is true)
    is_comparison = False

    # -- identity -----------------------------------------------------
    def _props(self) -> tuple:
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self) -> int:
        return hash((type(self), self._props()))

    def __repr__(self) -> str:
        props = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}{{{props}}}" if props else type(self).__name__

    # -- graph building -------------------------------------------------
    def make_node(self, *inputs: Variable) -> Apply:
        raise NotImplementedError

    def __call__(self, *inputs) -> Variable | list[Variable]:
        node = self.make_node(*inputs)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    def grad(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
             output_grads: Sequence[Variable]) -> list[Variable | None]:
        """Gradients w.r.t. each input; None means disconnected (or not differentiable)."""
        raise NotImplementedError(f"{self} has no gradient")

    def host_input(self, k: int, node: Apply) -> bool:
        """Whether input ``k`` is read as Python ints (a shape, an index bound): the
        linker then hands the kernel the host copy of a small integer value."""
        return False

    # -- running ----------------------------------------------------------
    def explain_failure(self, node: Apply, args: Sequence[Any]) -> str | None:
        """Why the kernel failed on the run-time values ``args``, in the op's own
        terms (shown instead of the array library's message), or None."""
        return None

    def thunk(self, backend, node: Apply) -> Callable[..., Any]:
        """A callable of the input arrays returning the output array (or a tuple)."""
        raise NotImplementedError(f"{self} has no implementation")

    #: whether ``destroy_thunk`` exists: the op can write its output into the
    #: storage of one of its inputs (fused elementwise chains can)
    can_destroy = False

    def destroy_thunk(self, backend, node: Apply, position: int) -> Callable[..., Any]:
        """A thunk taking ``out=`` (the storage of input ``position``) and writing its
        result there; only called when ``can_destroy`` is true, by the in-place
        phase, which has proved that nothing reads that storage afterwards."""
        raise NotImplementedError(f"{self} cannot write into its inputs")
