"""The few helpers that generated code calls (as ``tgr.<name>``) that are not derivative formulas.

Generated code is meant to read like hand-written numpy, so most work is emitted inline. What
lives here is what must be decided at run time from shapes or types, in the cheapest way (each
helper returns its input untouched on the common path): undoing broadcasting, giving a gradient
its argument's type (``match``), the cotangents of containers (``DictCotangent``,
``ListCotangent``, ``zeros_like_value``), in-place accumulation (``add_at``), run-time checks,
the array-method helpers, and the JAX override points (at the end).

This module object is the ``tgr`` namespace generated code runs with. The derivative formulas
(``tgr.tile_vjp``, ``tgr.matmul_vjp_left``...) are declared next to their rules in
``transgrad/rules/<family>.py`` with ``@helper``, which installs them here, so generated code
prints and calls them as ``tgr.<name>`` like the functions below.
"""

import copy
import dataclasses

import numpy as np

from .errors import TransformError


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, to give ``shape``."""
    g_shape = np.shape(g)
    if g_shape == shape:
        return g
    extra = len(g_shape) - len(shape)
    if extra < 0:
        return np.broadcast_to(g, shape)
    if extra and g_shape[extra:] == shape:   # only leading axes added (a bias): one sum
        return g.sum(axis=tuple(range(extra)))
    added, stretched = _broadcast_axes(g_shape, shape, 0)
    axes = added + stretched
    g = g.sum(axis=axes, keepdims=True) if axes else g
    return g.reshape(shape)


def _broadcast_axes(g_shape, shape, start):
    """(the axes broadcasting added, those it stretched) that took ``shape`` to ``g_shape``,
    counting from axis ``start`` of ``g`` (1 for a Jacobian's rows, which stay)."""
    extra = len(g_shape) - start - len(shape)
    added = tuple(range(start, start + extra))
    stretched = tuple(start + extra + i for i, n in enumerate(shape)
                      if n == 1 and g_shape[start + extra + i] != 1)
    return added, stretched


def unbroadcast_to(g, x):
    """``unbroadcast(g, np.shape(x))``; spelled this way so generated code stays one call."""
    if isinstance(g, float):   # a scalar broadcasts against anything as it is
        return g
    try:
        g_shape, x_shape = g.shape, x.shape
    except AttributeError:
        return unbroadcast(g, np.shape(x))
    if g_shape == x_shape:   # the common case, decided with two attribute reads
        return g
    if g_shape[1:] == x_shape:   # a bias added to every row: one sum
        return g.sum(axis=0)
    return unbroadcast(g, x_shape)


def unbroadcast_rows(g, x):
    """``unbroadcast_to`` of each row of ``g`` (a Jacobian's rows pulled back together,
    ``passes/batch_rows.py``): the axes after the rows summed down to ``x``'s shape."""
    if type(g) is not np.ndarray:   # an adjoint the seed did not reach: 0.0
        return g
    x_shape = np.shape(x)
    if g.shape[1:] == x_shape or g.ndim - 1 < len(x_shape):   # (lower rank: as it is)
        return g
    added, stretched = _broadcast_axes(g.shape, x_shape, 1)
    g = g.sum(axis=added) if added else g
    return g.sum(axis=tuple(a - len(added) for a in stretched), keepdims=True) \
        if stretched else g


def match_rows(g, x, rows):
    """``match`` of each of ``rows`` rows of ``g``: float64 rows of ``x``'s shape."""
    shape = (rows,) + np.shape(x)
    if type(g) is not np.ndarray:   # an adjoint the seed did not reach: 0.0
        return np.full(shape, g, dtype=np.result_type(x, float))
    if g.shape == shape and g.dtype == np.float64:
        return g
    if not np.isrealobj(x):
        return np.broadcast_to(g, shape).astype(np.result_type(x, g))
    return np.broadcast_to(np.real(g), shape).astype(np.float64)


_NEXT, _AFTER = np.array([1, 2, 0]), np.array([2, 0, 1])


def cross_rows(a, b):
    """``np.cross`` of 3-vectors along the last axis, rows of either broadcast (numpy's
    moves axes three times: 20-60 us for two rows, this 3-5 us)."""
    if np.shape(a)[-1:] == (3,) and np.shape(b)[-1:] == (3,):
        return a[..., _NEXT] * b[..., _AFTER] - a[..., _AFTER] * b[..., _NEXT]
    return np.cross(a, b)


def as_rows(g, rows, rank):
    """A returned cotangent of ``rows`` rows of ``rank``: ``g``, or zeros that broadcast as
    one where it is still the 0.0 an adjoint starts at (the seed did not reach it on the
    path taken)."""
    if type(g) is np.ndarray:
        return g
    return np.full((rows,) + (1,) * rank, g, dtype=float)


def expand_reduced(g, x, axis):
    """Reinsert the axes a reduction over ``axis`` removed, so ``g`` broadcasts against ``x``."""
    if axis is None:
        return g
    ndim = np.ndim(x)
    if type(axis) is int and type(g) is np.ndarray and -ndim <= axis < ndim:
        return g[(slice(None),) * (axis % ndim) + (None,)]   # np.expand_dims, minus its checks
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = sorted(a % ndim for a in axes)
    for a in axes:
        g = np.expand_dims(g, a)
    return g


def expand_reduced_rows(g, x, axis):
    """``expand_reduced`` of each row of ``g`` (``passes/batch_rows.py``)."""
    if type(g) is not np.ndarray:
        return g
    ndim = np.ndim(x)
    if axis is None:
        return g.reshape(g.shape[:1] + (1,) * ndim)
    for a in sorted(a % ndim for a in ((axis,) if np.ndim(axis) == 0 else tuple(axis))):
        g = np.expand_dims(g, a + 1)
    return g


def reduced_count(x, axis):
    """How many elements each output of a reduction over ``axis`` combines."""
    shape = np.shape(x)
    if axis is None:
        return np.size(x)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    count = 1
    for a in axes:
        count *= shape[a]
    return count


def is_basic_index(idx):
    """True when ``idx`` selects each element at most once (no integer or boolean arrays)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, (int, slice, np.integer)):
            continue
        if isinstance(item, np.ndarray) and item.dtype == bool:
            continue
        return False
    return True


class DictCotangent(dict):
    """The cotangent of a dict (one entry per key); ``+`` adds entry by entry."""

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return self
        out = DictCotangent(self)
        for key, value in other.items():
            out[key] = out[key] + value if key in out else value
        return out

    __radd__ = __add__


class ListCotangent(list):
    """The cotangent of a list or tuple of differently shaped values; ``+`` adds elementwise.

    For a named tuple, ``fields`` names the positions.
    """

    fields = ()

    def __getitem__(self, index):
        part = list.__getitem__(self, index)
        return ListCotangent(part) if isinstance(index, slice) else part

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return self
        total = ListCotangent(a + b for a, b in zip(self, other))
        total.fields = self.fields
        return total

    __radd__ = __add__
    __iadd__ = __add__   # ``+=`` adds entry by entry too (a list's would extend it)


def add_at(target, idx, values):
    """``target[idx] += values`` that also accumulates repeated integer indices; returns target."""
    if type(target) is np.ndarray and (type(idx) is int or type(idx) is slice):
        target[idx] += values   # one element, row or slice: no repeated element
        return target
    if isinstance(target, (DictCotangent, ListCotangent)):
        if isinstance(idx, str) and isinstance(target, ListCotangent):
            idx = target.fields.index(idx)   # a named tuple's field
        target[idx] = target[idx] + values
        return target
    if is_basic_index(idx):
        target[idx] += values
    else:
        np.add.at(target, idx, values)
    return target


def stored_part(g, idx):
    """The cotangent of ``v`` in ``y[idx] = v``, from ``y``'s adjoint ``g``: a copy of
    ``g[idx]``, where an index that repeats an element keeps it only at the write numpy kept
    (``y[[0, 0]] = v`` stores ``v[1]``; ``v[0]`` is overwritten and gets zero)."""
    part = g[idx]
    if type(idx) is int or type(idx) is slice or is_basic_index(idx):
        return part.copy() if hasattr(part, "copy") else part
    kept = _kept_writes(np.shape(g), idx, np.shape(part))
    return np.where(kept, part, 0.0)


def _kept_writes(shape, idx, part_shape):
    """Where ``y[idx] = v`` (``y`` of ``shape``) keeps the written element of ``v``: numpy
    itself is asked, by writing each element's position and reading back which survived."""
    positions = np.arange(int(np.prod(part_shape))).reshape(part_shape)
    marker = np.full(shape, -1, dtype=positions.dtype)
    marker[idx] = positions
    return marker[idx] == positions


def unstore(c, g, idx):
    """The transpose of ``stored_part``: ``c`` (shaped like ``g[idx]``) placed at ``idx`` in
    zeros shaped like ``g``, the overwritten writes of a repeated index left out."""
    if not is_basic_index(idx):
        c = np.where(_kept_writes(np.shape(g), idx, np.shape(c)), c, 0.0)
    return _scatter_add(np.zeros(np.shape(g), dtype=np.result_type(c, g, 0.0)), idx, c)


def copy_value(x):
    """A copy of ``x`` that later in-place updates of its source cannot change."""
    return x.copy() if hasattr(x, "copy") else x


def owned_copy(g, x):
    """A fresh, writable cotangent shaped like ``x`` holding ``g`` (for in-place updates); a
    list's or an object's keeps its structure (``add_at`` replaces its entries)."""
    if isinstance(g, ListCotangent):
        copy = ListCotangent(g)
        copy.fields = g.fields
        return copy
    if isinstance(g, DictCotangent):
        return DictCotangent(g)
    return zeros_like_value(x) + g


def unreached(g):
    """True while the adjoint ``g`` is still the 0.0 it starts from: on the path taken its
    value reached the output nowhere, so the statement that made it contributes nothing."""
    return type(g) is float and g == 0.0


def shaped_zero(g, x):
    """The adjoint ``g`` of ``x``, or zeros shaped like ``x`` where ``g`` is still the scalar
    ``0.0`` an adjoint starts from (a value that did not reach the output on the path taken):
    rules that read the cotangent's shape (``@``, reshapes, stacks) then work on it."""
    if type(g) is float or type(g) is int:
        if g == 0 and not isinstance(x, (float, int)):
            return zeros_like_value(x)
        return g
    if getattr(g, "ndim", None) == 0 and getattr(x, "ndim", 0):   # a traced 0.0 (JAX scan)
        return g + zeros_like_value(x)
    return g


def zeros_like_value(x):
    """A zero gradient for ``x``: a Python float for a Python number, an array for an array or
    a list of equally shaped values, and the same structure for dicts and ragged lists."""
    if type(x) is np.ndarray:   # the common case first: generated code calls this per step
        return np.zeros(x.shape, x.dtype)
    if isinstance(x, (float, int)):
        return 0.0
    if type(x) is list or type(x) is tuple or type(x) is ListCotangent:   # no fields
        return _zeros_like_sequence(x)
    if isinstance(x, dict):
        return DictCotangent({key: zeros_like_value(value) for key, value in x.items()})
    if hasattr(x, "zero_cotangent"):   # a lazy sequence of cotangents (rules/einsum.py)
        return x.zero_cotangent()
    fields = _fields(x)
    if fields is not None and isinstance(x, tuple):   # named tuple: by position and by name
        zeros = ListCotangent(zeros_like_value(e) for e in x)
        zeros.fields = fields
        return zeros
    if fields is not None:   # dataclass: one entry per field
        return DictCotangent({f: zeros_like_value(getattr(x, f)) for f in fields})
    attributes = _attributes(x)
    if attributes is not None:   # an instance of a user class: one entry per attribute
        return DictCotangent({a: zeros_like_value(getattr(x, a)) for a in attributes})
    if isinstance(x, (list, tuple)):
        return _zeros_like_sequence(x)
    return np.zeros_like(x)


def _zeros_like_sequence(x):
    if not x:   # an empty list's zero adds to any list's cotangent (rows: shape (0, n))
        return 0.0
    if all(isinstance(e, (float, int, np.ndarray, np.generic)) for e in x):
        try:
            return np.zeros_like(x, dtype=float)
        except ValueError:   # ragged
            pass
    return ListCotangent(zeros_like_value(e) for e in x)


def _attributes(x):
    """The attributes of an instance of an ordinary user class that can carry gradients
    (numbers, float arrays, containers, other such objects), else None."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple, dict, str, bytes, type)) \
            or not hasattr(x, "__dict__") or callable(x) or hasattr(x, "__array__") \
            or type(x).__module__ in ("builtins", "numpy", "types"):
        return None   # an array-like (a JAX array has a __dict__) is an array, not an object
    return [a for a, v in vars(x).items() if _carries_gradient(v)]


def _carries_gradient(v):
    if isinstance(v, (bool, str, bytes)) or v is None:
        return False
    if isinstance(v, (float, int, list, tuple, dict)):
        return True
    if isinstance(v, (np.ndarray, np.generic)):
        return v.dtype.kind in "fc"
    return _fields(v) is not None or _attributes(v) is not None


def _fields(x):
    """The field names of a named tuple or dataclass instance, else None."""
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return x._fields
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [f.name for f in dataclasses.fields(x)]
    return None


def zero_tangent(x):
    """A zero forward-mode tangent for ``x``, of its own structure (a list stays a list);
    ``None`` (a value generated code has not computed yet) has ``None``."""
    if type(x) is np.ndarray:
        return np.zeros(x.shape, x.dtype)
    if x is None:
        return None
    if isinstance(x, ListCotangent):   # a cotangent in generated code keeps its kind
        zeros = ListCotangent(zero_tangent(e) for e in x)
        zeros.fields = x.fields
        return zeros
    if isinstance(x, DictCotangent):
        return DictCotangent({key: zero_tangent(value) for key, value in x.items()})
    if isinstance(x, list):
        return [zero_tangent(e) for e in x]
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(zero_tangent(e) for e in x)
    if isinstance(x, dict):
        return {key: zero_tangent(value) for key, value in x.items()}
    return zeros_like_value(x)


def match(g, x):
    """Give the gradient ``g`` the type, shape and dtype of its argument ``x``.

    A Python float argument gets a Python float; a float32 array a float32 array.
    """
    if type(g) is np.ndarray and type(x) is np.ndarray and g.shape == x.shape \
            and g.dtype == x.dtype and g.flags.writeable:
        return g
    if type(x) is float or type(x) is np.float64:   # a real argument keeps the real part
        return g if type(g) is float else float(np.real(g))   # (JAX's convention)
    if type(x) is list or type(x) is tuple:   # no fields: straight to the sequence's parts
        return _match_sequence(g, x)
    if isinstance(x, dict):
        return type(x)((k, match(g[k] if isinstance(g, dict) and k in g
                                 else zeros_like_value(v), v)) for k, v in x.items())
    fields = _fields(x)
    if fields is not None and isinstance(x, tuple) and isinstance(g, (list, tuple)):
        return type(x)(*[match(part, v) for part, v in zip(g, x)])
    if fields is not None and isinstance(g, dict):
        parts = {f: match(g[f] if f in g else zeros_like_value(getattr(x, f)), getattr(x, f))
                 for f in fields}
        return type(x)(**parts) if isinstance(x, tuple) else dataclasses.replace(x, **parts)
    attributes = None if fields is not None else _attributes(x)
    if attributes is not None and isinstance(g, dict):   # a user object of gradients
        out = copy.copy(x)
        for a in attributes:
            value = getattr(x, a)
            setattr(out, a, match(g[a] if a in g else zeros_like_value(value), value))
        return out
    if isinstance(x, (list, tuple)):
        return _match_sequence(g, x)
    if isinstance(x, float):
        return float(np.real(g))    # a real argument keeps the real part (JAX's convention)
    x_shape = np.shape(x)
    if np.shape(g) != x_shape:
        g = unbroadcast(g, x_shape)
    dtype = getattr(x, "dtype", None)
    if dtype is not None and getattr(g, "dtype", None) != dtype:
        if dtype.kind != "c" and np.iscomplexobj(g):
            g = np.real(g)
        g = np.asarray(g, dtype=dtype)
    if isinstance(x, np.ndarray):
        if not isinstance(g, np.ndarray):
            g = np.asarray(g)
        elif not g.flags.writeable:
            g = g.copy()
    return g


def _match_sequence(g, x):
    parts = [match(zeros_like_value(v) if isinstance(g, (int, float)) else g[i], v)
             for i, v in enumerate(x)]
    return type(x)(*parts) if hasattr(x, "_fields") else type(x)(parts)


def check_member(obj, owner, attr):
    """Raise TransformError when ``obj`` (``self`` of a method of ``owner``) is of a subclass
    that overrides ``owner``'s property ``attr``, which the derivative reads as ``owner``'s."""
    cls = type(obj)
    if cls is not owner and _static(cls, attr) is not _static(owner, attr):
        raise TransformError(
            f"`{cls.__name__}` overrides the property `{attr}` of `{owner.__name__}`, whose "
            f"method reads it: the derivative was built with `{owner.__name__}.{attr}`",
            hint=f"differentiate a function that takes the `{cls.__name__}` object as an "
                 f"argument and calls the method on it")


def _static(cls, attr):
    for klass in cls.__mro__:
        if attr in vars(klass):
            return vars(klass)[attr]
    return None


def unpacked_cotangent(parts, like):
    """The cotangent of ``like`` in ``a, b = like`` from those of its parts: the parts
    themselves for a dict, a ListCotangent for a tuple or list (a tape differentiated again
    adds it to others entry by entry, and to a zero ``0.0``), stacked for an array (whose rows
    were unpacked)."""
    if isinstance(like, (tuple, list)) and isinstance(parts, (tuple, list)):
        return ListCotangent(parts)
    if isinstance(like, dict) or not hasattr(like, "ndim"):
        return parts
    return np.stack([np.broadcast_to(p, np.shape(like)[1:]) for p in parts])


def structure_part_list(gg, like):
    """The transpose of ``unpacked_cotangent``: one entry per unpacked part."""
    if isinstance(like, (tuple, list, dict)) or not hasattr(like, "ndim"):
        return gg
    return ListCotangent(gg[i] for i in range(np.shape(like)[0]))


def cotangent_of(g, x):
    """``match(g, x)`` for a cotangent that flows on (a user function's, back to its caller):
    a structure's stays a ``DictCotangent`` or ``ListCotangent``, which adds entry by entry."""
    if isinstance(g, (DictCotangent, ListCotangent)):
        return g
    return match(g, x)


def structure_part(g, i, like):
    """Entry ``i`` of the cotangent ``g`` of a tuple-valued result ``like`` (a tuple, list or
    array of parts, or a DictCotangent keyed by a named tuple's fields); zeros where absent."""
    if g is None:
        part = None
    elif isinstance(g, dict):
        fields = getattr(like, "_fields", None)
        part = g.get(fields[i] if fields is not None else i)
    else:
        part = g[i]
    return zeros_like_value(like[i]) if part is None else part


def part_cotangent(c, i, g, like):
    """The transpose of ``structure_part(g, i, like)``: a cotangent of ``g``'s structure with
    ``c`` at entry ``i`` and zeros elsewhere."""
    if isinstance(g, dict):
        fields = getattr(like, "_fields", None)
        key = fields[i] if fields is not None else i
        return DictCotangent({k: c if k == key else zeros_like_value(v) for k, v in g.items()})
    if isinstance(g, (list, tuple)):
        return ListCotangent(c if j == i else zeros_like_value(v) for j, v in enumerate(g))
    return _scatter_set(np.zeros(np.shape(g), dtype=np.result_type(g, c)), i, c)


def broadcast_tangent(t, value):
    """The forward-mode tangent ``t`` with the shape of ``value`` (``d(x + c) = dx`` is as
    large as ``x``, which broadcasting may have made smaller than the sum)."""
    if type(t) is np.ndarray and type(value) is np.ndarray and t.shape == value.shape:
        return t
    if np.shape(t) == np.shape(value):
        return t
    return np.broadcast_to(t, np.shape(value))


def restore_shape(c, like):
    """``c`` given the shape of ``like``: broadcast where ``c`` is smaller (the transpose of
    summing over broadcast axes, as ``unbroadcast_to`` and ``match`` do), summed where it is
    larger (the transpose of ``match`` broadcasting a scalar-like gradient). A tuple, list or
    dict of values (a tangent of several, differentiated again) goes entry by entry."""
    if isinstance(like, (tuple, list)) and isinstance(c, (tuple, list)) \
            and not hasattr(like, "_fields") and len(c) == len(like):
        parts = ListCotangent(restore_shape(a, b) for a, b in zip(c, like))
        parts.fields = getattr(c, "fields", ())
        return parts
    if isinstance(like, dict) and isinstance(c, dict):
        return type(c)({key: restore_shape(part, like[key]) if key in like else part
                        for key, part in c.items()})
    if c is None:
        return c
    c_shape, shape = np.shape(c), np.shape(like)
    if c_shape == shape:
        return c
    if np.broadcast_shapes(c_shape, shape) == shape:
        return np.broadcast_to(c, shape)
    return unbroadcast(c, shape)


# --- checks: clear errors at run time -------------------------------------------------------------

def check_scalar_output(value, func_name):
    """Raise a clear error when ``tg.grad`` is asked for the gradient of a non-scalar."""
    if value is None or isinstance(value, (str, bytes)):
        raise TransformError(
            f"tg.grad({func_name}) needs a number to differentiate, but {func_name} returned "
            f"{type(value).__name__ if value is not None else 'None'}",
            hint="return the scalar value to differentiate (a float or a 0-d float array)")
    if np.iscomplexobj(value):
        raise TransformError(
            f"tg.grad({func_name}) needs a real output, but {func_name} returned a complex "
            f"number (as jax.grad, which asks for holomorphic=True)",
            hint="differentiate a real number (np.real(z), np.abs(z) ** 2), or use "
                 "tg.vjp(f)(*args, cotangent) with a complex cotangent")
    if np.ndim(value) != 0 and np.size(value) != 1:
        raise TransformError(
            f"tg.grad({func_name}) needs a scalar output, but {func_name} returned a value of "
            f"shape {np.shape(value)}",
            hint="use tg.vjp(f)(*args, cotangent) for non-scalar outputs, or reduce the output "
                 "(for example with np.sum)")
    return value


def check_cotangent(g, value, func_name):
    """Raise TransformError unless the cotangent ``g`` given to ``tg.vjp(f)`` fits the output
    ``value`` of ``f``: the same structure (tuples, lists, dicts), the same shapes, a float
    dtype (as ``jax.vjp`` asks)."""
    if type(g) is np.ndarray and type(value) is np.ndarray and g.shape == value.shape \
            and g.dtype.kind in "fc":
        return
    problem = _cotangent_problem(g, value)
    if problem is not None:
        raise TransformError(
            f"the cotangent passed to tg.vjp({func_name}) does not fit the output of "
            f"{func_name}: {problem}",
            hint="pass a float cotangent with the output's structure and shapes, e.g. "
                 "np.ones_like(f(*args)) (a tuple of them for a tuple output)")


def _cotangent_problem(g, value, where="the output"):
    if value is None or isinstance(value, (str, bytes)):
        return f"{where} is {type(value).__name__ if value is not None else 'None'}, " \
               f"not a number to differentiate"
    if isinstance(value, dict):
        if not isinstance(g, dict) or set(g) != set(value):
            return f"{where} is a dict with the keys {sorted(value, key=repr)}; the cotangent " \
                   f"is {_what(g)}"
        for key in value:
            problem = _cotangent_problem(g[key], value[key], f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    if isinstance(value, (tuple, list)):
        if not isinstance(g, (tuple, list)) or len(g) != len(value):
            return f"{where} is a {type(value).__name__} of {len(value)}; the cotangent is " \
                   f"{_what(g)}"
        for i, (part, v) in enumerate(zip(g, value)):
            problem = _cotangent_problem(part, v, f"{where}[{i}]")
            if problem:
                return problem
        return None
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None and not isinstance(value, (int, float, complex)):
        return None   # a user object: its fields are checked by the code that reads them
    if isinstance(g, (tuple, list, dict)) or g is None or isinstance(g, (str, bytes)):
        return f"{where} is {_what(value)}; the cotangent is {_what(g)}"
    if np.shape(g) != np.shape(value):
        return f"{where} has shape {np.shape(value)}; the cotangent has shape {np.shape(g)}"
    kind = getattr(getattr(g, "dtype", None), "kind", None)
    if kind is None:
        kind = "b" if isinstance(g, bool) else "i" if isinstance(g, int) else "f"
    value_kind = getattr(dtype, "kind", "f") if dtype is not None else (
        "i" if isinstance(value, int) and not isinstance(value, bool) else "f")
    if kind not in "fc" and value_kind in "fc":
        return f"{where} is floating point; the cotangent is {_what(g)} (pass a float: 1.0, " \
               f"not 1)"
    return None


def _what(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        return f"a dict with the keys {sorted(value, key=repr)}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"an array of {value.dtype} with shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def rule_cotangent(c, x, primitive):
    """The cotangent ``c`` that the user's rule (``tg.defvjp``) of ``primitive`` returned for the
    argument ``x``, unbroadcast to ``x``'s shape; TransformError when it has a shape ``x``
    does not broadcast to (so it is no cotangent of ``x`` at all)."""
    if isinstance(c, float):   # a scalar (a zero adjoint) broadcasts against anything
        return c
    c_shape, x_shape = np.shape(c), np.shape(x)
    if c_shape != x_shape:
        try:
            fits = np.broadcast_shapes(x_shape, c_shape) == tuple(c_shape)
        except ValueError:
            fits = False
        if not fits:
            raise TransformError(
                f"the derivative rule of `{primitive}` registered with tg.defvjp returned a "
                f"cotangent of shape {tuple(c_shape)} for an argument of shape "
                f"{tuple(x_shape)}",
                hint="return one cotangent per argument, shaped like that argument (or like "
                     "the output, where the argument was broadcast against others)")
        c = unbroadcast(c, x_shape)
    return c


# --- what generated code calls for array methods and builtins ------------------------------------

def astype(x, dtype):
    """``x.astype(dtype)``, also for Python numbers (generated code calls this for the method)."""
    if hasattr(x, "astype"):
        return x.astype(dtype)
    return np.asarray(x).astype(dtype)


def item(x):
    """``x.item()``: the one element of ``x`` as a Python number."""
    return x.item() if hasattr(x, "item") else x


def copy_of(x):
    """``x.copy()``: a new array for an array, a new list (holding the same elements) for a
    list, as the method of ``x``'s own type gives."""
    return x.copy()


def append(values, value):
    """``values.append(value)`` as a new list, so each version keeps its own elements."""
    return values + [value]


def builtin_max(*args):
    """``max`` of two or more values, or of one sequence (the JAX runtime's is elementwise)."""
    return max(*args)


def builtin_min(*args):
    """``min`` of two or more values, or of one sequence."""
    return min(*args)


def extremum_mask(a, full_ans, axis, kind):
    """Where ``a`` holds its extremum ``full_ans`` (of ``kind``: "max", "min", "nanmax",
    "nanmin" along ``axis``, broadcast back over it): the elements that share a max's or a
    min's cotangent, every tie. (The JAX runtime's, traced, marks only the first.)"""
    return a == full_ans


# --- the JAX override points ---------------------------------------------------------------
# The JAX runtime (backends/jax_runtime.py) re-binds every function of this namespace onto
# jax.numpy and replaces exactly these, the few that update arrays in place, look at values,
# or read numpy-only attributes; the formulas that call them (in rules/) are shared.
JAX_OVERRIDES = frozenset({
    "_scatter_add", "_scatter_set", "_put_along", "_stable_argsort", "_has_no_zeros",
    "add_at", "stored_part", "unstore", "_kept_writes", "copy_value", "match",
    "zeros_like_value", "builtin_max", "builtin_min", "extremum_mask"})


def _scatter_add(target, index, values):
    """``target`` (a fresh array the caller made) with ``values`` added at ``index``;
    repeated indices add up."""
    np.add.at(target, index, values)
    return target


def _scatter_set(target, index, values):
    """``target`` (a fresh array the caller made) with ``target[index] = values``."""
    target[index] = values
    return target


def _put_along(target, indices, values, axis):
    """``target`` (a fresh array) with ``np.put_along_axis(target, indices, values, axis)``."""
    np.put_along_axis(target, indices, values, axis=axis)
    return target


def _stable_argsort(a, axis):
    return np.argsort(a, axis=axis, kind="stable")


def _has_no_zeros(a):
    """Whether the formulas that divide by ``a`` apply (they are faster than the exact ones)."""
    return bool(np.all(a != 0))
