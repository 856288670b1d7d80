"""The few helpers that generated code calls (as ``tgr.<name>``).

Generated code is meant to read like hand-written numpy, so most work is emitted inline. What
lives here is what must be decided at run time from shapes or types, in the cheapest way: each
helper returns its input untouched on the common path.
"""

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
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and g_shape[extra + i] != 1)
    g = g.sum(axis=axes, keepdims=True) if axes else g
    return g.reshape(shape)


def unbroadcast_to(g, x):
    """``unbroadcast(g, np.shape(x))``; spelled this way so generated code stays one call."""
    return unbroadcast(g, np.shape(x))


def expand_reduced(g, x, axis):
    """Reinsert the axes a reduction over ``axis`` removed, so ``g`` broadcasts against ``x``."""
    if axis is None:
        return g
    ndim = np.ndim(x)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = sorted(a % ndim for a in axes)
    for a in axes:
        g = np.expand_dims(g, a)
    return g


def reduced_count(x, axis):
    """How many elements each output of a reduction over ``axis`` combines."""
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape))
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


def add_at(target, idx, values):
    """``target[idx] += values`` that also accumulates repeated integer indices; returns target."""
    if is_basic_index(idx):
        target[idx] += values
    else:
        np.add.at(target, idx, values)
    return target


def copy_value(x):
    """A copy of ``x`` that later in-place updates of its source cannot change."""
    return x.copy() if hasattr(x, "copy") else x


def owned_copy(g, x):
    """A fresh, writable array of ``x``'s shape holding ``g`` (for in-place adjoint updates)."""
    return np.array(np.broadcast_to(g, np.shape(x)), dtype=np.result_type(g, x))


def zeros_like_value(x):
    """A zero gradient for ``x``: a Python float for a Python number, else an array."""
    if isinstance(x, (float, int)):
        return 0.0
    return np.zeros_like(x)


def match(g, x):
    """Give the gradient ``g`` the type, shape and dtype of its argument ``x``.

    A Python float argument gets a Python float; a float32 array a float32 array.
    """
    if isinstance(x, float):
        return float(g)
    x_shape = np.shape(x)
    if np.shape(g) != x_shape:
        g = unbroadcast(g, x_shape)
    dtype = getattr(x, "dtype", None)
    if dtype is not None and getattr(g, "dtype", None) != dtype:
        g = np.asarray(g, dtype=dtype)
    if isinstance(x, np.ndarray):
        if not isinstance(g, np.ndarray):
            g = np.asarray(g)
        elif not g.flags.writeable:
            g = g.copy()
    return g


def check_scalar_output(value, func_name):
    """Raise a clear error when ``tg.grad`` is asked for the gradient of a non-scalar."""
    if np.ndim(value) != 0 and np.size(value) != 1:
        raise TransformError(
            f"tg.grad({func_name}) needs a scalar output, but {func_name} returned a value of "
            f"shape {np.shape(value)}",
            hint="use tg.vjp(f)(*args, cotangent) for non-scalar outputs, or reduce the output "
                 "(for example with np.sum)")
    return value


def tuple_part(parts, i):
    """Element ``i`` of a cotangent that may be None (zero)."""
    return None if parts is None else parts[i]


def zeros_if_none(g, like):
    """Fill a missing (zero) cotangent with zeros shaped like ``like``."""
    return np.zeros_like(like) if g is None else g


def matmul_vjp_left(g, x, y):
    """Cotangent of ``x`` in ``x @ y`` (1-D, 2-D and batched operands)."""
    if x.ndim == 2 and y.ndim == 2:
        return g @ y.T
    if y.ndim == 1:
        bx = g[..., None] * y if x.ndim > 1 else g * y
    elif x.ndim == 1:
        bx = (g[..., None, :] @ y.swapaxes(-1, -2))[..., 0, :]
    else:
        bx = g @ y.swapaxes(-1, -2)
    return unbroadcast(bx, x.shape)


def matmul_vjp_right(g, x, y):
    """Cotangent of ``y`` in ``x @ y`` (1-D, 2-D and batched operands)."""
    if x.ndim == 2 and y.ndim == 2:
        return x.T @ g
    if x.ndim == 1:
        by = x[:, None] * g[..., None, :] if y.ndim > 1 else g * x
    elif y.ndim == 1:
        by = (x.swapaxes(-1, -2) @ g[..., None])[..., 0]
    else:
        by = x.swapaxes(-1, -2) @ g
    return unbroadcast(by, y.shape)


def inverse_permutation(axes, ndim):
    """The axes that undo ``np.transpose(x, axes)``; None (reverse) is its own inverse."""
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))


def astype(x, dtype):
    """``x.astype(dtype)``, also for Python numbers (generated code calls this for the method)."""
    if hasattr(x, "astype"):
        return x.astype(dtype)
    return np.asarray(x).astype(dtype)


def item(x):
    """``x.item()``: the one element of ``x`` as a Python number."""
    return x.item() if hasattr(x, "item") else x
