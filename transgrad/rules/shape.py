"""Rules for functions that move, copy or assemble elements without arithmetic.

Functions that take a sequence of arrays (``np.concatenate``'s ``arrays``) return a sequence of
cotangents for it; functions that return a sequence (``np.split``) get a sequence ``g`` whose
entries are None where the cotangent is zero.
"""

import numpy as np

from .. import runtime as tgr
from ..runtime import ListCotangent, _put_along, _scatter_add, _stable_argsort, zeros_like_value
from .registry import Sample, helper, jvp, linear, nondifferentiable, vjp
from .specs import A, S

linear(np.split, np.array_split, positions=(0,))   # reverse rules below

# --- reshaping and permuting axes --------------------------------------------------------


@vjp(np.reshape, linear=True, method="reshape", vararg_method=True, tensor="reshape",
     tensor_node="ViewBackward0", tensor_impl=lambda a, shape: a.reshape(shape),
     torch=("reshape",), samples=[Sample((A(3, 4), (4, 3))), Sample((A(3, 4), -1)),
                          Sample((A(2, 6), (3, 2, 2)), {"order": "F"})])
def reshape(g, ans, a, shape=None, order="C"):
    return np.reshape(g, np.shape(a), order=order)


@vjp(np.transpose, linear=True, method="transpose", vararg_method=True, attribute="T",
     tensor="transpose", tensor_node="PermuteBackward0",
     tensor_impl=lambda a, axes: a.transpose(axes), torch=("transpose", "permute", "t"),
     samples=[Sample((A(3, 4),)), Sample((A(2, 3, 4), (1, 2, 0)))])
def transpose(g, ans, a, axes=None):
    return np.transpose(g, tgr.inverse_permutation(axes, np.ndim(a)))


@helper
def inverse_permutation(axes, ndim):
    """The axes that undo ``np.transpose(x, axes)``; None (reverse) is its own inverse."""
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))


nondifferentiable(inverse_permutation, reason="integer-valued")


@vjp(np.swapaxes, linear=True, method="swapaxes",
     samples=[Sample((A(2, 3, 4), 0, 2)), Sample((A(3, 4), -1, 0))])
def swapaxes(g, ans, a, axis1, axis2):
    return np.swapaxes(g, axis1, axis2)


@vjp(np.moveaxis, linear=True,
     samples=[Sample((A(2, 3, 4), 0, -1)), Sample((A(2, 3, 4), (0, 1), (2, 0)))])
def moveaxis(g, ans, a, source, destination):
    return np.moveaxis(g, destination, source)


@vjp(np.expand_dims, linear=True, samples=[Sample((A(3, 4), 1)), Sample((A(3), (0, 2)))])
def expand_dims(g, ans, a, axis):
    return np.reshape(g, np.shape(a))


@vjp(np.squeeze, linear=True, method="squeeze", torch=("squeeze",),
     samples=[Sample((A(3, 1, 4, 1),)), Sample((A(1, 3), 0))])
def squeeze(g, ans, a, axis=None):
    return np.reshape(g, np.shape(a))


@vjp(np.ravel, linear=True, method=("ravel", "flatten"), torch=("flatten",),
     samples=[Sample((A(3, 4),)), Sample((A(3, 4),), {"order": "F"})])
def ravel(g, ans, a, order="C"):
    return np.reshape(g, np.shape(a), order=order)


@vjp(np.broadcast_to, broadcasting=True, linear=True, tensor="expand",
     tensor_node="ExpandBackward0",
     samples=[Sample((A(3), (2, 3))), Sample((A(3, 1), (2, 3, 4))), Sample((S(), (3,)))])
def broadcast_to(g, ans, array, shape, subok=False):
    return g


@vjp(np.flip, linear=True,
     samples=[Sample((A(3, 4),)), Sample((A(3, 4), 1)), Sample((A(2, 3, 4), (0, 2)))])
def flip(g, ans, m, axis=None):
    return np.flip(g, axis)


@vjp(np.fliplr, linear=True, samples=[Sample((A(3, 4),))])
def fliplr(g, ans, m):
    return np.fliplr(g)


@vjp(np.flipud, linear=True, samples=[Sample((A(3, 4),))])
def flipud(g, ans, m):
    return np.flipud(g)


@vjp(np.roll, linear=True, samples=[Sample((A(5), 2)), Sample((A(3, 4), -1, 1)),
                       Sample((A(3, 4), (1, 2), (0, 1)))])
def roll(g, ans, a, shift, axis=None):
    return np.roll(g, tgr.negated(shift), axis)


@helper
def negated(shift):
    """``-shift`` for an int or a tuple of ints (``np.roll``'s inverse shift)."""
    return np.negative(shift)

# --- copies ------------------------------------------------------------------------------

@vjp(np.copy, linear=True, tensor="clone", tensor_node="CloneBackward0",
     tensor_impl=np.ndarray.copy, torch=("clone",), samples=[Sample((A(3, 4),))])
def copy(g, ans, a, order="K", subok=False):
    return g


@vjp(np.array, linear=True, samples=[Sample((A(3, 4),)), Sample(([A(3), A(3)],)),
                        Sample(((S(), S(), S()),)), Sample((A(3),), {"ndmin": 2})])
def array(g, ans, object, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    """An array built from differentiable values: a nested sequence gets nested cotangents."""
    return tgr.array_vjp(g, object)


@vjp(np.asarray, linear=True,
     samples=[Sample((A(3, 4),)), Sample(([A(2), A(2), A(2)],)), Sample((S(),))])
def asarray(g, ans, a, dtype=None, order=None):
    return tgr.array_vjp(g, a)


@helper(linear=(0,))
def array_vjp(g, obj):
    """Cotangent of ``obj`` in ``np.array(obj)``: nested lists and tuples get nested
    ListCotangents (``+`` adds them entry by entry, and to a zero ``0.0``)."""
    if isinstance(obj, (list, tuple)):
        return ListCotangent(array_vjp(g[i], part) for i, part in enumerate(obj))
    return np.reshape(g, np.shape(obj))


@vjp(array_vjp, samples=[Sample((A(3, 4), A(3, 4))), Sample((A(2, 3), [A(3), A(3)])),
                                 Sample((A(3), (S(), S(), S())))])
def array_vjp_rule(gg, ans, g, obj):
    """``gg`` has the structure of ``obj``: its parts joined into one array."""
    return tgr.join_parts(gg, g), tgr.zeros_like_value(obj)


@helper(linear=(0,))
def join_parts(parts, like):
    """The transpose of ``array_vjp``: the cotangents of ``obj``'s parts (nested sequences, or
    one array when the parts have one shape) as one array shaped like ``like``."""
    if isinstance(parts, (list, tuple)):
        return np.stack([join_parts(p, like[i]) for i, p in enumerate(parts)])
    return np.reshape(parts, np.shape(like))

@vjp(np.atleast_1d, linear=True, samples=[Sample((S(),)), Sample((A(3),))])
def atleast_1d(g, ans, *arys):
    """One array only (several give a list); a 1-tuple, one cotangent per array."""
    return (np.reshape(g, np.shape(arys[0])),)


@vjp(np.atleast_2d, linear=True, samples=[Sample((A(3),)), Sample((A(2, 3),))])
def atleast_2d(g, ans, *arys):
    """One array only (several give a list); a 1-tuple, one cotangent per array."""
    return (np.reshape(g, np.shape(arys[0])),)


# --- joining and splitting ---------------------------------------------------------------

@vjp(np.concatenate, linear=True, tensor="cat", tensor_node="CatBackward0", torch=("cat",),
     samples=[
    Sample(([A(2, 3), A(4, 3)],)), Sample(([A(3, 2), A(3, 1), A(3, 4)], 1)),
    Sample(((A(2, 3), A(3)),), {"axis": None})])
def concatenate(g, ans, arrays, axis=0, out=None, dtype=None):
    return tgr.unconcatenate(g, arrays, axis)


@helper
def _atleast_shape(shape, ndmin):
    return (1,) * (ndmin - len(shape)) + tuple(shape)


@helper(linear=(0,))
def unconcatenate(g, arrays, axis=0, ndmin=1):
    """Cut ``g`` into the cotangents of the ``arrays`` that ``np.concatenate`` joined along
    ``axis`` (None: flattened), after making each at least ``ndmin``-d (``vstack``: 2)."""
    shapes = [np.shape(x) for x in arrays]
    if axis is None:
        g, axis = np.ravel(g), 0
        sizes = [int(np.prod(s)) for s in shapes]
    else:
        sizes = [_atleast_shape(s, ndmin)[axis] for s in shapes]
    lead = (slice(None),) * (axis % np.ndim(g))   # slices: np.split is slow Python
    parts, start = [], 0
    for size, shape in zip(sizes, shapes):
        part = g[lead + (slice(start, start + size),)]
        parts.append(part if part.shape == shape else np.reshape(part, shape))
        start += size
    return parts


@vjp(unconcatenate, samples=[
    Sample((A(6, 3), [A(2, 3), A(4, 3)])), Sample((A(3, 7), [A(3, 2), A(3, 1), A(3, 4)], 1)),
    Sample((A(9), (A(2, 3), A(3)), None)), Sample((A(3, 3), [A(2, 3), A(3)], 0, 2)),
    Sample((A(6), [A(3), A(2), S()], 0))])
def unconcatenate_rule(gg, ans, g, arrays, axis=0, ndmin=1):
    return tgr.concatenate_parts(gg, arrays, axis, ndmin), tgr.zeros_like_value(arrays)


@helper(linear=(0,))
def concatenate_parts(parts, arrays, axis=0, ndmin=1):
    """The transpose of ``unconcatenate``: the cotangents ``parts`` of ``arrays`` (a sequence,
    None where zero, or one array when they have one shape) joined as ``np.concatenate``
    joins ``arrays`` along ``axis`` (None: flattened) after making each at least
    ``ndmin``-d."""
    joined = []
    for i, x in enumerate(arrays):
        part = zeros_like_value(x) if parts[i] is None else np.broadcast_to(parts[i], np.shape(x))
        joined.append(np.ravel(part) if axis is None
                      else np.reshape(part, _atleast_shape(np.shape(x), ndmin)))
    return np.concatenate(joined, axis=0 if axis is None else axis)

@vjp(np.stack, linear=True, tensor="stack", tensor_node="StackBackward0", torch=("stack",),
     samples=[Sample(([A(2, 3), A(2, 3)],)), Sample(([A(3), A(3), A(3)], 1)),
                        Sample(([A(2, 3), A(2, 3)],), {"axis": -1})])
def stack(g, ans, arrays, axis=0, out=None, dtype=None):
    """``g`` with the stacked axis first: indexing it gives each array's cotangent."""
    return np.moveaxis(g, axis, 0)


@vjp(np.vstack, linear=True, samples=[Sample(([A(2, 3), A(3)],)), Sample(([A(3), A(3)],))])
def vstack(g, ans, tup, dtype=None):
    return tgr.unconcatenate(g, tup, 0, 2)


@vjp(np.hstack, linear=True, samples=[Sample(([A(2, 3), A(2, 1)],)), Sample(([A(3), A(2), S()],))])
def hstack(g, ans, tup, dtype=None):
    """1-d inputs are joined along axis 0, others along axis 1."""
    return tgr.unconcatenate(g, tup, 0 if np.ndim(g) == 1 else 1)


@vjp(np.split, samples=[Sample((A(6, 2), 3)), Sample((A(2, 6), [1, 4], 1))])
def split(g, ans, ary, indices_or_sections, axis=0):
    return tgr.split_vjp(g, ans, axis)


@vjp(np.array_split, samples=[Sample((A(7, 2), 3)), Sample((A(2, 5), 2, 1))])
def array_split(g, ans, ary, indices_or_sections, axis=0):
    return tgr.split_vjp(g, ans, axis)


@helper(linear=(0,))
def split_vjp(g, ans, axis=0):
    """Cotangent of the array that ``np.split``/``np.array_split`` cut into ``ans``; ``g`` has
    one cotangent per part, None where it is zero."""
    return concatenate_parts(g, ans, axis)


@vjp(split_vjp, samples=[Sample(([A(2, 2), A(2, 2), A(2, 2)], [A(2, 2)] * 3)),
                                 Sample(([A(2, 1), A(2, 3), A(2, 2)], [A(2, 1), A(2, 3), A(2, 2)],
                                         1))])
def split_vjp_rule(gg, ans, g, parts, axis=0):
    return tgr.unconcatenate(gg, parts, axis), tgr.zeros_like_value(parts)

# --- repeating and padding ---------------------------------------------------------------

@vjp(np.tile, linear=True,
     samples=[Sample((A(3), 2)), Sample((A(2, 3), (2, 1))), Sample((A(3), (2, 2))),
                       Sample((A(2, 3), (2,)))])
def tile(g, ans, A, reps):
    return tgr.tile_vjp(g, A, reps)


@helper(linear=(0,))
def tile_vjp(g, a, reps):
    """Cotangent of ``a`` in ``np.tile(a, reps)``: the sum over the tiles."""
    shape = np.shape(a)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    ndim = max(len(shape), len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    padded = _atleast_shape(shape, ndim)
    blocks = np.reshape(g, [n for pair in zip(reps, padded) for n in pair])
    return np.reshape(np.sum(blocks, axis=tuple(range(0, 2 * ndim, 2))), shape)


@vjp(tile_vjp, samples=[Sample((A(6), A(3), 2)), Sample((A(4, 3), A(2, 3), (2, 1))),
                                Sample((A(2, 6), A(3), (2, 2)))])
def tile_vjp_rule(gg, ans, g, a, reps):
    return np.tile(gg, reps), tgr.zeros_like_value(a), None

@vjp(np.repeat, linear=True, method="repeat",
     samples=[Sample((A(2, 3), 2)), Sample((A(2, 3), 3, 1)),
                         Sample((A(2, 3), np.array([1, 0, 2]), 1)),
                         Sample((A(3), np.array([2, 1, 3])))])
def repeat(g, ans, a, repeats, axis=None):
    return tgr.repeat_vjp(g, a, repeats, axis)


@helper(linear=(0,))
def repeat_vjp(g, a, repeats, axis=None):
    """Cotangent of ``a`` in ``np.repeat(a, repeats, axis)``: the sum over the copies."""
    shape = np.shape(a)
    if axis is None:
        g, axis, flat_shape = np.ravel(g), 0, (int(np.prod(shape)),)
    else:
        axis, flat_shape = axis % len(shape), shape
    if np.size(repeats) == 1:
        r = int(np.ravel(repeats)[0])
        split = flat_shape[:axis] + (flat_shape[axis], r) + flat_shape[axis + 1:]
        return np.reshape(np.sum(np.reshape(g, split), axis=axis + 1), shape)
    ends = np.cumsum(repeats)
    starts = ends - np.asarray(repeats)
    totals = np.cumsum(g, axis=axis)
    zero = np.zeros_like(np.take(totals, np.asarray([0]), axis=axis))   # jnp.take: no lists
    totals = np.concatenate([zero, totals], axis=axis)
    ba = np.take(totals, ends, axis=axis) - np.take(totals, starts, axis=axis)
    return np.reshape(ba, shape)


@vjp(repeat_vjp, samples=[Sample((A(12), A(2, 3), 2)), Sample((A(2, 9), A(2, 3), 3, 1)),
                                  Sample((A(2, 3), A(2, 3), np.array([1, 0, 2]), 1)),
                                  Sample((A(6), A(3), np.array([2, 1, 3])))])
def repeat_vjp_rule(gg, ans, g, a, repeats, axis=None):
    return np.repeat(gg, repeats, axis), tgr.zeros_like_value(a), None

@vjp(np.pad, samples=[Sample((A(3, 4), 1)), Sample((A(3, 4), ((1, 2), (0, 1)))),
                      Sample((A(3, 4), ((1, 0), (2, 2))), {"constant_values": 5.0}),
                      Sample((A(3, 4), 2, "reflect")), Sample((A(4), (2, 3), "edge")),
                      Sample((A(2, 3), 1, "wrap"))])
def pad(g, ans, array, pad_width, mode="constant", constant_values=0):
    """Constant padding, and the modes that copy elements (edge, reflect, symmetric, wrap)."""
    return tgr.pad_vjp(g, array, pad_width, mode)


@helper(linear=(0,))
def pad_vjp(g, array, pad_width, mode="constant"):
    """Cotangent of ``array`` in ``np.pad(array, pad_width, mode)``: the inner block for a
    constant pad; for the modes that copy elements, the copies' cotangents summed back."""
    shape = np.shape(array)
    copy_modes = ("edge", "reflect", "symmetric", "wrap")
    if mode == "constant":
        widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2))
        return g[tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, shape))]
    if mode not in copy_modes:
        raise ValueError(f"transgrad: no derivative for np.pad with mode={mode!r}; use one of "
                         f"'constant', {', '.join(repr(m) for m in copy_modes)}")
    source = np.pad(np.arange(int(np.prod(shape))).reshape(shape), pad_width, mode=mode)
    ba = _scatter_add(np.zeros(int(np.prod(shape)), dtype=np.result_type(g)), source.ravel(),
                      np.ravel(g))
    return np.reshape(ba, shape)


@vjp(pad_vjp, samples=[Sample((A(5, 6), A(3, 4), 1)),
                               Sample((A(7, 8), A(3, 4), 2, "reflect")),
                               Sample((A(9), A(4), (2, 3), "edge")),
                               Sample((A(4, 5), A(2, 3), 1, "wrap"))])
def pad_vjp_rule(gg, ans, g, array, pad_width, mode="constant"):
    return np.pad(gg, pad_width, mode), tgr.zeros_like_value(array), None


@jvp(np.pad, samples=[Sample((A(3, 4), 1)), Sample((A(3, 4), ((1, 0), (2, 2))),
                                                   {"constant_values": 5.0}),
                      Sample((A(3, 4), 2, "reflect")), Sample((A(4), (2, 3), "edge"))])
def pad_jvp(g, ans, array, pad_width, mode="constant", constant_values=0):
    """Linear in ``array``: its tangent padded the same way, with zeros for constants."""
    return np.pad(g, pad_width, mode)

@vjp(np.sort, samples=[Sample((A(3, 4),)), Sample((A(3, 4), 0)), Sample((A(3, 4), None))])
def sort(g, ans, a, axis=-1, kind=None, order=None):
    return tgr.sort_vjp(g, a, axis)


@helper(linear=(0,))
def sort_vjp(g, a, axis=-1):
    """Cotangent of ``a`` in ``np.sort(a, axis)``: ``g`` sent back through the permutation."""
    shape = np.shape(a)
    if axis is None:
        a, axis = np.ravel(a), 0
    order = _stable_argsort(a, axis)
    ba = _put_along(np.zeros(np.shape(a), dtype=np.result_type(g)), order, g, axis)
    return np.reshape(ba, shape)


@vjp(sort_vjp, samples=[Sample((A(3, 4), A(3, 4))), Sample((A(3, 4), A(3, 4), 0)),
                                Sample((A(12), A(3, 4), None))])
def sort_vjp_rule(gg, ans, g, a, axis=-1):
    """``g`` sent back through ``a``'s sorting permutation: ``gg`` sorted the same way."""
    return tgr.sort_like(gg, a, axis), tgr.zeros_like_value(a)


@helper(linear=(0,))
def sort_like(c, a, axis=-1):
    """The transpose of ``sort_vjp``: ``c`` in the order ``np.sort(a, axis)`` puts ``a``'s
    elements (flattened for ``axis=None``)."""
    if axis is None:
        c, a, axis = np.ravel(c), np.ravel(a), 0
    return np.take_along_axis(c, _stable_argsort(a, axis), axis)


@jvp(np.sort, samples=[Sample((A(3, 4),)), Sample((A(3, 4), 0)), Sample((A(3, 4), None))])
def sort_jvp(g, ans, a, axis=-1, kind=None, order=None):
    """The tangent sorted as ``a`` is (the transpose of the reverse rule's ``sort_vjp``)."""
    return tgr.sort_like(g, a, axis)

# --- the array-method helpers that normalization calls -----------------------------------

@vjp(tgr.astype, diagonal=True, method="astype", tensor="astype", tensor_node="ToCopyBackward0",
     samples=[Sample((A(3, 4), "float64")), Sample((A(3), float)),
                          Sample((A(3), "int64"))])
def astype(g, ans, x, dtype):
    """Float targets pass the cotangent (cast back); integer and boolean targets give zero."""
    return tgr.astype_vjp(g, x, dtype)


@helper(linear=(0,))
def astype_vjp(g, x, dtype):
    """Cotangent of ``x`` in ``x.astype(dtype)``: cast back to ``x``'s type for a float target;
    zero for an integer or boolean target (the cast is piecewise constant)."""
    if not np.issubdtype(np.dtype(dtype), np.inexact):
        return zeros_like_value(x)
    if isinstance(x, float):
        return float(g)
    return np.asarray(g, dtype=np.result_type(x))


@vjp(astype_vjp, samples=[Sample((A(3, 4), A(3, 4), "float64")),
                                  Sample((A(), S(), float)), Sample((A(3), A(3), "int64"))])
def astype_vjp_rule(gg, ans, g, x, dtype):
    """Casting back to ``g``'s type is its own transpose (zero for an integer target)."""
    return tgr.astype_vjp(gg, g, dtype), tgr.zeros_like_value(x)

@vjp(tgr.item, linear=(0,), method="item", samples=[Sample((A(1),)), Sample((A(1, 1),))])
def item(g, ans, x):
    return np.reshape(g, np.shape(x))


# --- more numpy shape functions (issue 12) ---------------------------------------------------

@vjp(np.atleast_3d, linear=True, samples=[Sample((S(),)), Sample((A(2, 3),))])
def atleast_3d(g, ans, *arys):
    """One array only (several give a list); a 1-tuple, one cotangent per array."""
    return (np.reshape(g, np.shape(arys[0])),)


@vjp(np.rot90, linear=(0,), samples=[Sample((A(2, 3, 4), -1, (2, 0)))])
def rot90(g, ans, m, k=1, axes=(0, 1)):
    """A rotation's transpose is the rotation the other way."""
    return np.rot90(g, -k, axes)


@vjp(np.rollaxis, linear=(0,), samples=[Sample((A(2, 3, 4), -1, 1))])
def rollaxis(g, ans, a, axis, start=0):
    return np.moveaxis(g, tgr.rolled_position(axis, start, np.ndim(a)), axis)


@helper
def rolled_position(axis, start, ndim):
    """Where ``np.rollaxis(a, axis, start)`` puts axis ``axis`` of an ``ndim``-d array."""
    axis, start = axis % ndim, start + ndim if start < 0 else start
    return start - 1 if axis < start else start


nondifferentiable(rolled_position, reason="integer-valued")


@vjp(np.hsplit, linear=(0,), samples=[Sample((A(2, 6), 3))])
def hsplit(g, ans, ary, indices_or_sections):
    """Along axis 1, or 0 for a 1-d array."""
    return tgr.split_vjp(g, ans, 1 if np.ndim(ary) > 1 else 0), None


@vjp(np.vsplit, linear=(0,), samples=[Sample((A(4, 3), [1]))])
def vsplit(g, ans, ary, indices_or_sections):
    return tgr.split_vjp(g, ans, 0), None


@vjp(np.dsplit, linear=(0,), samples=[Sample((A(1, 2, 5), [1, 3]))])
def dsplit(g, ans, ary, indices_or_sections):
    return tgr.split_vjp(g, ans, 2), None


@vjp(np.column_stack, linear=True, samples=[Sample(([A(3, 2), A(3), A(3, 1)],))])
def column_stack(g, ans, tup):
    """1-d arrays are columns; each array's cotangent is its columns of ``g``."""
    return tgr.unstack_along(g, tup, 1)


@vjp(np.dstack, linear=True, samples=[Sample(([A(2, 3, 2), A(2, 3)],))])
def dstack(g, ans, tup):
    """Arrays are made 3-d ((n,) -> (1, n, 1), (m, n) -> (m, n, 1)) and joined on axis 2."""
    return tgr.unstack_along(g, tup, 2)


@helper(linear=(0,))
def unstack_along(g, arrays, axis):
    """Cotangents of the ``arrays`` that ``np.column_stack`` (``axis=1``) or ``np.dstack``
    (``axis=2``) joined: ``g`` cut along ``axis``, each part reshaped to its array."""
    widths = [np.shape(x)[axis] if np.ndim(x) > axis else 1 for x in arrays]
    parts = np.split(g, np.cumsum(widths)[:-1], axis=axis)
    return [np.reshape(p, np.shape(x)) for p, x in zip(parts, arrays)]


@vjp(np.block, linear=True, samples=[Sample(([A(2, 2), A(2, 3)],))])
def block(g, ans, arrays):
    """Nested lists of arrays: the innermost lists join along the last axis, the next ones
    along the axis before it; the cotangent has ``arrays``' nesting."""
    return tgr.unblock(g, arrays)


@helper(linear=(0,))
def unblock(g, arrays, level=None):
    """Cut ``g`` into the cotangents of ``np.block(arrays)``'s nested blocks: the lists
    ``level`` deep from the innermost join along axis ``-level``."""
    if level is None:
        level, inner = 0, arrays
        while isinstance(inner, list):
            level, inner = level + 1, inner[0]
    if not isinstance(arrays, list):
        return np.reshape(g, np.shape(arrays))
    ndim = np.ndim(g)
    sizes = [((1,) * ndim + np.shape(np.block(part) if isinstance(part, list) else part))[-level]
             for part in arrays]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=ndim - level)
    return [unblock(p, part, level - 1) for p, part in zip(pieces, arrays)]


@helper
def _leaves(arrays):
    """The arrays in nested lists."""
    if not isinstance(arrays, list):
        return [arrays]
    return [leaf for part in arrays for leaf in _leaves(part)]


@vjp(np.partition, samples=[Sample((A(4, 3), 1)), Sample((A(3, 2), 1, 0))])
def partition(g, ans, a, kth, axis=-1, kind="introselect", order=None):
    """``g`` sent back through the permutation ``np.argpartition`` gives (the order of the
    elements between the kth ones is the backend's)."""
    return tgr.partition_vjp(g, a, kth, axis), None


@helper(linear=(0,))
def partition_vjp(g, a, kth, axis=-1):
    """Cotangent of ``a`` in ``np.partition(a, kth, axis)``."""
    if axis is None:
        a, axis = np.ravel(a), 0
    order = np.argpartition(a, kth, axis=axis)
    return np.reshape(_put_along(np.zeros(np.shape(a), dtype=np.result_type(g)), order, g,
                                 axis), np.shape(a))


@jvp(np.partition, samples=[Sample((A(3), 1)), Sample((A(2, 3), 1))])
def partition_jvp(g, ans, a, kth, axis=-1, kind="introselect", order=None):
    """The tangent permuted as ``a`` is."""
    return np.take_along_axis(g, np.argpartition(a, kth, axis=axis), axis=axis)
