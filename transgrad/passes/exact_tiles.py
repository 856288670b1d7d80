"""A cotangent assembled from the parts of a slicing, as one ``np.concatenate`` (part of the
call-time rewrite).

The adjoint of reading an array by slices (``forget = gates[0:h]``, ``ingate =
gates[h:2 * h]`` ... in an LSTM cell) starts the array's cotangent at zeros and adds each
part's cotangent into its slice::

    bgates = tgr.add_at(np.zeros_like(gates), slice(21, None), bt11)
    bt9 = boutgate * outgate * (1.0 - outgate)
    bgates[14:21] += bt9                       ->   bt9 = boutgate * outgate * (1.0 - outgate)
    bt6 = bingate * ingate * (1.0 - ingate)         bt6 = bingate * ingate * (1.0 - ingate)
    bgates[7:14] += bt6                             bt4 = bforget * forget * (1.0 - forget)
    bt4 = bforget * forget * (1.0 - forget)         bgates = np.concatenate((bt4, bt6, bt9, bt11))
    bgates[0:7] += bt4

five array operations where a careful author writes one. The rewrite (``exact.py``) marks
each such statement whose shapes it knows (``mark``: the part is exactly its slice of the
first axis, float64, so no broadcast and no dtype change); ``concatenate_tiles`` then joins a
run of marked statements that covers the first axis exactly once, when nothing between them
touches the array or rebinds a part, and every statement between is a plain assignment of
arithmetic and numpy calls (which cannot change a part in place). An int index is a part of
length one, written ``(v,)``.
"""

import itertools

import gast

from ..ir import Comment, walk
from .exact_values import F64, UNKNOWN

_ZEROS = ("zeros", "zeros_like", "zeros_like_value")   # the helper and its decisions


def mark(exact, stmt, in_place):
    """Tag the statement that starts a cotangent at zeros and adds a part into a slice
    (``x = tgr.add_at(np.zeros_like(y), slice(a, b), v)``), or the ``x[a:b] += v`` that
    ``in_place`` holds, with ``tile = (x, start, stop, length, part)``."""
    if in_place:
        target = in_place.target
        if in_place.value.__class__ is not gast.Name:
            return
        tile = _tile(exact, target.value.id, exact.value(target.value), target.slice,
                     in_place.value, False)
        if tile is not None:
            in_place.tile = tile
        return
    value = stmt.value
    if len(stmt.targets) != 1 or stmt.targets[0].__class__ is not gast.Name \
            or value.__class__ is not gast.Call or len(value.args) != 3 or value.keywords:
        return
    start, index, part = value.args
    resolved = exact.resolve(value.func)
    if getattr(resolved, "__name__", None) != "add_at" or start.__class__ is not gast.Call \
            or getattr(exact.resolve(start.func), "__name__", None) not in _ZEROS \
            or part.__class__ is not gast.Name:
        return
    tile = _tile(exact, stmt.targets[0].id, exact.value(start), index, part, True)
    if tile is not None:
        stmt.tile = tile


def _tile(exact, name, whole, index, part, fresh):
    """(name, start, stop, length, part name, is an int index, fresh) where ``part`` is
    exactly the float64 slice ``index`` of the first axis of ``whole``, else None."""
    if whole is None or not whole.array or whole.dtype is not F64 or not whole.shape:
        return None
    length = whole.shape[0]
    bounds = _bounds(exact, index, length)
    if bounds is None:
        return None
    start, stop, single = bounds
    value = exact.value(part)
    expected = whole.shape[1:] if single else (stop - start,) + whole.shape[1:]
    if value is None or value.shape != expected or value.dtype is not F64 \
            or (expected and not value.array) or stop <= start:
        return None
    return name, start, stop, length, part.id, single, fresh


def _bounds(exact, index, length):
    """(start, stop, whether an int) of an int, a ``a:b`` slice or a ``slice(a, b)`` call
    whose bounds the values fix, step none; else None."""
    kind = index.__class__
    if kind is gast.Slice:
        if index.step is not None:
            return None
        lower, upper = index.lower, index.upper
    elif kind is gast.Call and getattr(exact.resolve(index.func), "__name__", None) == "slice" \
            and not index.keywords and 1 <= len(index.args) <= 3:
        if len(index.args) == 3 and not _none(index.args[2]):
            return None
        lower, upper = (None, index.args[0]) if len(index.args) == 1 else index.args[:2]
    else:
        number = exact.static(index)
        if type(number) is not int or not -length <= number < length:
            return None
        number %= length
        return number, number + 1, True
    parts = [None if node is None or _none(node) else exact.bound(node)
             for node in (lower, upper)]
    if any(p is UNKNOWN for p in parts):
        return None
    start, stop, _ = slice(*parts).indices(length)
    return start, stop, False


def _none(node):
    return node.__class__ is gast.Constant and node.value is None


def concatenate_tiles(fn):
    """Join each run of marked statements that covers its array's first axis into one
    ``x = np.concatenate((...))`` where the run's last part is added; True if any was."""
    changed = False
    for node in list(walk(fn)):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block:
                changed = _block(block) or changed
    return changed


def _block(body):
    changed, i = False, 0
    while i < len(body):
        tile = getattr(body[i], "tile", None)
        if tile is not None and tile[6]:
            run = _run(body, i)
            if run is not None:
                positions, tiles = run
                body[positions[-1]] = _concatenate(tiles)
                for j in reversed(positions[:-1]):
                    del body[j]
                changed = True
        i += 1
    return changed


def _run(body, first):
    """(the positions, the tiles) of the run that starts at ``body[first]`` and covers its
    array's first axis, else None."""
    name, _, _, length = body[first].tile[:4]
    positions, tiles = [first], [body[first].tile]
    parts = {body[first].tile[4]}
    for j in range(first + 1, len(body)):
        stmt = body[j]
        tile = getattr(stmt, "tile", None)
        if tile is not None and tile[0] == name and not tile[6]:
            positions.append(j)
            tiles.append(tile)
            parts.add(tile[4])
            if _covered(tiles, length):
                return positions, tiles
            continue
        if not _plain(stmt) or name in _names(stmt) or parts & _bound(stmt):
            return None
    return None


def _covered(tiles, length):
    """Whether the tiles' slices cover ``range(length)`` once each."""
    spans = sorted((t[1], t[2]) for t in tiles)
    return spans[0][0] == 0 and spans[-1][1] == length \
        and all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def _plain(stmt):
    """Whether ``stmt`` is ``name = e`` (a comment included) with no call but numpy's: it
    changes nothing in place."""
    if stmt.__class__ is Comment:
        return True
    if stmt.__class__ is not gast.Assign or len(stmt.targets) != 1 \
            or stmt.targets[0].__class__ is not gast.Name:
        return False
    for node in walk(stmt.value):
        if node.__class__ is gast.Call:
            func = node.func
            if func.__class__ is not gast.Attribute or func.value.__class__ is not gast.Name \
                    or func.value.id != "np":
                return False
        elif node.__class__ in (gast.Lambda, gast.NamedExpr, gast.Yield, gast.Await):
            return False
    return True


def _names(stmt):
    return {node.id for node in walk(stmt) if node.__class__ is gast.Name}


def _bound(stmt):
    return {node.id for node in walk(stmt) if node.__class__ is gast.Name
            and node.ctx.__class__ is gast.Store}


def _concatenate(tiles):
    """``x = np.concatenate((a, b, (c,)))`` of the tiles in slice order."""
    def load(name):
        return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
    parts = [gast.Tuple(elts=[load(t[4])], ctx=gast.Load()) if t[5] else load(t[4])
             for t in sorted(tiles, key=lambda t: t[1])]
    call = gast.Call(func=gast.Attribute(value=load("np"), attr="concatenate", ctx=gast.Load()),
                     args=[gast.Tuple(elts=parts, ctx=gast.Load())], keywords=[])
    return gast.Assign(targets=[gast.Name(id=tiles[0][0], ctx=gast.Store(), annotation=None,
                                          type_comment=None)], value=call, type_comment=None)
