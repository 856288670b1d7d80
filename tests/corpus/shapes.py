"""Reshaping, transposing and assembling arrays."""

import numpy as np

from transgrad.rules.specs import A

from . import corpus_function

WEIGHTS = np.linspace(-1.0, 2.0, 12)


@corpus_function(A(3, 4), wrt=0, float32=True)
def reshape_forms(x):
    a = x.reshape(2, 6)
    b = x.reshape((4, 3))
    c = np.reshape(x, -1)
    return np.sum(a[1] ** 2) + np.sum(b[:, 0] * 3.0) + np.sum(c * WEIGHTS)


@corpus_function(A(2, 3, 4), wrt=0)
def transpose_forms(x):
    a = np.transpose(x, (1, 2, 0))
    b = x.transpose(2, 0, 1)
    c = x[:, 0].T
    return np.sum(a[0] * c) + np.sum(b[1] ** 2)


@corpus_function(A(3, 4), wrt=0)
def flatten_ravel_copy(x):
    a = x.flatten()
    b = np.ravel(x)
    c = x.ravel()
    d = x.copy()
    e = np.copy(x)
    return np.sum(a * WEIGHTS) + np.sum(b * c) + np.sum(d * e)


@corpus_function(A(3, 4), wrt=0)
def astype_float(x):
    return np.sum(x.astype(float) ** 2 + x.astype(np.float64))


@corpus_function(A(2, 3), A(4, 3), A(2, 5), wrt=(0, 1, 2))
def concatenate(a, b, c):
    v = np.concatenate([a, b], axis=0)
    h = np.concatenate((a, c), axis=1)
    return np.sum(v ** 2 * np.arange(3)) + np.sum(h[:, 2:] * a[0, 0])


@corpus_function(A(3), A(3), A(3), wrt=(0, 1, 2))
def stack_forms(a, b, c):
    s0 = np.stack([a, b, c])
    s1 = np.stack([a, b], axis=1)
    v = np.vstack([a, c])
    h = np.hstack([b, c])
    return np.sum(s0 * np.arange(9).reshape(3, 3)) + np.sum(s1 ** 2) + np.sum(v[1] * h[:3])


@corpus_function(A(4, 6), wrt=0)
def split_unpack(x):
    a, b = np.split(x, 2, axis=1)
    c, d, e = np.split(x[0], [1, 4])
    return np.sum(a * b) + np.sum(c) * np.sum(d ** 2) - np.sum(e)


@corpus_function(A(2, 3), wrt=0)
def tile_repeat(x):
    t = np.tile(x, (2, 2))
    r = np.repeat(x, 2, axis=0)
    m = x.repeat(3)
    return np.sum(t * np.arange(6)) + np.sum(r ** 2) + np.sum(m * np.arange(18))


@corpus_function(A(3, 4), wrt=0)
def flip_roll(x):
    f = np.flip(x, axis=1)
    r = np.roll(x, 1, axis=0)
    return np.sum(f * WEIGHTS.reshape(3, 4)) + np.sum(r * x) + np.sum(np.flip(x) * r)


@corpus_function(A(2, 3), wrt=0)
def pad_constant(x):
    p = np.pad(x, ((1, 0), (2, 1)))
    return np.sum(p * np.arange(18).reshape(3, 6))


@corpus_function(A(1, 3, 1), A(3), wrt=(0, 1))
def squeeze_expand_dims(x, v):
    s = np.squeeze(x)
    t = x.squeeze(axis=2)
    e = np.expand_dims(v, 0)
    return np.sum(s * v) + np.sum(t * e) + np.sum(e[:, :, None] * x)


@corpus_function(A(2, 3, 4), wrt=0)
def swapaxes_moveaxis(x):
    a = np.swapaxes(x, 0, 2)
    b = np.moveaxis(x, 0, -1)
    c = x.swapaxes(1, 2)
    return np.sum(a[:, 1, :] ** 2) + np.sum(b[0] * c[:, :, 0].T)


@corpus_function(A(4), A(3, 1), wrt=(0, 1))
def broadcast_to(v, c):
    return np.sum(np.broadcast_to(v, (3, 4)) * np.broadcast_to(c, (3, 4)) ** 2)


@corpus_function(A(4, 4), A(3), wrt=(0, 1))
def diagonals(a, v):
    return np.sum(np.diag(a) ** 2) + np.sum(np.diag(v) * a[:3, :3]) + np.sum(a.diagonal(1))


@corpus_function(A(4, 4), wrt=0)
def triangles(a):
    return np.sum(np.tril(a) ** 2) + np.sum(np.triu(a, 1) * 3.0)


@corpus_function(A(3), wrt=0)
def atleast_2d_column(v):
    m = np.atleast_2d(v)
    return np.sum(m.T @ m)


@corpus_function(A(2, 3), A(2, 3), wrt=(0, 1), vector_output=True)
def assemble_vector_output(a, b):
    return np.concatenate([a, b * 2.0], axis=1).T
