"""Deferred accumulation: a weight's adjoint gathered into one matrix product per chunk of
a loop's iterations rather than one outer product per iteration (a rewrite of exact-shape
code).

A weight read in every step of a loop gets, in the loop's adjoint, one product per step::

    for t in reversed(steps1):
        ...
        bW_x += np.outer(bt6, t4)

Summed over the steps these are one product of the stacked operands (``G.T @ X``), which is
how the fastest hand-written backpropagation through time is written. The loop keeps the
operands in lists and adds their product every ``CHUNK`` steps and once after the loop, so the
lists never hold more than ``CHUNK`` steps (memory stays that of the stack)::

    bt6_rows = []
    t4_rows = []
    for t in reversed(steps1):
        ...
        bt6_rows.append(bt6)
        t4_rows.append(t4)
        if len(bt6_rows) >= 64:
            bW_x += np.array(bt6_rows).T @ np.array(t4_rows)
            bt6_rows.clear()
            t4_rows.clear()
    if bt6_rows:
        bW_x += np.array(bt6_rows).T @ np.array(t4_rows)

Only products whose stacking is certain are deferred: those the exact-shape rewrite made from
a matrix product's gradient for operands of known ranks (it marks them ``stacking``: rows of
vectors for ``np.outer``, matrices concatenated along axis 0 for ``x.T @ g``, along axis 1
for ``g @ y.T``). The accumulator must appear nowhere else in the loop, and an operand's
array must not change in place before the product reads it: an operand is kept only where
no name it may share an array with (through a copy, a view, a subscript or an attribute)
is updated in place in the loop, and a popped operand only where the loop stores into no
array by subscript (a restore may write into the array it views).
"""

import gast

from ..ir import comment, name, names_in, walk
from ..naming import GLOBAL_MODULES, Namer

CHUNK = 64   # steps whose operands are kept before their product is added

# per stacking: how the list of one operand's values becomes an array, and the product
_STACKED = {
    "outer": ("array", None),          # rows of vectors: A.T @ B
    "rows": ("concatenate", None),     # matrices on axis 0: A.T @ B
    "columns": ("concatenate", 1),     # matrices on axis 1: A @ B.T
}
_VIEWS = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims",
          "broadcast_to", "asarray", "atleast_1d", "atleast_2d", "atleast_3d", "diagonal",
          "view", "real", "imag"}


def defer_accumulations(fn):
    """Rewrite the for loops of the FunctionDef ``fn`` in place (innermost first); returns
    whether anything was deferred."""
    return _in_block(fn.body, Namer.for_tree(fn, GLOBAL_MODULES), _shared_names(fn))


def _shared_names(fn):
    """Names whose arrays may be shared with another name (an assignment that may view, or
    be, the array of a name it reads links them), or come from one (``x = <view of y>``):
    an accumulator updated in place is deferred only when it is none of these."""
    shared = set()
    for node in walk(fn):
        if isinstance(node, gast.Assign) and _may_view(node.value) \
                and not _is_pop(node.value):
            shared.update(names_in(node.value))
            shared.update(n.id for t in node.targets for n in walk(t)
                          if isinstance(n, gast.Name))
    return shared


def _in_block(body, namer, shared):
    changed = False
    i = 0
    while i < len(body):
        stmt = body[i]
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block:
                changed = _in_block(block, namer, shared) or changed
        if isinstance(stmt, gast.For):
            made = _defer_in_loop(stmt, namer, shared)
            if made:
                before, after = made
                body[i:i + 1] = before + [stmt] + after
                i += len(before) + len(after)
                changed = True
        i += 1
    return changed


def _product(stmt):
    """(accumulator, stacking, operand a, operand b) of ``acc += P`` or ``acc = acc + P``
    with P a marked product of two names; else None."""
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add) \
            and isinstance(stmt.target, gast.Name):
        acc, product = stmt.target.id, stmt.value
    elif isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.BinOp) \
            and isinstance(stmt.value.op, gast.Add) and isinstance(stmt.value.left, gast.Name) \
            and stmt.value.left.id == stmt.targets[0].id:
        acc, product = stmt.targets[0].id, stmt.value.right
    else:
        return None
    stacking = getattr(product, "stacking", None)
    if stacking == "outer":
        operands = product.args
    elif stacking == "rows" and isinstance(product.left, gast.Attribute):
        operands = [product.left.value, product.right]
    elif stacking == "columns" and isinstance(product.right, gast.Attribute):
        operands = [product.left, product.right.value]
    else:
        return None
    if len(operands) != 2 or not all(isinstance(o, gast.Name) for o in operands) \
            or acc in {o.id for o in operands}:
        return None
    return acc, stacking, operands[0].id, operands[1].id


def mutated_names(body, context=None):
    """Names whose arrays the loop ``body`` may change in place: the targets of augmented
    assignments and subscript stores, and every name that may share an array with one
    (through an assignment in ``body``, or in ``context``, a block around it, if given)."""
    mutated, stores = set(), False
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            mutated.add(node.target.id)
        elif isinstance(node, (gast.Subscript, gast.Attribute)) \
                and isinstance(node.ctx, gast.Store):
            stores = True
            mutated.update(names_in(node.value))
        elif isinstance(node, gast.Call) and _writes_into(node):
            mutated.update(names_in(node.args[0]) if node.args else ())
            mutated.update(n for k in node.keywords if k.arg == "out" for n in names_in(k.value))
    links, pops = _sharing(body)
    if context is not None:   # links made around the body reach into it too
        links = _sharing(context)[0]
    changed = True
    while changed:   # sharing goes both ways: a view changes with its base, and the base too
        changed = False
        for targets, sources in links:
            group = targets | sources
            if mutated & group and not group <= mutated:
                mutated |= group
                changed = True
    return mutated | (pops if stores else set())


def _sharing(body):
    """(the (targets, sources) of each assignment in ``body`` that may make its targets share
    an array with names it reads, the names assigned a pop)."""
    links, pops = [], set()
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign):
            targets = {n.id for t in node.targets for n in walk(t) if isinstance(n, gast.Name)}
            if _is_pop(node.value):
                pops.update(targets)
            elif _may_view(node.value):   # a module called is no array
                links.append((targets, set(names_in(node.value)) - GLOBAL_MODULES))
    return links, pops


def _writes_into(call):
    """Whether ``call`` writes into its first argument (``tgr.add_at``) or its ``out=``."""
    func = call.func
    return any(k.arg == "out" for k in call.keywords) or isinstance(func, gast.Attribute) \
        and isinstance(func.value, gast.Name) and func.value.id == "tgr" \
        and func.attr == "add_at"


def _is_pop(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
        and node.func.attr == "pop" and not node.args


def _may_view(node):
    """Whether expression ``node`` may be (a view of) an array it reads: arithmetic and most
    numpy calls make new arrays."""
    if isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Constant)):
        return False
    if isinstance(node, gast.Call):
        func = node.func
        is_numpy = isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
            and func.value.id == "np"
        return not is_numpy or func.attr in _VIEWS
    return True


def _defer_in_loop(loop, namer, shared):
    """(statements before the loop, statements after it) where ``loop``'s products were
    deferred; None where none was."""
    body = loop.body
    if any(isinstance(n, (gast.Break, gast.Continue, gast.Return, gast.Yield))
           for n in walk(gast.Module(body=body, type_ignores=[]))):
        return None   # every list gets one value per iteration, paired by position
    counts = {}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name):
            counts[node.id] = counts.get(node.id, 0) + 1
    mutated = None
    rows = {}        # operand name -> its rows list, while its value is the one captured
    products = []    # (accumulator, stacking, a rows, b rows, Assign or AugAssign form)
    out = []
    for stmt in body:
        found = _product(stmt)
        if found is not None:
            acc, stacking, a, b = found
            uses = 1 if isinstance(stmt, gast.AugAssign) else 2
            if mutated is None:
                mutated = mutated_names(body)
            private = not (stmt.__class__ is gast.AugAssign and acc in shared)
            if counts.get(acc) == uses and not {a, b} & mutated and private:
                formula = {"outer": f"np.outer({a}, {b})", "rows": f"{a}.T @ {b}",
                           "columns": f"{a} @ {b}.T"}[stacking]
                out.append(comment(f"{acc} += {formula}: added up per {CHUNK} steps"))
                lists = []
                for operand in (a, b):
                    if operand not in rows:
                        rows[operand] = namer.unique(f"{operand}_rows")
                        out.append(gast.Expr(value=gast.Call(func=gast.Attribute(
                            value=name(rows[operand]), attr="append", ctx=gast.Load()),
                            args=[name(operand)], keywords=[])))
                    lists.append(rows[operand])
                products.append((acc, stacking, lists[0], lists[1],
                                 isinstance(stmt, gast.AugAssign)))
                continue
        out.append(stmt)
        for assigned in _stored_names(stmt):   # a new value: later products capture it anew
            rows.pop(assigned, None)
    if not products:
        return None
    lists = sorted({r for _, _, a, b, _ in products for r in (a, b)})
    first = products[0][2]
    flush = [_add_product(*p) for p in products] + [
        gast.Expr(value=gast.Call(func=gast.Attribute(value=name(r), attr="clear",
                                                      ctx=gast.Load()),
                                  args=[], keywords=[])) for r in lists]
    out.append(gast.If(test=gast.Compare(
        left=gast.Call(func=name("len"), args=[name(first)], keywords=[]),
        ops=[gast.GtE()], comparators=[gast.Constant(value=CHUNK, kind=None)]),
        body=flush, orelse=[]))
    loop.body = out
    before = [gast.Assign(targets=[name(r, store=True)], value=gast.List(elts=[],
                                                                        ctx=gast.Load()),
                          type_comment=None) for r in lists]
    after = [gast.If(test=name(first), body=[_add_product(*p) for p in products], orelse=[])]
    return before, after


def _stored_names(stmt):
    return [n.id for n in walk(stmt) if isinstance(n, gast.Name)
            and not isinstance(n.ctx, gast.Load)]


def _stacked(rows, stacking):
    func, axis = _STACKED[stacking]
    keywords = [] if axis is None else [gast.keyword(arg="axis",
                                                     value=gast.Constant(value=axis, kind=None))]
    return gast.Call(func=gast.Attribute(value=name("np"), attr=func, ctx=gast.Load()),
                     args=[name(rows)], keywords=keywords)


def _transposed(node):
    return gast.Attribute(value=node, attr="T", ctx=gast.Load())


def _add_product(acc, stacking, a_rows, b_rows, augmented):
    """``acc += A.T @ B`` (``A @ B.T`` for columns) of the stacked operands."""
    a, b = _stacked(a_rows, stacking), _stacked(b_rows, stacking)
    if stacking == "columns":
        product = gast.BinOp(left=a, op=gast.MatMult(), right=_transposed(b))
    else:
        product = gast.BinOp(left=_transposed(a), op=gast.MatMult(), right=b)
    if augmented:
        return gast.AugAssign(target=name(acc, store=True), op=gast.Add(), value=product)
    return gast.Assign(targets=[name(acc, store=True)], value=gast.BinOp(
        left=name(acc), op=gast.Add(), right=product), type_comment=None)

