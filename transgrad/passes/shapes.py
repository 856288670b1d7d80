"""Which variables certainly share a shape (an analysis).

Shapes are unknown when a gradient is built, but some equalities are certain: an elementwise
function keeps its input's shape, and so does an operator between a variable and a scalar
literal. Variables in one *shape class* need no run-time broadcasting check between them::

    y = np.tanh(x)     # class(y) == class(x)
    z = y * 2.0        # class(z) == class(x)
    w = z - b          # b may broadcast: a new class

For example, on the normalized function (``front_end`` runs the passes before this analysis):

>>> from transgrad.passes.show import front_end
>>> info, tree = front_end('''
... def f(x, b):
...     y = np.tanh(x)
...     z = y * 2.0
...     w = z - b
...     return w
... ''')
>>> classes = shape_classes(tree)
>>> classes["x"] == classes["y"] == classes["z"], classes["w"] == classes["x"]
(True, False)
"""

import itertools
import operator

import gast

from .. import ir
from ..ir import walk
from ..rules import lookup_vjp
from .activity import assignments  # the analyses share the walk over statements


def _scalar(node):
    """A literal number or a global bound to a Python number."""
    if isinstance(node, gast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    return isinstance(getattr(node, "resolved", None), (int, float))


def is_scalar_operand(node):
    """A literal number or a global bound to one: it broadcasts into any shape."""
    return _scalar(node)


def multiply_stored_names(body):
    """Names stored more than once, or anywhere inside if/for/while: their shape may change."""
    seen, again = set(), set()
    for stmt in body:
        inside = isinstance(stmt, (gast.If, gast.For, gast.While))
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                if inside or node.id in seen:
                    again.add(node.id)
                seen.add(node.id)
    return again


def _primal_stores(stmt):
    """Names stored by ``stmt``, not counting tg.grad_of blocks (they run in the adjoint)."""
    if isinstance(stmt, gast.With):
        return
    if isinstance(stmt, gast.Name) and isinstance(stmt.ctx, gast.Store):
        yield stmt.id
    for child in gast.iter_child_nodes(stmt):
        yield from _primal_stores(child)


def overwritten_names(body, in_loop=False):
    """Names whose value can be overwritten while the function runs: stored inside a loop, or
    stored by more than one statement. Only these ever need saving for the adjoint sweep."""
    counts, looped = {}, set()

    def scan(stmts, in_loop):
        for stmt in stmts:
            if isinstance(stmt, gast.With):
                continue   # tg.grad_of blocks run in the adjoint sweep, not the primal
            if isinstance(stmt, (gast.For, gast.While)):
                looped.update(_primal_stores(stmt))
                scan(stmt.body, True)
            elif isinstance(stmt, gast.If):
                scan(stmt.body, in_loop)
                scan(stmt.orelse, in_loop)
            else:
                for n in walk(stmt):
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                        counts[n.id] = counts.get(n.id, 0) + 1
    scan(body, in_loop)
    return looped | {name for name, count in counts.items() if count > 1}


def shape_classes(tree):
    """A dict: variable name -> shape-class id (equal ids mean equal shapes)."""
    counter = itertools.count()
    classes = {}
    multiply_stored = multiply_stored_names(tree.body)

    def class_of(name):
        if name not in classes:
            classes[name] = next(counter)
        return classes[name]

    for stmt in tree.body:
        if not isinstance(stmt, gast.Assign) or not isinstance(stmt.targets[0], gast.Name):
            continue
        target = stmt.targets[0].id
        if target in multiply_stored:
            continue
        prim = ir.primitive(stmt.value)
        operands = [a for a in list(prim.args) + list(prim.kwargs.values()) if not _scalar(a)]
        rule = lookup_vjp(prim.func) if prim.func not in (ir.COPY, ir.PACK) else None
        same = prim.func is ir.COPY or (rule is not None and rule.elementwise)
        if same and operands and all(isinstance(a, gast.Name) and not hasattr(a, "resolved")
                                     for a in operands):
            if any(a.id in multiply_stored for a in operands):
                classes[target] = next(counter)
                continue
            ids = {class_of(a.id) for a in operands}
            if len(ids) == 1:
                classes[target] = ids.pop()
                continue
        classes[target] = next(counter)
    return classes


def scalar_names(tree, scalar_params):
    """Variables that are certainly scalars when ``scalar_params`` are Python numbers.

    A variable is a scalar if every statement that assigns it applies an elementwise or
    scalar operation (arithmetic, ``math.*``, a numpy ufunc with an elementwise rule) to
    scalars and number literals; loop counters over ranges are scalars. Between two scalars no
    broadcasting can happen, so no run-time check is emitted::

        def f(a, x):                  # called with floats: a, x, t1, t2 are scalars
            t1 = math.sin(x)
            t2 = a * t1
    """
    statements = list(assignments(tree.body))
    params = {a.id for a in tree.args.args}
    scalar = set(scalar_params)
    for stmt in statements:
        scalar.update(ir.assigned(stmt))
    scalar -= params - set(scalar_params)
    for node in walk(tree):
        if isinstance(node, gast.For):
            scalar.update(n.id for n in walk(node.target) if isinstance(n, gast.Name))
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
            scalar.discard(node.value.id)
    changed = True
    while changed:
        changed = False
        for stmt in statements:
            targets = ir.assigned(stmt)
            if scalar.intersection(targets) and not _scalar_value(stmt, scalar):
                scalar.difference_update(targets)
                changed = True
    return scalar


def _scalar_value(stmt, scalar):
    if not isinstance(stmt.targets[0], gast.Name):
        return False
    prim = ir.primitive(stmt.value)
    operands = list(prim.args) + list(prim.kwargs.values())
    if not all(_scalar(a) or isinstance(a, gast.Name) and a.id in scalar for a in operands):
        return False
    if prim.func is ir.COPY or prim.func in ir.BINOPS.values() or prim.func in \
            ir.UNARYOPS.values() or prim.func in ir.CMPOPS.values():
        return True
    if getattr(prim.func, "__module__", None) == "math" or prim.func in (abs, min, max):
        return True
    rule = lookup_vjp(prim.func) if callable(prim.func) else None
    return rule is not None and rule.elementwise


_FULL_REDUCTIONS = ("sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std")


def ranks(tree, param_ranks):
    """Number of dimensions of variables, where every assignment agrees, given the ranks of
    the parameters in this call. Rules read them (``np.ndim(x)``) to pick their formula when
    the gradient is built, so the matrix-product adjoint is the one ``@`` a person writes::

        def f(x, w):          # called with 2-D x and w
            h = np.tanh(x @ w)    # rank 2: bx = bt1 @ w.T, not a run-time choice
    """
    statements = list(assignments(tree.body))
    loop_counters = {n.id for node in walk(tree) if isinstance(node, gast.For)
                     for n in walk(node.target) if isinstance(n, gast.Name)}
    known = dict(param_ranks)
    known.update((name, 0) for name in loop_counters)
    conflicting = set()
    for _ in range(4):   # a few rounds reach loop-carried values
        changed = False
        for stmt in statements:
            targets = ir.assigned(stmt)
            if len(targets) != 1 or targets[0] in conflicting:
                continue
            rank = _rank_of(stmt.value, known, loop_counters)
            target = targets[0]
            if rank is None:
                continue
            if target in known and known[target] != rank:
                conflicting.add(target)
                del known[target]
                changed = True
            elif target not in known:
                known[target] = rank
                changed = True
        if not changed:
            break
    # a variable with an assignment whose rank is unknown is not known either
    for stmt in statements:
        for target in ir.assigned(stmt):
            if target in known and target not in param_ranks \
                    and _rank_of(stmt.value, known, loop_counters) != known[target]:
                del known[target]
    return known


def _rank_of(value, known, counters):
    """The rank of a normalized expression, or None when it cannot be told."""
    prim = ir.primitive(value)

    def rank(node):
        if _scalar(node):
            return 0
        if isinstance(node, gast.Name) and not hasattr(node, "resolved"):
            return known.get(node.id)
        return None

    func = prim.func
    if func is ir.COPY:
        return rank(prim.args[0])
    if func is operator.matmul:
        a, b = (rank(x) for x in prim.args)
        if a is None or b is None or a == 0 or b == 0:
            return None
        if a == 1 and b == 1:
            return 0
        if a == 1 or b == 1:
            return max(a, b) - 1
        return max(a, b)
    if func is operator.getitem:
        base = rank(prim.args[0])
        index = prim.args[1]
        items = index.elts if isinstance(index, gast.Tuple) else [index]
        if base is None:
            return None
        for item in items:
            if isinstance(item, gast.Slice):
                continue
            if isinstance(item, gast.Constant) and item.value is None:
                base += 1
            elif isinstance(item, gast.Constant) and isinstance(item.value, int) \
                    or isinstance(item, gast.Name) and item.id in counters:
                base -= 1
            else:
                return None
        return base
    elementwise = func in ir.BINOPS.values() or func in ir.UNARYOPS.values()
    rule = lookup_vjp(func) if callable(func) and not elementwise else None
    if elementwise or (rule is not None and rule.elementwise):
        operands = [rank(a) for a in list(prim.args) + list(prim.kwargs.values())
                    if not (isinstance(a, gast.Constant) and not _scalar(a))]
        return None if None in operands or not operands else max(operands)
    name = getattr(func, "__name__", "")
    if getattr(func, "__module__", None) == "builtins":
        name = ""   # builtin sum(items) of arrays is an array of their rank, not a number
    if rule is not None and name in _FULL_REDUCTIONS and len(prim.args) == 1 \
            and set(prim.kwargs) <= {"axis", "keepdims"}:
        axis = prim.kwargs.get("axis")
        keep = prim.kwargs.get("keepdims")
        if keep is not None and not (isinstance(keep, gast.Constant) and keep.value is False):
            return rank(prim.args[0]) if isinstance(keep, gast.Constant) else None
        if axis is None or isinstance(axis, gast.Constant) and axis.value is None:
            return 0
        base = rank(prim.args[0])
        if base is None:
            return None
        if isinstance(axis, gast.Constant) and isinstance(axis.value, int):
            return base - 1
        if isinstance(axis, gast.Tuple) and all(isinstance(e, gast.Constant) for e in axis.elts):
            return base - len(axis.elts)
        return None
    if getattr(func, "__module__", None) == "math":
        return 0
    return None
