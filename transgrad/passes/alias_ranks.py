"""The ranks the alias analysis reads (``t = v[i]`` of a vector is a number, of a matrix a
view), beyond what ``passes/shapes.ranks`` finds: through in-place updates, copies, reshapes
to constant shapes, element reads and elementwise arithmetic."""

import operator

import gast
import numpy as np

from .. import ir
from .activity import assignments


def _names(target):
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, (gast.Tuple, gast.List)):
        return [n for e in target.elts for n in _names(e)]
    return []


def more_ranks(tree, known):
    """``known`` (name -> rank) and what an update in place keeps (``x /= t``: x's rank, so
    ``x_1`` has it), a copy, a reshape to a constant shape, an element read and elementwise
    arithmetic of known ranks give."""
    counters = {n for loop in ir.walk(tree) if isinstance(loop, gast.For)
                for n in _names(loop.target)}   # range counters after normalization
    statements = {}
    for stmt in assignments(tree.body):
        targets = ir.assigned(stmt)
        if len(targets) == 1 and ir.set_item(stmt) is None:
            statements.setdefault(targets[0], []).append(stmt)
    for _ in range(4):
        changed = False
        for target, stmts in statements.items():
            if target not in known:
                found = {_rank_kept(stmt, known, counters) for stmt in stmts
                         if getattr(stmt, "in_place_of", None) != target}   # keeps its rank
                if len(found) == 1 and None not in found:
                    known[target] = found.pop()
                    changed = True
        if not changed:
            break
    return known


def _rank_kept(stmt, known, counters):
    source = getattr(stmt, "in_place_of", None)
    if source is not None:
        return known.get(source)
    prim = ir.primitive(stmt.value)
    if prim.func is not operator.matmul and prim.func in ir.BINOPS.values() \
            or prim.func in ir.UNARYOPS.values() \
            or isinstance(prim.func, np.ufunc) and not prim.kwargs:
        found = [0 if isinstance(a, gast.Constant) else known.get(getattr(a, "id", None))
                 for a in prim.args]
        return max(found) if found and None not in found else None
    base = ir.operand_names(prim.args[0]) if prim.args else []
    if not base or base[0] not in known:
        return None
    if prim.func is ir.COPY and isinstance(prim.args[0], gast.Name):
        return known[base[0]]
    if getattr(prim.func, "__name__", None) == "reshape" and len(prim.args) == 2 \
            and not prim.kwargs:
        shape = prim.args[1]
        if isinstance(shape, gast.Tuple) and all(isinstance(e, gast.Constant)
                                                 for e in shape.elts):
            return len(shape.elts)
        return 1 if isinstance(shape, gast.Constant) else None
    if prim.func is operator.getitem:   # basic indexing: slices keep an axis, numbers drop it
        index = prim.args[1]
        rank = known[base[0]]
        for item in index.elts if isinstance(index, gast.Tuple) else [index]:
            if isinstance(item, gast.Constant) and item.value is None:
                rank += 1
            elif isinstance(item, gast.Constant) and type(item.value) is int \
                    or isinstance(item, gast.Name) and item.id in counters:
                rank -= 1
            elif not isinstance(item, gast.Slice):
                return None
        return rank if rank >= 0 else None
    return None
