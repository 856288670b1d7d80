"""A list a loop appends to and reads back by index, as a buffer a ``jax.lax.scan`` carries.

An RNN keeps its states in a list (``states = [h]``; ``for t in ...: h = cell(states[t]);
states.append(h)``). A scan cannot carry a list that grows, so ``scan.py`` lowers such a loop
only when the list is read nowhere in it; otherwise JAX unrolls the loop (a 1000-step RNN
compiles for minutes). Here the list becomes, for the two scans, one array with a slot per
item it will hold (``tgr.history``: the items before the loop, then zeros) and the count of
items so far: the append writes the slot (``tgr.history_set``), a read takes one
(``tgr.history_item``; a negative index counts from the current length, as Python's does), and
``len(states)`` is the count. The adjoint scan carries the list's cotangent as the same kind of
buffer (``tgr.history_cotangent``): undoing the append reads the item's slot, a read's adjoint
adds into one (``tgr.history_add``)::

    for t in steps1:                         def loop(carry, t):
        t1 = states[t]                           states_buffer, states_count = carry
        ...                           ->         t1 = tgr.history_item(states_buffer,
        states = tgr.append(states, h)                                 states_count, t)
                                                 ...
                                                 item = h
                                                 states_buffer = tgr.history_set(
                                                     states_buffer, states_count, item)
                                                 states_count = states_count + 1

    for t in reversed(steps1):               def adjoint_loop(carry2, saved):
        g2 = bstates                             ...
        bstates = 0.0                            states_length = states_length - 1
        bstates = bstates + g2[:-1]   ->         g2_last = bstates[states_length]
        bh = g2[-1]                              bh = g2_last
        ...                                      ...
        bstates = tgr.add_at(bstates, t, bt1)    bstates = tgr.history_add(
                                                     bstates, states_length, t, bt1)

After the scans the list is the items before the loop and the stacked appended ones
(``tgr.extended``), its cotangent the buffer's first slots, as ``scan.py`` does for a list
the loop only appends to. Where the buffer does not fit (items of another shape or dtype
than the first, a list empty before the loop), the helpers raise at trace time and the
derivative runs its unrolled build. A traced index past the count reads a zero slot where
Python would raise ``IndexError``.
"""

import gast

from ..ir import assign, clone, dotted_call, walk
from ..ir import name as name_node
from .lowering import is_append as _is_append
from .lowering import is_runtime, is_subscript


class HistoryList:
    """The edits that turn one appended-and-read list into a buffer (``undo`` puts the
    statements back); ``values``, ``item``, ``cotangent`` as ``scan._AppendedList`` has
    them. The item's cotangent is read inside the adjoint scan (``item_cotangent`` None)."""

    item_cotangent = None

    def __init__(self, values, item, cotangent, edits):
        self.values, self.item, self.cotangent, self.edits = values, item, cotangent, edits

    def undo(self):
        for block, k, old, new in reversed(self.edits):
            block[k:k + len(new)] = old


def _is_len(node, values):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
        and node.func.id == "len" and len(node.args) == 1 and not node.keywords \
        and isinstance(node.args[0], gast.Name) and node.args[0].id == values


def _is_item(node, values):
    return isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Load) \
        and isinstance(node.value, gast.Name) and node.value.id == values \
        and not isinstance(node.slice, (gast.Slice, gast.Tuple))


class _Reads(gast.NodeTransformer):
    """``values[i]`` -> ``tgr.history_item(buffer, count, i)``, ``len(values)`` -> count."""

    def __init__(self, values, buffer, count):
        self.values, self.buffer, self.count = values, buffer, count

    def visit_Subscript(self, node):
        node = self.generic_visit(node)
        if _is_item(node, self.values):
            return dotted_call("tgr.history_item", [name_node(self.buffer),
                                                     name_node(self.count), node.slice])
        return node

    def visit_Call(self, node):
        if _is_len(node, self.values):
            return name_node(self.count)
        return self.generic_visit(node)


class _Adds(gast.NodeTransformer):
    """In adjoint statements: ``g[-1]`` -> the item's slot of the buffer."""

    def __init__(self, g, cotangent, length):
        self.g, self.cotangent, self.length = g, cotangent, length

    def visit_Subscript(self, node):
        if is_subscript(node, self.g, "last"):
            return gast.Subscript(value=name_node(self.cotangent), slice=name_node(self.length),
                                  ctx=gast.Load())
        return self.generic_visit(node)


def _uses(nodes, values):
    return [n for node in nodes for n in walk(node) if isinstance(n, gast.Name)
            and n.id == values]


def _primal_reads_only(body, values, append_at):
    """Whether the primal body uses ``values`` only in its append and in ``values[i]`` /
    ``len(values)`` reads (a push, a call taking the list, a slice: not lowered here)."""
    allowed = set()
    for k, stmt in enumerate(body):
        for node in walk(stmt):
            if k == append_at and (node is stmt.targets[0] or node is stmt.value.args[0]):
                allowed.add(id(node))
            elif _is_item(node, values) or _is_len(node, values):
                allowed.update(id(n) for n in walk(node) if isinstance(n, gast.Name)
                               and n.id == values)
    return all(id(n) in allowed for n in _uses(body, values))


def _undo_append(abody, j):
    """At ``abody[j]``: ``g = bv; bv = g[:-1]`` or ``g = bv; bv = 0.0; bv = bv + g[:-1]``:
    (g, bv, how many statements), else None."""
    first = abody[j]
    if not (isinstance(first, gast.Assign) and isinstance(first.targets[0], gast.Name)
            and isinstance(first.value, gast.Name)):
        return None
    g, cotangent = first.targets[0].id, first.value.id
    rest = abody[j + 1:j + 3]
    if rest and isinstance(rest[0], gast.Assign) and isinstance(rest[0].targets[0], gast.Name) \
            and rest[0].targets[0].id == cotangent:
        if is_subscript(rest[0].value, g, "head"):
            return g, cotangent, 2
        zero = rest[0].value
        if isinstance(zero, gast.Constant) and zero.value == 0.0 and len(rest) == 2 \
                and isinstance(rest[1], gast.Assign) and isinstance(rest[1].targets[0], gast.Name) \
                and rest[1].targets[0].id == cotangent and isinstance(rest[1].value, gast.BinOp) \
                and isinstance(rest[1].value.op, gast.Add) \
                and isinstance(rest[1].value.left, gast.Name) \
                and rest[1].value.left.id == cotangent \
                and is_subscript(rest[1].value.right, g, "head"):
            return g, cotangent, 3
    return None


def _is_add_at(stmt, cotangent):
    """``bv = tgr.add_at(bv, i, e)``."""
    return isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
        and stmt.targets[0].id == cotangent and isinstance(stmt.value, gast.Call) \
        and is_runtime(stmt.value.func, "add_at") and len(stmt.value.args) == 3 \
        and isinstance(stmt.value.args[0], gast.Name) and stmt.value.args[0].id == cotangent \
        and not _uses(stmt.value.args[1:], cotangent)


def history_list(blocks, primal_loop, adjoint_loop, stack, names):
    """Rewrite the loop pair for the one list its primal body appends to and reads by index
    (module docstring); a ``HistoryList`` of the edits, or None (nothing changed) when the
    loops do not have that form. ``blocks``: (primal block, adjoint block)."""
    body, abody = primal_loop.body, adjoint_loop.body
    appends = [(k, _is_append(s)) for k, s in enumerate(body) if _is_append(s)]
    if len(appends) != 1:
        return None
    k, values = appends[0]
    if not _primal_reads_only(body, values, k) or len(_uses(body, values)) == 2 \
            or any(n for n in walk(primal_loop.iter) if isinstance(n, gast.Name)
                   and n.id == values):
        return None
    # the adjoint: the append undone once, the reads' adjoints as add_at, nothing else
    undone = [(j, _undo_append(abody, j)) for j in range(len(abody))]
    undone = [(j, found) for j, found in undone if found is not None]
    if len(undone) != 1:
        return None
    j, (g, cotangent, size) = undone[0]
    undo_ids = {id(n) for s in abody[j:j + size] for n in walk(s)}
    for stmt in abody:
        if _is_add_at(stmt, cotangent) or id(stmt) in undo_ids:
            continue
        if _uses([stmt], cotangent):
            return None
    g_reads = [n for s in abody[j + size:] for n in walk(s) if isinstance(n, gast.Name)
               and n.id == g]
    lasts = [n for s in abody[j + size:] for n in walk(s) if is_subscript(n, g, "last")]
    if len(g_reads) != len(lasts) or any(isinstance(n, gast.Name) and n.id == g
                                         for s in abody[:j] for n in walk(s)):
        return None
    primal_block, adjoint_block = blocks
    buffer, count = names.fresh(f"{values}_buffer"), names.fresh(f"{values}_count")
    length, item = names.fresh(f"{values}_length"), names.fresh("item")
    edits = []

    def edit(block, at, old, new):
        block[at:at + len(old)] = new
        edits.append((block, at, old, new))

    # the primal loop: reads from the buffer, the append writes its slot
    for at, stmt in enumerate(list(body)):
        if at == k:
            continue
        if any(_is_item(n, values) or _is_len(n, values) for n in walk(stmt)):
            edit(body, at, [stmt], [_Reads(values, buffer, count).visit(clone(stmt))])
    append = body[k]
    edit(body, k, [append], [
        assign(item, append.value.args[1]),
        assign(buffer, dotted_call("tgr.history_set", [name_node(buffer), name_node(count),
                                                        name_node(item)])),
        assign(count, gast.BinOp(left=name_node(count), op=gast.Add(),
                                 right=gast.Constant(value=1, kind=None)))])
    at = next(i for i, s in enumerate(primal_block) if s is primal_loop)
    edit(primal_block, at, [], [gast.copy_location(s, primal_loop) for s in (
        assign(buffer, dotted_call("tgr.history", [name_node(values), clone(primal_loop.iter)])),
        assign(count, dotted_call("len", [name_node(values)])))])
    # the adjoint loop: one slot fewer at the undone append; reads' adjoints into the buffer
    for at, stmt in enumerate(list(abody)):
        if _is_add_at(stmt, cotangent):
            call = stmt.value
            edit(abody, at, [stmt], [assign(cotangent, dotted_call("tgr.history_add", [
                name_node(cotangent), name_node(length), call.args[1], call.args[2]]))])
    later = [_Adds(g, cotangent, length).visit(clone(s)) for s in abody[j + size:]]
    edit(abody, j, abody[j:], [assign(length, gast.BinOp(
        left=name_node(length), op=gast.Sub(), right=gast.Constant(value=1, kind=None)))]
        + later)
    at = next(i for i, s in enumerate(adjoint_block) if s is adjoint_loop)
    edit(adjoint_block, at, [], [gast.copy_location(s, adjoint_loop) for s in (
        assign(cotangent, dotted_call("tgr.history_cotangent", [name_node(cotangent),
                                                                 name_node(buffer)])),
        assign(length, dotted_call("len", [name_node(cotangent)])))])
    return HistoryList(values, item, cotangent, edits)
