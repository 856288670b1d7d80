"""What a call of a user function does to memory, read from the function's own source.

``passes/aliasing.py`` asks this for each call of a user function: which parameters the
result may share (``h(a, n)`` returning ``a`` only when ``n <= 0`` returns a new array when
called as ``h(y, 2)``: the analysis runs for the call's numbers and constants), whether it
is a number, and which arguments the function updates in place (the caller must not read
them afterwards as if they had not changed)::

    def bump(a):
        a += 1.0            # bump(y) changes the caller's y
        return a * 2.0
"""

import inspect

import gast

from .. import ir


class _Summary:
    """What a call of a user function does to memory, from its source: the parameters its
    result may share (``shares``), whether the result is a number, per position of a tuple
    result whether it is a number (``items``), and the parameters it updates in place
    (``mutates``: parameter -> line)."""

    __slots__ = ("shares", "number", "items", "mutates")

    def __init__(self, shares, number, items, mutates):
        self.shares, self.number, self.items, self.mutates = shares, number, items, mutates


_SUMMARIES = {}   # (code, numbers, constants, ranks of the parameters) -> _Summary or None
_TREES = {}       # code -> (info, normalized tree), or None where it cannot be read
_LIMIT = 4096     # entries kept before the caches start over (programs with many helpers)
_DEPTH = [0]      # summaries being made, one inside another (recursion with constants)


def bind_call(func, prim):
    """Parameter name -> the argument node of this call (defaults that are numbers too), or
    None when it cannot be told (``*args``, not a plain function)."""
    if not inspect.isfunction(func) or getattr(func, "__code__", None) is None \
            or any(isinstance(a, gast.Starred) for a in prim.args) or None in prim.kwargs:
        return None
    try:
        signature = inspect.signature(func, follow_wrapped=False)
        bound = signature.bind_partial(*prim.args, **prim.kwargs)
    except (TypeError, ValueError):
        return None
    params = signature.parameters
    if any(params[p].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
           for p in bound.arguments):
        return None
    passed = dict(bound.arguments)
    for name, param in params.items():
        if name not in passed and type(param.default) in (int, float, bool):
            passed[name] = gast.Constant(value=param.default, kind=None)
    return passed


def summary(func, numbers, constants, analyse, ranks=()):
    """The _Summary of calling ``func`` with the parameters ``numbers`` holding numbers and
    ``constants`` (pairs) known; None when unsure (unreadable, or recursing without an end
    the constants show). ``ranks``: (parameter, ndim) pairs the caller knows.
    ``analyse(info, tree, numbers, constants, ranks)`` runs the analysis."""
    key = (func.__code__, numbers, constants, ranks)
    if key in _SUMMARIES:
        return _SUMMARIES[key]
    if len(_SUMMARIES) > _LIMIT:
        _SUMMARIES.clear()
    if _DEPTH[0] > 32:
        return None
    _SUMMARIES[key] = None   # while it is analysed (recursion): unsure
    _DEPTH[0] += 1
    try:
        info, tree = _normalized(func)
        found = _summarize(analyse(info, tree, numbers, dict(constants), dict(ranks)), tree)
    except Exception:   # noqa: BLE001 - unreadable or unsupported: stay conservative
        found = None
    finally:
        _DEPTH[0] -= 1
    _SUMMARIES[key] = found
    return found


def _normalized(func):
    code = func.__code__
    if code not in _TREES:
        if len(_TREES) > _LIMIT:
            _TREES.clear()
        from ..naming import GLOBAL_MODULES, Namer
        from ..parse import parse_function
        from .fence import fence
        from .normalize import normalize
        from .resolve import resolve
        _TREES[code] = None
        info = parse_function(func)
        fence(info)
        resolve(info)
        _TREES[code] = info, normalize(info, Namer.for_tree(info.tree, reserved=GLOBAL_MODULES))
    if _TREES[code] is None:
        raise ValueError("unreadable")
    return _TREES[code]


def _summarize(analysis, tree):
    params = {a.id for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    ret = tree.body[-1]
    state = analysis.before.get(id(ret))
    if not isinstance(ret, gast.Return) or state is None:
        return None
    value = ret.value
    elts = value.elts if isinstance(value, gast.Tuple) else [] if value is None else [value]
    kinds, shares = [], set()
    for elt in elts:
        kinds.append(isinstance(elt, gast.Constant)
                     or isinstance(elt, gast.Name) and elt.id in state.numbers)
        for name in ir.operand_names(elt):
            if name not in state.numbers:
                shared, holders, items = state.related(name)
                shares |= ({name} | shared | holders | items) & params
    if isinstance(value, gast.Tuple):
        number, items = False, tuple(kinds)
    else:
        number = value is None or kinds[0]
        items = state.tuples.get(value.id) if isinstance(value, gast.Name) else None
    mutates = {}
    for stmt, name, kind, is_list in analysis.pending:
        before = analysis.before.get(id(stmt))
        if before is None:
            continue
        shared, holders, items_of = before.related(name)
        for param in ({name} | shared | holders | (set() if is_list else items_of)) & params:
            mutates.setdefault(param, getattr(getattr(stmt, "origin", None), "lineno", "?"))
    return _Summary(frozenset(shares), number, items, mutates)
