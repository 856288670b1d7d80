"""Seeing a derivative: the original function and its generated derivative side by side.

A derivative (``tg.grad``, ``tg.value_and_grad``, ``tg.vjp``, ``tg.jvp`` and the functions of
``transgrad.higher``) renders itself in a notebook through ``_repr_html_``, which calls
``html`` here; ``page``/``write`` make the same view a standalone page
(``python -m transgrad show FILE.py:FUNC --html OUT.html``). A ``TransformError`` renders the
same way, its offending line highlighted in its function.

The view has one tab per piece of generated code that can be told apart:

* **exact shapes**: the code the last call ran, made for its arguments' exact shapes;
* **ranks**: the code for the argument ranks (and Python numbers) of the last call;
* **general**: the code for any argument kinds (what ``.source`` shows before a call);
* **JAX**: the same derivative built with ``backend="jax"`` (only where JAX imports);
* one tab per user function the derivative calls: the halves transgrad generated for it.

Each ``# grad of line N`` block of the generated code is linked to line N of the original:
hovering either side highlights both, a click pins them. Rendering is in ``view_html``.
"""

import importlib.util
import inspect
import linecache
import os
from dataclasses import dataclass

from . import view_html
from .errors import TransformError
from .view_links import forward_lines, primal_lines

_GENERAL = (None, (), ())   # the variant key of the general code (see GradientFunction._build)


@dataclass
class Code:
    """Source shown in one pane: its text, the line number of its first line, a header."""

    text: str
    first_line: int = 1
    label: str = ""
    bad_line: int = None     # for errors: the line to highlight, and its column
    bad_col: int = None

    def __post_init__(self):
        self.text = self.text.rstrip("\n") + "\n"


@dataclass
class Panel:
    """One tab: an original, the derivative generated from it, a note saying what it is
    (or the TransformError that stopped it being built)."""

    label: str
    original: Code = None
    derivative: Code = None
    note: str = ""
    error: TransformError = None
    function: object = None      # the generated callable shown, whose callees are looked up
    primal: dict = None          # {0-based derivative line: original line} of the forward sweep
    error_code: Code = None      # the function holding the error's line, that line marked

    def __post_init__(self):
        if self.error is not None and self.error_code is None:
            self.error_code = error_code(self.error)


# --- public entry points --------------------------------------------------------------------

def html(obj, jax=None):
    """The notebook HTML of a derivative (or of a TransformError).

    ``jax``: include the JAX tab (None: when JAX imports; it is built on first view)."""
    if isinstance(obj, TransformError):
        return error_html(obj)
    name = getattr(obj, "__name__", type(obj).__name__)
    try:
        title, subtitle, panels = collect(obj, jax)
    except TransformError as error:
        return error_html(error, f"{name}: transgrad cannot build this derivative")
    return view_html.view_html(title, panels, subtitle)


def page(obj, jax=None, title=None):
    """The view as one standalone HTML page (inline CSS and JS; no network)."""
    name = title or f"transgrad: {getattr(obj, '__name__', type(obj).__name__)}"
    return view_html.page(html(obj, jax), name)


def write(obj, path, jax=None):
    """Write ``page(obj)`` to ``path``; returns the path."""
    with open(path, "w", encoding="utf-8") as file:
        file.write(page(obj, jax))
    return path


def error_html(error, title=None):
    """The notebook HTML of a TransformError: message, its line in its function, the hint."""
    return view_html.error_html(error, title or "TransformError", error_code(error))


# --- what a derivative holds ----------------------------------------------------------------

def collect(obj, jax=None):
    """(title, subtitle, panels) for a derivative object."""
    from .api import GradientFunction
    from .higher import _Derived
    if isinstance(obj, GradientFunction):
        return _title(obj), "", derivative_panels(obj, jax)
    if isinstance(obj, _Derived):
        inners = obj._derivatives()
        inner = obj._last or inners[0]
        panels = []
        for each in inners:   # tg.jacfwd with a tuple wrt: one JVP per argument
            names = ", ".join(_name(_params(each.func), i) for i in each.wrt_indices)
            panels += derivative_panels(each, jax, prefix=f"{each.mode}: " if len(inners) == 1
                                        else f"{each.mode} ({names}): ")
        subtitle = (f"The code it runs: the generated {inner.mode.upper()} {inner.__name__} "
                    f"(tabs '{inner.mode}: ...')"
                    + (f", the forward derivative of the generated gradient "
                       f"{obj.grad.__name__} (tabs 'grad: ...')" if hasattr(obj, "grad")
                       else "") + ".")
        if isinstance(getattr(obj, "grad", None), GradientFunction):
            panels += derivative_panels(obj.grad, False, prefix="grad: ")
        return _title(obj), subtitle, _unique(panels)
    raise TypeError(f"{obj!r} is not a transgrad derivative")


def _title(obj):
    doc = (obj.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    return f"{obj.__name__}: {doc}" if doc else obj.__name__


def derivative_panels(d, jax=None, prefix=""):
    """The tabs of a GradientFunction: exact, rank and general code, JAX, called functions."""
    from .api import build
    if d.backend != "numpy":
        prefix += f"{d.backend.upper()} "
    panels = []
    found = _last_call(d)
    key = found[1] if found else _GENERAL
    if found:
        unrolled, key, variant, shapes = found
        rank_primal = primal_lines(variant)
        if shapes is not None:
            exact = d.last_variant().code
            panels.append(Panel(
                prefix + "exact shapes", _original(d, key), _generated(exact),
                f"The code the last call ran, made for exactly these arguments: "
                f"{_describe_shapes(d, shapes)}. It runs without run-time shape checks.",
                function=exact[0], primal=primal_lines(exact, (variant[1], rank_primal))))
        if key != _GENERAL or unrolled:
            panels.append(Panel(
                prefix + ("ranks" + (" (loops unrolled)" if unrolled else "")),
                _original(d, key), _generated(variant),
                f"The code for arguments of these kinds: {_describe_key(d, key)}; it runs for "
                "any shapes of those ranks, deciding at run time what only shapes tell.",
                function=variant[0], primal=rank_primal))
    note = ("The code for any kinds of arguments (what .source shows before the first call): "
            "what ranks decide is decided at run time.")
    try:
        general = build(d.func, d.wrt_indices, d.single, d.mode, (), (), (), d.backend,
                        d.loops)
    except TransformError as error:
        if not panels:
            raise
        # code for the last call's kinds exists (a method found from an argument's class...)
        panels.append(Panel(prefix + "general", note=note, error=error))
    else:
        panels.append(Panel(prefix + "general", _original(d, _GENERAL), _generated(general),
                            note, function=general[0], primal=primal_lines(general)))
    if d.mode == "jvp":   # forward mode keeps neither comments nor a tree: borrow links
        for panel, kinds in zip(panels, ([key] if found else []) + [_GENERAL]):
            if panel.derivative is not None:
                panel.primal = forward_lines(d, kinds, panel.derivative.text)
    panels = _unique(panels)
    if d.backend == "numpy" and _want_jax(jax):
        # the numpy code for the same kinds: the rank code, else the general code
        basis = [p for p in panels if p.derivative is not None
                 and not p.label.endswith("exact shapes")]
        like = (basis[0].derivative.text, basis[0].primal or {}) if basis else None
        panels.append(_jax_panel(d, key, prefix, like))   # kept even where its text is the same
    panels += [_callee_panel(c, prefix) for c in _callees(p.function for p in panels)]
    return panels


def _want_jax(jax):
    if jax is not None:
        return jax
    return importlib.util.find_spec("jax") is not None


def _jax_panel(d, key, prefix, like):
    from .api import build
    pattern, classes, param_ranks = key
    scalars = () if pattern is None else tuple(i for i, s in enumerate(pattern) if s)
    note = ("The same derivative generated on jax.numpy (backend='jax') for these kinds of "
            "arguments: it composes with jax.jit and jax.vmap, its loops become jax.lax.scan "
            "where they fit.")
    try:
        generated = build(d.func, d.wrt_indices, d.single, d.mode, scalars, classes,
                          param_ranks, "jax", "scan")
    except TransformError as error:
        return Panel(prefix + "JAX", note="backend='jax' cannot build this derivative:",
                     error=error)
    except Exception as error:   # noqa: BLE001  (JAX missing pieces, shown rather than raised)
        return Panel(prefix + "JAX", note="backend='jax' cannot build this derivative:",
                     error=TransformError(f"{type(error).__name__}: {error}"))
    return Panel(prefix + "JAX", _original(d, key), _generated(generated), note,
                 function=generated[0], primal=primal_lines(generated, like))


def _last_call(d):
    """(whether the loops="unroll" twin built it, its variant key, the code for those kinds,
    the exact shapes or None) of the code ``d`` last ran, or None before any."""
    last = d.last_variant()
    if last is None:
        return None
    return last.unrolled, last.kinds, last.base, last.shapes


def _unique(panels):
    """Drop tabs whose generated code an earlier tab already shows."""
    seen, out = set(), []
    for panel in panels:
        text = panel.derivative.text if panel.derivative is not None else None
        if text is not None and text in seen:
            continue
        if text is not None:
            seen.add(text)
        out.append(panel)
    return out


def _generated(variant):
    fn, source = variant
    name = getattr(getattr(fn, "__code__", None), "co_filename", "")
    return Code(source, 1, f"generated: {fn.__name__}" + (f"  ({name})" if name else ""))


def _params(func):
    try:
        return list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return []


def _name(params, i):
    return params[i] if i < len(params) else f"argument {i}"


def _describe_shapes(d, shapes):
    params = _params(d.func)
    parts = []
    for i, entry in enumerate(shapes):
        if isinstance(entry, tuple):
            shape, dtype = entry
            parts.append(f"{_name(params, i)} {tuple(shape)} {dtype}")
        else:
            parts.append(f"{_name(params, i)}: {getattr(entry, '__name__', entry)}")
    return ", ".join(parts)


def _describe_key(d, key):
    pattern, classes, param_ranks = key
    params = _params(d.func)
    parts = []
    numbers = {i for i, s in enumerate(pattern or ()) if s}
    for i, ndim in param_ranks:
        parts.append(f"{_name(params, i)} " + ("a Python number" if i in numbers
                                               else f"{ndim}-d"))
    parts += [f"{_name(params, i)} a {cls.__name__}" for i, cls in classes]
    return ", ".join(parts) or "any"


# --- originals --------------------------------------------------------------------------------

def _short(filename):
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def source_code(func):
    """A Code of ``func``'s source, numbered as in its file."""
    func = inspect.unwrap(func)
    name = getattr(func, "__qualname__", repr(func))
    try:
        lines, first = inspect.getsourcelines(func)
        filename = inspect.getsourcefile(func) or func.__code__.co_filename
    except (OSError, TypeError):
        return Code(f"# the source of {name} cannot be read", 1, name)
    return Code("".join(lines), max(first, 1), f"{name}  ·  {_short(filename)}")


def _original(d, key):
    """The code ``d``'s variant ``key`` differentiates: the user's function, or, for a
    derivative of a derivative, the generated code of the inner one for the same kinds."""
    from .api import GradientFunction, build
    func = d.func
    if isinstance(func, GradientFunction):
        pattern, classes, param_ranks = key
        scalars = () if pattern is None else tuple(i for i, s in enumerate(pattern) if s)
        inner = build(func.func, func.wrt_indices, func.single, func.mode, scalars, classes,
                      param_ranks)[0]
        code = source_code(inner)
        code.label = f"{inner.__name__} (the generated {func.mode} it differentiates)"
        return code
    return source_code(func)


# --- called user functions ------------------------------------------------------------------

def _callees(functions):
    """The SplitVJP and ForwardFunction holders the generated functions call, transitively."""
    from .api import ForwardFunction, SplitVJP
    seen, found, todo = set(), [], [f for f in functions if f is not None]
    while todo:
        fn = todo.pop(0)
        for value in list(getattr(fn, "__globals__", {}).values()):
            if isinstance(value, (SplitVJP, ForwardFunction)) and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
                todo += [f for f in (getattr(value, "fwd", None), getattr(value, "bwd", None),
                                     getattr(value, "fn", None)) if f is not None]
    return found


def _callee_panel(holder, prefix):
    from .api import SplitVJP
    func = holder.func
    params = _params(func)
    wrt = ", ".join(_name(params, i) for i in holder.wrt) or "none"
    backend = " · JAX" if "jnp." in holder.source else ""
    name = getattr(func, "__name__", "f")
    if isinstance(holder, SplitVJP):
        note = (f"{name} is called by the derivative, which calls the two halves transgrad "
                f"generated for it: {name}_fwd runs it and returns its value and what the "
                f"adjoint needs (the tape); {name}_bwd takes the tape and the gradient of the "
                f"value and returns the gradients of {wrt}.")
    else:
        note = (f"{name} is called by the derivative, which calls the forward derivative "
                f"transgrad generated for it: its value and tangent, in the directions of {wrt}.")
    called = "called"
    if holder.__dict__.get("exact_half") is not None:   # a copy made for a call's shapes
        called = "called, for these shapes"
        note += (f" This copy's {holder.__dict__['exact_half']} half was made for the shapes"
                 " of the call in the exact-shape code.")
    if not holder.source:
        return Panel(f"{prefix}{name} ({called}){backend}", note=note, error=TransformError(
            f"the derivative of {name} is still being built (a recursive call)"))
    return Panel(f"{prefix}{name} ({called}){backend}", source_code(func),
                 Code(holder.source, 1, f"generated for calls of {name}"), note,
                 primal=_callee_lines(holder, "jnp." in holder.source))


def _callee_lines(holder, jax):
    """Links for the code generated for a called function: its forward (or tangent) part by
    the reverse build of that function (general kinds), as for ``tg.jvp`` code."""
    from types import SimpleNamespace
    stand_in = SimpleNamespace(func=holder.func, wrt_indices=tuple(holder.wrt), single=False,
                               backend="jax" if jax else "numpy", loops="scan")
    try:
        return forward_lines(stand_in, _GENERAL, holder.source)
    except Exception:   # noqa: BLE001  (links are a convenience)
        return {}


# --- errors -----------------------------------------------------------------------------------

def error_code(error, context=40):
    """A Code of the function holding an error's line (at most ``context`` lines either side
    of it), that line marked; None when the error points at no readable line."""
    import ast
    filename, lineno = error.filename, error.lineno
    if not filename or not lineno:
        return None
    lines = linecache.getlines(filename)
    if not lines or lineno > len(lines):
        if not error.source_line:
            return None
        return Code(error.source_line, lineno, _short(filename), lineno, error.col_offset)
    start, end = max(lineno - 3, 1), min(lineno + 3, len(lines))
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        tree = None
    outer = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.lineno <= lineno <= node.end_lineno \
                and (outer is None or node.lineno < outer.lineno):
            outer = node
    if outer is not None:
        start = min([outer.lineno] + [d.lineno for d in outer.decorator_list])
        end = outer.end_lineno
    start, end = max(start, lineno - context), min(end, lineno + context)
    label = _short(filename) + (f"  ·  {outer.name}" if outer is not None else "")
    return Code("".join(lines[start - 1:end]), start, label, lineno, error.col_offset)
