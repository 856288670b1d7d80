"""Compute values that depend only on shapes and constants with numpy, so they stay static
under ``jax.jit``.

On the JAX backend every ``np.f`` prints as ``jnp.f``, and under ``jit`` a ``jax.numpy``
call makes a traced value even from constants: ``np.repeat(np.arange(d - 1), counts)``
then fails, since ``jnp.repeat`` needs concrete repeats. This pass finds, in the lowered
tree, the values known when the code is traced and prints the calls that make them on numpy
(``math`` for math functions)::

    d = jnp.shape(x)[0]                   d = jnp.shape(x)[0]
    t3 = jnp.arange(d - 1)        ->      t3 = np.arange(d - 1)
    idx = jnp.repeat(t3, t5)              idx = np.repeat(t3, t5)

Each name gets one of three levels, the highest of all its bindings:

- static: constants, shapes (``x.shape``, ``len(x)``, ``np.ndim(x)``), parameters that are
  Python numbers in this build, and pure operations of static values. Their numpy and math
  calls print on numpy; a subscript store into a static name with static values updates a
  numpy copy (``tgr.set_static``, written by ``functionalize``).
- maybe: a parameter of unknown kind (a called function's, a list or an object), or pure
  operations of it: an index-building call (``arange``, ``repeat``, ``concatenate``...) prints
  as ``tgr.np.f``, which runs numpy when no argument is a JAX array and ``jax.numpy``
  otherwise (GradBench's gmm passes its sizes to a helper as keyword arguments).
- traced: anything else (array parameters, results of ``jax.numpy`` calls, the parameters
  of a lowered loop or branch body, a name stored into with traced values).

For example (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x):
...     idx = np.repeat(np.arange(x.shape[0]), 2)
...     return np.sum(x[idx])
... ''', through="static"))
def df(x):
    t1 = jnp.shape(x)
    t2 = t1[0]
    t3 = np.arange(t2)
    idx = np.repeat(t3, 2)
    t4 = x[idx]
    t5 = jnp.sum(t4)
    tgr.check_scalar_output(t5, 'f')
    # grad of line 3: return np.sum(x[idx])
    bt4 = np.broadcast_to(1.0, jnp.shape(t4))
    bx = tgr.add_at(tgr.zeros_like_value(x), idx, bt4)
    return tgr.match(bx, x)
"""

import builtins

import gast

from ..backends.numpy import NumpyBackend
from ..ir import walk
from ..rules import CallableSet

STATIC, MAYBE, TRACED = 0, 1, 2

_SHAPE_ATTRIBUTES = {"shape", "ndim", "size", "dtype"}
_SHAPE_FUNCTIONS = CallableSet({len, getattr(builtins, "len")})
_SHAPE_NUMPY = {"np.shape", "np.ndim", "np.size", "np.result_type"}
_PURE_BUILTINS = CallableSet({range, int, float, bool, abs, min, max, sum, tuple, list, round, divmod, pow,
                  sorted, reversed, enumerate, zip, isinstance, slice, str, any, all})
# numpy functions that build index arrays (and the containers of them): with arguments of
# unknown kind they print as tgr.np.f, which picks numpy when none is a JAX array
_INDEX_BUILDERS = {"arange", "repeat", "tile", "indices", "triu_indices", "tril_indices",
                   "diag_indices", "ravel_multi_index", "unravel_index", "concatenate",
                   "stack", "hstack", "vstack", "array", "asarray", "cumsum", "flatnonzero",
                   "ones", "zeros", "full", "eye"}
_PURE_METHODS = {"reshape", "astype", "copy", "ravel", "flatten", "tolist", "item",
                 "transpose", "index", "count", "keys", "values", "items", "get", "cumsum",
                 "sum", "prod", "max", "min", "squeeze", "repeat", "nonzero", "argsort"}
_PURE_TGR = {"copy_value", "owned_copy"}   # tgr helpers that copy their argument
_MUTATING_METHODS = {"append", "extend", "insert", "add", "update", "setdefault", "fill",
                     "sort", "reverse", "remove", "clear", "pop", "put", "resize"}
_numpy = NumpyBackend()


def _canonical(func):
    """``np.<name>`` or ``math.<name>`` of a resolved numpy or math function, else None."""
    obj = getattr(func, "resolved", None)
    if obj is None or not callable(obj):
        return None
    try:
        name = _numpy.canonical(obj)
    except Exception:   # noqa: BLE001 (an object canonical cannot name)
        return None
    if name and name.split(".")[0] in ("np", "math") and "random" not in name:
        return name
    return None


class _Levels:
    """The level of each name of ``fn`` (the highest of its bindings), to a fixed point."""

    def __init__(self, fn, static_params=(), traced_params=()):
        self.fn = fn
        self.levels = {}
        for a in fn.args.args + fn.args.kwonlyargs:
            self.levels[a.id] = STATIC if a.id in static_params else \
                TRACED if a.id in traced_params else MAYBE
        for extra in (fn.args.vararg, fn.args.kwarg):
            if extra is not None:
                self.levels[extra.id] = MAYBE
        self.params = set(self.levels)
        self.popped = _pushed_values(fn)
        changed = True
        while changed:
            changed = False
            for name, level in self._bindings():
                if level > self.levels.get(name, STATIC):
                    self.levels[name] = level
                    changed = True

    def level(self, name):
        return self.levels.get(name, STATIC)

    def of(self, node):
        """The level of expression ``node``."""
        if node is None or isinstance(node, (gast.Constant, gast.JoinedStr)):
            return STATIC
        if isinstance(node, gast.Name):
            return self.levels.get(node.id, STATIC)
        if isinstance(node, gast.Attribute):
            if node.attr in _SHAPE_ATTRIBUTES or "resolved" in node.__dict__:
                return STATIC
            return self.of(node.value)
        if isinstance(node, gast.Call):
            return self._call(node)
        if isinstance(node, (gast.Lambda, gast.Await, gast.Yield, gast.YieldFrom,
                             gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp,
                             gast.NamedExpr)):
            return TRACED
        return max((self.of(child) for child in gast.iter_child_nodes(node)
                    if isinstance(child, gast.expr)), default=STATIC)

    def _arguments(self, call):
        return max([self.of(a) for a in call.args] + [self.of(k.value) for k in call.keywords],
                   default=STATIC)

    def _call(self, call):
        func = call.func
        obj = getattr(func, "resolved", None)
        if obj is not None:
            if any(obj is f for f in _SHAPE_FUNCTIONS):
                return STATIC
            if any(obj is f for f in _PURE_BUILTINS):
                return self._arguments(call)
            name = _canonical(func)
            if name in _SHAPE_NUMPY:
                return STATIC
            if name is not None:
                level = self._arguments(call)
                if level == STATIC:
                    return STATIC
                if level == MAYBE and name.startswith("np.") \
                        and name[3:] in _INDEX_BUILDERS:
                    return MAYBE
            return TRACED
        if id(call) in self.popped:   # the value its push saved
            return self.of(self.popped[id(call)])
        if isinstance(func, gast.Attribute) and func.attr in _PURE_TGR \
                and isinstance(func.value, gast.Name) and func.value.id == "tgr":
            return self._arguments(call)
        if isinstance(func, gast.Attribute) and "resolved" not in func.value.__dict__ \
                and func.attr in _PURE_METHODS | {"pop"}:
            return max(self.of(func.value), self._arguments(call))
        return TRACED

    def _bindings(self):
        """(name, level) for every binding in ``fn``."""
        for node in walk(self.fn):
            if isinstance(node, (gast.FunctionDef, gast.Lambda)):
                if node is not self.fn:
                    args = node.args
                    for a in args.args + args.kwonlyargs + args.posonlyargs \
                            + [args.vararg, args.kwarg]:
                        if a is not None:
                            yield a.id, TRACED
                    if isinstance(node, gast.FunctionDef):
                        yield node.name, TRACED
            elif isinstance(node, gast.Assign):
                value = self.of(node.value)
                for target in node.targets:
                    yield from self._target(target, value, node.value)
            elif isinstance(node, (gast.AugAssign, gast.AnnAssign)):
                if node.value is not None:
                    yield from self._target(node.target, self.of(node.value), node.value,
                                            augmented=isinstance(node, gast.AugAssign))
            elif isinstance(node, gast.For):
                yield from self._target(node.target, self.of(node.iter), None)
            elif isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) \
                    and isinstance(node.value.func, gast.Attribute) \
                    and isinstance(node.value.func.value, gast.Name) \
                    and node.value.func.attr in _MUTATING_METHODS:
                yield node.value.func.value.id, self._arguments(node.value)
            elif isinstance(node, (gast.comprehension, gast.With, gast.ExceptHandler,
                                   gast.Global, gast.Nonlocal)):
                for inner in walk(node):
                    if isinstance(inner, gast.Name) and isinstance(inner.ctx, gast.Store):
                        yield inner.id, TRACED

    def _target(self, target, level, value, augmented=False):
        if isinstance(target, gast.Name):
            yield target.id, max(level, self.levels.get(target.id, STATIC)) if augmented \
                else level
        elif isinstance(target, (gast.Tuple, gast.List)):
            for element in target.elts:
                yield from self._target(element, level, None)
        elif isinstance(target, gast.Starred):
            yield from self._target(target.value, level, None)
        elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            # a store keeps a numpy array (updating a copy) only with static parts
            parts = max(level, self.of(target.slice), self.level(target.value.id))
            yield target.value.id, STATIC if parts == STATIC and not augmented else TRACED
        elif isinstance(target, (gast.Subscript, gast.Attribute)):
            base = target.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                yield base.id, TRACED


def _pushed_values(fn, stack="stack"):
    """id of each ``stack.pop()`` -> the value the matching ``stack.append(v)`` saved: the
    pushes in the order they are written, popped in the reverse order (the reverse sweep's
    discipline); empty when the counts differ."""
    pushes, pops = [], []
    for node in walk(fn):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and isinstance(node.func.value, gast.Name) and node.func.value.id == stack:
            if node.func.attr == "append" and len(node.args) == 1:
                pushes.append(node.args[0])
            elif node.func.attr == "pop" and not node.args:
                pops.append(node)
            else:
                return {}
    if len(pushes) != len(pops):
        return {}
    return {id(pop): value for pop, value in zip(pops, reversed(pushes))}


class _Rewrite(gast.NodeTransformer):
    def __init__(self, levels):
        self.levels = levels

    def visit_Assign(self, node):
        names = [n.id for t in node.targets for n in walk(t)
                 if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]
        traced = any(self.levels.level(n) == TRACED for n in names)
        subscript = any(isinstance(t, gast.Subscript) for t in node.targets)
        if subscript and isinstance(node.targets[0].value, gast.Name) \
                and self.levels.level(node.targets[0].value.id) == STATIC:
            node.static = True   # functionalize updates a numpy copy
        if traced and not subscript and isinstance(node.value, gast.Call):
            # a traced name keeps jax.numpy's call (it may be stored into: .at[...])
            node.value.args = [self.visit(a) for a in node.value.args]
            for k in node.value.keywords:
                k.value = self.visit(k.value)
            return node
        self.generic_visit(node)
        return node

    def visit_Call(self, node):
        name = _canonical(node.func)
        level = self.levels.of(node)   # before the arguments' calls lose their resolution
        self.generic_visit(node)
        if name is None or name in _SHAPE_NUMPY:
            return node
        if level == STATIC:
            node.func = _unresolved(name)
        elif level == MAYBE:
            node.func = _unresolved("tgr." + name)
        return node


def _unresolved(dotted):
    """``np.arange`` as plain attribute nodes: printed as spelled, not as the backend's."""
    first, *rest = dotted.split(".")
    node = gast.Name(id=first, ctx=gast.Load(), annotation=None, type_comment=None)
    for part in rest:
        node = gast.Attribute(value=node, attr=part, ctx=gast.Load())
    return node


def static_values(fn, static_params=(), traced_params=()):
    """Rewrite the generated FunctionDef ``fn`` in place; returns it. ``static_params``:
    parameters that are Python numbers in this build; ``traced_params``: arrays."""
    levels = _Levels(fn, static_params, traced_params)
    _Rewrite(levels).visit(fn)
    return fn
