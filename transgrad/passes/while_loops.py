"""Lower ``while`` loops of forward-mode code to ``tgr.while_loop``, so they trace under
``jax.jit``.

A Python ``while`` on a traced condition fails under ``jit``. In code with no stack (a JVP,
whose loop computes the values and their tangents together, or a loop no adjoint reads) the
loop becomes ``tgr.while_loop``, which runs ``jax.lax.while_loop`` when the condition is
traced and the Python loop when it is concrete. The carry is what the body reads before
binding it, the condition, and what the code after the loop reads::

    cond1 = t2 < 10.0                    def while_test(carry):
    while cond1:                             y, dy, cond1 = carry
        y = y * 1.5                          return cond1
        dy = dy * 1.5                    def while_body(carry):
        cond1 = jnp.sum(y) < 10.0 ->         y, dy, cond1 = carry
                                             ...
                                             return (y, dy, cond1)
                                         (y, dy, cond1) = tgr.while_loop(while_test,
                                                                         while_body, (y, dy, cond1))

Loops whose body has nested loops, early exits or stack operations, or whose carry holds a
name not bound before the loop, stay Python loops. Reverse mode cannot lower a while loop on a
traced value this way (its adjoint needs the number of steps, which ``jit`` does not know):
``tg.checkpoint(..., max_steps=N)`` bounds it.

For example, a JVP (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x):
...     while x < 10.0:
...         x = x * 1.5
...     return x
... ''', through="while_loops", mode="jvp"))
def df(x, *, tangent):
    dx = tangent
    cond1 = x < 10.0
<BLANKLINE>
    def while_test(carry):
        x, dx, cond1 = carry
        return cond1
<BLANKLINE>
    def while_body(carry):
        x, dx, cond1 = carry
        t1 = x * 1.5
        dx = tgr.broadcast_tangent(dx * 1.5, t1)
        x = t1
        cond1 = x < 10.0
        return (x, dx, cond1)
    x, dx, cond1 = tgr.while_loop(while_test, while_body, (x, dx, cond1))
    return (x, tgr.match(dx, x))
"""

import gast

from ..ir import dotted_call, function, name, tuple_of, walk
from .lowering import (
    Names,
    bound_before,
    loads,
    nested_in_loops,
    read_first,
    replace,
    stores,
    straight,
)


def lower_while_loops(fn, stack="stack"):
    """Rewrite the ``while <name>:`` loops of the generated FunctionDef ``fn`` that fit;
    returns how many were lowered."""
    lowered = 0
    while _lower_one(fn, stack):
        lowered += 1
    return lowered


def _lower_one(fn, stack):
    in_loops = nested_in_loops(fn)
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}
    for block in _blocks(fn):
        for stmt in block:
            if isinstance(stmt, gast.While) and id(stmt) not in in_loops \
                    and _fits(stmt, stack):
                new = _lower(fn, stmt, bound_before(fn.body, stmt, params))
                if new is not None:
                    replace(block, stmt, new)
                    return True
    return False


def _blocks(fn):
    yield fn.body
    for node in walk(fn):
        if isinstance(node, gast.If):
            yield node.body
            yield node.orelse


def _fits(loop, stack):
    return isinstance(loop.test, gast.Name) and not loop.orelse \
        and straight(loop.body, functions=True) \
        and not any(isinstance(n, gast.Name) and n.id == stack for n in walk(loop))


def _reads_after(fn, loop):
    """Names read by statements after ``loop`` (in source order), outside it."""
    inside = {id(n) for n in walk(loop)}
    seen, names = False, set()
    for node in walk(fn):
        if node is loop:
            seen = True
        elif seen and id(node) not in inside and isinstance(node, gast.stmt):
            names.update(loads(node))
    return names


def _lower(fn, loop, bound):
    names = Names(fn)
    assigned = [n for s in loop.body for n in stores(s)]
    after = _reads_after(fn, loop)
    carried = []
    for n in read_first(loop.body) + [loop.test.id] + sorted(set(assigned) & after):
        if n in assigned and n not in carried:
            carried.append(n)
    if loop.test.id not in carried or any(n not in bound for n in carried):
        return None
    carry = names.fresh("carry")

    def unpack():
        return gast.Assign(targets=[tuple_of(carried, True)], value=name(carry),
                           type_comment=None)
    test = function(names.fresh("while_test"), [carry],
                    [unpack(), gast.Return(value=name(loop.test.id))])
    body = function(names.fresh("while_body"), [carry],
                    [unpack()] + loop.body + [gast.Return(value=tuple_of(carried))])
    call = dotted_call("tgr.while_loop", [name(test.name), name(body.name), tuple_of(carried)])
    new = [test, body, gast.Assign(targets=[tuple_of(carried, True)], value=call,
                                   type_comment=None)]
    return [gast.copy_location(s, loop) for s in new]
