"""Linear algebra: products, einsum, solves, determinants, decompositions."""

import numpy as np

from transgrad.rules.specs import SPD, A, W

from . import corpus_function


@corpus_function(A(3, 4), A(4, 2), wrt=(0, 1), float32=True)
def dot_matrices(a, b):
    return np.sum(np.dot(a, b) ** 2)


@corpus_function(A(4), A(4), A(3, 4), wrt=(0, 1, 2))
def dot_vectors_and_method(u, v, a):
    return np.dot(u, v) + np.sum(a.dot(v) * 2.0)


@corpus_function(A(2, 3, 4), A(2, 4, 5), wrt=(0, 1))
def matmul_batched(a, b):
    return np.sum(np.matmul(a, b) ** 2)


@corpus_function(A(2, 3, 4), A(4, 2), wrt=(0, 1))
def matmul_broadcast_batch(a, b):
    return np.sum(np.tanh(np.matmul(a, b)))


@corpus_function(A(3, 4), A(4, 2), wrt=(0, 1))
def einsum_matmul(a, b):
    return np.sum(np.einsum("ij,jk->ik", a, b) ** 2)


@corpus_function(A(3, 3), wrt=0)
def einsum_trace_diagonal(a):
    return np.einsum("ii->", a) + np.sum(np.einsum("ii->i", a) ** 2)


@corpus_function(A(2, 3, 4), A(2, 4, 3), wrt=(0, 1))
def einsum_batched(a, b):
    return np.sum(np.einsum("bij,bjk->bik", a, b) * np.einsum("bij,bkj->bik", a, a))


@corpus_function(A(3), A(4), A(3, 4), wrt=(0, 1, 2))
def einsum_bilinear(u, v, m):
    return np.einsum("i,ij,j->", u, m, v)


@corpus_function(W(3), wrt=0)
def inverse(a):
    return np.sum(np.linalg.inv(a) * np.arange(9).reshape(3, 3))


@corpus_function(W(3), A(3, 2), A(3), wrt=(0, 1, 2))
def solve(a, b, v):
    return np.sum(np.linalg.solve(a, b) ** 2) + np.sum(np.linalg.solve(a, v))


@corpus_function(W(3), wrt=0)
def determinant(a):
    return np.linalg.det(a)


@corpus_function(SPD(3), wrt=0)
def log_determinant(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet


@corpus_function(SPD(3), wrt=0)
def cholesky_symmetrized(a):
    low = np.linalg.cholesky((a + a.T) / 2.0)
    return np.sum(low * np.arange(9).reshape(3, 3))


@corpus_function(SPD(3), wrt=0)
def eigenvalues_symmetric(a):
    w = np.linalg.eigvalsh((a + a.T) / 2.0)
    return np.sum(w * np.array([1.0, 2.0, 3.0]))


@corpus_function(A(2, 3, 4), A(3, 4, 5), A(3, 4), wrt=(0, 1, 2))
def tensordot_axes(a, b, c):
    return np.sum(np.tensordot(a, b, axes=2)) + np.sum(np.tensordot(c, b, axes=([0], [0])) ** 2)


@corpus_function(A(3), A(4), wrt=(0, 1))
def outer_product(u, v):
    return np.sum(np.outer(u, v) ** 2 * np.arange(12).reshape(3, 4))


@corpus_function(A(4, 4), wrt=0)
def trace_function_and_method(a):
    return np.trace(a) + a.trace() * np.trace(a @ a)


@corpus_function(A(2, 3), A(3, 2), wrt=(0, 1))
def kronecker(a, b):
    return np.sum(np.kron(a, b) * np.arange(36).reshape(6, 6))


@corpus_function(A(5), A(3, 4), wrt=(0, 1))
def norms(v, m):
    return np.linalg.norm(v) + np.linalg.norm(m) * 0.5


@corpus_function(A(4), A(4, 4), wrt=(0, 1))
def quadratic_form(x, a):
    return x @ a @ x + x.T @ a.T @ x


@corpus_function(A(3, 3), wrt=0)
def matrix_power(a):
    return np.sum(np.linalg.matrix_power(a, 3))


@corpus_function(A(4), A(4), wrt=(0, 1))
def inner_vdot(u, v):
    return np.inner(u, v) + np.vdot(u, v * v)


@corpus_function(W(3), A(3), wrt=(0, 1), vector_output=True)
def solve_vector_output(a, b):
    return np.linalg.solve(a, b)
