"""Turn in-place subscript updates into new values, for backends whose arrays never change.

JAX arrays are immutable, so for ``backend="jax"`` the generated tree's updates become
rebindings (the aliasing pass already refused user code where the difference would show)::

    y[i] = v          ->   y = y.at[i].set(v)
    y[i] += v         ->   y = y.at[i].add(v)
    y[:n] *= v        ->   y = tgr.update_at(y, slice(None, n, None), 'multiply', v)
    d[k] = v          ->   d = tgr.set_item(d, k, v)     (a name not known to hold an array)

An index of slices alone that may pick the whole array goes to ``tgr.update_at``, which
writes such an update elementwise: XLA aborts on ``reverse`` of the scatter it would be
(``jax_runtime._at``).

A name holds an array when the rank analysis knows its rank, or it was made by
``tgr.owned_copy`` (an adjoint about to be updated element by element).

JAX also reads a list index differently from numpy (``x[[0, 2]]`` is refused), so a list
display used as an index becomes a numpy array: ``x[np.array([0, 2])]``; and ``not c`` becomes
``tgr.logical_not(c)``, which a traced condition allows.

For example, on a function whose ``y`` the rank analysis knows to be an array (``front_end`` runs
the front-end passes, ``printed`` prints a tree):

>>> from transgrad.passes.show import front_end, printed
>>> info, tree = front_end('''
... def f(v):
...     y = np.zeros(3)
...     y[0] = v
...     y[1:] = v
...     y[:] = v * y
...     return y
... ''')
>>> tree = functionalize(tree, {"y": 1})
>>> print(printed(tree, backend="jax"))
def f(v):
    y = jnp.zeros(3)
    y = y.at[0].set(v)
    y = y.at[1:].set(v)
    t1 = v * y
    y = tgr.update_at(y, slice(None, None, None), 'set', t1)
    return y
"""

import gast

from ..ir import index_value, walk

_AT_METHODS = {gast.Add: "add", gast.Sub: "subtract", gast.Mult: "multiply", gast.Div: "divide",
               gast.Pow: "power"}


def _load(id_):
    return gast.Name(id=id_, ctx=gast.Load(), annotation=None, type_comment=None)


def _array_names(fn, known_ranks):
    arrays = {n for n, r in known_ranks.items() if r is not None}
    for node in walk(fn):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) \
                and isinstance(node.value, gast.Call) \
                and isinstance(node.value.func, gast.Attribute) \
                and node.value.func.attr in ("owned_copy", "zeros_like_value") \
                and isinstance(node.value.func.value, gast.Name) \
                and node.value.func.value.id == "tgr":
            arrays.add(node.targets[0].id)
    return arrays


def _fancy(index):
    """An index holding a list display (``np.array([0, 0])`` by now): it may repeat an
    element, where numpy keeps the last write and XLA's scatter promises none."""
    if isinstance(index, gast.Tuple):
        return any(_fancy(e) for e in index.elts)
    return isinstance(index, gast.List) or (
        isinstance(index, gast.Call) and isinstance(index.func, gast.Attribute)
        and index.func.attr == "array" and index.args and isinstance(index.args[0], gast.List))


def _int_constant(node):
    """The value of an integer literal (``3``, ``-1``), else None."""
    sign = 1
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        sign, node = -1, node.operand
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


def _may_pick_all(index):
    """Whether an index written with slices, ``...`` and ``None`` alone may pick every element
    of a non-empty array (``y[:]``, ``y[...]``, ``y[:n]``; not ``y[1:]``, ``y[:-1]``,
    ``y[::2]``, nor any index with an integer or an array): a scatter XLA can abort on
    (``jax_runtime._at``)."""
    if isinstance(index, gast.Tuple):
        return all(_may_pick_all(e) for e in index.elts)
    if isinstance(index, gast.Constant):
        return index.value is None or index.value is Ellipsis
    if not isinstance(index, gast.Slice):
        return False
    lower, upper, step = (_int_constant(p) if p is not None else None
                          for p in (index.lower, index.upper, index.step))
    return not ((lower is not None and lower > 0) or (upper is not None and upper < 0)
                or (step is not None and step != 1))


def _update(target, value, method, arrays):
    """``base = base.at[index].<method>(value)`` or ``base = tgr.set_item(base, index, value)``
    (also for a store whose index may repeat an element: it keeps numpy's last write), or
    ``base = tgr.update_at(base, index, '<method>', value)`` for an index that may pick the
    whole array (``_may_pick_all``)."""
    base = target.value.id
    store = gast.Name(id=base, ctx=gast.Store(), annotation=None, type_comment=None)
    if (base in arrays or method != "set") and _may_pick_all(target.slice):
        call = gast.Call(func=gast.Attribute(value=_load("tgr"), attr="update_at",
                                             ctx=gast.Load()),
                         args=[_load(base), index_value(target.slice),
                               gast.Constant(value=method, kind=None), value], keywords=[])
    elif (base in arrays or method != "set") and not (method == "set" and _fancy(target.slice)):
        at = gast.Subscript(value=gast.Attribute(value=_load(base), attr="at", ctx=gast.Load()),
                            slice=target.slice, ctx=gast.Load())
        call = gast.Call(func=gast.Attribute(value=at, attr=method, ctx=gast.Load()),
                         args=[value], keywords=[])
    else:
        call = gast.Call(func=gast.Attribute(value=_load("tgr"), attr="set_item",
                                             ctx=gast.Load()),
                         args=[_load(base), index_value(target.slice), value], keywords=[])
    return gast.Assign(targets=[store], value=call, type_comment=None)


def _static_update(target, value):
    """``base = tgr.set_static(base, index, value)``: a copy, still numpy."""
    base = target.value.id
    call = gast.Call(func=gast.Attribute(value=_load("tgr"), attr="set_static", ctx=gast.Load()),
                     args=[_load(base), index_value(target.slice), value], keywords=[])
    return gast.Assign(targets=[gast.Name(id=base, ctx=gast.Store(), annotation=None,
                                          type_comment=None)], value=call, type_comment=None)


def _subscript_of_name(node):
    return isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)


def _as_index_array(node):
    """``np.array([...])`` for a list display (an integer or boolean index), else ``node``."""
    if isinstance(node, gast.List):
        return gast.Call(func=gast.Attribute(value=_load("np"), attr="array", ctx=gast.Load()),
                         args=[node], keywords=[])
    if isinstance(node, gast.Tuple):
        node.elts = [_as_index_array(e) for e in node.elts]
    return node


class _Functionalize(gast.NodeTransformer):
    def __init__(self, arrays):
        self.arrays = arrays

    def visit_UnaryOp(self, node):
        """``not c`` on a traced condition cannot be a Python bool: ``tgr.logical_not(c)``
        (``jnp.logical_not`` for a JAX array, ``not`` for a Python value)."""
        self.generic_visit(node)
        if isinstance(node.op, gast.Not):
            return gast.Call(func=gast.Attribute(value=_load("tgr"), attr="logical_not",
                                                 ctx=gast.Load()),
                             args=[node.operand], keywords=[])
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        node.slice = _as_index_array(node.slice)
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        target = node.targets[0]
        if len(node.targets) == 1 and _subscript_of_name(target):
            if getattr(node, "static", False):   # a numpy array of static values (static.py)
                return gast.copy_location(_static_update(target, node.value), node)
            return gast.copy_location(_update(target, node.value, "set", self.arrays), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        method = _AT_METHODS.get(type(node.op))
        if _subscript_of_name(node.target) and method is not None:
            return gast.copy_location(_update(node.target, node.value, method, self.arrays),
                                      node)
        return node


def functionalize(fn, known_ranks=None):
    """Rewrite the generated FunctionDef ``fn`` in place; returns it."""
    _Functionalize(_array_names(fn, known_ranks or {})).visit(fn)
    return fn
