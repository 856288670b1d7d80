"""Constructors used as constants, and non-differentiable calls inside differentiable code."""

import numpy as np

from transgrad.rules.specs import A, P

from . import corpus_function


@corpus_function(A(3, 3), wrt=0)
def eye_identity(a):
    b = a + 2.0 * np.eye(3)
    return np.sum(b * b) + np.sum(a @ np.identity(3))


@corpus_function(A(3, 4), wrt=0, float32=True)
def zeros_ones_full(x):
    z = np.zeros((3, 4)) + x
    o = np.ones(4) * x
    f = np.full((3, 4), 0.5)
    return np.sum(z * o * f)


@corpus_function(A(3, 4), wrt=0)
def like_constructors(x):
    return np.sum((x + np.ones_like(x)) * (np.zeros_like(x) + 2.0) * np.full_like(x, 3.0))


@corpus_function(A(5), wrt=0)
def arange_linspace(x):
    return np.sum(x * np.arange(5) + x ** 2 * np.linspace(0.0, 1.0, 5))


@corpus_function(A(3, 4), wrt=0)
def shape_size_ndim(x):
    n, m = x.shape
    count = x.size
    return np.sum(x) / n + np.sum(x ** 2) / (m * count) + x.ndim * np.sum(x) + len(x)


@corpus_function(A(3, 4), wrt=0)
def shape_functions(x):
    return np.sum(x ** 2) / np.size(x) + np.shape(x)[1] * np.mean(x) + np.ndim(x)


@corpus_function(A(6), wrt=0)
def argmax_argmin(x):
    i = np.argmax(x)
    j = x.argmin()
    return x[i] * 2.0 - x[j] + np.sum(x * np.argsort(x))


@corpus_function(A(6), wrt=0)
def sign_floor_round(x):
    return np.sum(np.sign(x) * x + np.floor(x) * x + np.round(x) * x ** 2 + np.ceil(x))


@corpus_function(A(3, 4), wrt=0)
def astype_int(x):
    k = (x * 3.0).astype(int)
    return np.sum(x * k)


@corpus_function(A(3, 4), wrt=0)
def dtype_attribute(x):
    c = np.ones((3, 4), dtype=x.dtype)
    return np.sum(x.astype(x.dtype) * c)


@corpus_function(P(4), wrt=0)
def nondifferentiable_counts(x):
    big = np.count_nonzero(x > 1.0)
    return np.sum(x) * big + np.sum(x * np.isfinite(x))
