"""Which variables need derivatives (an analysis).

A variable is *active* when it depends on a differentiated argument (it is varied) and the
output depends on it (it is useful). Adjoints exist only for active variables::

    def f(x, n):          # wrt x
        k = n * 2         # not varied: no adjoint
        y = x * k         # active
        s = np.shape(y)   # not differentiable: no adjoint
        return y

Loops are iterated to a fixed point: a value can become varied in a later iteration.

In generated code (a derivative differentiated again) the per-call stack carries values too.
Generated code pops a name's saved value back into the name it pushed (``stack.append(t1)``
... ``t1 = stack.pop()``), so such a pop carries t1's activity and no other value's; any
other pop (``y[i] = stack.pop()``) may get whatever a varied push left. A stack is active when
a value it carries is.

For example, on the normalized function (``front_end`` runs the passes before this analysis):

>>> from transgrad.passes.show import front_end
>>> info, tree = front_end('''
... def f(x, n):
...     k = n * 2
...     y = x * k
...     s = np.shape(y)
...     return y
... ''')
>>> sorted(activity(tree, ["x"]))
['x', 'y']
"""

import gast

from .. import ir
from ..rules import SHAPE_ONLY, is_nondifferentiable
from .normalize import stack_operation

NONDIFFERENTIABLE_ATTRIBUTES = {"dtype", "shape", "ndim", "size", "itemsize", "nbytes"}


def differentiable(prim):
    func = prim.func
    if func in (ir.COPY, ir.PACK):
        return True
    if func is getattr:   # fields of structures carry derivatives; dtypes do not
        return prim.args[1].value not in NONDIFFERENTIABLE_ATTRIBUTES
    return not is_nondifferentiable(func)


def value_reads(value):
    """The names the normalized expression ``value`` reads for their values: an argument a
    call reads only for its shape, dtype or size (``tgr.unbroadcast_to(g, x)``'s ``x``,
    declared ``meta``) carries no variation into the result."""
    if value.__class__ is gast.Call:
        positions = SHAPE_ONLY.get(getattr(value.func, "resolved", None))
        if positions is not None:
            kept = [a for i, a in enumerate(value.args) if i not in positions]
            return [n for part in kept + [k.value for k in value.keywords]
                    for n in ir.names_in(part)]
    return ir.names_in(value)


def assignments(body):
    """Every Assign statement in ``body``, in program order, descending into if/for/while."""
    for stmt in body:
        if isinstance(stmt, gast.Assign):
            yield stmt
        elif isinstance(stmt, (gast.If, gast.For, gast.While)):
            yield from assignments(stmt.body)
            yield from assignments(stmt.orelse)


def stack_pushes(body):
    """``(stack, pushed operand)`` of every ``stack.append(v)`` of generated code in ``body``,
    in program order, descending into if/for/while."""
    for stmt in body:
        if isinstance(stmt, gast.Expr):
            stack = stack_operation(stmt.value, "append")
            if stack is not None:
                yield stmt, stack.id, stmt.value.args[0]
        elif isinstance(stmt, (gast.If, gast.For, gast.While)):
            yield from stack_pushes(stmt.body)
            yield from stack_pushes(stmt.orelse)


def stack_names(tree):
    """The names of generated code's stacks (``stack.append(v)``, ``v = stack.pop()``)."""
    return {stack for _, stack, _ in stack_pushes(tree.body)}


def activity(tree, wrt_names):
    """The set of active variable names in the normalized FunctionDef ``tree`` (with the
    stacks of generated code whose pushed or popped values are active)."""
    pushes = list(stack_pushes(tree.body))
    paired = {}   # stack -> the names pushed on it: `v = stack.pop()` gets v's value back
    for _, stack, value in pushes:
        if isinstance(value, gast.Name):
            paired.setdefault(stack, set()).add(value.id)
    statements = [(stmt, [stack], ir.operand_names(value), True)
                  for stmt, stack, value in pushes]
    for stmt in assignments(tree.body):
        targets, reads = ir.assigned(stmt), value_reads(stmt.value)
        update = ir.set_item(stmt)
        if update is not None:   # y[i] = v reads and writes y
            targets = [update[0]]
            reads = reads + [update[0]]
        stack = stack_operation(stmt.value, "pop")
        if stack is not None and update is None and targets[0] in paired.get(stack.id, ()):
            reads = targets   # the value a push of the same name saved, not any value
        statements.append((stmt, targets, reads, differentiable(ir.primitive(stmt.value))))
    varied = set(wrt_names)
    changed = True
    while changed:
        changed = False
        for _, targets, reads, diff in statements:
            if diff and varied.intersection(reads) and not varied.issuperset(targets):
                varied.update(targets)
                changed = True
    useful = set(ir.names_in(tree.body[-1].value)) if isinstance(tree.body[-1], gast.Return) \
        else set()
    changed = True
    while changed:
        changed = False
        for _, targets, reads, diff in reversed(statements):
            if diff and useful.intersection(targets) and not useful.issuperset(reads):
                useful.update(reads)
                changed = True
    active = varied & useful
    return active | {stack for stack, names in paired.items() if names & active}


class _NotFollowed(Exception):
    """A statement form ``useless_statements`` does not follow (break, with, ...)."""


def useless_statements(tree):
    """The ids of the assignments in the normalized FunctionDef ``tree`` whose values reach
    the output on no path after them, or None where the body has a form this analysis does
    not follow (an early return, ``with``, a loop's ``else``). A ``break`` goes on with what
    is live after its loop, a ``continue`` with what is live at the loop's head.

    ``activity`` is by name: a name is useful when any of its values is. This analysis is by
    statement (backward liveness through loops and branches), so a value that is overwritten
    before it is read, or read only by such values, gets no adjoint code. That matters beyond
    speed: its adjoint is zero, and a rule would multiply that zero by the value's derivative,
    which can be infinite (``w2 = w2 ** 3`` overflowing in a loop whose result is never read
    gives 0 * inf = nan; ``jax.grad`` never visits such a value)::

        def f(x):
            y = x * 2        # useful: read by the return
            z = y ** 3       # useless: z is overwritten before it is read
            z = y + 1.0
            return z
    """
    body = tree.body
    if not body or not isinstance(body[-1], gast.Return) or body[-1].value is None:
        return None
    useful_ids = set()
    try:
        _live_before(body[:-1], set(ir.names_in(body[-1].value)), useful_ids)
    except _NotFollowed:
        return None
    return {id(stmt) for stmt in assignments(body[:-1])} - useful_ids


def _live_before(body, live, useful_ids, jumps=None):
    """The names whose values may reach the output, before ``body``, given ``live`` after
    it; marks the useful assignments' ids in ``useful_ids``. ``jumps``: in a loop's body,
    (live after the loop, live at its head): where a ``break`` and a ``continue`` go."""
    live = set(live)
    for stmt in reversed(body):
        if isinstance(stmt, gast.Assign):
            update = ir.set_item(stmt)
            if update is not None:
                targets, killed = [update[0]], []
            elif isinstance(stmt.targets[0], (gast.Name, gast.Tuple)) and all(
                    isinstance(e, gast.Name) for e in getattr(stmt.targets[0], "elts", [])):
                targets = killed = ir.assigned(stmt)
            else:
                raise _NotFollowed
            useful = bool(live.intersection(targets))
            live.difference_update(killed)
            if useful:
                useful_ids.add(id(stmt))
                if differentiable(ir.primitive(stmt.value)):
                    live.update(ir.names_in(stmt.value))
                    live.update(ir.names_in(stmt.targets[0]) if update is not None else ())
        elif isinstance(stmt, gast.If):
            live = _live_before(stmt.body, live, useful_ids, jumps) | \
                _live_before(stmt.orelse, live, useful_ids, jumps)
        elif isinstance(stmt, (gast.Break, gast.Continue)) and jumps is not None:
            live = set(jumps[isinstance(stmt, gast.Continue)])   # what follows is not run
        elif isinstance(stmt, (gast.For, gast.While)):
            if stmt.orelse:
                raise _NotFollowed
            after = set(live)
            entry = set(live)   # live where the body starts: after the loop, or again
            while True:
                start = _live_before(stmt.body, entry, useful_ids, (after, entry))
                if start <= entry:
                    break
                entry |= start
            if isinstance(stmt, gast.For):
                if not isinstance(stmt.target, (gast.Name, gast.Tuple)):
                    raise _NotFollowed
                loop_targets = [n.id for n in gast.walk(stmt.target)
                                if isinstance(n, gast.Name)]
                if entry.intersection(loop_targets):   # the items come from the iterable
                    entry.update(ir.names_in(stmt.iter))
            live = entry
        elif isinstance(stmt, gast.Pass):
            continue
        else:
            raise _NotFollowed
    return live
