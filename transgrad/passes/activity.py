"""Which variables need derivatives (an analysis).

A variable is *active* when it depends on a differentiated argument (it is varied) and the
output depends on it (it is useful). Adjoints exist only for active variables::

    def f(x, n):          # wrt x
        k = n * 2         # not varied: no adjoint
        y = x * k         # active
        s = np.shape(y)   # not differentiable: no adjoint
        return y
"""

import gast

from .. import ir
from ..rules import is_nondifferentiable


def differentiable(prim):
    func = prim.func
    if func in (ir.COPY, ir.PACK):
        return True
    return func is not getattr and not is_nondifferentiable(func)


def activity(tree, wrt_names):
    """The set of active variable names in the normalized FunctionDef ``tree``."""
    varied = set(wrt_names)
    for stmt in tree.body:
        if isinstance(stmt, gast.Assign):
            prim = ir.primitive(stmt.value)
            if differentiable(prim) and varied.intersection(ir.names_in(stmt.value)):
                varied.update(ir.assigned(stmt))
    useful = set()
    for stmt in reversed(tree.body):
        if isinstance(stmt, gast.Return):
            useful.update(ir.names_in(stmt.value))
        elif isinstance(stmt, gast.Assign) and useful.intersection(ir.assigned(stmt)):
            if differentiable(ir.primitive(stmt.value)):
                useful.update(ir.names_in(stmt.value))
    return varied & useful
