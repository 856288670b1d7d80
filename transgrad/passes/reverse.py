"""Build the reverse-mode gradient of a normalized function (a transformation).

The primal statements run first; then the adjoint sweep visits them backwards and, for each
active one, inlines the derivative rule of its primitive, accumulating into ``b<name>``::

    def f(x, w):                      def df(x, w):
        t1 = np.tanh(x)                   t1 = np.tanh(x)
        t2 = t1 * w               ->      t2 = t1 * w
        t3 = np.sum(t2)                   t3 = np.sum(t2)
        return t3                         bt3 = 1.0
                                          # grad of line 2: return np.sum(np.tanh(x) * w)
                                          bt2 = np.broadcast_to(bt3, np.shape(t2))
                                          bt1 = tgr.unbroadcast_to(bt2 * w, t1)
                                          bx = bt1 * (1 - t1 ** 2)
                                          return tgr.match(bx, x)

(``optimize`` then drops the seed, the broadcast and the unused ``t3``.) Broadcasting is
undone here, once: a contribution from a broadcasting rule is summed back to its operand's
shape unless the shapes analysis proves they are equal. Loops, branches, calls and in-place
updates are described in ``docs/design.md``.
"""


import copy
import inspect
import operator

import gast
import numpy as np

from .. import ir
from ..ir import clone, index_value, walk
from ..rules import is_nondifferentiable, lookup_vjp
from ..rules.generated import check_source_differentiable
from ..template import inline
from .activity import activity, assignments, differentiable, stack_names, stack_pushes
from .normalize import stack_operation
from .over_generated import check_reverse_over_generated
from .shapes import overwritten_names, scalar_names, shape_classes

COMMENT = "__comment__"


def comment(text):
    """A statement that codegen prints as ``# text``."""
    return gast.Expr(value=gast.Call(func=gast.Name(id=COMMENT, ctx=gast.Load(), annotation=None,
                                                    type_comment=None),
                                     args=[gast.Constant(value=text, kind=None)], keywords=[]))


def name(id_, store=False):
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(), annotation=None,
                     type_comment=None)


def tgr_call(func, *args):
    return gast.Call(func=gast.Attribute(value=name("tgr"), attr=func, ctx=gast.Load()),
                     args=list(args), keywords=[])


def assign(target, value):
    return gast.Assign(targets=[name(target, store=True)], value=value, type_comment=None)


def push(stack, value):
    """``stack.append(value)``"""
    return gast.Expr(value=gast.Call(func=gast.Attribute(value=name(stack), attr="append",
                                                         ctx=gast.Load()),
                                     args=[value], keywords=[]))


def pop(stack):
    """``stack.pop()``"""
    return gast.Call(func=gast.Attribute(value=name(stack), attr="pop", ctx=gast.Load()),
                     args=[], keywords=[])


class ReverseBuilder:
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
    """

    def __init__(self, info, tree, wrt_names, namer, saved=None, scalar_params=(),
                 reassigned=None):
        self.info = info
        self.tree = tree
        self.namer = namer
        self.active = activity(tree, wrt_names)
        self.classes = shape_classes(tree)
        self.scalars = scalar_names(tree, scalar_params) if scalar_params else set()
        self.reassigned = reassigned_names(tree) if reassigned is None else reassigned
        # pass 1 saves every reassigned name; the caller then keeps only those the adjoint reads
        self.saved = self.reassigned if saved is None else saved
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
            self.out.append(assign(target, contribution))
        elif var in self.owned:       # an array this code allocated: add in place
            self.out.append(gast.AugAssign(target=name(target, store=True), op=gast.Add(),
                                           value=contribution))
        else:
            self.owned.add(var)       # a sum is a fresh array
            self.out.append(assign(target, gast.BinOp(left=name(target), op=gast.Add(),
                                                      right=contribution)))

    def accumulate_at(self, var, index, contribution):
        """The adjoint of ``y = x[index]``: add into ``bx`` in place when this code owns it."""
        target = self.adjoint_name(var)
        if var in self.owned:
            base = name(target)
        elif var in self.exists:
            base = gast.BinOp(left=name(target), op=gast.Add(),
                              right=tgr_call("zeros_like_value", name(var)))
        else:
            base = tgr_call("zeros_like_value", name(var))
        self.exists.add(var)
        self.owned.add(var)
        self.maybe_zero.discard(var)
        self.out.append(assign(target, tgr_call("add_at", base, index_value(clone(index)),
                                                contribution)))

    def same_shape(self, a, b):
        if a in self.scalars and b in self.scalars:
            return True
        return a in self.classes and self.classes.get(a) == self.classes.get(b)

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
        """The adjoint statements of ``body``, in execution order."""
        outer, self.out = self.out, []
        current_origin = None
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
            origin = getattr(stmt, "origin", None)
            if len(self.out) > start and origin is not None and origin is not current_origin \
                    and not isinstance(stmt, (gast.If, gast.For, gast.While)):
                current_origin = origin
                line = self.info.line(origin.lineno).strip()
                self.out.insert(start, comment(f"grad of line {origin.lineno}: {line}"))
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
            target = name(self.namer.unique("_"), store=True)
        self.out.append(gast.For(target=target, iter=iterator, body=body, orelse=[],
                                 type_comment=None))

    def user_call(self, stmt):
        """The UserCall for an active call of a Python function without a rule, else None."""
        key = id(stmt)
        if key in self.calls:
            return self.calls[key]
        self.calls[key] = None
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)):
            return None
        prim = ir.primitive(stmt.value)
        func, receiver = prim.func, None
        if inspect.ismethod(func) and inspect.isfunction(func.__func__) \
                and lookup_vjp(func) is None:   # obj.method(...) on a global object
            func, receiver = func.__func__, func.__self__
        if not inspect.isfunction(func) or lookup_vjp(func) is not None \
                or is_nondifferentiable(func) or not self.active.intersection(ir.assigned(stmt)):
            return None
        check_source_differentiable(func, "reverse-mode")   # a helper of generated code
        from ..parse import check_callee_source
        check_callee_source(func, self.info, stmt.origin)   # exec(): name the call instead
        params = list(inspect.signature(func).parameters)
        offset = 0 if receiver is None else 1
        positions, operands = [], []
        for i, arg in enumerate(prim.args):
            if isinstance(arg, gast.Name) and arg.id in self.active:
                positions.append(i + offset)
                operands.append(arg.id)
            elif self.active.intersection(ir.operand_names(arg)):
                raise self.info.error("pass differentiable values to user functions one by one",
                                      stmt.origin, hint="bind the list or tuple to a name first")
        for key_name, arg in prim.kwargs.items():
            if isinstance(arg, gast.Name) and arg.id in self.active:
                if key_name not in params:
                    raise self.info.error(f"`{func.__name__}` has no parameter `{key_name}`",
                                          stmt.origin)
                positions.append(params.index(key_name))
                operands.append(arg.id)
        if not positions:
            return None
        from ..api import split  # the callee is built by the same pipeline
        pair = split(func, tuple(positions))
        tape = self.namer.temp("tape")
        saved = bool(self.reassigned.intersection(ir.assigned(stmt)))
        self.calls[key] = UserCall(pair, tape, operands, saved, receiver)
        return self.calls[key]

    def needs_save(self, stmt):
        """False for a first definition (no value before it) and for trip counters."""
        return id(stmt) not in self.first_defs and not getattr(stmt, "counter_step", False)

    def emit_pop(self, var, stmt):
        if self.needs_save(stmt):   # else nothing was pushed
            self.out.append(self.pop(var))

    def pop(self, var):
        return assign(var, gast.Call(func=gast.Attribute(
            value=name(self.stack_name()), attr="pop", ctx=gast.Load()), args=[], keywords=[]))

    def visit_set_item(self, stmt):
        """``y[i] = v``: v gets ``by[i]``, which then restarts at zero; y's old elements come
        back from the stack."""
        array, index = ir.set_item(stmt)
        stack = stack_operation(stmt.value, "pop")
        stack = stack.id if stack is not None and stack.id in self.stacks else None
        if stack is not None and not (array in self.active and array in self.exists):
            self.out.append(push(self.adjoint_name(stack), gast.Constant(value=0.0, kind=None)))
        if array in self.active and array in self.exists:
            self.shape_zero(array)
            if basic_index(index):
                part = tgr_call("copy_value", gast.Subscript(
                    value=name(self.adjoints[array]), slice=clone(index), ctx=gast.Load()))
            else:   # an index that may repeat an element: only the write numpy kept counts
                part = tgr_call("stored_part", name(self.adjoints[array]),
                                index_value(clone(index)))
            value = stmt.value
            if stack is not None:   # y[i] = stack.pop() of generated code
                self.out.append(push(self.adjoint_name(stack), part))
            elif isinstance(value, gast.Name) and value.id in self.active:
                self.accumulate(value.id, tgr_call("unbroadcast_to", part, name(value.id)))
            if array not in self.owned:
                self.out.append(assign(self.adjoints[array], tgr_call(
                    "owned_copy", name(self.adjoints[array]), name(array))))
                self.owned.add(array)
            zero = gast.Subscript(value=name(self.adjoints[array]), slice=clone(index),
                                  ctx=gast.Store())
            self.out.append(gast.Assign(targets=[zero], value=gast.Constant(value=0.0, kind=None),
                                        type_comment=None))
        restore = gast.Subscript(value=name(array), slice=clone(index), ctx=gast.Store())
        self.out.append(gast.Assign(targets=[restore], value=gast.Call(func=gast.Attribute(
            value=name(self.stack_name()), attr="pop", ctx=gast.Load()), args=[], keywords=[]),
            type_comment=None))

    def visit(self, stmt):
        if ir.set_item(stmt) is not None:
            return self.visit_set_item(stmt)
        target = stmt.targets[0]
        if isinstance(target, gast.Tuple):
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
            self.out.append(self.pop(call.tape))
        if var not in self.active or var not in self.exists:
            if var in self.saved:
                self.emit_pop(var, stmt)
            return
        self.shape_zero(var)
        g, ans = name(self.adjoints[var]), name(var)
        reads_itself = var in ir.names_in(stmt.value)
        if var in self.saved and reads_itself:
            # x = f(x): the rule needs the new value (ans) and the old one (operand)
            g = name(self.namer.temp("g"))
            self.out.append(assign(g.id, name(self.adjoints[var])))
            rule = lookup_vjp(ir.primitive(stmt.value).func)
            if rule is not None and rule.uses_ans:
                ans = name(self.namer.temp("ans"))
                self.out.append(assign(ans.id, name(var)))
            self.emit_pop(var, stmt)
            self.restart(var)
            self.apply_rule(stmt, g, ans)
            return
        if reads_itself and var in self.reassigned:
            g = name(self.namer.temp("g"))
            self.out.append(assign(g.id, name(self.adjoints[var])))
            self.restart(var)
            self.apply_rule(stmt, g, ans)
            return
        self.apply_rule(stmt, g, ans)
        if var in self.saved:
            self.emit_pop(var, stmt)
        if var in self.reassigned:
            self.restart(var)
        else:
            self.exists.discard(var)

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
        if var in self.reassigned:
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

    def apply_rule(self, stmt, bz, ans):
        target = stmt.targets[0].id
        prim = ir.primitive(stmt.value)
        if prim.func is ir.COPY:
            for var in ir.operand_names(stmt.value):
                if var in self.active:
                    self.accumulate(var, bz)
            return
        if prim.func is ir.PACK:
            if self.active.intersection(ir.operand_names(stmt.value)):
                self.contribute_parts(stmt.value, bz)
            return
        if not differentiable(prim):
            return
        if prim.func is getattr and isinstance(prim.args[0], gast.Name):   # params.w
            if prim.args[0].id in self.active:
                self.accumulate_at(prim.args[0].id, prim.args[1], bz)
            return
        if prim.func is operator.getitem and isinstance(prim.args[0], gast.Name):
            if prim.args[0].id in self.active:
                self.accumulate_at(prim.args[0].id, prim.args[1], bz)
            return
        call = self.user_call(stmt)
        if call is not None:
            parts = self.namer.temp("b_parts")
            self.out.append(assign(parts, call.backward_call(bz)))
            for j, operand in enumerate(call.operands):
                self.accumulate(operand, gast.Subscript(
                    value=name(parts), slice=gast.Constant(value=j, kind=None), ctx=gast.Load()))
            return
        operands = [n for a in list(prim.args) + list(prim.kwargs.values())
                    for n in ir.operand_names(a)]
        if not self.active.intersection(operands):
            return   # a call on constants (h(0.5, 0)): no cotangent goes anywhere
        rule = lookup_vjp(prim.func)
        if rule is None:
            raise self.info.error(
                f"no derivative rule for `{_describe(prim.func)}`", ir.where(stmt),
                hint="register one with @tg.defvjp(fn), or wrap the value in "
                     "tg.stop_gradient if no derivative should flow through it")

        def error(message):
            return self.info.error(f"cannot differentiate `{_describe(prim.func)}`: {message}",
                                   ir.where(stmt))
        statements, outputs = inline(rule, bz, ans, prim.args, prim.kwargs, self.namer, error)
        self.out.extend(statements)
        for i, operand in enumerate(prim.args):
            if i >= len(outputs):
                break
            self.contribute(operand, outputs[i], rule, target, prim, i, stmt)
        positional = [p.name for p in list(rule.params.values())[2:]
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for keyword, operand in prim.kwargs.items():   # np.average(x, weights=w)
            index = positional.index(keyword) if keyword in positional else len(outputs)
            output = outputs[index] if index < len(outputs) else None
            self.contribute(operand, output, rule, target, prim, index, stmt)

    def contribute(self, operand, output, rule, result, prim, index, stmt):
        active = [v for v in ir.operand_names(operand) if v in self.active]
        if not active:
            return
        if output is None:
            raise self.info.error(
                f"`{_describe(prim.func)}` has no derivative with respect to its argument "
                f"{index + 1}", stmt.origin,
                hint="wrap that argument in tg.stop_gradient if no derivative should flow")
        if isinstance(operand, gast.Name):
            if getattr(rule, "user", False):   # tg.defvjp: check the shape the rule returns
                output = tgr_call("rule_cotangent", output, name(operand.id),
                                  gast.Constant(value=_describe(prim.func), kind=None))
            elif rule.broadcasting and not self.same_shape(operand.id, result):
                output = tgr_call("unbroadcast_to", output, name(operand.id))
            self.accumulate(operand.id, output)
            return
        self.contribute_parts(operand, output)

    def contribute_parts(self, display, output):
        """A tuple/list operand (``np.stack([a, b])``, nested ``[[a, b], [b, a]]``): the rule
        gives one cotangent per element, element by element down the nesting."""
        parts = self.namer.temp("b_parts")
        self.out.append(assign(parts, output))
        for j, elt in enumerate(display.elts):
            part = gast.Subscript(value=name(parts), slice=gast.Constant(value=j, kind=None),
                                  ctx=gast.Load())
            if isinstance(elt, gast.Name) and elt.id in self.active:
                self.accumulate(elt.id, part)
            elif isinstance(elt, (gast.Tuple, gast.List)) \
                    and self.active.intersection(ir.operand_names(elt)):
                self.contribute_parts(elt, part)

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
            if e.id in self.reassigned and e.id in self.exists:
                self.restart(e.id)
            else:
                self.exists.discard(e.id)


class UserCall:
    """An active call of a user function: its forward half runs in the primal sweep and
    returns a tape; its backward half, given the tape and the output's adjoint, returns the
    cotangents of ``operands`` (the differentiated arguments, in order)."""

    def __init__(self, pair, tape, operands, tape_saved, receiver=None):
        self.pair, self.tape, self.operands, self.tape_saved = pair, tape, operands, tape_saved
        self.receiver = receiver   # the object of a bound method: its first argument

    def _half(self, attr):
        ref = name(self.pair.__name__)
        ref.resolved = self.pair
        return gast.Attribute(value=ref, attr=attr, ctx=gast.Load())

    def forward_statement(self, stmt):
        """``y, tape = f_vjp.fwd(...)`` in place of ``y = f(...)``."""
        args = [clone(a) for a in stmt.value.args]
        if self.receiver is not None:
            obj = name(type(self.receiver).__name__.lower())
            obj.resolved = self.receiver
            args.insert(0, obj)
        call = gast.Call(func=self._half("fwd"), args=args,
                         keywords=[clone(k) for k in stmt.value.keywords])
        target = gast.Tuple(elts=[clone(stmt.targets[0]), name(self.tape, store=True)],
                            ctx=gast.Store())
        new = gast.Assign(targets=[target], value=call, type_comment=None)
        return gast.copy_location(new, stmt)

    def backward_call(self, g):
        return gast.Call(func=self._half("bwd"), args=[name(self.tape), g], keywords=[])


_FULL_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
                    np.vdot, np.trace}


def _certainly_scalar(tree, ret_value):
    """True when the returned name is a reduction over all axes (so no run-time check)."""
    if not isinstance(ret_value, gast.Name):
        return False
    for stmt in tree.body:
        if isinstance(stmt, gast.Assign) and ir.assigned(stmt) == [ret_value.id]:
            prim = ir.primitive(stmt.value)
            axis = prim.kwargs.get("axis")
            return prim.func in _FULL_REDUCTIONS and len(prim.args) == 1 and (
                axis is None or isinstance(axis, gast.Constant) and axis.value is None) \
                and "keepdims" not in prim.kwargs
    return False


def reassigned_names(tree):
    """The names whose value can be overwritten: those ``overwritten_names`` finds, and the
    parameters stored to at all (the call stored them first; normalization renames those
    stored at the top level, not those stored inside a branch)."""
    params = {a.id for a in tree.args.args + tree.args.kwonlyargs}
    stored = {n.id for stmt in tree.body for n in walk(stmt)
              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    return overwritten_names(tree.body) | (params & stored)


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


def indexed_receivers(stmt, active):
    """Active names read (``x[i]``) or written (``x[i] = v``) by subscript inside ``stmt``:
    their adjoints are updated element by element, in place."""
    names = {s.value.value.id for s in assignments([stmt])
             if isinstance(s.value, gast.Subscript) and isinstance(s.value.value, gast.Name)
             and s.value.value.id in active and active.intersection(ir.assigned(s))}
    names.update(ir.set_item(s)[0] for s in assignments([stmt])
                 if ir.set_item(s) is not None and ir.set_item(s)[0] in active)
    return names


def basic_index(index):
    """True when the subscript ``index`` certainly selects each element once: integer
    constants, slices, ``None``, ``...`` and tuples of them (names may hold index arrays)."""
    if isinstance(index, gast.Tuple):
        return all(basic_index(e) for e in index.elts)
    if isinstance(index, gast.Slice):
        return True
    return isinstance(index, gast.Constant) and (
        index.value is None or index.value is Ellipsis
        or isinstance(index.value, int) and not isinstance(index.value, bool))


def clone_shallow(stmt):
    node = type(stmt)(**{f: getattr(stmt, f) for f in stmt._fields})
    for attr in ("origin", "trip_count", "lineno", "col_offset"):
        if hasattr(stmt, attr):
            setattr(node, attr, getattr(stmt, attr))
    return node


def receivers(stmt, active, stacks=frozenset()):
    """Active names that may get adjoint contributions inside the compound ``stmt`` (the
    values pushed on an active stack of generated code among them; the stacks themselves
    have stacks of adjoints instead)."""
    names = set()
    for assign_stmt in assignments([stmt]):
        targets = ir.assigned(assign_stmt)
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


def _describe(func):
    module = getattr(func, "__module__", None) or ""
    qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    if module.startswith("numpy") or type(func).__name__ == "ufunc":
        public = module.split(".")[1:] if "._" not in module else []   # np.fft.fft
        return ".".join(["np", *public, getattr(func, "__name__", qual)])
    return f"{module}.{qual}" if module and module != "builtins" else qual


def reverse(info, tree, wrt, single, mode, namer, scalar_params=()):
    """The gradient FunctionDef of normalized ``tree``.

    ``wrt``: positional parameter indices. ``mode``: "grad" (scalar output, seed 1.0),
    "value_and_grad" (returns the value too) or "vjp" (a keyword-only cotangent ``g``).
    ``single``: return one gradient rather than a tuple of them.
    """
    check_reverse_over_generated(info, tree)   # generated code: what reverse mode cannot do
    params = [a.id for a in tree.args.args + tree.args.kwonlyargs]
    wrt_names = [params[i] for i in wrt]
    # a trial build finds which overwritten values the adjoint really reads; only those are
    # saved on the stack in the real build
    saved = set()
    reassigned = reassigned_names(tree)
    if reassigned:   # straight-line code overwrites nothing: no trial
        trial = ReverseBuilder(info, tree, wrt_names, copy.deepcopy(namer),
                               scalar_params=scalar_params, reassigned=set(reassigned))
        _assemble(trial, info, tree, wrt_names, single, mode, copy.deepcopy(namer))
        read = {n.id for stmt in trial.adjoint_sweep for n in walk(stmt)
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        saved = trial.reassigned & read
    builder = ReverseBuilder(info, tree, wrt_names, namer, saved=saved,
                             scalar_params=scalar_params, reassigned=reassigned)
    return _assemble(builder, info, tree, wrt_names, single, mode, namer), builder


def _assemble(builder, info, tree, wrt_names, single, mode, namer):
    ret_value = tree.body[-1].value
    args = clone(tree.args)
    body = builder.primal(tree.body)
    if mode == "split":
        return _assemble_split(builder, info, tree, wrt_names, namer, args, body, ret_value)
    if mode == "vjp":
        seed = name(namer.unique("g"))
        args.kwonlyargs.append(gast.Name(id=seed.id, ctx=gast.Param(), annotation=None,
                                         type_comment=None))
        args.kw_defaults.append(None)
        body.append(gast.Expr(value=tgr_call(   # shape, dtype and structure against the output
            "check_cotangent", name(seed.id), clone(ret_value),
            gast.Constant(value=info.tree.name, kind=None))))
    else:
        seed = gast.Constant(value=1.0, kind=None)
        if not _certainly_scalar(tree, ret_value):
            body.append(gast.Expr(value=tgr_call(
                "check_scalar_output", clone(ret_value),
                gast.Constant(value=info.tree.name, kind=None))))
    if mode == "value_and_grad" and set(ir.names_in(ret_value)) & builder.saved:
        # the adjoint sweep restores overwritten values: keep the result before it runs
        value = namer.unique("value")
        body.append(assign(value, clone(ret_value)))
        ret_value_out = name(value)
    else:
        ret_value_out = ret_value
    builder.seed(ret_value, seed)
    builder.adjoint_sweep = builder.out + builder.sweep(tree.body)
    builder.adjoint_sweep[:0] = builder.adjoint_stacks()
    builder.out = []
    for var in list(builder.hooks):   # hooks on parameters: their adjoints are complete last
        builder.run_hooks(var)
    builder.adjoint_sweep += builder.out
    builder.out = []
    body.extend(builder.adjoint_sweep)
    grads = []
    for var in wrt_names:
        if var in builder.adjoints:
            grads.append(tgr_call("match", name(builder.adjoints[var]), name(var)))
        else:
            grads.append(tgr_call("zeros_like_value", name(var)))
    result = grads[0] if single else gast.Tuple(elts=grads, ctx=gast.Load())
    if mode == "value_and_grad":
        result = gast.Tuple(elts=[clone(ret_value_out), result], ctx=gast.Load())
    body.append(gast.Return(value=result))
    if builder.stack is not None:
        params = {a.id for a in args.args + args.kwonlyargs}
        prologue = [assign(builder.stack, gast.List(elts=[], ctx=gast.Load()))]
        prologue += [assign(v, gast.Constant(value=None, kind=None))
                     for v in sorted(builder.saved - params)]
        body = prologue + body
    fn = gast.FunctionDef(name=namer.unique("d" + info.tree.name), args=args, body=body,
                          decorator_list=[], returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fn, info.tree)


def _assemble_split(builder, info, tree, wrt_names, namer, args, primal, ret_value):
    """Two functions for calls from other generated code: ``fwd(*args) -> (value, tape)`` and
    ``bwd(tape, g) -> tuple of cotangents`` (one per ``wrt`` argument)."""
    g = namer.unique("g")
    builder.seed(ret_value, name(g))
    builder.adjoint_sweep = builder.out + builder.sweep(tree.body)
    builder.adjoint_sweep[:0] = builder.adjoint_stacks()
    builder.out = []
    primal_names = {a.id for a in args.args + args.kwonlyargs} | {
        n.id for stmt in primal for n in walk(stmt)
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    read = {n.id for stmt in builder.adjoint_sweep for n in walk(stmt)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    kept = sorted((read | set(wrt_names)) & primal_names)   # tgr.match reads the arguments
    params = {a.id for a in args.args + args.kwonlyargs}
    # the tape reads every kept value, also those only a branch or loop defines
    conditional = {n.id for stmt in primal if isinstance(stmt, (gast.If, gast.For, gast.While))
                   for n in walk(stmt) if isinstance(n, gast.Name)
                   and isinstance(n.ctx, gast.Store)}
    unset = sorted((conditional & set(kept)) - params - builder.saved)
    primal = [assign(v, gast.Constant(value=None, kind=None)) for v in unset] + primal
    if builder.stack is not None:
        kept = [builder.stack] + [k for k in kept if k != builder.stack]
        primal = [assign(builder.stack, gast.List(elts=[], ctx=gast.Load()))] + [
            assign(v, gast.Constant(value=None, kind=None))
            for v in sorted(builder.saved - params)] + primal
    tape = namer.unique("tape")
    fwd_body = primal + [gast.Return(value=gast.Tuple(elts=[
        clone(ret_value), gast.Tuple(elts=[name(k) for k in kept], ctx=gast.Load())],
        ctx=gast.Load()))]
    # cotangents, not gradients: a structure's stays a DictCotangent or ListCotangent, which
    # the caller's adjoints add up (a dataclass or named tuple of gradients would not)
    grads = [tgr_call("cotangent_of", name(builder.adjoints[v]), name(v))
             if v in builder.adjoints else tgr_call("zeros_like_value", name(v))
             for v in wrt_names]
    unpack = gast.Assign(targets=[gast.Tuple(elts=[name(k, store=True) for k in kept],
                                             ctx=gast.Store())],
                         value=name(tape), type_comment=None)
    bwd_body = ([unpack] if kept else []) + builder.adjoint_sweep + [
        gast.Return(value=gast.Tuple(elts=grads, ctx=gast.Load()))]
    base = info.tree.name
    fwd = gast.FunctionDef(name=namer.unique(f"{base}_fwd"), args=args, body=fwd_body,
                           decorator_list=[], returns=None, type_comment=None, type_params=[])
    bwd_args = gast.arguments(args=[gast.Name(id=n, ctx=gast.Param(), annotation=None,
                                              type_comment=None) for n in (tape, g)],
                              posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                              kwarg=None, defaults=[])
    bwd = gast.FunctionDef(name=namer.unique(f"{base}_bwd"), args=bwd_args, body=bwd_body,
                           decorator_list=[], returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fwd, info.tree), gast.copy_location(bwd, info.tree)
