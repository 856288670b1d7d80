"""Which variables certainly share a shape (an analysis).

Shapes are unknown when a gradient is built, but some equalities are certain: an elementwise
function keeps its input's shape, and so does an operator between a variable and a scalar
literal. Variables in one *shape class* need no run-time broadcasting check between them::

    y = np.tanh(x)     # class(y) == class(x)
    z = y * 2.0        # class(z) == class(x)
    w = z - b          # b may broadcast: a new class
"""

import itertools

import gast

from .. import ir
from ..rules import lookup_vjp


def _scalar(node):
    """A literal number or a global bound to a Python number."""
    if isinstance(node, gast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    return isinstance(getattr(node, "resolved", None), (int, float))


def shape_classes(tree):
    """A dict: variable name -> shape-class id (equal ids mean equal shapes)."""
    counter = itertools.count()
    classes = {}

    def class_of(name):
        if name not in classes:
            classes[name] = next(counter)
        return classes[name]

    for stmt in tree.body:
        if not isinstance(stmt, gast.Assign) or not isinstance(stmt.targets[0], gast.Name):
            continue
        target = stmt.targets[0].id
        prim = ir.primitive(stmt.value)
        operands = [a for a in list(prim.args) + list(prim.kwargs.values()) if not _scalar(a)]
        rule = lookup_vjp(prim.func) if prim.func not in (ir.COPY, ir.PACK) else None
        same = prim.func is ir.COPY or (rule is not None and rule.elementwise)
        if same and operands and all(isinstance(a, gast.Name) and not hasattr(a, "resolved")
                                     for a in operands):
            ids = {class_of(a.id) for a in operands}
            if len(ids) == 1:
                classes[target] = ids.pop()
                continue
        classes[target] = next(counter)
    return classes
