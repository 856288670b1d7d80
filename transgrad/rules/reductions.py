"""Rules for reductions (sum, mean, max, ...) with ``axis`` and ``keepdims``."""

import numpy as np

from .. import runtime as tgr
from .registry import Sample, vjp
from .specs import A

_REDUCE = [Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 0}),
           Sample((A(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
           Sample((A(2, 3),), {"axis": -1})]


@vjp(np.sum, samples=_REDUCE)
def sum(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    if axis is None or keepdims:
        full = g
    else:
        full = tgr.expand_reduced(g, a, axis)
    return np.broadcast_to(full, np.shape(a))


@vjp(np.mean, samples=_REDUCE)
def mean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    if axis is None or keepdims:
        full = g
    else:
        full = tgr.expand_reduced(g, a, axis)
    if axis is None:
        count = np.size(a)
    else:
        count = tgr.reduced_count(a, axis)
    return np.broadcast_to(full / count, np.shape(a))
