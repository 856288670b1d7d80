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

A ``break`` (``while True`` as normalize_loops writes it, a solver's ``return`` inside the
loop) becomes ``<flag> = False``, the statements after a branch that breaks moving into its
branches that do not. Loops whose body has nested loops, continues, returns or stack
operations, or whose carry holds a name not bound before the loop, stay Python loops.

In reverse mode the adjoint ``for _ in range(trips):`` first loses the pops it never reads
(values it only puts back: a shape read after it, values no derivative flows through), with
their pushes; a value read later is the loop's entry value, saved once. A primal loop left
with no stack lowers as above, counting its steps, and an adjoint loop with no stack becomes
``tgr.repeat`` (``lax.fori_loop`` over the traced count). A loop whose adjoint still reads
saved values cannot be reversed under ``jit`` (nor can JAX reverse ``lax.while_loop``): the
error at its line names ``while tg.checkpoint(cond, snapshots=k, max_steps=N):``.

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

import copy

import gast

from ..ir import Comment, assign, dotted_call, function, name, tuple_of, walk
from .lowering import (
    Names,
    bound_before,
    loads,
    nested_in_loops,
    pop_target,
    push_value,
    read_first,
    replace,
    statements_in_order,
    stores,
    straight,
)


def drop_restoring_loops(fn, stack="stack"):
    """In the adjoint ``for _ in range(trips):`` of a while loop, drop the pops of values the
    adjoint loop never reads (it only puts them back: a shape read after it, a value no
    derivative flows through) with their pushes in the primal loop; a loop left with nothing
    goes, with its counter. A dropped value read later in the adjoint is the loop's entry
    value, saved before the primal loop (each of its stores there follows a push of it). A
    primal loop left with no stack then lowers to ``tgr.while_loop``, an adjoint loop with
    no stack to ``tgr.repeat``. Returns how many adjoint loops changed."""
    changed = 0
    in_loops = nested_in_loops(fn)
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}
    for adjoint in statements_in_order(fn.body):
        trips = _trips_of(adjoint)
        if trips is None or id(adjoint) in in_loops or not _uses(adjoint, stack):
            continue
        order = statements_in_order(fn.body)
        primal = next((s for s in order if isinstance(s, gast.While) and any(
            _counts(b, trips) for b in s.body)), None)
        if primal is None or id(primal) in in_loops:
            continue
        later = _reads_after_in(order, adjoint)
        bound = bound_before(fn.body, primal, params)
        restored, tried = [], set()
        while True:   # a branch left with nothing goes, and its condition's pop with it
            _remove(adjoint, lambda st: isinstance(st, gast.If) and _empty([st]))
            fresh = [v for v in _only_restored(adjoint, primal, stack) if v not in tried]
            if not fresh:
                break
            for var in fresh:
                tried.add(var)
                if var in later and (var not in bound
                                     or not _pushed_before_stores(primal.body, var, stack)):
                    continue
                _remove(primal, lambda st, v=var: _is_push_of(st, v, stack))
                _remove(adjoint, lambda st, v=var: _is_pop_into(st, v, stack))
                restored += [var] if var in later else []
        if not restored and not _empty(adjoint.body):
            continue
        changed += 1
        names = Names(fn)
        entry = {n: names.fresh(f"{n}_before") for n in restored}
        after = [assign(n, name(entry[n])) for n in restored]
        _replace_in(fn, primal, [assign(entry[n], name(n)) for n in restored] + [primal])
        if _empty(adjoint.body) and not _uses_name(statements_in_order(fn.body), trips):
            _remove(fn, lambda st: _counts(st, trips) or _inits(st, trips))
            _replace_in(fn, adjoint, after)
        else:
            _replace_in(fn, adjoint, [adjoint] + after)
    return changed


def _only_restored(adjoint, primal, stack):
    """Names the adjoint loop pops and never reads, each pushed by name in the primal loop as
    often as it is popped (so dropping both keeps the stack's order)."""
    popped = [pop_target(s, stack) for s in walk(adjoint) if pop_target(s, stack) is not None]
    read = {n.id for n in walk(adjoint) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)}
    found = []
    for var in sorted({t.id for t in popped if isinstance(t, gast.Name)} - read):
        pops = sum(1 for t in popped if isinstance(t, gast.Name) and t.id == var)
        pushes = sum(1 for s in walk(primal) if _is_push_of(s, var, stack))
        if pops == pushes:
            found.append(var)
    return found


def _is_push_of(stmt, var, stack):
    value = push_value(stmt, stack)
    return isinstance(value, gast.Name) and value.id == var


def _is_pop_into(stmt, var, stack):
    target = pop_target(stmt, stack)
    return isinstance(target, gast.Name) and target.id == var


def _empty(body):
    """Nothing but ``pass``, comments, and branches of the same."""
    return all(isinstance(s, (gast.Pass, Comment)) or isinstance(s, gast.If)
               and _empty(s.body) and _empty(s.orelse) for s in body)


def _trips_of(stmt):
    """``trips`` of the adjoint loop ``for _ in range(trips):`` of a while loop, else None."""
    if isinstance(stmt, gast.For) and isinstance(stmt.iter, gast.Call) \
            and isinstance(stmt.iter.func, gast.Name) and stmt.iter.func.id == "range" \
            and len(stmt.iter.args) == 1 and isinstance(stmt.iter.args[0], gast.Name) \
            and not stmt.orelse:
        return stmt.iter.args[0].id
    return None


def _counts(stmt, trips):
    """``trips = trips + 1``"""
    return isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
        and stmt.targets[0].id == trips and isinstance(stmt.value, gast.BinOp) \
        and isinstance(stmt.value.left, gast.Name) and stmt.value.left.id == trips


def _inits(stmt, trips):
    """``trips = 0``"""
    return isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
        and stmt.targets[0].id == trips and isinstance(stmt.value, gast.Constant)


def _uses_name(order, trips):
    """Whether ``trips`` is read anywhere but its counter and its adjoint loop's range."""
    counters = sum(1 for s in order if _counts(s, trips))
    reads = sum(1 for s in order for n in walk(s) if isinstance(n, gast.Name)
                and n.id == trips and isinstance(n.ctx, gast.Load) and _direct(s, n))
    return reads != counters + 1


def _direct(stmt, node):
    """Whether ``node`` belongs to ``stmt`` itself, not to a statement nested in it."""
    todo = [c for c in gast.iter_child_nodes(stmt) if not isinstance(c, gast.stmt)]
    while todo:
        item = todo.pop()
        if item is node:
            return True
        todo.extend(c for c in gast.iter_child_nodes(item) if not isinstance(c, gast.stmt))
    return False


def _reads_after_in(order, stmt):
    """Names read by statements after ``stmt`` in ``order``, outside it."""
    position = next(k for k, s in enumerate(order) if s is stmt)
    inside = {id(n) for n in walk(stmt)}
    return {n.id for s in order[position + 1:] if id(s) not in inside for n in walk(s)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _pushed_before_stores(body, var, stack):
    """Every statement of ``body`` (and its branches) that binds ``var`` directly follows
    ``stack.append(var)``, so the first value pushed is the one the loop started with."""
    previous = None
    for stmt in body:
        if isinstance(stmt, gast.If):
            if not (_pushed_before_stores(stmt.body, var, stack)
                    and _pushed_before_stores(stmt.orelse, var, stack)):
                return False
        elif var in stores(stmt):
            pushed = push_value(previous, stack) if previous is not None else None
            if not (isinstance(pushed, gast.Name) and pushed.id == var):
                return False
        previous = stmt
    return True


def _remove(fn, doomed):
    for node in walk(fn):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and any(doomed(s) for s in block):
                kept = [s for s in block if not doomed(s)]
                block[:] = kept if not _empty(kept) else [gast.Pass()]


def _replace_in(fn, stmt, new):
    for node in walk(fn):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and any(s is stmt for s in block):
                replace(block, stmt, new)
                if not block:
                    block.append(gast.Pass())
                return


def lower_while_loops(fn, stack="stack"):
    """Rewrite the ``while <name>:`` loops of the generated FunctionDef ``fn`` that fit;
    returns how many were lowered."""
    drop_restoring_loops(fn, stack)
    lowered = 0
    while _lower_one(fn, stack):
        lowered += 1
    while _lower_repeat(fn, stack):
        lowered += 1
    return lowered


def _lower_repeat(fn, stack):
    """One adjoint loop ``for _ in range(trips):`` with no stack (its while loop saved
    nothing) as ``tgr.repeat``, a ``fori_loop`` when the count is traced; False if none."""
    in_loops = nested_in_loops(fn)
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}
    for block in _blocks(fn):
        for loop in block:
            if _trips_of(loop) is None or id(loop) in in_loops \
                    or not isinstance(loop.target, gast.Name) or loop.target.id != "_" \
                    or not straight(loop.body, functions=True) or _uses(loop, stack):
                continue
            assigned = [n for s in loop.body for n in stores(s)]
            after = _reads_after(fn, loop)
            carried = []
            for n in read_first(loop.body) + sorted(set(assigned) & after):
                if n in assigned and n not in carried:
                    carried.append(n)
            bound = bound_before(fn.body, loop, params)
            if not carried or any(n not in bound for n in carried):
                continue
            names = Names(fn)
            carry = names.fresh("carry")
            body = function(names.fresh("repeat_body"), [carry], [
                gast.Assign(targets=[tuple_of(carried, True)], value=name(carry),
                            type_comment=None)] + loop.body + [gast.Return(
                                value=tuple_of(carried))])
            call = dotted_call("tgr.repeat", [name(body.name), loop.iter.args[0],
                                              tuple_of(carried)])
            new = [body, gast.Assign(targets=[tuple_of(carried, True)], value=call,
                                     type_comment=None)]
            replace(block, loop, [gast.copy_location(s, loop) for s in new])
            return True
    return False


def _lower_one(fn, stack):
    in_loops = nested_in_loops(fn)
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}
    for block in _blocks(fn):
        for stmt in block:
            if isinstance(stmt, gast.While) and id(stmt) not in in_loops \
                    and not _uses(stmt, stack) and _breaks_to_flag(fn, stmt) \
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


def _uses(loop, stack):
    return any(isinstance(n, gast.Name) and n.id == stack for n in walk(loop))


def _fits(loop, stack):
    return isinstance(loop.test, gast.Name) and not loop.orelse \
        and straight(loop.body, functions=True) and not _uses(loop, stack)


def _breaks_to_flag(fn, loop):
    """Rewrite the ``break``s of ``while <flag>:`` (normalize_loops' ``while True``, the
    solver's ``return`` inside it) as ``<flag> = False``, with what follows a branch that
    breaks moved into its branches that do not; False where that cannot be done (a break
    in a nested loop, or the flag read after the loop, where it would no longer be True)."""
    if not _has_break(loop.body):
        return True
    if not isinstance(loop.test, gast.Name) or loop.test.id in _reads_after(fn, loop) \
            or any(isinstance(n, (gast.For, gast.While)) for s in loop.body for n in walk(s)):
        return False
    loop.body[:] = _unbroken(loop.body, loop.test.id)
    return True


def _has_break(body):
    return any(isinstance(n, gast.Break) for s in body for n in walk(s))


def _unbroken(body, flag):
    """``body`` with each ``break`` as ``flag = False``; the statements after a branch that
    may break run only on its paths that do not (copied into them)."""
    out = []
    for k, stmt in enumerate(body):
        if isinstance(stmt, gast.Break):
            stop = gast.Assign(targets=[name(flag, store=True)],
                               value=gast.Constant(value=False, kind=None), type_comment=None)
            out.append(gast.copy_location(stop, stmt))
            return out
        if isinstance(stmt, gast.If) and _has_break([stmt]):
            rest = body[k + 1:]
            stmt.body = _unbroken(stmt.body + rest, flag)
            stmt.orelse = _unbroken(stmt.orelse + [copy.deepcopy(s) for s in rest], flag)
            out.append(stmt)
            return out
        out.append(stmt)
    return out


def _reads_after(fn, loop):
    """Names read by statements after ``loop`` (in source order), outside it."""
    inside = {id(n) for n in walk(loop)}
    seen, names = False, set()
    for stmt in statements_in_order(fn.body):   # walk's order is not the source's
        if stmt is loop:
            seen = True
        elif seen and id(stmt) not in inside:
            names.update(loads(stmt.test) if isinstance(stmt, gast.If) else loads(stmt))
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
