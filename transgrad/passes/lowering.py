"""Tree helpers shared by the JAX lowerings (``scan`` for loops, ``cond`` for branches).

They read the generated reverse code's stack discipline (``stack.append(v)`` in the primal
sweep, ``v = stack.pop()`` in the adjoint) and which names a statement binds and reads first.
The nodes the lowered code needs (nested body functions, tuples, dotted calls) are built with
``ir``'s builders.

For example, on the two sweeps' stack discipline:

>>> import gast
>>> body = [gast.parse(s).body[0] for s in ("stack.append(x)", "x = x * 2", "x = stack.pop()")]
>>> push_value(body[0], "stack").id, pop_target(body[2], "stack").id
('x', 'x')
>>> read_first(body)
['x', 'stack']
"""

import gast

from .. import runtime
from ..ir import walk


def gradient_stack(fn):
    """The name of the reverse pass's stack in the FunctionDef ``fn``: ``stack``, unless the
    user's code has a ``stack`` of its own (then ``stack_1``...): the ``stack = []`` the pass
    made is tagged ``gradient_stack``."""
    for stmt in fn.body:
        if isinstance(stmt, gast.Assign) and getattr(stmt, "gradient_stack", False):
            return stmt.targets[0].id
    return "stack"


def is_stack_call(node, stack, method):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
        and node.func.attr == method and isinstance(node.func.value, gast.Name) \
        and node.func.value.id == stack


def push_value(stmt, stack):
    """The pushed expression of ``stack.append(e)``, else None."""
    if isinstance(stmt, gast.Expr) and is_stack_call(stmt.value, stack, "append") \
            and len(stmt.value.args) == 1:
        return stmt.value.args[0]
    return None


def pop_target(stmt, stack):
    """The target of ``target = stack.pop()``, else None."""
    if isinstance(stmt, gast.Assign) and is_stack_call(stmt.value, stack, "pop"):
        return stmt.targets[0]
    return None


def stores(stmt):
    """Names a statement may bind (in any branch); ``y[i] = v`` binds y, as the functional
    form ``y = y.at[i].set(v)`` that it becomes does. A nested function (a lowered branch)
    binds its name; its variables are its own."""
    if isinstance(stmt, gast.FunctionDef):
        return [stmt.name]
    nodes, functions = _split_functions(stmt)
    found = [f.name for f in functions]
    for node in nodes:
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            found.append(node.id)
        elif isinstance(node, (gast.Assign, gast.AugAssign)):
            for target in node.targets if isinstance(node, gast.Assign) else [node.target]:
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    found.append(target.value.id)
    return found


def _split_functions(node):
    """(the nodes of ``node`` outside nested function bodies, the nested functions)."""
    found, functions, todo = [], [], [node]
    while todo:
        item = todo.pop()
        found.append(item)
        for child in gast.iter_child_nodes(item):
            (functions if isinstance(child, gast.FunctionDef) else todo).append(child)
    return found, functions


def loads(node):
    """Names ``node`` reads; of a nested function (a lowered branch), the names it reads from
    the enclosing code (not its parameters or its own variables)."""
    if isinstance(node, gast.FunctionDef):
        own = {a.id for a in node.args.args} | {n for s in node.body for n in stores(s)}
        return [n for s in node.body for n in loads(s) if n not in own]
    nodes, functions = _split_functions(node)
    return [n.id for n in nodes if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)] \
        + [n for f in functions for n in loads(f)]


def definite_stores(stmt):
    """Names certainly bound once ``stmt`` has run (by a branch: those both branches bind)."""
    if isinstance(stmt, gast.FunctionDef):
        return [stmt.name]
    if isinstance(stmt, gast.If):
        def block(body):
            return {n for s in body for n in definite_stores(s)}
        return sorted(block(stmt.body) & block(stmt.orelse))
    if isinstance(stmt, (gast.Assign, gast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
        names = []
        for target in targets:
            if isinstance(target, gast.Name):
                names.append(target.id)
            elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                names.append(target.value.id)
            elif isinstance(target, gast.Tuple):   # also nested: (y,), saved = tgr.cond(...)
                names.extend(n.id for n in walk(target) if isinstance(n, gast.Name))
        return names
    return []


def bound_before(body, stmt, params):
    """Names certainly bound when ``stmt`` (somewhere inside ``body``) starts: the
    parameters and what the statements before it on its path bind."""
    bound = set(params)
    for s in body:
        if s is stmt:
            return bound
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and any(n is stmt for b in inner for n in walk(b)):
                return bound_before(inner, stmt, bound)
        bound.update(definite_stores(s))
    return bound


def read_first(body, skip=()):
    """Names some statement of ``body`` reads before the body has certainly bound them."""
    return _read_first(body, skip, set(), [])


def _read_first(body, skip, bound, first):
    """read_first from the names ``bound`` already; a branch is followed path by path (a
    name its branch binds before reading is not read first)."""
    bound = set(bound)
    for stmt in body:
        if isinstance(stmt, gast.If) and id(stmt) not in skip:
            first.extend(n for n in loads(stmt.test) if n not in bound and n not in first)
            _read_first(stmt.body, skip, bound, first)
            _read_first(stmt.orelse, skip, bound, first)
        elif id(stmt) not in skip:
            reads = loads(stmt)
            if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
                reads.append(stmt.target.id)
            first.extend(n for n in reads if n not in bound and n not in first)
        bound.update(definite_stores(stmt))
    return first


def straight(body, functions=False):
    """True when ``body`` has no loops, returns, breaks or nested functions (``functions``:
    except those of branches lowered already, which are not looked into)."""
    todo = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, gast.FunctionDef) and functions:
            continue
        if isinstance(node, (gast.For, gast.While, gast.Return, gast.Break, gast.Continue,
                             gast.FunctionDef, gast.Lambda, gast.Yield, gast.Global,
                             gast.Nonlocal, gast.Try, gast.With)):
            return False
        todo.extend(gast.iter_child_nodes(node))
    return True


class Names:
    """Fresh names that no statement of the function uses."""

    def __init__(self, fn):
        self.taken = {n.id for n in walk(fn) if isinstance(n, gast.Name)}
        self.taken.add(fn.name)

    def fresh(self, base):
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}{k}"
        self.taken.add(name)
        return name


def nested_in_loops(fn):
    """ids of the nodes inside some loop of ``fn``: a loop among them stays a Python loop (the
    outer loop's stack saves its values)."""
    return {id(n) for loop in walk(fn) if isinstance(loop, (gast.For, gast.While))
            for n in walk(loop) if n is not loop}


def statements_in_order(body, out=None):
    out = [] if out is None else out
    for stmt in body:
        out.append(stmt)
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list):
                statements_in_order(block, out)
    return out


def replace(block, stmt, new):
    k = next(k for k, s in enumerate(block) if s is stmt)
    block[k:k + 1] = new


def is_runtime(func, name):
    """``tgr.<name>``, spelled out or resolved to the runtime's function."""
    resolved = getattr(func, "resolved", None)
    if resolved is not None:
        return resolved is getattr(runtime, name, None)
    return isinstance(func, gast.Attribute) and func.attr == name \
        and isinstance(func.value, gast.Name) and func.value.id == "tgr"


def is_subscript(node, name, part):
    """``name[:-1]`` (part "head") or ``name[-1]`` (part "last")."""
    if not (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id == name):
        return False
    index = node.slice
    minus_one = (isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub)
                 and isinstance(index.operand, gast.Constant) and index.operand.value == 1) \
        or (isinstance(index, gast.Constant) and index.value == -1)
    if part == "last":
        return minus_one
    return isinstance(index, gast.Slice) and index.lower is None and index.step is None \
        and index.upper is not None and is_subscript(
            gast.Subscript(value=node.value, slice=index.upper, ctx=gast.Load()), name, "last")


def is_append(stmt):
    """``values = tgr.append(values, x)``: values, else None."""
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
            and isinstance(stmt.value, gast.Call) and is_runtime(stmt.value.func, "append") \
            and len(stmt.value.args) == 2 and isinstance(stmt.value.args[0], gast.Name) \
            and stmt.value.args[0].id == stmt.targets[0].id:
        return stmt.targets[0].id
    return None
