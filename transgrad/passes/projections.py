"""Batched projections: a loop's matrix-vector products of each step's row of an unchanging
matrix made as one matrix product per chunk of steps (a rewrite of exact-shape code).

A recurrent loop projects each step's input with a weight that does not change::

    for t in steps1:
        t3 = W_h @ h
        t4 = xs[t]
        t5 = W_x @ t4
        ...

These products do not depend on the recurrence, so the rows of a chunk of steps are
projected at once, which is how the fastest hand-written recurrent code is written (one
product of the inputs before the loop). A chunk of ``CHUNK`` steps at a time keeps the
memory of the rows small::

    for t in steps1:
        k1 = t % 64
        if k1 == 0:
            t5_rows = xs[t:t + 64] @ W_x.T
        t3 = W_h @ h
        t5 = t5_rows[k1]
        ...

The exact-shape rewrite marks the parts it knows the shapes of (``exact_marks.mark_projection``):
a row ``xs[t]`` of a float64 matrix by an int, a product of a float64 matrix and a vector. A
product is batched only in a loop over ``range(n)`` (its steps count from 0), at the top
level of the body, of the loop's own row ``v = xs[t]`` assigned once in the body; and only
where neither the matrix nor ``xs`` can change while the loop runs: neither is assigned in
the body nor changed in place there (through a name it may share an array with either), and
the body calls nothing but numpy, ``tgr`` helpers, list methods and arrays' reductions.
"""

import gast

from ..ir import name, walk
from ..naming import GLOBAL_MODULES, Namer
from .deferred import mutated_names

CHUNK = 64   # steps whose projections are made at once

# numpy functions that write into an argument: a body calling one is left alone
_NUMPY_WRITERS = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"}
_LIST_METHODS = {"append", "pop", "clear"}
# an array's reductions, as the exact code spells them (``t2.sum()``, ``d.min(axis=0)``): they
# write into nothing (``out=`` is refused below)
_READING_METHODS = {"sum", "mean", "max", "min", "prod"}


def batch_projections(fn):
    """Rewrite the ``for`` loops of the FunctionDef ``fn`` in place; returns whether any
    product was batched."""
    loops = []
    _find_loops(fn.body, loops)
    if not loops:
        return False
    namer = Namer.for_tree(fn, GLOBAL_MODULES)
    changed = False
    for loop in loops:
        # changed in place in the loop, or sharing an array with a name that is
        fixed = mutated_names(loop.body, context=fn.body)
        changed = _batch_in_loop(loop, namer, fixed) or changed
    return changed


def _find_loops(body, out):
    """The loops ``for t in range(n)`` of ``body`` and the blocks inside (directly, or through
    a name assigned ``range(n)`` earlier in the same block and not since), with ``t`` never
    assigned in the loop's body, and calls of known functions only: their steps are 0, 1, ...
    in order."""
    ranges = set()
    for stmt in body:
        if isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name) \
                and (_is_range(stmt.iter) or isinstance(stmt.iter, gast.Name)
                     and stmt.iter.id in ranges) \
                and stmt.target.id not in _assigned(stmt.body) \
                and _calls_only_known(stmt.body):
            out.append(stmt)
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list):
                _find_loops(block, out)
        ranges -= _assigned([stmt])
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name) and _is_range(stmt.value):
            ranges.add(stmt.targets[0].id)


def _is_range(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
        and node.func.id == "range" and len(node.args) == 1 and not node.keywords


def _assigned(body):
    return {n.id for n in walk(gast.Module(body=body, type_ignores=[]))
            if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)}


def _calls_only_known(body):
    """Whether every call in ``body`` is to numpy (no ``out=``, no function that writes into
    an argument), a ``tgr`` helper, ``len`` or a list's append/pop/clear: nothing that may
    change an array the body does not show."""
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if not isinstance(node, gast.Call):
            continue
        func = node.func
        if any(k.arg == "out" for k in node.keywords):
            return False
        if isinstance(func, gast.Name):
            if func.id != "len":
                return False
        elif not isinstance(func, gast.Attribute) or not isinstance(func.value, gast.Name):
            return False
        elif func.value.id == "np":
            if func.attr in _NUMPY_WRITERS:
                return False
        elif func.value.id != "tgr" and func.attr not in _LIST_METHODS \
                and func.attr not in _READING_METHODS:
            return False
    return True


def _batch_in_loop(loop, namer, fixed):
    """Batch the marked products of ``loop``'s rows (``fixed``: names the loop may change in
    place); returns whether any was."""
    body = loop.body
    step = loop.target.id
    assigned = _assigned(body)
    counts = {}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
    rows = {}   # a name assigned ``xs[t]`` (once in the body) -> xs
    chunks = []   # (rows name, the product of a chunk)
    offset = None   # the name of the step's place in its chunk
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            continue
        target, value = stmt.targets[0].id, stmt.value
        mark = getattr(value, "projection", None)
        if mark == "row" and value.slice.id == step and counts.get(target) == 1 \
                and value.value.id not in assigned | fixed:
            rows[target] = value.value.id
        elif mark in ("left", "right"):
            matrix, vector = (value.left, value.right) if mark == "left" else \
                (value.right, value.left)
            source = rows.get(vector.id)
            if source is None or matrix.id in assigned | fixed or vector.id in fixed:
                continue
            chunk = namer.unique(f"{target}_rows")
            offset = offset or namer.unique("k")
            block = gast.Subscript(value=name(source), slice=gast.Slice(
                lower=name(step), upper=gast.BinOp(left=name(step), op=gast.Add(),
                                                   right=_int(CHUNK)), step=None),
                ctx=gast.Load())
            if mark == "left":   # rows of W @ v: the block times W's transpose
                product = gast.BinOp(left=block, op=gast.MatMult(), right=gast.Attribute(
                    value=name(matrix.id), attr="T", ctx=gast.Load()))
            else:
                product = gast.BinOp(left=block, op=gast.MatMult(), right=name(matrix.id))
            chunks.append((chunk, product))
            body[i] = gast.Assign(targets=[name(target, store=True)], value=gast.Subscript(
                value=name(chunk), slice=name(offset), ctx=gast.Load()), type_comment=None)
    if not chunks:
        return False
    start = [gast.Assign(targets=[name(offset, store=True)], value=gast.BinOp(
        left=name(step), op=gast.Mod(), right=_int(CHUNK)), type_comment=None),
        gast.If(test=gast.Compare(left=name(offset), ops=[gast.Eq()], comparators=[_int(0)]),
                body=[gast.Assign(targets=[name(chunk, store=True)], value=product,
                                  type_comment=None) for chunk, product in chunks],
                orelse=[])]
    loop.body = start + body
    return True


def _int(value):
    return gast.Constant(value=value, kind=None)
