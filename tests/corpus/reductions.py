"""Reductions as functions and methods, with ``axis`` and ``keepdims``."""

import numpy as np

from transgrad.rules.specs import A, P

from . import corpus_function


@corpus_function(A(3, 4), wrt=0, float32=True)
def sum_axis(x):
    return np.sum(np.sum(x, axis=0) ** 2)


@corpus_function(A(2, 3, 4), wrt=0)
def sum_axes_keepdims(x):
    s = np.sum(x, axis=(0, 2), keepdims=True)
    return np.sum(s * x)


@corpus_function(A(3, 4), wrt=0)
def mean_negative_axis(x):
    return np.sum(np.mean(x, axis=-1) * np.arange(3))


@corpus_function(A(3, 4), wrt=0)
def max_min_all(x):
    return np.max(x) - 2.0 * np.min(x)


@corpus_function(A(3, 4), wrt=0)
def max_min_axis(x):
    return np.sum(np.max(x, axis=1) * np.min(x, axis=0, keepdims=True).sum())


@corpus_function(A(2, 3), wrt=0)
def amax_amin(x):
    return np.sum(np.amax(x, axis=0) ** 2) + np.sum(np.amin(x, axis=1))


@corpus_function(P(3, 4), wrt=0)
def prod_axis(x):
    return np.sum(np.prod(x, axis=1)) + np.prod(x)


@corpus_function(A(3, 4), wrt=0)
def var_std(x):
    return np.sum(np.var(x, axis=0)) + np.std(x) + np.sum(np.std(x, axis=1, keepdims=True))


@corpus_function(A(4, 5), wrt=0)
def var_std_ddof(x):
    return np.sum(np.var(x, axis=1, ddof=1)) + np.std(x, ddof=1)


@corpus_function(A(3, 4), wrt=0, float32=True)
def reduction_methods(x):
    return x.sum() + x.mean(axis=0).sum() + x.max(axis=1).sum() + x.min() + x.var() + x.std()


@corpus_function(P(2, 3), wrt=0)
def prod_method(x):
    return x.prod(axis=0).sum() * x.prod()


@corpus_function(A(3, 4), wrt=0)
def center_rows(x):
    c = x - x.mean(axis=1, keepdims=True)
    return np.sum(c ** 2 * np.arange(4))


@corpus_function(A(3, 4), wrt=0)
def cumulative(x):
    return np.sum(np.cumsum(x, axis=1) * np.cumprod(x, axis=0)) + np.sum(x.cumsum())


@corpus_function(A(3, 4), P(3), wrt=(0, 1))
def weighted_average(x, w):
    return np.sum(np.average(x, axis=0, weights=w))


@corpus_function(A(3, 5), wrt=0)
def log_sum_exp(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))


@corpus_function(A(2, 3, 4), wrt=0, vector_output=True)
def reduction_vector_output(x):
    return np.sum(x, axis=1) + np.mean(x, axis=(0, 1))


@corpus_function(A(3, 4), wrt=0, vector_output=True)
def max_keepdims_output(x):
    return np.max(x, axis=0, keepdims=True) * x
