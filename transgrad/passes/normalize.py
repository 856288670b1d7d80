"""Rewrite the function body to one primitive operation per statement (A-normal form).

Nested expressions get temporaries, reassigned variables get fresh names (so no value is ever
overwritten in straight-line code and the adjoint sweep needs no stack), augmented assignment
and array methods are desugared into calls of the functions that have rules::

    def f(x, w):                     def f(x, w):
        h = np.tanh(x @ w)      ->       t1 = x @ w
        h = h.sum(axis=0) * 2            h = np.tanh(t1)
        return h                         t2 = np.sum(h, axis=0)
                                         h_1 = t2 * 2
                                         return h_1

Every statement remembers the user's line as ``stmt.origin`` for comments and errors.
"""


import inspect

import gast
import numpy as np

from .. import runtime
from ..ir import clone, walk
from ..naming import GLOBAL_MODULES

# array method -> numpy function taking the array first
METHODS = {name: getattr(np, name) for name in (
    "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod", "dot", "clip",
    "squeeze", "ravel", "argmax", "argmin", "argsort", "any", "all", "round", "trace",
    "diagonal", "repeat", "swapaxes", "nonzero", "conj")}
METHODS.update(copy=runtime.copy_of, flatten=np.ravel, reshape=np.reshape, transpose=np.transpose,
               astype=runtime.astype, item=runtime.item)
VARARG_METHODS = {"reshape", "transpose"}   # x.reshape(2, 3) == np.reshape(x, (2, 3))
ATTRIBUTES = {"T": np.transpose, "shape": np.shape, "ndim": np.ndim, "size": np.size}


def resolved_name(obj, node=None):
    """A Name node that stands for the Python object ``obj``."""
    name = gast.Name(id=getattr(obj, "__name__", "obj"), ctx=gast.Load(), annotation=None,
                     type_comment=None)
    name.resolved = obj
    if node is not None:
        gast.copy_location(name, node)
    return name


def is_atom(node):
    """Names, constants, resolved globals, and tuples/lists/slices of atoms."""
    if isinstance(node, (gast.Name, gast.Constant)) or hasattr(node, "resolved"):
        return True
    if isinstance(node, (gast.Tuple, gast.List)):
        return all(is_atom(e) for e in node.elts)
    if isinstance(node, gast.Slice):
        return all(p is None or is_atom(p) for p in (node.lower, node.upper, node.step))
    return False


class Normalizer:
    def __init__(self, info, namer, classes=None):
        self.info = info
        self.namer = namer
        self.classes = classes or {}   # parameter -> its user class, known for this build
        # `self` of a method -> the class defining it (an instance may be of a subclass: its
        # properties are read as the class's getters after a check that none is overridden)
        self.owners = {}
        owner = _owner_class(info.func)
        params = info.tree.args.posonlyargs + info.tree.args.args
        if owner is not None and params and params[0].id not in self.classes:
            self.owners[params[0].id] = owner
        self.current = {}       # user variable -> its current (renamed) name
        self.diverged = set()   # variables renamed differently by the two branches of an `if`
        self.module_renames = {}   # `tgr` (a global generated code reads) -> `tgr_1`
        self.defined = set()
        self.body = []
        self.origin = None
        # variables assigned inside if/for/while keep one name (no renaming): their old values
        # are saved on a stack by the reverse pass where the adjoint needs them
        self.multi = assigned_in_compound(info.tree.body)
        self.local_functions = {}   # nested def / lambda name -> FunctionDef, inlined at calls
        self.inlining = []

    # --- statements -------------------------------------------------------------------------
    def run(self):
        tree = self.info.tree
        for arg in tree.args.args + tree.args.kwonlyargs + tree.args.posonlyargs:
            if arg.id in GLOBAL_MODULES and not self.info.generated:
                raise self.info.error(
                    f"a parameter named `{arg.id}` would hide the global `{arg.id}` that the "
                    "generated code uses", arg, hint=f"rename the parameter `{arg.id}`")
            self.current[arg.id] = arg.id
            self.defined.add(arg.id)
        body = lift_returns(tree.body, self.fresh("result", multi=True),
                            self.fresh("returned", multi=True))
        for stmt in restructure_jumps(body):
            self.origin = stmt
            self.visit_stmt(stmt)
        new = gast.FunctionDef(name=tree.name, args=clone(tree.args), body=self.body,
                               decorator_list=[], returns=None, type_comment=None,
                               type_params=[])
        return gast.copy_location(new, tree)

    def emit(self, stmt):
        stmt.origin = self.origin
        gast.copy_location(stmt, self.origin)
        self.body.append(stmt)

    def rename_loads(self, stmt):
        """A hook's statement, reading the current versions of renamed variables."""
        stmt = clone(stmt)
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                    and node.id in self.current:
                node.id = self.current[node.id]
        return stmt

    def block(self, stmts, prefix=()):
        """Normalize ``stmts`` into a new statement list (a branch or loop body)."""
        outer, outer_origin = self.body, self.origin
        self.body = list(prefix)
        for stmt in stmts:
            self.origin = stmt
            self.visit_stmt(stmt)
        body, self.body, self.origin = self.body, outer, outer_origin
        return body or [gast.Pass()]

    def fresh(self, base="t", multi=False):
        """A new temporary; ``multi`` marks it as assigned more than once (in a loop)."""
        name = self.namer.temp(base)
        self.defined.add(name)
        if multi:
            self.multi.add(name)
        return name

    def assign_temp(self, name, value):
        self.emit(gast.Assign(targets=[_store(name)], value=value, type_comment=None))
        return _load(name)

    def visit_if(self, stmt):
        test = self.assign_temp(self.fresh("cond", multi=True), self.expr(stmt.test))
        # Statements an early return or a jump moved into both branches may rename a variable
        # (`x_1` in one branch): the other branch starts from the names before the `if`.
        before = dict(self.current)
        body = self.block(stmt.body)
        after_body, self.current = self.current, dict(before)
        orelse = self.block(stmt.orelse)
        for name in set(after_body) | set(self.current):
            mine, other = after_body.get(name), self.current.get(name)
            if mine == other:
                continue
            if name in self.multi:   # one name on every path (bound on one path only)
                self.current[name] = mine or other
            else:   # no version is current on both paths; nothing reads it after such an `if`
                self.current.pop(name, None)
                self.diverged.add(name)
        node = gast.If(test=test, body=body, orelse=orelse)
        if not stmt.orelse:
            node.orelse = []
        self.emit(node)

    def visit_for(self, stmt):
        if stmt.orelse:
            raise self.info.error("`for ... else` is not supported", stmt,
                                  hint="use a flag variable set before `break`")
        index, steps, binding = self.loop_header(stmt)
        body = self.block(binding + stmt.body)
        node = gast.For(target=_store(index), iter=steps, body=body, orelse=[],
                        type_comment=None)
        self.finish_loop(node, stmt)

    def finish_loop(self, node, stmt):
        """Count the loop's trips when it may leave early (break) or is a while loop."""
        jumps = any(isinstance(n, gast.Break) for n in _walk_loop_body(stmt.body))
        if jumps or isinstance(node, gast.While):
            count = self.fresh("trips", multi=True)
            self.assign_temp(count, gast.Constant(value=0, kind=None))
            step = gast.Assign(targets=[_store(count)], value=gast.BinOp(
                left=_load(count), op=gast.Add(), right=gast.Constant(value=1, kind=None)),
                type_comment=None)
            step.origin = stmt
            step.counter_step = True   # its old value is never needed: no save
            gast.copy_location(step, stmt)
            node.body.insert(0, step)
            node.trip_count = count
        self.emit(node)

    def loop_header(self, stmt):
        """Turn ``for TARGET in ITER`` into a loop over a saved range of indices.

        Returns (index name, the range's Name, statements that bind TARGET from the index).
        """
        iterable, target = stmt.iter, stmt.target
        call = iterable.func if isinstance(iterable, gast.Call) else None
        builtin = getattr(call, "resolved", None) if call is not None else None
        if builtin is range and isinstance(target, gast.Name) and not iterable.keywords:
            args = [self.atom_of(a) for a in iterable.args]
            steps = self.assign_temp(
                self.fresh("steps", multi=True),
                gast.Call(func=resolved_name(range), args=args, keywords=[]))
            self.multi.add(target.id)
            return self.store(target.id).id, steps, []
        # every other iterable is indexed: for k in range(len(seq)): target = seq[k]
        index = self.fresh("k", multi=True)
        lengths = []
        value = self.iteration_item(iterable, _load(index), lengths, _rebound_in_loop(stmt))
        length = lengths[0] if len(lengths) == 1 else self.assign_temp(
            self.fresh("n"), gast.Call(func=resolved_name(min), args=lengths, keywords=[]))
        steps = self.assign_temp(self.fresh("steps", multi=True), gast.Call(
            func=resolved_name(range), args=[length], keywords=[]))
        binding = gast.Assign(targets=[target], value=value, type_comment=None)
        gast.copy_location(binding, stmt)
        return index, steps, [binding]

    def iteration_item(self, iterable, position, lengths, rebound=frozenset()):
        """The element at ``position`` of ``iterable`` (enumerate, zip and reversed nest);
        appends the Name of each underlying sequence's length to ``lengths``. A sequence
        named by a variable in ``rebound`` (the loop assigns it) is first saved in a
        temporary: Python iterates the object the name held when the loop began."""
        call = iterable.func if isinstance(iterable, gast.Call) else None
        builtin = getattr(call, "resolved", None) if call is not None else None
        if builtin is enumerate:
            item = self.iteration_item(iterable.args[0], position, lengths, rebound)
            start = iterable.args[1] if len(iterable.args) > 1 else next(
                (k.value for k in iterable.keywords if k.arg == "start"), None)
            count = clone(position) if start is None else gast.BinOp(
                left=clone(position), op=gast.Add(), right=self.atom_of(start))
            return gast.Tuple(elts=[count, item], ctx=gast.Load())
        if builtin is zip:
            return gast.Tuple(elts=[self.iteration_item(a, clone(position), lengths, rebound)
                                    for a in iterable.args], ctx=gast.Load())
        if builtin is reversed:
            sequence = self.sequence(iterable.args[0], rebound)
            length = self.assign_temp(self.fresh("n"), gast.Call(
                func=resolved_name(len), args=[sequence], keywords=[]))
            lengths.append(length)
            last = gast.BinOp(left=gast.BinOp(left=clone(length), op=gast.Sub(),
                                              right=gast.Constant(value=1, kind=None)),
                              op=gast.Sub(), right=clone(position))
            return gast.Subscript(value=sequence, slice=last, ctx=gast.Load())
        sequence = self.sequence(iterable, rebound)
        lengths.append(self.assign_temp(self.fresh("n"), gast.Call(
            func=resolved_name(len), args=[sequence], keywords=[])))
        return gast.Subscript(value=sequence, slice=clone(position), ctx=gast.Load())

    def sequence(self, node, rebound):
        """The atom a loop indexes for ``node``: ``seq1 = v`` first when the loop rebinds
        ``v`` (``for item in v: v = item * v`` iterates the first ``v``)."""
        sequence = self.atom_of(node)
        if isinstance(node, gast.Name) and node.id in rebound:
            sequence = self.assign_temp(self.fresh("seq"), sequence)
        return sequence

    def visit_while(self, stmt):
        if stmt.orelse:
            raise self.info.error("`while ... else` is not supported", stmt,
                                  hint="use a flag variable set before `break`")
        cond = self.fresh("cond", multi=True)
        self.assign_temp(cond, self.expr(stmt.test))
        body = self.block(stmt.body)
        outer, self.body = self.body, []
        self.assign_temp(cond, self.expr(stmt.test))
        retest, self.body = self.body, outer
        _extend_open_paths(body, retest)
        self.finish_loop(gast.While(test=_load(cond), body=body, orelse=[]), stmt)

    def visit_stmt(self, stmt):
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Lambda):
            lam = stmt.value
            self.local_functions[stmt.targets[0].id] = gast.copy_location(gast.FunctionDef(
                name=stmt.targets[0].id, args=lam.args,
                body=[gast.copy_location(gast.Return(value=lam.body), lam)], decorator_list=[],
                returns=None, type_comment=None, type_params=[]), stmt)
        elif isinstance(stmt, gast.FunctionDef):
            self.local_functions[stmt.name] = stmt
        elif isinstance(stmt, gast.Assign) and self.info.generated \
                and stack_operation(stmt.value, "pop") is not None:
            self.pop(stmt)
        elif isinstance(stmt, gast.Assign):
            value = self.expr(stmt.value)
            if len(stmt.targets) > 1:
                value = self.atom(value)
            for target in stmt.targets:
                self.assign(target, value)
        elif isinstance(stmt, gast.AnnAssign):
            if stmt.value is not None:
                self.assign(stmt.target, self.expr(stmt.value))
        elif isinstance(stmt, gast.AugAssign):
            target = clone(stmt.target)
            target.ctx = gast.Load()
            if isinstance(target, gast.Subscript):   # x[i] += v: read, update, write back
                index = self.index(target.slice)
                current = self.atom(gast.Subscript(value=self.atom_of(target.value),
                                                   slice=index, ctx=gast.Load()))
                updated = self.atom(gast.BinOp(left=current, op=stmt.op,
                                               right=self.atom_of(stmt.value)))
                self.set_item(target.value, clone(index), updated)
                return
            old = self.atom_of(target)
            value = gast.BinOp(left=old, op=stmt.op, right=self.atom_of(stmt.value))
            self.assign(stmt.target, gast.copy_location(value, stmt))
            # numpy updates an array in place here: remembered for the aliasing check
            self.body[-1].in_place_of = getattr(old, "id", None)
        elif isinstance(stmt, gast.Return):
            value = self.atom_of(stmt.value) if stmt.value is not None \
                else gast.Constant(value=None, kind=None)
            self.emit(gast.Return(value=value))
        elif isinstance(stmt, gast.Expr):
            if isinstance(stmt.value, gast.Constant):
                return  # docstring or bare constant
            call = stmt.value
            if self.info.generated and stack_operation(call, "append") is not None:
                # generated code's stack push stays as it is (forward mode pushes tangents)
                push = gast.Call(func=gast.Attribute(value=self.expr(call.func.value),
                                                     attr="append", ctx=gast.Load()),
                                 args=[self.atom_of(call.args[0])], keywords=[])
                self.emit(gast.Expr(value=push))
                return
            if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
                    and call.func.attr == "append" and isinstance(call.func.value, gast.Name) \
                    and not hasattr(call.func.value, "resolved") and len(call.args) == 1:
                # values.append(v) -> values = tgr.append(values, v): each version kept
                values = call.func.value
                update = gast.Call(func=resolved_name(runtime.append, call),
                                   args=[self.atom_of(values), self.atom_of(call.args[0])],
                                   keywords=[])
                self.assign(gast.Name(id=values.id, ctx=gast.Store(), annotation=None,
                                      type_comment=None), update)
                return
            self.emit(gast.Expr(value=self.expr(stmt.value)))
        elif isinstance(stmt, gast.Pass):
            return
        elif isinstance(stmt, gast.If):
            self.visit_if(stmt)
        elif isinstance(stmt, gast.For):
            self.visit_for(stmt)
        elif isinstance(stmt, gast.While):
            self.visit_while(stmt)
        elif isinstance(stmt, gast.With):   # with tg.grad_of(x) as gx: (checked by fence)
            item = stmt.items[0]
            hook = gast.With(items=[], body=[self.rename_loads(s) for s in stmt.body],
                             type_comment=None)
            hook.grad_of = self.current.get(item.context_expr.args[0].id,
                                            item.context_expr.args[0].id)
            hook.alias = item.optional_vars.id
            self.emit(hook)
        elif isinstance(stmt, gast.Break):
            self.emit(gast.Break())
        elif isinstance(stmt, gast.Continue):
            return  # after restructure_jumps a continue ends its path: nothing to do
        else:
            raise self.info.error(f"`{type(stmt).__name__}` statements are not supported", stmt)

    def pop(self, stmt):
        """``v = stack.pop()`` or ``y[i] = stack.pop()`` in generated code: kept whole, so the
        value popped and the name (or array) it restores stay one statement; ``v`` keeps its
        name, as the push before it wrote it."""
        value = gast.Call(func=gast.Attribute(value=self.expr(stmt.value.func.value),
                                              attr="pop", ctx=gast.Load()), args=[], keywords=[])
        target = stmt.targets[0]
        if isinstance(target, gast.Name):
            self.multi.add(target.id)
            self.emit(gast.Assign(targets=[self.store(target.id)], value=value,
                                  type_comment=None))
        else:
            self.set_item(target.value, self.index(target.slice), value)

    def assign(self, target, value):
        if isinstance(target, gast.Name):
            self.emit(gast.Assign(targets=[self.store(target.id)], value=value,
                                  type_comment=None))
        elif isinstance(target, (gast.Tuple, gast.List)):
            if isinstance(value, (gast.Tuple, gast.List)) \
                    and len(value.elts) == len(target.elts):
                # parallel assignment: values are atoms, stored one by one (through
                # temporaries when a target is also read, as in `a, b = b, a`)
                stored = {getattr(self.current.get(getattr(e, "id", None)), "id", None)
                          for e in target.elts} | {self.current.get(getattr(e, "id", None))
                                                   for e in target.elts}
                values = [self.atom(v) if not any(n in stored for n in names_of(v))
                          else self.assign_temp(self.fresh(), v) for v in value.elts]
                for elt_target, elt_value in zip(target.elts, values):
                    self.assign(elt_target, elt_value)
                return
            source = self.atom(value)
            names = []
            for elt in target.elts:
                if not isinstance(elt, gast.Name):
                    raise self.info.error("only names can be unpacked into", elt,
                                          hint="unpack into names, then use them")
                names.append(elt)
            stores = [self.store(n.id) for n in names]
            self.emit(gast.Assign(targets=[gast.Tuple(elts=stores, ctx=gast.Store())],
                                  value=source, type_comment=None))
        elif isinstance(target, gast.Subscript):
            self.set_item(target.value, self.index(target.slice), self.atom(value))
        else:
            raise self.info.error("this assignment target is not supported", target)

    def set_item(self, array, index, value):
        """``y[index] = value``: an in-place update; the reverse pass saves what it overwrites."""
        array = self.expr(array)
        self.emit(gast.Assign(targets=[gast.Subscript(value=array, slice=index,
                                                      ctx=gast.Store())],
                              value=value, type_comment=None))

    def store(self, name):
        """A Store Name for a new version of the user variable ``name``."""
        renamed = name in self.defined and name not in self.multi
        if name in GLOBAL_MODULES:   # `tgr = 1.0` must not hide the global tgr: tgr_1
            new = self.module_renames.get(name) if name in self.multi else None
            if new is None:
                new = self.namer.unique(name)
                if name in self.multi:   # one name for all its stores
                    self.module_renames[name] = new
        else:
            new = self.namer.unique(name) if renamed else name
        self.diverged.discard(name)
        self.defined.add(name)
        self.defined.add(new)
        self.current[name] = new
        return gast.Name(id=new, ctx=gast.Store(), annotation=None, type_comment=None)

    # --- expressions ------------------------------------------------------------------------
    def atom_of(self, node):
        return self.atom(self.expr(node))

    def atom(self, value):
        """``value`` if it is atomic, else a fresh temporary assigned to it."""
        if is_atom(value):
            return value
        name = self.namer.temp()
        self.defined.add(name)
        self.emit(gast.Assign(targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                                 type_comment=None)],
                              value=value, type_comment=None))
        return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)

    def expr(self, node):
        """``node`` as one primitive whose operands are atoms."""
        if hasattr(node, "resolved"):
            return node
        if isinstance(node, gast.Name):
            if node.id in self.current:
                return gast.copy_location(_load(self.current[node.id]), node)
            if node.id in self.diverged:
                raise self.info.error(
                    f"`{node.id}` has a different version on each path here (internal: an "
                    "early return or a jump moved its assignments into branches)", node)
            if node.id in self.defined:   # a temporary this pass made
                return _load(node.id)
            raise self.info.error(f"`{node.id}` is used before it is assigned", node)
        if isinstance(node, gast.Constant):
            return node
        if isinstance(node, gast.BinOp):
            return gast.copy_location(gast.BinOp(left=self.atom_of(node.left), op=node.op,
                                                 right=self.atom_of(node.right)), node)
        if isinstance(node, gast.UnaryOp):
            operand = self.atom_of(node.operand)
            if isinstance(node.op, gast.USub) and isinstance(operand, gast.Constant) \
                    and isinstance(operand.value, (int, float)):
                return gast.Constant(value=-operand.value, kind=None)
            return gast.copy_location(gast.UnaryOp(op=node.op, operand=operand), node)
        if isinstance(node, gast.Compare):
            return gast.copy_location(gast.Compare(
                left=self.atom_of(node.left), ops=node.ops,
                comparators=[self.atom_of(c) for c in node.comparators]), node)
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.IfExp):
            return self.if_expression(node)
        if isinstance(node, gast.BoolOp):
            return self.bool_operation(node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, gast.Subscript):
            return gast.copy_location(gast.Subscript(
                value=self.atom_of(node.value), slice=self.index(node.slice),
                ctx=gast.Load()), node)
        if isinstance(node, (gast.Tuple, gast.List)):
            return gast.copy_location(type(node)(elts=[self.atom_of(e) for e in node.elts],
                                                 ctx=gast.Load()), node)
        raise self.info.error(f"`{type(node).__name__}` expressions are not supported", node)

    def if_expression(self, node):
        """``a if c else b`` -> an if statement assigning one temporary in each branch."""
        result = self.fresh("t", multi=True)
        test = self.assign_temp(self.fresh("cond", multi=True), self.expr(node.test))
        outer = self.body
        branches = []
        for value in (node.body, node.orelse):
            self.body = []
            self.assign_temp(result, self.expr(value))
            branches.append(self.body)
        self.body = outer
        self.emit(gast.If(test=test, body=branches[0], orelse=branches[1]))
        return _load(result)

    def bool_operation(self, node):
        """``a and b`` / ``a or b`` with Python's short-circuit, as if statements."""
        result = self.fresh("t", multi=True)
        self.assign_temp(result, self.expr(node.values[0]))
        for value in node.values[1:]:
            # the branch's test gets its own name: the branch overwrites `result`
            test = gast.UnaryOp(op=gast.Not(), operand=_load(result)) \
                if isinstance(node.op, gast.Or) else _load(result)
            test = self.assign_temp(self.fresh("cond", multi=True), test)
            outer, self.body = self.body, []
            self.assign_temp(result, self.expr(value))
            branch, self.body = self.body, outer
            self.emit(gast.If(test=test, body=branch, orelse=[]))
        return _load(result)

    def index(self, node):
        if isinstance(node, gast.Slice):
            parts = [None if p is None else self.atom_of(p)
                     for p in (node.lower, node.upper, node.step)]
            return gast.Slice(*parts)
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in node.elts], ctx=gast.Load())
        return self.atom_of(node)

    def call(self, node):
        args = [self.arg(a) for a in node.args]
        keywords = [gast.keyword(arg=k.arg, value=self.arg(k.value)) for k in node.keywords]
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
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        renames = {local: self.fresh(local) for local in sorted(inner)}
        defaults = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
        bound = dict(zip(params, args))
        bound.update((k.arg, k.value) for k in keywords)
        for param in params:
            if param not in bound:
                if param not in defaults:
                    raise self.info.error(f"missing argument `{param}` of `{fn.name}`", node)
                bound[param] = self.atom_of(defaults[param])
            self.assign_temp(renames[param], bound[param])
        body = [clone(s) for s in fn.body]
        for stmt in body:
            for n in walk(stmt):
                if isinstance(n, gast.Name) and n.id in renames:
                    n.id = renames[n.id]
        result = self.fresh("result", multi=True)
        falls_through = not (body and isinstance(body[-1], gast.Return))
        body = lift_returns(body, result, self.fresh("returned", multi=True))
        if isinstance(body[-1], gast.Return) and isinstance(body[-1].value, gast.Name) \
                and body[-1].value.id == result:
            body.pop()   # `return result` of the lifted returns: result holds it already
        elif isinstance(body[-1], gast.Return):
            body[-1] = gast.copy_location(gast.Assign(
                targets=[_store(result)], value=body[-1].value or gast.Constant(
                    value=None, kind=None), type_comment=None), body[-1])
        if falls_through:   # a path without `return` gives None
            located = next((n for n in walk(fn) if getattr(n, "lineno", None)), node)
            body.insert(0, gast.copy_location(gast.Assign(
                targets=[_store(result)], value=gast.Constant(value=None, kind=None),
                type_comment=None), located))
        self.multi |= assigned_in_compound(body)
        self.inlining.append(fn.name)
        outer_origin = self.origin
        for stmt in restructure_jumps(body):
            self.origin = stmt
            self.visit_stmt(stmt)
        self.origin = outer_origin
        self.inlining.pop()
        return _load(result)

    def arg(self, node):
        """Call arguments may stay tuples or lists of atoms (np.stack([a, b]))."""
        if isinstance(node, (gast.Tuple, gast.List)):
            return type(node)(elts=[self.atom_of(e) for e in node.elts], ctx=gast.Load())
        return self.atom_of(node)

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
        if function is None:   # a field of a named tuple or dataclass (or .dtype)
            return gast.copy_location(gast.Attribute(value=receiver, attr=node.attr,
                                                     ctx=gast.Load()), node)
        return gast.copy_location(gast.Call(func=resolved_name(function, node),
                                            args=[receiver], keywords=[]), node)


def _owner_class(func):
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


def stack_operation(node, method):
    """The stack Name of ``stack.append(v)`` / ``stack.pop()`` (``method``), else None: the
    stack protocol of generated code (user code's ``.append`` becomes ``tgr.append``)."""
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
            and node.func.attr == method and isinstance(node.func.value, gast.Name) \
            and not hasattr(node.func.value, "resolved") \
            and len(node.args) == (1 if method == "append" else 0) and not node.keywords:
        return node.func.value
    return None


def names_of(node):
    return [n.id for n in walk(node) if isinstance(n, gast.Name)]


def _store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def _load(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def _extend_open_paths(body, stmts):
    """Append ``stmts`` (a while loop's test, evaluated again) to every path through the
    normalized loop ``body`` that does not end in ``break``: after ``restructure_jumps`` a
    jump ends its path, so the paths that break go through the last ``if`` of a block."""
    if body and isinstance(body[-1], gast.Break):
        return
    last = body[-1] if body else None
    if isinstance(last, gast.If) and any(isinstance(n, gast.Break)
                                         for n in _walk_loop_body([last])):
        _extend_open_paths(last.body, stmts)
        if not last.orelse:
            last.orelse = [clone(s) for s in stmts]
        else:
            _extend_open_paths(last.orelse, [clone(s) for s in stmts])
        return
    if len(body) == 1 and isinstance(body[0], gast.Pass):
        body.clear()
    body.extend(stmts)


def _walk_loop_body(stmts):
    """The nodes of a loop body, not descending into inner loops (their breaks are theirs)."""
    for stmt in stmts:
        yield stmt
        if isinstance(stmt, (gast.For, gast.While)):
            continue
        for child in gast.iter_child_nodes(stmt):
            if isinstance(child, gast.stmt):
                yield from _walk_loop_body([child])
            else:
                yield from walk(child)


def _rebound_in_loop(loop):
    """Names the loop ``for TARGET in ...: BODY`` binds to new objects: its target and names
    assigned in its body (an augmented assignment updates an array in place: not counted)."""
    augmented = {id(n.target) for n in walk(loop) if isinstance(n, gast.AugAssign)}
    return {n.id for part in [loop.target] + loop.body for n in walk(part)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)
            and id(n) not in augmented}


def assigned_in_compound(body, inside=False):
    """Names stored anywhere inside if/for/while statements (and loop targets)."""
    names = set()
    for stmt in body:
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            for node in walk(stmt):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                    names.add(node.id)
                elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                        and node.func.attr == "append" \
                        and isinstance(node.func.value, gast.Name):
                    names.add(node.func.value.id)   # becomes values = append(values, v)
    return names


def _may_jump(stmt):
    return any(isinstance(n, (gast.Break, gast.Continue)) for n in _walk_loop_body([stmt]))


def _returns(stmt):
    return any(isinstance(n, gast.Return) for n in walk(stmt))


def lift_returns(stmts, result, flag, top=True):
    """Rewrite early ``return``s into one return at the end. In branches::

        if n == 0:                       if n == 0:
            return 1.0                       result = 1.0
        return x * f(x, n - 1)    ->     else:
                                             result = x * f(x, n - 1)
                                         return result

    and in loops, as a ``break`` that sets ``flag`` (the rest then runs only without it)::

        for i in range(n):               returned = False
            if x[i] > 1.0:               for i in range(n):
                return x[i]                  if x[i] > 1.0:
        return 0.0                ->             result = x[i]
                                                 returned = True
                                                 break
                                         if not returned:
                                             result = 0.0
                                         return result
    """
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, gast.Return):
            if top and i == len(stmts) - 1 and not out_has_lifted(out):
                out.append(stmt)
                return out
            value = stmt.value if stmt.value is not None else gast.Constant(value=None,
                                                                           kind=None)
            out.append(gast.copy_location(gast.Assign(
                targets=[_store(result)], value=value, type_comment=None), stmt))
            break
        if isinstance(stmt, (gast.For, gast.While)) and _returns(stmt):
            if stmt.orelse:
                raise _ReturnInLoop(stmt)
            out.append(gast.copy_location(gast.Assign(
                targets=[_store(flag)], value=gast.Constant(value=False, kind=None),
                type_comment=None), stmt))
            stmt.body = _returns_to_breaks(stmt.body, result, flag)
            stmt.lifted = True
            out.append(stmt)
            rest = lift_returns(stmts[i + 1:], result, flag, top=False)
            unless = gast.UnaryOp(op=gast.Not(), operand=_load(flag))
            if rest:
                out.append(gast.copy_location(gast.If(test=unless, body=rest, orelse=[]),
                                              stmt))
            break
        if isinstance(stmt, gast.If) and _returns(stmt):
            rest = stmts[i + 1:]
            # clone before lifting: lifting the body's copy rewrites its statements in place
            other_rest = [clone(r) for r in rest]
            stmt.body = lift_returns(stmt.body + rest, result, flag, top=False)
            stmt.orelse = lift_returns(stmt.orelse + other_rest, result, flag, top=False)
            stmt.lifted = True
            out.append(stmt)
            break
        out.append(stmt)
    if top and not (out and isinstance(out[-1], gast.Return)):
        out.append(gast.Return(value=_load(result)))
    return out


def _returns_to_breaks(stmts, result, flag):
    """Inside a loop: ``return v`` becomes ``result = v; flag = True; break``; an inner loop
    that returned is followed by ``if flag: break``."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Return):
            value = stmt.value if stmt.value is not None else gast.Constant(value=None,
                                                                           kind=None)
            out += [gast.copy_location(node, stmt) for node in (
                gast.Assign(targets=[_store(result)], value=value, type_comment=None),
                gast.Assign(targets=[_store(flag)], value=gast.Constant(value=True, kind=None),
                            type_comment=None),
                gast.Break())]
            return out
        if isinstance(stmt, gast.If) and _returns(stmt):
            stmt.body = _returns_to_breaks(stmt.body, result, flag)
            stmt.orelse = _returns_to_breaks(stmt.orelse, result, flag)
        elif isinstance(stmt, (gast.For, gast.While)) and _returns(stmt):
            if stmt.orelse:
                raise _ReturnInLoop(stmt)
            stmt.body = _returns_to_breaks(stmt.body, result, flag)
            out.append(stmt)
            out.append(gast.copy_location(gast.If(test=_load(flag), body=[gast.Break()],
                                                  orelse=[]), stmt))
            continue
        out.append(stmt)
    return out


def out_has_lifted(out):
    return any(getattr(s, "lifted", False) for s in out)


class _ReturnInLoop(Exception):
    def __init__(self, node):
        self.node = node


def restructure_jumps(stmts):
    """Move the statements after an ``if`` that may ``break``/``continue`` into the paths that
    do not jump, so every jump ends its path and the adjoint sweep needs no jump flags::

        for ...:                        for ...:
            if c:                           if c:
                continue          ->            pass
            y = f(x)                        else:
                                                y = f(x)
    """
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, (gast.Break, gast.Continue)):
            out.append(stmt)
            return out   # the rest of the block is dead
        if isinstance(stmt, (gast.For, gast.While)):
            stmt.body = restructure_jumps(stmt.body)
        elif isinstance(stmt, gast.If) and _may_jump(stmt):
            rest = stmts[i + 1:]
            stmt.body = restructure_jumps(stmt.body + rest)
            stmt.orelse = restructure_jumps(stmt.orelse + [clone(r) for r in rest])
            out.append(stmt)
            return out
        elif isinstance(stmt, gast.If):
            stmt.body = restructure_jumps(stmt.body)
            stmt.orelse = restructure_jumps(stmt.orelse)
        out.append(stmt)
    return out


def normalize(info, namer, classes=None):
    """Return a new FunctionDef in A-normal form (see the module docstring).

    ``classes`` maps parameters to the user classes of the objects passed for them, so that
    their methods can be called (``model.forward(x)``)."""
    try:
        return Normalizer(info, namer, classes).run()
    except _ReturnInLoop as exc:
        raise info.error("`return` inside a loop with an `else` clause is not supported",
                         exc.node, hint="set a flag before `break` instead of the `else`") \
            from None
