"""Rules for building Python containers in differentiated code (``values.append(v)``)."""

import numpy as np

from .. import runtime
from .. import runtime as tgr
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


@vjp(runtime.append, linear=True, jointly_linear=(0, 1), samples=[Sample(([A(3), A(3)], A(3)))])
def append(g, ans, values, value):
    """The cotangent of the longer list: all but the last entry go to ``values``."""
    return g[:-1], g[-1]
