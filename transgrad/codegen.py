"""Tree -> Python source -> callable.

Resolved globals are printed under canonical names (``np.sin`` however the user spelled it),
the source is compiled under a unique file name registered in ``linecache`` so tracebacks and
``pdb`` show the generated lines, and the callable carries that source as ``.source``.
"""

import ast
import itertools
import linecache
import re
import threading
import types

import gast

from . import backends
from .ir import walk
from .passes.reverse import COMMENT

_counter = itertools.count()
_lock = threading.Lock()


def _dotted(text):
    parts = text.split(".")
    node = gast.Name(id=parts[0], ctx=gast.Load(), annotation=None, type_comment=None)
    for part in parts[1:]:
        node = gast.Attribute(value=node, attr=part, ctx=gast.Load())
    return node


class _Bind(gast.NodeTransformer):
    """Replace resolved nodes by names bound in the generated function's namespace."""

    def __init__(self, namespace, taken, backend):
        self.namespace = namespace
        self.taken = taken
        self.backend = backend
        self.by_id = {}

    def _bind(self, obj, node):
        obj = self.backend.translate(obj)
        canonical = self.backend.canonical(obj)
        if canonical is not None:
            return _dotted(canonical)
        if isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name) \
                and hasattr(node.value, "resolved") \
                and isinstance(node.value.resolved, types.ModuleType):
            module_name = self._bind_value(node.value.resolved, node.value.id)
            return gast.Attribute(value=_dotted(module_name), attr=node.attr, ctx=gast.Load())
        base = node.id if isinstance(node, gast.Name) else getattr(obj, "__name__", "value")
        return _dotted(self._bind_value(obj, base))

    def _bind_value(self, obj, base):
        if id(obj) in self.by_id:
            return self.by_id[id(obj)]
        if isinstance(obj, types.ModuleType):
            canonical = self.backend.canonical(obj)
            if canonical is not None:
                return canonical
        name = re.sub(r"\W", "_", base)
        while name in self.taken or (name in self.namespace and self.namespace[name] is not obj):
            name += "_"
        self.namespace[name] = obj
        self.taken.add(name)
        self.by_id[id(obj)] = name
        return name

    def visit_Name(self, node):
        if hasattr(node, "resolved"):
            return gast.copy_location(self._bind(node.resolved, node), node)
        return node

    def visit_Attribute(self, node):
        if hasattr(node, "resolved"):
            return gast.copy_location(self._bind(node.resolved, node), node)
        return self.generic_visit(node)


def _uncomment(source):
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(COMMENT + "("):
            indent = line[:len(line) - len(stripped)]
            text = ast.literal_eval(stripped[len(COMMENT) + 1:-1])
            lines.append(f"{indent}# {text}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def to_source(fn, namespace, backend=None):
    """Print the gast FunctionDef ``fn``; fills ``namespace`` with the globals it needs."""
    backend = backend or backends.load("numpy")
    taken = {n.id for n in walk(fn) if isinstance(n, gast.Name)
             and not hasattr(n, "resolved")} | set(backend.globals())
    fn = _Bind(namespace, taken, backend).visit(fn)
    return _uncomment(ast.unparse(ast.Module(body=[_to_ast(fn)], type_ignores=[])))


_CONTEXTS = {gast.Load: ast.Load, gast.Store: ast.Store, gast.Del: ast.Del}


def _to_ast(node):
    """The standard-library tree of a gast tree, for ``ast.unparse``: a one-pass copy that
    knows the few places the two differ (``arg`` nodes, contexts, extra fields)."""
    if isinstance(node, list):
        return [_to_ast(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    kind = type(node)
    if kind is gast.Name:
        return ast.Name(id=node.id, ctx=_CONTEXTS[type(node.ctx)]())
    if kind in _CONTEXTS:
        return _CONTEXTS[kind]()
    if kind is gast.arguments:
        def arg(name):
            return None if name is None else ast.arg(arg=name.id, annotation=None)
        return ast.arguments(posonlyargs=[arg(a) for a in node.posonlyargs],
                             args=[arg(a) for a in node.args], vararg=arg(node.vararg),
                             kwonlyargs=[arg(a) for a in node.kwonlyargs],
                             kw_defaults=_to_ast(node.kw_defaults), kwarg=arg(node.kwarg),
                             defaults=_to_ast(node.defaults))
    target = getattr(ast, kind.__name__)
    new = target(**{f: _to_ast(getattr(node, f, None)) for f in target._fields})
    if isinstance(new, ast.stmt):
        new.lineno = 1   # ast.unparse reads it (type comments); nothing else does
    return new


def compile_function(fn, namespace, label, backend="numpy", user_file=None):
    """Compile the gast FunctionDef ``fn`` for ``backend``; returns (callable, source).

    With ``user_file``, ``LINE_MAPS`` records which line of that file each generated line
    comes from, so errors raised while the code runs can name the user's line."""
    backend = backends.load(backend)
    namespace.update(backend.globals())
    source = to_source(fn, namespace, backend)
    with _lock:
        filename = f"<transgrad-{next(_counter)} {label}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    if user_file is not None:
        LINE_MAPS[filename] = (user_file, _line_map(fn, source))
    scope = dict(namespace)
    exec(code, scope)  # noqa: S102 - running the code we generated is the point
    return scope[fn.name], source


LINE_MAPS = {}   # generated file name -> (user file, {generated line: user line})


def _statements(body, out, skip_comments):
    """Statements in source order, nested blocks included."""
    for stmt in body:
        if skip_comments and _is_comment(stmt):
            continue
        out.append(stmt)
        for field in ("body", "orelse", "finalbody"):
            _statements(getattr(stmt, field, None) or [], out, skip_comments)
    return out


def _is_comment(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) \
        and isinstance(stmt.value.func, gast.Name) and stmt.value.func.id == COMMENT


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
