"""Read a Python function into a gast tree that remembers where it came from.

Line numbers in the returned tree are the line numbers of the user's file, so every error and
every ``# grad of line N`` comment points at the line the user wrote.
"""

import builtins
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import NamedTuple

import gast

from .errors import TransformError
from .ir import walk


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
    func = inspect.unwrap(func)
    from .rules.generated import check_source_differentiable
    check_source_differentiable(func, "derivative")   # a helper of generated code
    if not inspect.isfunction(func):
        raise TransformError(
            f"transgrad can only transform Python functions, not {type(func).__name__} "
            f"{func!r}",
            hint="pass a function defined with `def` in a .py file")
    code = func.__code__
    filename = code.co_filename
    try:
        lines, first_lineno = inspect.getsourcelines(func)
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
                 "supported)")
    lines_down, indent = first_lineno - 1, len(lines[0]) - len(lines[0].lstrip())
    for node in walk(module):   # positions in the user's file, not in the dedented snippet
        if getattr(node, "lineno", None) is not None:
            node.lineno += lines_down
            if getattr(node, "end_lineno", None) is not None:
                node.end_lineno += lines_down
        if getattr(node, "col_offset", None) is not None:
            node.col_offset += indent
    if moved:   # the (co)tangent is passed last by position, as the derivative takes it
        tree.args.args.append(tree.args.kwonlyargs.pop())
        tree.args.kw_defaults.pop()
    file_lines = _file_lines(filename, lines, first_lineno)
    return FunctionInfo(func=func, tree=tree, filename=filename, lines=file_lines,
                        namespace=_namespace(func), generated=filename.startswith("<transgrad-"))


class GeneratedCode(NamedTuple):
    """A derivative's generated function, to be transformed again; ``moved``: its last
    keyword-only parameter (the tangent or cotangent) is passed by position."""

    function: object
    moved: bool


def generated_code(func):
    """(function, moved): for a transgrad derivative, its generated function (the general
    code, for any argument kinds, unless ``func`` is a GeneratedCode for given kinds) and
    whether its last keyword-only parameter (the tangent or cotangent of ``tg.jvp``/``tg.vjp``)
    is passed by position; else ``(func, False)``."""
    from .api import GradientFunction
    if isinstance(func, GeneratedCode):
        return func.function, func.moved
    if not isinstance(func, GradientFunction):
        return func, False
    if func.backend != "numpy":
        raise TransformError(
            f"cannot differentiate {func!r}: derivatives of derivatives run on numpy",
            hint="differentiate the numpy derivative (backend='numpy') instead")
    return func._build(), func.mode in ("vjp", "jvp")


def _file_lines(filename, lines, first_lineno):
    import linecache
    all_lines = linecache.getlines(filename)
    if all_lines:
        return all_lines
    return [""] * (first_lineno - 1) + list(lines)
