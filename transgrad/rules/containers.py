"""Rules for building Python containers in differentiated code (``values.append(v)``)."""

import numpy as np

from .. import runtime
from .. import runtime as tgr
from ..runtime import unbroadcast
from .registry import Sample, helper, vjp
from .specs import A


@vjp(runtime.copy_of, linear=(0,), method="copy",
     samples=[Sample((A(3, 2),)), Sample(([A(3), A(3)],))])
def copy_of(g, ans, x):
    """``x.copy()`` of an array or a list: the cotangent passes through (a one-tuple: a
    list's cotangent may itself be a sequence)."""
    return (g,)


@vjp(list, tuple, linear=(0,), samples=[Sample(([A(3), A(3)],)), Sample((A(2, 3),))])
def list_copy(g, ans, iterable):
    """``list(a)``, ``tuple(a)``: the same elements (an array's rows), the same cotangent."""
    return (tgr.list_vjp(g, iterable),)


@helper(linear=(0,))
def list_vjp(g, iterable):
    """Cotangent of ``iterable`` in ``list(iterable)``: the list's own for a list or tuple,
    its entries stacked into the array's shape for an array (a list of its rows)."""
    if isinstance(iterable, (list, tuple)) or not isinstance(g, (list, tuple)):
        return g
    return np.stack(g)


@vjp(runtime.append, linear=True, jointly_linear=(0, 1), splits=True,
     samples=[Sample(([A(3), A(3)], A(3)))])
def append(g, ans, values, value):
    """The cotangent of the longer list: all but the last entry go to ``values`` (views of
    ``g``: a loop that appends gets its list's cotangent back without a copy per step)."""
    return g[:-1], g[-1]


@helper
def add_or_concatenate(a, b):
    """``a + b`` where one operand is a list or tuple display (``a + [v]``): Python's ``+``,
    which concatenates two sequences and adds arrays (``x + [1.0, b]`` broadcasts; the list
    made an array first, as JAX wants)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return a + b
    return np.asarray(a) + np.asarray(b)


@helper(linear=(0,))
def plus_cotangents(g, a, b):
    """The cotangents of ``a`` and ``b`` in ``a + b``: the two parts of the longer sequence
    when both are lists or tuples, else ``g`` summed over the axes each broadcast."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return g[:len(a)], g[len(a):]
    return unbroadcast(g, np.shape(a)), unbroadcast(g, np.shape(b))


@vjp(add_or_concatenate, jointly_linear=(0, 1),
     samples=[Sample(([A(3), A(3)], [A(3)])), Sample(((A(2), A(2)), (A(2),)))])
def add_or_concatenate_rule(g, ans, a, b):
    parts = tgr.plus_cotangents(g, a, b)
    return parts[0], parts[1]
