"""Rules for matrix decompositions and the numpy 2 norms: eigh, eig, svd, qr, lstsq,
multi_dot, matrix_norm, vector_norm.

Where a derivative is undefined (repeated eigenvalues of ``eigh`` or ``eig``, repeated or zero
singular values of ``svd``) the formulas divide by the gaps as JAX's do, so the result is
``inf`` or ``nan`` there, not a silently chosen value. Each rule takes the cotangent of a
tuple result (``(w, v)``, ``(u, s, vh)``, ``(q, r)``) with ``None`` or zeros for the parts
not used.
"""

import numpy as np

from .. import runtime as tgr
from ..runtime import ListCotangent, structure_part, zeros_like_value
from .linalg import norm_vjp
from .registry import Sample, helper, jvp, nondifferentiable, vjp
from .specs import SPD, A

# --- symmetric eigendecomposition -----------------------------------------------------------

@vjp(np.linalg.eigh, samples=[Sample((SPD(3),)), Sample((SPD(2, (2,)),))])
def eigh(g, ans, a, UPLO="L"):
    """``a = v diag(w) v^T`` (distinct eigenvalues): ``v (diag(gw) + F * (v^T gv)) v^T``,
    ``F[i, j] = 1 / (w[j] - w[i])``, symmetrized (JAX's convention: the input is read as
    symmetric)."""
    return tgr.eigh_vjp(tgr.structure_part(g, 0, ans), tgr.structure_part(g, 1, ans), ans)


@helper(source=True)
def eigh_vjp(gw, gv, ans):
    """Cotangent of ``a`` in ``np.linalg.eigh(a)`` given those of ``w`` and ``v``."""
    w, v = ans[0], ans[1]
    n = np.shape(w)[-1]
    eye = np.eye(n, dtype=bool)
    gaps = w[..., None, :] - w[..., :, None]
    f = np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps))
    inner = f * (np.swapaxes(v, -1, -2) @ gv) + eye * gw[..., None, :]
    out = v @ inner @ np.swapaxes(v, -1, -2)
    return (out + np.swapaxes(out, -1, -2)) / 2


# --- general eigendecomposition (real eigenvalues) ------------------------------------------

_EIG = np.array([[2.0, 1.0, 0.3], [0.5, -1.0, 0.2], [0.1, 0.4, 0.5]])


@vjp(np.linalg.eig, samples=[Sample((_EIG,)), Sample((np.array([[1.5, 0.2], [0.7, -0.4]]),))])
def eig(g, ans, a):
    """Real matrices with real, distinct eigenvalues (the eigenvectors of unit norm, as
    numpy returns them): ``v^-T (diag(gw) + F * (v^T gv')) v^T`` with ``gv'`` the cotangent
    with its component along each eigenvector removed (the normalization)."""
    return tgr.eig_vjp(tgr.structure_part(g, 0, ans), tgr.structure_part(g, 1, ans), ans)


@helper
def eig_vjp(gw, gv, ans):
    """Cotangent of ``a`` in ``np.linalg.eig(a)`` (real eigenvalues) given ``w``'s and
    ``v``'s."""
    w, v = ans[0], ans[1]
    if np.iscomplexobj(w):
        raise ValueError("transgrad: the derivative of np.linalg.eig is implemented for real "
                         "eigenvalues only")
    n = np.shape(w)[-1]
    eye = np.eye(n, dtype=bool)
    gaps = w[..., None, :] - w[..., :, None]
    f = np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps))
    gv = gv - v * np.sum(v * gv, axis=-2, keepdims=True)
    inner = f * (np.swapaxes(v, -1, -2) @ gv) + eye * gw[..., None, :]
    return np.linalg.solve(np.swapaxes(v, -1, -2), inner @ np.swapaxes(v, -1, -2))


@helper
def eig_jvp(da, ans):
    """Tangent of ``np.linalg.eig(a)`` (real, distinct eigenvalues, unit eigenvectors)."""
    w, v = ans[0], ans[1]
    n = np.shape(w)[-1]
    eye = np.eye(n, dtype=bool)
    gaps = w[..., None, :] - w[..., :, None]
    f = np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps))
    m = np.linalg.solve(v, da @ v)
    dv = v @ (f * m)
    dv = dv - v * np.sum(v * dv, axis=-2, keepdims=True)
    tangent = (np.diagonal(m, axis1=-2, axis2=-1), dv)
    return tangent


@jvp(np.linalg.eig, samples=[Sample((_EIG,))])
def eig_jvp_rule(g, ans, a):
    return tgr.eig_jvp(g, ans)


# --- singular value decomposition -----------------------------------------------------------

_SVD = [Sample((A(2, 4),), {"full_matrices": False}), Sample((A(3, 2),), {"compute_uv": False}),
        Sample((A(2, 3, 2),), {"full_matrices": False})]


@vjp(np.linalg.svd, samples=_SVD)
def svd(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Distinct nonzero singular values; ``full_matrices=True`` only for square matrices
    (as JAX). With ``compute_uv=False``, ``u diag(g) v^T``."""
    return tgr.svd_vjp(g, ans, a, full_matrices, compute_uv)


@helper
def check_svd(m, n, full_matrices):
    """Raise ValueError for the full decomposition of a non-square matrix (as JAX does)."""
    if full_matrices and m != n:
        raise ValueError("transgrad: the derivative of np.linalg.svd with full_matrices=True "
                         "needs a square matrix (as in JAX): pass full_matrices=False")


@helper
def check_qr(m, n, mode):
    """Raise ValueError unless ``np.linalg.qr``'s derivative is implemented for the case."""
    if m < n or mode not in ("reduced", "r", "complete") or (mode == "complete" and m != n):
        raise ValueError("transgrad: the derivative of np.linalg.qr needs mode='reduced' (or "
                         "'r') and a matrix with at least as many rows as columns")


nondifferentiable(check_svd, check_qr, reason="checks an argument")


@helper(source=True)
def svd_vjp(g, ans, a, full_matrices=True, compute_uv=True):
    """Cotangent of ``a`` in ``np.linalg.svd(a, full_matrices, compute_uv)``."""
    m, n = np.shape(a)[-2:]
    if not compute_uv:
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        return (u * g[..., None, :]) @ vh
    check_svd(m, n, full_matrices)
    u, s, vh = ans[0], ans[1], ans[2]
    gu, gs, gvh = structure_part(g, 0, ans), structure_part(g, 1, ans), structure_part(g, 2, ans)
    v, gv = np.swapaxes(vh, -1, -2), np.swapaxes(gvh, -1, -2)
    k = np.shape(s)[-1]
    eye = np.eye(k)
    f = 1 / (s[..., None, :] ** 2 - s[..., :, None] ** 2 + eye) - eye
    utgu = np.swapaxes(u, -1, -2) @ gu
    vtgv = np.swapaxes(v, -1, -2) @ gv
    inner = (f * (utgu - np.swapaxes(utgu, -1, -2))) * s[..., None, :] + eye * gs[..., :, None] \
        + s[..., :, None] * (f * (vtgv - np.swapaxes(vtgv, -1, -2)))
    out = u @ inner @ vh
    if m < n:
        out = out + (u / s[..., None, :]) @ np.swapaxes(gv, -1, -2) @ (np.eye(n) - v @ vh)
    elif m > n:
        out = out + (np.eye(m) - u @ np.swapaxes(u, -1, -2)) @ gu @ (v / s[..., None, :]).swapaxes(
            -1, -2)
    return out


@helper
def svd_jvp(da, ans, a, full_matrices=True, compute_uv=True):
    """Tangent of ``np.linalg.svd`` (JAX's formula; distinct nonzero singular values)."""
    m, n = np.shape(a)[-2:]
    if compute_uv:
        check_svd(m, n, full_matrices)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    v = np.swapaxes(vh, -1, -2)
    ds_full = np.swapaxes(u, -1, -2) @ da @ v
    ds = np.diagonal(ds_full, axis1=-2, axis2=-1)
    if not compute_uv:
        return ds
    k = np.shape(s)[-1]
    eye = np.eye(k)
    f = 1 / (s[..., None, :] ** 2 - s[..., :, None] ** 2 + eye) - eye
    dss = ds_full * s[..., None, :]
    sds = s[..., :, None] * ds_full
    du = u @ (f * (dss + np.swapaxes(dss, -1, -2)))
    dv = v @ (f * (sds + np.swapaxes(sds, -1, -2)))
    if m > n:
        dav = da @ v
        du = du + (dav - u @ (np.swapaxes(u, -1, -2) @ dav)) / s[..., None, :]
    if n > m:
        dau = np.swapaxes(da, -1, -2) @ u
        dv = dv + (dau - v @ (vh @ dau)) / s[..., None, :]
    tangent = (du, ds, np.swapaxes(dv, -1, -2))
    return tangent


@jvp(np.linalg.svd, samples=_SVD)
def svd_jvp_rule(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    return tgr.svd_jvp(g, ans, a, full_matrices, compute_uv)


# --- QR ---------------------------------------------------------------------------------------

_QR = [Sample((A(2, 4, 2),)), Sample((A(4, 3), "r"))]


@vjp(np.linalg.qr, samples=_QR)
def qr(g, ans, a, mode="reduced"):
    """``mode='reduced'`` (or ``'r'``), ``a`` with at least as many rows as columns:
    ``(gq + q copyltu(M)) r^-T`` with ``M = r gr^T - gq^T q``."""
    return tgr.qr_vjp(g, ans, a, mode)


@helper(source=True)
def qr_vjp(g, ans, a, mode="reduced"):
    """Cotangent of ``a`` in ``np.linalg.qr(a, mode)``."""
    m, n = np.shape(a)[-2:]
    check_qr(m, n, mode)
    if mode == "r":
        q, r = np.linalg.qr(a)
        gq, gr = np.zeros_like(q), g
    else:
        q, r = ans[0], ans[1]
        gq, gr = structure_part(g, 0, ans), structure_part(g, 1, ans)
    mat = r @ np.swapaxes(gr, -1, -2) - np.swapaxes(gq, -1, -2) @ q
    low = np.tril(mat, -1)
    sym = low + np.swapaxes(low, -1, -2) + np.tril(np.triu(mat))
    rhs = gq + q @ sym
    # rhs r^-T: solve r x^T = rhs^T
    return np.swapaxes(np.linalg.solve(r, np.swapaxes(rhs, -1, -2)), -1, -2)


@helper
def qr_jvp(da, ans, a, mode="reduced"):
    """Tangent of ``np.linalg.qr(a, mode)`` (JAX's formula)."""
    q, r = np.linalg.qr(a)
    dx_rinv = np.swapaxes(np.linalg.solve(np.swapaxes(r, -1, -2), np.swapaxes(da, -1, -2)),
                          -1, -2)
    qt_dx_rinv = np.swapaxes(q, -1, -2) @ dx_rinv
    low = np.tril(qt_dx_rinv, -1)
    do = low - np.swapaxes(low, -1, -2)
    dq = q @ (do - qt_dx_rinv) + dx_rinv
    dr = (qt_dx_rinv - do) @ r
    if mode == "r":
        return dr
    tangent = (dq, dr)
    return tangent


@jvp(np.linalg.qr, samples=_QR)
def qr_jvp_rule(g, ans, a, mode="reduced"):
    return tgr.qr_jvp(g, ans, a, mode)


# --- least squares --------------------------------------------------------------------------

_LSTSQ = [Sample((A(5, 3), A(5))), Sample((A(5, 3), A(5, 2)))]


@vjp(np.linalg.lstsq, samples=_LSTSQ)
def lstsq(g, ans, a, b, rcond=None):
    """Full column rank ``a``: through the solution ``x = pinv(a) b``, the residuals (their
    derivative in ``x`` is zero at the optimum) and the singular values; the rank is
    constant."""
    ba, bb = tgr.lstsq_vjp(g, ans, a, b)
    return ba, bb, None


@helper(source=True)
def lstsq_vjp(g, ans, a, b):
    """Cotangents of ``a`` and ``b`` in ``np.linalg.lstsq(a, b)``."""
    x = ans[0]
    gx, gres, gs = structure_part(g, 0, ans), structure_part(g, 1, ans), \
        structure_part(g, 3, ans)
    vector = np.ndim(b) == 1
    b2, x2, gx2 = (np.reshape(t, (-1, 1)) if vector else t for t in (b, x, gx))
    p = np.linalg.pinv(a)
    bb = np.swapaxes(p, -1, -2) @ gx2
    gp = gx2 @ np.swapaxes(b2, -1, -2)
    p_t = np.swapaxes(p, -1, -2)
    g_t = np.swapaxes(gp, -1, -2)
    ba = (-p_t @ gp @ p_t + (g_t - a @ (p @ g_t)) @ (p @ p_t)
          + (p_t @ p) @ (g_t - (g_t @ p) @ a))
    if np.size(gres) and np.size(ans[1]):
        residual = b2 - a @ x2
        weights = np.reshape(gres, (1, -1))
        bb = bb + 2 * residual * weights
        ba = ba - 2 * (residual * weights) @ np.swapaxes(x2, -1, -2)
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    ba = ba + (u * gs[..., None, :]) @ vh
    return ba, np.reshape(bb, np.shape(b))


@helper
def lstsq_jvp(da, db, a, b, ans):
    """Tangent of ``np.linalg.lstsq(a, b)`` (full column rank) for the tangents ``da`` and
    ``db`` (None: zero): the solution's, the residuals' and the singular values'."""
    x, residuals, rank = ans[0], ans[1], ans[2]
    vector = np.ndim(b) == 1
    b2, x2 = (np.reshape(t, (-1, 1)) if vector else t for t in (b, x))
    p = np.linalg.pinv(a)
    dx2 = np.zeros(np.shape(x2))
    d_fit = np.zeros(np.shape(b2))
    ds = np.zeros(np.shape(ans[3]))
    if da is not None:
        p_t = np.swapaxes(p, -1, -2)
        g_t = np.swapaxes(da, -1, -2)
        dp = (-(p @ da @ p) + (p @ p_t) @ (g_t - (g_t @ a) @ p)
              + (g_t - p @ (a @ g_t)) @ (p_t @ p))
        dx2 = dx2 + dp @ b2
        d_fit = d_fit - da @ x2
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        ds = np.diagonal(np.swapaxes(u, -1, -2) @ da @ np.swapaxes(vh, -1, -2), axis1=-2,
                         axis2=-1)
    if db is not None:
        db2 = np.reshape(db, (-1, 1)) if vector else db
        dx2 = dx2 + p @ db2
        d_fit = d_fit + db2
    d_res = np.zeros(np.shape(residuals))
    if np.size(residuals):
        d_res = np.reshape(2 * np.sum((b2 - a @ x2) * d_fit, axis=0), np.shape(residuals))
    tangent = (np.reshape(dx2, np.shape(x)), d_res, zeros_like_value(rank), ds)
    return tangent


@jvp(np.linalg.lstsq, samples=_LSTSQ)
def lstsq_jvp_a(g, ans, a, b, rcond=None):
    return tgr.lstsq_jvp(g, None, a, b, ans)


@jvp(np.linalg.lstsq, argnum=1, samples=_LSTSQ)
def lstsq_jvp_b(g, ans, a, b, rcond=None):
    return tgr.lstsq_jvp(None, g, a, b, ans)


# --- chained products and the numpy 2 norms -------------------------------------------------

@vjp(np.linalg.multi_dot, samples=[Sample(([A(2, 3), A(3, 4), A(4, 2)],)),
                                   Sample(([A(3), A(3, 2), A(2, 4)],))])
def multi_dot(g, ans, arrays, out=None):
    """Each matrix's cotangent is ``g`` between the products of the others (1-d ends read as
    a row and a column)."""
    return tgr.multi_dot_vjp(g, arrays)


@helper(linear=(0,))
def multi_dot_vjp(g, arrays):
    """Cotangents of the ``arrays`` of ``np.linalg.multi_dot(arrays)`` (a list)."""
    mats = [np.asarray(x) for x in arrays]
    first_vector, last_vector = mats[0].ndim == 1, mats[-1].ndim == 1
    if first_vector:
        mats[0] = mats[0][None, :]
        g = np.expand_dims(g, 0)
    if last_vector:
        mats[-1] = mats[-1][:, None]
        g = np.expand_dims(g, -1)
    out = []
    for i in range(len(mats)):
        left = np.eye(mats[0].shape[0])
        for mat in mats[:i]:
            left = left @ mat
        right = np.eye(mats[-1].shape[1])
        for mat in reversed(mats[i + 1:]):
            right = mat @ right
        out.append(np.swapaxes(left, -1, -2) @ g @ np.swapaxes(right, -1, -2))
    if first_vector:
        out[0] = out[0][0]
    if last_vector:
        out[-1] = out[-1][:, 0]
    return ListCotangent(out)   # + adds entry by entry (forward mode sums two such tangents)


@helper
def multi_dot_vjp_jvp(tangents, g, arrays):
    """Tangent of ``multi_dot_vjp(g, arrays)`` for the ``arrays``' tangents (None: constant):
    each part is a product of the other arrays, so one operand's tangent at a time moves every
    part but its own."""
    total = [np.zeros(np.shape(a)) for a in arrays]
    for j, t in enumerate(tangents):
        if t is None:
            continue
        operands = list(arrays)
        operands[j] = t
        parts = multi_dot_vjp(g, operands)
        for i in range(len(parts)):
            if i != j:
                total[i] = total[i] + parts[i]
    return ListCotangent(total)


@jvp(multi_dot_vjp, argnum=1, samples=[Sample((A(2, 2), [A(2, 3), A(3, 4), A(4, 2)]), wrt=(1,)),
                                       Sample((A(4), [A(3), A(3, 2), A(2, 4)]), wrt=(1,))])
def multi_dot_vjp_jvp_rule(g, ans, gg, arrays):
    """``linear=(0,)`` is in the cotangent ``gg``; the arrays move each part too (hvp)."""
    return tgr.multi_dot_vjp_jvp(g, gg, arrays)


@helper
def multi_dot_jvp(tangents, arrays):
    """Tangent of ``np.linalg.multi_dot(arrays)``: one operand's tangent at a time."""
    total = 0.0
    for i, t in enumerate(tangents):
        if t is None:
            continue
        operands = list(arrays)
        operands[i] = t
        total = total + np.linalg.multi_dot(operands)
    return total


@jvp(np.linalg.multi_dot, samples=[Sample(([A(2, 3), A(3, 4), A(4, 2)],))])
def multi_dot_jvp_rule(g, ans, arrays, out=None):
    return tgr.multi_dot_jvp(g, arrays)


@vjp(np.linalg.vector_norm, reduction=True, samples=[
    Sample((A(3, 4),), {"axis": 1}), Sample((A(3, 4),), {"ord": 1, "keepdims": True})])
def vector_norm(g, ans, x, axis=None, keepdims=False, ord=2):
    """``np.linalg.norm`` of the flattened (``axis=None``) or selected axes."""
    return tgr.vector_norm_vjp(g, ans, x, axis, keepdims, ord)


@helper
def vector_norm_vjp(g, ans, x, axis=None, keepdims=False, ord=2):
    """Cotangent of ``x`` in ``np.linalg.vector_norm``: as ``norm`` of the flattened axes."""
    x = np.asarray(x)
    axes = tuple(range(x.ndim)) if axis is None else \
        tuple(a % x.ndim for a in ((axis,) if np.ndim(axis) == 0 else axis))
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = np.reshape(np.transpose(x, kept + list(axes)), [x.shape[i] for i in kept] + [-1])
    g_flat = np.reshape(g, [x.shape[i] for i in kept])
    ans_flat = np.reshape(ans, [x.shape[i] for i in kept])
    b = norm_vjp(g_flat, ans_flat, moved, ord, -1, False)
    b = np.reshape(b, [x.shape[i] for i in kept] + [x.shape[i] for i in axes])
    return np.transpose(b, np.argsort(kept + list(axes)))


@vjp(np.linalg.matrix_norm, samples=[
    Sample((A(2, 3, 4),)), Sample((A(2, 3, 3),), {"ord": "nuc", "keepdims": True})])
def matrix_norm(g, ans, x, keepdims=False, ord="fro"):
    """``np.linalg.norm`` over the last two axes."""
    return tgr.norm_vjp(g, ans, x, ord, (-2, -1), keepdims)


@jvp(np.linalg.matrix_norm, samples=[Sample((A(2, 3, 4),)), Sample((A(3, 4),), {"ord": "nuc"}),
                                     Sample((A(2, 3, 3),), {"ord": 1, "keepdims": True})])
def matrix_norm_jvp(g, ans, x, keepdims=False, ord="fro"):
    """Each matrix's slopes times its tangent, summed over the matrix."""
    return np.sum(tgr.norm_vjp(np.ones_like(ans), ans, x, ord, (-2, -1), keepdims) * g,
                  axis=(-2, -1), keepdims=keepdims)
