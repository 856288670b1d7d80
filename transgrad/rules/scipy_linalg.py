"""Rules for ``scipy.linalg`` and ``scipy.signal.convolve`` (loaded only when scipy imports).

Matrices are 2-d (scipy's functions take no batch axes). Forward mode: explicit ``@jvp``
rules, one per differentiable argument, or linearity (``convolve`` is linear in each input).
"""

import numpy as np
from scipy import linalg, signal

from .. import runtime as tgr
from .registry import Sample, helper, jvp, vjp
from .specs import SPD, A, W

_LINALG = "jax.scipy.linalg."


# --- triangular and Cholesky solves ---------------------------------------------------------

_TRIANGULAR = [Sample((W(3), A(3, 2)), {"lower": True}),
               Sample((W(3), A(3, 2)), {"trans": 1, "lower": True}),
               Sample((W(3), A(3)), {"trans": "T", "unit_diagonal": True})]


@vjp(linalg.solve_triangular, jax=_LINALG + "solve_triangular", samples=_TRIANGULAR)
def solve_triangular(g, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """``a``'s cotangent lives on the triangle the solve reads (off the diagonal only, when
    ``unit_diagonal``)."""
    if trans == 0 or trans == "N":
        gb = linalg.solve_triangular(a, g, trans=1, lower=lower, unit_diagonal=unit_diagonal)
        full = -tgr.outer_columns(gb, ans)
    else:
        gb = linalg.solve_triangular(a, g, trans=0, lower=lower, unit_diagonal=unit_diagonal)
        full = -tgr.outer_columns(ans, gb)
    return tgr.triangle(full, lower, unit_diagonal), gb


@jvp(linalg.solve_triangular, samples=_TRIANGULAR)
def solve_triangular_jvp_a(g, ans, a, b, trans=0, lower=False, unit_diagonal=False,
                           overwrite_b=False, check_finite=True):
    """``dx = -op(a)^-1 op(da) x`` with ``da`` on the triangle the solve reads."""
    da = tgr.triangle(g, lower, unit_diagonal)
    if trans == 0 or trans == "N":
        dx = -linalg.solve_triangular(a, da @ ans, trans=0, lower=lower,
                                      unit_diagonal=unit_diagonal)
    else:
        dx = -linalg.solve_triangular(a, da.T @ ans, trans=1, lower=lower,
                                      unit_diagonal=unit_diagonal)
    return dx


@jvp(linalg.solve_triangular, argnum=1, samples=_TRIANGULAR)
def solve_triangular_jvp_b(g, ans, a, b, trans=0, lower=False, unit_diagonal=False,
                           overwrite_b=False, check_finite=True):
    return linalg.solve_triangular(a, g, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


@helper(linear=(0,))
def triangle(m, lower, unit_diagonal=False):
    """The lower (or upper) triangle of ``m``; without the diagonal when ``unit_diagonal``."""
    if lower:
        return np.tril(m, -1 if unit_diagonal else 0)
    return np.triu(m, 1 if unit_diagonal else 0)


@helper(linear=True)
def outer_columns(u, v):
    """``u @ v.T`` for matrices, ``outer(u, v)`` for vectors (the columns of a solve)."""
    if np.ndim(u) == 1:
        return np.outer(u, v)
    return u @ np.swapaxes(v, -1, -2)


@vjp(outer_columns, samples=[Sample((A(3), A(2))), Sample((A(3, 2), A(4, 2)))])
def outer_columns_rule(g, ans, u, v):
    """Second order: ``g @ v`` and ``g^T @ u`` (``@`` of a matrix and a vector for vectors)."""
    return g @ v, np.swapaxes(g, -1, -2) @ u


@vjp(triangle, samples=[Sample((A(3, 3), True)), Sample((A(3, 3), False, True))])
def triangle_rule(g, ans, m, lower, unit_diagonal=False):
    return tgr.triangle(g, lower, unit_diagonal), None, None


@vjp(linalg.cho_factor, samples=[Sample((SPD(3),)), Sample((SPD(3),), {"lower": True})])
def cho_factor(g, ans, a, lower=False, overwrite_a=False, check_finite=True):
    """``g`` is ``(g_c, g_lower)``. ``c`` holds the factor in one triangle and ``a``'s own
    entries in the other (LAPACK leaves them): those pass their cotangent straight through;
    the factor's is the symmetric one of ``np.linalg.cholesky``."""
    if lower:
        factor, g_factor = np.tril(ans[0]), np.tril(g[0])
        through = np.triu(g[0], 1)
    else:
        factor, g_factor = np.triu(ans[0]).T, np.triu(g[0]).T
        through = np.tril(g[0], -1)
    return tgr.cholesky_cotangent(g_factor, factor) + through


@jvp(linalg.cho_factor, samples=[Sample((SPD(3),)), Sample((SPD(3),), {"lower": True})])
def cho_factor_jvp(g, ans, a, lower=False, overwrite_a=False, check_finite=True):
    """The transpose of the reverse rule: the factor's triangle moves as
    ``np.linalg.cholesky``'s factor (``da`` symmetrized); the other triangle holds ``a``'s own
    entries, which move with ``da``; ``lower`` is a constant."""
    sym = (g + np.swapaxes(g, -1, -2)) / 2
    if lower:
        factor = np.tril(ans[0])
    else:
        factor = np.swapaxes(np.triu(ans[0]), -1, -2)
    l_inv = np.linalg.inv(factor)
    inner = l_inv @ sym @ np.swapaxes(l_inv, -1, -2)
    d_factor = factor @ (np.tril(inner) * (1 - 0.5 * np.eye(np.shape(a)[-1])))
    if lower:
        d_c = d_factor + np.triu(g, 1)
    else:
        d_c = np.swapaxes(d_factor, -1, -2) + np.tril(g, -1)
    tangent = (d_c, tgr.zeros_like_value(ans[1]))
    return tangent


@helper
def cholesky_cotangent(g, factor):
    """The symmetric cotangent of ``a`` for ``factor = cholesky(a)`` and its cotangent ``g``."""
    l_inv = np.linalg.inv(factor)
    phi = np.tril(np.swapaxes(factor, -1, -2) @ g) * (1 - 0.5 * np.eye(np.shape(factor)[-1]))
    s = np.swapaxes(l_inv, -1, -2) @ phi @ l_inv
    return (s + np.swapaxes(s, -1, -2)) / 2


_CHO_SOLVE = [Sample(((W(3), True), A(3)), wrt=(1,)), Sample(((W(3), False), A(3, 2)), wrt=(1,))]


@vjp(linalg.cho_solve, jax=_LINALG + "cho_solve", samples=_CHO_SOLVE)
def cho_solve(g, ans, c_and_lower, b, overwrite_b=False, check_finite=True):
    """``x = (l l^T)^-1 b`` with ``l`` the triangle of ``c``: ``b`` gets ``solve(g)``; ``c``
    the cotangent of its factor (zero off its triangle), ``lower`` none."""
    gb = linalg.cho_solve(c_and_lower, g)
    sym = -(tgr.outer_columns(gb, ans) + tgr.outer_columns(ans, gb))
    if c_and_lower[1]:
        gc = np.tril(sym @ np.tril(c_and_lower[0]))
    else:
        gc = np.triu(np.triu(c_and_lower[0]) @ sym)
    return (gc, None), gb


@jvp(linalg.cho_solve, argnum=1, samples=_CHO_SOLVE)
def cho_solve_jvp_b(g, ans, c_and_lower, b, overwrite_b=False, check_finite=True):
    return linalg.cho_solve(c_and_lower, g)


# --- matrix functions -----------------------------------------------------------------------

@vjp(linalg.expm, jax=_LINALG + "expm", samples=[Sample((A(3, 3),))])
def expm(g, ans, A):
    """The Frechet derivative at ``A^T`` applied to ``g``: the upper right block of the
    exponential of ``[[A^T, g], [0, A^T]]``."""
    n = np.shape(A)[-1]
    block = np.block([[A.T, g], [np.zeros((n, n)), A.T]])
    return linalg.expm(block)[:n, n:]


@jvp(linalg.expm, samples=[Sample((A(3, 3),))])
def expm_jvp(g, ans, A):
    n = np.shape(A)[-1]
    block = np.block([[A, g], [np.zeros((n, n)), A]])
    return linalg.expm(block)[:n, n:]


@vjp(linalg.sqrtm, jax=_LINALG + "sqrtm", samples=[Sample((SPD(3),)), Sample((W(3),))])
def sqrtm(g, ans, A, disp=True, blocksize=64):
    """``x x = a``: the cotangent solves ``x^T y + y x^T = g``."""
    return linalg.solve_sylvester(ans.T, ans.T, g)


@jvp(linalg.sqrtm, samples=[Sample((SPD(3),)), Sample((W(3),))])
def sqrtm_jvp(g, ans, A, disp=True, blocksize=64):
    return linalg.solve_sylvester(ans, ans, g)


_SYLVESTER = [Sample((W(3), W(2), A(3, 2)))]


@vjp(linalg.solve_sylvester, jax=_LINALG + "solve_sylvester", samples=_SYLVESTER)
def solve_sylvester(g, ans, a, b, q):
    """``a x + x b = q``: ``q`` gets ``y``, the solution of the transposed equation for
    ``g``; ``a`` gets ``-y x^T``, ``b`` gets ``-x^T y``."""
    y = linalg.solve_sylvester(a.T, b.T, g)
    return -y @ ans.T, -ans.T @ y, y


@jvp(linalg.solve_sylvester, samples=_SYLVESTER)
def solve_sylvester_jvp_a(g, ans, a, b, q):
    return linalg.solve_sylvester(a, b, -g @ ans)


@jvp(linalg.solve_sylvester, argnum=1, samples=_SYLVESTER)
def solve_sylvester_jvp_b(g, ans, a, b, q):
    return linalg.solve_sylvester(a, b, -ans @ g)


@jvp(linalg.solve_sylvester, argnum=2, samples=_SYLVESTER)
def solve_sylvester_jvp_q(g, ans, a, b, q):
    return linalg.solve_sylvester(a, b, g)


# --- banded solve (numpy backend only: JAX has no solve_banded) -----------------------------

_BANDED = np.array([[0.0, 0.5, -0.3, 0.2], [4.0, 5.0, 4.5, 6.0], [0.3, -0.4, 0.6, 0.0],
                    [0.2, 0.1, 0.0, 0.0]])
_BANDED_SAMPLES = [Sample(((2, 1), _BANDED, A(4, 2)))]


@vjp(linalg.solve_banded, samples=_BANDED_SAMPLES)
def solve_banded(g, ans, l_and_u, ab, b, overwrite_ab=False, overwrite_b=False,
                 check_finite=True):
    """Through the dense matrix: ``b`` gets ``solve(a^T, g)``, ``ab`` the band of
    ``-gb x^T``."""
    dense = tgr.banded_to_dense(l_and_u, ab)
    gb = np.linalg.solve(dense.T, g)
    return None, tgr.dense_to_banded(l_and_u, -tgr.outer_columns(gb, ans)), gb


@jvp(linalg.solve_banded, argnum=1, samples=_BANDED_SAMPLES)
def solve_banded_jvp_ab(g, ans, l_and_u, ab, b, overwrite_ab=False, overwrite_b=False,
                        check_finite=True):
    return -linalg.solve_banded(l_and_u, ab, tgr.banded_to_dense(l_and_u, g) @ ans)


@jvp(linalg.solve_banded, argnum=2, samples=_BANDED_SAMPLES)
def solve_banded_jvp_b(g, ans, l_and_u, ab, b, overwrite_ab=False, overwrite_b=False,
                       check_finite=True):
    return linalg.solve_banded(l_and_u, ab, g)


@helper(linear=(1,))
def banded_to_dense(l_and_u, ab):
    """The dense matrix of LAPACK band storage: ``a[i, j] = ab[u + i - j, j]``."""
    lower, upper = l_and_u
    n = np.shape(ab)[-1]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    row = upper + i - j
    inside = (row >= 0) & (row <= lower + upper)
    return np.where(inside, ab[np.clip(row, 0, lower + upper), j], 0.0)


@helper(linear=(1,))
def dense_to_banded(l_and_u, dense):
    """The band of ``dense`` in LAPACK band storage (zeros where the band has no entry)."""
    lower, upper = l_and_u
    n = np.shape(dense)[-1]
    k, j = np.meshgrid(np.arange(lower + upper + 1), np.arange(n), indexing="ij")
    i = k + j - upper
    inside = (i >= 0) & (i < n)
    return np.where(inside, dense[np.clip(i, 0, n - 1), j], 0.0)


# --- convolution ----------------------------------------------------------------------------

_CONVOLVE = [Sample((A(7), A(3))), Sample((A(6), A(4)), {"mode": "same"}),
             Sample((A(4, 5), A(2, 3)), {"mode": "valid"})]


@vjp(signal.convolve, linear=True, jax="jax.scipy.signal.convolve", samples=_CONVOLVE)
def convolve(g, ans, in1, in2, mode="full", method="auto"):
    """The cotangent padded back to the full output, correlated with the other input
    (``valid`` mode: ``in1`` at least as large as ``in2`` in every axis)."""
    full = tgr.pad_to_full_convolution(g, mode, np.shape(in1), np.shape(in2))
    return (signal.correlate(full, in2, mode="valid"),
            signal.correlate(full, in1, mode="valid"))


@vjp(signal.correlate, linear=True, jax="jax.scipy.signal.correlate",
     samples=[Sample((A(4, 5), A(2, 3))), Sample((A(7), A(3)), {"mode": "valid"}),
              Sample((A(6), A(4)), {"mode": "same"})])
def correlate(g, ans, in1, in2, mode="full", method="auto"):
    """``correlate(a, v) = convolve(a, flip(v))`` (real inputs)."""
    full = tgr.pad_to_full_convolution(g, mode, np.shape(in1), np.shape(in2))
    return (signal.convolve(full, in2, mode="valid"),
            np.flip(signal.correlate(full, in1, mode="valid")))


@helper(linear=(0,))
def pad_to_full_convolution(g, mode, shape1, shape2):
    """The cotangent of a ``same`` or ``valid`` convolution as one of the ``full`` output
    (zeros where the mode cut it)."""
    if mode == "full":
        return g
    widths = []
    for n1, n2, kept in zip(shape1, shape2, np.shape(g)):
        start = (n2 - 1) // 2 if mode == "same" else n2 - 1
        widths.append((start, n1 + n2 - 1 - kept - start))
    return np.pad(g, widths)


@vjp(pad_to_full_convolution, samples=[Sample((A(7), "same", (7,), (3,))),
                                       Sample((A(3, 3), "valid", (4, 5), (2, 3)))])
def pad_to_full_convolution_rule(gg, ans, g, mode, shape1, shape2):
    """Second order: the padding's transpose cuts the padded part away."""
    return tgr.crop_full_convolution(gg, mode, shape1, shape2, np.shape(g)), None, None, None


@helper(linear=(0,))
def crop_full_convolution(full, mode, shape1, shape2, kept):
    """The part of a ``full`` convolution's array that a ``same`` or ``valid`` one keeps."""
    if mode == "full":
        return full
    index = []
    for n2, size in zip(shape2, kept):
        start = (n2 - 1) // 2 if mode == "same" else n2 - 1
        index.append(slice(start, start + size))
    return full[tuple(index)]


@vjp(crop_full_convolution, samples=[Sample((A(9), "same", (7,), (3,), (7,)))])
def crop_full_convolution_rule(gg, ans, full, mode, shape1, shape2, kept):
    return tgr.pad_to_full_convolution(gg, mode, shape1, shape2), None, None, None, None
