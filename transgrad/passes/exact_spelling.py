"""Cheaper spellings of numpy calls on values the call-time rewrite (``exact.py``) knows.

numpy's module functions dispatch in Python before they reach the array's method: on the
small arrays of GradBench's objectives ``np.sum(a, axis=0)`` takes about 3 us where
``a.sum(axis=0)`` takes 1.5, ``np.transpose(a)`` 0.6 us where ``a.T`` takes 0.1, and
``np.broadcast_to(1.0, (12,))`` 3.5 us where ``np.full((12,), 1.0)`` takes 1-2. Where the
operand is known to be exactly a float64 ndarray (or a bool one summed; a float64 number for
``np.full``), the rewrite spells the call the cheaper way; the result is the same array of
values (a full array in place of a read-only broadcast view, which generated code never
writes into).
"""

import gast
import numpy as np

from ..ir import clone
from .exact_values import ARANGE, BOOL, F64, FLOAT, UNKNOWN, summed

_METHODS = {np.sum: "sum", np.mean: "mean", np.max: "max", np.amax: "max", np.min: "min",
            np.amin: "min", np.prod: "prod"}
_SPELLED = tuple(_METHODS) + (np.transpose, np.broadcast_to)


def spelled(obj):
    """Whether ``cheaper`` may spell a call of ``obj`` (by identity: a user's callable object
    need not be hashable)."""
    return any(obj is f for f in _SPELLED)


_FULL_AT_MOST = 4096   # a larger broadcast stays a view: filling it would cost more


def cheaper(exact, node, obj):
    """The cheaper spelling of call ``node`` of ``obj`` (a resolved numpy function), or None."""
    args = node.args
    if not args or not spelled(obj) or any(a.__class__ is gast.Starred for a in args):
        return None
    if obj in _METHODS and len(args) <= 2:   # np.sum(q, 1) -> q.sum(axis=1)
        keywords = node.keywords + [gast.keyword(arg="axis", value=a) for a in args[1:]]
        value = exact.value(args[0])
        if not (_f64_array(exact, args[0]) or obj is np.sum and value is not None
                and value.array and value.dtype is BOOL) \
                or summed(value, keywords, ARANGE) is None:
            return None
        return _method(args[0], _METHODS[obj], keywords)
    if obj is np.transpose and not node.keywords and (
            len(args) == 1 or len(args) == 2 and exact.static(args[1]) is None):
        if not _f64_array(exact, args[0]) or len(exact.value(args[0]).shape) > 2:
            return None   # (``.T`` of more axes: batch_rows keeps np.transpose's)
        return gast.Attribute(value=clone(args[0]), attr="T", ctx=gast.Load())
    if obj is np.broadcast_to and len(args) == 2 and not node.keywords:
        value, shape = exact.value(args[0]), exact.static(args[1])
        shape = (shape,) if type(shape) is int else shape
        if value is None or value.shape != () or value.array \
                or not (value.dtype is F64 or value.dtype is FLOAT) \
                or shape is UNKNOWN or type(shape) is not tuple \
                or not all(type(n) is int and n >= 0 for n in shape) \
                or int(np.prod(shape)) > _FULL_AT_MOST:
            return None
        full = gast.Attribute(value=gast.Name(id="np", ctx=gast.Load(), annotation=None,
                                              type_comment=None), attr="full", ctx=gast.Load())
        full.resolved = np.full
        dims = gast.Tuple(elts=[gast.Constant(value=n, kind=None) for n in shape],
                          ctx=gast.Load())
        return gast.Call(func=full, args=[dims, clone(args[0])], keywords=[])
    return None


def _f64_array(exact, node):
    value = exact.value(node)
    return value is not None and value.array and value.dtype is F64 and value.items is None


def _method(operand, method, keywords):
    return gast.Call(func=gast.Attribute(value=clone(operand), attr=method, ctx=gast.Load()),
                     args=[], keywords=[gast.keyword(arg=k.arg, value=clone(k.value))
                                        for k in keywords])
