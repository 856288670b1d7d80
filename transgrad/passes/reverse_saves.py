"""Which overwritten values the adjoint reads (an analysis of the built sweeps).

The reverse builder saves every value a loop or branch may overwrite: a push before the
overwrite in the primal sweep, a pop back in the adjoint sweep. Which of them the adjoint
reads is known only once the adjoint is built (a rule reads some operands, not others), so
the builder builds once with all of them saved and ``keep_read_saves`` then drops the pushes
and pops of the values no adjoint statement reads, with the adjoint loops and branches this
leaves empty. The ``# grad of line`` comments and the names of the adjoint ``while`` loops'
counters (``for _ in range(trips1)``) are placed after that, so the code is what a build
that had known the reads from the start would print. Here the loop overwrites ``x``, ``i`` and
``cond1``, and the adjoint reads only ``x`` (``np.cos(x)``):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x, n):
...     i = 0
...     while i < n:
...         x = np.sin(x)
...         i = i + 1
...     return x
... ''', through="reverse"))
def df(x, n):
    stack = []
    i = 0
    cond1 = i < n
    trips1 = 0
    while cond1:
        trips1 = trips1 + 1
        stack.append(x)
        x = np.sin(x)
        i = i + 1
        cond1 = i < n
    tgr.check_scalar_output(x, 'f')
    bx = 1.0
    for _ in range(trips1):
        # grad of line 4: x = np.sin(x)
        g1 = bx
        x = stack.pop()
        bx = 0.0
        bx = bx + g1 * np.cos(x)
    return tgr.match(bx, x)

``optimize`` later drops a push and its pop that still restore a value nobody reads (exact
shapes can take away a read of a value's shape), and ``row = xs[t]`` in a loop is computed
again by the adjoint loop instead of saved (``reverse_blocks.recomputable``).
"""

import gast

from ..ir import comment, walk

_COMPOUND = (gast.If, gast.For, gast.While)


def keep_read_saves(builder, primal):
    """Keep the saves of the values ``builder.adjoint_sweep`` reads: sets ``builder.saved``,
    finishes the adjoint sweep and returns the primal sweep ``primal`` without the others'
    pushes."""
    read = {n.id for stmt in builder.adjoint_sweep for n in walk(stmt)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    saved = builder.saved = builder.overwritable & read
    # a while loop's counter is named where a build saving only these would have made the
    # loop: wherever its body keeps a statement (also in bodies the fixed point discarded)
    counted = [(target, _keeps_any(loop.body, saved)) for target, loop in builder.while_targets]
    primal = _without_pushes(primal, saved)
    builder.adjoint_sweep = _finish(builder.adjoint_sweep, saved, builder.info)
    for target, kept in counted:
        if kept:
            target.id = builder.namer.unique("_")
    if builder.stack is not None and not any(
            isinstance(n, gast.Name) and n.id == builder.stack
            for stmt in primal + builder.adjoint_sweep for n in walk(stmt)):
        builder.stack = None   # only unread values were pushed on it
    return primal


def _dropped(stmt, saved):
    """A push or pop of a value the adjoint does not read."""
    var = getattr(stmt, "saves", None) or getattr(stmt, "restores", None)
    return var is not None and var not in saved


def _keeps_any(body, saved):
    """True when ``body`` (an adjoint block) keeps a statement once unread saves are dropped."""
    for stmt in body:
        if _dropped(stmt, saved) or isinstance(stmt, gast.Pass):
            continue
        if not getattr(stmt, "adjoint_block", False):
            return True
        if _keeps_any(stmt.body, saved) or _keeps_any(stmt.orelse, saved):
            return True
    return False


def _without_pushes(body, saved):
    out = []
    for stmt in body:
        if _dropped(stmt, saved):
            continue
        if isinstance(stmt, _COMPOUND):
            stmt.body = _without_pushes(stmt.body, saved)
            stmt.orelse = _without_pushes(stmt.orelse, saved)
        out.append(stmt)
    return out


def _finish(block, saved, info):
    """``block`` without unread pops and the loops and branches left empty, with a
    ``# grad of line N`` comment before the adjoint of each user line (once per run of
    statements from the same line)."""
    kept = []
    for stmt in block:
        if _dropped(stmt, saved):
            continue
        if getattr(stmt, "adjoint_block", False):
            del stmt.adjoint_block
            stmt.body = _finish([s for s in stmt.body if not isinstance(s, gast.Pass)], saved,
                                info)
            stmt.orelse = _finish(stmt.orelse, saved, info)
            if not stmt.body and not stmt.orelse:
                continue
            stmt.body = stmt.body or [gast.Pass()]
        kept.append(stmt)
    out, current, i = [], None, 0
    while i < len(kept):
        source = getattr(kept[i], "adjoint_of", None)
        j = i
        while j < len(kept) and getattr(kept[j], "adjoint_of", None) is source:
            j += 1
        origin = getattr(source, "origin", None)
        if origin is not None and origin is not current and not isinstance(source, _COMPOUND):
            current = origin
            line = info.line(origin.lineno).strip()
            out.append(comment(f"grad of line {origin.lineno}: {line}"))
        out += kept[i:j]
        i = j
    for stmt in out:
        for tag in ("adjoint_of", "saves", "restores"):
            if hasattr(stmt, tag):
                delattr(stmt, tag)
    return out
