"""Bind every non-local name to the Python object it refers to.

After this pass, ``np.sin``, ``numpy.sin`` and ``sin`` (from ``from numpy import sin``) all
carry ``node.resolved is numpy.sin``, so rules are found by object identity, never by spelling::

    x = np.sin(w)      # the Attribute node np.sin gets .resolved = numpy.sin

For example (``show`` prints a resolved name as the object it is bound to, whatever its spelling):

>>> from transgrad.passes.show import show
>>> print(show('''
... from numpy import sin as s
... import numpy
... def f(x):
...     return s(x) + numpy.cos(x)
... ''', through="resolve"))
def f(x):
    return np.sin(x) + np.cos(x)
"""

import ast
import inspect
import itertools
import types

import gast
import numpy as np

from ..binding import local_names, numpy_twin, resolve_body  # noqa: F401
from ..ir import walk
from ..rules import is_nondifferentiable, lookup_vjp


def resolve(info):
    """Annotate Name and Attribute loads of globals, closures and builtins with ``.resolved``."""
    info.local_names = local_names(info.tree)
    resolve_body(info.tree.body, info.namespace, info.local_names, info.error)
    defaults = [d for d in info.tree.args.defaults + info.tree.args.kw_defaults if d is not None]
    resolve_body([gast.Expr(value=d) for d in defaults], info.namespace, set(), info.error)
    if not info.generated:
        calls = [node for node in walk(info.tree) if isinstance(node, gast.Call)]
        for node in calls:
            _check_positional_out(node, info)
            if _called_object(getattr(node.func, "resolved", None)):
                # model(x) -> model.__call__(x): a method, differentiated from its source
                node.func = gast.Attribute(value=node.func, attr="__call__", ctx=gast.Load())
                resolve_body([gast.Expr(value=node.func)], info.namespace, info.local_names,
                             info.error)
    return info


_LIBRARIES = ("numpy", "scipy", "jax", "jaxlib", "torch", "transgrad")


def _called_object(obj):
    """Whether ``obj`` is an instance of a user's class with a Python ``__call__`` (a model
    called as ``model(x)``) that no derivative rule covers."""
    if obj is None or isinstance(obj, type) or inspect.isroutine(obj):
        return False
    cls = type(obj)
    if not isinstance(inspect.getattr_static(cls, "__call__", None), types.FunctionType) \
            or (getattr(cls, "__module__", "") or "").split(".")[0] in _LIBRARIES:
        return False
    return lookup_vjp(obj) is None and not is_nondifferentiable(obj)


_OUT_POSITION = {}   # numpy callable -> index of its `out` parameter (None: it has none)


def _out_position(func):
    """The position at which ``func`` takes an output array: a ufunc's ``nin``, the index of an
    ``out`` parameter of another numpy function (``np.dot(a, b, out)``), else None."""
    try:
        return _OUT_POSITION[func]
    except (KeyError, TypeError):
        pass
    position = None
    if isinstance(func, np.ufunc):
        position = func.nin
    elif not (isinstance(getattr(func, "__module__", None), str)
              and func.__module__.startswith("numpy")):
        return None   # not remembered: the table must not keep user functions alive
    else:
        try:
            params = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):
            params = None
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = _doc_positional_names(func) if params is None else [
            p.name for p in itertools.takewhile(lambda p: p.kind in positional, params)]
        if "out" in names:   # np.einsum(*operands, out=None): `out` only by keyword
            position = names.index("out")
    try:
        _OUT_POSITION[func] = position
    except TypeError:
        pass
    return position


def _doc_positional_names(func):
    """The positional parameters a C function's docstring shows, ``dot(a, b, out=None)``: numpy
    < 2.3 (the newest for Python 3.10) gives ``np.dot`` and ``np.concatenate`` no signature."""
    doc = (getattr(func, "__doc__", None) or "").lstrip()
    if not doc.startswith(f"{getattr(func, '__name__', '')}("):
        return []
    names, depth, item = [], 0, ""
    for char in doc[doc.index("(") + 1:]:
        if depth == 0 and char in ",)":
            item = item.strip().split("=")[0].strip()
            if item.startswith("*"):
                break
            if item != "/":
                names.append(item)
            if char == ")":
                break
            item = ""
            continue
        depth += (char in "([{") - (char in ")]}")
        item += char
    return names


def _check_positional_out(node, info):
    """``np.multiply(y, 3.0, y)`` writes into ``y`` like ``out=y``: refused the same way."""
    func = getattr(node.func, "resolved", None)
    if func is None or not callable(func):
        return
    position = _out_position(func)
    if position is None or len(node.args) <= position:
        return
    out = node.args[position]
    if isinstance(out, gast.Constant) and out.value is None:
        return      # np.ptp(x, 0, None, True): no output array
    inputs = ", ".join(_text(a) for a in node.args[:position])
    name = _text(node.func)
    raise info.error(f"`{name}(...)` gets an output array by position (`{_text(out)}`): it "
                     "writes into an existing array, which transgrad does not differentiate",
                     node, hint=f"assign the result instead: write "
                                f"`{_text(out)} = {name}({inputs})`")


def _text(node):
    return ast.unparse(gast.gast_to_ast(node))
