"""Operators, assignment forms, broadcasting, comparisons used as masks, module constants."""

import numpy as np

from transgrad.rules.specs import A, P, S

from . import corpus_function

SCALE = 2.5
OFFSET = -0.75
BIAS = np.array([0.5, -1.0, 2.0, 0.25])


@corpus_function(A(3, 4), A(3, 4), wrt=(0, 1), float32=True)
def add_sub_mul(x, y):
    return np.sum(x * y + x - y)


@corpus_function(A(3, 4), P(3, 4), wrt=(0, 1))
def divide(x, y):
    return np.sum(x / y)


@corpus_function(A(3, 4), A(4), wrt=(0, 1), float32=True)
def broadcast_row(x, b):
    return np.sum((x + b) * b)


@corpus_function(A(3, 1), A(1, 4), wrt=(0, 1))
def broadcast_outer(x, y):
    return np.sum(x * y - x)


@corpus_function(A(2, 1, 3), P(4, 1), wrt=(0, 1))
def broadcast_three_d(x, y):
    return np.mean(x / y + x * y)


@corpus_function(A(3, 4), A(4), A(3, 1), wrt=(0, 1, 2))
def broadcast_chain(x, row, col):
    z = x * row
    z = z + col
    return np.sum(z * z)


@corpus_function(A(3), wrt=0)
def power_integer(x):
    return np.sum(x ** 3 + x ** 2)


@corpus_function(P(3, 2), wrt=0)
def power_fractional(x):
    return np.sum(x ** 2.5 + x ** -0.5)


@corpus_function(P(3), A(3), wrt=(0, 1))
def power_both(x, y):
    return np.sum(x ** y)


@corpus_function(P(4), wrt=0)
def scalar_base_power(x):
    return np.sum(2.0 ** x)


@corpus_function(A(4), A(4), wrt=(0, 1))
def unary_minus(x, y):
    return np.sum(-x * y + -(x - y))


@corpus_function(A(3, 4), A(3, 4), wrt=(0, 1))
def augmented_assignment(x, y):
    z = x.copy()     # numpy's += would otherwise write into the caller's x
    z += y
    z *= y
    z -= 1.0
    z /= 2.0
    z **= 2
    return np.sum(z)


@corpus_function(A(3), A(3), wrt=(0, 1))
def tuple_unpack_swap(x, y):
    a, b = x * 2.0, y + 1.0
    a, b = b, a
    return np.sum(a * np.sin(b))


@corpus_function(A(3), A(3), wrt=(0, 1))
def chained_assignment(x, y):
    a = b = x * y
    return np.sum(a + b * x)


@corpus_function(A(3), wrt=0)
def reassign_many(x):
    y = x * 2.0
    y = y + x
    y = np.sin(y) * y
    x = x * y
    return np.sum(x)


@corpus_function(A(3, 4), A(4, 2), wrt=(0, 1), float32=True)
def matmul_operator(a, b):
    return np.sum(a @ b)


@corpus_function(A(3, 4), A(4), wrt=(0, 1))
def matvec_operator(a, v):
    return np.sum((a @ v) ** 2)


@corpus_function(A(5), wrt=0)
def relu_mask(x):
    return np.sum(x * (x > 0))


@corpus_function(A(5), A(5), wrt=(0, 1))
def compare_masks(x, y):
    inside = (x > -0.5) & (x < 0.5)
    bigger = y >= x
    return np.sum(x * inside + y * bigger - x * (x != y))


@corpus_function(A(3, 4), wrt=0)
def floordiv_constant(x):
    k = x // 0.7
    return np.sum(x * k)


@corpus_function(A(3, 4), wrt=0)
def module_constants(x):
    return np.sum((SCALE * x + OFFSET) * BIAS)


@corpus_function(S(), A(3), wrt=(0, 1))
def python_scalar_times_array(s, x):
    return np.sum(s * x + x / 3 - 2 * s)


@corpus_function(A(3, 4), A(4), wrt=(0, 1), vector_output=True)
def elementwise_vector_output(x, y):
    return x * y + 1.0


@corpus_function(A(3), A(3), wrt=(0, 1), vector_output=True)
def tuple_output(x, y):
    return x * y, np.sum(x + y)
