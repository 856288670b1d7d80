"""Lists, tuples of cotangents and generated stacks in the call-time rewrite (``exact.py``).

Loops keep their states in lists (``states.append(h)`` becomes ``states =
tgr.append(states, h)``; ``states[t]`` reads one back) and called functions' forward halves
push their callees' tapes on a stack they return in their own tape. What the rewrite knows of
these:

* A list whose items are arrays alike is a ``ListOf`` (``exact_values``): an item read back
  by an int has the item's shape, and a list's cotangent (``tgr.zeros_like_value(states)``, a
  stacked array or a ``ListCotangent``) is a ``ListOf`` too. A list can change in place, and
  others may hold the same list, so every ``ListOf`` is forgotten (``guard``) where a
  statement may change a list: a list-changing method of anything not known to be an array,
  a store into an item of a list that is not known to keep its items alike, or a call that
  is passed a list and is not known to only read it.
* The stack a forward half returns in its tape is a ``Stack`` (``exact_values``): its pushes
  by name, which the backward half's pops into the same names give back.
* The runtime helpers that build cotangents of containers (``tgr.unpacked_cotangent``,
  ``tgr.stored_part``, ``tgr.owned_copy``, ``tgr.sum_items_cotangent``, ``tgr.copy_of``,
  ``tgr.append``) have the values ``helper_value`` gives.
"""

import gast
import numpy as np

from .. import runtime
from ..ir import walk
from .exact_values import F64, FLOAT, INT, ListOf, Value, join, python_int, tuple_value

_LIST_CHANGES = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort",
                           "reverse", "__setitem__", "__delitem__", "__iadd__"})
# the runtime helpers that read a list they are passed without changing it or keeping it
# (``add_at`` changes one item in place: ``guard`` checks the item keeps its shape)
_READING = frozenset({"append", "zeros_like_value", "copy_of", "copy_value", "unbroadcast_to",
                      "unpacked_cotangent", "sum_items_cotangent", "match", "cotangent_of",
                      "unconcatenate"})


def helper_value(values, helper, node):
    """The value of the container helper call ``node`` (of ``tgr.<helper>``), where
    ``values`` (a ``Values``) decides it; ``NotImplemented`` for another helper."""
    args = node.args
    if helper == "unpacked_cotangent" and len(args) == 2 \
            and args[0].__class__ is gast.Tuple:   # of a tuple: its parts, listed
        like = values.value(args[1])
        if like is None or like.items is None or len(like.items) != len(args[0].elts):
            return None
        return tuple_value(values.value(e) for e in args[0].elts)
    if helper == "stored_part" and len(args) == 2:   # a copy of g[i], i an int
        g = values.value(args[0])
        if g is None or not g.array or g.dtype is not F64 or not g.shape \
                or not python_int(values.value(args[1])):
            return None
        return Value(g.shape[1:], F64, len(g.shape) > 1, len(g.shape) > 1)
    if helper == "owned_copy" and len(args) == 2:   # zeros like x, plus g
        g, x = values.value(args[0]), values.value(args[1])
        if not _fits(g, x) or not x.array:
            return None
        return Value(x.shape, F64, True, True)
    if helper == "sum_items_cotangent" and len(args) == 2:   # g for each row of items
        g, items = values.value(args[0]), values.value(args[1])
        if not _fits(g, items) or not items.array:
            return None
        return Value(items.shape, F64, True, True)
    if helper == "copy_of" and len(args) == 1:   # a fresh copy
        value = values.value(args[0])
        if value is not None and value.array and value.items is None:
            return Value(value.shape, value.dtype, True, True)
        return value if value.__class__ is ListOf else None
    if helper == "append" and len(args) == 2:   # a new list with one more item
        items, item = values.value(args[0]), values.value(args[1])
        if items.__class__ is not ListOf or item is None or not item.array \
                or item.items is not None:
            return None
        element = item if items.element is None else join(items.element, item)
        return ListOf(element) if element is not None else None
    if helper == "zeros_like_value" and len(args) == 1:
        value = values.value(args[0])
        if value.__class__ is ListOf and value.element is not None \
                and value.element.dtype is F64:   # a stacked array or a ListCotangent
            return ListOf(Value(value.element.shape, F64, True, False))
        return NotImplemented
    if helper == "unconcatenate":   # the slices ``cut`` writes it as
        parts = cut(values, node)
        return values.value(parts) if parts is not None else None
    if helper == "add_at" and len(args) == 3:   # a list's cotangent: one item updated
        target = values.value(args[0])
        if target.__class__ is ListOf:
            return target if _keeps_item(values, args[1], args[2], target) else None
    return NotImplemented


def written_out(values, helper, g, x):
    """The expression a careful author writes for ``tgr.stored_part(g, i)`` (``g[i]``, a
    copy where it is an array) and ``tgr.sum_items_cotangent(g, items)`` (``np.full(shape,
    g)``) where the known values decide it, else None."""
    if helper == "stored_part":
        gv = values.value(g)
        if gv is None or not gv.array or gv.dtype is not F64 or not gv.shape \
                or not python_int(values.value(x)):
            return None
        part = gast.Subscript(value=g, slice=x, ctx=gast.Load())
        if len(gv.shape) == 1:
            return part   # a float64 scalar: nothing to copy
        return gast.Call(func=gast.Attribute(value=part, attr="copy", ctx=gast.Load()),
                         args=[], keywords=[])
    if helper == "sum_items_cotangent":
        gv, items = values.value(g), values.value(x)
        if gv is None or gv.shape != () or gv.items is not None \
                or not (gv.dtype is F64 or gv.dtype is FLOAT) or items is None \
                or not items.array or items.dtype is not F64 or items.shape is None:
            return None
        shape = gast.Tuple(elts=[gast.Constant(value=n, kind=None) for n in items.shape],
                           ctx=gast.Load())
        return gast.Call(func=gast.Attribute(value=gast.Name(id="np", ctx=gast.Load(),
                                                             annotation=None, type_comment=None),
                                             attr="full", ctx=gast.Load()),
                         args=[shape, g], keywords=[])
    return None


def _fits(g, x):
    """Whether ``g`` (a float cotangent) broadcasts to the float64 ``x`` unchanged."""
    return g is not None and x is not None and x.dtype is F64 and x.shape is not None \
        and g.shape is not None and g.items is None \
        and (g.dtype is F64 or g.dtype is FLOAT or g.dtype is INT) \
        and len(g.shape) <= len(x.shape) \
        and all(a == b or a == 1 for a, b in zip(g.shape[::-1], x.shape[::-1]))


def _keeps_item(values, index, update, target):
    """Whether ``tgr.add_at(target, index, update)`` of a list-like ``target`` leaves its
    item at the int ``index`` as shaped as the others."""
    return target.element is not None and python_int(values.value(index)) \
        and _fits(values.value(update), target.element)


def holds_list(value):
    """Whether ``value`` is or holds a ``ListOf``."""
    if value is None:
        return False
    if value.__class__ is ListOf:
        return True
    return value.items is not None and any(holds_list(v) for v in value.items)


def guard(exact, node, stacks):
    """Forget every ``ListOf`` ``exact`` knows where evaluating ``node`` may change a list in
    place (``stacks``: the generated stacks, whose pushes and pops are not lists' changes)."""
    known = exact.known
    if not any(v is not None and (v.__class__ is ListOf or v.items is not None)
               for v in known.values()):
        return
    for call in walk(node):
        if call.__class__ is not gast.Call:
            continue
        func = call.func
        name = _helper_name(exact, func)
        if name == "add_at" and len(call.args) == 3:
            target = exact.value(call.args[0])
            if target.__class__ is ListOf:
                if not _keeps_item(exact, call.args[1], call.args[2], target):
                    forget(known)
                continue
        if func.__class__ is gast.Attribute and func.attr in _LIST_CHANGES \
                and name is None and not (func.value.__class__ is gast.Name
                                          and func.value.id in stacks):
            base = exact.value(func.value)
            if base is None or not base.array:
                forget(known)
                return
        passed = list(call.args) + [k.value for k in call.keywords]
        if any(holds_list(exact.value(a)) for a in passed) and not _only_reads(exact, func):
            forget(known)
            return


def stored(exact, target, value):
    """``target[i] = value`` (or ``+=``): forget every ``ListOf`` unless the target is known
    not to be a list, or is a list whose item stays alike."""
    known = exact.known
    base = exact.value(target.value)
    if base is not None and base.array:
        return
    element = base.element if base.__class__ is ListOf else None
    if element is not None and python_int(exact.value(target.slice)) and value is not None \
            and value.array and value.shape == element.shape and value.dtype is element.dtype:
        return
    forget(known)


def forget(known):
    """Drop every known value that is or holds a ``ListOf``."""
    for name in [n for n, v in known.items() if holds_list(v)]:
        del known[name]


def _helper_name(exact, func):
    """The name of the runtime helper ``func`` calls (``tgr.add_at`` or a name bound to
    it), else None."""
    resolved = exact.resolve(func)
    name = getattr(resolved, "__name__", None)
    return name if name is not None and getattr(runtime, name, None) is resolved else None


def _only_reads(exact, func):
    """Whether a call of ``func`` reads the lists it is passed and keeps none: ``len``,
    numpy's functions and ufuncs, the runtime helpers that only read."""
    resolved = exact.resolve(func)
    if resolved is len or type(resolved) is np.ufunc:
        return True
    module = getattr(resolved, "__module__", None) or ""
    if module == "numpy" or module.startswith("numpy."):
        return True
    return _helper_name(exact, func) in _READING


def tracked_stacks(fn):
    """(the lists the function uses only as stacks whose pops restore the names pushed,
    those of them it returns, those of them a tape brought). A stack is made by ``s = []``
    (a forward half may also return it in its tape) or, in a backward half, unpacked from
    its tape and only popped; pushed by ``s.append(name)`` (or
    ``s.append(tgr.copy_value(...))``, popped into a subscript), popped by
    ``name = s.pop()``, and read nowhere else."""
    uses, sanctioned, made, unpacked, pushed, returned = {}, {}, set(), set(), set(), {}
    for node in walk(fn):
        kind = node.__class__
        if kind is gast.Name:
            uses[node.id] = uses.get(node.id, 0) + 1
            continue
        if kind is gast.Return and node.value is not None:
            tape = node.value.elts[1] if node.value.__class__ is gast.Tuple \
                and len(node.value.elts) == 2 else None   # ``return (value, (stack, ...))``
            for n in (tape.elts if tape.__class__ is gast.Tuple else ()):
                if n.__class__ is gast.Name:
                    returned[n.id] = returned.get(n.id, 0) + 1
            continue
        stack = None
        if kind is gast.Assign and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if target.__class__ is gast.Name and value.__class__ is gast.List \
                    and not value.elts:
                stack = target.id
                made.add(stack)
            elif target.__class__ in (gast.Name, gast.Subscript) and _method(value, "pop") \
                    and not value.args:
                stack = value.func.value.id
            elif target.__class__ is gast.Tuple and value.__class__ is gast.Name \
                    and fn.args.args and value.id == fn.args.args[0].id:
                for e in target.elts:   # ``stack, ... = tape``: the first parameter's items
                    if e.__class__ is gast.Name:
                        unpacked.add(e.id)
                        sanctioned[e.id] = sanctioned.get(e.id, 0) + 1
        elif kind is gast.Expr and _method(node.value, "append") and len(node.value.args) == 1:
            pushed_value = node.value.args[0]
            if pushed_value.__class__ is gast.Name or (
                    pushed_value.__class__ is gast.Call
                    and pushed_value.func.__class__ is gast.Attribute
                    and pushed_value.func.attr == "copy_value"):
                stack = node.value.func.value.id
                pushed.add(stack)
        if stack is not None:
            sanctioned[stack] = sanctioned.get(stack, 0) + 1
    tracked = {s for s in made if sanctioned.get(s, 0) + returned.get(s, 0) == uses.get(s)}
    from_tape = {s for s in unpacked - made - pushed if sanctioned.get(s) == uses.get(s)}
    return tracked | from_tape, {s for s in tracked if s in returned}, from_tape


def _method(node, method):
    """Whether ``node`` is a call ``name.method(...)``."""
    return node.__class__ is gast.Call and node.func.__class__ is gast.Attribute \
        and node.func.attr == method and node.func.value.__class__ is gast.Name


def cut(exact, node):
    """``tgr.unconcatenate(g, (a, b, ...), axis)`` of known shapes as the tuple of slices it
    returns, ``(g[0:4], g[4:8], ...)`` (views, as the helper's), or None."""
    args = node.args
    if len(args) != 3 or node.keywords or args[0].__class__ is not gast.Name \
            or _helper_name(exact, node.func) != "unconcatenate":
        return None
    g, arrays, axis = exact.value(args[0]), exact.value(args[1]), exact.static(args[2])
    if g is None or not g.array or g.dtype is not F64 or arrays is None \
            or arrays.items is None or not arrays.items or type(axis) is not int \
            or not -len(g.shape) <= axis < len(g.shape):
        return None
    axis %= len(g.shape)
    shapes = [a.shape if a is not None and a.array else None for a in arrays.items]
    if any(s is None or len(s) != len(g.shape) for s in shapes) \
            or sum(s[axis] for s in shapes) != g.shape[axis]:
        return None
    parts, start = [], 0
    for shape in shapes:
        index = [gast.Slice(lower=None, upper=None, step=None)] * axis + [
            gast.Slice(lower=gast.Constant(value=start, kind=None),
                       upper=gast.Constant(value=start + shape[axis], kind=None), step=None)]
        start += shape[axis]
        parts.append(gast.Subscript(
            value=gast.Name(id=args[0].id, ctx=gast.Load(), annotation=None,
                            type_comment=None),
            slice=index[0] if len(index) == 1 else gast.Tuple(elts=index, ctx=gast.Load()),
            ctx=gast.Load()))
    return gast.Tuple(elts=parts, ctx=gast.Load())


def added_in_place(exact, stmt):
    """``x = tgr.add_at(x, i, v)`` of a known float64 ndarray ``x`` and an int or slice
    ``i`` as the update the helper makes, ``x[i] += v``; None for anything else."""
    value = stmt.value
    if len(stmt.targets) != 1 or stmt.targets[0].__class__ is not gast.Name \
            or value.__class__ is not gast.Call or len(value.args) != 3 or value.keywords \
            or _helper_name(exact, value.func) != "add_at":
        return None
    target, index, update = value.args
    if target.__class__ is not gast.Name or target.id != stmt.targets[0].id:
        return None
    known = exact.value(target)
    if known is None or not known.array or known.dtype is not F64 \
            or not (python_int(exact.value(index)) or _int_slice(exact, index)):
        return None
    if index.__class__ is gast.Call:   # slice(a, b, c): written a:b:c
        bounds = [None if a.__class__ is gast.Constant and a.value is None else a
                  for a in index.args]
        bounds = ([None] + bounds if len(bounds) == 1 else bounds) + [None] * 2
        index = gast.Slice(lower=bounds[0], upper=bounds[1], step=bounds[2])
    return gast.AugAssign(
        target=gast.Subscript(value=gast.Name(id=target.id, ctx=gast.Load(), annotation=None,
                                              type_comment=None),
                              slice=index, ctx=gast.Store()),
        op=gast.Add(), value=update)


def _int_slice(exact, node):
    """Whether ``node`` is ``slice(a, b, c)`` of Python ints or None (a basic index)."""
    if node.__class__ is not gast.Call or node.keywords or not 1 <= len(node.args) <= 3 \
            or exact.resolve(node.func) is not slice:
        return False
    return all(a.__class__ is gast.Constant and a.value is None
               or python_int(exact.value(a)) for a in node.args)
