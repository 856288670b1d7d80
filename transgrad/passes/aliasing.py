"""Reject in-place updates that another name could observe (an analysis).

The reverse pass treats every name as its own value. An array updated in place
(``y[i] = v``) breaks that if another name shares its memory, so such programs raise
``TransformError`` instead of getting a wrong derivative::

    y = np.zeros((2, 3))
    row = y[1]           # a view of y
    row[0] = x           # TransformError: `row` may share memory with `y` ...
"""

import operator

import numpy as np

from .. import ir, runtime
from .activity import assignments

VIEWS = {operator.getitem, np.reshape, np.transpose, np.ravel, np.squeeze, np.expand_dims,
         np.swapaxes, np.moveaxis, np.broadcast_to, np.diagonal, np.asarray, np.atleast_1d,
         np.atleast_2d, np.atleast_3d, np.flip, np.fliplr, np.flipud, ir.COPY}
# primitives whose result holds a reference to the operand itself (`z = y`, a list of arrays)
REFERENCES = (ir.COPY, ir.PACK, runtime.append)
HINT = "take a copy first (`.copy()` or `np.array(...)`), so the update has one owner"


def _source_names(stmt):
    """The names whose memory ``stmt``'s target may share (views, copies of the reference,
    containers that hold the array)."""
    prim = ir.primitive(stmt.value)
    if prim.func in VIEWS and prim.args:
        return ir.operand_names(prim.args[0])
    if prim.func is ir.PACK or prim.func is runtime.append:
        return [n for a in prim.args for n in ir.operand_names(a)]
    return []


def check_in_place_updates(info, tree):
    """Raise TransformError where an in-place update could be seen through another name.

    Generated code (a derivative differentiated again) is not checked: it updates in place
    only arrays it allocated itself, and restores the user's updates, checked when it was
    built."""
    if info.generated:
        return
    statements = list(assignments(tree.body))
    _check_augmented(info, statements)
    updated = {ir.set_item(s)[0] for s in statements if ir.set_item(s) is not None}
    if not updated:
        return
    for stmt in statements:
        targets = ir.assigned(stmt)
        func = ir.primitive(stmt.value).func
        for source in _source_names(stmt):
            if not targets or source == targets[0]:
                continue
            if targets[0] in updated and func not in (ir.PACK, runtime.append):
                # updating a view or another name of `source` (a new list only holds refs)
                shared, other = targets[0], source
            elif source in updated and func in REFERENCES:   # `z = y`, `out.append(y)`
                shared, other = source, targets[0]
            else:
                continue
            raise info.error(f"`{shared}` is updated in place, and `{other}` may share its "
                             f"memory", stmt.origin, hint=HINT)
    _check_stale_views(info, statements, updated)


def _check_augmented(info, statements):
    """``x += y`` is differentiated as ``x = x + y``. On an array numpy updates it in place,
    which another name for the same array would see: reject that case."""
    augmented = {s.in_place_of: s for s in statements if getattr(s, "in_place_of", None)}
    if not augmented:
        return
    for stmt in statements:
        targets = ir.assigned(stmt)
        func = ir.primitive(stmt.value).func
        sources = _source_names(stmt)
        shared = [n for n in sources if n in augmented and func in REFERENCES] + \
            [t for t in targets if t in augmented and sources and func in VIEWS]
        if shared:
            update = augmented[shared[0]]
            raise info.error(
                f"`{shared[0]}` is updated in place by an augmented assignment (line "
                f"{update.origin.lineno}) and shares its memory with another name here",
                stmt.origin, hint="write `x = x + y` (a new array), or take a copy first")


def _check_stale_views(info, statements, updated):
    """A view taken from an array, read after a later in-place update of that array."""
    order = {id(s): i for i, s in enumerate(statements)}
    for stmt in statements:
        prim = ir.primitive(stmt.value)
        targets = ir.assigned(stmt)
        if prim.func is not operator.getitem or not targets:
            continue
        base = ir.operand_names(prim.args[0])
        if not base or base[0] not in updated:
            continue
        view, start = targets[0], order[id(stmt)]
        stores = [order[id(s)] for s in statements if ir.set_item(s) is not None
                  and ir.set_item(s)[0] == base[0] and order[id(s)] > start]
        if not stores:
            continue
        for later in statements[min(stores) + 1:]:
            if view in ir.assigned(later) and view not in ir.names_in(later.value):
                break   # redefined before any stale read
            if view in ir.names_in(later.value):
                raise info.error(
                    f"`{view}` is read from `{base[0]}`, which is then updated in place: if "
                    f"`{view}` is a view it changes too", stmt.origin, hint=HINT)
