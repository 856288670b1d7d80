"""Read a Python function into a gast tree that remembers where it came from.

Line numbers in the returned tree are the line numbers of the user's file, so every error and
every ``# grad of line N`` comment points at the line the user wrote.
"""

import __future__
import builtins
import dis
import functools
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field
from typing import NamedTuple

import gast

from .errors import TransformError
from .ir import clone, walk


@dataclass
class FunctionInfo:
    """A parsed function with everything passes need to resolve its names."""

    func: object
    tree: gast.FunctionDef
    filename: str
    lines: list            # the lines of the user's file (1-based via ``line``)
    namespace: dict        # globals, then closure cells, then builtins
    local_names: set = field(default_factory=set)
    generated: bool = False   # code transgrad generated (a derivative being differentiated)

    def line(self, lineno):
        """The text of line ``lineno`` of the user's file, or ''."""
        if lineno is not None and 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1].rstrip("\n")
        return ""

    def error(self, message, node=None, hint=None):
        """A TransformError pointing at ``node`` in this function."""
        lineno = getattr(node, "lineno", None) if node is not None else self.tree.lineno
        col = getattr(node, "col_offset", None) if node is not None else self.tree.col_offset
        return TransformError(message, filename=self.filename, lineno=lineno, col_offset=col,
                              source_line=self.line(lineno), hint=hint)


def _namespace(func):
    namespace = dict(vars(builtins))
    namespace.update(func.__globals__)
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # cell not yet filled
                pass
    return namespace


def parse_function(func):
    """Parse ``func`` into a FunctionInfo; raise TransformError if its source is unreadable.

    A transgrad derivative (``tg.grad(f)``...) stands for its generated code, read back from
    ``linecache``, so derivatives of derivatives are transformations of generated source."""
    func, moved = generated_code(func)
    func = unwrap(func)
    from .rules.generated import check_source_differentiable
    check_source_differentiable(func, "derivative")   # a helper of generated code
    if not inspect.isfunction(func):
        raise TransformError(
            f"transgrad can only transform Python functions, not {type(func).__name__} "
            f"{func!r}",
            hint="pass a function defined with `def` in a .py file")
    code = func.__code__
    filename = code.co_filename
    if code.co_name == "<lambda>":
        return _parse_lambda(func)
    try:
        lines, first_lineno = inspect.getsourcelines(code)   # not __wrapped__'s
    except (OSError, TypeError) as exc:
        raise TransformError(
            f"cannot read the source of {func.__qualname__}: {exc}",
            filename=filename, lineno=code.co_firstlineno,
            hint="transgrad reads a function's source from its file; functions defined with "
                 "exec() or at an interactive prompt have none. Put the function in a .py file "
                 "(or a notebook cell) and import it.") from None
    source = textwrap.dedent("".join(lines))
    try:
        module = gast.parse(source)
    except SyntaxError as exc:
        raise TransformError(f"cannot parse the source of {func.__qualname__}: {exc.msg}",
                             filename=filename, lineno=code.co_firstlineno) from None
    tree = module.body[0]
    if isinstance(tree, gast.Assign) and isinstance(tree.value, gast.Lambda):
        raise TransformError(
            f"cannot transform the lambda {func.__qualname__} on its own",
            filename=filename, lineno=code.co_firstlineno,
            hint="define the function with `def`")
    if not isinstance(tree, (gast.FunctionDef,)):
        raise TransformError(
            f"the source of {func.__qualname__} is not a plain `def`",
            filename=filename, lineno=code.co_firstlineno,
            hint="transgrad transforms functions defined with `def` (async and lambdas are not "
                 "supported); if the file was edited after it was imported, reload it")
    lines_down, indent = first_lineno - 1, len(lines[0]) - len(lines[0].lstrip())
    for node in walk(module):   # positions in the user's file, not in the dedented snippet
        if getattr(node, "lineno", None) is not None:
            node.lineno += lines_down
            if getattr(node, "end_lineno", None) is not None:
                node.end_lineno += lines_down
        if getattr(node, "col_offset", None) is not None:
            node.col_offset += indent
    namespace = _namespace(func)
    if not filename.startswith("<transgrad-"):   # the user's code, not generated code
        check_current(func, source, filename)
        _bind_defaults(func, tree, namespace)
    if hasattr(func, "__wrapped__") and (tree.args.vararg or tree.args.kwarg) \
            and not _specialize_wrapper(func, tree, namespace):
        raise TransformError(
            f"the decorator wrapper `{code.co_name}` of "
            f"{getattr(func.__wrapped__, '__qualname__', 'a function')} does more than pass its "
            f"arguments on, through *args/**kwargs,"
            f" which transgrad cannot differentiate; dropping the wrapper would drop code that "
            f"runs", filename=filename, lineno=code.co_firstlineno,
            source_line=_file_lines(filename, lines, first_lineno)[code.co_firstlineno - 1],
            hint="use *args and **kwargs only to pass them on (fn(*args, **kwargs)), give the "
                 "wrapper the wrapped function's parameters (def wrapper(x): ...), or "
                 "differentiate the undecorated function (f.__wrapped__)")
    _mangle_private_names(func, tree)
    # positional-only parameters count in wrt like the others: the derivative takes them as
    # ordinary parameters (the entry point refuses them by keyword, as the function does)
    tree.args.args[:0] = tree.args.posonlyargs
    tree.args.posonlyargs = []
    if moved:   # the (co)tangent is passed last by position, as the derivative takes it
        tree.args.args.append(tree.args.kwonlyargs.pop())
        tree.args.kw_defaults.pop()
    file_lines = _file_lines(filename, lines, first_lineno)
    return FunctionInfo(func=func, tree=tree, filename=filename, lines=file_lines,
                        namespace=namespace, generated=filename.startswith("<transgrad-"))


# --- lambdas ---------------------------------------------------------------------------------

def _parse_lambda(func):
    """A lambda as a FunctionInfo: found in its file's tree (the line holds the lambda, the
    statement around it may span many), told apart from other lambdas on its line by its
    parameters and where its code starts, made a ``def`` returning its body."""
    code = func.__code__
    filename = code.co_filename
    where = {"filename": filename, "lineno": code.co_firstlineno}
    file_lines = linecache.getlines(filename, func.__globals__)
    if not file_lines:
        raise TransformError(
            f"cannot read the source of the lambda {func.__qualname__}", **where,
            hint="transgrad reads a function's source from its file; lambdas typed at an "
                 "interactive prompt or made by exec() have none: define it in a .py file")
    module = _file_tree(filename, "".join(file_lines))
    if module is None:
        raise TransformError(f"cannot parse {filename} to find the lambda {func.__qualname__}",
                             **where, hint="reload the module if the file was edited")
    line = file_lines[code.co_firstlineno - 1].rstrip("\n") \
        if code.co_firstlineno <= len(file_lines) else ""
    lam = clone(_find_lambda(code, module, TransformError, where, line))   # the tree is cached
    source = _segment(file_lines, lam)
    check_current(func, "(" + source + ")\n", filename)
    namespace = _namespace(func)
    args = lam.args
    if args.vararg or args.kwarg:
        raise TransformError(
            "a lambda with *args or **kwargs cannot be differentiated", **where,
            col_offset=lam.col_offset, source_line=line,
            hint="name its parameters (lambda x, y: ...)")
    # defaults were evaluated where the lambda was made (`lambda z, j=j: ...` in a loop): the
    # values, held in the namespace under names of their own, not the expressions
    args.defaults = [_default(namespace, v, lam) for v in (func.__defaults__ or ())]
    kw_defaults = func.__kwdefaults__ or {}
    args.kw_defaults = [_default(namespace, kw_defaults[a.id], lam) if a.id in kw_defaults
                        else None for a in args.kwonlyargs]
    body = [gast.copy_location(gast.Return(value=lam.body), lam.body)]
    tree = gast.copy_location(gast.FunctionDef(
        name="lambda_", args=args, body=body, decorator_list=[], returns=None,
        type_comment=None, type_params=[]), lam)
    tree.end_lineno, tree.end_col_offset = lam.end_lineno, lam.end_col_offset
    tree.args.args[:0] = tree.args.posonlyargs
    tree.args.posonlyargs = []
    return FunctionInfo(func=func, tree=tree, filename=filename, lines=file_lines,
                        namespace=namespace)


def _bind_defaults(func, tree, namespace):
    """Defaults as the function holds them. Python evaluated each default expression once,
    where the function was made: a global rebound since (``K = 2.0; def h(x, k=K)``, then
    ``K = 3.0``) or an enclosing function's local is not what the name says now, so a default
    that is not a literal becomes a name bound to the value the function holds."""
    args = tree.args
    values = func.__defaults__ or ()
    if len(values) == len(args.defaults):
        args.defaults = [d if _literal_default(d) else _default(namespace, v, d)
                         for d, v in zip(args.defaults, values)]
    held = func.__kwdefaults__ or {}
    args.kw_defaults = [d if d is None or _literal_default(d) or a.id not in held
                        else _default(namespace, held[a.id], d)
                        for a, d in zip(args.kwonlyargs, args.kw_defaults)]


def _literal_default(node):
    """A default written as a literal (``0.5``, ``-1``, ``None``, ``(0, 1)``): its value is
    what it says, and the generated code keeps it as written."""
    if isinstance(node, gast.Constant):
        return True
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        return isinstance(node.operand, gast.Constant)
    if isinstance(node, gast.Tuple):
        return all(_literal_default(e) for e in node.elts)
    return False


def _default(namespace, value, node):
    name = f"__transgrad_default_{id(value)}"
    namespace[name] = value
    return gast.copy_location(gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                        type_comment=None), node)


@functools.lru_cache(maxsize=32)
def _file_tree(filename, text):
    """The gast tree of a whole file (None if it does not parse): a lambda is found in it by
    its line, however long the statement holding it."""
    try:
        return gast.parse(text)
    except SyntaxError:
        return None


def _find_lambda(code, module, error, where, line):
    """The Lambda node of ``code`` in ``module``: the one on its first line, else the one with
    its parameters, else the one whose body holds where its code starts (Python 3.11+)."""
    on_line = [n for n in walk(module)
               if isinstance(n, gast.Lambda) and n.lineno == code.co_firstlineno]
    n_params = code.co_argcount + code.co_kwonlyargcount
    params = code.co_varnames[:n_params]
    candidates = [n for n in on_line
                  if tuple(a.id for a in n.args.posonlyargs + n.args.args + n.args.kwonlyargs)
                  == params]
    if len(candidates) > 1 and hasattr(code, "co_positions"):
        starts = [(ins.positions.lineno, ins.positions.col_offset)
                  for ins in dis.get_instructions(code)
                  if ins.positions is not None and None not in ins.positions
                  # RESUME and the final RETURN_VALUE have empty spans at column 0
                  and (ins.positions.end_lineno, ins.positions.end_col_offset)
                  > (ins.positions.lineno, ins.positions.col_offset)]
        if starts:
            start = min(starts)

            def holds(n):
                body = n.body
                return (body.lineno, body.col_offset) <= start \
                    <= (body.end_lineno, body.end_col_offset)
            holding = [n for n in candidates if holds(n)]
            # a lambda in another's body: the innermost holding the start is this code
            candidates = sorted(holding, key=lambda n: (n.lineno, n.col_offset))[-1:]
    if len(candidates) != 1:
        what = "no lambda" if not candidates else f"{len(candidates)} lambdas"
        raise error(
            f"cannot tell which lambda on this line is the function to differentiate: "
            f"{what} with the parameters ({', '.join(params)})", **where,
            col_offset=on_line[0].col_offset if on_line else None, source_line=line,
            hint="give the lambda a line of its own, or define the function with `def`; if the "
                 "file was edited after it was imported, reload it")
    return candidates[0]


def _segment(file_lines, node):
    """The source text of ``node`` (its columns are UTF-8 byte offsets)."""
    rows = [s.encode() for s in file_lines[node.lineno - 1:node.end_lineno]]
    if len(rows) == 1:
        return rows[0][node.col_offset:node.end_col_offset].decode()
    rows[0], rows[-1] = rows[0][node.col_offset:], rows[-1][:node.end_col_offset]
    return b"".join(rows).decode()


class GeneratedCode(NamedTuple):
    """A derivative's generated function, to be transformed again; ``moved``: its last
    keyword-only parameter (the tangent or cotangent) is passed by position."""

    function: object
    moved: bool


class Derivative:
    """What the compiler reads from a transgrad derivative (``api.GradientFunction``) that is
    differentiated again, so that neither parse nor the pipeline imports api: a derivative is
    transformed as the code it generated."""

    backend = "numpy"

    @property
    def user_function(self):
        """What the derivative differentiates: a user's function, or a derivative (for a
        derivative of a derivative)."""
        raise NotImplementedError

    def generated_code(self, scalars=None, classes=(), param_ranks=()):
        """The GeneratedCode this derivative runs for arguments of these kinds (``scalars``
        None: the general code, for any kinds); TransformError if it cannot be transformed."""
        raise NotImplementedError


def generated_code(func):
    """(function, moved): for a transgrad derivative, its generated function (the general
    code, for any argument kinds, unless ``func`` is a GeneratedCode for given kinds) and
    whether its last keyword-only parameter (the tangent or cotangent of ``tg.jvp``/``tg.vjp``)
    is passed by position; else ``(func, False)``."""
    if isinstance(func, Derivative):
        func = func.generated_code()
    if isinstance(func, GeneratedCode):
        return func.function, func.moved
    return func, False


def _file_lines(filename, lines, first_lineno):
    import linecache
    all_lines = linecache.getlines(filename)
    if all_lines:
        return all_lines
    return [""] * (first_lineno - 1) + list(lines)


# --- decorators ------------------------------------------------------------------------------

def _known_transparent(wrapper):
    """Wrappers that return what the wrapped function returns (caches, JAX's jit)."""
    kind = type(wrapper)
    return kind is getattr(functools, "_lru_cache_wrapper", None) \
        or (kind.__module__ or "").split(".")[0] in ("jax", "jaxlib")


def unwrap(func):
    """``func`` without the decorators that only pass their arguments on
    (``return fn(*args, **kwargs)``, ``functools.lru_cache``): a decorator whose wrapper does
    anything else is kept, so its code is differentiated (or refused), never dropped."""
    seen = set()
    while hasattr(func, "__wrapped__") and id(func) not in seen:
        seen.add(id(func))
        inner = func.__wrapped__
        if inspect.isfunction(func):
            if not _pass_through(func, inner):
                return func
        elif not _known_transparent(func):
            raise TransformError(
                f"cannot see what the wrapper {func!r} of {getattr(inner, '__qualname__', inner)}"
                f" does to its result",
                hint="differentiate the undecorated function (its __wrapped__), or write the "
                     "decorator as a Python function")
        func = inner
    return func


def _pass_through(wrapper, inner):
    """Whether the function ``wrapper`` is ``return fn(<its own parameters>)`` and nothing
    else, ``fn`` being a closure cell or global holding ``inner``."""
    try:
        source = textwrap.dedent(inspect.getsource(wrapper.__code__))
        tree = gast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    if not isinstance(tree, gast.FunctionDef):
        return False
    body = tree.body
    if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]   # a docstring
    if len(body) != 1 or not isinstance(body[0], gast.Return) \
            or not isinstance(body[0].value, gast.Call):
        return False
    call = body[0].value
    if not isinstance(call.func, gast.Name):
        return False
    namespace = _namespace(wrapper)
    if namespace.get(call.func.id) is not inner:
        return False
    args = tree.args
    if args.posonlyargs or args.kwonlyargs or args.defaults:
        return False
    expected = [gast.dump(gast.Name(id=a.id, ctx=gast.Load(), annotation=None,
                                    type_comment=None)) for a in args.args]
    if args.vararg is not None:
        expected.append(gast.dump(gast.Starred(
            value=gast.Name(id=args.vararg.id, ctx=gast.Load(), annotation=None,
                            type_comment=None), ctx=gast.Load())))
    keywords = [] if args.kwarg is None else [(None, args.kwarg.id)]
    return [gast.dump(a) for a in call.args] == expected and [
        (k.arg, k.value.id if isinstance(k.value, gast.Name) else None)
        for k in call.keywords] == keywords


# --- stale source ----------------------------------------------------------------------------

_FUTURE_FLAGS = functools.reduce(
    lambda a, b: a | b, (getattr(__future__, f).compiler_flag
                         for f in __future__.all_feature_names), 0)
_VARIABLE_OPS = frozenset({"FAST", "DEREF", "GLOBAL", "NAME", "CLASSDEREF", "CLOSURE",
                           "FAST_CHECK", "FAST_AND_CLEAR", "FAST_LOAD_FAST", "FAST_STORE_FAST",
                           "FROM_DICT_OR_DEREF", "FROM_DICT_OR_GLOBALS"})
_CONTEXT_OPS = frozenset({"RESUME", "NOP", "CACHE", "MAKE_CELL", "COPY_FREE_VARS",
                          "EXTENDED_ARG", "PUSH_NULL", "PRECALL"})


def _fingerprint(code):
    """What ``code`` does, independent of where it was compiled: its instructions with
    variable accesses by name only (a closure cell, a global and a local read alike) and jumps
    without their offsets; nested code objects by their own fingerprints."""
    out = [code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount]
    for ins in dis.get_instructions(code):
        op = ins.opname
        if op == "LOAD_METHOD":   # LOAD_ATTR on a name imported in the same file (3.11)
            op = "LOAD_ATTR"
        if op in _CONTEXT_OPS:
            continue
        action, _, kind = op.partition("_")
        if action in ("LOAD", "STORE", "DELETE") and kind in _VARIABLE_OPS:
            names = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
            out.extend((action, n) for n in names)
        elif ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
            out.append(op)
        elif isinstance(ins.argval, types.CodeType):
            out.append(("code", tuple(_fingerprint(ins.argval))))
        elif isinstance(ins.argval, str) and "<locals>." in ins.argval:
            # a qualified name (a nested class's __qualname__): where it was compiled differs
            out.append((op, "str", ins.argval.rpartition("<locals>.")[2]))
        else:
            out.append((op, type(ins.argval).__name__, _constant(ins.argval)))
    return out


def _constant(value):
    """A constant's text; a frozenset's (``x in {"a", "b"}``) in sorted order, as the order a
    .pyc file holds depends on the hash seed of the process that wrote it."""
    if isinstance(value, frozenset):
        return "frozenset(" + ", ".join(sorted(map(_constant, value))) + ")"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_constant, value)) + ")"
    return repr(value)


def _compiled_like(func, source):
    """The code object ``source`` (the function's ``def``) compiles to in ``func``'s context:
    inside a function holding its closure's variables and a class named as the enclosing one,
    so cells and private names compile as they did. None if it cannot be found."""
    code = func.__code__
    parts = func.__qualname__.split(".")[:-1]
    cells = [n for n in code.co_freevars if n != "__class__"]
    # an enclosing function only where there are cells: names it binds (the function's own,
    # its class's) would otherwise become cells of code that reads them as globals
    outer = "def __transgrad_outer__():\n" + "".join(f"    {n} = None\n" for n in cells) \
        if cells else ""
    indent = "    " if cells else ""
    if parts and parts[-1] != "<locals>":
        wrapped = outer + f"{indent}class {parts[-1]}:\n" \
            + textwrap.indent(source, indent + "    ")
    else:
        wrapped = outer + (f"{indent}if True:\n" + textwrap.indent(source, indent + "    ")
                           if cells else source)
    flags = code.co_flags & _FUTURE_FLAGS
    try:
        module = compile(wrapped, func.__code__.co_filename, "exec", flags=flags,
                         dont_inherit=True)
    except SyntaxError:
        return None
    pending = [module]
    while pending:   # breadth first: the def itself before functions nested in it
        current = pending.pop(0)
        for const in current.co_consts:
            if isinstance(const, types.CodeType):
                if const.co_name == code.co_name and const is not module \
                        and current.co_name != code.co_name:
                    return const
                pending.append(const)
    return None


def check_current(func, source, filename):
    """Raise TransformError when the source read for ``func`` is not the code that runs: the
    file was edited after the function was defined (a notebook, autoreload)."""
    compiled = _compiled_like(func, source)
    if compiled is None or _fingerprint(compiled) == _fingerprint(func.__code__):
        return
    code = func.__code__
    raise TransformError(
        f"the source of {func.__qualname__} in {filename} is not the code that runs: the file "
        f"was changed after {func.__name__} was defined, and transgrad would differentiate "
        f"the file, not the function", filename=filename, lineno=code.co_firstlineno,
        hint="reload the module (importlib.reload) or run the cell that defines the function "
             "again, then take its derivative")


def check_callee_source(func, info, node):
    """Raise TransformError at the call ``node`` in ``info``'s function when the called
    Python function ``func`` has no readable source (defined by exec() or at a prompt): the
    call site is the line the user can change."""
    code = getattr(func, "__code__", None)
    if code is None or code.co_filename.startswith("<transgrad-"):
        return
    try:
        inspect.getsourcelines(code)
    except (OSError, TypeError):
        raise info.error(
            f"cannot differentiate the call of {func.__qualname__}: its source cannot be read "
            f"(it was defined in {code.co_filename}, line {code.co_firstlineno})", node,
            hint="define the function in a .py file (or a notebook cell) and import it, or "
                 "register a rule for it with @tg.defvjp") from None


def _mangle_private_names(func, tree):
    """``self.__w`` in a method of ``Layer`` means ``self._Layer__w``: Python mangles the name
    when it compiles the class, and the generated function, defined outside it, must read the
    same attribute."""
    parts = func.__qualname__.split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return
    owner = parts[-2].lstrip("_")
    if not owner:
        return
    for node in walk(tree):
        if isinstance(node, gast.Attribute) and node.attr.startswith("__") \
                and not node.attr.endswith("__"):
            node.attr = f"_{owner}{node.attr}"


def _specialize_wrapper(func, tree, namespace):
    """A decorator's ``def wrapper(*args, **kwargs)`` that uses ``args`` and ``kwargs`` only
    to pass them on (``2.0 * fn(*args, **kwargs)``) is rewritten with the wrapped function's
    parameters, so its own code is differentiated. False (nothing changed) when it cannot be:
    other parameters, other uses of ``args``/``kwargs``, or a wrapped function that has
    ``*args``/``**kwargs`` itself."""
    inner = func.__wrapped__
    args = tree.args
    if not inspect.isfunction(inner) or args.args or args.posonlyargs or args.kwonlyargs:
        return False
    code = inner.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return False
    n_pos = code.co_argcount
    positional = list(code.co_varnames[:n_pos])
    keyword_only = list(code.co_varnames[n_pos:n_pos + code.co_kwonlyargcount])
    star = args.vararg.id if args.vararg is not None else None
    stars = args.kwarg.id if args.kwarg is not None else None
    taken = {n.id for n in walk(tree) if isinstance(n, gast.Name)} - {star, stars}
    if taken & set(positional + keyword_only):
        return False   # a parameter name the wrapper uses for something else
    passes, uses = set(), 0
    for node in walk(tree):
        if isinstance(node, gast.Call):
            for a in node.args:
                if isinstance(a, gast.Starred) and isinstance(a.value, gast.Name) \
                        and a.value.id == star:
                    passes.add(id(a.value))
            for k in node.keywords:
                if k.arg is None and isinstance(k.value, gast.Name) and k.value.id == stars:
                    passes.add(id(k.value))
        if isinstance(node, gast.Name) and node.id in (star, stars) \
                and node is not args.vararg and node is not args.kwarg:
            uses += 1
            if id(node) not in passes:
                return False
    if star is None and positional or stars is None and keyword_only:
        return False

    def param(name):
        return gast.Name(id=name, ctx=gast.Param(), annotation=None, type_comment=None)

    def load(name):
        return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)

    def default(value):
        name = f"__transgrad_default_{id(value)}"
        namespace[name] = value
        return load(name)
    args.args = [param(n) for n in positional]
    args.defaults = [default(v) for v in (inner.__defaults__ or ())]
    args.kwonlyargs = [param(n) for n in keyword_only]
    kw_defaults = inner.__kwdefaults__ or {}
    args.kw_defaults = [default(kw_defaults[n]) if n in kw_defaults else None
                        for n in keyword_only]
    args.vararg = args.kwarg = None
    for node in walk(tree):
        if isinstance(node, gast.Call):
            new_args = []
            for a in node.args:
                if isinstance(a, gast.Starred) and isinstance(a.value, gast.Name) \
                        and a.value.id == star:
                    new_args.extend(load(n) for n in positional)
                else:
                    new_args.append(a)
            new_keywords = []
            for k in node.keywords:
                if k.arg is None and isinstance(k.value, gast.Name) and k.value.id == stars:
                    new_keywords.extend(gast.keyword(arg=n, value=load(n)) for n in keyword_only)
                else:
                    new_keywords.append(k)
            for new in new_args + [k.value for k in new_keywords]:
                if getattr(new, "lineno", None) is None:
                    gast.copy_location(new, node)
            node.args, node.keywords = new_args, new_keywords
    return True
