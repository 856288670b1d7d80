"""Which variables need derivatives (an analysis).

A variable is *active* when it depends on a differentiated argument (it is varied) and the
output depends on it (it is useful). Adjoints exist only for active variables::

    def f(x, n):          # wrt x
        k = n * 2         # not varied: no adjoint
        y = x * k         # active
        s = np.shape(y)   # not differentiable: no adjoint
        return y

Loops are iterated to a fixed point: a value can become varied in a later iteration.
"""

import gast

from .. import ir
from ..rules import is_nondifferentiable

NONDIFFERENTIABLE_ATTRIBUTES = {"dtype", "shape", "ndim", "size", "itemsize", "nbytes"}


def differentiable(prim):
    func = prim.func
    if func in (ir.COPY, ir.PACK):
        return True
    if func is getattr:   # fields of structures carry derivatives; dtypes do not
        return prim.args[1].value not in NONDIFFERENTIABLE_ATTRIBUTES
    return not is_nondifferentiable(func)


def assignments(body):
    """Every Assign statement in ``body``, in program order, descending into if/for/while."""
    for stmt in body:
        if isinstance(stmt, gast.Assign):
            yield stmt
        elif isinstance(stmt, (gast.If, gast.For, gast.While)):
            yield from assignments(stmt.body)
            yield from assignments(stmt.orelse)


def activity(tree, wrt_names):
    """The set of active variable names in the normalized FunctionDef ``tree``."""
    statements = []
    for stmt in assignments(tree.body):
        targets, reads = ir.assigned(stmt), ir.names_in(stmt.value)
        update = ir.set_item(stmt)
        if update is not None:   # y[i] = v reads and writes y
            targets = [update[0]]
            reads = reads + [update[0]]
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
    return varied & useful
