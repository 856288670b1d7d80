"""Rules for the functional forms of subscript assignment.

``index_update(a, index, values)`` is ``a`` with ``a[index] = values`` applied to a copy;
``index_add(a, index, values)`` adds instead, accumulating repeated integer indices like
``np.add.at``. The Tensor records ``t[index] = v`` as ``index_update``, and the second
derivative of indexing runs through ``index_add`` (the getitem rule's ``tgr.add_at``).
"""

import numpy as np

from .. import runtime as tgr
from .registry import Sample, vjp
from .specs import A


def index_update(a, index, values):
    """A copy of ``a`` with ``a[index] = values``. With an integer index that repeats a
    position numpy keeps the last value written; the derivative follows it (the overwritten
    writes get zero)."""
    out = np.array(a, copy=True)
    out[index] = values
    return out


def index_add(a, index, values):
    """A copy of ``a`` with ``values`` added at ``index`` (repeated indices accumulate)."""
    return tgr.add_at(np.array(a, copy=True), index, values)


@vjp(index_update, broadcasting=True, jointly_linear=(0, 2), tensor="index_update",
     tensor_node="CopySlices", samples=[
    Sample((A(5, 4), (slice(1, 3),), A(4)), wrt=(0, 2)),
    Sample((A(5, 4), np.array([True, False, True, False, False]), A(2, 4)), wrt=(0, 2)),
    Sample((A(6), np.array([4, 0, 2]), A(3)), wrt=(0, 2)),
    Sample((A(6), np.array([4, 0, 4, 1]), A(4)), wrt=(0, 2))])
def index_update_vjp(g, ans, a, index, values):
    kept = tgr.add_at(np.zeros(np.shape(a)), index, 1.0) == 0
    return g * kept, None, tgr.stored_part(g, index)


@vjp(index_add, broadcasting=True, jointly_linear=(0, 2), tensor="index_add",
     tensor_node="IndexAddBackward0", samples=[
    Sample((A(5, 4), (slice(1, 3),), A(4)), wrt=(0, 2)),
    Sample((A(6), np.array([4, 0, 2, 2]), A(4)), wrt=(0, 2))])
def index_add_vjp(g, ans, a, index, values):
    return g, None, g[index]
