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
"""

import inspect

import gast
import numpy as np

from .. import ir
from ..ir import clone
from ..rules import is_nondifferentiable, lookup_vjp
from ..rules.forward import JOINTLY_LINEAR, JVP_RULES, forward_kind
from ..template import bind, inline
from .activity import differentiable
from .reverse import _describe, assign, name, tgr_call


def _resolved(obj, dotted):
    module, attr = dotted.split(".")
    node = gast.Attribute(value=name(module), attr=attr, ctx=gast.Load())
    node.resolved = obj
    return node


def varied_names(tree, wrt_names):
    """Variables that depend on the differentiated arguments (a fixed point over loops)."""
    from .activity import assignments

    varied = set(wrt_names)
    changed = True
    while changed:
        changed = False
        for stmt in assignments(tree.body):
            update = ir.set_item(stmt)
            targets = [update[0]] if update else ir.assigned(stmt)
            reads = set(ir.names_in(stmt.value))
            if differentiable(ir.primitive(stmt.value)) and varied & reads \
                    and not varied.issuperset(targets):
                varied.update(targets)
                changed = True
    return varied


class ForwardBuilder:
    def __init__(self, info, tree, wrt_names, namer):
        self.info, self.namer = info, namer
        self.varied = varied_names(tree, wrt_names)
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
        return out

    def user_call(self, stmt):
        """``y, dy = f_jvp(*args, tangent=(dx, ...))`` for a varied call of a user function
        (its own forward derivative, built from its source), else None."""
        if not (isinstance(stmt.value, gast.Call) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id in self.varied):
            return None
        func = getattr(stmt.value.func, "resolved", None)
        if not inspect.isfunction(func) or lookup_vjp(func) is not None \
                or is_nondifferentiable(func):
            return None
        positions = [i for i, a in enumerate(stmt.value.args) if self.tangent_of(a) is not None]
        if any(self.tangent_of(k.value) is not None for k in stmt.value.keywords):
            raise self.info.error("forward mode does not differentiate keyword arguments yet",
                                  stmt.origin, hint="pass the differentiated value positionally")
        if not positions:
            return None
        from ..api import forward_function  # the callee is built by the same pipeline
        callee = name(f"{func.__name__}_jvp")
        callee.resolved = forward_function(func, tuple(positions))
        tangents = gast.Tuple(elts=[self.tangent_of(stmt.value.args[i]) for i in positions],
                              ctx=gast.Load())
        call = gast.Call(func=callee, args=[clone(a) for a in stmt.value.args],
                         keywords=[clone(k) for k in stmt.value.keywords]
                         + [gast.keyword(arg="tangent", value=tangents)])
        target = stmt.targets[0].id
        both = gast.Tuple(elts=[name(target, store=True), name(self.tangent(target), store=True)],
                          ctx=gast.Store())
        return gast.copy_location(gast.Assign(targets=[both], value=call, type_comment=None),
                                  stmt)

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
        return [first] + self.visit(first) + [
            assign(target, name(temp)), assign(self.tangent(target), name(self.tangent(temp)))]

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
            source = self.tangent_of(stmt.value)
            store = gast.Tuple(elts=[name(self.tangent(t), store=True) for t in targets],
                               ctx=gast.Store())
            return [gast.Assign(targets=[store], value=source, type_comment=None)]
        target = targets[0]
        prim = ir.primitive(stmt.value)
        tangents = [self.tangent_of(a) for a in prim.args]
        if not any(t is not None for t in tangents) or not differentiable(prim):
            # varied later (a loop, an update): starts as an owned zero
            return [assign(self.tangent(target), tgr_call("zero_tangent", name(target)))]
        if prim.func is ir.COPY:
            return [assign(self.tangent(target), tangents[0])]
        if prim.func is ir.PACK:
            return [assign(self.tangent(target), self.tangent_of(stmt.value))]
        if self.varied.intersection(n for v in prim.kwargs.values() for n in ir.names_in(v)):
            raise self.info.error("forward mode does not differentiate keyword arguments yet",
                                  stmt.origin, hint="pass the differentiated value positionally")
        kind = forward_kind(prim.func)
        if kind == "multilinear" and prim.func in JOINTLY_LINEAR:
            joint = [t if t is not None else tgr_call("zero_tangent", clone(a))
                     for t, a in zip(tangents, prim.args)]
            term = clone(stmt.value)
            term.args = joint
            return [assign(self.tangent(target), term)]
        if kind == "multilinear":
            return [assign(self.tangent(target), self.multilinear(stmt.value, tangents))]
        if kind == "elementwise":
            return self.elementwise(stmt, prim, tangents, target)
        if kind in ("reduction", "explicit") and all(t is None for t in tangents[1:]):
            return self.first_argument(stmt, prim, tangents[0], target, kind)
        raise self.info.error(
            f"no forward-mode rule for `{_describe(prim.func)}` yet", stmt.origin,
            hint="use reverse mode (tg.grad / tg.vjp) for this function")

    def multilinear(self, value, tangents):
        """``f(dx, y) + f(x, dy)``: the primitive applied to one tangent at a time."""
        total = None
        for i, tangent in enumerate(tangents):
            if tangent is None:
                continue
            term = clone(value)
            if isinstance(term, gast.BinOp):
                if i == 0:
                    term.left = tangent
                else:
                    term.right = tangent
            elif isinstance(term, gast.Subscript):
                term.value = tangent
            else:
                term.args[i] = tangent
            total = term if total is None else gast.BinOp(left=total, op=gast.Add(), right=term)
        return total

    def first_argument(self, stmt, prim, tangent, target, kind):
        """A reduction (``np.sum(vjp(ones) * dx, axis)``) or an explicit forward rule, for a
        primitive whose first argument alone carries a tangent."""
        def error(message):
            return self.info.error(f"cannot differentiate `{_describe(prim.func)}`: {message}",
                                   stmt.origin)
        if kind == "explicit":
            rule = JVP_RULES[prim.func]
            statements, outputs = inline(rule, tangent, name(target), prim.args, prim.kwargs,
                                         self.namer, error)
            return statements + [assign(self.tangent(target), outputs[0])]
        rule = lookup_vjp(prim.func)
        ones = gast.Call(func=_resolved(np.ones_like, "np.ones_like"), args=[name(target)],
                         keywords=[])
        statements, outputs = inline(rule, ones, name(target), prim.args, prim.kwargs,
                                     self.namer, error)
        bindings, _, _ = bind(rule, ones, name(target), prim.args, prim.kwargs, error)
        reduce_kw = [gast.keyword(arg=k, value=clone(bindings[k]))
                     for k in ("axis", "keepdims") if k in bindings]
        slope = gast.BinOp(left=outputs[0], op=gast.Mult(), right=tangent)
        total = gast.Call(func=_resolved(np.sum, "np.sum"), args=[slope], keywords=reduce_kw)
        return statements + [assign(self.tangent(target), total)]

    def elementwise(self, stmt, prim, tangents, target):
        """The VJP rule with each tangent as the cotangent, summed over the arguments."""
        rule = lookup_vjp(prim.func)
        out, total = [], None
        for i, tangent in enumerate(tangents):
            if tangent is None:
                continue

            def error(message):
                return self.info.error(f"cannot differentiate `{_describe(prim.func)}`: "
                                       f"{message}", stmt.origin)
            statements, outputs = inline(rule, tangent, name(target), prim.args, prim.kwargs,
                                         self.namer, error)
            out.extend(statements)
            term = outputs[i]
            total = term if total is None else gast.BinOp(left=total, op=gast.Add(), right=term)
        out.append(assign(self.tangent(target), total))
        return out


def forward(info, tree, wrt, single, namer):
    """The JVP FunctionDef of normalized ``tree``: ``(*args, tangent=...) -> (value, tangent)``.

    ``single``: one tangent (``wrt`` an int) rather than a tuple of them.
    """
    params = [a.id for a in tree.args.args]
    wrt_names = [params[i] for i in wrt]
    builder = ForwardBuilder(info, tree, wrt_names, namer)
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
    body += builder.block(tree.body)
    ret = tree.body[-1].value
    items = ret.elts if isinstance(ret, gast.Tuple) else [ret]
    outs = [tgr_call("match", builder.tangent_of(v), clone(v)) if builder.tangent_of(v)
            is not None else tgr_call("zero_tangent", clone(v)) for v in items]
    out = gast.Tuple(elts=outs, ctx=gast.Load()) if isinstance(ret, gast.Tuple) else outs[0]
    body.append(gast.Return(value=gast.Tuple(elts=[clone(ret), out], ctx=gast.Load())))
    fn = gast.FunctionDef(name=namer.unique("d" + info.tree.name), args=args, body=body,
                          decorator_list=[], returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fn, info.tree)
