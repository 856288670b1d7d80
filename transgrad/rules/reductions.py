"""Rules for reductions (sum, mean, max, ...) with ``axis`` and ``keepdims``.

A reduction's cotangent has the reduced shape; ``tgr.expand_reduced`` puts the reduced axes
back (as length 1) so it broadcasts against the input. With ``keepdims=True`` or
``axis=None`` it already does.
"""

import numpy as np

from .. import runtime as tgr
from .registry import Sample, vjp
from .specs import A, P

_REDUCE = [Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 0}),
           Sample((A(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
           Sample((A(2, 3),), {"axis": -1})]
# exact ties: two maxima in row 0, two minima in row 1, to pin the tie convention
_TIED = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, -1.0, 2.0, -1.0], [0.1, 0.2, 0.3, 0.4]])
_EXTREMA = _REDUCE + [Sample((_TIED,), {"axis": 1}), Sample((_TIED[:1],))]


@vjp(np.sum, samples=_REDUCE)
def sum(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    if axis is None or keepdims:
        full = g
    else:
        full = tgr.expand_reduced(g, a, axis)
    return np.broadcast_to(full, np.shape(a))


@vjp(np.mean, samples=_REDUCE + [Sample((A(0),)), Sample((A(2, 0),), {"axis": 1})])
def mean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """An empty ``a`` (numpy's mean: nan) has an empty cotangent, not a division by zero."""
    if axis is None:
        share = g / max(np.size(a), 1)
    elif keepdims:
        share = g / max(tgr.reduced_count(a, axis), 1)
    else:
        share = tgr.expand_reduced(g, a, axis) / max(tgr.reduced_count(a, axis), 1)
    return np.broadcast_to(share, np.shape(a))


@vjp(np.prod, samples=_REDUCE + [Sample((np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]]),),
                                         {"axis": 1})])
def prod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """Exact also where ``a`` has zeros (the product of the other elements)."""
    return tgr.prod_vjp(g, ans, a, axis, keepdims)


# max and min have the same rule (the elements equal to the answer share g), declared twice
# because a rule's primitives must be aliases of one function

@vjp(np.max, np.amax, samples=_EXTREMA)
def amax(g, ans, a, axis=None, out=None, keepdims=False):
    """Ties split the cotangent equally among the maxima (JAX's convention)."""
    if axis is None or keepdims:
        full_g, full_ans = g, ans
    else:
        full_g, full_ans = tgr.expand_reduced(g, a, axis), tgr.expand_reduced(ans, a, axis)
    at_extremum = a == full_ans
    return full_g * at_extremum / np.sum(at_extremum, axis=axis, keepdims=True)


@vjp(np.min, np.amin, samples=_EXTREMA)
def amin(g, ans, a, axis=None, out=None, keepdims=False):
    """Ties split the cotangent equally among the minima (JAX's convention)."""
    if axis is None or keepdims:
        full_g, full_ans = g, ans
    else:
        full_g, full_ans = tgr.expand_reduced(g, a, axis), tgr.expand_reduced(ans, a, axis)
    at_extremum = a == full_ans
    return full_g * at_extremum / np.sum(at_extremum, axis=axis, keepdims=True)


_DDOF = _REDUCE + [Sample((A(3, 4),), {"axis": 1, "ddof": 1}), Sample((A(5),), {"ddof": 1})]


@vjp(np.var, samples=_DDOF)
def var(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    if axis is None or keepdims:
        full = g
    else:
        full = tgr.expand_reduced(g, a, axis)
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return full * centered * (2 / (tgr.reduced_count(a, axis) - ddof))


@vjp(np.std, samples=_DDOF)
def std(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    if axis is None or keepdims:
        full_g, full_ans = g, ans
    else:
        full_g, full_ans = tgr.expand_reduced(g, a, axis), tgr.expand_reduced(ans, a, axis)
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return full_g * centered / ((tgr.reduced_count(a, axis) - ddof) * full_ans)


@vjp(np.cumsum, samples=[Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 0}),
                         Sample((A(2, 3, 4),), {"axis": -1})])
def cumsum(g, ans, a, axis=None, dtype=None, out=None):
    """Each input feeds every later output: the cotangent is the reversed cumulative sum."""
    if axis is None:
        ba = np.reshape(np.flip(np.cumsum(np.flip(g))), np.shape(a))
    else:
        ba = np.flip(np.cumsum(np.flip(g, axis), axis), axis)
    return ba


@vjp(np.cumprod, samples=[Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 1}),
                          Sample((np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 2.0]]),),
                                 {"axis": 1})])
def cumprod(g, ans, a, axis=None, dtype=None, out=None):
    """Exact also where ``a`` has zeros."""
    return tgr.cumprod_vjp(g, ans, a, axis)


@vjp(np.average, samples=[
    Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 0}),
    Sample((A(3, 4), 1, P(4))), Sample((A(3, 4), None, P(3, 4))),
    Sample((A(2, 3, 4), (0, 2), P(2, 4)), {"keepdims": True})])
def average(g, ans, a, axis=None, weights=None, returned=False, keepdims=False):
    """Differentiable in ``a`` and ``weights``; ``returned=True`` (a tuple result) has no rule."""
    if weights is None:
        if axis is None or keepdims:
            full = g
        else:
            full = tgr.expand_reduced(g, a, axis)
        ba = np.broadcast_to(full / tgr.reduced_count(a, axis), np.shape(a))
        b_weights = None
    else:
        ba, b_weights = tgr.average_vjp(g, ans, a, axis, weights, keepdims)
    return ba, None, b_weights
