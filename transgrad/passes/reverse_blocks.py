"""Where adjoints start and which values need saving: analyses of a normalized function
that the reverse pass's builder reads (no tree is changed here)."""


import itertools
import operator

import gast

from .. import ir
from ..ir import walk
from ..rules import lookup_vjp
from .activity import assignments, stack_pushes
from .shapes import overwritten_names


def overwritable_names(tree):
    """The names whose value can be overwritten: those ``overwritten_names`` finds, and the
    parameters stored to at all (the call stored them first; normalization renames those
    stored at the top level, not those stored inside a branch)."""
    params = {a.id for a in tree.args.args + tree.args.kwonlyargs}
    stored = {n.id for stmt in tree.body for n in walk(stmt)
              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    return overwritten_names(tree.body) | (params & stored)


def recomputable(tree, overwritable):
    """Values the adjoint loop computes again instead of saving: ``row = xs[t]``, assigned
    once, at the top level of a ``for`` body, from names nothing overwrites or stores into
    (``xs[i] = v`` changes what ``xs[t]`` reads) and the loop's own index (which the adjoint
    loop binds again). Returns ``{id(loop): {name: statement}}``.

    A subscript is a view or a small copy: computing it again costs about what a push and a
    pop do, and keeps one value per step off the stack."""
    stores = {}
    changed = set(overwritable)
    for node in walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
            changed.update(ir.names_in(node.value))
    found = {}

    def scan(body, in_branch):
        for stmt in body:
            if isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name):
                index = stmt.target.id
                if stores.get(index) != 1:   # the body rebinds the index, or another loop does
                    index = None
                for inner in stmt.body:
                    var = _recomputed_by(inner, index, changed, stores)
                    if var is not None and not in_branch:
                        found.setdefault(id(stmt), {})[var] = inner
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                scan(stmt.body, in_branch or isinstance(stmt, gast.If))
                scan(stmt.orelse, True)

    scan(tree.body, False)
    return found


def _recomputed_by(stmt, index, overwritable, stores):
    """The name ``stmt`` binds when it is ``v = a[i]`` with a and i fixed for one iteration."""
    if index is None or not (isinstance(stmt, gast.Assign)
                             and isinstance(stmt.targets[0], gast.Name)):
        return None
    var = stmt.targets[0].id
    prim = ir.primitive(stmt.value)
    if prim.func is not operator.getitem or prim.kwargs or stores.get(var) != 1:
        return None
    reads = set(ir.names_in(stmt.value))
    if var in reads or any(r != index and r in overwritable for r in reads):
        return None
    return var


def loop_body_classes(tree, scalar):
    """Shape classes as they stand after each statement at the top level of a loop body:
    ``{id(statement): ({name: class}, {name: the operand its value was made from})}``.

    A loop reassigns its names, so the function-wide ``shape_classes`` leaves them out; yet
    within one iteration ``t7 = h ** 2`` has h's shape, and the adjoint of a statement sees
    every value it reads as it was just after that statement (restored from the stack).
    ``scalar(node)``: whether an operand is a number (it broadcasts into anything)."""
    tokens = itertools.count()
    found = {}

    def scan(body, in_loop):
        classes, parent = {}, {}
        for stmt in body:
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                target = stmt.targets[0].id
                prim = ir.primitive(stmt.value)
                operands = [a for a in list(prim.args) + list(prim.kwargs.values())
                            if not scalar(a)]
                rule = lookup_vjp(prim.func) if prim.func not in (ir.COPY, ir.PACK) else None
                same = prim.func is ir.COPY or (rule is not None and rule.elementwise)
                ids = {classes.setdefault(a.id, next(tokens)) for a in operands
                       if isinstance(a, gast.Name) and not hasattr(a, "resolved")}
                if same and operands and len(ids) == 1 and len(operands) == len(
                        [a for a in operands if isinstance(a, gast.Name)]):
                    classes[target] = ids.pop()
                    parent[target] = operands[0].id
                else:
                    classes[target] = next(tokens)
                    parent.pop(target, None)
            else:
                for node in walk(stmt):
                    if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                        classes[node.id] = next(tokens)
                        parent.pop(node.id, None)
            if in_loop:
                found[id(stmt)] = (dict(classes), dict(parent))
            if isinstance(stmt, (gast.For, gast.While)):
                scan(stmt.body, True)
            elif isinstance(stmt, gast.If):
                scan(stmt.body, False)
                scan(stmt.orelse, False)

    scan(tree.body, False)
    return found


def first_definitions(tree):
    """Ids of top-level assignments that first define a (non-parameter) name: the value
    before them never existed, so they push nothing."""
    seen = {a.id for a in tree.args.args + tree.args.kwonlyargs}
    firsts = set()
    for stmt in tree.body:
        if isinstance(stmt, gast.Assign):
            new = [v for v in ir.assigned(stmt) if v not in seen]
            if new and len(new) == len(ir.assigned(stmt)):
                firsts.add(id(stmt))
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                seen.add(node.id)
    return firsts


def receivers(stmt, active, stacks=frozenset()):
    """Active names that may get adjoint contributions inside the compound ``stmt`` (the
    values pushed on an active stack of generated code among them; the stacks themselves
    have stacks of adjoints instead)."""
    names = set()
    for assign_stmt in assignments([stmt]):
        targets = ir.assigned(assign_stmt)
        update = ir.set_item(assign_stmt)
        if update is not None:   # y[i] = v: v gets by[i]
            targets = [update[0]]
        if active.intersection(targets):
            names.update(v for v in ir.names_in(assign_stmt.value) if v in active)
            names.update(v for v in targets if v in active)
    for _, stack, value in stack_pushes([stmt]):
        if stack in stacks:
            names.update(v for v in ir.operand_names(value) if v in active)
    return names - set(stacks)


def block_locals(body, outside=()):
    """For each compound statement (by id): names living only inside one block within it
    (never the names in ``outside``: parameters, whose adjoints are returned).

    Such a name is first written at the top level of that block, read only after that within
    the same block, and never touched elsewhere: its adjoint starts fresh each time the block's
    adjoint runs, so it needs no ``0.0`` start. ``result["all"]`` unions every block's names.
    """
    if not any(isinstance(stmt, (gast.If, gast.For, gast.While)) for stmt in body):
        return {"all": set()}   # straight-line code has no blocks
    touched = {}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name):
            touched.setdefault(node.id, 0)
            touched[node.id] += 1
    result = {"all": set()}

    def scan(block, owners):
        counts = {}
        for stmt in block:
            for node in walk(stmt):
                if isinstance(node, gast.Name):
                    counts[node.id] = counts.get(node.id, 0) + 1
        first_seen = set()
        local = set()
        for stmt in block:
            for var in _unpacked_names(stmt.targets[0]) if isinstance(stmt, gast.Assign) \
                    else ():
                reads = set(ir.names_in(stmt.value))
                if var not in first_seen and var not in reads and var not in outside \
                        and counts.get(var) == touched.get(var):
                    stores = sum(1 for s in block for n in walk(s)
                                 if isinstance(n, gast.Name) and n.id == var
                                 and isinstance(n.ctx, gast.Store))
                    if stores == 1:
                        local.add(var)
            for node in walk(stmt):
                if isinstance(node, gast.Name):
                    first_seen.add(node.id)
        for owner in owners:
            result.setdefault(id(owner), set()).update(local)
        result["all"].update(local)
        for stmt in block:
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                scan(stmt.body, owners + [stmt])
                if stmt.orelse:
                    scan(stmt.orelse, owners + [stmt])

    for stmt in body:
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            scan(stmt.body, [stmt])
            if stmt.orelse:
                scan(stmt.orelse, [stmt])
    return result


def _unpacked_names(target):
    """The names a target binds when it is a name or (nested) tuple of names, else none."""
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, (gast.Tuple, gast.List)):
        names = [_unpacked_names(e) for e in target.elts]
        return [] if not all(names) else [n for part in names for n in part]
    return []
