"""Lower branches on a saved condition to ``tgr.cond``, so they trace under ``jax.jit``.

The generated reverse code tests each ``if`` of the user's function twice, on the saved value
``cond1``: in the primal sweep (where the taken branch pushes the values it overwrites) and in
the adjoint sweep (where the same branch pops them back). A Python ``if`` on a traced array
fails under ``jit``/``vmap``, so for the JAX backend both become calls of ``tgr.cond``, which
runs ``jax.lax.cond`` when the condition is traced and the branch itself when it is concrete::

    if cond1:                          def branch(y):
        stack.append(y)                    y_saved = y
        y = y * 3                          y = y * 3
                                           return (y,), (y_saved,)
                             ->        def other(y):
                                           return (y,), (y,)
                                       (y,), (y_saved,) = tgr.cond(cond1, branch, other, (y,))

A push becomes an output of both branches (the untaken one gives the value as it is), and the
adjoint branch's pop reads that output. Branches with loops, early exits or stack use below
their top level, and branches inside loops, stay Python ``if``s.

For example, the gradient of a function with one branch (``show`` runs the passes up to the one
named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x):
...     if x > 0:
...         x = x * 3.0
...     return x
... ''', through="cond"))
def df(x):
    cond1 = x > 0
<BLANKLINE>
    def branch(x):
        saved = x
        x = x * 3.0
        return ((x,), (saved,))
<BLANKLINE>
    def other_branch(x):
        return ((x,), (x,))
    (x,), (saved,) = tgr.cond(cond1, branch, other_branch, (x,))
    tgr.check_scalar_output(x, 'f')
    bx = 1.0
<BLANKLINE>
    def branch2(bx, x):
        # grad of line 3: x = x * 3.0
        x = saved
        bx = tgr.unbroadcast_to(bx * 3.0, x)
        return ((bx, x), ())
<BLANKLINE>
    def other_branch2(bx, x):
        return ((bx, x), ())
    (bx, x), _ = tgr.cond(cond1, branch2, other_branch2, (bx, x))
    return tgr.match(bx, x)
"""

import gast

from ..ir import assign, clone, dotted_call, function, tuple_of, walk
from ..ir import name as name_node
from .lowering import (
    Names,
    bound_before,
    definite_stores,
    nested_in_loops,
    pop_target,
    push_value,
    read_first,
    replace,
    statements_in_order,
    stores,
    straight,
)


def lower_branches(fn, stack="stack", keep=None):
    """Rewrite the ``if <name>:`` statements of the generated FunctionDef ``fn`` that fit,
    inner ones first (an ``elif`` chain lowers from its last test out); returns how many
    were lowered. ``keep(node)``: True for a node that keeps its ``if`` a Python one (a
    call that recurses: ``lax.cond`` traces both branches, so recursion would not stop)."""
    lowered = 0
    while _lower_one(fn, stack, keep):
        lowered += 1
    return lowered


def _lower_one(fn, stack, keep=None):
    """Lower the innermost ``if`` pair that fits; False when none does."""
    names = Names(fn)
    in_loops = nested_in_loops(fn)
    order = statements_in_order(fn.body)
    by_test = {}
    position = {id(s): k for k, s in enumerate(order)}
    for block in _blocks_outside_loops(fn, in_loops):
        for stmt in block:
            if isinstance(stmt, gast.If) and isinstance(stmt.test, gast.Name) \
                    and id(stmt) not in in_loops:
                by_test.setdefault(stmt.test.id, []).append((block, stmt))
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}
    for found in sorted(by_test.values(), key=lambda f: -position[id(f[0][1])]):
        found.sort(key=lambda pair: position[id(pair[1])])   # the primal sweep's first
        if len(found) > 2 or not all(_fits(stmt, stack) for _, stmt in found):
            continue
        if keep is not None and any(keep(n) for _, stmt in found for n in walk(stmt)):
            continue
        if any(_checkpointed(n) for _, stmt in found for n in walk(stmt)):
            continue   # its marker and snapshots are Python objects lax.cond cannot return
        if not _pushes_match_pops(found, stack):
            continue
        saved = {}   # push or pop statement id -> the name the pushed value is saved under
        dropped = set()   # pushes and pops of values the adjoint never reads
        adjoint_after = _reads_after(order, found[-1][1])
        for push_branch, pop_branch in _paired_branches(found):
            pushes = [s for s in push_branch if push_value(s, stack) is not None]
            pops = [(k, s) for k, s in enumerate(pop_branch)
                    if pop_target(s, stack) is not None]
            for push, (k, pop) in zip(pushes, reversed(pops)):
                target = pop_target(pop, stack)
                if isinstance(target, gast.Name) and target.id not in adjoint_after \
                        and target.id not in read_first(pop_branch[k + 1:]):
                    dropped.update((id(push), id(pop)))
                else:
                    saved[id(push)] = saved[id(pop)] = names.fresh("saved")
        rewritten = []
        for block, stmt in found:
            new = _lower(stmt, stack, saved, dropped, names,
                         bound_before(fn.body, stmt, params), _reads_after(order, stmt),
                         _stored_before(order, stmt))
            if new is None:
                break
            rewritten.append((block, stmt, new))
        else:
            for block, stmt, new in rewritten:
                replace(block, stmt, new)
            return True
    return False


def _checkpointed(node):
    """A ``tg.checkpoint`` loop's call (``run_checkpointed(...)``, ``tg.checkpoint(...)``)."""
    if not isinstance(node, gast.Call):
        return False
    func = node.func
    return isinstance(func, gast.Name) and func.id == "run_checkpointed" \
        or isinstance(func, gast.Attribute) and func.attr == "checkpoint"


def _blocks_outside_loops(fn, in_loops):
    yield fn.body
    for node in walk(fn):
        if isinstance(node, gast.If) and id(node) not in in_loops:
            yield node.body
            yield node.orelse
        elif isinstance(node, gast.FunctionDef) and node is not fn and id(node) not in in_loops:
            yield node.body   # a lowered while loop's body (tgr.while_loop traces it)


def _fits(stmt, stack):
    """Straight-line branches whose stack operations are all at their top level."""
    if not (straight(stmt.body, functions=True) and straight(stmt.orelse, functions=True)):
        return False
    top = sum(1 for s in stmt.body + stmt.orelse
              if push_value(s, stack) is not None or pop_target(s, stack) is not None)
    return top == sum(1 for n in walk(stmt) if isinstance(n, gast.Name) and n.id == stack)


def _pushes_match_pops(found, stack):
    """One ``if`` pushes, the other pops the same number in each branch (or there is one
    ``if`` and it uses no stack)."""
    def count(body, which):
        return sum(1 for s in body if which(s, stack) is not None)
    if len(found) == 1:
        stmt = found[0][1]
        return not any(count(b, w) for b in (stmt.body, stmt.orelse)
                       for w in (push_value, pop_target))
    (_, first), (_, second) = found
    return all(count(a, push_value) == count(b, pop_target) and count(a, pop_target) == 0
               and count(b, push_value) == 0
               for a, b in ((first.body, second.body), (first.orelse, second.orelse)))


def _paired_branches(found):
    """(primal branch, adjoint branch) pairs: then with then, else with else."""
    if len(found) < 2:
        return []
    (_, first), (_, second) = found
    return [(first.body, second.body), (first.orelse, second.orelse)]


def _reads_after(order, stmt):
    position = next(k for k, s in enumerate(order) if s is stmt)
    inside = {id(n) for n in walk(stmt)}
    names = set()
    for s in order[position + 1:]:
        if id(s) not in inside:
            names.update(n.id for n in walk(s) if isinstance(n, gast.Name)
                         and isinstance(n.ctx, gast.Load))
    return names


def _stored_before(order, stmt):
    """Names some statement before ``stmt`` may bind (in a loop or one branch too)."""
    position = next(k for k, s in enumerate(order) if s is stmt)
    inside = {id(n) for n in walk(stmt)}
    return {n for s in order[:position] if id(s) not in inside for n in stores(s)}


def _untaken(value, bound, binds):
    """The value an untaken branch gives for the other branch's push of ``value``: as it is,
    or None (``tgr.cond`` fills it in with zeros of the taken one's shape) where it reads a
    name bound neither before the ``if`` nor in this branch."""
    if any(isinstance(n, gast.Name) and n.id not in bound and n.id not in binds
           for n in walk(value)):
        return gast.Constant(value=None, kind=None)
    return clone(value)


def _binds(body):
    """Names the statements of ``body`` bind."""
    return {n for st in body for n in stores(st)}


def _lower(stmt, stack, saved, dropped, names, bound, after, maybe=()):
    """The statements that replace ``stmt``, or None when it does not fit. ``saved`` names
    the value of each push (and the push each pop restores); ``dropped`` pushes and pops
    go. ``bound``: names certainly bound before; ``maybe``: names perhaps bound (by a loop
    that may have run): one only a branch binds can be neither an operand nor None."""
    branches = [[s for s in body if id(s) not in dropped] for body in (stmt.body, stmt.orelse)]
    assigned = {n for body in branches for s in body for n in stores(s)}
    both = set.intersection(*({n for s in body for n in definite_stores(s)}
                              for body in branches))
    outputs = sorted(n for n in assigned if n in after)
    # what a branch reads before binding, and what it leaves as it was, comes in as operands;
    # a name the other branch alone binds, and that was unbound before, comes out as None
    operands = sorted({n for body in branches for n in read_first(body) if n in assigned}
                      | {n for n in outputs if n not in both and n in bound})
    if any(n not in bound for n in read_first(stmt.body) + read_first(stmt.orelse)
           if n in assigned):
        return None
    if any(n not in both and n not in bound and n in maybe for n in outputs):
        return None
    pushed = [s for body in branches for s in body if push_value(s, stack) is not None]
    functions = []
    for k, body in enumerate(branches):
        statements = []
        for s in body:
            if id(s) not in saved:
                statements.append(s)
            elif push_value(s, stack) is not None:
                statements.append(assign(saved[id(s)], push_value(s, stack)))
            else:   # a pop: the value the primal branch saved
                statements.append(gast.Assign(targets=s.targets, value=name_node(saved[id(s)]),
                                              type_comment=None))
        # the untaken branch gives the pushed value as it is (unused, but typed alike)
        kept = [name_node(saved[id(s)]) if any(s is b for b in body)
                else _untaken(push_value(s, stack), bound, _binds(body))
                for s in pushed]
        mine = {n for st in body for n in stores(st)}
        results = [name_node(n) if n in mine or n in operands else gast.Constant(value=None,
                                                                              kind=None)
                   for n in outputs]
        statements.append(gast.Return(value=gast.Tuple(
            elts=[gast.Tuple(elts=results, ctx=gast.Load()),
                  gast.Tuple(elts=kept, ctx=gast.Load())], ctx=gast.Load())))
        functions.append(function(names.fresh("branch" if k == 0 else "other_branch"),
                                   operands, statements))
    call = dotted_call("tgr.cond", [name_node(stmt.test.id), name_node(functions[0].name),
                                     name_node(functions[1].name), tuple_of(operands)])
    kept = tuple_of([saved[id(s)] for s in pushed], True) if pushed else name_node("_", True)
    target = gast.Tuple(elts=[tuple_of(outputs, True), kept], ctx=gast.Store())
    new = functions + [gast.Assign(targets=[target], value=call, type_comment=None)]
    return [gast.copy_location(s, stmt) for s in new]
