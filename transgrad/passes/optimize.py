"""Tighten generated straight-line code so it reads and runs like hand-written numpy.

Four rewrites, repeated until nothing changes:

* constant and copy propagation: ``by = 1.0; bx = by * c`` -> ``bx = 1.0 * c``;
* algebraic simplification: ``1.0 * e`` -> ``e``, ``x ** (2 - 1)`` -> ``x``, ``if None is None``
  -> its body;
* broadcast elision: ``bt = np.broadcast_to(g, np.shape(t))`` used only as a factor of a
  product that has another factor of t's shape class becomes plain ``g``;
* dead-code elimination: assignments nobody reads disappear (and a comment whose code went
  with them).

Rounds repeat while zero-start elision (``b = 0.0; b = b + e`` -> ``b = e``) or dead-code
elimination changed something: either can leave a copy or a name stored once for the next.
It is the one optimizer: the reverse and forward passes' output goes through it at build
time, and an exact-shape variant (``exact.py``) at call time.

For example, the reverse pass's gradient of ``np.sum(x ** 2)`` (``show`` runs the passes up to
the one named and prints the result):

>>> from transgrad.passes.show import show
>>> source = '''
... def f(x):
...     return np.sum(x ** 2)
... '''
>>> print(show(source, through="reverse"))
def df(x):
    t1 = x ** 2
    t2 = np.sum(t1)
    tgr.check_scalar_output(t2, 'f')
    bt2 = 1.0
    # grad of line 2: return np.sum(x ** 2)
    if None is None or False:
        full = bt2
    else:
        full = tgr.expand_reduced(bt2, t1, None)
    bt1 = np.broadcast_to(full, np.shape(t1))
    bx = bt1 * 2 * x ** (2 - 1)
    return tgr.match(bx, x)
>>> print(show(source, through="optimize"))
def df(x):
    t1 = x ** 2
    t2 = np.sum(t1)
    tgr.check_scalar_output(t2, 'f')
    # grad of line 2: return np.sum(x ** 2)
    bx = 2.0 * x
    return tgr.match(bx, x)
"""

import operator

import gast
import numpy as np

from ..ir import Comment, Transformer, child_fields, clone, name, names_in, walk
from .optimize_blocks import (
    _ELEMENTWISE_OPS,
    _broadcast_source,
    _chain_leaves,
    _drop_dead_saves,
    _elide_block_broadcasts,
    _has_pop,
    _inline_accumulated,
    _item_restore_of,
    _propagate_in_blocks,
    _Replace,
    _restore_of,
    _split_tuple_assigns,
)
from .shapes import shape_classes

_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
         gast.Div: operator.truediv, gast.Pow: operator.pow, gast.FloorDiv: operator.floordiv}
_CMP = {gast.Is: operator.is_, gast.IsNot: operator.is_not, gast.Eq: operator.eq,
        gast.NotEq: operator.ne}


def _is_const(node, *values):
    return isinstance(node, gast.Constant) and not isinstance(node.value, bool) and (
        not values or (isinstance(node.value, (int, float)) and node.value in values))


def _numeric_const(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def _float_valued(node):
    """True when ``node`` certainly computes a float (so ``1.0 * node`` may drop the 1.0)."""
    if isinstance(node, gast.BinOp):
        return not isinstance(node.op, (gast.BitAnd, gast.BitOr))
    if isinstance(node, gast.UnaryOp):
        return _float_valued(node.operand)
    return isinstance(node, gast.Call)


_NOT_LITERAL = object()


def _literal_value(node):
    """The Python value of a constant or a tuple of constants, else _NOT_LITERAL."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.Tuple):
        values = tuple(_literal_value(e) for e in node.elts)
        return _NOT_LITERAL if _NOT_LITERAL in values else values
    return _NOT_LITERAL


class _Simplify(Transformer):
    def __init__(self, ranks=None):
        self.ranks = ranks or {}

    def visit_Call(self, node):
        self.generic_visit(node)
        if getattr(node.func, "resolved", None) is np.ndim and len(node.args) == 1 \
                and isinstance(node.args[0], gast.Name) and node.args[0].id in self.ranks:
            return gast.Constant(value=self.ranks[node.args[0].id], kind=None)
        func = getattr(node.func, "resolved", None)
        if (func is max or func is min) and len(node.args) > 1 and not node.keywords \
                and all(_numeric_const(a) for a in node.args):   # max(6, 1) of folded sizes
            return gast.Constant(value=func(a.value for a in node.args), kind=None)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right, op = node.left, node.right, type(node.op)
        if _numeric_const(left) and _numeric_const(right) and op in _FOLD:
            try:
                return gast.Constant(value=_FOLD[op](left.value, right.value), kind=None)
            except (ZeroDivisionError, OverflowError):
                return node
        if op is gast.Mult:
            if _is_const(left, 1) and _float_valued(right):
                return right
            if _is_const(right, 1) and _float_valued(left):
                return left
        if op is gast.Div and _is_const(right, 1) and _float_valued(left):
            return left
        if op is gast.Pow and _is_const(right, 1) and isinstance(left, gast.Name):
            return left
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.USub) and _numeric_const(node.operand):
            return gast.Constant(value=-node.operand.value, kind=None)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        op = type(node.ops[0])
        left, right = _literal_value(node.left), _literal_value(node.comparators[0])
        if len(node.ops) == 1 and op in _CMP and left is not _NOT_LITERAL \
                and right is not _NOT_LITERAL:
            if op in (gast.Is, gast.IsNot) and None not in (left, right):
                # identity of two literals is decided only by None-ness here
                return gast.Constant(value=op is gast.IsNot, kind=None)
            return gast.Constant(value=_CMP[op](left, right), kind=None)
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if all(isinstance(v, gast.Constant) for v in node.values):
            values = [v.value for v in node.values]
            result = all(values) if isinstance(node.op, gast.And) else any(values)
            return gast.Constant(value=result, kind=None)
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        if isinstance(node.test, gast.Constant):
            return (node.body if node.test.value else node.orelse) or []
        return node


def _assign_counts(body):
    return _uses(body)[0]


def _uses(body):
    """``(stores, loads)``: how many times each local name is assigned and read in ``body``,
    nested blocks included; one walk that the passes of a round share (each keeps it current
    for the ones after it)."""
    stores, loads = {}, {}
    for stmt in body:
        _count_names(stmt, stores, loads)
    return stores, loads


def _count_names(node, stores, loads):
    kind = type(node)
    if kind is gast.Name:
        if type(node.ctx) is gast.Store:
            stores[node.id] = stores.get(node.id, 0) + 1
        elif not hasattr(node, "resolved"):
            loads[node.id] = loads.get(node.id, 0) + 1
        return
    ast_type = gast.AST
    for field in child_fields(kind):
        value = getattr(node, field, None)
        if value.__class__ is list:
            for item in value:
                if isinstance(item, ast_type):
                    _count_names(item, stores, loads)
        elif isinstance(value, ast_type):
            _count_names(value, stores, loads)


def _coalesce(fn, uses):
    """``t = <expr>; b = t`` with t read nowhere else -> ``b = <expr>``: the adjoint keeps
    its own name (``bh = bout @ w2.T``) instead of a rule's local one. In every block.
    ``uses`` (from ``_uses``) is brought up to date once all blocks are done."""
    counts, reads = uses
    merged = []   # (t, b, how many stores of t became stores of b)
    changed = _coalesce_block(fn.body, counts, reads, merged)
    for var, target, moved in merged:
        counts[var] -= moved
        counts[target] += moved - 1
        reads[var] -= 1
    return changed


def _coalesce_block(body, counts, reads, merged):
    changed = False
    for stmt in body:
        for field in ("body", "orelse"):
            if isinstance(getattr(stmt, field, None), list):
                changed = _coalesce_block(getattr(stmt, field), counts, reads, merged) \
                    or changed
    defined_at = {}
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            continue
        target, value = stmt.targets[0].id, stmt.value
        simple = isinstance(value, gast.Name) and not hasattr(value, "resolved") \
            and reads.get(value.id) == 1
        if simple and value.id in defined_at and counts.get(value.id) == 1 and not any(
                between is not None and _mentions(between, target)
                for between in body[defined_at[value.id] + 1:i]):
            _rename_store(body[defined_at[value.id]], target)
            body[i] = None
            merged.append((value.id, target, 1))
            changed = True
            continue
        previous = next((body[k] for k in range(i - 1, -1, -1) if body[k] is not None), None)
        branches = _both_branches_assign(previous, value.id) \
            if simple and counts.get(target) == 1 else None
        if branches and counts.get(value.id) == 2 and not _mentions(previous, target):
            for branch_stmt in branches:   # `if c: t = e1 else: t = e2; b = t`
                _rename_store(branch_stmt, target)
            body[i] = None
            merged.append((value.id, target, 2))
            changed = True
            continue
        defined_at[target] = i
    body[:] = [s for s in body if s is not None]
    return changed


def _rename_store(stmt, target):
    stmt.targets = [name(target, store=True)]


def _both_branches_assign(stmt, var):
    """The two assignments to ``var`` when ``stmt`` is an ``if`` that assigns it once at the
    top of each branch, else None."""
    if not isinstance(stmt, gast.If):
        return None
    found = []
    for branch in (stmt.body, stmt.orelse):
        hits = [s for s in branch if isinstance(s, gast.Assign)
                and isinstance(s.targets[0], gast.Name) and s.targets[0].id == var]
        if len(hits) != 1:
            return None
        found.append(hits[0])
    return found


def _propagate(fn, simplify, counts):
    """Constant and copy propagation over the top-level statements, in one forward pass;
    a statement that receives a value is simplified at once (``1.0 * x`` folds here, not in
    another round). True if anything changed. ``counts``: assignments per name; a name
    propagated away leaves the code, so the counts of the names that remain stay exact."""
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}
    replace = _Replace()
    kept, changed = [], False
    for stmt in fn.body:
        if replace.mapping:
            replace.replaced = False
            stmt = replace.visit(stmt)
            if replace.replaced:
                stmt = simplify.visit(stmt)
                if isinstance(stmt, list):   # a folded `if`
                    kept.extend(stmt)
                    continue
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            target, value = stmt.targets[0].id, stmt.value
            if counts.get(target) == 1 and target not in params:
                simple_const = _numeric_const(value)
                copy_of = isinstance(value, gast.Name) and not hasattr(value, "resolved") \
                    and counts.get(value.id, 0) <= 1 \
                    and not (value.id in params and counts.get(value.id))
                if simple_const or copy_of:
                    replace.mapping[target] = value
                    changed = True
                    continue
        kept.append(stmt)
    fn.body = kept
    return changed


def _pops(stmt):
    """``v = stack.pop()``, ``bv = bv + bstack.pop()``, ``bv += bstack.pop()``: never dead,
    every pop matches a push (dropping a dead adjoint's pop unbalanced the stack of adjoints
    in reverse over reverse)."""
    value = getattr(stmt, "value", None)
    return value is not None and _has_pop(value)


def _eliminate_dead(fn):
    """Drop assignments whose targets are never read, and the saves whose restores nobody
    reads (``_drop_dead_saves``); True if anything changed."""
    restores = {}
    fn.body, _, changed = _live_block(fn.body, set(), restores)
    return _drop_dead_saves(fn, restores) or changed


def drop_dead_saves(fn, items=False):
    """Only the saves whose restores nobody reads (``_drop_dead_saves``), nothing else, until
    none is left (a dropped restore ``y[j] = stack.pop()`` no longer reads j): for a called
    function's two halves joined into one (``halves.join``), where a push in the forward half
    pairs with a restore in the backward one. ``items``: restores of elements too
    (``y[i] = stack.pop()`` with y unread after), where a subscript store changes no other
    name's value (JAX: arrays are values); True if anything changed."""
    changed = False
    while True:
        restores = {}
        _live_block(clone(fn).body, set(), restores, items)
        if not _drop_dead_saves(fn, restores):
            return changed
        changed = True


def _live_block(body, live, restores=None, items=False):
    """Backward liveness over a block: (kept statements, names live before it, changed).

    ``if`` branches are cleaned too, and loop bodies with what the next iteration reads.
    ``restores`` (if given) collects, for each ``v = stack.pop()``, whether v is read after
    (and with ``items``, for each ``y[i] = stack.pop()``, whether y is)."""
    live, kept, changed = set(live), [], False
    for stmt in reversed(body):
        if restores is not None and _restore_of(stmt) is not None:
            restores.setdefault(_restore_of(stmt), []).append(
                stmt.targets[0].id in live)
        if items and _item_restore_of(stmt) is not None:
            key = _item_restore_of(stmt)
            if restores is not None:
                restores.setdefault(key, []).append(key[1] in live)
            if key[1] not in live:   # as if gone: its index reads nothing
                kept.append(stmt)
                continue
        if isinstance(stmt, gast.Assign) and not isinstance(stmt.targets[0], gast.Subscript) \
                and not _pops(stmt):
            targets = {n.id for n in walk(stmt.targets[0]) if isinstance(n, gast.Name)}
            if not targets & live:
                changed = True
                continue
            live -= targets if isinstance(stmt.targets[0], gast.Name) else set()
        elif isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
            # `b += c` reads b: dead when nobody reads b after it, else b is live before it
            if stmt.target.id not in live and not _pops(stmt):
                changed = True
                continue
            live.add(stmt.target.id)
        elif isinstance(stmt, gast.If):
            stmt.body, live_body, body_changed = _live_block(stmt.body, live, restores, items)
            stmt.orelse, live_else, else_changed = _live_block(stmt.orelse, live, restores,
                                                               items)
            stmt.body = stmt.body or [gast.Pass()]
            changed = changed or body_changed or else_changed
            live = live_body | live_else | set(names_in(stmt.test))
            kept.append(stmt)
            continue
        elif isinstance(stmt, (gast.For, gast.While)):
            # what is live after the loop, or at the top of its body (the next iteration)
            header = set(names_in(stmt.iter if isinstance(stmt, gast.For) else stmt.test))
            loop_live = live | header
            while True:
                _, body_in, _ = _live_block(clone(stmt.body), loop_live, None, items)
                if body_in <= loop_live:
                    break
                loop_live |= body_in
            stmt.body, _, body_changed = _live_block(stmt.body, loop_live, restores, items)
            stmt.body = stmt.body or [gast.Pass()]
            changed = changed or body_changed
            live = loop_live
            kept.append(stmt)
            continue
        live.update(names_in(stmt))
        kept.append(stmt)
    return kept[::-1], live, changed


class _ElideIn(Transformer):
    """Replace ``name`` by ``expr`` inside elementwise chains that keep the full shape."""

    def __init__(self, name, expr, target_class, classes):
        self.name, self.expr = name, expr
        self.target_class, self.classes = target_class, classes
        self.replaced = False

    def visit_BinOp(self, node):
        if not isinstance(node.op, _ELEMENTWISE_OPS):
            return self.generic_visit(node)
        leaves = _chain_leaves(node)
        uses = [leaf for leaf in leaves if isinstance(leaf, gast.Name) and leaf.id == self.name]
        full = any(isinstance(leaf, gast.Name) and leaf.id != self.name
                   and self.classes.get(leaf.id) == self.target_class for leaf in leaves)
        if uses and full:
            self.replaced = True
            return _Replace(self.name, self.expr).visit(node)
        return self.generic_visit(node)


def _elide_broadcasts(fn, simplify=None, classes=None, counts=None):
    """Drop ``np.broadcast_to`` whose result only feeds full-shape elementwise chains.

    ``classes``: the shape classes of the primal (adjoints have none of their own);
    ``counts``: assignments per name, if the caller has them."""
    if not any(isinstance(stmt, gast.Assign) and _broadcast_source(stmt.value) is not None
               for stmt in fn.body):
        return False
    classes = shape_classes(fn) if classes is None else classes
    if not classes:
        return False
    counts = _assign_counts(fn.body) if counts is None else counts
    readers = {}   # name -> indices of the top-level statements that read it
    for i, stmt in enumerate(fn.body):
        for read in set(names_in(stmt)):
            readers.setdefault(read, []).append(i)
    changed = False
    for i, stmt in enumerate(fn.body):
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            continue
        source = _broadcast_source(stmt.value)
        if source is None or counts.get(stmt.targets[0].id) != 1 or source[1] not in classes:
            continue
        expr, like = source
        elide = _ElideIn(stmt.targets[0].id, expr, classes[like], classes)
        for j in readers.get(stmt.targets[0].id, []):
            if j > i:
                before = elide.replaced
                elide.replaced = False
                fn.body[j] = elide.visit(fn.body[j])
                if elide.replaced and simplify is not None:   # fold `1.0 * 2 * t` now
                    folded = simplify.visit(fn.body[j])
                    fn.body[j] = folded if not isinstance(folded, list) else fn.body[j]
                elide.replaced = elide.replaced or before
        changed = changed or elide.replaced
    return changed


def _is_zero_start(stmt):
    return isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
        and isinstance(stmt.value, gast.Constant) and type(stmt.value.value) is float \
        and stmt.value.value == 0.0


def _mentions(stmt, var):
    return any(isinstance(n, gast.Name) and n.id == var for n in walk(stmt))


def _updated_in_place(body):
    """Names the code updates in place (``tgr.add_at(b, ...)``, ``b[i] = ...``, ``b += c``):
    their value must be an array of their own, never an alias, so ``b = 0.0; b = b + e`` must
    stay."""
    names = set()
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and node.func.attr == "add_at" and node.args \
                and isinstance(node.args[0], gast.Name):
            names.add(node.args[0].id)
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                and isinstance(node.value, gast.Name):
            names.add(node.value.id)
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            names.add(node.target.id)   # `b += c` adds into b's array
    return names


def _fresh(node):
    """An expression that certainly builds a new array (arithmetic), never a view or alias."""
    return isinstance(node, (gast.BinOp, gast.UnaryOp))


def _has_zero_start(body):
    return any(_is_zero_start(stmt) or any(
        _has_zero_start(getattr(stmt, field)) for field in ("body", "orelse")
        if isinstance(getattr(stmt, field, None), list)) for stmt in body)


def _elide_zero_starts(body, in_place=None):
    """``b = 0.0 ... b = b + e`` (nothing touching b between) -> ``b = e``, in every block;
    also where the first ``b = b + e`` is in both arms of a branch."""
    if in_place is None:
        if not _has_zero_start(body):   # straight-line code has none
            return False
        in_place = _updated_in_place(body)
    changed = False
    for stmt in body:
        for field in ("body", "orelse"):
            if isinstance(getattr(stmt, field, None), list):
                changed = _elide_zero_starts(getattr(stmt, field), in_place) or changed
    i = 0
    while i < len(body):
        stmt = body[i]
        if _is_zero_start(stmt):
            var = stmt.targets[0].id
            first = _first_additions(body[i + 1:], var, in_place)
            if first:
                for later in first:
                    later.value = later.value.right
                del body[i]
                changed = True
        i += 1
    return changed


def _first_additions(body, var, in_place):
    """The statements ``var = var + e`` that first touch ``var`` in ``body`` on every path
    (one at the top level, or one in each arm of a branch whose test does not read ``var``);
    None if some path touches ``var`` otherwise first, or where ``b = e`` could alias an array
    updated in place."""
    for later in body:
        if isinstance(later, gast.If) and later.orelse and not _mentions(later.test, var) \
                and _mentions(later, var):
            arms = [_first_additions(arm, var, in_place) for arm in (later.body, later.orelse)]
            return arms[0] + arms[1] if all(arms) else None
        if isinstance(later, gast.Assign) and isinstance(later.targets[0], gast.Name) \
                and later.targets[0].id == var and isinstance(later.value, gast.BinOp) \
                and isinstance(later.value.op, gast.Add) \
                and isinstance(later.value.left, gast.Name) \
                and later.value.left.id == var \
                and not _mentions(later.value.right, var) \
                and (var not in in_place or _fresh(later.value.right)):
            return [later]
        if _mentions(later, var):
            return None
    return None


def _is_comment(stmt):
    return stmt.__class__ is Comment


def _drop_orphan_comments(body):
    """Comments whose code was optimized away (followed by another comment or nothing)."""
    kept = []
    for i, stmt in enumerate(body):
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block:
                setattr(stmt, field, _drop_orphan_comments(block))
        following = body[i + 1] if i + 1 < len(body) else None
        if _is_comment(stmt) and (following is None or _is_comment(following)
                                  or isinstance(following, gast.Return)):
            continue
        kept.append(stmt)
    return kept or [gast.Pass()]


def _drop_empty_branches(body):
    """``if c: pass`` (a test that is a name, arms that do nothing): what dead-code
    elimination leaves of a branch whose arms only fed the adjoint."""
    kept = []
    for stmt in body:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block:
                setattr(stmt, field, _drop_empty_branches(block) or [gast.Pass()])
        if isinstance(stmt, gast.If) and isinstance(stmt.test, gast.Name) and all(
                isinstance(s, gast.Pass) for s in stmt.body + stmt.orelse):
            continue
        kept.append(stmt)
    return kept


def _flatten(body):
    out = []
    for stmt in body:
        out.extend(stmt if isinstance(stmt, list) else [stmt])
    return out


def optimize(fn, ranks=None, classes=None):
    """Simplify the gast FunctionDef ``fn`` in place and return it. Propagation looks at
    top-level statements, dead-code elimination also into branches; loop bodies are only
    simplified. ``ranks`` (variable -> number of dimensions) folds ``np.ndim`` in rules;
    ``classes`` are the primal's shape classes, if the caller has them."""
    simplify = _Simplify(ranks)
    enabling, rounds = True, 0
    while enabling and rounds < 10:
        # propagation and broadcast elision simplify what they touch; zero-start elision can
        # make new copies, and dead-code elimination can leave a name stored once (its dead
        # first value gone), which propagation and coalescing need: those two cause another
        # round. Broadcast elision runs once.
        rounds += 1
        fn.body = _flatten([simplify.visit(s) for s in fn.body])
        if rounds == 1:
            _split_tuple_assigns(fn.body)
        uses = _uses(fn.body)
        _coalesce(fn, uses)
        _propagate_in_blocks(fn.body, *uses)
        _inline_accumulated(fn.body, *uses)
        _elide_block_broadcasts(fn.body, *uses)
        _propagate(fn, simplify, uses[0])
        if rounds == 1:
            _elide_broadcasts(fn, simplify, classes, uses[0])
        enabling = _elide_zero_starts(fn.body)
        enabling = _eliminate_dead(fn) or enabling
    fn.body = _drop_orphan_comments(_drop_empty_branches(fn.body) or [gast.Pass()])
    return fn
