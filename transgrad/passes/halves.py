"""Join the two halves of a called function's VJP into one function for the JAX lowerings,
and split it again after them.

A user function that generated code calls gets a split VJP: ``fwd(*args)`` runs it and returns
``(value, tape)``, ``bwd(tape, g)`` runs its adjoint. A loop or branch of it appears once in
each half (the primal loop pushes onto the tape's stack, the adjoint loop pops), and
``scan`` and ``cond`` lower such a pair together. ``join`` makes one function of the halves
(``fwd``'s body, a marker statement reading its value, then ``bwd``'s body), which they
lower as they lower a top-level gradient; ``split`` cuts it at the marker and gives ``bwd``
as its tape exactly the values its half reads before binding them (the lowered loops'
stacked values in place of the stack)::

    def h_fwd(x):                         def h_fwd(x):
        stack = []                            def loop(carry, i): ...
        for i in steps1:          ->          (y,), (y_all,) = jax.lax.scan(loop, ...)
            stack.append(y)                   return (y, (indices, x, y_all, ...))
            ...
        return (y, (stack, steps1, x))    def h_bwd(tape, g):
                                              indices, x, y_all, ... = tape
                                              ... = jax.lax.scan(adjoint_loop, ...)
"""

import gast

from ..ir import clone
from .lowering import read_first, stores


def join(fwd, bwd):
    """One FunctionDef of the split halves ``fwd`` and ``bwd`` (``bwd``'s cotangent a
    keyword-only parameter of it)."""
    value, taped = fwd.body[-1].value.elts
    marker = gast.Expr(value=gast.Tuple(elts=[value], ctx=gast.Load()))
    gast.copy_location(marker, fwd.body[-1])
    tape, g = (a.id for a in bwd.args.args)
    body = bwd.body
    if body and isinstance(body[0], gast.Assign) and isinstance(body[0].value, gast.Name) \
            and body[0].value.id == tape:
        # the tape's names are the forward half's own, but where optimizing the forward
        # half renamed a value (``x1 = x`` propagated: the tape holds ``x`` for ``x1``)
        unpacked = body[0].targets[0]
        renamed = [gast.Assign(targets=[target], value=clone(held), type_comment=None)
                   for target, held in zip(unpacked.elts, taped.elts)
                   if not (isinstance(target, gast.Name) and isinstance(held, gast.Name)
                           and target.id == held.id)]
        body = [gast.copy_location(stmt, body[0]) for stmt in renamed] + body[1:]
    args = clone(fwd.args)
    args.kwonlyargs.append(gast.Name(id=g, ctx=gast.Param(), annotation=None,
                                     type_comment=None))
    args.kw_defaults.append(None)
    joined = gast.FunctionDef(name=fwd.name, args=args, body=fwd.body[:-1] + [marker] + body,
                              decorator_list=[], returns=None, type_comment=None,
                              type_params=[])
    joined.halves = (fwd, bwd, marker, tape, g)
    return gast.copy_location(joined, fwd)


def split(joined):
    """``[fwd, bwd]`` again, cut at the marker ``join`` left; ``bwd``'s tape holds the names
    its statements read before binding them that the forward half binds."""
    fwd, bwd, marker, tape, g = joined.halves
    at = next(k for k, stmt in enumerate(joined.body) if stmt is marker)
    forward, backward = joined.body[:at], joined.body[at + 1:]
    bound = {a.id for a in fwd.args.args + fwd.args.kwonlyargs} | {
        n for stmt in forward for n in stores(stmt)}
    kept = [n for n in read_first(backward) if n in bound and n != g]
    value = marker.value.elts[0]
    fwd.body = forward + [gast.copy_location(gast.Return(value=gast.Tuple(elts=[
        value, _names(kept)], ctx=gast.Load())), marker)]
    unpack = gast.Assign(targets=[_names(kept, store=True)],
                         value=gast.Name(id=tape, ctx=gast.Load(), annotation=None,
                                         type_comment=None), type_comment=None)
    bwd.body = ([gast.copy_location(unpack, bwd.body[0])] if kept else []) + backward
    return [fwd, bwd]


def _names(ids, store=False):
    ctx = gast.Store if store else gast.Load
    return gast.Tuple(elts=[gast.Name(id=i, ctx=ctx(), annotation=None, type_comment=None)
                            for i in ids], ctx=ctx())
