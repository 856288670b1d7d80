"""The optimizer's rewrites inside loop and branch bodies, and of the gradient's stack
(``optimize`` runs them in its rounds; the top level has its own propagation).

* ``a, b = (e1, e2)`` -> ``a = e1; b = e2`` (a rule's ``full_g, full_ans = (g, ans)``);
* copy propagation in a block: ``g1 = bx; ...; by = g1 * 2.0`` -> ``by = bx * 2.0``;
* a rule's local read once by an accumulation: ``left = e; bw += left`` -> ``bw += e``;
* dead saves: ``stack.append(v)`` and ``v = stack.pop()`` both go when no restore of v is
  read (exact shapes can leave a value read only for its shape unread).
"""

import gast
import numpy as np

from ..ir import Comment, Transformer, child_fields, clone, name, names_in, walk


class _Replace(Transformer):
    """Replace loads of names by expressions (``{name: expr}``)."""

    def __init__(self, old=None, new=None, mapping=None):
        self.mapping = dict(mapping or {})
        if old is not None:
            self.mapping[old] = new

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id in self.mapping:
            self.replaced = True
            return clone(self.mapping[node.id])
        return node


def _has_pop(node):
    """Whether expression ``node`` calls ``.pop()`` (a recursion: every assignment of every
    round asks, and a generator per node cost more than the question)."""
    kind = node.__class__
    if kind is gast.Call and node.func.__class__ is gast.Attribute and node.func.attr == "pop" \
            and not node.args:
        return True
    ast_type = gast.AST
    for field in child_fields(kind):
        value = getattr(node, field, None)
        if value.__class__ is list:
            if any(isinstance(item, ast_type) and _has_pop(item) for item in value):
                return True
        elif isinstance(value, ast_type) and _has_pop(value):
            return True
    return False


def _own_stacks(body):
    """The gradient's own stacks (``stack = []`` made by the reverse pass, tagged
    ``gradient_stack``) that the function reads only through ``.append``/``.pop``: a tape
    that takes the stack elsewhere keeps every entry."""
    made = {stmt.targets[0].id for stmt in body if isinstance(stmt, gast.Assign)
            and getattr(stmt, "gradient_stack", False)}
    if not made:
        return made
    nodes = list(walk(gast.Module(body=body, type_ignores=[])))
    receivers = {id(node.value) for node in nodes if isinstance(node, gast.Attribute)
                 and isinstance(node.value, gast.Name) and node.attr in ("append", "pop")}
    return made - {node.id for node in nodes if isinstance(node, gast.Name)
                   and isinstance(node.ctx, gast.Load) and id(node) not in receivers}


def _popped_stack(stmt):
    """The stack's name when ``stmt`` is ``<target> = stack.pop()``, else None."""
    if isinstance(stmt, gast.Assign):
        value = stmt.value
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                and value.func.attr == "pop" and not value.args \
                and isinstance(value.func.value, gast.Name):
            return value.func.value.id
    return None


def _restore_of(stmt):
    """``(stack, v)`` when ``stmt`` is ``v = stack.pop()``, else None."""
    stack = _popped_stack(stmt)
    if stack is not None and isinstance(stmt.targets[0], gast.Name):
        return stack, stmt.targets[0].id
    return None


def _item_restore_of(stmt):
    """``(stack, y, "item")`` when ``stmt`` is ``y[i] = stack.pop()``, else None."""
    stack = _popped_stack(stmt)
    if stack is not None and isinstance(stmt.targets[0], gast.Subscript) \
            and isinstance(stmt.targets[0].value, gast.Name):
        return stack, stmt.targets[0].value.id, "item"
    return None


def _pushed(stmt):
    """(the stack, the pushed expression) when ``stmt`` is ``stack.append(e)``, else None."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        call = stmt.value
        if isinstance(call.func, gast.Attribute) and call.func.attr == "append" \
                and isinstance(call.func.value, gast.Name) and len(call.args) == 1:
            return call.func.value.id, call.args[0]
    return None


def _item_save_of(stmt):
    """``(stack, y, "item")`` when ``stmt`` is ``stack.append(tgr.copy_value(y[i]))``."""
    stack, copied = _pushed(stmt) or (None, None)
    if isinstance(copied, gast.Call) and len(copied.args) == 1 \
            and isinstance(copied.args[0], gast.Subscript) \
            and isinstance(copied.args[0].value, gast.Name):
        func = copied.func
        if getattr(getattr(func, "resolved", None), "__name__", None) == "copy_value" or (
                isinstance(func, gast.Attribute) and func.attr == "copy_value"):
            return stack, copied.args[0].value.id, "item"
    return None


def _save_of(stmt):
    """``(stack, v)`` when ``stmt`` is ``stack.append(v)``, else None."""
    stack, value = _pushed(stmt) or (None, None)
    if isinstance(value, gast.Name):
        return stack, value.id
    return None


def _drop_dead_saves(fn, restores):
    """``stack.append(v)`` ... ``v = stack.pop()`` where no restore of v is ever read: both
    go (the reverse pass pairs them by name: a value is popped back into the name it was
    pushed from). ``restores``: ``(stack, v) -> [whether each restore is read]`` from the
    liveness walk. Exact shapes can leave a value read only for its shape unread."""
    dead = {key for key, reads in restores.items() if not any(reads)}
    if not dead:
        return False
    dead = {key for key in dead if key[0] in _own_stacks(fn.body)}
    if not dead:
        return False

    def keep(stmt):
        return (_restore_of(stmt) or _save_of(stmt)) not in dead and (
            _item_restore_of(stmt) or _item_save_of(stmt)) not in dead

    def strip(body):
        out = []
        for stmt in body:
            if not keep(stmt):
                continue
            for field in ("body", "orelse"):
                block = getattr(stmt, field, None)
                if isinstance(block, list) and block:
                    setattr(stmt, field, strip(block) or [gast.Pass()])
            out.append(stmt)
        return out
    fn.body = strip(fn.body)
    return True


def _stores(stmt):
    """Names ``stmt`` binds or updates (``b = ...``, ``b += ...``, ``b[i] = ...``), nested
    blocks included."""
    found = set()
    for node in walk(stmt):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            found.add(node.id)
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                and isinstance(node.value, gast.Name):
            found.add(node.value.id)
    return found


def _split_tuple_assigns(body):
    """``a, b = (e1, e2)`` -> ``a = e1; b = e2`` where no later element reads an earlier
    target (a rule's ``full_g, full_ans = (g, ans)``), in every block; then propagation and
    coalescing see plain copies."""
    changed, out = False, []
    for stmt in body:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block:
                changed = _split_tuple_assigns(block) or changed
        target = stmt.targets[0] if isinstance(stmt, gast.Assign) else None
        if isinstance(target, gast.Tuple) and isinstance(stmt.value, gast.Tuple) \
                and len(target.elts) == len(stmt.value.elts) \
                and all(isinstance(e, gast.Name) for e in target.elts) \
                and len({e.id for e in target.elts}) == len(target.elts) \
                and not any(_has_pop(v) for v in stmt.value.elts) \
                and not any(target.elts[i].id in names_in(later)
                            for i in range(len(target.elts))
                            for later in stmt.value.elts[i + 1:]):
            for elt, value in zip(target.elts, stmt.value.elts):
                out.append(gast.copy_location(
                    gast.Assign(targets=[name(elt.id, store=True)], value=value,
                                type_comment=None), stmt))
            changed = True
            continue
        out.append(stmt)
    body[:] = out
    return changed


def _number(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def _pure(node):
    """No call but numpy's and ``tgr``'s (resolved) ones and array attributes: moving it
    past other statements changes nothing they can see."""
    for sub in walk(node):
        if isinstance(sub, gast.Call):
            func = sub.func
            if hasattr(func, "resolved") or _has_pop(sub):
                if _has_pop(sub):
                    return False
                continue
            if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                    and func.value.id in ("tgr", "np"):
                continue
            return False
    return True


def _accumulation_of(stmt, var):
    """True when ``stmt`` is ``b += var`` or ``b = b + var`` (b not var)."""
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add) \
            and isinstance(stmt.target, gast.Name) and isinstance(stmt.value, gast.Name):
        return stmt.value.id == var and stmt.target.id != var
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
            and isinstance(stmt.value, gast.BinOp) and isinstance(stmt.value.op, gast.Add):
        left, right = stmt.value.left, stmt.value.right
        return isinstance(left, gast.Name) and left.id == stmt.targets[0].id != var \
            and isinstance(right, gast.Name) and right.id == var
    return False


def _inline_accumulated(body, counts, reads):
    """``left = e; ...; bw += left`` -> ``bw += e`` where ``left`` (a rule's local) is read
    only there and nothing between touches what e reads; in every block."""
    changed = False
    for stmt in body:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block:
                changed = _inline_accumulated(block, counts, reads) or changed
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            continue
        var = stmt.targets[0].id
        if counts.get(var) != 1 or reads.get(var) != 1 or not _pure(stmt.value) \
                or hasattr(stmt, "origin"):   # the user's statements stay one per primitive
            continue
        operands = set(names_in(stmt.value))
        for j in range(i + 1, len(body)):
            later = body[j]
            if later is None or later.__class__ is Comment:
                continue
            if _accumulation_of(later, var):
                if isinstance(later, gast.AugAssign):
                    later.value = stmt.value
                else:
                    later.value.right = stmt.value
                body[i] = None
                changed = True
                reads[var] = 0
                break
            if not isinstance(later, (gast.Assign, gast.AugAssign)) or _has_pop(later) \
                    or not _pure(later) or _stores(later) & (operands | {var}) \
                    or var in names_in(later):
                break
    body[:] = [s for s in body if s is not None]
    return changed


def _propagate_in_blocks(body, counts, reads, top=True):
    """Copy propagation inside loop and branch bodies (the top level has ``_propagate``):
    ``a = b`` followed, in the same block, by every read of a before b is bound again: those
    read b, and the copy goes (``b = a`` right after becomes ``b = b`` and goes too)."""
    changed = False
    for stmt in body:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block:
                changed = _propagate_in_blocks(block, counts, reads, top=False) or changed
    if top:
        return changed
    i = 0
    while i < len(body):
        stmt = body[i]
        i += 1
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and (isinstance(stmt.value, gast.Name) and not hasattr(stmt.value, "resolved")
                     or _number(stmt.value))):
            continue
        copy = stmt.targets[0].id
        source = stmt.value.id if isinstance(stmt.value, gast.Name) else None
        if counts.get(copy) != 1 or copy == source:
            continue
        window, echoes, seen = [], [], 0
        for later in body[i:]:
            if isinstance(later, gast.Assign) and isinstance(later.targets[0], gast.Name) \
                    and later.targets[0].id == source and isinstance(later.value, gast.Name) \
                    and later.value.id == copy:
                echoes.append(later)   # `b = a`: b = b, a no-op
                seen += 1
                continue
            if not isinstance(later, (gast.Assign, gast.AugAssign, gast.Expr, Comment)):
                break
            seen += names_in(later).count(copy)
            window.append(later)   # a statement binding b reads a before it binds
            if source is not None and source in _stores(later):
                break
        if seen != reads.get(copy, 0) or seen == 0:
            continue
        replace = _Replace(copy, name(source) if source is not None else stmt.value)
        for later in window:
            replace.visit(later)
        for echo in echoes:
            body.remove(echo)
        body.remove(stmt)
        counts[copy] = 0
        reads[copy] = 0
        i -= 1
        changed = True
    return changed


_ELEMENTWISE_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div)


def _broadcast_source(value):
    """``(e, x)`` when ``value`` is ``np.broadcast_to(e, np.shape(x))``, else None."""
    if not (isinstance(value, gast.Call) and getattr(value.func, "resolved", None)
            is np.broadcast_to and len(value.args) == 2):
        return None
    shape = value.args[1]
    if isinstance(shape, gast.Call) and getattr(shape.func, "resolved", None) is np.shape \
            and isinstance(shape.args[0], gast.Name):
        return value.args[0], shape.args[0].id
    return None


def _chain_leaves(node):
    if isinstance(node, gast.BinOp) and isinstance(node.op, _ELEMENTWISE_OPS):
        return _chain_leaves(node.left) + _chain_leaves(node.right)
    return [node]


def _elide_block_broadcasts(body, counts, reads, top=True):
    """In loop and branch bodies: ``bt = np.broadcast_to(g, np.shape(x))`` read only in
    elementwise chains that have x itself as a factor (x not bound again between) -> those
    read g, and the broadcast goes: the chain has x's shape anyway (``bh += bt * 2 * h`` with
    ``np.shape(h)``: ``bh += g * 2 * h``). g: a name or a number, so nothing is computed
    twice."""
    changed = False
    for stmt in body:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block:
                changed = _elide_block_broadcasts(block, counts, reads, top=False) or changed
    if top:
        return changed
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            continue
        target, source = stmt.targets[0].id, _broadcast_source(stmt.value)
        if source is None or counts.get(target) != 1 or not isinstance(
                source[0], (gast.Name, gast.Constant)):
            continue
        users, seen = [], 0
        for j in range(i + 1, len(body)):
            later = body[j]
            rebound = _stores(later)
            if source[1] in rebound or target in rebound or (
                    isinstance(source[0], gast.Name) and source[0].id in rebound):
                break
            if target in names_in(later):
                users.append(j)
                seen += names_in(later).count(target)
        if not seen or seen != reads.get(target):
            continue
        elide = _FactorOf(target, source[0], source[1])
        rewritten = [elide.visit(clone(body[j])) for j in users]
        if elide.replaced != seen:
            continue
        for j, new in zip(users, rewritten):
            body[j] = new
        reads[target] = 0
        changed = True
    return changed


class _FactorOf(Transformer):
    """Replace the name ``broadcast`` by ``expr`` where it is a factor of an elementwise
    chain that also has the name ``like`` as a factor; counts the replacements."""

    def __init__(self, broadcast, expr, like):
        self.broadcast, self.expr, self.like = broadcast, expr, like
        self.replaced = 0

    def visit_BinOp(self, node):
        if not isinstance(node.op, _ELEMENTWISE_OPS):
            return self.generic_visit(node)
        leaves = _chain_leaves(node)
        if not any(isinstance(leaf, gast.Name) and leaf.id == self.like for leaf in leaves):
            return self.generic_visit(node)
        self._swap(node)
        return node

    def _swap(self, node):
        for field in ("left", "right"):
            child = getattr(node, field)
            if isinstance(child, gast.Name) and child.id == self.broadcast:
                setattr(node, field, clone(self.expr))
                self.replaced += 1
            elif isinstance(child, gast.BinOp) and isinstance(child.op, _ELEMENTWISE_OPS):
                self._swap(child)
            else:
                setattr(node, field, self.visit(child))
