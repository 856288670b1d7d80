"""Rules for reductions (sum, mean, max, ...) with ``axis`` and ``keepdims``.

A reduction's cotangent has the reduced shape; ``tgr.expand_reduced`` puts the reduced axes
back (as length 1) so it broadcasts against the input. With ``keepdims=True`` or
``axis=None`` it already does.
"""

import numpy as np

from .. import runtime as tgr
from ..runtime import _has_no_zeros, _scatter_set, expand_reduced, unbroadcast
from .registry import Sample, helper, jvp, nondifferentiable, vjp
from .specs import A, P

_REDUCE = [Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 0}),
           Sample((A(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
           Sample((A(2, 3),), {"axis": -1})]
# exact ties: two maxima in row 0, two minima in row 1, to pin the tie convention
_TIED = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, -1.0, 2.0, -1.0], [0.1, 0.2, 0.3, 0.4]])
_EXTREMA = _REDUCE + [Sample((_TIED,), {"axis": 1}), Sample((_TIED[:1],))]


@vjp(np.sum, linear=True, method="sum", tensor="sum", tensor_node="SumBackward0",
     tensor_impl=np.ndarray.sum, torch=("sum",), samples=_REDUCE)
def sum(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    if axis is None or keepdims:
        full = g
    else:
        full = tgr.expand_reduced(g, a, axis)
    return np.broadcast_to(full, np.shape(a))


@vjp(np.mean, linear=True, method="mean", tensor="mean", tensor_node="MeanBackward0",
     tensor_impl=np.ndarray.mean, torch=("mean",),
     samples=_REDUCE + [Sample((A(0),)), Sample((A(2, 0),), {"axis": 1})])
def mean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """An empty ``a`` (numpy's mean: nan) has an empty cotangent, not a division by zero."""
    if axis is None:
        share = g / max(np.size(a), 1)
    elif keepdims:
        share = g / max(tgr.reduced_count(a, axis), 1)
    else:
        share = tgr.expand_reduced(g, a, axis) / max(tgr.reduced_count(a, axis), 1)
    return np.broadcast_to(share, np.shape(a))


@vjp(np.prod, reduction=True, method="prod", tensor="prod", tensor_node="ProdBackward0",
     tensor_impl=np.ndarray.prod, torch=("prod",),
     samples=_REDUCE + [Sample((np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]]),),
                                         {"axis": 1})])
def prod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """Exact also where ``a`` has zeros (the product of the other elements)."""
    return tgr.prod_vjp(g, ans, a, axis, keepdims)


@helper(source=True)
def prod_vjp(g, ans, a, axis=None, keepdims=False):
    """Cotangent of ``a`` in ``np.prod(a, axis)``, exact also where ``a`` has zeros."""
    if axis is not None and not keepdims:
        g, ans = expand_reduced(g, a, axis), expand_reduced(ans, a, axis)
    if _has_no_zeros(a):
        return g * ans / a
    return g * _exclusive_products(a, _axes_tuple(axis, np.ndim(a)))


@helper(source=True)
def _exclusive_products(a, axes):
    """For each element of ``a``, the product of the other elements along ``axes``."""
    a = np.asarray(a)
    moved = np.moveaxis(a, axes, tuple(range(-len(axes), 0)))
    rest = moved.shape[:moved.ndim - len(axes)]
    flat = moved.reshape(rest + (-1,))
    ones = np.ones(rest + (1,), dtype=flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1),
                               axis=-1), -1)
    return np.moveaxis((left * right).reshape(moved.shape), tuple(range(-len(axes), 0)), axes)


@helper
def _axes_tuple(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


nondifferentiable(_axes_tuple, reason="integer-valued")


# max and min have the same rule (the elements equal to the answer share g), declared twice
# because a rule's primitives must be aliases of one function

@vjp(np.max, np.amax, reduction=True, method="max", tensor="max", tensor_node="MaxBackward1",
     tensor_impl=np.ndarray.max, torch=("max",), samples=_EXTREMA)
def amax(g, ans, a, axis=None, out=None, keepdims=False):
    """Ties split the cotangent equally among the maxima (JAX's convention)."""
    if axis is None or keepdims:
        full_g, full_ans = g, ans
    else:
        full_g, full_ans = tgr.expand_reduced(g, a, axis), tgr.expand_reduced(ans, a, axis)
    at_extremum = tgr.extremum_mask(a, full_ans, axis, "max")
    return full_g * at_extremum / np.sum(at_extremum, axis=axis, keepdims=True)


@vjp(np.min, np.amin, reduction=True, method="min", tensor="min", tensor_node="MinBackward1",
     tensor_impl=np.ndarray.min, torch=("min",), samples=_EXTREMA)
def amin(g, ans, a, axis=None, out=None, keepdims=False):
    """Ties split the cotangent equally among the minima (JAX's convention)."""
    if axis is None or keepdims:
        full_g, full_ans = g, ans
    else:
        full_g, full_ans = tgr.expand_reduced(g, a, axis), tgr.expand_reduced(ans, a, axis)
    at_extremum = tgr.extremum_mask(a, full_ans, axis, "min")
    return full_g * at_extremum / np.sum(at_extremum, axis=axis, keepdims=True)


_DDOF = _REDUCE + [Sample((A(3, 4),), {"axis": 1, "ddof": 1}), Sample((A(5),), {"ddof": 1})]


@vjp(np.var, reduction=True, method="var", samples=_DDOF)
def var(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    if axis is None or keepdims:
        full = g
    else:
        full = tgr.expand_reduced(g, a, axis)
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return tgr.times_conj(full, centered) * (2 / (tgr.reduced_count(a, axis) - ddof))


@vjp(np.std, reduction=True, method="std", samples=_DDOF)
def std(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    if axis is None or keepdims:
        full_g, full_ans = g, ans
    else:
        full_g, full_ans = tgr.expand_reduced(g, a, axis), tgr.expand_reduced(ans, a, axis)
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return tgr.times_conj(full_g, centered) / ((tgr.reduced_count(a, axis) - ddof) * full_ans)


@vjp(np.cumsum, linear=True, method="cumsum",
     samples=[Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 0}),
                         Sample((A(2, 3, 4),), {"axis": -1})])
def cumsum(g, ans, a, axis=None, dtype=None, out=None):
    """Each input feeds every later output: the cotangent is the reversed cumulative sum."""
    if axis is None:
        ba = np.reshape(np.flip(np.cumsum(np.flip(g))), np.shape(a))
    else:
        ba = np.flip(np.cumsum(np.flip(g, axis), axis), axis)
    return ba


@vjp(np.cumprod, method="cumprod",
     samples=[Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 1}),
                          Sample((np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 2.0]]),),
                                 {"axis": 1})])
def cumprod(g, ans, a, axis=None, dtype=None, out=None):
    """Exact also where ``a`` has zeros."""
    return tgr.cumprod_vjp(g, ans, a, axis)


@helper(source=True)
def cumprod_vjp(g, ans, a, axis=None):
    """Cotangent of ``a`` in ``np.cumprod(a, axis)``, exact also where ``a`` has zeros."""
    shape = np.shape(a)
    if axis is None:
        a, g, ans, axis = np.ravel(a), np.ravel(g), np.ravel(ans), 0
    if _has_no_zeros(a):
        ba = np.flip(np.cumsum(np.flip(g * ans, axis), axis), axis) / a
        return np.reshape(ba, shape)
    moved, g_moved = np.moveaxis(np.asarray(a), axis, -1), np.moveaxis(np.asarray(g), axis, -1)
    if moved.shape[-1] == 0:
        return np.zeros(shape, dtype=np.result_type(moved, g_moved))
    columns = []
    for i in range(moved.shape[-1]):   # d ans[j] / d a[i] is cumprod(a with a[i] = 1)[j], j >= i
        others = _scatter_set(moved.copy(), (Ellipsis, i), 1)
        columns.append(np.sum(g_moved[..., i:] * np.cumprod(others, axis=-1)[..., i:], axis=-1))
    return np.reshape(np.moveaxis(np.stack(columns, axis=-1), -1, axis), shape)


@helper
def cumprod_jvp(g, ans, a, axis=None):
    """Tangent of ``np.cumprod(a, axis)`` for ``a``'s tangent ``g``: ``dy_j = dy_(j-1) a_j +
    y_(j-1) da_j``, exact also where ``a`` has zeros."""
    if axis is None:
        a, g, ans, axis = np.ravel(a), np.ravel(g), np.ravel(ans), 0
    a, g = np.asarray(a), np.broadcast_to(g, np.shape(a))
    if np.all(a != 0):
        return ans * np.cumsum(g / a, axis=axis)
    moved, g_moved = np.moveaxis(a, axis, -1), np.moveaxis(g, axis, -1)
    y_moved = np.moveaxis(np.asarray(ans), axis, -1)
    dy = np.zeros(moved.shape, dtype=np.result_type(moved, g_moved))
    dy[..., 0] = g_moved[..., 0]
    for j in range(1, moved.shape[-1]):
        dy[..., j] = dy[..., j - 1] * moved[..., j] + y_moved[..., j - 1] * g_moved[..., j]
    return np.moveaxis(dy, -1, axis)


@jvp(np.cumprod, samples=[Sample((A(3, 4),)), Sample((A(3, 4),), {"axis": 1}),
                          Sample((np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 2.0]]),),
                                 {"axis": 1})])
def cumprod_jvp_rule(g, ans, a, axis=None, dtype=None, out=None):
    """Exact also where ``a`` has zeros."""
    return tgr.cumprod_jvp(g, ans, a, axis)


@vjp(np.average, linear=(0,), samples=[
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


@helper
def average_vjp(g, ans, a, axis, weights, keepdims=False):
    """Cotangents of ``a`` and ``weights`` in ``np.average(a, axis, weights)``."""
    a, weights = np.asarray(a), np.asarray(weights)
    axes = _axes_tuple(axis, a.ndim)
    given = axes if axis is None or np.ndim(axis) == 0 else tuple(ax % a.ndim for ax in axis)
    w = _aligned_weights(weights, a, axes, given)
    if not keepdims:
        g, ans = expand_reduced(g, a, axes), expand_reduced(ans, a, axes)
    total = np.sum(np.broadcast_to(w, a.shape), axis=axes, keepdims=True)
    ba = np.broadcast_to(g * w / total, a.shape)
    bw = unbroadcast(g * (a - ans) / total, w.shape)
    if weights.shape != a.shape:
        bw = np.transpose(bw.reshape(tuple(weights.shape[i] for i in np.argsort(given))),
                          np.argsort(np.argsort(given)))
    return ba, bw


@helper
def _aligned_weights(weights, a, axes, given):
    """``np.average``'s weights, reshaped to broadcast against ``a`` (numpy lines up weights
    given along ``axis`` only with those axes)."""
    if weights.shape == a.shape:
        return weights
    return np.transpose(weights, np.argsort(given)).reshape(
        tuple(n if i in axes else 1 for i, n in enumerate(a.shape)))


@helper
def average_weights_jvp(g, a, axis, weights, keepdims=False):
    """Tangent of ``np.average(a, axis, weights)`` for the weights' tangent ``g``:
    ``sum(dw (a - avg)) / sum(w)``."""
    a, weights, g = np.asarray(a), np.asarray(weights), np.asarray(g)
    axes = _axes_tuple(axis, a.ndim)
    given = axes if axis is None or np.ndim(axis) == 0 else tuple(ax % a.ndim for ax in axis)
    w = np.broadcast_to(_aligned_weights(weights, a, axes, given), a.shape)
    dw = _aligned_weights(g, a, axes, given)
    total = np.sum(w, axis=axes, keepdims=True)
    centered = a - np.sum(w * a, axis=axes, keepdims=True) / total
    out = np.sum(dw * centered, axis=axes, keepdims=True) / total
    return out if keepdims else np.squeeze(out, axis=axes) if axis is not None \
        else out.reshape(())


@jvp(np.average, argnum=2, samples=[Sample((A(3, 4), 1, P(4))),
                                    Sample((A(3, 4), None, P(3, 4))),
                                    Sample((A(2, 3, 4), (0, 2), P(2, 4)), {"keepdims": True})])
def average_weights_jvp_rule(g, ans, a, axis=None, weights=None, returned=False, keepdims=False):
    """``sum(dw (a - avg)) / sum(w)``; ``np.average`` is linear in ``a`` (``LINEAR_IN``)."""
    return tgr.average_weights_jvp(g, a, axis, weights, keepdims)
