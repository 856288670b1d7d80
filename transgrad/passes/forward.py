"""Build the forward-mode derivative (a JVP) of a normalized function (a transformation).

Each statement is followed by its tangent statement, in the same control flow, so loops and
branches need no stack; ``d<name>`` is the tangent of ``name``::

    def f(x, w):                      def df(x, w, *, tangent):
        t1 = x * w                        dx = tangent
        y = np.sin(t1)            ->      t1 = x * w
        return y                          dt1 = dx * w
                                          y = np.sin(t1)
                                          dy = dt1 * np.cos(t1)
                                          return (y, tgr.match(dy, y))

Tangents come from the rule table (``transgrad.rules.forward``): elementwise rules reuse
their VJP with the tangent as cotangent; multilinear primitives apply themselves to one tangent
at a time.

The same example, run (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x, w):
...     y = np.sin(x * w)
...     return y
... ''', through="forward"))
def df(x, w, *, tangent):
    dx = tangent
    t1 = x * w
    dt1 = tgr.broadcast_tangent(dx * w, t1)
    y = np.sin(t1)
    dy = dt1 * np.cos(t1)
    return (y, tgr.match(dy, y))
"""

import inspect
import operator

import gast
import numpy as np

from .. import ir, runtime
from ..errors import TransformError
from ..ir import assign, clone, name, tgr_call
from ..parse import Derivative, check_callee_source
from ..rules import CallableSet, is_nondifferentiable, lookup_vjp
from ..rules.forward import (
    JOINTLY_LINEAR,
    SEQUENCE_LINEAR,
    forward_kind,
    jvp_rules,
    linear_positions,
)
from ..rules.generated import check_source_differentiable
from ..template import _literal, bind, inline
from .activity import differentiable, value_reads
from .normalize import stack_operation
from .reverse_rules import describe_callable
from .shapes import shape_classes


def _resolved(obj, dotted):
    module, attr = dotted.split(".")
    node = gast.Attribute(value=name(module), attr=attr, ctx=gast.Load())
    node.resolved = obj
    return node


def _simple_statements(body):
    """Every Assign and Expr statement in ``body``, descending into if/for/while."""
    for stmt in body:
        if isinstance(stmt, (gast.Assign, gast.Expr)):
            yield stmt
        elif isinstance(stmt, (gast.If, gast.For, gast.While)):
            yield from _simple_statements(stmt.body)
            yield from _simple_statements(stmt.orelse)


def varied_names(tree, wrt_names, constant_entries=None):
    """Variables that depend on the differentiated arguments (a fixed point over loops).

    A stack of generated code (``stack.append(v)``) is varied once a varied value is pushed
    on it; what is popped from a varied stack is varied. ``constant_entries``: statement id
    -> the names that statement (an unpacking of a tuple argument) binds to entries whose
    tangents are zero (``zero_entries``)."""
    constant_entries = constant_entries or {}
    flows = []   # (targets, reads) of each statement through which variation flows
    for stmt in _simple_statements(tree.body):
        if isinstance(stmt, gast.Expr):
            stack = stack_operation(stmt.value, "append")
            if stack is not None:
                flows.append(([stack.id], set(ir.names_in(stmt.value.args[0]))))
            continue
        update = ir.set_item(stmt)
        if differentiable(ir.primitive(stmt.value)):
            targets = [update[0]] if update else ir.assigned(stmt)
            skipped = constant_entries.get(id(stmt), ())
            flows.append(([t for t in targets if t not in skipped],
                          set(value_reads(stmt.value))))
    varied = set(wrt_names)
    changed = True
    while changed:
        changed = False
        for targets, reads in flows:
            if varied & reads and not varied.issuperset(targets):
                varied.update(targets)
                changed = True
    return varied


# calls whose result is an array they allocate (the tangent stack's pop hands back the tangent
# it was given: the only reference left)
_FRESH_HELPERS = {"zero_tangent", "add_at", "owned_copy", "copy_value", "append"}
_FRESH_CALLS = CallableSet({np.copy, np.array, runtime.add_at, runtime.owned_copy, runtime.copy_value,
                runtime.append})


def _allocates_fresh_array(node):
    """True when the tangent expression ``node`` certainly gives an array no other name holds
    (arithmetic, zeros, copies), so it may be updated in place."""
    if isinstance(node, (gast.BinOp, gast.UnaryOp)):
        return True
    if not isinstance(node, gast.Call):
        return False
    func = node.func
    if getattr(func, "resolved", None) in _FRESH_CALLS:
        return True
    return isinstance(func, gast.Attribute) and (
        func.attr == "pop" or isinstance(func.value, gast.Name) and func.value.id == "tgr"
        and func.attr in _FRESH_HELPERS)


def updated_in_place(tree):
    """Names whose arrays are updated in place: ``y[i] = v`` and the target of generated
    code's ``tgr.add_at(target, i, v)``."""
    names = set()
    for stmt in _simple_statements(tree.body):
        update = ir.set_item(stmt) if isinstance(stmt, gast.Assign) else None
        if update is not None:
            names.add(update[0])
        elif isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call) \
                and getattr(stmt.value.func, "resolved", None) is runtime.add_at \
                and isinstance(stmt.value.args[0], gast.Name):
            names.add(stmt.value.args[0].id)
    return names


def zero_entries(tree, zeros):
    """For ``zeros`` ((parameter name, mask) pairs: a tuple parameter whose entries at the
    mask's True places have zero tangents), statement id -> the names the parameter's
    unpacking (``a, b, c = tape``, a called function's backward half) binds to those
    entries. A parameter the body binds again is left alone (its unpacking may be of
    another value)."""
    out = {}
    rebound = {n.id for stmt in tree.body for n in ir.walk(stmt)
               if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)}
    for param, mask in zeros:
        if param in rebound:
            continue
        for stmt in _simple_statements(tree.body):
            if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Name) \
                    and stmt.value.id == param and isinstance(stmt.targets[0], gast.Tuple) \
                    and len(stmt.targets[0].elts) == len(mask) \
                    and all(isinstance(e, gast.Name) for e in stmt.targets[0].elts):
                out[id(stmt)] = {e.id for e, zero in zip(stmt.targets[0].elts, mask) if zero}
    return out


def _zero_structure(builder, value):
    """Which parts of the tangent of ``value`` (a returned expression) are zeros: True for
    all of it, a tuple of booleans for a display's entries, False for none."""
    if builder.tangent_of(value) is None:
        return True
    if isinstance(value, (gast.Tuple, gast.List)):
        return tuple(builder.tangent_of(e) is None for e in value.elts)
    return False


class OwnJvp:
    """The forward derivative of a function that carries its own, ``func.jvp_call(args,
    tangents)`` (the tangents by argument position, None where there is none), called from
    generated code as ``f_jvp(*args, (the tangents of the varied arguments))``."""

    def __init__(self, func, positions):
        self.func, self.positions = func, positions
        self.__name__ = f"{func.__name__}_jvp"

    def __call__(self, *args):
        *args, tangents = args
        by_position = [None] * len(args)
        for position, tangent in zip(self.positions, tangents):
            by_position[position] = tangent
        return self.func.jvp_call(tuple(args), by_position)


class ForwardBuilder:
    def __init__(self, info, tree, wrt_names, context, constant_entries=None):
        self.info, self.context, self.namer = info, context, context.namer
        self.varied = varied_names(tree, wrt_names, constant_entries)
        # name -> which entries of its tuple tangent are zeros, for names bound once: a
        # called function's JVP says so of what it returns (its tape's constant entries)
        self.zeros = {}
        self.stores = {}   # bindings per name, of every kind (assignments, loop targets)
        for node in ir.walk(tree):
            if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
                self.stores[node.id] = self.stores.get(node.id, 0) + 1
        # their tangents are updated in place too, so each is an array this code owns
        self.updated = updated_in_place(tree) & self.varied
        self.classes = shape_classes(tree)
        self.tangents = {}

    def tangent(self, var):
        if var not in self.tangents:
            self.tangents[var] = self.namer.tangent(var)
        return self.tangents[var]

    def tangent_of(self, node):
        """The tangent expression of an operand (None when it carries none)."""
        if isinstance(node, gast.Name) and node.id in self.varied:
            return name(self.tangent(node.id))
        if isinstance(node, (gast.Tuple, gast.List)) and \
                self.varied.intersection(ir.operand_names(node)):
            return type(node)(elts=[self.tangent_of(e) or tgr_call("zero_tangent", clone(e))
                                    for e in node.elts], ctx=gast.Load())
        return None

    def block(self, body):
        out = []
        for stmt in body:
            if isinstance(stmt, gast.Return):
                continue
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                node = type(stmt)(**{f: getattr(stmt, f) for f in stmt._fields})
                node.body = self.block(stmt.body) or [gast.Pass()]
                node.orelse = self.block(stmt.orelse)
                out.append(node)
            elif isinstance(stmt, gast.Expr) and stack_operation(stmt.value, "append"):
                out.append(stmt)
                out.extend(self.push(stmt.value))
            elif isinstance(stmt, gast.Assign) and stack_operation(stmt.value, "pop"):
                out.append(stmt)
                out.extend(self.pop(stmt))
            elif isinstance(stmt, gast.Assign) and self.user_call(stmt) is not None:
                out.append(self.user_call(stmt))
            elif isinstance(stmt, gast.Assign) and ir.set_item(stmt) is None \
                    and set(ir.assigned(stmt)) & set(ir.names_in(stmt.value)) \
                    and self.varied.intersection(ir.assigned(stmt)):
                out.extend(self.visit_reassigning(stmt))
            elif isinstance(stmt, gast.Assign):
                out.append(stmt)
                out.extend(self.visit(stmt))
            elif not isinstance(stmt, gast.With):
                out.append(stmt)
                continue
            if isinstance(stmt, gast.Assign):
                out.extend(self.own(stmt, out))
        return out

    def own(self, stmt, emitted):
        """``dy = tgr.owned_copy(dy, y)`` after ``y = ...`` when y is later updated in place and
        its tangent may be another name's (``dy = dx`` for ``y = x + 0.0``), or smaller than y
        (broadcast): updating it in place must not change that name's tangent."""
        copies = []
        for target in ir.assigned(stmt):
            if target not in self.updated:
                continue
            tangent = self.tangent(target)
            last = next((s for s in reversed(emitted) if isinstance(s, gast.Assign)
                         and isinstance(s.targets[0], gast.Name)
                         and s.targets[0].id == tangent), None)
            if last is None or not (_allocates_fresh_array(last.value)
                                    or getattr(last, "handed_on", False)):
                copies.append(assign(tangent, tgr_call("owned_copy", name(tangent),
                                                       name(target))))
        return copies

    def push(self, call):
        """``stack.append(v)`` of generated code: a varied stack gets ``v``'s tangent pushed
        on its own stack (zeros for a constant ``v``), so every pop finds its tangent."""
        stack = call.func.value.id
        if stack not in self.varied:
            return []
        value = call.args[0]
        tangent = self.tangent_of(value) or tgr_call("zero_tangent", clone(value))
        return [gast.Expr(value=gast.Call(func=gast.Attribute(
            value=name(self.tangent(stack)), attr="append", ctx=gast.Load()), args=[tangent],
            keywords=[]))]

    def pop(self, stmt):
        """``v = stack.pop()`` / ``y[i] = stack.pop()``: the tangent comes off the tangents'
        stack."""
        stack = stmt.value.func.value.id
        if stack not in self.varied:
            return self.visit(stmt)
        popped = gast.Call(func=gast.Attribute(value=name(self.tangent(stack)), attr="pop",
                                               ctx=gast.Load()), args=[], keywords=[])
        update = ir.set_item(stmt)
        if update is not None:
            target = gast.Subscript(value=name(self.tangent(update[0])),
                                    slice=clone(update[1]), ctx=gast.Store())
        else:
            target = name(self.tangent(stmt.targets[0].id), store=True)
        return [gast.Assign(targets=[target], value=popped, type_comment=None)]

    def user_call(self, stmt):
        """``y, dy = f_jvp(*args, (dx, ...))`` for a varied call of a user function
        (its own forward derivative, built from its source) or of a run-time function that
        carries its own (``jvp_call``: a checkpointed loop's), else None."""
        if not (isinstance(stmt.value, gast.Call) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id in self.varied):
            return None
        func = getattr(stmt.value.func, "resolved", None)
        if getattr(func, "jvp_call", None) is not None:
            return self.own_jvp_call(stmt, func)
        derived = isinstance(func, Derivative)   # a transgrad derivative: its generated code
        if not (inspect.isfunction(func) or derived) or lookup_vjp(func) is not None \
                or is_nondifferentiable(func) or forward_kind(func) is not None:
            return None
        operands = {i: a for i, a in enumerate(stmt.value.args)
                    if self.tangent_of(a) is not None}
        params = [] if derived else list(inspect.signature(func).parameters)
        for keyword in stmt.value.keywords:   # f(x, b=y): y's position among f's parameters
            if self.tangent_of(keyword.value) is not None:
                if keyword.arg not in params:
                    raise self.info.error(f"`{func.__name__}` has no parameter "
                                          f"`{keyword.arg}`", stmt.origin)
                operands[params.index(keyword.arg)] = keyword.value
        if not operands:
            return None
        positions = sorted(operands)
        callee = name(f"{func.__name__}_jvp")
        if not derived:
            try:   # a helper of generated code is transformed only if written for that
                check_source_differentiable(func, "forward-mode")
            except TransformError as error:
                raise self.info.error(str(error).splitlines()[0], stmt.origin,
                                      hint=error.hint) from None
            check_callee_source(func, self.info, stmt.origin)   # exec(): name the call instead
        masks = tuple((i, self.zeros[operands[i].id]) for i in positions
                      if isinstance(operands[i], gast.Name)
                      and isinstance(self.zeros.get(operands[i].id), tuple)
                      and all(type(z) is bool for z in self.zeros[operands[i].id])
                      and any(self.zeros[operands[i].id]))
        holder = self.context.callee_jvp(func, tuple(positions), zeros=masks) if masks \
            else self.context.callee_jvp(func, tuple(positions))   # same pipeline
        callee.resolved = holder
        callee.jvp_request = (func, tuple(positions), masks)   # for passes/tangent_demand.py
        made = getattr(holder, "fn", None)   # None while it is being made (recursion)
        target = stmt.targets[0].id
        if made is not None and self.stores.get(target) == 1 \
                and getattr(made, "zero_tangents", None) is not None:
            self.zeros[target] = made.zero_tangents
        return self.jvp_statement(stmt, callee, [operands[i] for i in positions])

    def jvp_statement(self, stmt, callee, operands):
        """``y, dy = callee(*args, (the operands' tangents,), **kwargs)`` for ``y = f(...)``:
        the tangents go last by position (a keyword could clash with the callee's own:
        generated code differentiated again has a parameter named `tangent`)."""
        tangents = gast.Tuple(elts=[self.tangent_of(a) for a in operands], ctx=gast.Load())
        call = gast.Call(func=callee, args=[clone(a) for a in stmt.value.args] + [tangents],
                         keywords=[clone(k) for k in stmt.value.keywords])
        target = stmt.targets[0].id
        both = gast.Tuple(elts=[name(target, store=True), name(self.tangent(target), store=True)],
                          ctx=gast.Store())
        return gast.copy_location(gast.Assign(targets=[both], value=call, type_comment=None),
                                  stmt)

    def own_jvp_call(self, stmt, func):
        """``y, dy = f_jvp(*args, (dx, ...))`` for a function with its own ``jvp_call``."""
        positions = [i for i, a in enumerate(stmt.value.args) if self.tangent_of(a) is not None]
        if stmt.value.keywords:
            raise self.info.error(f"forward mode passes `{func.__name__}` its arguments "
                                  "positionally only", stmt.origin)
        callee = name(f"{func.__name__}_jvp")
        callee.resolved = OwnJvp(func, tuple(positions))
        return self.jvp_statement(stmt, callee, [stmt.value.args[i] for i in positions])

    def visit_reassigning(self, stmt):
        """``x = f(x, ...)``: the tangent needs the old x, so the new value waits in a temporary
        until the tangent is computed."""
        temp = self.namer.temp()
        first = gast.Assign(targets=[name(temp, store=True)], value=stmt.value,
                            type_comment=None)
        first.origin = stmt.origin
        gast.copy_location(first, stmt)
        self.varied.add(temp)
        target = stmt.targets[0].id
        if target in self.updated:   # the temporary hands its tangent on: it must own it
            self.updated.add(temp)
        handed_on = assign(self.tangent(target), name(self.tangent(temp)))
        handed_on.handed_on = True   # the temporary's tangent has no other name
        emitted = [first] + self.visit(first)
        emitted += self.own(first, emitted)   # broadcast on one path: updated in place later
        return emitted + [assign(target, name(temp)), handed_on]

    def unpack_zeros(self, stmt, targets):
        """``a, b = t`` where t's tangent has known zero entries: a and b's, for names bound
        once."""
        structure = self.zeros.get(stmt.value.id) if isinstance(stmt.value, gast.Name) \
            else None
        if not isinstance(structure, tuple) or len(structure) != len(targets):
            return
        for target, part in zip(targets, structure):
            if isinstance(part, tuple) and self.stores.get(target) == 1:
                self.zeros[target] = part

    def visit(self, stmt):
        update = ir.set_item(stmt)
        if update is not None:
            array, index = update
            if array not in self.varied:
                return []
            part = self.tangent_of(stmt.value) or tgr_call("zero_tangent", clone(stmt.value))
            target = gast.Subscript(value=name(self.tangent(array)), slice=clone(index),
                                    ctx=gast.Store())
            return [gast.Assign(targets=[target], value=part, type_comment=None)]
        targets = ir.assigned(stmt)
        if not self.varied.intersection(targets):
            return []
        if isinstance(stmt.targets[0], gast.Tuple):   # a, b = t
            self.unpack_zeros(stmt, targets)
            source = self.tangent_of(stmt.value) \
                or tgr_call("zero_tangent", clone(stmt.value))   # t does not vary: zeros
            store = gast.Tuple(elts=[name(self.tangent(t), store=True) for t in targets],
                               ctx=gast.Store())
            return [gast.Assign(targets=[store], value=source, type_comment=None)]
        target = targets[0]
        value = self.positional(stmt)
        prim = ir.primitive(value)
        tangents = [self.tangent_of(a) for a in prim.args]
        explicit = jvp_rules(prim.func)
        linear = linear_positions(prim.func)
        if linear is not None:   # constant in the other arguments (shapes, indices)
            tangents = [t if i in linear or i in explicit else None
                        for i, t in enumerate(tangents)]
        elif prim.func is operator.getitem:
            tangents[1:] = [None] * (len(tangents) - 1)
        if not any(t is not None for t in tangents) or not differentiable(prim):
            # varied later (a loop, an update): starts as an owned zero
            return [assign(self.tangent(target), tgr_call("zero_tangent", name(target)))]
        if prim.func is ir.COPY:
            return [assign(self.tangent(target), tangents[0])]
        if prim.func is ir.PACK:
            return [assign(self.tangent(target), self.tangent_of(stmt.value))]
        for keyword, operand in prim.kwargs.items():
            if self.varied.intersection(ir.names_in(operand)):
                raise self.info.error(
                    f"forward mode does not differentiate the keyword argument `{keyword}` of "
                    f"`{describe_callable(prim.func)}`", ir.where(stmt),
                    hint="pass the differentiated value positionally")
        if prim.func in JOINTLY_LINEAR:
            joint = [t if t is not None else tgr_call("zero_tangent", clone(a))
                     if i in linear else clone(a)
                     for i, (t, a) in enumerate(zip(tangents, prim.args))]
            term = clone(value)
            term.args = joint
            return [assign(self.tangent(target), term)]
        kind = forward_kind(prim.func)

        def error(message):
            return self.info.error(
                f"cannot differentiate `{describe_callable(prim.func)}`: {message}",
                ir.where(stmt))
        out, total, slopes = [], None, None
        for i, tangent in enumerate(tangents):
            if tangent is None:
                continue
            if i in explicit:   # a forward rule of its own
                statements, outputs = inline(explicit[i], tangent, name(target), prim.args,
                                             prim.kwargs, self.namer, error)
                out.extend(statements)
                term = outputs[0]
            elif kind == "multilinear" and SEQUENCE_LINEAR.get(prim.func, (None,))[0] == i \
                    and isinstance(prim.args[i], (gast.Tuple, gast.List)):
                term = None   # f(g, (dA, B)) + f(g, (A, dB)): one operand at a time
                offset = SEQUENCE_LINEAR[prim.func][1]
                for j, element in enumerate(prim.args[i].elts):
                    if self.tangent_of(element) is None:
                        continue
                    operands = clone(prim.args[i])
                    operands.elts[j] = self.tangent_of(element)
                    part = tgr_call("omit", self.substitute(value, i, operands),
                                    gast.Constant(value=j + offset, kind=None), clone(element))
                    term = part if term is None else gast.BinOp(left=term, op=gast.Add(),
                                                                right=part)
            elif kind == "multilinear":   # f(..., dx, ...): the primitive on the tangent
                term = self.substitute(value, i, tangent)
            elif kind == "elementwise":   # the VJP rule with the tangent as cotangent
                statements, outputs = inline(lookup_vjp(prim.func), tangent, name(target),
                                             prim.args, prim.kwargs, self.namer, error)
                out.extend(statements)
                term = outputs[i]
            elif kind == "reduction":   # sum(vjp(ones) * dx, axis): the slope of each element
                if slopes is None:
                    statements, slopes, axes = self.slopes(prim, target, error)
                    out.extend(statements)
                term = gast.BinOp(left=slopes[i], op=gast.Mult(), right=tangent)
                if axes is None and len(prim.args) == 1:   # max(items): one slope per item
                    term = tgr_call("slopes_dot", slopes[i], tangent)
                if axes is not None:
                    term = gast.Call(func=_resolved(np.sum, "np.sum"), args=[term],
                                     keywords=axes)
            else:
                which = f" with respect to its argument {i + 1}" if kind else ""
                raise self.info.error(
                    f"no forward-mode rule for `{describe_callable(prim.func)}`{which} yet",
                    ir.where(stmt), hint="use reverse mode (tg.grad / tg.vjp) for this function")
            if term is None:
                continue   # an operand the rule gives nothing for (np.where's condition)
            total = term if total is None else gast.BinOp(left=total, op=gast.Add(), right=term)
        if total is None:   # only such operands vary: the result does not
            return out + [assign(self.tangent(target), tgr_call("zero_tangent", name(target)))]
        if kind == "elementwise" and lookup_vjp(prim.func).broadcasting \
                and not self.full_shape(prim, tangents, target):
            # d(x + c) = dx: as large as x, which may be smaller than the sum (broadcast)
            total = tgr_call("broadcast_tangent", total, name(target))
        out.append(assign(self.tangent(target), total))
        return out

    def full_shape(self, prim, tangents, target):
        """True when an operand with a tangent certainly has the result's shape (the shapes
        analysis), so the tangent of a broadcasting elementwise primitive has it too."""
        shape = self.classes.get(target)
        return shape is not None and any(
            t is not None and isinstance(a, gast.Name) and self.classes.get(a.id) == shape
            for a, t in zip(prim.args, tangents))

    def positional(self, stmt):
        """``stmt.value`` with its differentiated keyword operands passed by position (as the
        rule's parameters order them, gaps filled with the rule's defaults), so each has a
        position for the rules: ``np.average(x, axis=0, weights=w)`` ->
        ``np.average(x, 0, w)``."""
        value = stmt.value
        prim = ir.primitive(value)
        varied = [k for k, v in prim.kwargs.items() if self.varied.intersection(ir.names_in(v))]
        rule = lookup_vjp(prim.func) if varied else None
        if rule is None:
            return value
        params = [p for p in list(rule.params.values())[2:]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in params]
        if not set(varied) <= set(names):
            return value
        args, kwargs = list(prim.args), dict(prim.kwargs)
        for param in params[len(args):max(names.index(k) for k in varied) + 1]:
            if param.name in kwargs:
                args.append(kwargs.pop(param.name))
            else:
                default = _literal(param.default)
                if default is None:
                    return value
                args.append(default)
        new = gast.Call(func=value.func, args=args,
                        keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])
        return gast.copy_location(new, value)

    def substitute(self, value, i, tangent):
        """The primitive ``value`` applied to ``tangent`` in place of its operand ``i``."""
        term = clone(value)
        if isinstance(term, gast.BinOp):
            if i == 0:
                term.left = tangent
            else:
                term.right = tangent
        elif isinstance(term, gast.UnaryOp):
            term.operand = tangent
        elif isinstance(term, gast.Subscript):
            term.value = tangent
        else:
            term.args[i] = tangent
        return term

    def slopes(self, prim, target, error):
        """For a reduction: the VJP rule inlined with a unit cotangent (each operand's slope,
        element by element) and the ``axis``/``keepdims`` keywords to sum it with (None for
        builtin ``max``/``min`` over separate values)."""
        rule = lookup_vjp(prim.func)
        builtin = getattr(prim.func, "__module__", None) == "builtins"
        ones = gast.Constant(value=1.0, kind=None) if builtin else gast.Call(
            func=_resolved(np.ones_like, "np.ones_like"), args=[name(target)], keywords=[])
        statements, outputs = inline(rule, ones, name(target), prim.args, prim.kwargs,
                                     self.namer, error)
        if builtin:
            return statements, outputs, None
        bindings, _, _ = bind(rule, ones, name(target), prim.args, prim.kwargs, error)
        axes = [gast.keyword(arg=k, value=clone(bindings[k]))
                for k in ("axis", "keepdims") if k in bindings]
        return statements, outputs, axes


def forward(info, tree, wrt, single, context, zeros=(), unused=()):
    """The JVP FunctionDef of normalized ``tree``: ``(*args, tangent=...) -> (value, tangent)``.

    ``single``: one tangent (``wrt`` an int) rather than a tuple of them. ``context``: the
    pipeline's (its namer; ``callee_jvp`` builds the derivative of a called user function).
    ``unused``: per returned value, True where the caller reads none of its tangent, a tuple
    of booleans for a returned display (a forward half's tape) whose entries' tangents it
    reads only in part: those come back as None (``passes/tangent_demand.py``).
    """
    namer = context.namer
    params = [a.id for a in tree.args.args + tree.args.kwonlyargs]
    wrt_names = [params[i] for i in wrt]
    builder = ForwardBuilder(info, tree, wrt_names, context,
                             zero_entries(tree, [(params[i], mask) for i, mask in zeros]))
    seed = namer.unique("tangent")
    args = clone(tree.args)
    args.kwonlyargs.append(gast.Name(id=seed, ctx=gast.Param(), annotation=None,
                                     type_comment=None))
    args.kw_defaults.append(None)
    if single:
        body = [assign(builder.tangent(wrt_names[0]), name(seed))]
    else:
        body = [gast.Assign(targets=[gast.Tuple(elts=[name(builder.tangent(v), store=True)
                                                      for v in wrt_names], ctx=gast.Store())],
                            value=name(seed), type_comment=None)]
    # the caller's tangent is not updated in place
    body += [assign(builder.tangent(v), tgr_call("owned_copy", name(builder.tangent(v)),
                                                 name(v)))
             for v in wrt_names if v in builder.updated]
    # a parameter left out of wrt that a loop makes varied (x = a * x) starts with no tangent
    body += [assign(builder.tangent(p), tgr_call("zero_tangent", name(p)))
             for p in params if p in builder.varied and p not in wrt_names]
    body += builder.block(tree.body)
    ret = tree.body[-1].value
    items = ret.elts if isinstance(ret, gast.Tuple) else [ret]
    # the tangent of each returned value has its type, shape and dtype (a nested display, such
    # as the tape a forward half of generated code returns, is passed on as it is)
    outs = [tgr_call("zero_tangent", clone(v)) if builder.tangent_of(v) is None
            else builder.tangent_of(v) if isinstance(v, (gast.Tuple, gast.List))
            else tgr_call("match", builder.tangent_of(v), clone(v)) for v in items]
    if isinstance(ret, gast.Tuple) and len(unused) == len(outs):
        outs = [_needed(out, u) for out, u in zip(outs, unused)]
    out = gast.Tuple(elts=outs, ctx=gast.Load()) if isinstance(ret, gast.Tuple) else outs[0]
    zero_tangents = [_zero_structure(builder, v) for v in items]
    body.append(gast.Return(value=gast.Tuple(elts=[clone(ret), out], ctx=gast.Load())))
    fn = gast.FunctionDef(name=namer.unique("d" + info.tree.name), args=args, body=body,
                          decorator_list=[], returns=None, type_comment=None, type_params=[])
    fn.zero_tangents = tuple(zero_tangents) if isinstance(ret, gast.Tuple) else zero_tangents[0]
    return gast.copy_location(fn, info.tree)


def _needed(out, unused):
    """The returned tangent ``out`` with None where the caller reads none of it."""
    if unused is True:
        return gast.Constant(value=None, kind=None)
    if type(unused) is tuple and isinstance(out, gast.Tuple) and len(out.elts) == len(unused):
        return gast.Tuple(elts=[gast.Constant(value=None, kind=None) if u else e
                                for e, u in zip(out.elts, unused)], ctx=gast.Load())
    return out
