"""The shape of normalized code, and how passes read it.

After ``normalize`` every statement is one of::

    x = <primitive>          Assign to one Name
    a, b = t                 Assign to a Tuple of Names (unpacking a tuple value)
    <call>                   Expr: a call kept for its side effect (print)
    return <atom>            the last statement

and a primitive is a call, operator, subscript, attribute read, tuple/list display, or an atom
(Name, Constant, resolved global). ``primitive(value)`` gives every kind of primitive one view:
the Python callable, its positional operands and its keyword operands.
"""

import operator

import gast

BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod,
          gast.Pow: operator.pow, gast.MatMult: operator.matmul, gast.BitAnd: operator.and_,
          gast.BitOr: operator.or_, gast.BitXor: operator.xor}
UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_,
            gast.Invert: operator.invert}
CMPOPS = {gast.Lt: operator.lt, gast.LtE: operator.le, gast.Gt: operator.gt,
          gast.GtE: operator.ge, gast.Eq: operator.eq, gast.NotEq: operator.ne,
          gast.Is: operator.is_, gast.IsNot: operator.is_not, gast.In: operator.contains}



def walk(node):
    """Every node under ``node`` (itself included), depth first; ``gast.walk`` without its
    generator-per-node overhead (building a gradient walks trees many times)."""
    stack = [node]
    ast_type = gast.AST
    while stack:
        current = stack.pop()
        yield current
        for field in current._fields:
            value = getattr(current, field, None)
            if isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, ast_type))
            elif isinstance(value, ast_type):
                stack.append(value)


class Primitive:
    """The callable and operands of one normalized expression."""

    __slots__ = ("args", "func", "kwargs", "node")

    def __init__(self, func, args, kwargs, node):
        self.func, self.args, self.kwargs, self.node = func, args, kwargs, node


COPY = "copy"            # x = y
PACK = "pack"            # t = (a, b)


def index_value(node):
    """A subscript index as an ordinary expression (slices become slice(...) calls)."""
    if isinstance(node, gast.Slice):
        parts = [p if p is not None else gast.Constant(value=None, kind=None)
                 for p in (node.lower, node.upper, node.step)]
        return gast.Call(func=gast.Name(id="slice", ctx=gast.Load(), annotation=None,
                                        type_comment=None), args=parts, keywords=[])
    if isinstance(node, gast.Tuple):
        return gast.Tuple(elts=[index_value(e) for e in node.elts], ctx=gast.Load())
    return node


def primitive(value):
    """The Primitive that ``value`` (a normalized expression) applies."""
    if isinstance(value, gast.BinOp):
        return Primitive(BINOPS[type(value.op)], [value.left, value.right], {}, value)
    if isinstance(value, gast.UnaryOp):
        return Primitive(UNARYOPS[type(value.op)], [value.operand], {}, value)
    if isinstance(value, gast.Compare):
        return Primitive(CMPOPS[type(value.ops[0])], [value.left] + value.comparators, {},
                         value)
    if isinstance(value, gast.Call):
        return Primitive(getattr(value.func, "resolved", None), list(value.args),
                         {k.arg: k.value for k in value.keywords}, value)
    if isinstance(value, gast.Subscript):
        return Primitive(operator.getitem, [value.value, value.slice], {}, value)
    if isinstance(value, gast.Attribute) and not hasattr(value, "resolved"):
        return Primitive(getattr, [value.value, gast.Constant(value=value.attr, kind=None)],
                         {}, value)
    if isinstance(value, (gast.Tuple, gast.List)):
        return Primitive(PACK, list(value.elts), {}, value)
    return Primitive(COPY, [value], {}, value)


def names_in(node):
    """The local variable names an expression reads (resolved globals excluded)."""
    found = []
    for sub in walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Load) \
                and not hasattr(sub, "resolved"):
            found.append(sub.id)
    return found


def assigned(stmt):
    """The names a normalized statement binds (``y[i] = v`` binds none: see ``mutated``)."""
    if isinstance(stmt, gast.Assign):
        target = stmt.targets[0]
        if isinstance(target, gast.Name):
            return [target.id]
        if isinstance(target, gast.Tuple):
            return [e.id for e in target.elts]
    return []


def set_item(stmt):
    """For ``y[index] = v``: (y, index node); else None."""
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
        target = stmt.targets[0]
        return target.value.id, target.slice
    return None


def operand_names(node):
    """The variable names inside an operand: a Name, or the Names of a tuple/list display."""
    if isinstance(node, gast.Name) and not hasattr(node, "resolved"):
        return [node.id]
    if isinstance(node, (gast.Tuple, gast.List)):
        return [n for e in node.elts for n in operand_names(e)]
    return []


_SHARED = ("resolved", "origin")


def clone(node):
    """A deep copy of a gast tree that shares annotations (``resolved`` objects, ``origin``)."""
    if isinstance(node, list):
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    new = type(node)(**{f: clone(getattr(node, f, None)) for f in node._fields})
    for attr in node._attributes:
        if hasattr(node, attr):
            setattr(new, attr, getattr(node, attr))
    for attr in _SHARED:
        if hasattr(node, attr):
            setattr(new, attr, getattr(node, attr))
    return new
