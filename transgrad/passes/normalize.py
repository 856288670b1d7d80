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

For example (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x, w):
...     h = np.tanh(x @ w)
...     h = h.sum(axis=0) * 2
...     return h
... ''', through="normalize"))
def f(x, w):
    t1 = x @ w
    h = np.tanh(t1)
    t2 = np.sum(h, axis=0)
    h_1 = t2 * 2
    return h_1
"""


import gast

from .. import ir, runtime
from ..ir import clone, walk
from ..naming import GLOBAL_MODULES
from .normalize_calls import CallSpellings, owner_class, resolved_name
from .normalize_comprehensions import COMPREHENSIONS, ComprehensionDesugaring
from .normalize_functions import FunctionValues
from .normalize_jumps import ReturnInLoop, assigned_in_compound, lift_returns, restructure_jumps
from .normalize_loops import LoopDesugaring
from .normalize_targets import TargetUnpacking


def is_atom(node):
    """Names, constants, resolved globals, and tuples/lists/slices of atoms."""
    if isinstance(node, (gast.Name, gast.Constant)) or hasattr(node, "resolved"):
        return True
    if isinstance(node, (gast.Tuple, gast.List)):
        return all(is_atom(e) for e in node.elts)
    if isinstance(node, gast.Slice):
        return all(p is None or is_atom(p) for p in (node.lower, node.upper, node.step))
    return False


class Normalizer(LoopDesugaring, CallSpellings, ComprehensionDesugaring, FunctionValues,
                 TargetUnpacking):
    def __init__(self, info, namer, classes=None, context=None):
        self.info = info
        self.namer = namer
        self.context = context   # the pipeline's: odeint's func gets its derivatives from it
        self.classes = classes or {}   # parameter -> its user class, known for this build
        # `self` of a method -> the class defining it (an instance may be of a subclass: its
        # properties are read as the class's getters after a check that none is overridden)
        self.owners = {}
        owner = owner_class(info.func)
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
        self.emit(gast.Assign(targets=[ir.name(name, store=True)], value=value, type_comment=None))
        return ir.name(name)

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
            self.visit_stack_pop(stmt)
        elif isinstance(stmt, gast.Assign) and self.assign_function_value(stmt):
            pass   # a name bound to a function: an alias (normalize_functions)
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
        elif isinstance(stmt, gast.For) and self.loop_over_functions(stmt):
            pass   # `for fn in [np.sin, f]:` unrolled (normalize_functions)
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

    def visit_stack_pop(self, stmt):
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
            if not all(isinstance(e, gast.Name) for e in target.elts):
                self.unpack(target, value)   # subscripts, nested or starred targets
                return
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
            stores = [self.store(n.id) for n in target.elts]
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
            if node.id in self.local_functions or node.id in self.function_constants:
                return self.function_name_load(node)
            if node.id in self.current:
                return gast.copy_location(ir.name(self.current[node.id]), node)
            if node.id in self.diverged:
                raise self.info.error(
                    f"`{node.id}` has a different version on each path here (internal: an "
                    "early return or a jump moved its assignments into branches)", node)
            if node.id in self.defined:   # a temporary this pass made
                return ir.name(node.id)
            raise self.info.error(f"`{node.id}` is used before it is assigned", node)
        if isinstance(node, gast.Constant):
            return node
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Add) \
                and _sequence_display(node.left, node.right):
            # `a + [v]`, `(v,) + t`: Python's `+`, which concatenates when both are sequences
            # (the rule of array `+` would sum the longer list's cotangent onto each part)
            return gast.copy_location(gast.Call(
                func=resolved_name(runtime.add_or_concatenate, node),
                args=[self.atom_of(node.left), self.atom_of(node.right)], keywords=[]), node)
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
        if isinstance(node, COMPREHENSIONS):
            return self.comprehension(node)
        if isinstance(node, gast.BoolOp):
            return self.bool_operation(node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, gast.Subscript):
            return gast.copy_location(gast.Subscript(
                value=self.atom_of(node.value), slice=self.index(node.slice),
                ctx=gast.Load()), node)
        if isinstance(node, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in node.elts):
                return self.starred_sequence(node)
            return gast.copy_location(type(node)(elts=[self.atom_of(e) for e in node.elts],
                                                 ctx=gast.Load()), node)
        if isinstance(node, gast.Starred):
            raise self.info.error("`*` unpacking is supported in tuples, lists, call "
                                  "arguments and assignment targets only", node,
                                  hint="unpack into names first (`a, b = xs`)")
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
        return ir.name(result)

    def bool_operation(self, node):
        """``a and b`` / ``a or b`` with Python's short-circuit, as if statements."""
        result = self.fresh("t", multi=True)
        self.assign_temp(result, self.expr(node.values[0]))
        for value in node.values[1:]:
            # the branch's test gets its own name: the branch overwrites `result`
            test = gast.UnaryOp(op=gast.Not(), operand=ir.name(result)) \
                if isinstance(node.op, gast.Or) else ir.name(result)
            test = self.assign_temp(self.fresh("cond", multi=True), test)
            outer, self.body = self.body, []
            self.assign_temp(result, self.expr(value))
            branch, self.body = self.body, outer
            self.emit(gast.If(test=test, body=branch, orelse=[]))
        return ir.name(result)

    def index(self, node):
        if isinstance(node, gast.Slice):
            parts = [None if p is None else self.atom_of(p)
                     for p in (node.lower, node.upper, node.step)]
            return gast.Slice(*parts)
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in node.elts], ctx=gast.Load())
        return self.atom_of(node)

    def arg(self, node):
        """Call arguments may stay tuples or lists of atoms (np.stack([a, b]))."""
        if isinstance(node, (gast.Tuple, gast.List)) \
                and not any(isinstance(e, gast.Starred) for e in node.elts):
            return type(node)(elts=[self.atom_of(e) for e in node.elts], ctx=gast.Load())
        return self.atom_of(node)


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


def normalize(info, namer, classes=None, context=None):
    """Return a new FunctionDef in A-normal form (see the module docstring).

    ``classes`` maps parameters to the user classes of the objects passed for them, so that
    their methods can be called (``model.forward(x)``)."""
    try:
        return Normalizer(info, namer, classes, context).run()
    except ReturnInLoop as exc:
        raise info.error("`return` inside a loop with an `else` clause is not supported",
                         exc.node, hint="set a flag before `break` instead of the `else`") \
            from None


def _sequence_display(*nodes):
    """The first of ``nodes`` that is a list or tuple display with a computed element (one of
    only constants is a shape or an index, where `+` concatenates nothing differentiable)."""
    for node in nodes:
        if isinstance(node, (gast.List, gast.Tuple)) and not all(
                isinstance(e, gast.Constant) for e in node.elts):
            return node
    return None
