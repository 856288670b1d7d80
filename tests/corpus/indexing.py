"""Reading elements: integers, slices, ellipsis, None, integer arrays, boolean masks."""

import numpy as np

from transgrad.rules.specs import A

from . import corpus_function

REPEATED = np.array([0, 2, 2, 1, 2])
MASK = np.array([[True, False, True, True], [False, False, True, False],
                 [True, True, False, True]])


@corpus_function(A(3, 4), wrt=0, float32=True)
def integer_index(x):
    return np.sum(x[1] * x[-1]) + x[0, 2] * x[2][3]


@corpus_function(A(5, 6), wrt=0)
def slices(x):
    return np.sum(x[1:3, ::2] ** 2) + np.sum(x[::-1, -2:] * x[:, :2]) + np.sum(x[4:, 1:5:3])


@corpus_function(A(2, 3, 4), wrt=0)
def ellipsis_and_none(x):
    a = x[..., 1]
    b = x[0, ..., None]
    c = x[:, None, 1:3, ...]
    return np.sum(a ** 2) + np.sum(b * x[1][:, :, None]) + np.sum(c ** 3)


@corpus_function(A(4), A(3), wrt=(0, 1))
def newaxis_outer(x, y):
    return np.sum(np.tanh(x[:, None] * y[None, :]))


@corpus_function(A(3, 4), wrt=0)
def integer_array_repeated(x):
    return np.sum(x[REPEATED] ** 2 * np.arange(4)) + np.sum(x[:, REPEATED])


@corpus_function(A(6), np.array([5, 0, 0, 3, 5]), wrt=0)
def integer_array_argument(x, idx):
    return np.sum(x[idx] * np.arange(5))


@corpus_function(A(4, 5), wrt=0)
def pairwise_integer_arrays(x):
    rows = np.array([0, 3, 3, 1])
    cols = np.array([4, 0, 0, 2])
    return np.sum(x[rows, cols] ** 2) + np.sum(x[rows, 1:3])


@corpus_function(A(3, 4), wrt=0, jax=False)
def boolean_mask_computed(x):
    return np.sum(x[x > 0] ** 2) + np.sum(x[np.abs(x) < 0.5])


@corpus_function(A(3, 4), wrt=0, jax=False)
def boolean_mask_constant(x):
    return np.sum(np.sin(x[MASK])) + np.sum(x[:, MASK[0]] * 2.0)


@corpus_function(A(6), wrt=0)
def take_function(x):
    return np.sum(np.take(x, REPEATED) ** 2)


@corpus_function(A(3, 4), wrt=0, vector_output=True)
def index_vector_output(x):
    return x[REPEATED, 1:] * x[0, :3]
