"""Functions as values in ``normalize``: what a call calls is decided when the code is built.

A name bound to a function is an alias, not a variable: ``f = make(w)`` (a closure factory,
inlined, so ``f`` is its nested ``def``), ``g = np.sin``, a parameter of an inlined function
bound to the function passed for it (``solve(f, x0)``: ``solve`` is inlined where it is given a
function, so its ``f(x)`` is the caller's ``f``), ``fs = [np.sin, sq]`` indexed by constants.
A call of an alias calls the function itself: a nested ``def`` is inlined (it reads the
variables it closes over as they are at the call, as Python's closures do), a constant is
called as a global is.

``tg.grad(p)`` (any entry point marked ``transforms_functions``) of a function known here is
made when the code is built, on numpy whatever ``backend=`` says: the calling code
differentiates its generated source again and lowers it for its own backend. A nested ``p`` is first lifted to a function of its own whose
extra parameters are the enclosing variables it reads (``def p(y, x)`` for ``def p(y):
return x + y``), so ``tg.grad(p)(1.0)`` becomes ``dp(1.0, x)``: the inner derivative is with
respect to ``y`` only, and an outer derivative with respect to ``x`` differentiates ``dp``'s
generated code in its second argument. Inner and outer perturbations of the same variable
cannot be confused: they are different parameters of different functions.

Where the function is known only at run time (a value computed by arrays, a list indexed by a
variable) the call is refused with its line.

For example, the factory and the closure it returns are inlined where ``f`` is called:

>>> from transgrad.passes.show import show
>>> print(show('''
... def make(a):
...     def scale(x):
...         return a * x
...     return scale
... def g(x, w):
...     f = make(w)
...     return np.sum(f(x))
... ''', through="normalize"))
def g(x, w):
    x1 = x
    result3 = w * x1
    t1 = np.sum(result3)
    return t1
"""

import ast
import inspect
import itertools
import linecache
import types

import gast
import numpy as np

from .. import ir
from ..ir import clone, walk
from ..parse import Derivative, parse_function
from ..rules import is_nondifferentiable, lookup_vjp
from . import fence as _fence
from . import resolve as _resolve


class FunctionList:
    """``fs = [f, g]`` or ``ops = {"a": f}`` of function values: indexed by constants when
    the code is built (``items``: a list or a dict)."""

    def __init__(self, items):
        self.items = items


class FunctionValues:
    """The function-value methods of ``Normalizer`` (which holds ``local_functions``)."""

    @property
    def function_constants(self):
        """name -> a resolved node (a function the code calls by value) or a FunctionList."""
        return self.__dict__.setdefault("_function_constants", {})

    @property
    def lifted_calls(self):
        """id(derivative of a lifted function) -> (its user parameters' count, the enclosing
        variables it reads, passed after them), and the derivative itself (kept alive)."""
        return self.__dict__.setdefault("_lifted_calls", {})

    # --- what a node stands for ----------------------------------------------------------
    def function_value(self, node):
        """A FunctionDef (a local function), a resolved node (a function constant), a
        FunctionList, or None: ``node`` is no function known when the code is built."""
        if isinstance(node, gast.Name) and not hasattr(node, "resolved"):
            if node.id in self.local_functions:
                return self.local_functions[node.id]
            given = self.classes.get(node.id)
            if given is not None and not isinstance(given, type) \
                    and self.current.get(node.id) == node.id:
                return resolved_name_of(given, node)   # a function the build was given
            value = self.function_constants.get(node.id)
            return clone(value) if isinstance(value, gast.AST) else value
        if isinstance(node, gast.Lambda):
            name = self.fresh("lambda")
            fn = gast.copy_location(gast.FunctionDef(
                name=name, args=node.args, body=[gast.copy_location(gast.Return(
                    value=node.body), node)], decorator_list=[], returns=None,
                type_comment=None, type_params=[]), node)
            self.local_functions[name] = fn
            return fn
        if hasattr(node, "resolved") and is_function_constant(node.resolved):
            return node
        return None

    def function_name_load(self, node):
        """``expr`` of a Name that is a function alias: the constant, or a located refusal
        for a nested function (or list of functions) used as a value."""
        value = self.function_value(node)
        if isinstance(value, gast.AST) and hasattr(value, "resolved"):
            return value
        raise self.info.error(
            f"`{node.id}` holds a function, used here as a value", node,
            hint="call it, pass it to a function, or bind it to a name: transgrad inlines "
                 "functions where they are called")

    # --- assignments ----------------------------------------------------------------------
    def assign_function_value(self, stmt):
        """``f = <a function value>`` as an alias (nothing emitted); False for other
        assignments."""
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], gast.Name):
            return False
        target, value = stmt.targets[0].id, stmt.value
        if isinstance(value, (gast.List, gast.Tuple)) and value.elts and all(
                self._is_function_node(e) for e in value.elts):
            self._alias(target, FunctionList([self.function_value(e) for e in value.elts]),
                        stmt)
            return True
        if isinstance(value, gast.Dict):
            if not all(self._is_function_node(v) for v in value.values):
                raise self.info.error("dictionary literals are supported only as tables of "
                                      "functions (`ops = {\"a\": np.cos}`)", value,
                                      hint="pass the values as separate names")
            self._alias(target, FunctionList({k.value: self.function_value(v) for k, v in
                                              zip(value.keys, value.values)}), stmt)
            return True
        if isinstance(value, gast.Name) and self._is_function_node(value):
            self._alias(target, self.function_value(value), stmt)
            return True
        if hasattr(value, "resolved") and is_function_constant(value.resolved):
            self._alias(target, value, stmt)
            return True
        if not isinstance(value, (gast.Call, gast.Subscript)):
            return False
        made = self.expr(value)
        found = self.function_value(made) if isinstance(made, gast.Name) else None
        if found is None:
            self.assign(stmt.targets[0], made)
        else:
            self._alias(target, found, stmt)
        return True

    def _is_function_node(self, node):
        if isinstance(node, gast.Name) and not hasattr(node, "resolved"):
            given = self.classes.get(node.id)
            return node.id in self.local_functions or node.id in self.function_constants \
                or given is not None and not isinstance(given, type) \
                and self.current.get(node.id) == node.id
        return isinstance(node, gast.Lambda) or (
            hasattr(node, "resolved") and is_function_constant(node.resolved))

    def _alias(self, target, value, node):
        """Bind the name ``target`` to a function value; a second, different binding (in a
        branch, a loop, a later statement) is refused: the call must know its function."""
        old = self.local_functions.get(target, self.function_constants.get(target))
        if old is not None and not _same_function(old, value):
            raise self.info.error(
                f"`{target}` is bound to different functions here and before", node,
                hint="give each function its own name: the function a call calls must be "
                     "known when the code is built")
        if target in self.current or target in self.diverged:
            raise self.info.error(f"`{target}` holds a value and then a function", node,
                                  hint="give the function a name of its own")
        if isinstance(value, gast.FunctionDef):
            self.local_functions[target] = value
        else:
            self.function_constants[target] = value

    def loop_over_functions(self, stmt):
        """``for fn in fs:`` over a list of functions known here: the body once per function,
        ``fn`` bound to it (unrolled); False for other loops."""
        items = stmt.iter
        if isinstance(items, (gast.List, gast.Tuple)) and items.elts and all(
                self._is_function_node(e) for e in items.elts):
            functions = [self.function_value(e) for e in items.elts]
        elif isinstance(items, gast.Name) and isinstance(self.function_value(items),
                                                         FunctionList):
            functions = self.function_value(items).items
            if isinstance(functions, dict):
                return False   # `for key in ops:` iterates the keys
        else:
            return False
        if not isinstance(stmt.target, gast.Name) or stmt.orelse or any(
                isinstance(n, (gast.Break, gast.Continue, gast.Return))
                for s in stmt.body for n in walk(s)):
            raise self.info.error("a loop over functions is unrolled: its target must be a "
                                  "name, with no `break`, `continue`, `return` or `else`", stmt)
        target = stmt.target.id
        for function in functions:
            self.local_functions.pop(target, None)
            self.function_constants.pop(target, None)
            self._alias(target, function, stmt)
            outer_origin = self.origin
            for inner in stmt.body:
                self.origin = inner
                self.visit_stmt(inner)
            self.origin = outer_origin
        return True

    def bind_function_param(self, param, value):
        """Bind an inlined function's parameter to the function passed for it; False when
        ``value`` is no function."""
        if not (getattr(value, "function_arg", False) or isinstance(value, gast.Name)
                and self._is_function_node(value)):   # a factory's result: `solve(make(w))`
            return False
        found = self.function_value(value)
        if isinstance(found, gast.FunctionDef):
            self.local_functions[param] = found
        else:
            self.function_constants[param] = found
        return True

    # --- calls ----------------------------------------------------------------------------
    def call_function_value(self, node):
        """The normalized call when what it calls or passes is a function value decided here,
        else None (an ordinary call)."""
        func = node.func
        passes_function = any(self._is_function_node(a) for a in node.args) or any(
            self._is_function_node(k.value) for k in node.keywords)
        if isinstance(func, gast.Name) and not hasattr(func, "resolved"):
            if func.id in self.local_functions and not passes_function:
                return None   # the ordinary inlining of a nested function
            callee = self.function_value(func)
            if callee is None:
                return None
        elif isinstance(func, (gast.Call, gast.Subscript)):
            callee = self._callee_of_expression(func)
        elif hasattr(func, "resolved"):
            callee = func
            obj = func.resolved
            if callable(getattr(obj, "generated_callee", None)):
                return self.generated_call(node, *obj.generated_callee())
            if getattr(obj, "transforms_functions", False) and node.args \
                    and self._is_function_node(node.args[0]):
                return self.transform(node)
            if not (passes_function or _is_factory(obj)):
                return None
        else:
            return None
        if isinstance(callee, FunctionList):
            raise self.info.error("a list of functions is called only through a constant "
                                  "index here", node)
        args = [self.function_arg(a) for a in node.args]
        keywords = [gast.keyword(arg=k.arg, value=self.function_arg(k.value))
                    for k in node.keywords]
        if isinstance(callee, gast.FunctionDef):
            return self.inline_local(callee, args, keywords, node)
        obj = callee.resolved
        lifted = self.lifted_calls.get(id(obj))
        if lifted is not None:
            count, names = lifted[0], lifted[1]
            extra = [self.arg(gast.copy_location(ir.name(n), node)) for n in names]
            args = args[:count] + extra + args[count:]
        elif _inlinable(obj) and (any(hasattr(a, "function_arg") for a in args + [
                k.value for k in keywords]) or _is_factory(obj)):
            return self.inline_local(_parsed_tree(obj, node, self.info), args, keywords, node)
        return gast.copy_location(gast.Call(func=clone(callee), args=args, keywords=keywords),
                                  node)

    def generated_call(self, node, function, tangent_parameter):
        """``f_jvp(x, (dx,))`` in generated code differentiated again: a call of the
        generated function ``f_jvp`` stands for, the tangent tuple (its last positional
        argument) bound to a name (a value passed to a user function one by one)."""
        made = resolved_name_of(function, node.func)
        args = [self.arg(a) for a in node.args[:-1]]
        keywords = [gast.keyword(arg=k.arg, value=self.arg(k.value)) for k in node.keywords]
        tangents = self.atom_of(node.args[-1])
        if not isinstance(tangents, gast.Name):   # a tuple of atoms is an atom: bind it too
            bound = self.namer.temp()
            self.defined.add(bound)
            self.emit(gast.Assign(targets=[ir.name(bound, store=True)], value=tangents,
                                  type_comment=None))
            tangents = ir.name(bound)
        keywords.append(gast.keyword(arg=tangent_parameter, value=tangents))
        return gast.copy_location(gast.Call(func=made, args=args, keywords=keywords), node)

    def function_arg(self, node):
        """A call argument: a function value as a Name the inliner binds (marked), else the
        ordinary atom."""
        if self._is_function_node(node):
            value = self.function_value(node)
            if isinstance(value, gast.FunctionDef):
                name = node.id if isinstance(node, gast.Name) else value.name
                made = ir.name(name)
            elif isinstance(value, FunctionList):
                raise self.info.error("a list of functions passed to a function", node,
                                      hint="pass the functions one by one")
            else:
                made = clone(value)
            made.function_arg = True
            return made
        return self.arg(node)

    def _callee_of_expression(self, func):
        """What ``make(w)(x)``, ``tg.grad(p)(x)`` or ``fs[0](x)`` calls."""
        if isinstance(func, gast.Subscript) and isinstance(func.value, gast.Name):
            items = self.function_value(func.value)
            if isinstance(items, FunctionList):
                index = func.slice
                if isinstance(index, gast.Constant) and isinstance(items.items, dict):
                    if index.value in items.items:
                        return items.items[index.value]
                    raise self.info.error(f"the table of functions `{func.value.id}` has no "
                                          f"key {index.value!r}", func)
                if isinstance(index, gast.Constant) and isinstance(index.value, int) \
                        and -len(items.items) <= index.value < len(items.items):
                    return items.items[index.value]
                raise self.info.error("a list of functions indexed by a value known only "
                                      "when the code runs", func,
                                      hint="index it by a constant, or call each function "
                                           "by its name in a branch")
        made = self.atom_of(func)
        found = self.function_value(made) if isinstance(made, gast.Name) else None
        if found is None:
            raise self.info.error(
                "calling a function value computed when the code runs", func,
                hint="call a function known when the code is built (a global, a nested "
                     "function, a parameter of a function given one)")
        return found

    # --- derivatives made inside a differentiated function --------------------------------
    def transform(self, node):
        """``tg.grad(p, wrt=...)`` made now: a resolved node of the derivative, whose calls
        pass the enclosing variables a nested ``p`` reads after its own arguments."""
        entry = node.func.resolved
        target = self.function_value(node.args[0])
        rest = [_constant(a, self.info) for a in node.args[1:]]
        options = {k.arg: _constant(k.value, self.info) for k in node.keywords}
        # differentiated again as source, lowered with the code that calls it: on numpy
        options.pop("backend", None)
        options.pop("loops", None)
        if isinstance(target, gast.FunctionDef):
            function, names = self.lift(target, node)
            count = len(target.args.args)
            derivative = entry(function, *rest, **options)
            self.lifted_calls[id(derivative)] = (count, names, derivative)
        elif isinstance(target, FunctionList):
            raise self.info.error("a derivative of a list of functions", node)
        else:
            derivative = entry(target.resolved, *rest, **options)
        made = ir.name(getattr(entry, "__name__", "derivative"))
        made.resolved = derivative
        return gast.copy_location(made, node)

    def lift(self, fn, node):
        """(a module-level function for the nested ``fn``, the enclosing variables it reads,
        which become its last parameters). Local functions it calls are copied into it."""
        defs, free, namespace = {}, [], {}
        self._free_names(fn, defs, free, namespace, node)
        if fn.args.defaults or fn.args.kwonlyargs or fn.args.vararg or fn.args.kwarg:
            raise self.info.error(f"a derivative of the nested function `{fn.name}`, which "
                                  "has defaults or keyword-only parameters", node,
                                  hint="define it with positional parameters only")
        args = clone(fn.args)
        args.args = list(args.args) + [gast.Name(id=n, ctx=gast.Param(), annotation=None,
                                                 type_comment=None) for n in free]
        body = []
        for key, inner in defs.items():
            body.append(clone(inner))
            if key != inner.name:
                body.append(ast.parse(f"{key} = {inner.name}").body[0])
        body = [gast.ast_to_gast(s) if isinstance(s, ast.AST) else s for s in body]
        lifted = gast.FunctionDef(name=fn.name, args=args, body=body + [clone(s)
                                                                        for s in fn.body],
                                  decorator_list=[], returns=None, type_comment=None,
                                  type_params=[])
        text = ast.unparse(ast.fix_missing_locations(gast.gast_to_ast(lifted))) + "\n"
        line = getattr(fn, "lineno", 1) or 1
        filename = f"<lifted {fn.name} of {self.info.filename}:{line} #{next(_lifted)}>"
        text = "\n" * (line - 1) + text
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        scope = dict(namespace)
        exec(compile(text, filename, "exec"), scope)   # noqa: S102 (the user's own code)
        return scope[fn.name], free

    def _free_names(self, fn, defs, free, namespace, node):
        """Collect what ``fn`` reads from outside: local functions (into ``defs``), enclosing
        variables (``free``), globals and constants (``namespace``)."""
        local = {fn.name} | {n.id for n in walk(fn) if isinstance(n, gast.Name)
                             and isinstance(n.ctx, (gast.Store, gast.Param, gast.Del))} | {
            n.name for n in walk(fn) if isinstance(n, gast.FunctionDef)}
        for n in walk(fn):
            if not isinstance(n, gast.Name) or not isinstance(n.ctx, gast.Load):
                continue
            if hasattr(n, "resolved"):
                if namespace.setdefault(n.id, n.resolved) is not n.resolved:
                    raise self.info.error(f"`{n.id}` names two objects in `{fn.name}` and the "
                                          "functions it calls", n)
                continue
            if n.id in local or n.id in defs or n.id in free:
                continue
            if n.id in self.local_functions:
                defs[n.id] = self.local_functions[n.id]
                self._free_names(defs[n.id], defs, free, namespace, node)
            elif n.id in self.function_constants:
                value = self.function_constants[n.id]
                if isinstance(value, FunctionList):
                    raise self.info.error(f"the list of functions `{n.id}` read by a function "
                                          "whose derivative is taken", n)
                namespace[n.id] = value.resolved
            else:
                free.append(n.id)


_lifted = itertools.count(1)


def resolved_name_of(obj, node):
    """A Name node standing for the object ``obj``, at ``node``'s place."""
    made = gast.copy_location(ir.name(getattr(obj, "__name__", "function")), node)
    made.resolved = obj
    return made


def is_function_constant(obj):
    """A callable object a name may stand for (not a class, an array or a module)."""
    return callable(obj) and not isinstance(obj, (type, np.ndarray, types.ModuleType))


def _same_function(old, new):
    if isinstance(old, gast.FunctionDef) or isinstance(new, gast.FunctionDef):
        return old is new
    if isinstance(old, FunctionList) or isinstance(new, FunctionList):
        return False
    return old.resolved is new.resolved


def _inlinable(obj):
    """A Python function without a rule, whose source can be inlined."""
    return inspect.isfunction(obj) and not isinstance(obj, Derivative) \
        and not (obj.__module__ or "").startswith("transgrad") \
        and lookup_vjp(obj) is None and not is_nondifferentiable(obj)


def _is_factory(obj):
    """A user function that returns a nested function or lambda (a closure factory): cheap
    test first (it makes functions), then its source."""
    if not _inlinable(obj) or not any(isinstance(c, types.CodeType)
                                      for c in obj.__code__.co_consts):
        return False
    try:
        tree = parse_function(obj).tree
    except Exception:   # noqa: BLE001 (no readable source: an ordinary call)
        return False
    made = {n.name for n in walk(tree) if isinstance(n, gast.FunctionDef) and n is not tree}
    made |= {n.targets[0].id for n in walk(tree) if isinstance(n, gast.Assign)
             and isinstance(n.value, gast.Lambda) and isinstance(n.targets[0], gast.Name)}
    return any(isinstance(n, gast.Return) and (
        isinstance(n.value, gast.Lambda)
        or isinstance(n.value, gast.Name) and n.value.id in made) for n in walk(tree))


def _parsed_tree(obj, node, info):
    """The checked, resolved tree of the user function ``obj``, to be inlined at ``node``.
    Its statements take the call's place: the caller's line maps, comments and errors read
    the caller's file, where the callee's own line numbers would name other lines."""
    callee = parse_function(obj)
    _fence.fence(callee)
    _resolve.resolve(callee)
    for part in walk(callee.tree):
        if hasattr(part, "lineno"):
            gast.copy_location(part, node)
            part.end_lineno = getattr(node, "end_lineno", None)
            part.end_col_offset = getattr(node, "end_col_offset", None)
    return callee.tree


def _constant(node, info):
    """The value of an entry point's option (``wrt=(0, 1)``, ``backend="jax"``)."""
    if hasattr(node, "resolved"):
        return node.resolved
    try:
        return ast.literal_eval(gast.gast_to_ast(node))
    except ValueError:
        raise info.error("an option of a derivative taken inside a differentiated function "
                         "must be a constant", node) from None
