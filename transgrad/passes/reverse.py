"""Build the reverse-mode gradient of a normalized function (a transformation).

The primal statements run first; then the adjoint sweep visits them backwards and, for each
active one, inlines the derivative rule of its primitive, accumulating into ``b<name>``::

    def f(x, w):                      def df(x, w):
        t1 = x @ w                        t1 = x @ w
        y = np.tanh(t1)           ->      y = np.tanh(t1)
        return y                          by = 1.0
                                          # grad of line 3: y = np.tanh(x @ w)
                                          bt1 = by * (1 - y ** 2)
                                          bw = tgr.matmul_vjp_right(bt1, x, w)
                                          return tgr.match(bw, w)

Broadcasting is undone here, once: a contribution from a broadcasting rule is summed back to
its operand's shape unless the shapes analysis proves they are equal.
"""


import gast

from .. import ir
from ..ir import clone
from ..rules import lookup_vjp
from ..template import inline
from .activity import activity, differentiable
from .shapes import shape_classes

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


class ReverseBuilder:
    """Emits the adjoint sweep of one normalized function."""

    def __init__(self, info, tree, wrt_names, namer):
        self.info = info
        self.tree = tree
        self.namer = namer
        self.active = activity(tree, wrt_names)
        self.classes = shape_classes(tree)
        self.adjoints = {}          # variable -> adjoint name, once a contribution exists
        self.out = []

    # --- accumulation -----------------------------------------------------------------------
    def adjoint_name(self, var):
        if var not in self.adjoints:
            self.adjoints[var] = self.namer.adjoint(var)
        return self.adjoints[var]

    def accumulate(self, var, contribution):
        """``bvar = c`` for the first contribution, ``bvar = bvar + c`` after."""
        first = var not in self.adjoints
        target = self.adjoint_name(var)
        if first:
            self.out.append(assign(target, contribution))
        else:
            self.out.append(assign(target, gast.BinOp(left=name(target), op=gast.Add(),
                                                      right=contribution)))

    def same_shape(self, a, b):
        return a in self.classes and self.classes.get(a) == self.classes.get(b)

    # --- the sweep --------------------------------------------------------------------------
    def seed(self, ret_value, seed_expr):
        """Give the returned value(s) their cotangent ``seed_expr``."""
        if isinstance(ret_value, gast.Name) and ret_value.id in self.active:
            self.accumulate(ret_value.id, seed_expr)
        elif isinstance(ret_value, gast.Tuple):
            for i, elt in enumerate(ret_value.elts):
                if isinstance(elt, gast.Name) and elt.id in self.active:
                    part = gast.Subscript(value=clone(seed_expr),
                                          slice=gast.Constant(value=i, kind=None),
                                          ctx=gast.Load())
                    self.accumulate(elt.id, part)

    def sweep(self):
        current_origin, block = None, []
        for stmt in reversed(self.tree.body):
            if not isinstance(stmt, gast.Assign):
                continue
            targets = ir.assigned(stmt)
            if not any(t in self.adjoints and t in self.active for t in targets):
                continue
            start = len(self.out)
            self.visit(stmt)
            if len(self.out) > start and stmt.origin is not current_origin:
                current_origin = stmt.origin
                line = self.info.line(stmt.origin.lineno).strip()
                self.out.insert(start, comment(f"grad of line {stmt.origin.lineno}: {line}"))
        del block
        return self.out

    def visit(self, stmt):
        target = stmt.targets[0]
        if isinstance(target, gast.Tuple):
            return self.visit_unpack(stmt)
        bz = name(self.adjoints[target.id])
        prim = ir.primitive(stmt.value)
        if prim.func is ir.COPY:
            for var in ir.operand_names(stmt.value):
                if var in self.active:
                    self.accumulate(var, bz)
            return
        if prim.func is ir.PACK:
            for i, elt in enumerate(prim.args):
                if isinstance(elt, gast.Name) and elt.id in self.active:
                    self.accumulate(elt.id, gast.Subscript(
                        value=clone(bz), slice=gast.Constant(value=i, kind=None),
                        ctx=gast.Load()))
            return
        if not differentiable(prim):
            return
        rule = lookup_vjp(prim.func)
        if rule is None:
            raise self.info.error(
                f"no derivative rule for `{_describe(prim.func)}`", stmt.origin,
                hint="register one with @tg.defvjp(fn), or wrap the value in "
                     "tg.stop_gradient if no derivative should flow through it")

        def error(message):
            return self.info.error(f"cannot differentiate `{_describe(prim.func)}`: {message}",
                                   stmt.origin)
        statements, outputs = inline(rule, bz, name(target.id), prim.args, prim.kwargs,
                                     self.namer, error)
        self.out.extend(statements)
        operands = list(prim.args)
        for i, operand in enumerate(operands):
            if i >= len(outputs):
                break
            self.contribute(operand, outputs[i], rule, target.id, prim, i, stmt)

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
            if rule.broadcasting and not self.same_shape(operand.id, result):
                output = tgr_call("unbroadcast_to", output, name(operand.id))
            self.accumulate(operand.id, output)
            return
        # a tuple/list operand (np.stack([a, b])): the rule returns one cotangent per element
        parts = self.namer.temp("b_parts")
        self.out.append(assign(parts, output))
        for j, elt in enumerate(operand.elts):
            if isinstance(elt, gast.Name) and elt.id in self.active:
                self.accumulate(elt.id, gast.Subscript(
                    value=name(parts), slice=gast.Constant(value=j, kind=None),
                    ctx=gast.Load()))

    def visit_unpack(self, stmt):
        """``a, b = t``: the cotangent of t is the tuple of theirs (None where zero)."""
        parts = [name(self.adjoints[e.id]) if e.id in self.adjoints
                 else gast.Constant(value=None, kind=None) for e in stmt.targets[0].elts]
        for var in ir.operand_names(stmt.value):
            if var in self.active:
                self.accumulate(var, gast.Tuple(elts=parts, ctx=gast.Load()))


def _describe(func):
    module = getattr(func, "__module__", None) or ""
    qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    if module.startswith("numpy") or type(func).__name__ == "ufunc":
        return f"np.{getattr(func, '__name__', qual)}"
    return f"{module}.{qual}" if module and module != "builtins" else qual


def reverse(info, tree, wrt, single, mode, namer):
    """The gradient FunctionDef of normalized ``tree``.

    ``wrt``: positional parameter indices. ``mode``: "grad" (scalar output, seed 1.0),
    "value_and_grad" (returns the value too) or "vjp" (an extra cotangent parameter ``g``).
    ``single``: return one gradient rather than a tuple of them.
    """
    params = [a.id for a in tree.args.args]
    wrt_names = [params[i] for i in wrt]
    builder = ReverseBuilder(info, tree, wrt_names, namer)
    primal = [s for s in tree.body if not isinstance(s, gast.Return)]
    ret_value = tree.body[-1].value
    body = list(primal)
    args = clone(tree.args)
    if mode == "vjp":
        seed = name(namer.unique("g"))
        args.kwonlyargs.append(gast.Name(id=seed.id, ctx=gast.Param(), annotation=None,
                                         type_comment=None))
        args.kw_defaults.append(None)
    else:
        seed = gast.Constant(value=1.0, kind=None)
        body.append(gast.Expr(value=tgr_call("check_scalar_output", clone(ret_value),
                                             gast.Constant(value=info.tree.name, kind=None))))
    builder.seed(ret_value, seed)
    body.extend(builder.out)
    builder.out = []
    body.extend(builder.sweep())
    grads = []
    for var in wrt_names:
        if var in builder.adjoints:
            grads.append(tgr_call("match", name(builder.adjoints[var]), name(var)))
        else:
            grads.append(tgr_call("zeros_like_value", name(var)))
    result = grads[0] if single else gast.Tuple(elts=grads, ctx=gast.Load())
    if mode == "value_and_grad":
        result = gast.Tuple(elts=[clone(ret_value), result], ctx=gast.Load())
    body.append(gast.Return(value=result))
    fn = gast.FunctionDef(name=namer.unique("d" + info.tree.name), args=args, body=body,
                          decorator_list=[], returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fn, info.tree), builder
