"""Which tangents a called function's JVP computes: those its caller reads (forward mode).

Forward over reverse through a called function (``tg.hvp(f)``, ``tg.jvp(tg.grad(f))`` where
``f`` calls ``g``) runs the JVP of ``g``'s forward half, which returns the tangent of ``g``'s
value and of every entry of its tape, and then the JVP of ``g``'s backward half, which reads
only some of those entries. In GradBench's kmeans it reads the centers' tangent and not the
k x n distances', their minimum's or the matrix product's, so most of the first JVP is
computed for nothing. Once the caller's JVP is built and optimized (so that tangents it
computes for nothing are gone too), ``prune`` finds for each call of a
callee's JVP the entries of the tangent it returns that the caller reads (through the tuple
unpacking of generated code and the tangent tuples it passes to other callees' JVPs, whose
``tangent_reads`` say which entries those read) and calls a JVP of the callee built to
return None for the others (``forward.forward``'s ``unused``), whose ``optimize`` then drops
their computation.
"""

import gast

from ..ir import walk


def tangent_reads(fn):
    """For the JVP FunctionDef ``fn``: per entry of its tangent tuple (its last keyword-only
    parameter), False where the entry is never read, a tuple of booleans where it is only
    unpacked (which of its items are read), None where it is read as a whole. None when the
    tuple itself is read other than by one unpacking."""
    if not fn.args.kwonlyargs:
        return None
    param = fn.args.kwonlyargs[-1].id
    loads, unpacks = _loads_and_unpacks(fn.body)
    entries = unpacks.get(param)
    if entries is None or loads.get(param) != 1:
        return None
    return tuple(_read(e, loads, unpacks) for e in entries)


def _read(node, loads, unpacks):
    if node.__class__ is not gast.Name:
        return None
    if not loads.get(node.id):
        return False
    items = unpacks.get(node.id)
    if items is None or loads[node.id] != 1:
        return None
    return tuple(e.__class__ is not gast.Name or bool(loads.get(e.id)) for e in items)


def _loads_and_unpacks(body):
    """(name -> how often it is read, name -> the targets of ``(a, b, ...) = name``)."""
    loads, unpacks = {}, {}
    for stmt in body:
        for node in walk(stmt):
            kind = node.__class__
            if kind is gast.Name and node.ctx.__class__ is gast.Load:
                loads[node.id] = loads.get(node.id, 0) + 1
            elif kind is gast.Assign and len(node.targets) == 1 \
                    and node.targets[0].__class__ is gast.Tuple \
                    and node.value.__class__ is gast.Name:
                unpacks[node.value.id] = node.targets[0].elts
    return loads, unpacks


def prune(body, callee_jvp):
    """Point each call ``y, dy = g_jvp(...)`` in ``body`` whose tangent ``dy`` the rest
    reads only in part at a JVP of ``g`` that computes only that part."""
    loads, unpacks = _loads_and_unpacks(body)
    passed = {}   # name -> (the JVP whose tangent tuple it is passed in, its index there)
    calls = []
    for stmt in body:
        for node in walk(stmt):
            if node.__class__ is gast.Call and node.args \
                    and node.args[-1].__class__ is gast.Tuple:
                reads = getattr(getattr(getattr(node.func, "resolved", None), "fn", None),
                                "tangent_reads", None)
                for i, e in enumerate(node.args[-1].elts):
                    if e.__class__ is gast.Name and reads is not None and i < len(reads):
                        passed[e.id] = reads[i]
            if node.__class__ is gast.Assign and node.value.__class__ is gast.Call \
                    and "jvp_request" in node.value.func.__dict__ \
                    and len(node.targets) == 1 and node.targets[0].__class__ is gast.Tuple \
                    and len(node.targets[0].elts) == 2 \
                    and node.targets[0].elts[1].__class__ is gast.Name:
                calls.append(node)
    for made, node in enumerate(calls):
        unused = _unused(node.targets[0].elts[1].id, loads, unpacks, passed)
        if not unused or not any(u is True or type(u) is tuple and any(u) for u in unused):
            continue
        func, positions, zeros = node.value.func.jvp_request
        callee = node.value.func
        callee.resolved = callee_jvp(func, positions, zeros=zeros, unused=unused)
        callee.id = f"{callee.id}_needed{made}"   # its own global: another call may differ


def _unused(tangent, loads, unpacks, passed):
    """For a callee JVP's returned tangent ``tangent`` (a tuple unpacked once): per entry,
    True where the caller never reads it, a tuple of booleans where only some of its items
    are read (by the callee JVP it is passed to), False where it is read; None when the
    tangent is read other than by one unpacking."""
    items = unpacks.get(tangent)
    if items is None or loads.get(tangent) != 1:
        return None
    unused = []
    for e in items:
        if e.__class__ is not gast.Name:
            unused.append(False)
        elif not loads.get(e.id):
            unused.append(True)
        elif loads[e.id] == 1 and e.id in passed and passed[e.id] is not None:
            reads = passed[e.id]
            unused.append(True if reads is False else tuple(not r for r in reads))
        else:
            unused.append(False)
    return tuple(unused)
