"""Elementwise numpy math, under the three import spellings."""

import numpy
import numpy as np
from numpy import cos, sin

from transgrad.rules.specs import A, G, P, U

from . import corpus_function


@corpus_function(A(3, 4), P(3, 4), wrt=(0, 1), float32=True)
def exp_log(x, y):
    return np.sum(np.exp(x) * np.log(y))


@corpus_function(U(3, 4), wrt=0)
def trigonometric(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(x))


@corpus_function(A(3, 4), wrt=0, float32=True)
def hyperbolic(x):
    return np.sum(np.sinh(x) + np.cosh(x) * np.tanh(x))


@corpus_function(U(5), wrt=0)
def inverse_trigonometric(x):
    return np.sum(np.arcsin(x) + np.arccos(x) * np.arctan(x))


@corpus_function(U(4), G(4), A(4), wrt=(0, 1, 2))
def inverse_hyperbolic(u, g, a):
    return np.sum(np.arctanh(u) + np.arccosh(g) + np.arcsinh(a))


@corpus_function(P(3, 4), wrt=0)
def roots_and_squares(x):
    return np.sum(np.sqrt(x) + np.cbrt(x) + np.square(x) + np.reciprocal(x))


@corpus_function(P(6), wrt=0)
def log_family(x):
    return np.sum(np.log2(x) + np.log10(x) + np.log1p(x) + np.expm1(x) + np.exp2(x))


@corpus_function(A(4), A(4), wrt=(0, 1))
def logaddexp(x, y):
    return np.sum(np.logaddexp(x, y) + np.logaddexp2(x, 2.0 * y))


@corpus_function(A(3, 4), A(4), wrt=(0, 1))
def arctan2_hypot(y, x):
    return np.sum(np.arctan2(y, x) + np.hypot(x, y))


@corpus_function(A(6), wrt=0)
def absolute_value(x):
    return np.sum(np.abs(x) + np.absolute(2.0 * x) * x)


@corpus_function(A(3, 4), A(4), wrt=(0, 1))
def maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) - np.minimum(x, 0.3) + np.maximum(0.0, y))


@corpus_function(A(3, 4), A(3, 4), wrt=(0, 1))
def fmax_fmin(x, y):
    return np.sum(np.fmax(x, y) * np.fmin(x, y))


@corpus_function(A(3, 4), wrt=0)
def clip_function_and_method(x):
    return np.sum(np.clip(x, -1.0, 1.0) + x.clip(-0.5, 1.5) ** 2)


@corpus_function(A(3, 4), A(3, 4), wrt=(0, 1))
def where_select(x, y):
    return np.sum(np.where(x > y, x * y, y - x) + np.where(x > 0, x, 0.0))


@corpus_function(A(5), wrt=0, float32=True)
def sigmoid(x):
    return np.sum(1.0 / (1.0 + np.exp(-x)))


@corpus_function(A(5), wrt=0)
def softplus(x):
    return np.sum(np.logaddexp(0.0, x))


@corpus_function(A(5), wrt=0)
def sinc_and_angles(x):
    return np.sum(np.sinc(x) + np.deg2rad(x) * np.rad2deg(x))


@corpus_function(A(3, 4), wrt=0, jax=False)
def from_numpy_import(x):
    return np.sum(sin(x) * cos(x) + sin(2.0 * x))


@corpus_function(A(3, 4), P(3, 4), wrt=(0, 1), jax=False)
def plain_import_numpy(x, y):
    return numpy.sum(numpy.tanh(x) * numpy.sqrt(y))


@corpus_function(A(3, 4), wrt=0, vector_output=True)
def elementwise_vector(x):
    return np.tanh(x) * np.exp(-x)
