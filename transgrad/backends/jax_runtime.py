"""``tgr`` for generated JAX code: the numpy runtime's helpers re-bound onto ``jax.numpy``.

Every function of the ``tgr`` namespace (``transgrad.runtime`` and the helper formulas the
rules install there with ``@helper``) is copied with its global ``np`` pointing at a namespace
that sends each call to ``jax.numpy`` when an argument is a JAX array (or tracer) and to numpy
otherwise, so shape arithmetic on tuples stays static under ``jax.jit``. The formulas are the
rules' own; what differs is exactly the runtime's override points (``runtime.JAX_OVERRIDES``):
the few array updates they make (``_scatter_add``, ``_scatter_set``, ``_put_along``:
``.at[...]`` here), whether values may be looked at (``_has_no_zeros``), and the helpers
generated code calls for in-place work (``add_at``, ``copy_value``) or that read numpy-only
attributes (``match``); plus helpers only JAX code calls (``set_item``, ``cond``, scans).
"""

import functools
import types

import jax
import jax.numpy as jnp
import numpy as np

from .. import runtime as numpy_runtime
from ..functions import copy_function

_ARRAY = jax.Array


def _has_jax(values):
    for v in values:
        if isinstance(v, _ARRAY):
            return True
        if isinstance(v, (list, tuple)) and any(isinstance(e, _ARRAY) for e in v):
            return True
    return False


class _Dispatch:
    """``np`` inside the re-bound helpers: ``np.f(...)`` runs ``jnp.f`` on JAX arrays."""

    def __init__(self, numpy_module, jax_module):
        self._np, self._jnp = numpy_module, jax_module
        self._made = {}

    def __getattr__(self, name):
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = self._make(name)
        return made

    def _make(self, name):
        np_obj = getattr(self._np, name)
        jnp_obj = getattr(self._jnp, name, None)
        if name == "ndarray":
            return (np.ndarray, _ARRAY)
        if isinstance(np_obj, types.ModuleType):
            return _Dispatch(np_obj, jnp_obj)
        if jnp_obj is None or isinstance(np_obj, type) or not callable(np_obj):
            return np_obj

        def dispatch(*args, **kwargs):
            if _has_jax(args) or _has_jax(kwargs.values()):
                return jnp_obj(*args, **kwargs)
            return np_obj(*args, **kwargs)
        dispatch.__name__ = name
        return dispatch


def _rebind(source):
    """A module holding ``source``'s functions and classes with ``np`` dispatching to JAX."""
    module = types.ModuleType("transgrad.backends.jax_runtime.tgr",
                              "transgrad's runtime helpers on jax.numpy")
    scope = module.__dict__

    def rebound(func):
        return copy_function(func, scope)

    for name, value in vars(source).items():
        if isinstance(value, types.FunctionType) and value.__module__ == source.__name__:
            scope[name] = rebound(value)
        elif isinstance(value, type) and value.__module__ == source.__name__:
            # a subclass whose methods see the same np (isinstance checks still hold)
            methods = {k: rebound(v) for k, v in vars(value).items()
                       if isinstance(v, types.FunctionType)}
            scope[name] = type(name, (value,), methods)
        elif name not in ("__name__", "__doc__", "__spec__", "__loader__", "__file__"):
            scope[name] = value
    scope["np"] = _Dispatch(np, jnp)
    return module


module = _rebind(numpy_runtime)
_rebound = dict(vars(module))   # the re-bound numpy versions, before the overrides below


def _functional(func):
    """Register ``func`` in the JAX runtime: in place of the numpy helper of the same name,
    which must be one of the runtime's declared override points (``runtime.JAX_OVERRIDES``),
    or as a helper only JAX code calls (``tgr.cond``, ``tgr.set_item``)."""
    name = func.__name__
    if hasattr(numpy_runtime, name) and name not in numpy_runtime.JAX_OVERRIDES:
        raise AssertionError(f"tgr.{name} is not a JAX override point (runtime.JAX_OVERRIDES)")
    setattr(module, name, func)
    return func


def _is_array(x):
    return isinstance(x, _ARRAY)


@_functional
def add_at(target, idx, values):
    """``target`` with ``values`` added at ``idx`` (repeated indices add up), as a new array."""
    if isinstance(target, (numpy_runtime.DictCotangent, numpy_runtime.ListCotangent)):
        if isinstance(values, (list, tuple)) and not isinstance(idx, str) \
                and _is_array(target[idx]):   # numpy would read the tuple as an array
            values = jnp.asarray(values)
        return numpy_runtime.add_at(target, idx, values)
    return _at(target, _index(idx), "add", values)


# ``x.at[idx].<method>(v)`` written elementwise where ``idx`` selects the whole array
_ELEMENTWISE = {"set": lambda old, new: new, "add": jnp.add, "subtract": jnp.subtract,
                "multiply": jnp.multiply, "min": jnp.minimum, "max": jnp.maximum}
_THROUGH_ONES = {"divide": jnp.divide, "power": jnp.power}   # x / ones.at[idx].multiply(v)


def _at(target, idx, method, values):
    """``target.at[idx].<method>(values)``; where ``idx`` is a static basic index that picks
    every element of ``target`` once, in order (``[:]``, ``[...]``, ``[:, None]``, ``[0:n]``),
    the same update written elementwise on ``target[idx]`` instead of a scatter (with JAX's
    rules: both sides promoted, the result cast back to ``target``'s dtype).

    XLA turns such a scatter (no indices, one window the size of the array) into a ``map``,
    and its algebraic simplifier then aborts the whole process when a ``reverse`` reads that
    ``map`` ("Invalid binary instruction opcode map" in ``HandleReverse``, jaxlib 0.10.2 on
    CPU): ``jax.jit(lambda a: a.at[:].add(1.0)[::-1])(jnp.arange(3.0))`` is enough, and the
    adjoint of ``w[::-1][:, None]`` is exactly that. The elementwise form gives XLA no
    scatter to turn into a ``map``."""
    target = jnp.asarray(target)
    whole = not target.weak_type and _selects_all(target.shape, idx)
    if whole and method in _THROUGH_ONES:
        return _THROUGH_ONES[method](target, _at(jnp.ones_like(target), idx, "multiply", values))
    if whole and method in _ELEMENTWISE:
        part = target[idx]
        common = jnp.result_type(part, values)
        new = _ELEMENTWISE[method](part.astype(common), jnp.asarray(values).astype(common))
        return jnp.broadcast_to(new, part.shape).reshape(target.shape).astype(target.dtype)
    if method == "add" and isinstance(target, jax.core.Tracer) and _static_basic(idx) \
            and jnp.result_type(target, values) == target.dtype:
        # as jax.grad adds the cotangent of x[i] for a static i: a pad (the transpose of the
        # slice) and an add, which XLA fuses with their neighbours; a scatter it does not
        part, pull = jax.vjp(lambda a: a[idx], target)
        return target + pull(jnp.broadcast_to(jnp.asarray(values, target.dtype),
                                              part.shape))[0]
    return getattr(target.at[idx], method)(values)


def _static_basic(idx):
    """Whether ``idx`` is a basic index of Python ints, static slices, ``None`` and ``...``."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(p is None or p is Ellipsis or _static_int(p) or (
        isinstance(p, slice) and all(v is None or _static_int(v)
                                     for v in (p.start, p.stop, p.step))) for p in parts)


def _static_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _selects_all(shape, idx):
    """Whether the basic index ``idx`` (static slices, ``None``, ``...``, integers on axes of
    length 1) picks every element of an array of ``shape`` (one axis at least) once, in
    order; False for anything else (arrays, traced bounds, a step of -1)."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    ellipses = sum(p is Ellipsis for p in parts)
    axes = sum(p is not None and p is not Ellipsis for p in parts)
    if not shape or ellipses > 1 or axes > len(shape):
        return False
    if ellipses:
        k = next(i for i, p in enumerate(parts) if p is Ellipsis)
        parts = parts[:k] + (slice(None),) * (len(shape) - axes) + parts[k + 1:]
    dims = iter(shape)
    try:
        for p in parts:
            if p is None:
                continue
            n = next(dims)
            if isinstance(p, slice):
                if not all(v is None or _static_int(v) for v in (p.start, p.stop, p.step)) \
                        or range(n)[p] != range(n):
                    return False
            elif not (_static_int(p) and n == 1 and p in (0, -1)):
                return False
    except (TypeError, ValueError):     # a symbolic dimension (jax.export), a zero step
        return False
    return True


def _index(idx):
    """A list index as the integer (or boolean) array numpy reads it as."""
    if isinstance(idx, list):
        return np.asarray(idx)
    if isinstance(idx, tuple):
        return tuple(np.asarray(i) if isinstance(i, list) else i for i in idx)
    return idx


@_functional
def set_item(target, idx, value):
    """``target[idx] = value`` for arrays (as a new array) and Python containers (in place).
    A concrete index that repeats an element writes it once, with the value numpy keeps (the
    last), since XLA's scatter does not promise which write wins."""
    if _is_array(target) or isinstance(target, np.ndarray):
        target = jnp.asarray(target)
        idx = _index(idx)
        if numpy_runtime.is_basic_index(idx) \
                or _has_jax(idx if isinstance(idx, tuple) else (idx,)):
            return _at(target, idx, "set", value)
        shape = np.shape(target)
        part_shape = np.zeros(shape, dtype=bool)[idx].shape
        kept = numpy_runtime._kept_writes(shape, idx, part_shape)
        if kept.all():
            return _at(target, idx, "set", value)
        flat = np.arange(int(np.prod(shape))).reshape(shape)[idx][kept]
        values = jnp.broadcast_to(jnp.asarray(value, dtype=target.dtype), part_shape)[kept]
        return target.reshape(-1).at[flat].set(values).reshape(shape)
    target[idx] = value
    return target


@_functional
def update_at(target, idx, method, value):
    """``target.at[idx].<method>(value)`` for a store whose index is written with slices
    alone and may pick the whole array (``y[:] = v``, ``y[:n, ...] += v``; ``_at``)."""
    return _at(target, _index(idx), method, value)


@_functional
def stored_part(g, idx):
    """The numpy helper, with a list index read as the integer array numpy reads it as."""
    return _rebound["stored_part"](g, _index(idx))


@_functional
def unstore(c, g, idx):
    return _rebound["unstore"](c, g, _index(idx))


@_functional
def _kept_writes(shape, idx, part_shape):
    """Which writes of ``y.at[idx].set(v)`` JAX keeps (for a traced index, asked of JAX
    itself; XLA on CPU keeps the last, as numpy does)."""
    if not _has_jax(idx if isinstance(idx, tuple) else (idx,)):
        return numpy_runtime._kept_writes(shape, idx, part_shape)
    positions = jnp.arange(int(np.prod(part_shape))).reshape(part_shape)
    marker = jnp.full(shape, -1, dtype=positions.dtype).at[idx].set(positions)
    return marker[idx] == positions


@_functional
def copy_value(x):
    """JAX arrays never change, so the saved value is the array itself."""
    return x if _is_array(x) else numpy_runtime.copy_value(x)


@_functional
def match(g, x):
    """Give ``g`` the shape and dtype of ``x`` (a Python float for a Python float)."""
    if _is_array(g) and _is_array(x) and g.shape == x.shape and g.dtype == x.dtype:
        return g
    if isinstance(x, (dict, list, tuple)) or numpy_runtime._fields(x) is not None:
        return _rebound["match"](g, x)
    if isinstance(x, float):
        return float(g)
    g = module.unbroadcast(g, jnp.shape(x)) if jnp.shape(g) != jnp.shape(x) else g
    dtype = getattr(x, "dtype", None) or jnp.result_type(float)
    if jnp.iscomplexobj(g) and not jnp.issubdtype(dtype, jnp.complexfloating):
        g = jnp.real(g)     # a real argument keeps the real part (JAX's convention)
    return jnp.asarray(g, dtype=dtype)


@_functional
def math_log(x, base=None):
    """``math.log(x[, base])`` on JAX values."""
    return jnp.log(x) if base is None else jnp.log(x) / jnp.log(base)


@_functional
def math_gamma(x):
    """``math.gamma`` on JAX values (positive arguments)."""
    return jnp.exp(jax.scipy.special.gammaln(x))


@_functional
def _scatter_add(target, index, values):
    return _at(target, index, "add", values)


@_functional
def _scatter_set(target, index, values):
    return _at(target, index, "set", values)


@_functional
def _put_along(target, indices, values, axis):
    return jnp.put_along_axis(jnp.asarray(target), indices, values, axis=axis, inplace=False)


@_functional
def _stable_argsort(a, axis):
    return jnp.argsort(a, axis=axis, stable=True)


@_functional
def logical_not(value):
    """``not value``: ``jnp.logical_not`` on a JAX array (traced conditions), Python's
    ``not`` on anything else (a flag stays a Python bool)."""
    return jnp.logical_not(value) if _is_array(value) else not value


@_functional
def builtin_max(*args):
    """``max``: Python's on Python values (a loop bound stays an int), ``jnp.maximum`` over
    the values (or over one sequence) when one is a JAX array."""
    values = args[0] if len(args) == 1 else args
    if not _has_jax(values):
        return max(*args)
    return functools.reduce(jnp.maximum, values)


@_functional
def builtin_min(*args):
    values = args[0] if len(args) == 1 else args
    if not _has_jax(values):
        return min(*args)
    return functools.reduce(jnp.minimum, values)


_ARG_EXTREMUM = {"max": jnp.argmax, "min": jnp.argmin, "nanmax": jnp.nanargmax,
                 "nanmin": jnp.nanargmin}


@_functional
def extremum_mask(a, full_ans, axis, kind):
    """Traced (under ``jax.jit``): only the first extremum along ``axis`` (as ``np.argmax``
    picks it), found by one arg-reduction. XLA may compute ``a`` again in each fused kernel
    that reads it, rounding differently (FMA contraction on x86), so ``a == ans`` can be
    false everywhere: a cotangent silently lost (``jax.grad`` of ``jnp.min`` under ``jit``
    loses it too; fuzz seed 2602165). Ties go to the first instead of being shared."""
    if not isinstance(a, jax.core.Tracer):
        return a == full_ans
    a = jnp.asarray(a)
    axes = tuple(range(a.ndim)) if axis is None else \
        tuple(sorted(ax % a.ndim for ax in ((axis,) if np.ndim(axis) == 0 else axis)))
    pick = _ARG_EXTREMUM[kind]
    if len(axes) == 1:   # one axis (a vector's): no moving, an iota along it
        first = pick(a, axis=axes[0], keepdims=True)
        return jax.lax.broadcasted_iota(first.dtype, a.shape, axes[0]) == first
    last = tuple(range(a.ndim - len(axes), a.ndim))
    moved = jnp.moveaxis(a, axes, last)
    flat = moved.reshape(moved.shape[:a.ndim - len(axes)] + (-1,))
    first = pick(flat, axis=-1, keepdims=True)
    hit = jax.lax.broadcasted_iota(first.dtype, flat.shape, flat.ndim - 1) == first
    return jnp.moveaxis(hit.reshape(moved.shape), last, axes)


@_functional
def _has_no_zeros(a):
    """The exact formulas (no division by ``a``) when ``a``'s values are traced."""
    if isinstance(a, jax.core.Tracer):
        return False
    return bool(jnp.all(jnp.asarray(a) != 0))


@_functional
def zeros_like_value(x):
    """A zero cotangent for ``x``; a list of equally shaped values gets one stacked array."""
    if isinstance(x, (list, tuple)) and numpy_runtime._fields(x) is None and x \
            and all(_is_array(e) or isinstance(e, (float, int, np.ndarray)) for e in x):
        shapes = {jnp.shape(e) for e in x}
        if len(shapes) == 1:
            return jnp.zeros((len(x),) + shapes.pop(), dtype=jnp.result_type(*x, float))
        return numpy_runtime.ListCotangent(zeros_like_value(e) for e in x)
    return _rebound["zeros_like_value"](x)


# --- loops lowered to jax.lax.scan (passes/scan.py) ---

@_functional
def scan(body, init, xs, reverse=False, added=False):
    """``jax.lax.scan(body, init, xs, reverse=reverse)``, for what generated loops stack.

    Iterations that do not depend on each other run as one batched computation
    (``jax.vmap``): those of a loop with nothing carried, and those of a loop whose body only
    adds into its carry (``added``: the adjoint of a loop of independent steps, each adding
    its part of a parameter's gradient), whose parts are summed. Besides:

    * a value the body makes without tracing (an int from shapes, pushed onto the tape) is the
      same at every iteration: it comes out as a numpy array of copies, and where such a stack
      (or any numpy one whose items are all equal) goes back in, each iteration gets the value
      itself, static, not a traced slice (a slice bound of a traced int cannot be taken);
    * a carried value the body gives another shape or dtype than it came in with
      (``total = 0.0`` before a loop that adds vectors to it; an adjoint the body resets to
      ``0.0``, carried in as an array) starts at the type both broadcast to, and the body's
      new value is brought to it: Python's loop would have run, so the scan must too."""
    leaves, xs_tree = jax.tree_util.tree_flatten(xs)
    length = len(leaves[0]) if leaves else 0
    static = {k: _repeated_value(leaf) for k, leaf in enumerate(leaves)}
    static = {k: value for k, value in static.items() if value is not _NOT_REPEATED}
    traced = [leaf for k, leaf in enumerate(leaves) if k not in static]
    made = {}    # what the body's trace made: its outputs' tree and the untraced ones

    def traced_body(carry, x):
        x = iter(x)
        items = [static[k] if k in static else next(x) for k in range(len(leaves))]
        new, ys = body(carry, jax.tree_util.tree_unflatten(xs_tree, items))
        outs, made["tree"] = jax.tree_util.tree_flatten(ys)
        made["fixed"] = {k: v for k, v in enumerate(outs) if not _is_array(v)}
        return new, [v for k, v in enumerate(outs) if k not in made["fixed"]]

    def run(step, carry):
        if length and (added or not jax.tree_util.tree_leaves(carry)):
            batched = _batched(step, carry, traced, added)
            if batched is not None:
                return _unstacked(batched, made, length)
        return _unstacked(jax.lax.scan(step, carry, traced, length=length, reverse=reverse),
                          made, length)
    try:
        return run(traced_body, init)
    except TypeError as error:
        settled = _settled_carry(traced_body, init, traced)
        if settled is None:
            raise
        carry_types = jax.tree_util.tree_map(
            lambda v: jax.ShapeDtypeStruct(jnp.shape(v), jnp.result_type(v)), settled)

        def settled_body(carry, x):
            new, out = traced_body(carry, x)
            return _like_types(new, carry_types), out
        try:
            return run(settled_body, settled)
        except TypeError:
            raise error from None


_NOT_REPEATED = object()


def _repeated_value(stack):
    """The item every entry of a numpy stack (or a concrete JAX stack of ints) equals, else
    ``_NOT_REPEATED``."""
    if isinstance(stack, jax.core.Tracer) or not (
            isinstance(stack, np.ndarray) or (_is_array(stack) and stack.dtype.kind in "biu")):
        return _NOT_REPEATED
    stack = np.asarray(stack)
    if stack.ndim == 0 or len(stack) == 0 or not all(
            np.array_equal(item, stack[0]) for item in stack[1:]):
        return _NOT_REPEATED
    first = stack[0]
    return first.item() if first.ndim == 0 and first.dtype != object else first


def _unstacked(result, made, length):
    """A scan's (carry, outputs) with the outputs the body made untraced put back, stacked."""
    new, outs = result
    outs = iter(outs)
    stacked = [np.stack([np.asarray(made["fixed"][k])] * length)
               if k in made["fixed"] else next(outs) for k in range(made["tree"].num_leaves)]
    return new, jax.tree_util.tree_unflatten(made["tree"], stacked)


def _batched(step, carry, xs, added):
    """``step`` run on every iteration at once by ``jax.vmap``: (carry after, outputs), the
    carry the one given (nothing carried) or it plus the sum of every iteration's additions
    into zeros (``added``); None where vmap cannot trace the body."""
    start = jax.tree_util.tree_map(jnp.zeros_like, carry) if added else carry
    try:
        parts, outs = jax.vmap(lambda x: step(start, x))(xs)
    except Exception:   # noqa: BLE001 - a batching rule missing: the scan runs them in turn
        return None
    if not added:
        return carry, outs
    return jax.tree_util.tree_map(lambda c, p: c + jnp.sum(p, axis=0), carry, parts), outs


def _like_types(values, types_):
    return jax.tree_util.tree_map(
        lambda v, t: jnp.broadcast_to(jnp.asarray(v, dtype=t.dtype), t.shape), values, types_)


def _settled_carry(body, init, xs):
    """``init`` with each carried value at the shape and dtype it and the body's results
    broadcast to (a fixpoint: a widened value can widen another); None if the carry's
    structure changes or its shapes do not broadcast."""
    x = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a)[1:],
                                                              jnp.result_type(a)), xs)
    leaves, tree = jax.tree_util.tree_flatten(init)
    for _ in range(8):
        try:
            new, _ = jax.eval_shape(body, jax.tree_util.tree_unflatten(tree, leaves), x)
            made, made_tree = jax.tree_util.tree_flatten(new)
            if made_tree != tree:
                return None
            widened = []
            for old, result in zip(leaves, made):
                shape = jnp.broadcast_shapes(jnp.shape(old), result.shape)
                dtype = jnp.result_type(old, result.dtype)
                widened.append(old if shape == jnp.shape(old) and dtype == jnp.result_type(old)
                               else jnp.broadcast_to(jnp.asarray(old, dtype=dtype), shape))
        except (TypeError, ValueError):
            return None
        if all(a is b for a, b in zip(widened, leaves)):
            return jax.tree_util.tree_unflatten(tree, leaves)
        leaves = widened
    return None


@_functional
def loop_indices(steps):
    """The values a ``for`` loop's index takes, as the array a scan runs over."""
    return jnp.asarray(steps if isinstance(steps, range) else list(steps), dtype=int)


@_functional
def shifted(ends, initial=None):
    """The values a variable had before each iteration, from those it had after each: the
    previous iteration's (``initial`` before the first; a placeholder when there is none)."""
    def shift(after, first):
        if after.shape[0] == 0:
            return after
        head = after[:1] if first is None else jnp.asarray(first, dtype=after.dtype)[None]
        return jnp.concatenate([head, after[:-1]])
    if initial is None:
        return jax.tree_util.tree_map(lambda a: shift(a, None), ends)
    return jax.tree_util.tree_map(shift, ends, initial)


_NO_DEFAULT = object()


@_functional
def last(ends, default=_NO_DEFAULT):
    """A stacked variable's value after the last iteration (``default`` when none ran)."""
    leaves = jax.tree_util.tree_leaves(ends)
    if leaves and leaves[0].shape[0] == 0 and default is not _NO_DEFAULT:
        return default
    return jax.tree_util.tree_map(lambda a: a[-1], ends)


@_functional
def last_step(steps, default):
    """The loop index after a lowered loop: its last value, as Python leaves it."""
    return steps[-1] if len(steps) else default


# --- branches lowered to jax.lax.cond (passes/cond.py) ---

@_functional
def cond(pred, branch, other_branch, operands):
    """``branch(*operands)`` if ``pred`` else ``other_branch(*operands)``: a Python ``if`` on a
    concrete condition, ``jax.lax.cond`` on a traced one. Under ``lax.cond`` both branches'
    results are made alike: a value only one branch binds (None from the other) is zeros on
    the other path, and a Python number meets an array at the array's shape and dtype.

    A Python value (a number, a bool) that both branches give, or that one gives where the
    other binds nothing, stays a Python value after the cond: a test the branch computed on a
    static argument (``n == 1``) stays concrete for the branches that read it later (as
    jax.grad's trace keeps it), rather than turning into a traced array whose branches then
    both run, one of them on values its path never bound."""
    if not isinstance(pred, jax.core.Tracer):
        return branch(*operands) if pred else other_branch(*operands)
    outs = [f(*operands) for f in (branch, other_branch)]   # traced: their Python values
    static = _static_results(*outs)
    first, second = (jax.eval_shape(lambda out=out: _with_static(out, static, put=False))
                     for out in outs)
    targets = _common_results(first, second)

    def alike(f):
        def run(*args):
            return _fill_results(_with_static(f(*args), static, put=False), targets)
        return run
    return _with_static(jax.lax.cond(pred, alike(branch), alike(other_branch), *operands),
                        static)


_TRACED = object()   # a branch result that goes through lax.cond
# concrete values a branch computes: Python numbers, and numpy's scalars (``u < 0.19`` of a
# numpy float is a numpy bool: a test on a static value, concrete like Python's)
_PYTHON = (bool, int, float, np.bool_, np.int64, np.float64)


def _static_results(first, second):
    """Per result of two branches: the Python value they agree on (a None on one side
    takes the other's), else ``_TRACED``; tuples are compared item by item."""
    if isinstance(first, tuple) and isinstance(second, tuple) and len(first) == len(second) \
            and not hasattr(first, "shape"):
        return tuple(_static_results(a, b) for a, b in zip(first, second))
    if first is None and (second is None or type(second) in _PYTHON):
        return second
    if second is None and type(first) in _PYTHON:
        return first
    if type(first) in _PYTHON and type(first) is type(second) and first == second:
        return first
    return _TRACED


def _with_static(results, static, put=True):
    """``results`` with the static ones put back (``put``), or replaced by None (nothing
    for lax.cond to carry)."""
    if static is _TRACED:
        return results
    if isinstance(static, tuple):
        return tuple(_with_static(r, s, put) for r, s in zip(results, static))
    return static if put else None


@_functional
def indexable(value):
    """``value`` where a lowered loop reads it at its traced index (passes/scan.py): a numpy
    array (integer arrays stay numpy elsewhere), a range, or a list of arrays as a JAX
    array."""
    if isinstance(value, range):
        return jnp.arange(value.start, value.stop, value.step)
    if isinstance(value, np.ndarray) or (
            isinstance(value, list) and value
            and all(isinstance(v, (np.ndarray, _ARRAY, int, float)) for v in value)):
        return jnp.asarray(value)
    return value


@_functional
def set_static(target, idx, value):
    """``target[idx] = value`` on a copy of a numpy array of static values (a value known when
    the code is traced, passes/static.py): it stays numpy, and the arrays saved from it keep
    their values."""
    target = np.array(target)
    target[idx] = value
    return target


@_functional
def while_loop(test, body, carry):
    """``while test(carry): carry = body(carry)``: a Python loop while the condition is
    concrete, ``jax.lax.while_loop`` when it is traced (passes/while_loops.py). The carry's
    Python numbers meet the body's results at their shape and dtype. A condition concrete at
    first (``while True`` as a flag) runs Python steps until it is traced."""
    while not isinstance(go := test(carry), jax.core.Tracer):
        if not go:
            return carry
        carry = body(carry)
    results = jax.eval_shape(body, carry)
    carry = tuple(_carried_like(v, r) for v, r in zip(carry, results))
    return jax.lax.while_loop(test, body, carry)


@_functional
def repeat(body, steps, carry):
    """``for _ in range(steps): carry = body(carry)``: a Python loop for a concrete count,
    ``jax.lax.fori_loop`` for a traced one (the adjoint of a while loop whose steps save
    nothing: passes/while_loops.py)."""
    if not isinstance(steps, jax.core.Tracer):
        for _ in range(steps):
            carry = body(carry)
        return carry
    results = jax.eval_shape(body, carry)
    carry = tuple(_carried_like(v, r) for v, r in zip(carry, results))
    return jax.lax.fori_loop(0, steps, lambda _, values: body(values), carry)


def _carried_like(value, result):
    """A carried value at the shape and dtype the body gives it; None (a name the body
    binds before reading, a placeholder before the loop) as zeros."""
    if value is None:
        return jax.tree_util.tree_map(lambda r: jnp.zeros(r.shape, r.dtype), result)
    return jax.tree_util.tree_map(lambda v, r: jnp.asarray(v, r.dtype), value, result)


def _common_results(first, second):
    """The result shapes two branches agree on; a None on one side takes the other's."""
    if first is None or second is None:
        return second if first is None else first
    if isinstance(first, tuple) and isinstance(second, tuple) and len(first) == len(second) \
            and not hasattr(first, "shape"):
        return tuple(_common_results(a, b) for a, b in zip(first, second))
    return jax.tree_util.tree_map(
        lambda a, b: jax.ShapeDtypeStruct(jnp.broadcast_shapes(a.shape, b.shape),
                                          jnp.result_type(a, b)), first, second)


def _fill_results(results, targets):
    if targets is None:
        return None
    if results is None:
        return jax.tree_util.tree_map(lambda t: jnp.zeros(t.shape, t.dtype), targets)
    if isinstance(targets, tuple) and not hasattr(targets, "shape"):
        return tuple(_fill_results(r, t) for r, t in zip(results, targets))
    return jax.tree_util.tree_map(
        lambda x, t: jnp.broadcast_to(jnp.asarray(x, dtype=t.dtype), t.shape), results, targets)


@_functional
def extended(values, items):
    """The list ``values`` with the scan-stacked ``items`` appended one by one."""
    leaves = jax.tree_util.tree_leaves(items)
    count = leaves[0].shape[0] if leaves else 0
    return list(values) + [jax.tree_util.tree_map(lambda a, k=k: a[k], items)
                           for k in range(count)]


def _is_list(cotangent):
    return isinstance(cotangent, list)


# --- a list appended to and read in a lowered loop (passes/scan_history.py) ---

@_functional
def history(values, steps):
    """The list ``values``, about to get one item per step, as one array with a slot per
    item: its items, then zeros. Items of one shape and dtype only (else TypeError: the
    derivative then runs unrolled)."""
    if not values:
        raise TypeError("a list empty before the loop has no item shape for its buffer")
    items = [jnp.asarray(v) for v in values]
    first = items[0]
    if any(i.shape != first.shape or i.dtype != first.dtype for i in items):
        raise TypeError("the list's items differ in shape or dtype")
    return jnp.concatenate([jnp.stack(items), jnp.zeros((len(steps),) + first.shape,
                                                        first.dtype)])


def _slot(length, idx):
    """The buffer position of ``values[idx]`` for a list of ``length`` items."""
    if isinstance(idx, (int, np.integer)):
        return idx if idx >= 0 else length + idx
    return jnp.where(idx < 0, length + idx, idx)


@_functional
def history_item(buffer, length, idx):
    """``values[idx]`` of the list held in ``buffer`` with ``length`` items so far."""
    return jax.lax.dynamic_index_in_dim(buffer, _slot(length, idx), keepdims=False)


@_functional
def history_set(buffer, length, item):
    """``values.append(item)`` on the buffer: the item into slot ``length``."""
    if jnp.shape(item) != buffer.shape[1:] or jnp.result_type(item) != buffer.dtype:
        raise TypeError(f"an item of shape {jnp.shape(item)} and dtype "
                        f"{jnp.result_type(item)} appended to a list of {buffer.shape[1:]} "
                        f"{buffer.dtype} items")
    return jax.lax.dynamic_update_index_in_dim(buffer, item, length, 0)


@_functional
def history_add(cotangent, length, idx, value):
    """The adjoint of reading ``values[idx]`` (``length`` items then): ``value`` added into
    the buffer of the list's cotangent."""
    slot = _slot(length, idx)
    added = jax.lax.dynamic_index_in_dim(cotangent, slot, keepdims=False) + value
    return jax.lax.dynamic_update_index_in_dim(cotangent, added.astype(cotangent.dtype), slot, 0)


@_functional
def history_cotangent(cotangent, buffer):
    """The list's cotangent as a buffer like ``buffer`` (a list of cotangents, a Python zero
    among them, stacked)."""
    if _is_array(cotangent) and cotangent.shape == buffer.shape:
        return cotangent.astype(buffer.dtype)
    if isinstance(cotangent, (list, tuple)) and len(cotangent) == buffer.shape[0]:
        return jnp.stack([jnp.broadcast_to(jnp.asarray(c, buffer.dtype), buffer.shape[1:])
                          for c in cotangent])
    raise TypeError("the list's cotangent does not fit its buffer")


@_functional
def last_items(cotangent, indices):
    """The cotangents of the last ``len(indices)`` items of a list, stacked for a scan."""
    count = len(indices)
    if _is_list(cotangent):
        parts = cotangent[len(cotangent) - count:]
        return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *parts) if parts else \
            jnp.zeros((0,))
    return cotangent[cotangent.shape[0] - count:]


@_functional
def without_last_items(cotangent, indices):
    """The cotangent of the list as it was before ``len(indices)`` items were appended."""
    count = len(indices)
    if _is_list(cotangent):
        return cotangent[:len(cotangent) - count]
    return cotangent[:cotangent.shape[0] - count]
