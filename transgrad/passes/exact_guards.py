"""What code made for exact shapes assumes of a call's arguments, and the guards at its head
(part of the call-time rewrite, ``exact.py``).

``argument_values`` says what the shapes and dtypes of the arguments fix (their ``Value``s).
Code made for the exact shapes of a call also assumes what the shapes alone do not fix: the
values of int arguments that fix shapes (``np.zeros((n + 3, 3))``), and the shapes of float64
arrays the function reads from its namespace (a closure's data: ``lambda cs: costfun(points,
cs)``). A rebinding of such a name builds the code again (``build_cache.Watched``); what is
left is checked at the head of the code, which hands other calls to the code made before:
``if n != 22: return tgr_other_ints(...)``, ``if points.shape != (1000, 8) or points.dtype !=
np.float64: return tgr_other_arrays(...)``.
"""

import weakref

import gast
import numpy as np

from ..codegen import compile_function
from .exact_facts import facts_of
from .exact_values import F64, PY_FLOAT, PY_INT, Count, Value


def argument_values(args, counts=False):
    """``Value``s of positional arguments that are float64 arrays, float64 scalars or Python
    numbers (None for others): what the rewrite may assume about a call whose arguments have these exact
    shapes and dtypes. ``counts``: a Python int argument is the ``Count`` it holds (code
    rewritten so is valid only for those ints)."""
    values = []
    for a in args:
        if type(a) is np.ndarray:
            values.append(Value(a.shape, F64 if a.dtype == F64 else None, True, False))
        elif type(a) is float:
            values.append(PY_FLOAT)
        elif type(a) is np.float64:   # a float64 scalar, as np.sum of an array gives
            values.append(Value((), F64, False, False))
        elif type(a) is int:
            values.append(Count(a) if counts else PY_INT)
        else:
            values.append(None)
    return values


def namespace_arrays(fn, namespace):
    """The float64 arrays ``fn`` reads from its namespace (data a closure or a module holds,
    as ``lambda cs: costfun(points, cs)``): their names."""
    local = facts_of(fn).local
    return tuple(sorted({
        node.id for node in gast.walk(fn)
        if node.__class__ is gast.Name and node.id not in local
        and type(namespace.get(node.id)) is np.ndarray
        and namespace[node.id].dtype == np.float64}))


def guarded(fn, arrays, generated, **names):
    """(callable, source) of ``fn``, which hands calls to ``generated`` where an array of
    ``arrays`` (name -> shape it was made for) now has another shape or dtype."""
    if arrays:
        test = " or ".join(f"{name}.shape != {shape!r} or {name}.dtype != np.float64"
                           for name, shape in arrays.items())
        fn.body[:0] = gast.parse(f"if {test}:\n    return tgr_other_arrays("
                                 f"{passed(fn)})\n").body
        names["tgr_other_arrays"] = Fallback(generated)
    return compile_function(fn, dict(generated.__globals__, **names), fn.name)


class Fallback:
    """The general code a guard hands a call to, held weakly: that code keeps the code made
    for exact shapes (``exact_variants``), so a strong reference back would be a cycle, which
    frees a dropped closure's derivatives only when the collector runs (codegen keeps
    generated code out of cycles for that reason)."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = weakref.ref(function)

    def __call__(self, *args, **kwargs):
        return self.function()(*args, **kwargs)


def other_ints_guard(fn, ints):
    """``if n != 22: return tgr_other_ints(<fn's parameters>)``: code made for the int
    arguments ``ints`` (name -> value) hands other values to ``tgr_other_ints``."""
    test = " or ".join(f"{name} != {value!r}" for name, value in ints.items())
    return gast.parse(f"if {test}:\n    return tgr_other_ints({passed(fn)})\n").body


def passed(fn):
    """``fn``'s parameters as a call passes them on (``x, *rest, k=k``)."""
    params = fn.args
    names = [p.id for p in params.args]
    names += [f"*{params.vararg.id}"] if params.vararg else []
    names += [f"{p.id}={p.id}" for p in params.kwonlyargs]
    names += [f"**{params.kwarg.id}"] if params.kwarg else []
    return ", ".join(names)
