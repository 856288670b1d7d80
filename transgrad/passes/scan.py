"""Lower a loop's two sweeps to ``jax.lax.scan``, so ``jax.jit`` compiles it once, not unrolled.

Under ``jit`` JAX traces a Python loop by unrolling it: a 1000-step recurrence becomes 1000
copies of its body in both sweeps, and compiling takes seconds. The generated reverse code has
each loop twice, a primal loop that pushes what the adjoint needs and an adjoint loop over
``reversed(steps)`` that pops it back. When both bodies are straight-line code (no nested loops,
every push and pop at the top level), this pass turns them into two scans::

    for i in steps1:                     def loop(carry, i):
        stack.append(t1)                     x, = carry
        t1 = np.sin(x)                       t1 = jnp.sin(x)
        stack.append(x)          ->          x = t1 * x
        x = t1 * x                           return ((x,), (t1, x))
                                         (x,), (t1_all, x_all) = tgr.scan(
                                             loop, (x,), tgr.loop_indices(steps1))

Each push becomes a stacked output of the primal scan: for a name bound once per iteration,
its values at the end of each iteration (its old values are that stack shifted by one,
``tgr.shifted(x_all, x_initial)``); otherwise the pushed value itself (``x_before = x``). The
adjoint scan runs ``reverse=True`` over those stacks: at the start of its body each pushed
name the body reads takes its end-of-iteration value, and each ``v = stack.pop()`` reads its
old value; restores the adjoint never reads are dropped. Adjoints updated across iterations
are the adjoint scan's carry. ``lower_forward_loops`` does the same for forward-mode code,
which has one loop and no stack.

``tgr.scan`` is ``jax.lax.scan`` where the carry's types are settled first (a ``0.0`` that
becomes an array) and values the body makes untraced (ints from shapes on a tape) stay static
through the stacks (``backends/jax_runtime.py``). A list the loop appends to and also reads by
index is carried as a buffer (``scan_history.py``); values from before the loop read at its
traced index go through ``tgr.indexable``. Iterations that do not depend on each other run
batched (``jax.vmap``): a primal loop with nothing carried, and an adjoint loop whose body only
adds into its carry (``added=True``: each iteration adds its part of a parameter's gradient).

``lax.scan`` keeps its default ``unroll=1``: unrolling measured slower both to compile and to
run on the benchmark's recurrence and RNN (CPU).

Loops that do not fit (nested loops, pushes inside branches, early exits) stay Python loops,
which JAX unrolls; so does a loop whose scan JAX cannot trace (the derivative's unrolled build).

For example, the gradient of a recurrence (``show`` runs the passes up to the one named and prints
the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x, n):
...     for i in range(n):
...         x = np.sin(x)
...     return x
... ''', through="scan"))  # doctest: +NORMALIZE_WHITESPACE
def df(x, n):
    stack = []
    steps1 = range(n)
    x_initial = x
<BLANKLINE>
    def loop(carry, i):
        x, = carry
        x = jnp.sin(x)
        return ((x,), (x,))
    indices = tgr.loop_indices(steps1)
    (x,), (x_all,) = tgr.scan(loop, (x,), indices)
    tgr.check_scalar_output(x, 'f')
    bx = 1.0
<BLANKLINE>
    def adjoint_loop(carry2, saved):
        bx, = carry2
        i, restored = saved
        # grad of line 3: x = np.sin(x)
        x = restored
        bx = bx * jnp.cos(x)
        return ((bx,), None)
    (bx,), _ = tgr.scan(adjoint_loop, (bx,), (indices, tgr.shifted(x_all, x_initial)),
            reverse=True)
    x = x_initial
    return tgr.match(bx, x)
"""

import gast

from ..ir import assign, clone, dotted_call, function, tuple_of, walk
from ..ir import name as name_node
from .lowering import (
    Names,
    bound_before,
    definite_stores,
    is_append,
    loads,
    nested_in_loops,
    pop_target,
    push_value,
    read_first,
    replace,
    statements_in_order,
    stores,
    straight,
)
from .lowering import is_subscript as _is_subscript
from .scan_history import history_list


def _blocks(node):
    """Every statement list in ``node`` (bodies of functions, branches and loops)."""
    for child in walk(node):
        for field in ("body", "orelse"):
            block = getattr(child, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
                yield block


def _steps_name(loop, reverse):
    """The Name a ``for`` loop runs over: ``steps`` or ``reversed(steps)``."""
    it = loop.iter
    if reverse:
        if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Name)
                and it.func.id == "reversed" and len(it.args) == 1):
            return None
        it = it.args[0]
    return it.id if isinstance(it, gast.Name) and isinstance(loop.target, gast.Name) else None


def _loop_pairs(fn):
    """(primal block, primal index, adjoint block, adjoint index) for each loop of the two
    sweeps that run over the same steps."""
    primal, adjoint = {}, {}
    in_loops = nested_in_loops(fn)
    for block in _blocks(fn):
        for k, stmt in enumerate(block):
            if isinstance(stmt, gast.For) and not stmt.orelse and id(stmt) not in in_loops:
                steps = _steps_name(stmt, reverse=False)
                if steps is not None:
                    primal.setdefault(steps, []).append((block, k))
                steps = _steps_name(stmt, reverse=True)
                if steps is not None:
                    adjoint.setdefault(steps, []).append((block, k))
    for steps, found in primal.items():
        if len(found) == 1 and len(adjoint.get(steps, ())) == 1:
            yield found[0] + adjoint[steps][0]


def _reads_outside(fn, loops):
    """Names read anywhere in ``fn`` outside the statements ``loops``."""
    inside = {id(n) for loop in loops for n in walk(loop)}
    return {n.id for n in walk(fn) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load) and id(n) not in inside}


def lower_loops(fn, stack="stack"):
    """Rewrite each primal/adjoint loop pair of the generated FunctionDef ``fn`` that fits into
    two ``jax.lax.scan`` calls; returns how many pairs were lowered."""
    names = Names(fn)
    lowered = 0
    pairs = [(pb, pb[p], ab, ab[a]) for pb, p, ab, a in _loop_pairs(fn)]
    for primal_block, primal_loop, adjoint_block, adjoint_loop in pairs:
        if not (straight(primal_loop.body) and straight(adjoint_loop.body)):
            continue
        appended = _appended_list(primal_loop, adjoint_loop, stack, names) or history_list(
            (primal_block, adjoint_block), primal_loop, adjoint_loop, stack, names)
        plan = _scan_pair_plan(fn, primal_loop, adjoint_loop, stack)
        if plan is None:
            if appended is not None:
                appended.undo()
            continue
        plan.appended = appended
        indexed = _indexed_outside(primal_loop, {n for s in primal_loop.body
                                                 for n in stores(s)}, names)
        primal_new = [gast.copy_location(assign(local, dotted_call("tgr.indexable", [
            name_node(outer)])), primal_loop) for outer, local in indexed.items()]
        primal_new += _primal_scan(primal_loop, plan, names)
        adjoint_new = _adjoint_scan(adjoint_loop, plan, names)
        replace(adjoint_block, adjoint_loop, adjoint_new)
        replace(primal_block, primal_loop, primal_new)
        lowered += 1
    return lowered


def drop_unused_stack(fn, stack="stack"):
    """Remove ``stack = []`` when lowering left no push or pop."""
    uses = sum(1 for n in walk(fn) if isinstance(n, gast.Name) and n.id == stack)
    if uses == 1:
        fn.body[:] = [s for s in fn.body if not (
            isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
            and s.targets[0].id == stack)]


def lower_forward_loops(fn):
    """Forward-mode code has one loop per source loop, tangents beside values and no stack:
    each loop that fits becomes one ``jax.lax.scan`` carrying what its body reads before
    binding; returns how many were lowered."""
    names = Names(fn)
    in_loops = nested_in_loops(fn)
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}
    loops = [(block, stmt) for block in _blocks(fn) for stmt in block
             if isinstance(stmt, gast.For) and not stmt.orelse and id(stmt) not in in_loops
             and _steps_name(stmt, reverse=False) is not None]
    lowered = 0
    for block, loop in loops:
        if not straight(loop.body):
            continue
        appended = _appended_lists(loop.body)   # list -> position of its append
        assigned = {n for s in loop.body for n in stores(s)}
        carried = [n for n in read_first(loop.body) if n in assigned and n not in appended]
        if any(n not in bound_before(fn.body, loop, params) for n in carried):
            continue   # a name one branch binds (read_first counts it), unbound before
        appended = _stack_appended(loop.body, appended, names)   # list -> its item's name
        indexed = _indexed_outside(loop, assigned, names)
        after = _reads_after_loop(fn, loop)
        finals = [n for n in sorted(assigned) if n in after and n not in carried
                  and n != loop.target.id and n not in appended]
        body_name, carry = names.fresh("loop"), names.fresh("carry")
        items = list(appended.values())
        stacks = [names.fresh(f"{n}_all") for n in finals + items]
        stacked = tuple_of(finals + items) if finals or items \
            else gast.Constant(value=None, kind=None)
        statements = ([assign(carried, name_node(carry))] if carried else []) + loop.body + [
            gast.Return(value=gast.Tuple(elts=[tuple_of(carried), stacked], ctx=gast.Load()))]
        scan = dotted_call("tgr.scan", [
            name_node(body_name), tuple_of(carried),
            dotted_call("tgr.loop_indices", [loop.iter])])
        out = [assign(local, dotted_call("tgr.indexable", [name_node(outer)]))
               for outer, local in indexed.items()]
        out += [function(body_name, [carry, loop.target.id], statements),
               gast.Assign(targets=[gast.Tuple(elts=[
                   tuple_of(carried, True),
                   tuple_of(stacks, True) if stacks else name_node("_", True)],
                   ctx=gast.Store())],
                           value=scan, type_comment=None)]
        out += [assign(n, dotted_call("tgr.last", [name_node(st)]))
                for n, st in zip(finals, stacks)]
        out += [assign(n, dotted_call("tgr.extended", [name_node(n), name_node(st)]))
                for n, st in zip(appended, stacks[len(finals):])]
        if loop.target.id in after:   # its last value; as it was (or None) if none ran
            before = name_node(loop.target.id) if loop.target.id in bound_before(
                fn.body, loop, params) else gast.Constant(value=None, kind=None)
            out.append(assign(loop.target.id, dotted_call("tgr.last_step", [loop.iter, before])))
        replace(block, loop, [gast.copy_location(st, loop) for st in out])
        lowered += 1
    return lowered


def _indexed_outside(loop, assigned, names):
    """Values from before the loop that its body reads at an index involving the loop's
    index (traced in the scan): each is read from ``tgr.indexable(value)`` (a numpy array
    cannot take a traced index), under a fresh name; outer name -> that name."""
    found = {}
    for node in walk(loop):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) \
                and node.value.id not in assigned and node.value.id != loop.target.id \
                and any(isinstance(n, gast.Name) and n.id == loop.target.id
                        for n in walk(node.slice)):
            if node.value.id not in found:
                found[node.value.id] = names.fresh(f"{node.value.id}_indexable")
            node.value = name_node(found[node.value.id])
    return found


def _appended_lists(body):
    """Lists a forward loop's body appends one item to at its top level and reads nowhere
    else (``v = tgr.append(v, x)``): list -> the position of the append."""
    found = {}
    for k, stmt in enumerate(body):
        values = is_append(stmt)
        if values is not None:
            uses = sum(1 for s in body for n in walk(s) if isinstance(n, gast.Name)
                       and n.id == values)
            if uses == 2 and values not in found:
                found[values] = k
    return found


def _stack_appended(body, appended, names):
    """Each append of ``appended`` becomes ``item = x``, for the scan to stack the items
    (``tgr.extended`` appends them after it); list -> the item's name."""
    items = {}
    for values, k in appended.items():
        items[values] = names.fresh("item")
        body[k] = gast.copy_location(assign(items[values], body[k].value.args[1]), body[k])
    return items


class _AppendedList:
    """A list the primal loop appends one value to per iteration (``v = tgr.append(v, x)``),
    and the adjoint loop's matching ``g = bv; bv = g[:-1]; ... g[-1] ...``: rewritten so the
    primal scan stacks the items (``item = x``) and the adjoint scan reads one item's
    cotangent per iteration; ``undo`` puts the statements back."""

    def __init__(self, values, item, cotangent, item_cotangent, edits):
        self.values, self.item = values, item
        self.cotangent, self.item_cotangent = cotangent, item_cotangent
        self.edits = edits   # (block, index, old statements, new statements)

    def undo(self):
        for block, k, old, new in reversed(self.edits):
            block[k:k + len(new)] = old


def _appended_list(primal_loop, adjoint_loop, stack, names):
    body, abody = primal_loop.body, adjoint_loop.body
    appends = [(k, s) for k, s in enumerate(body) if is_append(s) is not None]
    if len(appends) != 1:
        return None
    k, append = appends[0]
    values = append.targets[0].id
    if sum(1 for n in walk(primal_loop) if isinstance(n, gast.Name) and n.id == values) != 2:
        return None   # the list is read (or pushed) elsewhere in the loop
    # the adjoint: g = bv; bv = g[:-1]; and g read only as g[-1]
    for j in range(len(abody) - 1):
        first, second = abody[j], abody[j + 1]
        if not (isinstance(first, gast.Assign) and isinstance(first.value, gast.Name)
                and isinstance(first.targets[0], gast.Name)
                and isinstance(second, gast.Assign) and isinstance(second.targets[0], gast.Name)
                and second.targets[0].id == first.value.id
                and _is_subscript(second.value, first.targets[0].id, "head")):
            continue
        g, cotangent = first.targets[0].id, first.value.id
        reads = [n for s in abody for n in walk(s) if isinstance(n, gast.Name) and n.id == g]
        lasts = [n for s in abody[j + 2:] for n in walk(s) if _is_subscript(n, g, "last")]
        uses = sum(1 for n in walk(adjoint_loop) if isinstance(n, gast.Name)
                   and n.id == cotangent)
        if len(reads) != 2 + len(lasts) or uses != 2:
            return None
        item, item_cotangent = names.fresh("item"), names.fresh(f"{g}_last")
        edits = [(body, k, [append], [assign(item, append.value.args[1])])]
        body[k:k + 1] = edits[0][3]
        later = [_Rename(g, item_cotangent).visit(s) for s in abody[j + 2:]]
        edits.append((abody, j, abody[j:], later))
        abody[j:] = later
        return _AppendedList(values, item, cotangent, item_cotangent, edits)
    return None


class _Rename(gast.NodeTransformer):
    """``g[-1]`` -> the item's cotangent name, inside adjoint statements (copies them)."""

    def __init__(self, name, replacement):
        self.name, self.replacement = name, replacement

    def visit_Subscript(self, node):
        if _is_subscript(node, self.name, "last"):
            return name_node(self.replacement)
        return self.generic_visit(node)

    def visit(self, node):
        return super().visit(clone(node)) if isinstance(node, gast.stmt) else super().visit(node)


class _ScanPairPlan:
    """What the two scans of one loop pair carry and stack."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _scan_pair_plan(fn, primal_loop, adjoint_loop, stack):
    """What the scans carry and stack (both bodies are straight-line: ``lower_loops``
    checked), or None when a push or pop is not at the top level."""
    body, abody = primal_loop.body, adjoint_loop.body
    pushes = [(k, push_value(s, stack)) for k, s in enumerate(body)
              if push_value(s, stack) is not None]
    pops = [(k, pop_target(s, stack)) for k, s in enumerate(abody)
            if pop_target(s, stack) is not None]
    # every stack operation must be one of these top-level pushes and pops
    uses = sum(1 for n in walk(primal_loop) if isinstance(n, gast.Name) and n.id == stack)
    if uses != len(pushes) or len(pops) != len(pushes) or \
            sum(1 for n in walk(adjoint_loop) if isinstance(n, gast.Name) and n.id == stack) \
            != len(pops):
        return None
    for (_, value), (_, target) in zip(pushes, reversed(pops)):
        if isinstance(value, gast.Name):
            if not (isinstance(target, gast.Name) and target.id == value.id):
                return None
        elif not isinstance(target, gast.Subscript):
            return None
    push_ids = {id(body[k]) for k, value in pushes if isinstance(value, gast.Name)}
    assigned = {n for s in body for n in stores(s)}
    carried = [n for n in read_first(body, skip=push_ids) if n in assigned]
    outside = _reads_outside(fn, [primal_loop, adjoint_loop])
    pushed_names = []
    for _, value in pushes:
        if isinstance(value, gast.Name) and value.id not in pushed_names:
            pushed_names.append(value.id)
    # names the primal body binds that code after the loops reads: their final values
    finals = [n for n in sorted(assigned) if n in outside and n != primal_loop.target.id]
    index_read = primal_loop.target.id in outside
    aassigned = {n for s in abody for n in stores(s)}
    acarried = [n for n in read_first(abody) if n in aassigned and n not in pushed_names]
    if any(n in outside and n not in acarried and n not in pushed_names
           and n != adjoint_loop.target.id for n in aassigned):
        return None   # an adjoint first bound inside the loop and read after it
    # the restores the adjoint reads before binding the name again (the others are dropped)
    live = set()
    for j, (k, target) in enumerate(pops):
        if not isinstance(target, gast.Name) or target.id in read_first(abody[k + 1:]):
            live.add(pushes[len(pushes) - 1 - j][0])
    return _ScanPairPlan(
        index_read=index_read, stack=stack, pushes=pushes, pops=pops, carried=carried,
        pushed=pushed_names, finals=finals, acarried=acarried, live=live,
        ends_read=[n for n in read_first(abody) if n in pushed_names],
        after=_reads_after_loop(fn, adjoint_loop), body_stores=_store_counts(body),
        placeholders=_placeholders(fn, [primal_loop, adjoint_loop]))


def _only_added(body, name):
    """Whether ``body`` uses ``name`` only to add into it (``b += e``, ``b = b + e``, ``e``
    not reading b), and does so at least once."""
    def mentions(node):
        return any(isinstance(n, gast.Name) and n.id == name for n in walk(node))
    adds = 0
    for stmt in body:
        if isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add) \
                and isinstance(stmt.target, gast.Name) and stmt.target.id == name:
            value = stmt.value
        elif isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == name \
                and isinstance(stmt.value, gast.BinOp) and isinstance(stmt.value.op, gast.Add) \
                and isinstance(stmt.value.left, gast.Name) and stmt.value.left.id == name:
            value = stmt.value.right
        else:
            if mentions(stmt):
                return False
            continue
        if mentions(value):
            return False
        adds += 1
    return adds > 0


def _store_counts(body):
    counts = {}
    for stmt in body:
        for name in stores(stmt):
            counts[name] = counts.get(name, 0) + 1
    return counts


def _reads_after_loop(fn, loop):
    """Names read by statements that come after ``loop`` in ``fn``'s source order."""
    order = statements_in_order(fn.body)
    inside = {id(n) for n in walk(loop)}
    position = next(k for k, stmt in enumerate(order) if stmt is loop)
    names = set()
    for stmt in order[position + 1:]:
        if id(stmt) in inside:
            continue
        for field in ("test", "value", "targets", "target", "iter", "args"):
            names.update(_loads_in(getattr(stmt, field, None)))
    return names


def _loads_in(node):
    if node is None:
        return []
    if isinstance(node, list):
        return [n for item in node for n in _loads_in(item)]
    return loads(node)


def _placeholders(fn, loops):
    """Names bound, outside ``loops``, only by ``name = None`` (slots the primal sweep fills)."""
    inside = {id(n) for loop in loops for n in walk(loop)}
    bound, other = set(), set()
    for node in walk(fn):
        if isinstance(node, gast.Assign) and id(node) not in inside:
            none = isinstance(node.value, gast.Constant) and node.value.value is None \
                and isinstance(node.targets[0], gast.Name)
            # `u, w = t` binds u too: it is no placeholder (its value before the loop is real)
            (bound if none else other).update(n.id for t in node.targets for n in walk(t)
                                              if isinstance(n, gast.Name))
    return bound - other


def _primal_scan(loop, plan, names):
    """The primal loop as ``def loopN(carry, i): ...`` and its ``jax.lax.scan`` call."""
    body_name = names.fresh("loop")
    index = loop.target.id
    carry = names.fresh("carry")
    statements = [assign(plan.carried, name_node(carry))] if plan.carried else []
    stacked = []            # (name inside the body, name of the stack after the scan)
    bound = set()           # names this iteration has bound so far
    from_before = []        # pushed names whose first push saves the value from before the loop
    plan.before = {}        # live push position -> ("stack", its stack) or ("shifted", name)
    shifted = set()
    for k, stmt in enumerate(loop.body):
        value = push_value(stmt, plan.stack) if k in dict(plan.pushes) else None
        if value is None:
            statements.append(stmt)
            bound.update(definite_stores(stmt))
            continue
        if isinstance(value, gast.Name) and value.id not in bound:
            if value.id not in plan.placeholders and value.id not in from_before:
                from_before.append(value.id)
            if value.id not in plan.carried or plan.body_stores.get(value.id) == 1:
                # bound once an iteration: its old value is the last iteration's new one
                if k in plan.live:
                    plan.before[k] = ("shifted", value.id)
                    shifted.add(value.id)
                continue
        if k not in plan.live:
            continue
        local = names.fresh(f"{value.id}_before" if isinstance(value, gast.Name) else "saved")
        statements.append(assign(local, value))
        stacked.append((local, names.fresh(f"{local}_all")))
        plan.before[k] = ("stack", stacked[-1][1])
    plan.ends = {}          # name -> stack of its values at the end of each iteration
    ends = [n for n in plan.pushed if n in plan.ends_read or n in shifted] + [
        n for n in plan.finals if n not in plan.carried and n not in plan.pushed]
    for name in ends + [n for n in plan.finals if n not in plan.carried and n not in ends]:
        stacked.append((name, names.fresh(f"{name}_all")))
        plan.ends[name] = stacked[-1][1]
    if plan.appended is not None:   # the appended items, stacked
        stacked.append((plan.appended.item, names.fresh(f"{plan.appended.item}_all")))
        plan.appended.items = stacked[-1][1]
    plan.ends_in_body = [n for n in plan.pushed if n in plan.ends_read]
    statements.append(gast.Return(value=gast.Tuple(
        elts=[tuple_of(plan.carried), tuple_of([inside for inside, _ in stacked])],
        ctx=gast.Load())))
    body_fn = function(body_name, [carry, index], statements)
    plan.indices = names.fresh("indices")
    out = [body_fn, assign(plan.indices, dotted_call("tgr.loop_indices", [loop.iter]))]
    scan = dotted_call("tgr.scan", [name_node(body_name), tuple_of(plan.carried),
                                         name_node(plan.indices)])
    target = gast.Tuple(elts=[tuple_of(plan.carried, True),
                              tuple_of([after for _, after in stacked], True)], ctx=gast.Store())
    out.append(gast.Assign(targets=[target], value=scan, type_comment=None))
    if plan.index_read:   # the index keeps its last value, as in Python
        out.append(assign(index, dotted_call("tgr.last_step", [loop.iter, name_node(index)])))
    if plan.appended is not None:   # the list with one item per iteration appended
        out.append(assign(plan.appended.values, dotted_call(
            "tgr.extended", [name_node(plan.appended.values), name_node(plan.appended.items)])))
    for name in plan.finals:   # values after the loop of names it binds but does not carry
        if name not in plan.carried:   # (a name bound before the loop keeps it if none ran)
            before = [name_node(name)] if name in from_before else []
            out.append(assign(name, dotted_call("tgr.last", [name_node(plan.ends[name])] + before)))
    plan.initial = {}          # pushed name -> its value before the loop
    plan.restore = [n for n in from_before if n in plan.after]
    for name in from_before:
        if name not in plan.restore and name not in shifted:
            continue
        plan.initial[name] = names.fresh(f"{name}_initial")
        out.insert(0, assign(plan.initial[name], name_node(name)))
    return [gast.copy_location(s, loop) for s in out]


def _adjoint_scan(loop, plan, names):
    """The adjoint loop as a reversed ``jax.lax.scan`` over the primal scan's stacks."""
    body_name = names.fresh("adjoint_loop")
    index = loop.target.id
    carry, xs = names.fresh("carry"), names.fresh("saved")
    xs_names = [index] + plan.ends_in_body
    xs_values = [name_node(plan.indices)] + [name_node(plan.ends[n]) for n in plan.ends_in_body]
    if plan.appended is not None and plan.appended.item_cotangent is not None:
        # the cotangents of the items this loop appended
        xs_names.append(plan.appended.item_cotangent)
        xs_values.append(dotted_call("tgr.last_items", [name_node(plan.appended.cotangent),
                                                          name_node(plan.indices)]))
    pre = {}                   # push position -> the name that holds its value in the body
    out = []
    for k, (kind, source) in plan.before.items():
        local = names.fresh("restored")
        pre[k] = local
        xs_names.append(local)
        if kind == "stack":
            xs_values.append(name_node(source))
        else:
            initial = plan.initial.get(source)
            xs_values.append(dotted_call("tgr.shifted", [
                name_node(plan.ends[source]), name_node(initial) if initial else
                gast.Constant(value=None, kind=None)]))
    statements = []
    if plan.acarried:
        statements.append(assign(plan.acarried, name_node(carry)))
    statements.append(assign(xs_names, name_node(xs)))
    push_positions = [k for k, _ in plan.pushes]
    pop_positions = {id(s): push_positions[len(push_positions) - 1 - j]
                     for j, (i, s) in enumerate((i, loop.body[i]) for i, _ in plan.pops)}
    for stmt in loop.body:
        position = pop_positions.get(id(stmt))
        if position is None:
            statements.append(stmt)
        elif position in pre:
            statements.append(gast.Assign(targets=stmt.targets, value=name_node(pre[position]),
                                          type_comment=None))
    statements.append(gast.Return(value=gast.Tuple(
        elts=[tuple_of(plan.acarried), gast.Constant(value=None, kind=None)], ctx=gast.Load())))
    body_fn = function(body_name, [carry, xs], statements)
    keywords = [gast.keyword(arg="reverse", value=gast.Constant(value=True, kind=None))]
    if plan.acarried and all(_only_added(statements[1:-1], n) for n in plan.acarried):
        # every iteration adds into the carry, none reads it: tgr.scan may batch them
        keywords.append(gast.keyword(arg="added", value=gast.Constant(value=True, kind=None)))
    scan = dotted_call("tgr.scan", [name_node(body_name), tuple_of(plan.acarried),
                                    gast.Tuple(elts=xs_values, ctx=gast.Load())], keywords)
    target = gast.Tuple(elts=[tuple_of(plan.acarried, True), name_node("_", True)],
                        ctx=gast.Store())
    out.append(body_fn)
    out.append(gast.Assign(targets=[target], value=scan, type_comment=None))
    for name in plan.restore:   # the stack would have restored these
        out.append(assign(name, name_node(plan.initial[name])))
    if plan.appended is not None and plan.appended.cotangent in plan.after:
        cotangent = plan.appended.cotangent   # the list's cotangent as it was before the loop
        out.append(assign(cotangent, dotted_call("tgr.without_last_items", [
            name_node(cotangent), name_node(plan.indices)])))
    return [gast.copy_location(s, loop) for s in out]
