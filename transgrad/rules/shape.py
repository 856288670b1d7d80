"""Rules for functions that move, copy or assemble elements without arithmetic.

Functions that take a sequence of arrays (``np.concatenate``'s ``arrays``) return a sequence of
cotangents for it; functions that return a sequence (``np.split``) get a sequence ``g`` whose
entries are None where the cotangent is zero.
"""

import numpy as np

from .. import runtime as tgr
from .registry import Sample, vjp
from .specs import A, S

# --- reshaping and permuting axes --------------------------------------------------------


@vjp(np.reshape, samples=[Sample((A(3, 4), (4, 3))), Sample((A(3, 4), -1)),
                          Sample((A(2, 6), (3, 2, 2)), {"order": "F"})])
def reshape(g, ans, a, shape=None, order="C"):
    return np.reshape(g, np.shape(a), order=order)


@vjp(np.transpose, samples=[Sample((A(3, 4),)), Sample((A(2, 3, 4), (1, 2, 0)))])
def transpose(g, ans, a, axes=None):
    return np.transpose(g, tgr.inverse_permutation(axes, np.ndim(a)))


@vjp(np.swapaxes, samples=[Sample((A(2, 3, 4), 0, 2)), Sample((A(3, 4), -1, 0))])
def swapaxes(g, ans, a, axis1, axis2):
    return np.swapaxes(g, axis1, axis2)


@vjp(np.moveaxis, samples=[Sample((A(2, 3, 4), 0, -1)), Sample((A(2, 3, 4), (0, 1), (2, 0)))])
def moveaxis(g, ans, a, source, destination):
    return np.moveaxis(g, destination, source)


@vjp(np.expand_dims, samples=[Sample((A(3, 4), 1)), Sample((A(3), (0, 2)))])
def expand_dims(g, ans, a, axis):
    return np.reshape(g, np.shape(a))


@vjp(np.squeeze, samples=[Sample((A(3, 1, 4, 1),)), Sample((A(1, 3), 0))])
def squeeze(g, ans, a, axis=None):
    return np.reshape(g, np.shape(a))


@vjp(np.ravel, samples=[Sample((A(3, 4),)), Sample((A(3, 4),), {"order": "F"})])
def ravel(g, ans, a, order="C"):
    return np.reshape(g, np.shape(a), order=order)


@vjp(np.broadcast_to, broadcasting=True,
     samples=[Sample((A(3), (2, 3))), Sample((A(3, 1), (2, 3, 4))), Sample((S(), (3,)))])
def broadcast_to(g, ans, array, shape, subok=False):
    return g


@vjp(np.flip, samples=[Sample((A(3, 4),)), Sample((A(3, 4), 1)), Sample((A(2, 3, 4), (0, 2)))])
def flip(g, ans, m, axis=None):
    return np.flip(g, axis)


@vjp(np.fliplr, samples=[Sample((A(3, 4),))])
def fliplr(g, ans, m):
    return np.fliplr(g)


@vjp(np.flipud, samples=[Sample((A(3, 4),))])
def flipud(g, ans, m):
    return np.flipud(g)


@vjp(np.roll, samples=[Sample((A(5), 2)), Sample((A(3, 4), -1, 1)),
                       Sample((A(3, 4), (1, 2), (0, 1)))])
def roll(g, ans, a, shift, axis=None):
    return np.roll(g, tgr.negated(shift), axis)


# --- copies ------------------------------------------------------------------------------

@vjp(np.copy, samples=[Sample((A(3, 4),))])
def copy(g, ans, a, order="K", subok=False):
    return g


@vjp(np.array, samples=[Sample((A(3, 4),)), Sample(([A(3), A(3)],)),
                        Sample(((S(), S(), S()),)), Sample((A(3),), {"ndmin": 2})])
def array(g, ans, object, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    """An array built from differentiable values: a nested sequence gets nested cotangents."""
    return tgr.array_vjp(g, object)


@vjp(np.asarray, samples=[Sample((A(3, 4),)), Sample(([A(2), A(2), A(2)],)), Sample((S(),))])
def asarray(g, ans, a, dtype=None, order=None):
    return tgr.array_vjp(g, a)


@vjp(np.atleast_1d, samples=[Sample((S(),)), Sample((A(3),))])
def atleast_1d(g, ans, *arys):
    """One array only (several give a list); a 1-tuple, one cotangent per array."""
    return (np.reshape(g, np.shape(arys[0])),)


@vjp(np.atleast_2d, samples=[Sample((A(3),)), Sample((A(2, 3),))])
def atleast_2d(g, ans, *arys):
    """One array only (several give a list); a 1-tuple, one cotangent per array."""
    return (np.reshape(g, np.shape(arys[0])),)


# --- joining and splitting ---------------------------------------------------------------

@vjp(np.concatenate, samples=[
    Sample(([A(2, 3), A(4, 3)],)), Sample(([A(3, 2), A(3, 1), A(3, 4)], 1)),
    Sample(((A(2, 3), A(3)),), {"axis": None})])
def concatenate(g, ans, arrays, axis=0, out=None, dtype=None):
    return tgr.unconcatenate(g, arrays, axis)


@vjp(np.stack, samples=[Sample(([A(2, 3), A(2, 3)],)), Sample(([A(3), A(3), A(3)], 1)),
                        Sample(([A(2, 3), A(2, 3)],), {"axis": -1})])
def stack(g, ans, arrays, axis=0, out=None, dtype=None):
    """``g`` with the stacked axis first: indexing it gives each array's cotangent."""
    return np.moveaxis(g, axis, 0)


@vjp(np.vstack, samples=[Sample(([A(2, 3), A(3)],)), Sample(([A(3), A(3)],))])
def vstack(g, ans, tup, dtype=None):
    return tgr.unconcatenate(g, tup, 0, 2)


@vjp(np.hstack, samples=[Sample(([A(2, 3), A(2, 1)],)), Sample(([A(3), A(2), S()],))])
def hstack(g, ans, tup, dtype=None):
    """1-d inputs are joined along axis 0, others along axis 1."""
    return tgr.unconcatenate(g, tup, 0 if np.ndim(g) == 1 else 1)


@vjp(np.split, samples=[Sample((A(6, 2), 3)), Sample((A(2, 6), [1, 4], 1))])
def split(g, ans, ary, indices_or_sections, axis=0):
    return tgr.split_vjp(g, ans, axis)


@vjp(np.array_split, samples=[Sample((A(7, 2), 3)), Sample((A(2, 5), 2, 1))])
def array_split(g, ans, ary, indices_or_sections, axis=0):
    return tgr.split_vjp(g, ans, axis)


# --- repeating and padding ---------------------------------------------------------------

@vjp(np.tile, samples=[Sample((A(3), 2)), Sample((A(2, 3), (2, 1))), Sample((A(3), (2, 2))),
                       Sample((A(2, 3), (2,)))])
def tile(g, ans, A, reps):
    return tgr.tile_vjp(g, A, reps)


@vjp(np.repeat, samples=[Sample((A(2, 3), 2)), Sample((A(2, 3), 3, 1)),
                         Sample((A(2, 3), np.array([1, 0, 2]), 1)),
                         Sample((A(3), np.array([2, 1, 3])))])
def repeat(g, ans, a, repeats, axis=None):
    return tgr.repeat_vjp(g, a, repeats, axis)


@vjp(np.pad, samples=[Sample((A(3, 4), 1)), Sample((A(3, 4), ((1, 2), (0, 1)))),
                      Sample((A(3, 4), ((1, 0), (2, 2))), {"constant_values": 5.0}),
                      Sample((A(3, 4), 2, "reflect")), Sample((A(4), (2, 3), "edge")),
                      Sample((A(2, 3), 1, "wrap"))])
def pad(g, ans, array, pad_width, mode="constant", constant_values=0):
    """Constant padding, and the modes that copy elements (edge, reflect, symmetric, wrap)."""
    return tgr.pad_vjp(g, array, pad_width, mode)


@vjp(np.sort, samples=[Sample((A(3, 4),)), Sample((A(3, 4), 0)), Sample((A(3, 4), None))])
def sort(g, ans, a, axis=-1, kind=None, order=None):
    return tgr.sort_vjp(g, a, axis)


# --- the array-method helpers that normalization calls -----------------------------------

@vjp(tgr.astype, samples=[Sample((A(3, 4), "float64")), Sample((A(3), float)),
                          Sample((A(3), "int64"))])
def astype(g, ans, x, dtype):
    """Float targets pass the cotangent (cast back); integer and boolean targets give zero."""
    return tgr.astype_vjp(g, x, dtype)


@vjp(tgr.item, samples=[Sample((A(1),)), Sample((A(1, 1),))])
def item(g, ans, x):
    return np.reshape(g, np.shape(x))
