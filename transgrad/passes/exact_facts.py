"""What the call-time rewrite (``exact.py``) knows of a function's tree whatever the shapes:
found once per kept tree and kept on it (``exact_facts``), which is never changed."""

import gast
import numpy as np

from ..ir import walk
from .exact_containers import tracked_stacks
from .exact_spelling import spelled


class Facts:
    """What ``exact_shapes`` needs to know about a tree whatever the shapes, found once and
    kept on the tree (which is never changed): its parameters, its own names, the names
    never known (global or nonlocal), whether it defines functions, the generated stacks
    whose pushes and pops pair by name, and the statements and headers with a call the
    rewrite may decide."""

    __slots__ = ("candidates", "local", "nested", "never", "params", "stacks",
                 "stacks_from_tape", "stacks_returned", "unbound")

    def __init__(self, fn):
        self.params = [a.id for a in fn.args.args]
        stored, self.never, self.candidates = set(), set(), set()
        for node in walk(fn):
            kind = node.__class__
            if kind is gast.Name and node.ctx.__class__ is not gast.Load:
                stored.add(node.id)
            elif kind is gast.Global or kind is gast.Nonlocal:
                self.never.update(node.names)
        # a nested function may change a list it captured when it is called: lists unknown
        self.nested = any(n is not fn and n.__class__ in (gast.FunctionDef, gast.Lambda)
                          for n in walk(fn))
        _find_candidates(fn.body, self.candidates)
        self.local = set(self.params) | {a.id for a in fn.args.kwonlyargs} | stored
        bound = fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs + [
            a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
        self.unbound = stored - {a.id for a in bound} - self.never   # before assignment
        self.stacks, self.stacks_returned, self.stacks_from_tape = tracked_stacks(fn)


def facts_of(fn):
    """The ``Facts`` of the kept tree ``fn``, found once."""
    facts = fn.__dict__.get("exact_facts")
    if facts is None:
        facts = fn.exact_facts = Facts(fn)
    return facts


def loop_stored(loop):
    """The names a loop assigns (its head forgets what it knew of them before)."""
    return {n.id for n in walk(loop) if n.__class__ is gast.Name
            and n.ctx.__class__ is not gast.Load}


_SIMPLE = (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)


def _find_candidates(body, out):
    """The ids of the simple statements and of the loop and branch headers that hold a call
    the rewrite may decide."""
    for stmt in body:
        kind = stmt.__class__
        if kind in _SIMPLE:
            if any(n.__class__ is gast.Call and _may_decide(n) for n in walk(stmt)):
                out.add(id(stmt))
            continue
        header = stmt.test if kind in (gast.If, gast.While) else \
            stmt.iter if kind is gast.For else None
        if header is not None and any(n.__class__ is gast.Call and _may_decide(n)
                                      for n in walk(header)):
            out.add(id(header))
        for field in ("body", "orelse"):
            if kind in (gast.If, gast.For, gast.While, gast.With) and hasattr(stmt, field):
                _find_candidates(getattr(stmt, field), out)


_HELPERS = frozenset({"unbroadcast_to", "match", "size", "matmul_vjp_left", "matmul_vjp_right",
                      "dot_vjp_left", "dot_vjp_right",
                      "zeros_like_value", "inverse_permutation", "cotangent_of", "fwd", "bwd",
                      "unconcatenate", "stored_part", "sum_items_cotangent", "expand_reduced"})


def _may_decide(call):
    """Whether ``_Exact`` may decide ``call`` (a ``tgr`` helper, a size or a shape, an
    einsum's contraction, a cross product of 3-vectors)."""
    func = call.func
    resolved = func.__dict__.get("resolved")
    if resolved is np.size or resolved is np.shape or resolved is np.einsum \
            or resolved is np.cross or hasattr(resolved, "tangent_parameter"):   # a JVP
        return True
    if spelled(resolved):   # a reduction, transpose or broadcast of a known array
        return True
    if func.__class__ is gast.Attribute:   # np.size unresolved: a tree read back from source
        return func.attr in _HELPERS or func.attr in ("shape", "einsum", "cross")
    return func.__class__ is gast.Name and (func.id == "size" or func.id == "shape")
