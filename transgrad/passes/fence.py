"""Reject syntax transgrad does not differentiate, before any transformation runs.

Each construct outside the supported subset raises ``TransformError`` naming the construct,
its line and column, and what to write instead. For example::

    def f(x):
        yield x          # TransformError: generators (`yield`) are not supported ...

For example (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> show('''
... def f(x):
...     yield x
... ''', through="fence")  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
transgrad.errors.TransformError: `yield` is not supported by transgrad
  File "<show-...>", line 2, column 5
    yield x
    ^
Hint: generators are not supported; return a list or an array instead
"""

import gast

from ..ir import walk

# construct -> hint
UNSUPPORTED = {
    gast.Yield: "generators are not supported; return a list or an array instead",
    gast.YieldFrom: "generators are not supported; return a list or an array instead",
    gast.Await: "async code is not supported",
    gast.AsyncFunctionDef: "async functions are not supported",
    gast.AsyncFor: "async loops are not supported",
    gast.AsyncWith: "async blocks are not supported",
    gast.Try: "try/except is not supported inside a differentiated function; move it to the "
              "caller",
    gast.Raise: "raise is not supported inside a differentiated function; check inputs in the "
                "caller",
    gast.Global: "`global` is not supported; pass the value as an argument",
    gast.Nonlocal: "`nonlocal` is not supported; pass the value as an argument and return it",
    gast.ClassDef: "class definitions are not supported inside a differentiated function",
    gast.Delete: "`del` is not supported; leave the name unused instead",
    gast.Import: "imports inside a differentiated function are not supported; import at module "
                 "level",
    gast.ImportFrom: "imports inside a differentiated function are not supported; import at "
                     "module level",
    gast.SetComp: "set comprehensions are not supported; build a list ([... for ...])",
    gast.DictComp: "dict comprehensions are not supported; build a list ([... for ...]) or "
                   "assign the entries one by one",
    gast.NamedExpr: "the walrus operator `:=` is not supported; assign on its own line",
    gast.JoinedStr: "f-strings are not supported in differentiated code",
    gast.Set: "set literals are not supported",
    gast.Match: "`match` is not supported; use if/elif",
    gast.Dict: "dictionary literals are not supported by this version of transgrad",
    gast.Assert: "`assert` is not supported inside a differentiated function; check inputs in "
                 "the caller",
}

NAMES = {
    gast.Try: "try/except", gast.Yield: "yield", gast.YieldFrom: "yield from",
    gast.Global: "global", gast.Nonlocal: "nonlocal", gast.Lambda: "lambda",
    gast.Await: "await", gast.IfExp: "conditional expression", gast.BoolOp: "and/or",
}

FORBIDDEN_CALLS = {"exec": "exec() is not supported in differentiated code",
                   "eval": "eval() is not supported in differentiated code",
                   "globals": "globals() is not supported in differentiated code",
                   "locals": "locals() is not supported in differentiated code",
                   "setattr": "setattr() is not supported: setting attributes on objects "
                              "is not differentiated"}


# functions and methods that change an array in place, whose effect a statement-level call has
IN_PLACE_CALLS = {"at", "copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis",
                  "fill", "sort", "partition", "resize", "itemset", "setflags", "shuffle"}


def _in_place_call(stmt):
    """The name of the in-place function a statement-level call makes (``np.add.at(y, i, x)``,
    ``y.fill(0)``), else None."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        func = stmt.value.func
        name = getattr(func, "attr", None) or getattr(func, "id", None)
        if name in IN_PLACE_CALLS:
            return name
    return None


def _bound_lambda(stmt, node):
    """True for ``name = lambda ...`` (at any nesting depth), a lambda passed to a call
    (``solve(lambda x: ..., x0)``), one a factory returns (``return lambda x: ...``) and one in
    a list or dict literal (``for fn in [np.sin, lambda t: t * w]:``)."""
    for candidate in walk(stmt):
        if isinstance(candidate, gast.Assign) and candidate.value is node \
                and len(candidate.targets) == 1 and isinstance(candidate.targets[0], gast.Name):
            return True
        if isinstance(candidate, gast.Call) and (
                any(a is node for a in candidate.args)
                or any(k.value is node for k in candidate.keywords)):
            return True
        if isinstance(candidate, gast.Return) and candidate.value is node:
            return True
        if isinstance(candidate, (gast.List, gast.Tuple, gast.Dict)) and any(
                e is node for e in getattr(candidate, "elts", getattr(candidate, "values", []))):
            return True   # a list or table of functions (normalize_functions)
    return False


def _function_table(stmt, node):
    """True for ``ops = {"a": np.cos, "b": f}``: a dict literal of names (functions, checked
    by normalize) under constant keys, bound to a name, to be called as ``ops["a"](x)``."""
    return isinstance(node, gast.Dict) and all(
        isinstance(k, gast.Constant) for k in node.keys) and all(
        isinstance(v, (gast.Name, gast.Attribute, gast.Lambda)) for v in node.values) and any(
        isinstance(c, gast.Assign) and c.value is node and len(c.targets) == 1
        and isinstance(c.targets[0], gast.Name) for c in walk(stmt))


def _is_grad_of(node):
    """``with <...>.grad_of(name) as alias:`` and nothing else."""
    if len(node.items) != 1:
        return False
    item = node.items[0]
    call = item.context_expr
    func = getattr(call, "func", None)
    spelled = getattr(func, "attr", None) or getattr(func, "id", None)
    return isinstance(call, gast.Call) and spelled == "grad_of" and len(call.args) == 1 \
        and isinstance(call.args[0], gast.Name) and isinstance(item.optional_vars, gast.Name)


def fence(info):
    """Raise TransformError at the first unsupported construct in ``info.tree``."""
    tree = info.tree
    args = tree.args
    if args.vararg is not None or args.kwarg is not None:
        raise info.error(
            f"`*{(args.vararg or args.kwarg).id}` parameters are not supported", tree,
            hint="give each differentiable input a named parameter")
    for stmt in tree.body:
        for node in walk(stmt):
            kind = type(node)
            name = _in_place_call(node)
            if name is not None:
                raise info.error(f"`{name}(...)` changes an array in place, which transgrad "
                                 "does not differentiate", node,
                                 hint="compute a new array instead (`y = y + ...`, "
                                      "`y[i] = v`, `np.where`)")
            if isinstance(node, gast.Call) and any(k.arg == "out" for k in node.keywords):
                raise info.error("`out=` writes into an existing array, which transgrad does "
                                 "not differentiate", node,
                                 hint="drop `out=` and assign the result to a name")
            if kind in UNSUPPORTED and not _function_table(stmt, node):
                name = NAMES.get(kind, kind.__name__)
                raise info.error(f"`{name}` is not supported by transgrad", node,
                                 hint=UNSUPPORTED[kind])
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                    and node.func.id in FORBIDDEN_CALLS:
                raise info.error(f"`{node.func.id}()` is not supported",
                                 node, hint=FORBIDDEN_CALLS[node.func.id])
            if isinstance(node, gast.Lambda) and not _bound_lambda(stmt, node):
                raise info.error("a lambda is supported only when bound to a name "
                                 "(`f = lambda x: ...`)", node,
                                 hint="bind it to a name, or define it with `def`")
            if isinstance(node, gast.FunctionDef) and (node.decorator_list or node.args.vararg
                                                       or node.args.kwarg):
                raise info.error("nested functions with decorators or *args/**kwargs are not "
                                 "supported", node, hint="define the helper at module level")
            if isinstance(node, gast.With) and not _is_grad_of(node):
                raise info.error("`with` blocks are not supported inside a differentiated "
                                 "function, except `with tg.grad_of(x) as gx:`", node,
                                 hint="move the `with` block to the caller")
            if isinstance(node, gast.Attribute) and isinstance(node.ctx, gast.Store):
                raise info.error("setting attributes on objects is not supported", node,
                                 hint="return the new value instead of storing it on an object")
            if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                    and not isinstance(node.value, gast.Name):
                raise info.error("only subscripts of a plain name can be assigned", node,
                                 hint="index once: `y[i, j] = v` rather than `y[i][j] = v`")
    if not any(isinstance(n, gast.Return) for n in walk(tree)):
        raise info.error(f"{tree.name} must `return` the value to differentiate",
                         tree, hint="add `return <value>` at the end")
