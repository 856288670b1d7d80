"""Rules for reading array elements by subscript."""

import operator

import numpy as np

from .. import runtime as tgr
from ..runtime import _scatter_add
from .registry import Sample, helper, vjp
from .specs import A


@vjp(operator.getitem, linear=True, tensor="getitem", tensor_node="IndexBackward0", samples=[
    Sample((A(5, 4), 2)), Sample((A(5, 4), (slice(1, 4), slice(None)))),
    Sample((A(5, 4), (Ellipsis, None, 1))), Sample((A(5), np.array([0, 2, 2, 4]))),
    Sample((A(3, 4), np.array([[True, False, True, True]] * 3))), Sample((A(5), -1)),
    Sample((A(5), [0, 2, 2])), Sample((A(4, 3), (slice(None), np.array([2, 0, 2])))),
    Sample((A(4, 3), np.array([True, False, True, True]))),
    Sample((A(2, 3, 4), (1, Ellipsis, slice(None, None, -2)))),
    Sample((A(4, 3), (np.array([[0], [3]]), np.array([0, 2, 2]))))])
def getitem(g, ans, a, index):
    ba = tgr.zeros_like_value(a)   # a may be a list of arrays (a loop over [a, b, c])
    ba = tgr.add_at(ba, index, g)
    return ba, None


@vjp(np.take, linear=True, samples=[Sample((A(5), np.array([0, 2, 2, 4]))),
                       Sample((A(3, 4), np.array([1, 1, 3])), {"axis": 1}),
                       Sample((A(3, 4), 5))])
def take(g, ans, a, indices, axis=None):
    """Repeated indices accumulate; without ``axis`` the array is read flattened."""
    return tgr.take_vjp(g, a, indices, axis), None


@helper(linear=(0,))
def take_vjp(g, a, indices, axis=None):
    """Cotangent of ``np.take(a, indices, axis)``: scatter-add ``g`` back (repeats add up)."""
    if axis is None:
        flat = _scatter_add(np.zeros(np.size(a), dtype=np.result_type(a)), indices, g)
        return np.reshape(flat, np.shape(a))
    axis = axis % np.ndim(a)
    return _scatter_add(np.zeros_like(a), (slice(None),) * axis + (indices,), g)


@vjp(take_vjp, samples=[Sample((A(4), A(5), np.array([0, 2, 2, 4]))),
                                Sample((A(3, 3), A(3, 4), np.array([1, 1, 3]), 1)),
                                Sample((A(), A(3, 4), 5))])
def take_vjp_rule(gg, ans, g, a, indices, axis=None):
    return np.take(gg, indices, axis=axis), tgr.zeros_like_value(a), None


@vjp(np.take_along_axis, linear=(0,), samples=[
    Sample((A(3, 4), np.array([[0, 3], [1, 1], [2, 0]]), 1)),
    Sample((A(5), np.array([4, 0, 0]), None))])
def take_along_axis(g, ans, arr, indices, axis=-1):
    """Repeated indices accumulate."""
    return tgr.take_along_axis_vjp(g, arr, indices, axis), None


@helper(linear=(0,))
def take_along_axis_vjp(g, arr, indices, axis=-1):
    """Cotangent of ``arr`` in ``np.take_along_axis(arr, indices, axis)``: ``g`` added back
    at the indices (repeats add up)."""
    shape = np.shape(arr)
    if axis is None:
        flat = _scatter_add(np.zeros(int(np.prod(shape)), dtype=np.result_type(g)), indices, g)
        return np.reshape(flat, shape)
    ndim = len(shape)
    axis = axis % ndim
    index = tuple(indices if i == axis else
                  np.reshape(np.arange(np.shape(indices)[i]),
                             [-1 if j == i else 1 for j in range(ndim)])
                  for i in range(ndim))
    return _scatter_add(np.zeros(shape, dtype=np.result_type(g)), index, g)
