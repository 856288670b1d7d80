"""Tree -> Python source -> callable.

Resolved globals are printed under canonical names (``np.sin`` however the user spelled it),
the source is compiled under a unique file name registered in ``linecache`` so tracebacks and
``pdb`` show the generated lines, and the callable carries that source as ``.source``.
"""

import ast
import itertools
import linecache
import math
import os
import re
import threading
import types
import weakref

import gast

from . import backends
from .ir import Comment
from .line_maps import LINE_MAPS

_counter = itertools.count()
_lock = threading.Lock()


def _dotted(text):
    parts = text.split(".")
    node = ast.Name(id=parts[0], ctx=ast.Load())
    for part in parts[1:]:
        node = ast.Attribute(value=node, attr=part, ctx=ast.Load())
    return node


_CONTEXTS = {gast.Load: ast.Load, gast.Store: ast.Store, gast.Del: ast.Del}
_LOAD, _STORE = ast.Load(), ast.Store()

# Parse every printed function back and compare it with the tree that was printed
# (``check_printed``): on under TRANSGRAD_CHECK_PRINT=1 and in the tests; costs nothing when off.
CHECK_PRINT = os.environ.get("TRANSGRAD_CHECK_PRINT", "") not in ("", "0")

_LITERALS = {}   # (type, repr) -> the tree Python parses from the constant's printed text


def _literal(value):
    """A numeric constant as the tree its printed text parses to. ``ast.unparse`` prints a
    ``Constant`` as its repr whatever surrounds it, so a folded ``-1`` as the base of ``**``
    printed ``-1 ** c``, which Python reads as ``-(1 ** c)``; given as ``UnaryOp(USub, 1)``
    it gets its parentheses: ``(-1) ** c``. Complex numbers, ``nan`` and ``inf`` the same."""
    kind = value.__class__
    if kind is bool or kind not in (int, float, complex):
        return None
    if kind is not complex and value >= 0 and not math.isinf(value) \
            and math.copysign(1.0, value) > 0:
        return None
    key = (kind, repr(value))
    tree = _LITERALS.get(key)
    if tree is None:
        tree = ast.parse(ast.unparse(ast.Constant(value=value)), mode="eval").body
        if len(_LITERALS) < 4096:   # bounded: programs with many constants
            _LITERALS[key] = tree
    return tree


class _Printer:
    """The standard-library tree of a gast FunctionDef, for ``ast.unparse``, made in one pass
    that knows the few places the two differ (``arg`` nodes, contexts, extra fields) and binds
    resolved nodes to names in the generated function's namespace: the backend's canonical
    name (``np.sin``) where there is one, else a fresh global named after the object. Fresh
    names are given after the pass, when every local name is known."""

    def __init__(self, namespace, backend):
        self.namespace = namespace
        self.backend = backend
        self.taken = set(backend.globals())   # grows by every local name met
        self.by_id = {}
        self.canonical = {}     # id(object) -> its dotted name or None, for this tree
        self.pending = []       # (ast.Name, object, base name): fresh names given last
        self.builtins = []      # (ast.Name, object): a builtin, unless a local has its name

    def finish(self):
        for node, obj in self.builtins:
            if node.id in self.taken:   # `len = 3` in the function: call len under another name
                node.id = self._bind_value(obj, node.id)
        self.taken.update(node.id for node, _ in self.builtins)
        for node, obj, base in self.pending:
            node.id = self._bind_value(obj, base)

    def _bind(self, obj, node):
        key = id(obj)
        if key in self.canonical:
            canonical = self.canonical[key]
        else:
            canonical = self.canonical[key] = self.backend.canonical(self.backend.translate(obj))
        if canonical is not None:
            if "." in canonical:
                return _dotted(canonical)
            node = ast.Name(id=canonical, ctx=ast.Load())
            self.builtins.append((node, obj))
            return node
        obj = self.backend.translate(obj)
        if isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name) \
                and hasattr(node.value, "resolved") \
                and isinstance(node.value.resolved, types.ModuleType):
            return ast.Attribute(value=self._bound(node.value.resolved, node.value.id),
                                 attr=node.attr, ctx=ast.Load())
        base = node.id if isinstance(node, gast.Name) else getattr(obj, "__name__", "value")
        return self._bound(obj, base)

    def _bound(self, obj, base):
        if isinstance(obj, types.ModuleType):
            canonical = self.backend.canonical(obj)
            if canonical is not None:
                return _dotted(canonical)
        node = ast.Name(id=None, ctx=ast.Load())
        self.pending.append((node, obj, base))
        return node

    def _bind_value(self, obj, base):
        if id(obj) in self.by_id:
            return self.by_id[id(obj)]
        name = re.sub(r"\W", "_", base)
        while name in self.taken or (name in self.namespace and self.namespace[name] is not obj):
            name += "_"
        self.namespace[name] = obj
        self.taken.add(name)
        self.by_id[id(obj)] = name
        return name

    def convert(self, node):
        if node.__class__ is list:
            return [self.convert(n) for n in node]
        if not isinstance(node, gast.AST):
            return node
        kind = node.__class__
        if kind is gast.Name:
            if "resolved" in node.__dict__:
                return self._bind(node.resolved, node)
            self.taken.add(node.id)
            return ast.Name(id=node.id, ctx=_STORE if node.ctx.__class__ is gast.Store
                            else _CONTEXTS[node.ctx.__class__]())
        if kind is gast.Attribute and "resolved" in node.__dict__:
            return self._bind(node.resolved, node)
        if kind is gast.arguments:
            def arg(name):
                if name is None:
                    return None
                self.taken.add(name.id)
                return ast.arg(arg=name.id, annotation=None)
            return ast.arguments(posonlyargs=[arg(a) for a in node.posonlyargs],
                                 args=[arg(a) for a in node.args], vararg=arg(node.vararg),
                                 kwonlyargs=[arg(a) for a in node.kwonlyargs],
                                 kw_defaults=self.convert(node.kw_defaults),
                                 kwarg=arg(node.kwarg), defaults=self.convert(node.defaults))
        if kind in _CONTEXTS:
            return _LOAD if kind is gast.Load else _CONTEXTS[kind]()
        if kind is Comment:
            return node   # an ast.stmt already: _Unparser prints it
        if kind is gast.Constant:
            literal = _literal(node.value)
            if literal is not None:
                return literal
        target = getattr(ast, kind.__name__)
        source = node.__dict__
        new = target(**{f: self.convert(source.get(f)) for f in target._fields})
        if isinstance(new, ast.stmt):
            new.lineno = 1   # ast.unparse reads it (type comments); nothing else does
        return new


class _Unparser(ast._Unparser):
    """``ast.unparse`` that prints ``ir.Comment`` statements as ``# text`` lines."""

    def visit_Comment(self, node):
        self.fill("# " + node.text)


def _unparse(tree):
    return _Unparser().visit(tree)


def to_source(fn, namespace, backend=None):
    """Print the gast FunctionDef ``fn`` (left as it is); fills ``namespace`` with the
    globals it needs."""
    printer = _Printer(namespace, backend or backends.load("numpy"))
    tree = printer.convert(fn)
    printer.finish()
    module = ast.Module(body=[tree], type_ignores=[])
    source = _unparse(module) + "\n"
    if CHECK_PRINT:
        check_printed(module, source)   # strips the comments from the tree, printed already
    return source


def _without_comments(node):
    """``node``'s dump with the comment statements (printed as ``#`` lines) left out; strips
    them from ``node`` itself (a tree already printed)."""
    for parent in ast.walk(node):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(parent, field, None)
            if stmts.__class__ is list and any(s.__class__ is Comment for s in stmts):
                setattr(parent, field,
                        [s for s in stmts if s.__class__ is not Comment] or [ast.Pass()])
    return ast.dump(node)


def check_printed(tree, source):
    """Raise AssertionError unless ``source`` parses back to ``tree`` (comments aside): the
    printed code means what the compiler built. Leaves ``tree`` without its comments."""
    parsed = ast.parse(source)
    if not isinstance(tree, ast.Module):
        parsed = parsed.body[0] if len(parsed.body) == 1 else parsed
    expected, got = _without_comments(tree), _without_comments(parsed)
    if expected != got:
        raise AssertionError(
            "transgrad printed source that does not parse back to the tree it printed:\n"
            f"{source}\n--- built:\n{expected}\n--- parsed back:\n{got}")


def compile_function(fn, namespace, label, backend="numpy", user_file=None):
    """Compile the gast FunctionDef ``fn`` for ``backend``; returns (callable, source).

    With ``user_file``, ``LINE_MAPS`` records which line of that file each generated line
    comes from, so errors raised while the code runs can name the user's line."""
    backend = backends.load(backend)
    namespace.update(backend.globals())
    source = to_source(fn, namespace, backend)
    if user_file is None:
        return compile_source(source, namespace, fn.name, label)
    with _lock:
        filename = f"<transgrad-{next(_counter)} {label}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    LINE_MAPS[filename] = (user_file, _line_map(fn, source))
    scope = dict(namespace)
    exec(code, scope)  # noqa: S102 - running the code we generated is the point
    function = _without_self_cycle(scope, fn.name)
    _forget_with(function, filename)
    return function, source


def compile_source(source, namespace, name, label):
    """(callable, source) of generated ``source`` defining function ``name`` with the globals
    ``namespace`` (copied), registered in ``linecache`` like ``compile_function``'s."""
    with _lock:
        filename = f"<transgrad-{next(_counter)} {label}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = dict(namespace)
    exec(code, scope)  # noqa: S102 - running the code we generated is the point
    function = _without_self_cycle(scope, name)
    _forget_with(function, filename)
    return function, source


def _without_self_cycle(scope, name):
    """The function ``name`` defined in ``scope``, its own globals; unless its code calls
    itself by name, the name is dropped there, so the function is not in a reference cycle
    with its globals and dies when the last cache entry holding it does (a cycle would wait
    for the collector, and what it holds, such as callee caches keyed on the user's
    closures, for a second collection)."""
    function = scope[name]
    if not _mentions(function.__code__, name):
        del scope[name]
    return function


def _mentions(code, name):
    return name in code.co_names or any(
        _mentions(const, name) for const in code.co_consts if isinstance(const, types.CodeType))


def _forget_with(function, filename):
    """Drop ``filename``'s linecache entry and line map when the generated code object is
    gone (its derivative dropped from the caches, no traceback holding it)."""
    weakref.finalize(function.__code__, _forget, filename)


def _forget(filename):
    linecache.cache.pop(filename, None)
    LINE_MAPS.pop(filename, None)


def _statements(body, out, skip_comments):
    """Statements in source order, nested blocks included."""
    for stmt in body:
        if skip_comments and stmt.__class__ is Comment:
            continue
        out.append(stmt)
        for field in ("body", "orelse", "finalbody"):
            _statements(getattr(stmt, field, None) or [], out, skip_comments)
    return out




def _line_map(fn, source):
    """{generated line: user line} from the statements' positions in both trees."""
    printed = _statements(ast.parse(source).body[0].body, [], False)
    built = _statements(fn.body, [], True)
    mapping, last = {}, getattr(fn, "lineno", None)
    for gen, user in zip(printed, built):
        last = getattr(user, "lineno", None) or last
        if last is not None:
            mapping[gen.lineno] = last
    return mapping
