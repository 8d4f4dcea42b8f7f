"""Theano's ``theano.tensor.opt`` names that scripts use to register their own
graph rewrites. Accepted, and the rewrite is not run: layerkit's rewrites are
its own, and a rewrite that keeps values (as Theano required of them) does not
change what the graph computes. Each decorator returns the function unchanged
and warns once (:class:`~layerkit.core.ignored.IgnoredArgumentWarning`)."""
from __future__ import annotations

from ..ignored import warn_ignored

__all__ = ["register_canonicalize", "register_specialize", "register_stabilize",
           "register_uncanonicalize", "register_useless", "register_specialize_device"]


def _register(kind: str):
    def register(rewrite=None, *tags, **kwargs):
        def decorate(fn):
            warn_ignored(f"theano.tensor.opt.{kind}", getattr(fn, "__name__", "rewrite"),
                         "user graph rewrites are not run; the graph is computed as written")
            return fn
        if callable(rewrite):                 # @register_canonicalize
            return decorate(rewrite)
        return decorate                       # @register_canonicalize("name", ...)
    register.__name__ = kind
    register.__doc__ = f"Theano's ``{kind}``: accepted; the rewrite is not run (see the module)."
    return register


register_canonicalize = _register("register_canonicalize")
register_specialize = _register("register_specialize")
register_stabilize = _register("register_stabilize")
register_uncanonicalize = _register("register_uncanonicalize")
register_useless = _register("register_useless")
register_specialize_device = _register("register_specialize_device")
