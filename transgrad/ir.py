"""The shape of normalized code, and how passes read it.

After ``normalize`` every statement is one of::

    x = <primitive>          Assign to one Name
    a, b = t                 Assign to a Tuple of Names (unpacking a tuple value)
    <call>                   Expr: a call kept for its side effect (print)
    return <atom>            the last statement

and a primitive is a call, operator, subscript, attribute read, tuple/list display, or an atom
(Name, Constant, resolved global). ``primitive(value)`` gives every kind of primitive one view:
the Python callable, its positional operands and its keyword operands.

This module is also the one home of the builders passes make new nodes with (``name``,
``param``, ``tuple_of``, ``assign``, ``tgr_call``, ``dotted_call``, ``push``, ``pop``,
``function``) and of ``Comment``, the statement generated code prints as a ``#`` line.
"""

import contextlib
import operator
import sys
import typing

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



# Building recurses once per level of expression nesting (about five frames: parse, normalize,
# print); a 400-term sum nests 400 deep. Python itself compiles at most about 2,500 levels.
RECURSION_LIMIT = 20000


@contextlib.contextmanager
def deep_recursion(func=None):
    """Run a build with the recursion limit raised to ``RECURSION_LIMIT`` (restored after); a
    function nested deeper still raises ``TransformError`` at its ``def`` line."""
    old = sys.getrecursionlimit()
    if old < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    try:
        yield
    except RecursionError:
        from .errors import TransformError
        code = getattr(func, "__code__", None)
        raise TransformError(
            f"`{getattr(func, '__name__', 'the function')}` nests expressions too deeply for "
            "transgrad to transform", filename=getattr(code, "co_filename", None),
            lineno=getattr(code, "co_firstlineno", None),
            hint="split the longest expression into several statements") from None
    finally:
        if old < RECURSION_LIMIT and sys.getrecursionlimit() == RECURSION_LIMIT:
            sys.setrecursionlimit(old)


def where(stmt):
    """The node an error about the primitive of normalized ``stmt`` names: its call, which
    keeps its own line and column (a later line of a multi-line statement), else the user's
    statement ``stmt.origin``."""
    value = getattr(stmt, "value", None)
    if isinstance(value, gast.Call) and getattr(value, "lineno", None) is not None:
        return value
    return stmt.origin



class Comment(gast.stmt):
    """``# text`` in generated code (``# grad of line 3: ...``): a statement that does
    nothing. The printer writes it as a comment line, ``optimize`` drops it when the code it
    introduced is gone, and passes that look for statements by kind never meet it as a call."""

    _fields = ("text",)


def comment(text):
    """A statement that codegen prints as ``# text``."""
    return Comment(text=text)


def name(id_, store=False):
    """The variable ``id_``, read (or stored with ``store``)."""
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(), annotation=None,
                     type_comment=None)


def param(id_):
    """The parameter ``id_`` of a FunctionDef's ``arguments``."""
    return gast.Name(id=id_, ctx=gast.Param(), annotation=None, type_comment=None)


def tuple_of(ids, store=False):
    """``(a, b, ...)`` of the variables ``ids``, read (or stored with ``store``)."""
    return gast.Tuple(elts=[name(i, store) for i in ids],
                      ctx=gast.Store() if store else gast.Load())


def dotted_call(dotted, args, keywords=()):
    """``a.b.c(*args, **keywords)`` for ``dotted`` = ``"a.b.c"``."""
    parts = dotted.split(".")
    func = name(parts[0])
    for part in parts[1:]:
        func = gast.Attribute(value=func, attr=part, ctx=gast.Load())
    return gast.Call(func=func, args=list(args), keywords=list(keywords))


def function(name_, params, statements):
    """``def name_(*params): statements`` (a nested function: a scan's body, a branch)."""
    args = gast.arguments(args=[param(p) for p in params], posonlyargs=[], vararg=None,
                          kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    return gast.FunctionDef(name=name_, args=args, body=statements, decorator_list=[],
                            returns=None, type_comment=None)


def tgr_call(func, *args):
    """``tgr.func(*args)``: a call of a runtime helper."""
    return gast.Call(func=gast.Attribute(value=name("tgr"), attr=func, ctx=gast.Load()),
                     args=list(args), keywords=[])


def assign(target, value):
    """``target = value`` for a variable name ``target``, or ``a, b = value`` for a list or
    tuple of names."""
    node = name(target, store=True) if isinstance(target, str) else tuple_of(target, True)
    return gast.Assign(targets=[node], value=value, type_comment=None)


def push(stack, value):
    """``stack.append(value)``"""
    return gast.Expr(value=gast.Call(func=gast.Attribute(value=name(stack), attr="append",
                                                         ctx=gast.Load()),
                                     args=[value], keywords=[]))


def pop(stack):
    """``stack.pop()``"""
    return gast.Call(func=gast.Attribute(value=name(stack), attr="pop", ctx=gast.Load()),
                     args=[], keywords=[])


_CHILD_FIELDS = {}


def child_fields(kind):
    """The fields of node class ``kind`` that may hold nodes to visit: all but ``ctx`` (a
    Name's Load/Store says how it is used, and no pass looks for the context node itself)."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f != "ctx")
    return fields


def walk(node):
    """Every node under ``node`` (itself included), depth first, contexts left out; ``gast.walk``
    without its generator-per-node overhead (building a gradient walks trees many times)."""
    stack = [node]
    ast_type = gast.AST
    fields_of = _CHILD_FIELDS
    while stack:
        current = stack.pop()
        yield current
        kind = type(current)
        for field in fields_of.get(kind) or child_fields(kind):
            value = getattr(current, field, None)
            if value.__class__ is list:
                stack.extend([v for v in value if isinstance(v, ast_type)])
            elif isinstance(value, ast_type):
                stack.append(value)


class Transformer:
    """``gast.NodeTransformer``'s contract (``visit_<Class>`` methods that return a node, a
    list of nodes or None; ``generic_visit``) with a per-class dispatch table and without
    visiting contexts: passes transform whole functions many times per build."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    _methods: typing.ClassVar[dict] = {}

    def visit(self, node):
        kind = type(node)
        methods = type(self)._methods
        try:
            method = methods[kind]
        except KeyError:
            method = methods[kind] = getattr(type(self), "visit_" + kind.__name__, None)
        if method is None:
            return self.generic_visit(node)
        return method(self, node)

    def generic_visit(self, node):
        ast_type = gast.AST
        kind = type(node)
        for field in _CHILD_FIELDS.get(kind) or child_fields(kind):
            value = getattr(node, field, None)
            if value.__class__ is list:
                new_values = []
                for item in value:
                    if isinstance(item, ast_type):
                        item = self.visit(item)
                        if item is None:
                            continue
                        if not isinstance(item, ast_type):
                            new_values.extend(item)
                            continue
                    new_values.append(item)
                value[:] = new_values
            elif isinstance(value, ast_type):
                new_node = self.visit(value)
                if new_node is None:
                    delattr(node, field)
                else:
                    setattr(node, field, new_node)
        return node


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
    _names_into(node, found)
    return found


def _names_into(node, found):
    kind = type(node)
    if kind is gast.Name:
        if type(node.ctx) is gast.Load and not hasattr(node, "resolved"):
            found.append(node.id)
        return
    ast_type = gast.AST
    for field in _CHILD_FIELDS.get(kind) or child_fields(kind):
        value = getattr(node, field, None)
        if value.__class__ is list:
            for item in value:
                if isinstance(item, ast_type):
                    _names_into(item, found)
        elif isinstance(value, ast_type):
            _names_into(value, found)


def assigned(stmt):
    """The names a normalized statement binds (``y[i] = v`` binds none: see
    ``set_item``)."""
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


# annotations a copy keeps
_SHARED = ("resolved", "origin", "gradient_stack", "stacking", "projection")
ATOMS = (str, int, float, bool, type(None))


def clone(node):
    """A deep copy of a gast tree that shares annotations (``resolved`` objects, ``origin``)
    and contexts (no pass changes a context in place). Nodes are made without their
    constructors, which are slow in gast and run for every node of every copy."""
    if node.__class__ is list:
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    kind = node.__class__
    new = kind.__new__(kind)
    source, target = node.__dict__, new.__dict__
    for field in kind._fields:
        value = source.get(field)
        target[field] = value if value.__class__ in ATOMS or field == "ctx" else clone(value)
    for attr in kind._attributes:
        if attr in source:
            target[attr] = source[attr]
    for attr in _SHARED:
        if attr in source:
            target[attr] = source[attr]
    return new
