"""Rules for numerical calculus and signal functions: differences, finite-difference gradients,
cross products, interpolation, the trapezoid rule, convolution, and NaN cleaning."""

import numpy as np

from .. import runtime as tgr
from ..runtime import add_at, unbroadcast, unbroadcast_to
from .registry import Sample, helper, jvp, nondifferentiable, vjp
from .specs import A

# --- differences and finite-difference gradients ------------------------------------------


@vjp(np.diff, linear=(0,), samples=[Sample((A(3, 4),), {"axis": 0}),
                                    Sample((A(5),), {"n": 2, "prepend": 0.0})])
def diff(g, ans, a, n=1, axis=-1, prepend=None, append=None):
    """Differentiable in ``a`` (``prepend`` and ``append`` are constants)."""
    return tgr.diff_vjp(g, a, n, axis, prepend, append), None, None, None, None


@helper(linear=(0,))
def diff_vjp(g, a, n=1, axis=-1, prepend=None, append=None):
    """Cotangent of ``a`` in ``np.diff(a, n, axis, prepend, append)``: the transpose of
    ``y = x[1:] - x[:-1]``, applied ``n`` times, cut back to ``a``'s part."""
    a = np.asarray(a)
    axis = axis % a.ndim
    for _ in range(n):
        edge = np.zeros_like(np.take(g, np.asarray([0]), axis=axis))
        g = np.concatenate([edge, g], axis=axis) - np.concatenate([g, edge], axis=axis)
    before = 0 if prepend is None else (np.shape(prepend)[axis] if np.ndim(prepend) else 1)
    return np.take(g, np.arange(before, before + a.shape[axis]), axis=axis)


@vjp(diff_vjp, samples=[Sample((A(2, 4), A(4, 4), 2, 0))])
def diff_vjp_rule(gg, ans, g, a, n=1, axis=-1, prepend=None, append=None):
    """Linear in ``g``: its transpose is the difference itself."""
    return np.diff(gg, n, axis), tgr.zeros_like_value(a), None, None, None, None


@vjp(np.gradient, linear=(0,), samples=[
    Sample((A(5),)), Sample((A(3, 4), 0.5, 2.0), wrt=(0,))])
def gradient(g, ans, f, *varargs, axis=None, edge_order=1):
    """Differentiable in ``f`` (spacings and coordinates are constants). ``g`` is one
    cotangent, or a list of them when the gradient is taken along several axes."""
    return (tgr.gradient_vjp(g, f, varargs, axis, edge_order),) + (None,) * len(varargs)


@helper(linear=(0,))
def gradient_vjp(g, f, varargs=(), axis=None, edge_order=1):
    """Cotangent of ``f`` in ``np.gradient(f, *varargs, axis, edge_order)``: along each axis
    the transpose of the stencil, whose matrix is the gradient of the identity (size n x n
    per axis: meant for the moderate lengths of a grid)."""
    f = np.asarray(f)
    axes = tuple(range(f.ndim)) if axis is None else \
        tuple(ax % f.ndim for ax in ((axis,) if np.ndim(axis) == 0 else axis))
    spacings = list(varargs) if len(varargs) > 1 else [1.0 if not varargs else varargs[0]] * \
        len(axes)
    parts = [g] if len(axes) == 1 else list(g)
    total = np.zeros(f.shape, dtype=np.result_type(f, float))
    for part, ax, spacing in zip(parts, axes, spacings):
        if part is None:
            continue
        stencil = np.gradient(np.eye(f.shape[ax]), spacing, axis=0, edge_order=edge_order)
        moved = np.tensordot(np.transpose(stencil), np.moveaxis(part, ax, 0), axes=1)
        total = total + np.moveaxis(moved, 0, ax)
    return total


# --- products --------------------------------------------------------------------------------

@helper
def cross_product(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross``; of two 3-vectors, by its components: numpy's goes through three
    ``moveaxis`` calls (15-25 us for GradBench ba's rotations, the components 3-4 us, and
    0.9 us as Python floats for two float64 vectors)."""
    if axis is None and axisa == -1 and axisb == -1 and axisc == -1 \
            and type(a) is np.ndarray and type(b) is np.ndarray and a.shape == (3,) \
            and b.shape == (3,):
        if a.dtype == np.float64 and b.dtype == np.float64:
            a0, a1, a2 = a.tolist()
            b0, b1, b2 = b.tolist()
            return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])
        return a[[1, 2, 0]] * b[[2, 0, 1]] - a[[2, 0, 1]] * b[[1, 2, 0]]
    return np.cross(a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


@vjp(np.cross, cross_product, broadcasting=True, linear=True, samples=[
    Sample((A(4, 3), A(3))), Sample((A(3, 2), A(2, 3)), {"axisa": 0, "axisc": 0}),
    Sample((A(3), A(3)))])
def cross(g, ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """3-vectors: ``<g, a x b> = <b x g, a> = <g x a, b>``, each vector along its own axis."""
    ba = tgr.cross_product(b, g, axisa=axisb, axisb=axisc, axisc=axisa, axis=axis)
    bb = tgr.cross_product(g, a, axisa=axisc, axisb=axisa, axisc=axisb, axis=axis)
    return ba, bb


# --- interpolation and quadrature -------------------------------------------------------------

_INTERP = [Sample((A(3, 4), np.array([-1.5, -0.5, 0.3, 1.5]), A(4))),
           Sample((A(6), np.array([-3.0, -1.0, 0.5, 3.0]), A(4)), {"left": 0.0, "right": 1.0}),
]


@vjp(np.interp, linear=(2,), samples=_INTERP)
def interp(g, ans, x, xp, fp, left=None, right=None, period=None):
    """Piecewise linear: in ``x`` the slope of the segment (zero outside ``xp``'s range), in
    ``xp`` and ``fp`` the weights of the two ends of each point's segment (``period`` not
    supported). At a knot the slope of the segment to its right (JAX's convention)."""
    bx, bxp, bfp = tgr.interp_vjp(g, x, xp, fp, left, right)
    return bx, bxp, bfp


@helper
def _interp_knots(x, xp):
    """For each point of ``x``: the index of its segment's left knot, and whether it lies
    inside ``xp``'s range (indices and flags: no derivative, so the index and condition
    arguments of the rule's ``add_at`` and ``np.where`` stay inactive when it is
    differentiated)."""
    x, xp = np.asarray(x), np.asarray(xp)
    low = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, xp.shape[0] - 2)
    return low, (x >= xp[0]) & (x <= xp[-1])


nondifferentiable(_interp_knots, reason="indices")


@helper(source=True)
def _interp_segments(x, xp, low):
    """For each point of ``x`` in the segment starting at knot ``low``: the segment's width
    and the point's fraction ``t`` along it."""
    x, xp = np.asarray(x), np.asarray(xp)
    width = xp[low + 1] - xp[low]
    t = (x - xp[low]) / width
    return t, width


@helper(source=True)
def interp_vjp(g, x, xp, fp, left=None, right=None):
    """Cotangents of ``x``, ``xp`` and ``fp`` in ``np.interp(x, xp, fp, left, right)``."""
    low, inside = _interp_knots(x, xp)
    t, width = _interp_segments(x, xp, low)
    fp = np.asarray(fp)
    rise = fp[low + 1] - fp[low]
    g = np.asarray(g)
    gi = np.where(inside, g, 0.0)
    bx = gi * rise / width
    bfp = add_at(np.zeros(fp.shape), np.ravel(low), np.ravel(gi * (1 - t)))
    bfp = add_at(bfp, np.ravel(low + 1), np.ravel(gi * t))
    ends = np.zeros(fp.shape)
    if left is None:
        ends = add_at(ends, 0, np.sum(np.where(np.asarray(x) < xp[0], g, 0.0)))
    if right is None:
        ends = add_at(ends, -1, np.sum(np.where(np.asarray(x) > xp[-1], g, 0.0)))
    slope_g = gi * rise / width
    bxp = add_at(np.zeros(np.shape(xp)), np.ravel(low), np.ravel(slope_g * (t - 1)))
    bxp = add_at(bxp, np.ravel(low + 1), np.ravel(-slope_g * t))
    return bx, bxp, bfp + ends


@helper
def interp_jvp(dx, dxp, x, xp, fp):
    """Tangent of ``np.interp(x, xp, fp)`` for the tangents ``dx`` of ``x`` and ``dxp`` of
    ``xp`` (either may be None)."""
    low, inside = _interp_knots(x, xp)
    t, width = _interp_segments(x, xp, low)
    fp = np.asarray(fp)
    slope = (fp[low + 1] - fp[low]) / width
    out = np.zeros(np.shape(t))
    if dx is not None:
        out = out + slope * dx
    if dxp is not None:
        dxp = np.asarray(dxp)
        out = out + slope * ((t - 1) * dxp[low] - t * dxp[low + 1])
    return np.where(inside, out, 0.0)


@jvp(np.interp, samples=_INTERP)
def interp_jvp_x(g, ans, x, xp, fp, left=None, right=None, period=None):
    return tgr.interp_jvp(g, None, x, xp, fp)


@jvp(np.interp, argnum=1, samples=[Sample((A(5), np.array([-2.5, -1.0, 0.2, 0.9, 2.5]), A(5)),
                                          wrt=(1,))])
def interp_jvp_xp(g, ans, x, xp, fp, left=None, right=None, period=None):
    return tgr.interp_jvp(None, g, x, xp, fp)


@vjp(np.trapezoid, linear=(0, 1), samples=[
    Sample((A(3, 4),), {"axis": 0, "dx": 0.5}),
    Sample((A(2, 4), np.array([0.0, 0.3, 0.5, 1.1])), wrt=(0, 1))])
def trapezoid(g, ans, y, x=None, dx=1.0, axis=-1):
    """Differentiable in ``y`` and ``x`` (bilinear in the two); ``dx`` is a constant."""
    by, bx = tgr.trapezoid_vjp(g, y, x, dx, axis)
    return by, bx


@helper(source=True)
def trapezoid_vjp(g, y, x=None, dx=1.0, axis=-1):
    """Cotangents of ``y`` and ``x`` in ``np.trapezoid(y, x, dx, axis)``."""
    y = np.asarray(y)
    axis = axis % y.ndim
    n = y.shape[axis]
    g = np.expand_dims(g, axis)
    if x is None:
        weights = np.full(n, float(dx))
        weights[0] = weights[-1] = dx / 2
        shape = [1] * y.ndim
        shape[axis] = n
        return g * np.reshape(weights, shape), None
    x = np.asarray(x)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[axis] = n
        xs = np.reshape(x, shape)
    else:
        xs = x
    widths = np.diff(xs, axis=axis)
    zero = np.zeros_like(np.take(widths, np.asarray([0]), axis=axis))
    by = g * (np.concatenate([widths, zero], axis=axis)
              + np.concatenate([zero, widths], axis=axis)) / 2
    heights = g * (np.take(y, np.arange(1, n), axis=axis)
                   + np.take(y, np.arange(n - 1), axis=axis)) / 2
    edge = np.zeros_like(np.take(heights, np.asarray([0]), axis=axis))
    bx = np.concatenate([edge, heights], axis=axis) - np.concatenate([heights, edge], axis=axis)
    if x.ndim == 1:
        bx = np.sum(bx, axis=tuple(i for i in range(y.ndim) if i != axis))
    return by, unbroadcast_to(bx, x)


# --- convolution ------------------------------------------------------------------------------

_CONV = [Sample((A(3), A(5))), Sample((A(4), A(3), "same"))]


@vjp(np.convolve, linear=True, samples=_CONV)
def convolve(g, ans, a, v, mode="full"):
    """``y[k] = sum_i a[i] v[k - i]``: each cotangent is a correlation of the full-length
    ``g`` with the other operand."""
    full = tgr.full_length(g, np.size(a) + np.size(v) - 1)
    return np.correlate(full, v, "valid"), np.correlate(full, a, "valid"), None


@vjp(np.correlate, linear=True, samples=[Sample((A(5), A(3))), Sample((A(3), A(6)),
                                                                       {"mode": "valid"})])
def correlate(g, ans, a, v, mode="valid"):
    """``np.correlate(a, v) == np.convolve(a, v[::-1])``: the convolution's cotangents."""
    full = tgr.full_length(g, np.size(a) + np.size(v) - 1)
    return np.correlate(full, np.flip(v), "valid"), np.flip(np.correlate(full, a, "valid")), \
        None


@helper(linear=(0,))
def full_length(g, length):
    """``g`` of a ``'same'`` or ``'valid'`` convolution padded with zeros to the ``'full'``
    length (the cut is centred, as numpy centres it)."""
    before = (length - np.size(g)) // 2
    return np.pad(g, (before, length - np.size(g) - before))


@vjp(full_length, samples=[Sample((A(4), 6))])
def full_length_rule(gg, ans, g, length):
    before = (length - np.size(g)) // 2
    return gg[before:before + np.size(g)], None


# --- cleaning --------------------------------------------------------------------------------

@vjp(np.nan_to_num, elementwise=True, samples=[
    Sample((np.array([1.0, np.nan, 0.5, -2.0, np.nan]),), {"nan": 1.0})])
def nan_to_num(g, ans, x, copy=True, nan=0.0, posinf=None, neginf=None):
    """The finite entries pass ``g``; replaced NaNs and infinities are constants."""
    return g * np.isfinite(x)


@vjp(np.select, jointly_linear=(1, 2), samples=[
    Sample(([np.array([True, False, False, True]), np.array([False, True, False, True])],
            [A(4), A(4)], A(4)))])
def select(g, ans, condlist, choicelist, default=0):
    """Each output element's cotangent goes to the choice of its first true condition, or to
    ``default`` where none holds."""
    b_choices, b_default = tgr.select_vjp(g, condlist, choicelist, default)
    return None, b_choices, b_default


@helper(linear=(0,))
def select_vjp(g, condlist, choicelist, default=0):
    """Cotangents of ``choicelist`` (a list) and ``default`` in ``np.select``."""
    taken = np.zeros(np.shape(g), dtype=bool)
    b_choices = []
    for cond, choice in zip(condlist, choicelist):
        here = np.logical_and(cond, np.logical_not(taken))
        b_choices.append(unbroadcast(np.where(here, g, 0.0), np.shape(choice)))
        taken = np.logical_or(taken, here)
    return b_choices, unbroadcast(np.where(taken, 0.0, g), np.shape(default))
