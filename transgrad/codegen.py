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
from .passes.reverse import COMMENT

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

    def finish(self):
        for node, obj, base in self.pending:
            node.id = self._bind_value(obj, base)

    def _bind(self, obj, node):
        key = id(obj)
        if key in self.canonical:
            canonical = self.canonical[key]
        else:
            canonical = self.canonical[key] = self.backend.canonical(self.backend.translate(obj))
        if canonical is not None:
            return _dotted(canonical)
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
        target = getattr(ast, kind.__name__)
        source = node.__dict__
        new = target(**{f: self.convert(source.get(f)) for f in target._fields})
        if isinstance(new, ast.stmt):
            new.lineno = 1   # ast.unparse reads it (type comments); nothing else does
        return new


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
    """Print the gast FunctionDef ``fn`` (left as it is); fills ``namespace`` with the
    globals it needs."""
    printer = _Printer(namespace, backend or backends.load("numpy"))
    tree = printer.convert(fn)
    printer.finish()
    return _uncomment(ast.unparse(ast.Module(body=[tree], type_ignores=[])))


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
    return scope[fn.name], source


def compile_source(source, namespace, name, label):
    """(callable, source) of generated ``source`` defining function ``name`` with the globals
    ``namespace`` (copied), registered in ``linecache`` like ``compile_function``'s."""
    with _lock:
        filename = f"<transgrad-{next(_counter)} {label}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = dict(namespace)
    exec(code, scope)  # noqa: S102 - running the code we generated is the point
    return scope[name], source


def statement_sources(stmts, namespace, local_names, backend=None):
    """The source of each top-level statement of a generated function, as ``to_source``
    prints it inside the function (comments restored, indented one level), for code that
    reprints only the statements it changed. ``namespace`` holds the function's globals: an
    object already bound there keeps its name; ``local_names``: every local name of the
    function, which fresh globals must not take."""
    printer = _Printer(namespace, backend or backends.load("numpy"))
    printer.taken |= set(local_names)
    for name, value in namespace.items():
        printer.by_id.setdefault(id(value), name)
    trees = [printer.convert(stmt) for stmt in stmts]
    printer.finish()
    texts = []
    for tree in trees:
        lines = _uncomment(ast.unparse(tree)).splitlines(True)
        texts.append("".join("    " + line if line.strip() else line for line in lines))
    return texts


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
