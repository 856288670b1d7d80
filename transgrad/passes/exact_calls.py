"""Called functions' halves for the shapes of one call site (part of the call-time rewrite).

Generated code calls a user function's derivative as two halves, ``t, tape = sq_vjp.fwd(x, w)``
and ``parts = sq_vjp.bwd(tape, g)``. Where the rewrite (``exact.py``) knows the values a half
is called with, it rewrites that half's kept tree for them the way it rewrites the caller,
compiles it, and calls the copy of the pair that holds it (``sq_vjp_shapes.fwd(x, w)``); what
the half returns (its value, and the tape with the shapes the backward half reads) becomes
known to the caller. Forward-mode code's ``f_jvp(*args, tangents)`` (a ``ForwardFunction``)
is specialized the same way, its ``fn`` in the part of a half. Made once per pair and values
(kept on the pair; arguments passed by keyword are ``(name, Value)`` pairs after the
positional ones), to a bounded depth of calls; a recursive call met while its own half is
being made stays as it is.
"""

import copy

import gast

from ..codegen import compile_function
from .exact_values import disowned, listless
from .optimize import optimize

_DEPTH = 3        # called functions specialized inside called functions, at most
_PER_PAIR = 16    # specialized halves kept per pair


def called(exact, node, rewrite):
    """(the pair or holder to call, the Value it returns) of ``node``, a call of a called
    function's VJP half (``sq_vjp.bwd(tape, g)``) or JVP (``sq_jvp(x, (dx,))``) that the
    values ``exact`` knows (an ``exact._Exact``) decide, or None."""
    func = node.func
    if func.__class__ is gast.Name:
        target, half = exact.resolve(func), "fn"
        found = jvp_of(exact.resolve, func) if node.args and not node.keywords else None
    elif func.__class__ is gast.Attribute:
        target, half = exact.resolve(func.value), func.attr
        found = half_of(exact.resolve, func) \
            if all(k.arg is not None for k in node.keywords) else None
    else:
        return None
    if getattr(target, "exact_half", None) == half:   # a call this rewrite made
        return target, target.exact_returned
    if found is None:
        return None
    if any(a.__class__ is gast.Starred for a in node.args):
        return None
    # the caller may still read what it passes: the half never owns it; a tape reaches
    # the backward half after the lists in it may have changed
    values = tuple(disowned(exact.value(a)) for a in node.args)
    if found[1] == "bwd":
        values = tuple(map(listless, values))
    if found[1] == "fn":   # the tangents (the last positional argument): a keyword parameter
        values = values[:-1] + ((target.tangent_parameter(), values[-1]),)
    # by keyword (a function of keyword-only parameters), in the order written
    values += tuple((k.arg, disowned(exact.value(k.value))) for k in node.keywords)
    if all(v is None or v.__class__ is tuple and v[1] is None for v in values):
        return None
    return specialized(*found, values, rewrite, exact.depth)


def half_of(resolve, func):
    """(pair, "fwd" or "bwd") when ``func`` is a half of a called function's VJP whose build
    kept its tree, else None."""
    if func.__class__ is not gast.Attribute or func.attr not in ("fwd", "bwd"):
        return None
    pair = resolve(func.value)
    half = getattr(pair, func.attr, None) if pair is not None else None
    if half is None or "exact_tree" not in getattr(half, "__dict__", {}):
        return None
    return pair, func.attr


def jvp_of(resolve, func):
    """(holder, "fn") when ``func`` names a called function's JVP (``f_jvp(*args,
    tangents)``, a ``ForwardFunction``) whose build kept its tree, else None."""
    if func.__class__ is not gast.Name:
        return None
    holder = resolve(func)
    fn = getattr(holder, "fn", None) if hasattr(holder, "tangent_parameter") else None
    if fn is None or "exact_tree" not in getattr(fn, "__dict__", {}):
        return None
    return holder, "fn"


def specialized(pair, half, values, rewrite, depth):
    """(the pair to call, the Value its ``half`` returns) for positional arguments of
    ``values``: a copy of ``pair`` whose half is rewritten for them, or ``pair`` itself where
    they decide nothing; None while that half is being made, or too deep.
    ``rewrite(tree, namespace, values, depth)`` is the rewrite: (new tree or None, Value)."""
    made = pair.__dict__.setdefault("exact_halves", {})
    key = (half, values)
    if key in made:
        return made[key]
    if depth >= _DEPTH or len(made) >= _PER_PAIR:
        return None
    made[key] = None   # being made: a recursive call finds nothing
    function = getattr(pair, half)
    tree, returned = rewrite(function.exact_tree, function.__globals__, values, depth + 1)
    if tree is None:
        made[key] = (pair, returned)
        return made[key]
    optimize(tree, classes={})
    code, source = compile_function(tree, dict(function.__globals__), tree.name)
    new = copy.copy(pair)
    new.__dict__.pop("exact_halves", None)
    code.made_tree = tree   # what batch_rows rewrites for all of a Jacobian's rows
    setattr(new, half, code)
    new.source = source
    new.exact_half = half   # what .source shows of it: the half the call site calls
    new.exact_returned = returned
    made[key] = (new, returned)
    return made[key]


def call_of(node, pair, half):
    """``node`` (a call of ``<name>.half(...)``, or of a JVP ``<name>(...)``: half "fn")
    calling ``pair``'s half instead."""
    holder = gast.Name(id=f"{pair.__name__}_shapes", ctx=gast.Load(), annotation=None,
                       type_comment=None)
    holder.resolved = pair
    func = holder if half == "fn" else gast.Attribute(value=holder, attr=half, ctx=gast.Load())
    return gast.Call(func=func, args=node.args, keywords=node.keywords)
