"""Rules for linear algebra: products, contractions, decompositions, solves, norms.

Matrix functions accept stacks of matrices (``(..., n, n)``), so transposes are written
``np.swapaxes(x, -1, -2)``.
"""

import numpy as np

from .. import runtime as tgr
from ..runtime import _scatter_set, expand_reduced, extremum_mask, unbroadcast
from .arithmetic import matmul_vjp_left, matmul_vjp_right
from .complex_numbers import abs_slope, times_conj
from .reductions import _axes_tuple
from .registry import Sample, helper, jvp, nondifferentiable, vjp
from .specs import SPD, A, P, W

# --- products and contractions -----------------------------------------------------------


@vjp(np.dot, linear=True, method="dot", torch=("dot",), samples=[
    Sample((A(3, 4), A(4, 2))), Sample((A(4), A(4))), Sample((A(3, 4), A(4))),
    Sample((A(4), A(4, 2))), Sample((A(2, 3, 4), A(4, 5))), Sample((A(2, 3, 4), A(2, 4, 5))),
    Sample((A(3), A(2, 3, 4))), Sample((A(2, 3), A(3))), Sample((A(), A(3, 2)))])
def dot(g, ans, a, b):
    return tgr.dot_vjp_left(g, a, b), tgr.dot_vjp_right(g, a, b)


@helper(linear=(0, 2))
def dot_vjp_left(g, a, b):
    """Cotangent of ``a`` in ``np.dot(a, b)`` (scalars, vectors, matrices, N-d)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, np.shape(a))
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return matmul_vjp_left(g, np.asarray(a), np.asarray(b))
    return tensordot_vjp_left(g, a, b, ([-1], [max(np.ndim(b) - 2, 0)]))


@helper(linear=(0, 1))
def dot_vjp_right(g, a, b):
    """Cotangent of ``b`` in ``np.dot(a, b)`` (scalars, vectors, matrices, N-d)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, np.shape(b))
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return matmul_vjp_right(g, np.asarray(a), np.asarray(b))
    return tensordot_vjp_right(g, a, b, ([-1], [max(np.ndim(b) - 2, 0)]))


_DOT = [Sample((A(3, 2), A(3, 4), A(4, 2))), Sample((A(), A(4), A(4))),
        Sample((A(3), A(3, 4), A(4))), Sample((A(2, 3, 5), A(2, 3, 4), A(4, 5))),
        Sample((A(2, 3, 2, 5), A(2, 3, 4), A(2, 4, 5))), Sample((A(3, 2), A(), A(3, 2))),
        Sample((A(2, 4), A(3), A(2, 3, 4)))]


@vjp(dot_vjp_left, samples=_DOT)
def dot_vjp_left_rule(gg, ans, g, a, b):
    return np.dot(gg, b), tgr.zeros_like_value(a), tgr.dot_vjp_right(g, gg, b)


@vjp(dot_vjp_right, samples=_DOT)
def dot_vjp_right_rule(gg, ans, g, a, b):
    return np.dot(a, gg), tgr.dot_vjp_left(g, a, gg), tgr.zeros_like_value(b)


@vjp(np.vdot, linear=True, samples=[Sample((A(4), A(4))), Sample((A(3, 4), A(3, 4))),
                       Sample((A(2, 3), A(6)))])
def vdot(g, ans, a, b):
    """The flattened dot product, ``a`` conjugated: ``conj(g * b)`` and ``g * conj(a)``."""
    return np.conj(g * np.reshape(b, np.shape(a))), g * np.reshape(np.conj(a), np.shape(b))


@vjp(np.inner, linear=True, samples=[Sample((A(4), A(4))), Sample((A(3, 4), A(2, 4))),
                        Sample((A(2, 3, 4), A(4))), Sample((A(), A(3)))])
def inner(g, ans, a, b):
    return tgr.inner_vjp_left(g, a, b), tgr.inner_vjp_right(g, a, b)


@helper(linear=(0, 2))
def inner_vjp_left(g, a, b):
    """Cotangent of ``a`` in ``np.inner(a, b)`` (contracts the last axes)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, np.shape(a))
    return tensordot_vjp_left(g, a, b, ([-1], [-1]))


@helper(linear=(0, 1))
def inner_vjp_right(g, a, b):
    """Cotangent of ``b`` in ``np.inner(a, b)`` (contracts the last axes)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, np.shape(b))
    return tensordot_vjp_right(g, a, b, ([-1], [-1]))


_INNER = [Sample((A(), A(4), A(4))), Sample((A(3, 2), A(3, 4), A(2, 4))),
          Sample((A(2, 3), A(2, 3, 4), A(4))), Sample((A(3), A(), A(3)))]


@vjp(inner_vjp_left, samples=_INNER)
def inner_vjp_left_rule(gg, ans, g, a, b):
    return np.inner(gg, b), tgr.zeros_like_value(a), tgr.inner_vjp_right(g, gg, b)


@vjp(inner_vjp_right, samples=_INNER)
def inner_vjp_right_rule(gg, ans, g, a, b):
    return np.inner(a, gg), tgr.inner_vjp_left(g, a, gg), tgr.zeros_like_value(b)


@vjp(np.outer, linear=True, samples=[Sample((A(3), A(4))), Sample((A(2, 3), A(4)))])
def outer(g, ans, a, b, out=None):
    """``np.outer`` flattens both operands."""
    return np.reshape(g @ np.ravel(b), np.shape(a)), np.reshape(np.ravel(a) @ g, np.shape(b))


@vjp(np.tensordot, linear=True, samples=[
    Sample((A(2, 3, 4), A(3, 4, 5))), Sample((A(2, 3, 4), A(4, 5)), {"axes": 1}),
    Sample((A(3, 4), A(4, 3)), {"axes": ([0, 1], [1, 0])}),
    Sample((A(2, 3, 4), A(4, 2, 5)), {"axes": ([2, 0], [0, 1])}),
    Sample((A(3), A(2)), {"axes": 0}), Sample((A(3, 4), A(2, 3)), {"axes": (0, 1)})])
def tensordot(g, ans, a, b, axes=2):
    return tgr.tensordot_vjp_left(g, a, b, axes), tgr.tensordot_vjp_right(g, a, b, axes)


@helper
def _contraction(a_ndim, b_ndim, axes):
    """``np.tensordot`` axes as two lists of non-negative axes."""
    if np.ndim(axes) == 0:
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    ax_a, ax_b = axes
    ax_a = [ax_a] if np.ndim(ax_a) == 0 else list(ax_a)
    ax_b = [ax_b] if np.ndim(ax_b) == 0 else list(ax_b)
    return [i % a_ndim for i in ax_a], [j % b_ndim for j in ax_b]


@helper(linear=(0, 2))
def tensordot_vjp_left(g, a, b, axes=2):
    """Cotangent of ``a`` in ``np.tensordot(a, b, axes)``."""
    ax_a, ax_b = _contraction(np.ndim(a), np.ndim(b), axes)
    free_a = [i for i in range(np.ndim(a)) if i not in ax_a]
    free_b = [j for j in range(np.ndim(b)) if j not in ax_b]
    t = np.tensordot(g, b, axes=(list(range(len(free_a), np.ndim(g))), free_b))
    order = free_a + [ax_a[ax_b.index(j)] for j in sorted(ax_b)]   # the a-axis of each t-axis
    return np.transpose(t, np.argsort(order))


@helper(linear=(0, 1))
def tensordot_vjp_right(g, a, b, axes=2):
    """Cotangent of ``b`` in ``np.tensordot(a, b, axes)``."""
    ax_a, ax_b = _contraction(np.ndim(a), np.ndim(b), axes)
    free_a = [i for i in range(np.ndim(a)) if i not in ax_a]
    free_b = [j for j in range(np.ndim(b)) if j not in ax_b]
    t = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    order = [ax_b[ax_a.index(i)] for i in sorted(ax_a)] + free_b   # the b-axis of each t-axis
    return np.transpose(t, np.argsort(order))


_TENSORDOT = [Sample((A(2, 5), A(2, 3, 4), A(3, 4, 5))),
              Sample((A(2, 3, 5), A(2, 3, 4), A(4, 5), 1)),
              Sample((A(3, 5), A(2, 3, 4), A(4, 2, 5), ([2, 0], [0, 1]))),
              Sample((A(3, 2), A(3), A(2), 0))]


@vjp(tensordot_vjp_left, samples=_TENSORDOT)
def tensordot_vjp_left_rule(gg, ans, g, a, b, axes=2):
    return (np.tensordot(gg, b, axes), tgr.zeros_like_value(a),
            tgr.tensordot_vjp_right(g, gg, b, axes))


@vjp(tensordot_vjp_right, samples=_TENSORDOT)
def tensordot_vjp_right_rule(gg, ans, g, a, b, axes=2):
    return (np.tensordot(a, gg, axes), tgr.tensordot_vjp_left(g, a, gg, axes),
            tgr.zeros_like_value(b))


@vjp(np.kron, linear=True, samples=[Sample((A(2, 3), A(3, 2))), Sample((A(3), A(2))),
                       Sample((A(2), A(2, 3)))])
def kron(g, ans, a, b):
    return tgr.kron_vjp_left(g, a, b), tgr.kron_vjp_right(g, a, b)


@helper
def _kron_blocks(g, a, b):
    ndim = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (ndim - np.ndim(a)) + np.shape(a)
    sb = (1,) * (ndim - np.ndim(b)) + np.shape(b)
    return np.reshape(g, [n for pair in zip(sa, sb) for n in pair]), sa, sb, ndim


@helper(linear=(0, 2))
def kron_vjp_left(g, a, b):
    """Cotangent of ``a`` in ``np.kron(a, b)``."""
    blocks, _, sb, ndim = _kron_blocks(g, a, b)
    ba = np.tensordot(blocks, np.reshape(b, sb), axes=(list(range(1, 2 * ndim, 2)),
                                                        list(range(ndim))))
    return np.reshape(ba, np.shape(a))


@helper(linear=(0, 1))
def kron_vjp_right(g, a, b):
    """Cotangent of ``b`` in ``np.kron(a, b)``."""
    blocks, sa, _, ndim = _kron_blocks(g, a, b)
    bb = np.tensordot(blocks, np.reshape(a, sa), axes=(list(range(0, 2 * ndim, 2)),
                                                        list(range(ndim))))
    return np.reshape(bb, np.shape(b))


_KRON = [Sample((A(6, 6), A(2, 3), A(3, 2))), Sample((A(6), A(3), A(2))),
         Sample((A(2, 6), A(2), A(2, 3)))]


@vjp(kron_vjp_left, samples=_KRON)
def kron_vjp_left_rule(gg, ans, g, a, b):
    return np.kron(gg, b), tgr.zeros_like_value(a), tgr.kron_vjp_right(g, gg, b)


@vjp(kron_vjp_right, samples=_KRON)
def kron_vjp_right_rule(gg, ans, g, a, b):
    return np.kron(a, gg), tgr.kron_vjp_left(g, a, gg), tgr.zeros_like_value(b)


# --- diagonals and triangles -------------------------------------------------------------

@vjp(np.trace, linear=True, method="trace", samples=[Sample((A(3, 3),)), Sample((A(3, 4), 1)),
                        Sample((A(2, 3, 4),), {"axis1": 1, "axis2": 2}),
                        Sample((A(3, 2, 3),), {"offset": -1, "axis1": 2, "axis2": 0})])
def trace(g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    eye = np.eye(np.shape(a)[axis1], np.shape(a)[axis2], offset)
    return np.moveaxis(np.expand_dims(g, (-2, -1)) * eye, (-2, -1), (axis1, axis2))


@vjp(np.diag, linear=True, samples=[Sample((A(3),)), Sample((A(3),), {"k": 1}), Sample((A(3, 3),)),
                       Sample((A(3, 4), -1)), Sample((A(3, 4),), {"k": 2})])
def diag(g, ans, v, k=0):
    return tgr.diag_vjp(g, v, k)


@helper(linear=(0,))
def diag_vjp(g, v, k=0):
    """Cotangent of ``v`` in ``np.diag(v, k)``, for 1-d ``v`` (builds) and 2-d (extracts)."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k)
    i = np.arange(np.shape(g)[0])
    return _scatter_set(np.zeros(np.shape(v), dtype=np.result_type(g)),
                        (i + max(-k, 0), i + max(k, 0)), g)


@vjp(diag_vjp, samples=[Sample((A(3, 3), A(3))), Sample((A(4, 4), A(3), 1)),
                                Sample((A(3), A(3, 3))), Sample((A(2), A(3, 4), -1))])
def diag_vjp_rule(gg, ans, g, v, k=0):
    return np.diag(gg, k), tgr.zeros_like_value(v)


@vjp(np.diagonal, linear=True, method="diagonal", samples=[Sample((A(3, 4),)), Sample((A(3, 4), 1)),
                           Sample((A(2, 3, 4),), {"axis1": 2, "axis2": 1, "offset": -1})])
def diagonal(g, ans, a, offset=0, axis1=0, axis2=1):
    return tgr.diagonal_vjp(g, a, offset, axis1, axis2)


@helper(linear=(0,))
def diagonal_vjp(g, a, offset=0, axis1=0, axis2=1):
    """Cotangent of ``a`` in ``np.diagonal(a, offset, axis1, axis2)``."""
    shape, ndim = np.shape(a), np.ndim(a)
    axis1, axis2 = axis1 % ndim, axis2 % ndim
    rest = [n for i, n in enumerate(shape) if i not in (axis1, axis2)]
    i = np.arange(np.shape(g)[-1])
    ba = _scatter_set(np.zeros(rest + [shape[axis1], shape[axis2]], dtype=np.result_type(g)),
                      (Ellipsis, i + max(-offset, 0), i + max(offset, 0)), g)
    return np.moveaxis(ba, (-2, -1), (axis1, axis2))


@vjp(diagonal_vjp, samples=[Sample((A(3), A(3, 4))), Sample((A(3), A(3, 4), 1)),
                                    Sample((A(2, 3), A(2, 3, 4), -1, 2, 1))])
def diagonal_vjp_rule(gg, ans, g, a, offset=0, axis1=0, axis2=1):
    return np.diagonal(gg, offset, axis1, axis2), tgr.zeros_like_value(a)


@vjp(np.tril, linear=True,
     samples=[Sample((A(3, 4),)), Sample((A(3, 4), -1)), Sample((A(2, 3, 3),))])
def tril(g, ans, m, k=0):
    return np.tril(g, k)


@vjp(np.triu, linear=True,
     samples=[Sample((A(3, 4),)), Sample((A(3, 4), 1)), Sample((A(2, 3, 3),))])
def triu(g, ans, m, k=0):
    return np.triu(g, k)


# --- inverses, solves, determinants, decompositions --------------------------------------

@vjp(np.linalg.inv, samples=[Sample((W(3),)), Sample((W(3, (2,)),))])
def inv(g, ans, a):
    ans_t = np.swapaxes(ans, -1, -2)
    return -ans_t @ g @ ans_t


@jvp(np.linalg.inv, samples=[Sample((W(3),)), Sample((W(3, (2,)),))])
def inv_jvp(g, ans, a):
    return -(ans @ g @ ans)


@vjp(np.linalg.solve, broadcasting=True, samples=[
    Sample((W(3), A(3))), Sample((W(3), A(3, 2))), Sample((W(3, (2,)), A(2, 3, 2))),
    Sample((W(3, (2,)), A(3))), Sample((W(3), A(2, 3, 1)))])
def solve(g, ans, a, b):
    solved = tgr.solve_transposed(a, g, b)
    return tgr.solve_vjp_a(solved, ans, b), solved


@helper(source=True)
def solve_transposed(a, g, b):
    """``solve(a.T, g)``: the cotangent of ``b`` in ``np.linalg.solve(a, b)``, in the
    broadcast shape (``b`` a vector when it is 1-d, as numpy reads it)."""
    a_t = np.swapaxes(a, -1, -2)
    if np.ndim(b) == 1:
        return np.linalg.solve(a_t, np.asarray(g)[..., None])[..., 0]
    return np.linalg.solve(a_t, g)


@helper(linear=(0, 1))
def solve_vjp_a(bb, x, b):
    """Cotangent of ``a`` in ``x = np.linalg.solve(a, b)``, given ``bb = solve(a.T, g)``."""
    if np.ndim(b) == 1:
        return -bb[..., :, None] * x[..., None, :]
    return -bb @ np.swapaxes(x, -1, -2)


@vjp(solve_vjp_a, samples=[
    Sample((A(3), A(3), A(3))), Sample((A(3, 2), A(3, 2), A(3, 2))),
    Sample((A(2, 3), A(2, 3), A(3))), Sample((A(2, 3, 2), A(2, 3, 2), A(2, 3, 2)))])
def solve_vjp_a_rule(gg, ans, bb, x, b):
    """``-bb x^T`` (columns ``bb[..., None]``, ``x[..., None]`` when ``b`` is a vector): linear
    in ``bb`` and in ``x``; ``b`` is read for its rank."""
    if np.ndim(b) == 1:
        b_bb = -(gg @ x[..., :, None])[..., 0]
        b_x = -(np.swapaxes(gg, -1, -2) @ bb[..., :, None])[..., 0]
    else:
        b_bb = -gg @ x
        b_x = -np.swapaxes(gg, -1, -2) @ bb
    return b_bb, b_x, tgr.zeros_like_value(b)


_SOLVE = [Sample((W(3), A(3))), Sample((W(3), A(3, 2))), Sample((W(3, (2,)), A(2, 3, 2))),
          Sample((W(3, (2,)), A(3)))]


@jvp(np.linalg.solve, samples=_SOLVE)
def solve_jvp_a(g, ans, a, b):
    """``x = solve(a, b)``: ``dx = -solve(a, da @ x)`` (``b`` a vector when it is 1-d)."""
    if np.ndim(b) == 1:
        dx = -np.linalg.solve(a, (g @ ans[..., None]))[..., 0]
    else:
        dx = -np.linalg.solve(a, g @ ans)
    return dx


@jvp(np.linalg.solve, argnum=1, samples=_SOLVE)
def solve_jvp_b(g, ans, a, b):
    """Linear in ``b``: the solve of its tangent."""
    if np.ndim(b) == 1 and np.ndim(a) > 2:
        dx = np.linalg.solve(a, np.broadcast_to(g, np.shape(ans))[..., None])[..., 0]
    else:
        dx = np.linalg.solve(a, g)
    return dx


@vjp(np.linalg.det, samples=[Sample((W(3),)), Sample((A(2, 2),)), Sample((W(3, (2,)),))])
def det(g, ans, a):
    return np.expand_dims(g * ans, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@jvp(np.linalg.det, samples=[Sample((W(3),)), Sample((W(3, (2,)),))])
def det_jvp(g, ans, a):
    return ans * np.trace(np.linalg.solve(a, g), axis1=-2, axis2=-1)


@vjp(np.linalg.slogdet, samples=[Sample((W(3),)), Sample((W(3, (2,)),)),
                                 Sample((np.array([[0.2, 1.0], [1.0, 0.3]]),))])
def slogdet(g, ans, a):
    """``g`` is ``(g_sign, g_logabsdet)``; the sign is piecewise constant, so only the second
    part (None when zero) carries a derivative."""
    g_logdet = tgr.structure_part(g, 1, ans)
    return np.expand_dims(g_logdet, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@jvp(np.linalg.slogdet, samples=[Sample((W(3),)), Sample((W(3, (2,)),))])
def slogdet_jvp(g, ans, a):
    """The sign is piecewise constant; ``d log|det a| = trace(solve(a, da))``."""
    tangent = (tgr.zeros_like_value(ans[0]),
               np.trace(np.linalg.solve(a, g), axis1=-2, axis2=-1))
    return tangent


@vjp(np.linalg.cholesky, samples=[Sample((SPD(3),)), Sample((SPD(3, (2,)),))])
def cholesky(g, ans, a):
    """The symmetric cotangent (as JAX, PyTorch and autograd give it): ``a`` is taken to be
    symmetric, although numpy reads only its lower triangle."""
    l_inv = np.linalg.inv(ans)
    phi = np.tril(np.swapaxes(ans, -1, -2) @ g) * (1 - 0.5 * np.eye(np.shape(a)[-1]))
    s = np.swapaxes(l_inv, -1, -2) @ phi @ l_inv
    return (s + np.swapaxes(s, -1, -2)) / 2


@jvp(np.linalg.cholesky, samples=[Sample((SPD(3),)), Sample((SPD(3, (2,)),))])
def cholesky_jvp(g, ans, a):
    """``a = l l^T``: ``dl = l phi(l^-1 da l^-T)``, phi the lower triangle with half the
    diagonal; ``da`` is symmetrized, as JAX does (numpy reads only the lower triangle)."""
    sym = (g + np.swapaxes(g, -1, -2)) / 2
    l_inv = np.linalg.inv(ans)
    inner = l_inv @ sym @ np.swapaxes(l_inv, -1, -2)
    return ans @ (np.tril(inner) * (1 - 0.5 * np.eye(np.shape(a)[-1])))


@vjp(np.linalg.pinv, samples=[Sample((A(3, 2),)), Sample((A(2, 4),)), Sample((W(3),))])
def pinv(g, ans, a, rcond=None, hermitian=False):
    """Valid where the rank of ``a`` is constant (full rank, generically)."""
    p_t = np.swapaxes(ans, -1, -2)
    g_t = np.swapaxes(g, -1, -2)
    return (-p_t @ g @ p_t + (g_t - a @ (ans @ g_t)) @ (ans @ p_t)
            + (p_t @ ans) @ (g_t - (g_t @ ans) @ a))


@jvp(np.linalg.pinv, samples=[Sample((A(3, 2),)), Sample((A(2, 4),)), Sample((W(3),))])
def pinv_jvp(g, ans, a, rcond=None, hermitian=False):
    """Valid where the rank of ``a`` is constant: ``dP = -P dA P + P P^T dA^T (I - A P)
    + (I - P A) dA^T P^T P``."""
    p_t = np.swapaxes(ans, -1, -2)
    g_t = np.swapaxes(g, -1, -2)
    return (-(ans @ g @ ans) + (ans @ p_t) @ (g_t - (g_t @ a) @ ans)
            + (g_t - ans @ (a @ g_t)) @ (p_t @ ans))


# --- norms -------------------------------------------------------------------------------

@vjp(np.linalg.norm, reduction=True, samples=[
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
        bx = tgr.times_conj(g, x) / ans
    else:
        bx = tgr.times_conj(tgr.expand_reduced(g / ans, x, axis), x)
    return bx


@helper
def norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    """Cotangent of ``x`` in ``np.linalg.norm(x, ord, axis, keepdims)``.

    Where several elements (or rows, columns) attain a max-type norm, they share the cotangent
    equally, as JAX's does. For a complex ``x`` each slope is conjugated (JAX's convention,
    ``times_conj``): ``|x|``'s is ``conj(x) / |x|``, a singular value's ``conj(u v^H)``.
    """
    x = np.asarray(x)
    axes = _axes_tuple(axis, x.ndim)
    if not keepdims:
        g, ans = expand_reduced(g, x, axes), expand_reduced(ans, x, axes)
    if ord is None or ord == "fro":
        return times_conj(g, x) / ans
    if np.iscomplexobj(x):
        g = np.real(g)
    if len(axes) == 1:
        if ord is None or ord == 2:
            return times_conj(g, x) / ans
        if ord == 0:
            return np.zeros_like(x)
        if np.isinf(ord):
            hit = extremum_mask(np.abs(x), ans, axes, "max" if ord > 0 else "min")
            return g * abs_slope(x) * hit / np.sum(hit, axis=axes, keepdims=True)
        return g * abs_slope(x) * (np.abs(x) / ans) ** (ord - 1)
    rows, cols = axes if axis is None else tuple(ax % x.ndim for ax in axis)
    if ord in (1, -1, np.inf, -np.inf):
        over, across = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = np.sum(np.abs(x), axis=over, keepdims=True)
        hit = extremum_mask(sums, ans, across, "max" if ord > 0 else "min")
        return g * abs_slope(x) * hit / np.sum(hit, axis=across, keepdims=True)
    if ord in ("nuc", 2, -2):
        u, _, vt = np.linalg.svd(np.moveaxis(x, (rows, cols), (-2, -1)), full_matrices=False)
        if ord != "nuc":
            k = 0 if ord == 2 else -1
            u, vt = u[..., :, [k]], vt[..., [k], :]
        return g * np.moveaxis(np.conj(u @ vt), (-2, -1), (rows, cols))
    raise ValueError(f"transgrad: no derivative for np.linalg.norm with ord={ord!r}")


@vjp(np.linalg.eigvalsh, samples=[Sample((SPD(3),)), Sample((SPD(2, (2,)),))])
def eigvalsh(g, ans, a, UPLO="L"):
    """For symmetric ``a = V diag(w) V^T``: ``V diag(g) V^T`` (distinct eigenvalues)."""
    vectors = np.linalg.eigh(a)[1]
    return (vectors * g[..., None, :]) @ np.swapaxes(vectors, -1, -2)


@jvp(np.linalg.eigvalsh, samples=[Sample((SPD(3),)), Sample((SPD(2, (2,)),))])
def eigvalsh_jvp(g, ans, a, UPLO="L"):
    """``dw_i = v_i^T da v_i`` (distinct eigenvalues)."""
    vectors = np.linalg.eigh(a)[1]
    return np.sum(vectors * (g @ vectors), axis=-2)


@jvp(np.linalg.eigh, samples=[Sample((SPD(3),)), Sample((SPD(2, (2,)),))])
def eigh_jvp(g, ans, a, UPLO="L"):
    """For symmetric ``a = v diag(w) v^T`` (distinct eigenvalues): ``dw = diag(v^T da v)``,
    ``dv = v (f * (v^T da v))`` with ``f[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it;
    ``da`` is symmetrized."""
    vectors = ans[1]
    inner = np.swapaxes(vectors, -1, -2) @ ((g + np.swapaxes(g, -1, -2)) / 2) @ vectors
    gaps = ans[0][..., None, :] - ans[0][..., :, None]
    eye = np.eye(np.shape(a)[-1], dtype=bool)
    tangent = (np.diagonal(inner, axis1=-2, axis2=-1),
               vectors @ (np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps)) * inner))
    return tangent


@vjp(np.linalg.matrix_power, samples=[Sample((W(3), 3)), Sample((W(3), 0)), Sample((W(3), 1))])
def matrix_power(g, ans, a, n):
    """Sum over k of (a^T)^k g (a^T)^(n-1-k), for n >= 0."""
    return tgr.matrix_power_vjp(g, a, n), None


@helper(source=True)
def matrix_power_vjp(g, a, n):
    """Cotangent of ``np.linalg.matrix_power(a, n)`` for ``n >= 0``. Written in the subset
    transgrad differentiates, so forward mode over it (second derivatives) transforms it."""
    check_power(n)
    a_t = np.swapaxes(a, -1, -2)
    powers = [np.broadcast_to(np.eye(a.shape[-1]), a.shape)]
    for _ in range(1, n):
        powers.append(powers[-1] @ a_t)
    total = np.zeros_like(a, dtype=np.result_type(a, g))
    for k in range(n):
        total = total + powers[k] @ g @ powers[n - 1 - k]
    return total


@helper
def check_power(n):
    """Raise ValueError unless ``n >= 0`` (derivatives of ``matrix_power``)."""
    if n < 0:
        raise ValueError("the derivative of matrix_power needs n >= 0")


nondifferentiable(check_power, reason="checks an argument")


@jvp(np.linalg.matrix_power, samples=[Sample((W(3), 3)), Sample((W(3), 0)), Sample((W(3), 1))])
def matrix_power_jvp(g, ans, a, n):
    """The sum over k of a^k da a^(n-1-k): the reverse rule's sum, for the transposed matrix."""
    return tgr.matrix_power_vjp(g, np.swapaxes(a, -1, -2), n)
