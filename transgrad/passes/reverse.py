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

The same example, run (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x, w):
...     return np.sum(np.tanh(x) * w)
... ''', through="reverse"))
def df(x, w):
    t1 = np.tanh(x)
    t2 = t1 * w
    t3 = np.sum(t2)
    tgr.check_scalar_output(t3, 'f')
    bt3 = 1.0
    # grad of line 2: return np.sum(np.tanh(x) * w)
    if None is None or False:
        full = bt3
    else:
        full = tgr.expand_reduced(bt3, t2, None)
    bt2 = np.broadcast_to(full, np.shape(t2))
    bt1 = tgr.unbroadcast_to(bt2 * w, t1)
    bx = bt1 * (1 - t1 ** 2)
    return tgr.match(bx, x)
"""



import gast
import numpy as np

from .. import ir
from ..ir import assign, clone, name, tgr_call, walk
from .over_generated import check_reverse_over_generated
from .reverse_blocks import overwritable_names
from .reverse_saves import keep_read_saves
from .reverse_sweep import ReverseBuilder

def reverse(info, tree, wrt, single, mode, context, scalar_params=()):
    """The gradient FunctionDef of normalized ``tree``.

    ``wrt``: positional parameter indices. ``mode``: "grad" (scalar output, seed 1.0),
    "value_and_grad" (returns the value too) or "vjp" (a keyword-only cotangent ``g``).
    ``single``: return one gradient rather than a tuple of them. ``context``: the pipeline's
    (its namer; ``callee_vjp`` builds the derivative of a called user function).
    """
    namer = context.namer
    check_reverse_over_generated(info, tree)   # generated code: what reverse mode cannot do
    params = [a.id for a in tree.args.args + tree.args.kwonlyargs]
    wrt_names = [params[i] for i in wrt]
    # one build: every overwritable value saved, then only those the adjoint reads kept
    # (reverse_saves.keep_read_saves)
    builder = ReverseBuilder(info, tree, wrt_names, context, scalar_params=scalar_params,
                             overwritable=overwritable_names(tree))
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
        # even a full reduction is checked: its value may be complex (refused, as jax.grad);
        # the exact-shape stage drops the check of a float64 scalar
        body.append(gast.Expr(value=tgr_call(
            "check_scalar_output", clone(ret_value),
            gast.Constant(value=info.tree.name, kind=None))))
    builder.seed(ret_value, seed)
    builder.adjoint_sweep = builder.out + builder.sweep(tree.body)
    builder.adjoint_sweep[:0] = builder.adjoint_stacks()
    builder.out = []
    for var in list(builder.hooks):   # hooks on parameters: their adjoints are complete last
        builder.run_hooks(var)
    builder.adjoint_sweep += builder.out
    builder.out = []
    body = keep_read_saves(builder, body)
    if mode == "value_and_grad" and set(ir.names_in(ret_value)) & builder.saved:
        # the adjoint sweep restores overwritten values: keep the result before it runs
        value = namer.unique("value")
        body.append(assign(value, clone(ret_value)))
        ret_value_out = name(value)
    else:
        ret_value_out = ret_value
    body.extend(builder.adjoint_sweep)
    grads, unreached = [], []
    for var in wrt_names:
        if var in builder.adjoints:
            grads.append(tgr_call("match", name(builder.adjoints[var]), name(var)))
        elif var in builder.overwritable:
            # rebound later (`w = 1.0` in a loop): zeros of the argument, taken before
            unreached.append(assign(builder.adjoint_name(var),
                                    tgr_call("zeros_like_value", name(var))))
            grads.append(name(builder.adjoints[var]))
        else:
            grads.append(tgr_call("zeros_like_value", name(var)))
    result = grads[0] if single else gast.Tuple(elts=grads, ctx=gast.Load())
    if mode == "value_and_grad":
        result = gast.Tuple(elts=[clone(ret_value_out), result], ctx=gast.Load())
    body.append(gast.Return(value=result))
    body = unreached + body
    if builder.stack is not None:
        params = {a.id for a in args.args + args.kwonlyargs}
        prologue = [_stack_made(builder.stack)]
        prologue += [assign(v, gast.Constant(value=None, kind=None))
                     for v in sorted((builder.saved - params) & _pushed(body))]
        body = prologue + body
    fn = gast.FunctionDef(name=namer.unique("d" + info.tree.name), args=args, body=body,
                          decorator_list=[], returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fn, info.tree)


def _pushed(body):
    """The names ``body`` pushes (``stack.append(v)``): they need a value before the first
    push (a loop's index, restored by the adjoint loop itself, is never pushed)."""
    return {node.args[0].id for node in walk(gast.Module(body=body, type_ignores=[]))
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and node.func.attr == "append" and len(node.args) == 1
            and isinstance(node.args[0], gast.Name)}


def _stack_made(stack):
    """``stack = []``, tagged as the gradient's own stack: ``optimize`` may drop a push and
    its pop there when nothing reads the restored value."""
    made = assign(stack, gast.List(elts=[], ctx=gast.Load()))
    made.gradient_stack = True
    return made


def _assemble_split(builder, info, tree, wrt_names, namer, args, primal, ret_value):
    """Two functions for calls from other generated code: ``fwd(*args) -> (value, tape)`` and
    ``bwd(tape, g) -> tuple of cotangents`` (one per ``wrt`` argument)."""
    g = namer.unique("g")
    builder.seed(ret_value, name(g))
    builder.adjoint_sweep = builder.out + builder.sweep(tree.body)
    builder.adjoint_sweep[:0] = builder.adjoint_stacks()
    builder.out = []
    primal = keep_read_saves(builder, primal)
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
        primal = [_stack_made(builder.stack)] + [
            assign(v, gast.Constant(value=None, kind=None))
            for v in sorted(builder.saved - params)] + primal   # the tape reads them all
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
