"""The reverse pass's builder: the primal sweep (saving what it overwrites) and the adjoint
sweep (statements backwards, each active one's rule applied, adjoints accumulated)."""


import operator

import gast
import numpy as np

from .. import ir
from ..ir import assign, clone, comment, name, pop, push, tgr_call, walk
from ..rules import CallableSet, lookup_vjp
from .activity import activity, stack_names, useless_statements
from .normalize import stack_operation
from .reverse_blocks import (
    block_locals,
    first_definitions,
    loop_body_classes,
    overwritable_names,
    receivers,
    recomputable,
)
from .reverse_calls import UserCalls
from .reverse_rules import RuleApplication
from .reverse_subscripts import SubscriptAdjoints, indexed_receivers
from .shapes import is_scalar_operand, scalar_names, shape_classes

# statements whose adjoint multiplies the incoming one by no value of the program
_LINEAR = CallableSet({ir.COPY, ir.PACK, operator.getitem, getattr, operator.add, operator.sub,
           operator.neg, operator.pos, np.sum, np.mean, np.reshape, np.transpose, np.ravel,
           np.squeeze, np.expand_dims, np.stack, np.concatenate, np.broadcast_to, np.swapaxes,
           np.moveaxis})


def _poisons(stmt):
    """Whether the statement's rule may multiply its adjoint by a value of the program (which
    may be inf where a path not taken overflowed): not for sums, copies, reshapes, and
    products with a constant."""
    prim = ir.primitive(stmt.value)
    if prim.func in (operator.mul, operator.truediv) and len(prim.args) == 2 \
            and isinstance(prim.args[1 if prim.func is operator.truediv else 0], gast.Constant):
        return False
    if prim.func is operator.mul and isinstance(prim.args[1], gast.Constant):
        return False
    return prim.func not in _LINEAR


class ReverseBuilder(UserCalls, SubscriptAdjoints, RuleApplication):
    """Emits the primal sweep (with stack pushes) and the adjoint sweep of one function.

    Values that a loop or branch overwrites and that the adjoint reads are pushed on a stack
    before each overwrite and popped back in the adjoint sweep; values assigned once need no
    stack. Adjoints of variables whose contributions happen inside a loop or branch start as
    ``0.0`` just before it; all others are created by their first contribution.

    Generated code (a derivative differentiated again) has a stack of its own; when it is
    active, its adjoint is a stack of adjoints ``b<stack>``, run the other way: where the code
    pops ``v = stack.pop()``, the adjoint sweep pushes ``bv`` (``0.0`` when v has none, so
    every push finds its entry); where it pushes ``stack.append(u)``, the adjoint sweep pops
    that entry back into ``bu``.

    Its methods for user calls, subscripts and rules live in ``reverse_calls``,
    ``reverse_subscripts`` and ``reverse_rules``.
    """

    def __init__(self, info, tree, wrt_names, context, scalar_params=(), overwritable=None):
        self.info = info
        self.tree = tree
        self.context = context   # the pipeline's: the namer, how to build a callee's pair
        self.namer = context.namer
        self.active = activity(tree, wrt_names)
        # assignments whose values reach the output on no path: no adjoint code (by statement,
        # where `active` is by name), so their zero adjoint meets no infinite derivative
        self.useless = set() if info.generated else (useless_statements(tree) or set())
        self.classes = shape_classes(tree)
        # within a loop body: the classes after each statement (`t7 = h ** 2`: h's shape)
        self.body_classes = loop_body_classes(tree, is_scalar_operand)
        self.here = ({}, {})        # the classes where the statement being visited stands
        self.scalars = scalar_names(tree, scalar_params) if scalar_params else set()
        overwritable = overwritable_names(tree) if overwritable is None else overwritable
        # `row = xs[t]` in a loop: the adjoint loop computes it again rather than saving it
        self.recomputed = recomputable(tree, overwritable)
        recomputed = {v for per_loop in self.recomputed.values() for v in per_loop}
        self.overwritable = set(overwritable) - (recomputed & block_locals(
            tree.body, {a.id for a in walk(tree.args) if isinstance(a, gast.Name)})["all"])
        self.recomputed = {loop: {v: s for v, s in per_loop.items()
                                  if v not in self.overwritable}
                           for loop, per_loop in self.recomputed.items()}
        # every overwritable value is saved while the sweeps are built; then `keep_read_saves`
        # (reverse_saves.py) keeps the pushes and pops of those the adjoint reads
        self.saved = set(self.overwritable)
        self.while_targets = []     # (target, loop) of each adjoint `for _ in range(trips)`
        self.stack = None
        self.adjoints = {}          # variable -> its adjoint's name
        self.exists = set()         # adjoints certainly defined at this point of the sweep
        # a parameter's adjoint is returned at the end: never local to a block
        self.locals = block_locals(tree.body, {a.id for a in walk(tree.args)
                                               if isinstance(a, gast.Name)})
        self.first_defs = first_definitions(tree)
        self.owned = set()          # adjoints that are arrays this code allocated (in-place ok)
        # adjoints that may still be the scalar 0.0 they start from here (the value did not
        # reach the output on the path taken): made zeros of the value's shape before a rule
        # reads them (`tgr.shaped_zero`), since rules may read the cotangent's shape
        self.maybe_zero = set()
        self.guard = False          # the statement's rule runs only where its adjoint is reached
        self.split = None           # (var, g): var's adjoint restarts as a view of owned g
        self.calls = {}             # id(call statement) -> UserCall, for user functions
        self.hooks = {}             # variable -> `with tg.grad_of(variable)` blocks waiting
        self.out = []
        # the active stacks of generated code, whose adjoints are stacks of adjoints
        self.stacks = stack_names(tree) & self.active if info.generated else set()

    # --- accumulation -----------------------------------------------------------------------
    def adjoint_name(self, var):
        if var not in self.adjoints:
            self.adjoints[var] = self.namer.adjoint(var)
        return self.adjoints[var]

    def accumulate(self, var, contribution):
        """``bvar = c`` for the first contribution, ``bvar = bvar + c`` after."""
        target = self.adjoint_name(var)
        self.maybe_zero.discard(var)
        if var not in self.exists:
            self.exists.add(var)
            self.owned.discard(var)   # may alias the contribution
            if self.split is not None and self.split[0] == var \
                    and isinstance(contribution, gast.Subscript) \
                    and isinstance(contribution.value, gast.Name) \
                    and contribution.value.id == self.split[1]:
                self.owned.add(var)   # a view of the array it owned (``adjoint_of``)
            self.out.append(assign(target, contribution))
        elif var in self.owned:       # an array this code allocated: add in place
            self.out.append(gast.AugAssign(target=name(target, store=True), op=gast.Add(),
                                           value=contribution))
        else:
            self.owned.add(var)       # a sum is a fresh array
            self.out.append(assign(target, gast.BinOp(left=name(target), op=gast.Add(),
                                                      right=contribution)))

    def same_shape(self, a, b):
        if a in self.scalars and b in self.scalars:
            return True
        here = self.here[0]
        if a in here and here.get(a) == here.get(b):
            return True
        return a in self.classes and self.classes.get(a) == self.classes.get(b)

    def shape_source(self, var):
        """A name certainly of var's shape where the statement being visited stands, whose
        value the adjoint reads anyway (the operand var was computed from elementwise: h for
        ``t7 = h ** 2``), so that a rule reading ``np.shape(t7)`` leaves t7 unsaved; var
        itself when there is none."""
        classes, parent = self.here
        source = parent.get(var)
        if source is not None and classes.get(source) == classes.get(var):
            return source
        return var

    def stack_name(self):
        if self.stack is None:
            self.stack = self.namer.unique("stack")
        return self.stack

    def adjoint_stacks(self):
        """``bstack = []`` for each active stack of generated code: the adjoint sweep's start."""
        return [assign(self.adjoint_name(s), gast.List(elts=[], ctx=gast.Load()))
                for s in sorted(self.stacks)]

    # --- the primal sweep -------------------------------------------------------------------
    def primal(self, body):
        """``body`` with a push before each overwrite of a saved variable."""
        out = []
        for stmt in body:
            if isinstance(stmt, gast.Return):
                continue
            if ir.set_item(stmt) is not None:
                array, index = ir.set_item(stmt)
                old = gast.Subscript(value=name(array), slice=clone(index), ctx=gast.Load())
                out.append(gast.Expr(value=gast.Call(
                    func=gast.Attribute(value=name(self.stack_name()), attr="append",
                                        ctx=gast.Load()),
                    args=[tgr_call("copy_value", old)], keywords=[])))
                out.append(stmt)
                continue
            if isinstance(stmt, gast.Assign):
                call = self.user_call(stmt)
                for var in ir.assigned(stmt):
                    if var in self.saved and self.needs_save(stmt):
                        out.append(gast.Expr(value=gast.Call(
                            func=gast.Attribute(value=name(self.stack_name()), attr="append",
                                                ctx=gast.Load()),
                            args=[name(var)], keywords=[])))
                        out[-1].saves = var
                if call is None:
                    out.append(stmt)
                    continue
                out.append(call.forward_statement(stmt))
                if call.tape_saved:
                    out.append(gast.Expr(value=gast.Call(
                        func=gast.Attribute(value=name(self.stack_name()), attr="append",
                                            ctx=gast.Load()),
                        args=[name(call.tape)], keywords=[])))
            elif isinstance(stmt, gast.With):
                continue   # tg.grad_of blocks run in the adjoint sweep only
            elif isinstance(stmt, (gast.If, gast.For, gast.While)):
                node = clone_shallow(stmt)
                node.body = self.primal(stmt.body) or [gast.Pass()]
                node.orelse = self.primal(stmt.orelse)
                out.append(node)
            else:
                out.append(stmt)
        return out

    # --- the adjoint sweep ------------------------------------------------------------------
    def seed(self, ret_value, seed_expr):
        """Give the returned value(s) their cotangent ``seed_expr``."""
        if isinstance(ret_value, gast.Name) and ret_value.id in self.active:
            self.accumulate(ret_value.id, seed_expr)
        elif isinstance(ret_value, (gast.Tuple, gast.List)):   # nested: (value, (a, b))
            for i, elt in enumerate(ret_value.elts):
                if self.active.intersection(ir.operand_names(elt)):
                    self.seed(elt, gast.Subscript(value=clone(seed_expr),
                                                  slice=gast.Constant(value=i, kind=None),
                                                  ctx=gast.Load()))

    def sweep(self, body):
        """The adjoint statements of ``body``, in execution order, each tagged with the
        statement it is the adjoint of (``adjoint_of``: the ``# grad of line`` comments are
        placed from these once the saves are settled)."""
        outer, self.out = self.out, []
        for stmt in reversed(body):
            start = len(self.out)
            if isinstance(stmt, gast.Assign):
                for var in ir.assigned(stmt):
                    self.run_hooks(var)
                self.visit(stmt)
            elif isinstance(stmt, (gast.If, gast.For, gast.While)):
                self.visit_compound(stmt)
            elif isinstance(stmt, gast.With):
                self.hooks.setdefault(stmt.grad_of, []).append(stmt)
                continue
            elif isinstance(stmt, gast.Expr) and self.stacks:
                self.visit_push(stmt)
            for emitted in self.out[start:]:
                emitted.adjoint_of = stmt
        result, self.out = self.out, outer
        return result

    def run_hooks(self, var):
        """``with tg.grad_of(var) as gv:`` blocks run here, where var's adjoint is complete;
        what they leave in ``gv`` becomes the adjoint."""
        for hook in self.hooks.pop(var, []):
            if var in self.exists and var in self.active:
                self.out.append(assign(hook.alias, name(self.adjoints[var])))
            else:
                self.out.append(assign(hook.alias, tgr_call("zeros_like_value", name(var))))
            self.out.append(comment(f"with tg.grad_of({var}) as {hook.alias}: "
                                    f"(line {hook.lineno})"))
            self.out.extend(clone(hook.body))
            if var in self.active:
                self.exists.add(var)
                self.owned.discard(var)
                self.out.append(assign(self.adjoint_name(var), name(hook.alias)))

    def visit_compound(self, stmt):
        """if/for/while: adjoints receiving contributions inside start at 0.0 before it."""
        local = self.locals.get(id(stmt), set())
        indexed = indexed_receivers(stmt, self.active)
        looped = isinstance(stmt, (gast.For, gast.While))
        for var in sorted(receivers(stmt, self.active, self.stacks) - self.exists - local):
            self.exists.add(var)
            if var in indexed or looped:
                # updated again and again below: own a zero array, add into it in place
                self.owned.add(var)
                zero = tgr_call("zeros_like_value", name(var))
            else:
                zero = gast.Constant(value=0.0, kind=None)
                self.maybe_zero.add(var)
            self.out.append(assign(self.adjoint_name(var), zero))
        for var in sorted((indexed & self.exists) - self.owned - local):
            # updated element by element inside: own a copy once, not once per iteration
            self.out.append(assign(self.adjoints[var], tgr_call(
                "owned_copy", name(self.adjoints[var]), name(var))))
            self.owned.add(var)
        before, owned = set(self.exists), set(self.owned)
        zero = set(self.maybe_zero)
        if isinstance(stmt, gast.If):
            body = self.sweep(stmt.body)
            owned_after, zero_after = set(self.owned), self.maybe_zero
            self.exists, self.owned, self.maybe_zero = set(before), set(owned), set(zero)
            orelse = self.sweep(stmt.orelse)
            self.exists, self.owned = before, self.owned & owned_after
            self.maybe_zero |= zero_after
            if body or orelse:
                self.out.append(gast.If(test=clone(stmt.test), body=body or [gast.Pass()],
                                        orelse=orelse))
                self.out[-1].adjoint_block = True
            return
        while True:
            body = self.sweep(stmt.body)
            lost = owned - self.owned   # the next iteration may not assume these are owned
            zeroed = self.maybe_zero - zero   # nor that these have reached their shape
            self.exists = set(before)
            if not lost and not zeroed:
                break
            owned -= lost
            zero |= zeroed
            self.owned, self.maybe_zero = set(owned), set(zero)
        self.owned = owned
        self.maybe_zero |= zero   # the loop may run no iteration
        if not body:
            return
        trips = getattr(stmt, "trip_count", None)
        if isinstance(stmt, gast.For):
            steps = clone(stmt.iter)
            if trips is not None:
                steps = gast.Subscript(value=steps, slice=gast.Slice(
                    lower=None, upper=name(trips), step=None), ctx=gast.Load())
            iterator = gast.Call(func=name("reversed"), args=[steps], keywords=[])
            target = clone(stmt.target)
        else:
            iterator = gast.Call(func=name("range"), args=[name(trips)], keywords=[])
            target = name("_", store=True)   # named once the saves are settled
        read = {n.id for part in body for n in walk(part)
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        body[:0] = [clone(again) for var, again in
                    self.recomputed.get(id(stmt), {}).items() if var in read]
        loop = gast.For(target=target, iter=iterator, body=body, orelse=[], type_comment=None)
        loop.adjoint_block = True
        if isinstance(stmt, gast.While):
            self.while_targets.append((target, loop))
        self.out.append(loop)

    def needs_save(self, stmt):
        """False for a first definition (no value before it) and for trip counters."""
        return id(stmt) not in self.first_defs and not getattr(stmt, "counter_step", False)

    def emit_pop(self, var, stmt):
        if self.needs_save(stmt):   # else nothing was pushed
            self.out.append(self.pop_into(var))
            self.out[-1].restores = var

    def pop_into(self, var):
        return assign(var, gast.Call(func=gast.Attribute(
            value=name(self.stack_name()), attr="pop", ctx=gast.Load()), args=[], keywords=[]))

    def visit(self, stmt):
        if ir.set_item(stmt) is not None:
            return self.visit_set_item(stmt)
        target = stmt.targets[0]
        if isinstance(target, gast.Tuple):
            if id(stmt) not in self.useless:
                self.visit_unpack(stmt)
            for var in reversed(ir.assigned(stmt)):
                if var in self.saved:
                    self.emit_pop(var, stmt)
            return
        var = target.id
        stack = stack_operation(stmt.value, "pop")
        if stack is not None and stack.id in self.stacks:
            return self.visit_pop(stmt, var, stack.id)
        call = self.user_call(stmt)
        if call is not None and call.tape_saved:
            self.out.append(self.pop_into(call.tape))
        if var not in self.active or var not in self.exists or id(stmt) in self.useless:
            if var in self.saved:
                self.emit_pop(var, stmt)
            return
        # bvar may still be the 0.0 it starts from (var reached the output on no path taken):
        # the rule runs only where it did (`rule`), so it needs no zeros of var's shape either
        self.guard = var in self.maybe_zero and self.context.backend == "numpy" \
            and _poisons(stmt)
        if self.guard:
            self.maybe_zero.discard(var)
        self.here = self.body_classes.get(id(stmt), ({}, {}))
        try:
            self.adjoint_of(stmt, var)
        finally:
            self.guard = False
            self.here = ({}, {})

    def adjoint_of(self, stmt, var):
        """The adjoint of ``var = ...`` (var active, its adjoint defined)."""
        self.shape_zero(var)
        g, ans = name(self.adjoints[var]), name(var)
        reads_itself = var in ir.names_in(stmt.value)
        if reads_itself and (var in self.saved or var in self.overwritable):
            # x = f(x): the rule needs the new value (ans) and the old one (operand)
            g = name(self.namer.temp("g"))
            self.out.append(assign(g.id, name(self.adjoints[var])))
            rule = lookup_vjp(ir.primitive(stmt.value).func)
            if var in self.saved:
                if rule is not None and rule.uses_ans:
                    ans = name(self.namer.temp("ans"))
                    self.out.append(assign(ans.id, name(var)))
                self.emit_pop(var, stmt)
            if var in self.owned and getattr(rule, "splits", False) and not self.guard:
                # its part of g (`g[:-1]`) is a view of the array it owned: own it again,
                # without `bvar = 0.0; bvar = bvar + g[:-1]` copying it each time
                self.owned.discard(var)
                self.exists.discard(var)
                self.split = (var, g.id)
            else:
                self.restart(var)
            self.rule(stmt, g, ans)
            self.split = None
            return
        self.rule(stmt, g, ans)
        if var in self.saved:
            self.emit_pop(var, stmt)
        if var in self.overwritable:
            self.restart(var)
        else:
            self.exists.discard(var)

    def rule(self, stmt, g, ans):
        """``apply_rule``; where guarded (``visit``), inside ``if not tgr.unreached(g):``, so a
        value that overflowed on a path not taken gives no 0 * inf = nan (as with jax.grad,
        which traces only the path taken). The other path starts at 0.0 the operands'
        adjoints the rule would start."""
        if not self.guard:
            return self.apply_rule(stmt, g, ans)
        exists, owned, zero = set(self.exists), set(self.owned), set(self.maybe_zero)
        outer, self.out = self.out, []
        self.apply_rule(stmt, g, ans)
        body, self.out = self.out, outer
        if not body:
            return
        made = sorted(self.exists - exists)
        self.out.append(gast.If(
            test=gast.UnaryOp(op=gast.Not(), operand=tgr_call("unreached", g)), body=body,
            orelse=[assign(self.adjoints[v], gast.Constant(value=0.0, kind=None))
                    for v in made]))
        self.owned = (self.owned & owned) - set(made)
        self.maybe_zero |= zero | set(made)

    def visit_pop(self, stmt, var, stack):
        """``v = stack.pop()`` of generated code: v's adjoint goes on the stack of adjoints,
        for the push that saved the value to take back; the value before the pop has an
        adjoint of its own."""
        has_adjoint = var in self.active and var in self.exists
        self.out.append(push(self.adjoint_name(stack), name(self.adjoints[var]) if has_adjoint
                             else gast.Constant(value=0.0, kind=None)))
        if var in self.saved:
            self.emit_pop(var, stmt)
        if not has_adjoint:
            return
        if var in self.overwritable:
            self.restart(var)
        else:
            self.exists.discard(var)

    def visit_push(self, stmt):
        """``stack.append(u)`` of generated code: ``bu`` takes back the entry of the stack of
        adjoints that the pop of this value left (a constant's is dropped)."""
        stack = stack_operation(stmt.value, "append")
        if stack is None or stack.id not in self.stacks:
            return
        entry = pop(self.adjoint_name(stack.id))
        value = stmt.value.args[0]
        if isinstance(value, gast.Name) and value.id in self.active:
            zero = value.id not in self.exists or value.id in self.maybe_zero
            self.accumulate(value.id, entry)
            self.owned.discard(value.id)   # the entry may be 0.0: `0.0 + 0.0` is no array
            if zero:
                self.maybe_zero.add(value.id)
        else:
            self.out.append(gast.Expr(value=entry))

    def restart(self, var):
        """The value before an overwrite has an adjoint of its own, starting from zero."""
        self.owned.discard(var)
        if var in self.locals.get("all", set()):
            self.exists.discard(var)
        else:
            self.out.append(assign(self.adjoints[var], gast.Constant(value=0.0, kind=None)))
            self.maybe_zero.add(var)

    def shape_zero(self, var):
        """``bvar = tgr.shaped_zero(bvar, var)`` where bvar may still be the scalar 0.0: the
        rule about to read it gets zeros of var's shape (var holds the statement's value)."""
        if var in self.maybe_zero:
            self.maybe_zero.discard(var)
            if var not in self.scalars:
                self.out.append(assign(self.adjoints[var], tgr_call(
                    "shaped_zero", name(self.adjoints[var]), name(var))))
    def visit_unpack(self, stmt):
        """``a, b = t``: the cotangent of t is the tuple of theirs (zeros where none)."""
        elts = stmt.targets[0].elts
        if not any(e.id in self.exists and e.id in self.active for e in elts):
            return
        for e in elts:
            if e.id in self.exists and e.id in self.active:
                self.shape_zero(e.id)
        parts = [name(self.adjoints[e.id]) if e.id in self.exists and e.id in self.active
                 else tgr_call("zeros_like_value", name(e.id)) for e in elts]
        for var in ir.operand_names(stmt.value):
            if var in self.active:   # an array's rows were unpacked: stacked back
                self.accumulate(var, tgr_call("unpacked_cotangent",
                                              gast.Tuple(elts=parts, ctx=gast.Load()), name(var)))
        for e in elts:
            if e.id in self.overwritable and e.id in self.exists:
                self.restart(e.id)
            else:
                self.exists.discard(e.id)


def clone_shallow(stmt):
    node = type(stmt)(**{f: getattr(stmt, f) for f in stmt._fields})
    for attr in ("origin", "trip_count", "lineno", "col_offset"):
        if hasattr(stmt, attr):
            setattr(node, attr, getattr(stmt, attr))
    return node
