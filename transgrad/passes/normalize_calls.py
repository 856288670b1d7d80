"""How ``normalize`` spells calls: array methods and attributes as the numpy functions that have
rules (``x.sum(axis=0)`` -> ``np.sum(x, axis=0)``, ``x.T`` -> ``np.transpose(x)``), methods
and properties of the user's classes as calls of their functions, and nested functions and
lambdas inlined at their calls."""


import inspect

import gast
import numpy as np

from .. import ir, runtime
from ..ir import clone, walk
from ..rules.registry import ATTRIBUTES, METHODS, VARARG_METHODS  # declared with the rules
from .normalize_integrate import integrator_call
from .normalize_jumps import assigned_in_compound, lift_returns, restructure_jumps


def resolved_name(obj, node=None):
    """A Name node that stands for the Python object ``obj``."""
    name = gast.Name(id=getattr(obj, "__name__", "obj"), ctx=gast.Load(), annotation=None,
                     type_comment=None)
    name.resolved = obj
    if node is not None:
        gast.copy_location(name, node)
    return name


class CallSpellings:
    """The call methods of ``Normalizer`` (which holds the state they use)."""

    def call(self, node):
        made = integrator_call(self, node)   # odeint(func, ...): normalize_integrate
        if made is None:
            made = self.call_function_value(node)   # functions as values (normalize_functions)
        if made is not None:
            return made
        args, keywords = self.spread_arguments(node)   # f(*xs, **d): normalize_targets
        args = [self.arg(a) for a in args]
        keywords = [gast.keyword(arg=k.arg, value=self.arg(k.value)) for k in keywords]
        func = node.func
        if isinstance(func, gast.Name) and func.id in self.local_functions:
            return self.inline_local(self.local_functions[func.id], args, keywords, node)
        if hasattr(func, "resolved"):
            return gast.copy_location(gast.Call(func=func, args=args, keywords=keywords), node)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and func.value.id in self.classes \
                and self.current.get(func.value.id) == func.value.id:
            # model.forward(x) on a parameter whose class this build knows
            method = getattr(self.classes[func.value.id], func.attr, None)
            if callable(method):
                return gast.copy_location(gast.Call(
                    func=resolved_name(method, func),
                    args=[self.atom_of(func.value)] + args, keywords=keywords), node)
        if isinstance(func, gast.Attribute):   # a method of a local value: x.sum(axis=0)
            method = METHODS.get(func.attr)
            if method is None:
                raise self.info.error(
                    f"the method `.{func.attr}()` is not supported", func,
                    hint="call the numpy function instead (np.<name>(x, ...)); methods of "
                         "your own classes work on parameters once the gradient is called "
                         "with the object, and on module-level objects")
            receiver = self.atom_of(func.value)
            if func.attr in VARARG_METHODS and len(args) > 1:
                args = [gast.Tuple(elts=args, ctx=gast.Load())]
            return gast.copy_location(gast.Call(func=resolved_name(method, func),
                                                args=[receiver] + args, keywords=keywords),
                                      node)
        raise self.info.error("calling a local value is not supported", node,
                              hint="call functions by their global name")

    def inline_local(self, fn, args, keywords, node):
        """A call of a nested function or lambda: its body, with fresh names, in place.

        It reads the enclosing function's variables as they are at the call (as Python's
        closures do); its parameters and locals get names of their own.
        """
        if fn.name in self.inlining:
            raise self.info.error(f"the nested function `{fn.name}` calls itself", node,
                                  hint="define recursive helpers at module level")
        params = [a.id for a in fn.args.args]
        inner = {a.id for a in walk(fn.args) if isinstance(a, gast.Name)} | {
            n.id for s in fn.body for n in walk(s)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)} | {
            n.name for s in fn.body for n in walk(s) if isinstance(n, gast.FunctionDef)}
        renames = {local: self.fresh(local) for local in sorted(inner)}
        defaults = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
        bound = dict(zip(params, args))
        stored = {n.id for s in fn.body for n in walk(s)
                  if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)}
        spelled = {n.id for n in walk(fn) if isinstance(n, gast.Name)} | {
            n.name for n in walk(fn) if isinstance(n, gast.FunctionDef)}
        bound.update((k.arg, k.value) for k in keywords)
        for param in params:
            if param not in bound:
                if param not in defaults:
                    raise self.info.error(f"missing argument `{param}` of `{fn.name}`", node)
                bound[param] = self.atom_of(defaults[param])
            if self.bind_function_param(renames[param], bound[param]):
                continue
            value = bound[param]
            if isinstance(value, gast.Name) and not hasattr(value, "resolved") \
                    and param not in stored and value.id not in spelled:
                renames[param] = value.id   # read only: the argument itself, not a copy
                continue
            self.assign_temp(renames[param], value)
        body = [clone(s) for s in fn.body]
        for stmt in body:
            for n in walk(stmt):
                if isinstance(n, gast.Name) and n.id in renames:
                    n.id = renames[n.id]
                elif isinstance(n, gast.FunctionDef) and n.name in renames:
                    n.name = renames[n.name]   # a nested def of an inlined function
        result = self.fresh("result", multi=True)
        falls_through = not (body and isinstance(body[-1], gast.Return))
        body = lift_returns(body, result, self.fresh("returned", multi=True))
        if isinstance(body[-1], gast.Return) and isinstance(body[-1].value, gast.Name) \
                and body[-1].value.id == result:
            body.pop()   # `return result` of the lifted returns: result holds it already
        elif isinstance(body[-1], gast.Return):
            body[-1] = gast.copy_location(gast.Assign(
                targets=[ir.name(result, store=True)], value=body[-1].value or gast.Constant(
                    value=None, kind=None), type_comment=None), body[-1])
        if falls_through:   # a path without `return` gives None
            located = next((n for n in walk(fn) if getattr(n, "lineno", None)), node)
            body.insert(0, gast.copy_location(gast.Assign(
                targets=[ir.name(result, store=True)], value=gast.Constant(value=None, kind=None),
                type_comment=None), located))
        self.multi |= assigned_in_compound(body)
        self.inlining.append(fn.name)
        outer_origin = self.origin
        for stmt in restructure_jumps(body):
            self.origin = stmt
            self.visit_stmt(stmt)
        self.origin = outer_origin
        self.inlining.pop()
        return ir.name(result)


    def attribute(self, node):
        function = ATTRIBUTES.get(node.attr)
        receiver = self.atom_of(node.value)
        obj = node.value.id if isinstance(node.value, gast.Name) else None
        cls = self.classes.get(obj) or self.owners.get(obj)
        if cls is not None and self.current.get(obj) == obj:
            prop = inspect.getattr_static(cls, node.attr, None)
            if isinstance(prop, property) and prop.fget is not None:
                # a property runs its getter: differentiated as a call of it
                if obj not in self.classes:   # a subclass must not override it
                    self.emit(gast.Expr(value=gast.Call(
                        func=resolved_name(runtime.check_member, node),
                        args=[receiver, resolved_name(cls, node),
                              gast.Constant(value=node.attr, kind=None)], keywords=[])))
                return gast.copy_location(gast.Call(func=resolved_name(prop.fget, node),
                                                    args=[receiver], keywords=[]), node)
        if cls is not None and self.current.get(obj) == obj and not issubclass(cls, np.ndarray):
            function = None   # a user class's own field named like an array's (p.real, p.T)
        if function is None:   # a field of a named tuple or dataclass (or .dtype)
            return gast.copy_location(gast.Attribute(value=receiver, attr=node.attr,
                                                     ctx=gast.Load()), node)
        return gast.copy_location(gast.Call(func=resolved_name(function, node),
                                            args=[receiver], keywords=[]), node)


def owner_class(func):
    """The class whose method (or property getter) ``func`` is, found from its qualified
    name in its module; None for a plain function or a class defined inside a function."""
    parts = getattr(func, "__qualname__", "").split(".")
    if len(parts) < 2 or "<locals>" in parts or not hasattr(func, "__globals__"):
        return None
    owner = func.__globals__.get(parts[0])
    for part in parts[1:-1]:
        owner = getattr(owner, part, None)
    if not isinstance(owner, type):
        return None
    member = inspect.getattr_static(owner, parts[-1], None)
    if member is func or isinstance(member, property) and member.fget is func:
        return owner
    return None
