"""Rules for order statistics, NaN-ignoring reductions, covariance and correlation.

Order statistics (``median``, ``percentile``, ``quantile``, ``ptp``) follow JAX's subgradient
convention: the value is read from the sorted array (a stable sort), so its cotangent goes to
the one or two elements it interpolates between, with the interpolation weights; among tied
elements the one the stable sort puts at that position takes it (``ptp``, like ``max``, splits
it among ties). Only ``method="linear"`` (the default) has a derivative.
"""

import numpy as np

from .. import runtime as tgr
from ..runtime import _scatter_add, _stable_argsort
from .reductions import _axes_tuple
from .registry import Sample, helper, jvp, nondifferentiable, vjp
from .specs import A, P

# --- quantiles ------------------------------------------------------------------------------

_QUANTILE = [Sample((A(5), 0.3)), Sample((A(3, 4), np.array([0.1, 0.9])), {"axis": 0}),
             Sample((A(2, 3, 4), 0.4), {"axis": (0, 2), "keepdims": True})]


@vjp(np.quantile, samples=_QUANTILE)
def quantile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False):
    """Differentiable in ``a`` and ``q`` (the slope between the two elements read)."""
    ba, bq = tgr.quantile_vjp(g, a, q, axis, method, keepdims)
    return ba, bq


@vjp(np.percentile, samples=[Sample((A(3, 4), np.array([10.0, 90.0])), {"axis": 1})])
def percentile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False):
    """The quantile ``q / 100``."""
    ba, bq = tgr.quantile_vjp(g, a, np.asarray(q) / 100, axis, method, keepdims)
    return ba, bq / 100


@vjp(np.median, samples=[Sample((A(6),)), Sample((A(3, 4),), {"axis": 0, "keepdims": True})])
def median(g, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The quantile 0.5: an even count shares the cotangent between the two middle elements."""
    ba = tgr.quantile_vjp(g, a, 0.5, axis, "linear", keepdims)[0]
    return ba


@helper
def check_linear_method(method):
    """Raise ValueError unless ``method`` is "linear" (the only quantile method derived)."""
    if method != "linear":
        raise ValueError(f"transgrad: no derivative for quantiles with method={method!r}; "
                         "use method='linear'")


@helper
def kept_axes(ndim, axes):
    """The axes of ``range(ndim)`` not in ``axes``, in order."""
    return [i for i in range(ndim) if i not in axes]


@helper
def axis_sizes(shape, axes):
    """``[shape[i] for i in axes]``: sizes, which carry no derivative."""
    return [shape[i] for i in axes]


nondifferentiable(check_linear_method, reason="checks an argument")
nondifferentiable(axis_sizes, reason="sizes")
nondifferentiable(kept_axes, reason="axis numbers")
nondifferentiable(_stable_argsort, reason="indices")


@helper(source=True)
def _quantile_reads(a, q, axis, method):
    """``a`` with the reduced axes moved last and flattened into one, the stable sort's
    permutation of that axis, and for each ``q`` (leading axes) the two sorted positions read
    and the weight of the upper one."""
    check_linear_method(method)
    a = np.asarray(a)
    axes = _axes_tuple(axis, a.ndim)
    kept = kept_axes(a.ndim, axes)
    moved = np.reshape(np.transpose(a, kept + list(axes)),
                       axis_sizes(np.shape(a), kept) + [-1])
    n = moved.shape[-1]
    order = _stable_argsort(moved, -1)
    position = np.asarray(q) * (n - 1)
    low = np.clip(np.floor(position), 0, n - 1).astype(int)
    high = np.clip(low + 1, 0, n - 1)
    return moved, order, low, high, position - low, kept, axes


@helper(source=True)
def quantile_vjp(g, a, q, axis=None, method="linear", keepdims=False):
    """Cotangents of ``a`` and ``q`` in ``np.quantile(a, q, axis, method, keepdims)``."""
    moved, order, low, high, weight, kept, axes = _quantile_reads(a, q, axis, method)
    a = np.asarray(a)
    # g has q's axes, then the kept axes (with unit reduced axes for keepdims)
    count = int(np.size(q))
    flat_g = np.moveaxis(np.reshape(g, (count,) + moved.shape[:-1]), 0, -1)
    w = np.ravel(weight)
    low_at = np.take(order, np.ravel(low), axis=-1)
    high_at = np.take(order, np.ravel(high), axis=-1)
    zeros = np.zeros(moved.shape, dtype=np.result_type(flat_g, float))
    ba = add_along(add_along(zeros, low_at, flat_g * (1 - w)), high_at, flat_g * w)
    sizes = axis_sizes(np.shape(a), kept + list(axes))
    ba = np.transpose(np.reshape(ba, sizes), np.argsort(kept + list(axes)))
    rise = np.take_along_axis(moved, high_at, -1) - np.take_along_axis(moved, low_at, -1)
    n = moved.shape[-1]
    slope = np.sum(np.reshape(flat_g * rise, (-1, count)), axis=0) * (n - 1)
    bq = np.reshape(slope * (np.ravel(high) > np.ravel(low)), np.shape(q))
    return ba, bq


@helper(jointly_linear=(0, 2))
def add_along(target, indices, values):
    """``target`` plus ``values`` added at ``indices`` along the last axis (repeats add up)."""
    ndim = np.ndim(target)
    index = tuple(indices if i == ndim - 1 else
                  np.reshape(np.arange(np.shape(indices)[i]),
                             [-1 if j == i else 1 for j in range(ndim)])
                  for i in range(ndim))
    return _scatter_add(target, index, values)


@helper
def quantile_jvp(da, a, q, axis=None, method="linear", keepdims=False):
    """Tangent of ``np.quantile(a, q, axis, method, keepdims)`` for ``a``'s tangent ``da``."""
    moved, order, low, high, weight, kept, axes = _quantile_reads(a, q, axis, method)
    a = np.asarray(a)
    d_moved = np.reshape(np.transpose(np.broadcast_to(da, a.shape), kept + list(axes)),
                         moved.shape)
    d_sorted = np.take_along_axis(d_moved, order, -1)
    out = np.take(d_sorted, low, axis=-1) * (1 - weight) + \
        np.take(d_sorted, high, axis=-1) * weight      # kept axes, then q's
    qdim = np.ndim(q)
    out = np.moveaxis(out, tuple(range(out.ndim - qdim, out.ndim)), tuple(range(qdim)))
    if keepdims:
        out = np.reshape(out, np.shape(q) + tuple(1 if i in axes else a.shape[i]
                                                  for i in range(a.ndim)))
    return out


@jvp(np.quantile, samples=_QUANTILE)
def quantile_jvp_rule(g, ans, a, q, axis=None, out=None, overwrite_input=False,
                      method="linear", keepdims=False):
    return tgr.quantile_jvp(g, a, q, axis, method, keepdims)


@jvp(np.percentile, samples=[Sample((A(5), 30.0), wrt=(0,)),
                             Sample((A(3, 4), np.array([10.0, 90.0])), {"axis": 1}, wrt=(0,))])
def percentile_jvp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=False):
    return tgr.quantile_jvp(g, a, np.asarray(q) / 100, axis, method, keepdims)


@jvp(np.median, samples=[Sample((A(5),)), Sample((A(6),)), Sample((A(3, 4),), {"axis": 1})])
def median_jvp(g, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return tgr.quantile_jvp(g, a, 0.5, axis, "linear", keepdims)


# --- range ----------------------------------------------------------------------------------

@vjp(np.ptp, reduction=True, samples=[Sample((A(3, 4),), {"axis": 0, "keepdims": True})])
def ptp(g, ans, a, axis=None, out=None, keepdims=False):
    """``max - min``: ties split the cotangent equally (as ``max`` and ``min`` do)."""
    full = g if axis is None or keepdims else tgr.expand_reduced(g, a, axis)
    top = a == np.max(a, axis=axis, keepdims=True)
    bottom = a == np.min(a, axis=axis, keepdims=True)
    return full * (top / np.sum(top, axis=axis, keepdims=True)
                   - bottom / np.sum(bottom, axis=axis, keepdims=True))


# --- reductions that skip NaNs --------------------------------------------------------------

_NAN = [Sample((np.array([[1.0, np.nan, -0.5], [0.3, 2.0, np.nan]]),), {"axis": 1}),
        Sample((A(3, 4),), {"axis": 0, "keepdims": True})]


@vjp(np.nansum, samples=_NAN)
def nansum(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """NaNs are constants (their cotangent is zero)."""
    full = g if axis is None or keepdims else tgr.expand_reduced(g, a, axis)
    return full * (1 - np.isnan(a))


@vjp(np.nanmean, samples=_NAN)
def nanmean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """The mean over the numbers: each shares the cotangent; NaNs get zero."""
    full = g if axis is None or keepdims else tgr.expand_reduced(g, a, axis)
    present = 1 - np.isnan(a)
    return full * present / np.sum(present, axis=axis, keepdims=True)


@vjp(np.nanmax, samples=_NAN)
def nanmax(g, ans, a, axis=None, out=None, keepdims=False):
    """Ties split the cotangent equally among the maxima; NaNs get zero."""
    full_g = g if axis is None or keepdims else tgr.expand_reduced(g, a, axis)
    full_ans = ans if axis is None or keepdims else tgr.expand_reduced(ans, a, axis)
    hit = tgr.extremum_mask(a, full_ans, axis, "nanmax")
    return full_g * hit / np.sum(hit, axis=axis, keepdims=True)


@vjp(np.nanmin, samples=_NAN)
def nanmin(g, ans, a, axis=None, out=None, keepdims=False):
    """Ties split the cotangent equally among the minima; NaNs get zero."""
    full_g = g if axis is None or keepdims else tgr.expand_reduced(g, a, axis)
    full_ans = ans if axis is None or keepdims else tgr.expand_reduced(ans, a, axis)
    hit = tgr.extremum_mask(a, full_ans, axis, "nanmin")
    return full_g * hit / np.sum(hit, axis=axis, keepdims=True)


@vjp(np.nanprod, samples=[Sample((np.array([[1.5, np.nan, -0.5], [0.3, 2.0, np.nan]]),),
                                 {"axis": 1})])
def nanprod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """The product of the numbers (NaNs read as 1, with a zero cotangent)."""
    ones = np.where(np.isnan(a), 1.0, a)
    return tgr.prod_vjp(g, ans, ones, axis, keepdims) * (1 - np.isnan(a))


# forward: the tangents at NaNs (NaN themselves, as 2 * nan * 0) are dropped, not multiplied

@jvp(np.nansum, samples=_NAN)
def nansum_jvp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(np.where(np.isnan(a), 0.0, g), axis=axis, keepdims=keepdims)


@jvp(np.nanmean, samples=_NAN)
def nanmean_jvp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    present = 1 - np.isnan(a)
    return np.sum(np.where(np.isnan(a), 0.0, g), axis=axis, keepdims=keepdims) / \
        np.sum(present, axis=axis, keepdims=keepdims)


@jvp(np.nanmax, samples=_NAN)
def nanmax_jvp(g, ans, a, axis=None, out=None, keepdims=False):
    hit = a == np.nanmax(a, axis=axis, keepdims=True)
    return np.sum(np.where(hit, g, 0.0), axis=axis, keepdims=keepdims) / \
        np.sum(hit, axis=axis, keepdims=keepdims)


@jvp(np.nanmin, samples=_NAN)
def nanmin_jvp(g, ans, a, axis=None, out=None, keepdims=False):
    hit = a == np.nanmin(a, axis=axis, keepdims=True)
    return np.sum(np.where(hit, g, 0.0), axis=axis, keepdims=keepdims) / \
        np.sum(hit, axis=axis, keepdims=keepdims)


@jvp(np.nanprod, samples=[Sample((P(3, 4),)), Sample((P(3, 4),), {"axis": 1}),
                          Sample((np.array([[1.5, np.nan, -0.5], [0.3, 2.0, np.nan]]),),
                                 {"axis": 1})])
def nanprod_jvp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    ones = np.where(np.isnan(a), 1.0, a)
    slopes = tgr.prod_vjp(np.ones_like(ans), ans, ones, axis, keepdims)
    return np.sum(np.where(np.isnan(a), 0.0, slopes * g), axis=axis, keepdims=keepdims)


# --- covariance and correlation -------------------------------------------------------------

_COV = [Sample((A(6),)), Sample((A(5, 2),), {"rowvar": False, "ddof": 2}),
        Sample((A(2, 5), A(5)))]


@vjp(np.cov, samples=_COV)
def cov(g, ans, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
        dtype=None):
    """Differentiable in ``m`` and ``y`` (no ``fweights`` or ``aweights``)."""
    bm, by = tgr.cov_vjp(g, m, y, rowvar, bias, ddof)
    return bm, by


@helper(source=True)
def _observations(m, y, rowvar):
    """``np.cov``'s variables as rows of one 2-d array, centred, and the shapes to give back."""
    rows = [np.atleast_2d(m) if rowvar else np.transpose(np.atleast_2d(m))]
    if y is not None:
        rows.append(np.atleast_2d(y) if rowvar else np.transpose(np.atleast_2d(y)))
    x = np.concatenate(rows, axis=0)
    return x - np.mean(x, axis=1, keepdims=True), [np.shape(r)[0] for r in rows]


@helper
def _cov_scale(n, bias, ddof):
    return 1.0 / (n - (ddof if ddof is not None else 0 if bias else 1))


@helper(source=True)
def cov_vjp(g, m, y=None, rowvar=True, bias=False, ddof=None):
    """Cotangents of ``m`` and ``y`` in ``np.cov``: ``(G + G^T) Xc`` scaled."""
    centred, counts = _observations(m, y, rowvar)
    g = np.reshape(g, (centred.shape[0], centred.shape[0]))
    full = (g + np.transpose(g)) @ centred * _cov_scale(centred.shape[1], bias, ddof)
    parts = [full[:counts[0]], full[counts[0]:]]
    out = []
    for part, given in zip(parts, (m, y)):
        if given is None:
            out.append(None)
        else:
            out.append(np.reshape(part if rowvar else np.transpose(part), np.shape(given)))
    return out[0], out[1]


@helper
def cov_jvp(dm, dy, m, y=None, rowvar=True, bias=False, ddof=None):
    """Tangent of ``np.cov`` for the tangents ``dm``, ``dy`` (None: zero)."""
    centred = _observations(m, y, rowvar)[0]
    dm = np.zeros(np.shape(m)) if dm is None else dm
    if y is not None:
        dy = np.zeros(np.shape(y)) if dy is None else dy
    d_centred, _ = _observations(np.broadcast_to(dm, np.shape(m)),
                                 None if y is None else np.broadcast_to(dy, np.shape(y)), rowvar)
    d = d_centred @ np.transpose(centred)
    out = (d + np.transpose(d)) * _cov_scale(centred.shape[1], bias, ddof)
    return np.reshape(out, ()) if centred.shape[0] == 1 else out


@jvp(np.cov, samples=_COV)
def cov_jvp_m(g, ans, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None,
              aweights=None, dtype=None):
    return tgr.cov_jvp(g, None, m, y, rowvar, bias, ddof)


@jvp(np.cov, argnum=1, samples=[Sample((A(2, 5), A(5)))])
def cov_jvp_y(g, ans, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None,
              aweights=None, dtype=None):
    return tgr.cov_jvp(None, g, m, y, rowvar, bias, ddof)


_CORR = [Sample((A(5, 2),), {"rowvar": False}), Sample((A(2, 5), A(5)))]


@vjp(np.corrcoef, samples=_CORR)
def corrcoef(g, ans, x, y=None, rowvar=True, dtype=None):
    """Through the covariance ``C``: ``R = C / sqrt(diag C diag C^T)`` (the diagonal, clipped
    to 1 by numpy, is constant)."""
    bx, by = tgr.corrcoef_vjp(g, ans, x, y, rowvar)
    return bx, by


@helper(source=True)
def corrcoef_vjp(g, ans, x, y=None, rowvar=True):
    """Cotangents of ``x`` and ``y`` in ``np.corrcoef(x, y, rowvar)``."""
    c = np.cov(x, y, rowvar)
    variances = np.diagonal(c)
    scale = np.sqrt(variances)
    g = np.reshape(g, np.shape(c))
    shared = g * ans
    bc = g / (scale[:, None] * scale[None, :]) - np.diag(
        (np.sum(shared, axis=0) + np.sum(shared, axis=1)) / (2 * variances))
    return cov_vjp(bc, x, y, rowvar)


@helper
def corrcoef_jvp(dx, dy, x, y=None, rowvar=True):
    """Tangent of ``np.corrcoef`` for the tangents ``dx``, ``dy`` (None: zero)."""
    c = np.cov(x, y, rowvar)
    variances = np.diagonal(c)
    scale = np.sqrt(variances)
    dc = cov_jvp(dx, dy, x, y, rowvar)
    r = c / (scale[:, None] * scale[None, :])
    dv = np.diagonal(dc) / (2 * variances)
    return dc / (scale[:, None] * scale[None, :]) - r * (dv[:, None] + dv[None, :])


@jvp(np.corrcoef, samples=_CORR)
def corrcoef_jvp_x(g, ans, x, y=None, rowvar=True, dtype=None):
    return tgr.corrcoef_jvp(g, None, x, y, rowvar)


@jvp(np.corrcoef, argnum=1, samples=[Sample((A(2, 5), A(5)))])
def corrcoef_jvp_y(g, ans, x, y=None, rowvar=True, dtype=None):
    return tgr.corrcoef_jvp(None, g, x, y, rowvar)
