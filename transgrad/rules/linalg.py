"""Rules for linear algebra: products, contractions, decompositions, solves, norms.

Matrix functions accept stacks of matrices (``(..., n, n)``), so transposes are written
``np.swapaxes(x, -1, -2)``.
"""

import numpy as np

from .. import runtime as tgr
from .registry import Sample, vjp
from .specs import SPD, A, P, W

# --- products and contractions -----------------------------------------------------------


@vjp(np.dot, samples=[
    Sample((A(3, 4), A(4, 2))), Sample((A(4), A(4))), Sample((A(3, 4), A(4))),
    Sample((A(4), A(4, 2))), Sample((A(2, 3, 4), A(4, 5))), Sample((A(2, 3, 4), A(2, 4, 5))),
    Sample((A(3), A(2, 3, 4))), Sample((A(2, 3), A(3))), Sample((A(), A(3, 2)))])
def dot(g, ans, a, b):
    return tgr.dot_vjp_left(g, a, b), tgr.dot_vjp_right(g, a, b)


@vjp(np.vdot, samples=[Sample((A(4), A(4))), Sample((A(3, 4), A(3, 4))),
                       Sample((A(2, 3), A(6)))])
def vdot(g, ans, a, b):
    """For real arrays: the flattened dot product."""
    return g * np.reshape(b, np.shape(a)), g * np.reshape(a, np.shape(b))


@vjp(np.inner, samples=[Sample((A(4), A(4))), Sample((A(3, 4), A(2, 4))),
                        Sample((A(2, 3, 4), A(4))), Sample((A(), A(3)))])
def inner(g, ans, a, b):
    return tgr.inner_vjp_left(g, a, b), tgr.inner_vjp_right(g, a, b)


@vjp(np.outer, samples=[Sample((A(3), A(4))), Sample((A(2, 3), A(4)))])
def outer(g, ans, a, b, out=None):
    """``np.outer`` flattens both operands."""
    return np.reshape(g @ np.ravel(b), np.shape(a)), np.reshape(np.ravel(a) @ g, np.shape(b))


@vjp(np.tensordot, samples=[
    Sample((A(2, 3, 4), A(3, 4, 5))), Sample((A(2, 3, 4), A(4, 5)), {"axes": 1}),
    Sample((A(3, 4), A(4, 3)), {"axes": ([0, 1], [1, 0])}),
    Sample((A(2, 3, 4), A(4, 2, 5)), {"axes": ([2, 0], [0, 1])}),
    Sample((A(3), A(2)), {"axes": 0}), Sample((A(3, 4), A(2, 3)), {"axes": (0, 1)})])
def tensordot(g, ans, a, b, axes=2):
    return tgr.tensordot_vjp_left(g, a, b, axes), tgr.tensordot_vjp_right(g, a, b, axes)


@vjp(np.einsum, samples=[
    Sample(("ij,jk->ik", A(3, 4), A(4, 2))), Sample(("ij,jk", A(3, 4), A(4, 2))),
    Sample(("ii->i", A(3, 3))), Sample(("ii", A(3, 3))), Sample(("i,i", A(4), A(4))),
    Sample(("i,j->ij", A(3), A(2))), Sample(("ij->", A(3, 4))), Sample(("ijk->kj", A(2, 3, 4))),
    Sample(("...ij,...jk->...ik", A(2, 3, 4), A(4, 5))), Sample(("bij,bjk->bik", A(2, 3, 4),
                                                                 A(2, 4, 2))),
    Sample(("...i,...i->...", A(1, 3), A(4, 3))), Sample(("ij,jk,kl->il", A(2, 3), A(3, 4),
                                                          A(4, 2))),
    Sample(("i...,i...", A(3, 2), A(3, 2))), Sample(("Ba,ab", A(2, 3), A(3, 4))),
    Sample(("iij->j", A(3, 3, 2)))])
def einsum(g, ans, subscripts, *operands, out=None, optimize=False):
    """Each operand's cotangent is one einsum of ``g`` with the other operands (subscripts
    strings only, with ``...`` and implicit output)."""
    return tgr.einsum_vjp(g, subscripts, operands)


@vjp(np.kron, samples=[Sample((A(2, 3), A(3, 2))), Sample((A(3), A(2))),
                       Sample((A(2), A(2, 3)))])
def kron(g, ans, a, b):
    return tgr.kron_vjp_left(g, a, b), tgr.kron_vjp_right(g, a, b)


# --- diagonals and triangles -------------------------------------------------------------

@vjp(np.trace, samples=[Sample((A(3, 3),)), Sample((A(3, 4), 1)),
                        Sample((A(2, 3, 4),), {"axis1": 1, "axis2": 2}),
                        Sample((A(3, 2, 3),), {"offset": -1, "axis1": 2, "axis2": 0})])
def trace(g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    eye = np.eye(np.shape(a)[axis1], np.shape(a)[axis2], offset)
    return np.moveaxis(np.expand_dims(g, (-2, -1)) * eye, (-2, -1), (axis1, axis2))


@vjp(np.diag, samples=[Sample((A(3),)), Sample((A(3),), {"k": 1}), Sample((A(3, 3),)),
                       Sample((A(3, 4), -1)), Sample((A(3, 4),), {"k": 2})])
def diag(g, ans, v, k=0):
    return tgr.diag_vjp(g, v, k)


@vjp(np.diagonal, samples=[Sample((A(3, 4),)), Sample((A(3, 4), 1)),
                           Sample((A(2, 3, 4),), {"axis1": 2, "axis2": 1, "offset": -1})])
def diagonal(g, ans, a, offset=0, axis1=0, axis2=1):
    return tgr.diagonal_vjp(g, a, offset, axis1, axis2)


@vjp(np.tril, samples=[Sample((A(3, 4),)), Sample((A(3, 4), -1)), Sample((A(2, 3, 3),))])
def tril(g, ans, m, k=0):
    return np.tril(g, k)


@vjp(np.triu, samples=[Sample((A(3, 4),)), Sample((A(3, 4), 1)), Sample((A(2, 3, 3),))])
def triu(g, ans, m, k=0):
    return np.triu(g, k)


# --- inverses, solves, determinants, decompositions --------------------------------------

@vjp(np.linalg.inv, samples=[Sample((W(3),)), Sample((W(3, (2,)),))])
def inv(g, ans, a):
    ans_t = np.swapaxes(ans, -1, -2)
    return -ans_t @ g @ ans_t


@vjp(np.linalg.solve, broadcasting=True, samples=[
    Sample((W(3), A(3))), Sample((W(3), A(3, 2))), Sample((W(3, (2,)), A(2, 3, 2))),
    Sample((W(3, (2,)), A(3))), Sample((W(3), A(2, 3, 1)))])
def solve(g, ans, a, b):
    solved = tgr.solve_transposed(a, g, b)
    return tgr.solve_vjp_a(solved, ans, b), solved


@vjp(np.linalg.det, samples=[Sample((W(3),)), Sample((A(2, 2),)), Sample((W(3, (2,)),))])
def det(g, ans, a):
    return np.expand_dims(g * ans, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@vjp(np.linalg.slogdet, samples=[Sample((W(3),)), Sample((W(3, (2,)),)),
                                 Sample((np.array([[0.2, 1.0], [1.0, 0.3]]),))])
def slogdet(g, ans, a):
    """``g`` is ``(g_sign, g_logabsdet)``; the sign is piecewise constant, so only the second
    part (None when zero) carries a derivative."""
    g_logdet = tgr.structure_part(g, 1, ans)
    return np.expand_dims(g_logdet, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@vjp(np.linalg.cholesky, samples=[Sample((SPD(3),)), Sample((SPD(3, (2,)),))])
def cholesky(g, ans, a):
    """The symmetric cotangent (as JAX, PyTorch and autograd give it): ``a`` is taken to be
    symmetric, although numpy reads only its lower triangle."""
    l_inv = np.linalg.inv(ans)
    phi = np.tril(np.swapaxes(ans, -1, -2) @ g) * (1 - 0.5 * np.eye(np.shape(a)[-1]))
    s = np.swapaxes(l_inv, -1, -2) @ phi @ l_inv
    return (s + np.swapaxes(s, -1, -2)) / 2


@vjp(np.linalg.pinv, samples=[Sample((A(3, 2),)), Sample((A(2, 4),)), Sample((W(3),))])
def pinv(g, ans, a, rcond=None, hermitian=False):
    """Valid where the rank of ``a`` is constant (full rank, generically)."""
    p_t = np.swapaxes(ans, -1, -2)
    g_t = np.swapaxes(g, -1, -2)
    return (-p_t @ g @ p_t + (g_t - a @ (ans @ g_t)) @ (ans @ p_t)
            + (p_t @ ans) @ (g_t - (g_t @ ans) @ a))


# --- norms -------------------------------------------------------------------------------

@vjp(np.linalg.norm, samples=[
    Sample((A(5),)), Sample((A(3, 4),)), Sample((A(5), 1)), Sample((A(5), np.inf), wrt=(0,)),
    Sample((A(5), -np.inf), wrt=(0,)), Sample((A(5), 3)), Sample((A(3, 4), "fro")),
    Sample((A(3, 4), "nuc")), Sample((A(3, 4), 2)), Sample((A(3, 4), -2)), Sample((A(3, 4), 1)),
    Sample((A(3, 4), np.inf), wrt=(0,)), Sample((A(3, 4), -1)), Sample((A(3, 4),), {"axis": 1}),
    Sample((A(3, 4),), {"axis": 0, "keepdims": True}), Sample((A(3, 4), 1, 0)),
    Sample((A(2, 3, 4),), {"axis": (2, 0)}), Sample((A(2, 3, 4), 2, (0, 2))),
    Sample((A(2, 3, 4), "nuc", (1, 2), True)),
    Sample((np.array([3.0, -1.0, -3.0, 2.0]), np.inf), wrt=(0,)), Sample((P(5), 0.5), wrt=(0,)),
    Sample((A(5), 0))])
def norm(g, ans, x, ord=None, axis=None, keepdims=False):
    """Max-type norms (``inf``, matrix ``1``...) split the cotangent equally among ties."""
    if ord is not None and ord != "fro":
        bx = tgr.norm_vjp(g, ans, x, ord, axis, keepdims)
    elif axis is None or keepdims:
        bx = g * x / ans
    else:
        bx = x * tgr.expand_reduced(g / ans, x, axis)
    return bx


@vjp(np.linalg.eigvalsh, samples=[Sample((SPD(3),)), Sample((SPD(2, (2,)),))])
def eigvalsh(g, ans, a, UPLO="L"):
    """For symmetric ``a = V diag(w) V^T``: ``V diag(g) V^T`` (distinct eigenvalues)."""
    vectors = np.linalg.eigh(a)[1]
    return (vectors * g[..., None, :]) @ np.swapaxes(vectors, -1, -2)


@vjp(np.linalg.matrix_power, samples=[Sample((W(3), 3)), Sample((W(3), 0)), Sample((W(3), 1))])
def matrix_power(g, ans, a, n):
    """Sum over k of (a^T)^k g (a^T)^(n-1-k), for n >= 0."""
    return tgr.matrix_power_vjp(g, a, n), None
