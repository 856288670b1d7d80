"""Decide at call time what the exact shapes of one call's arguments decide (a rewrite).

Code built for argument ranks still asks at run time whether broadcasting happened
(``tgr.unbroadcast_to``), whether a gradient already has its argument's shape and dtype
(``tgr.match``) and which formula a matrix product's gradient takes
(``tgr.matmul_vjp_left``). When a call brings float64 arrays of known shapes, the shapes of
the values follow, and those questions have answers::

    bt5 = tgr.unbroadcast_to(bout, t5)        bt5 = bout              # both (16, 1)
    bb3 = tgr.unbroadcast_to(bout, b3)   ->   bb3 = bout.sum(axis=0)  # (16, 1) -> (1,)
    left = tgr.matmul_vjp_left(g, w, h)       left = np.outer(g, h)   # (32, 32) @ (32,)
    return (tgr.match(bw3, w3), ...)          return (bw3, ...)       # a fresh float64 array

The rewrite interprets the function on what is certain about each value (``exact_values``):
a shape is known where arithmetic, ufuncs, matrix products, transposes, sums over constant
axes, indexing by Python ints and ``np.broadcast_to`` of known values give it. Where paths
meet, only what both agree on stays known: after a branch, its two arms' values are joined;
a loop's head is found by a fixed point (the body is interpreted until the values it
carries from one iteration to the next stop changing), so a shape a loop keeps is known in
its body and after it, and one it changes keeps its run-time checks. Values the primal sweep
pushes on the generated stack (``stack.append(h)``) come back where the adjoint sweep pops
them (``h = stack.pop()``); a pop's value is the join of its name's pushes, checked to be a
fixed point. Anything else keeps its run-time check. The code is valid only for arguments of
those exact shapes and dtypes; ``GradientFunction`` keys it on them.

``exact_shapes`` is an ordinary pass over the optimized tree the build kept (``exact_tree`` on
the generated function): it returns a rewritten copy, and ``specialize`` runs the one
``optimize`` on it (copies such as ``bt5 = bout`` propagate, values only a size needed are
dropped) and compiles it. A shape passed to a call (``np.broadcast_to(g, np.shape(t3))``)
becomes the tuple it is, so a value read only for its shape is neither kept nor pushed.
numpy calls on known arrays are spelled the cheaper way (``exact_spelling``: ``x.sum(axis=1)``
for ``np.sum(x, 1)``, ``x.T``, ``np.full`` for the broadcast of a number).

For example, the rank code of a gradient (here read back from its printed source, with the
globals it names; a build keeps the tree itself), rewritten for ``x`` of shape (3, 4) and
``b`` of shape (4,), then optimized:

>>> import gast
>>> import numpy as np
>>> from transgrad import runtime
>>> from transgrad.passes.optimize import optimize
>>> from transgrad.passes.show import printed, show
>>> rank_code = show('''
... def f(x, b):
...     return np.sum(np.tanh(x + b))
... ''', wrt=(0, 1), through="optimize")
>>> print(rank_code)
def df(x, b):
    t1 = x + b
    t2 = np.tanh(t1)
    t3 = np.sum(t2)
    tgr.check_scalar_output(t3, 'f')
    # grad of line 2: return np.sum(np.tanh(x + b))
    bt2 = np.broadcast_to(1.0, np.shape(t2))
    bt1 = bt2 * (1 - t2 ** 2)
    bx = tgr.unbroadcast_to(bt1, x)
    bb = tgr.unbroadcast_to(bt1, b)
    return (tgr.match(bx, x), tgr.match(bb, b))
>>> tree = gast.parse(rank_code).body[0]
>>> rewritten = exact_shapes(tree, {"np": np, "tgr": runtime}, (np.ones((3, 4)), np.ones(4)))
>>> print(printed(optimize(rewritten)))
def df(x, b):
    t1 = x + b
    t2 = np.tanh(t1)
    bt2 = np.full((3, 4), 1.0)
    bt1 = bt2 * (1 - t2 ** 2)
    bb = bt1.sum(axis=0)
    return (bt1, bb)
"""

import copy

import gast
import numpy as np

from .. import runtime
from ..codegen import to_source
from ..ir import Transformer, clone, tgr_call, walk
from . import exact_containers as containers
from . import exact_tiles as tiles
from .deferred import defer_accumulations
from .exact_calls import call_of, called, specialized
from .exact_einsum import with_path
from .exact_facts import facts_of, loop_stored
from .exact_guards import Fallback, argument_values, guarded, namespace_arrays, other_ints_guard
from .exact_marks import mark_projection, mark_stacking
from .exact_spelling import cheaper
from .exact_values import (
    BINOPS,
    BOOL,
    F64,
    FLOAT,
    INT,
    NONE,
    PY_INT,
    RANGE_VALUE,
    UNKNOWN,
    Stack,
    Value,
    Values,
    elementwise,
    join,
    join_env,
    listless,
    matmul,
    summed,
    tuple_value,
)
from .optimize import optimize
from .projections import batch_projections

_NOTHING = object()
_LOOP_LIMIT = 64   # interpretations of a loop's body before its head gives up on its names
# the formulas of a matrix product's gradient by the ranks (x, y) of ``x @ y``
_MATMUL_VJP = {
    ("matmul_vjp_left", 2, 2): ("g @ y.T",), ("matmul_vjp_left", 2, 1): ("outer", "g", "y"),
    ("matmul_vjp_left", 1, 2): ("y @ g",), ("matmul_vjp_left", 1, 1): ("g * y",),
    ("matmul_vjp_right", 2, 2): ("x.T @ g",), ("matmul_vjp_right", 2, 1): ("x.T @ g",),
    ("matmul_vjp_right", 1, 2): ("outer", "x", "g"), ("matmul_vjp_right", 1, 1): ("g * x",),
}


class _Exact(Transformer, Values):
    """Rewrites the runtime helper calls whose answer the known values give;
    ``value(node)`` (``exact_values.Values``) says what is known about an expression."""

    def __init__(self, namespace, known, local, depth=0):
        self.namespace = namespace
        self.local = local          # the function's own names: never globals
        self.known = known          # name -> Value, where the interpretation stands
        self.depth = depth          # of called functions' halves being specialized
        self.changed = False

    def call_value(self, node):
        called = self.called(node)
        if called is not None:
            return called[1]
        return Values.call_value(self, node)

    def called(self, node):
        """(the pair or holder to call, the Value it returns) of a call of a called
        function's VJP half or JVP (``exact_calls``), or None."""
        return called(self, node, _rewrite)

    def helper_value(self, helper, node):
        """The value a ``tgr`` helper call returns, where the known values decide it."""
        decision = self.decision(node)
        if decision is not None:
            kind, g, extra = decision
            if kind == "size":
                return PY_INT
            if kind == "const" or kind == "call":
                return None
            if kind == "expr" or kind == "tree":
                return self.value(self.replacement(node, decision))
            value = self.value(g)
            if not extra:
                return value
            return summed(value, [gast.keyword(arg="axis", value=gast.Tuple(
                elts=[gast.Constant(value=i, kind=None) for i in range(extra)],
                ctx=gast.Load()))])
        value = containers.helper_value(self, helper, node)
        if value is not NotImplemented:
            return value
        if helper == "add_at" and len(node.args) == 3:
            value = self.value(node.args[0])   # an array is updated in place and returned
            return value if value is not None and value.array and value.dtype is F64 else None
        if helper == "extremum_mask" and len(node.args) == 4:   # a == max(a): a's shape
            value = self.value(node.args[0])
            return Value(value.shape, BOOL, True, True) if value is not None and value.array \
                and value.dtype is F64 and value.shape is not None else None
        if helper == "zeros_like_value" and len(node.args) == 1:
            value = self.value(node.args[0])
            if value is not None and (value.dtype is INT or value.dtype is FLOAT):
                return Value((), FLOAT, False, False)   # 0.0 for a Python number
        return None

    def visit_Call(self, node):
        self.generic_visit(node)
        node.args = [self.shape_of(a) for a in node.args]
        decision = self.decision(node)
        if decision is None:
            planned = with_path(node, self.resolve, self.value)   # a large np.einsum
            self.changed = self.changed or planned is not None
            return node if planned is None else planned
        self.changed = True
        return self.replacement(node, decision)

    def shape_of(self, node):
        """``np.shape(x)`` passed to a call (``np.broadcast_to(g, np.shape(t3))``) as the
        tuple it is, where x's shape is known: x need not be kept for its shape."""
        if node.__class__ is not gast.Call or len(node.args) != 1 or node.keywords \
                or node.args[0].__class__ is not gast.Name \
                or self.resolve(node.func) is not np.shape:
            return node
        value = self.value(node.args[0])
        if value is None or value.shape is None or value.items is not None:
            return node
        self.changed = True
        return gast.Tuple(elts=[gast.Constant(value=n, kind=None) for n in value.shape],
                          ctx=gast.Load())

    def replacement(self, node, decision):
        kind, g, extra = decision
        if kind == "size" or kind == "const" and extra is None:   # a number, or None
            return gast.Constant(value=extra, kind=None)
        if kind == "const":   # a tuple of axes
            return gast.Tuple(elts=[gast.Constant(value=a, kind=None) for a in extra],
                              ctx=gast.Load())
        if kind == "expr":
            return _expression(extra, node.args)
        if kind == "call":
            return call_of(node, extra, getattr(node.func, "attr", "fn"))
        if kind == "tree":
            return extra
        if not extra:        # unbroadcast_to a value of x's shape, match of a fresh array
            return g
        axes = gast.Constant(value=0, kind=None) if extra == 1 else gast.Tuple(
            elts=[gast.Constant(value=i, kind=None) for i in range(extra)], ctx=gast.Load())
        return gast.Call(func=gast.Attribute(value=g, attr="sum", ctx=gast.Load()), args=[],
                         keywords=[gast.keyword(arg="axis", value=axes)])

    def decision(self, node):
        """What the known values decide about call ``node``: None, ``("size", None, n)``,
        ``("expr", None, formula)`` or ``(kind, g, n)`` for ``g`` itself (n = 0) or g summed
        over n leading axes."""
        func, args = node.func, node.args
        if func.__class__ is gast.Attribute and (func.attr == "fwd" or func.attr == "bwd"):
            made = self.called(node)
            if made is None or made[0] is self.resolve(func.value):
                return None
            return "call", None, made[0]
        if func.__class__ is gast.Name and hasattr(self.resolve(func), "tangent_parameter"):
            made = self.called(node)
            if made is None or made[0] is self.resolve(func):
                return None
            return "call", None, made[0]
        if len(args) == 2 and not node.keywords and self.resolve(func) is np.cross \
                and all(self.f64_vector3(a) for a in args):
            # the user's np.cross of two float64 3-vectors, by components (0.9 us, not 20)
            return "tree", None, tgr_call("cross_product", *args)
        if len(args) == 1 and not node.keywords and self.resolve(func) is np.size:
            value = self.value(args[0])
            if value is not None and value.shape is not None:
                return "size", None, int(np.prod(value.shape, dtype=np.int64))
            return None
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and self.namespace.get(func.value.id) is runtime and not node.keywords):
            spelled = cheaper(self, node, self.resolve(func))
            return None if spelled is None else ("tree", None, spelled)
        helper = func.attr
        if helper == "unconcatenate":
            parts = containers.cut(self, node)
            return None if parts is None else ("tree", None, parts)
        if helper == "inverse_permutation":
            axes = self.static(node)
            return None if axes is UNKNOWN else ("const", None, axes)
        if len(args) == 2:
            g, x = args
            if helper == "unbroadcast_to":
                extra = self.unbroadcast(g, x)
                if extra is None:
                    return self.stretched(g, x)
                return "unbroadcast_to", g, extra
            if (helper == "match" or helper == "cotangent_of") and self.match(g, x):
                return "match", g, 0   # cotangent_of: match, for a gradient that is an array
            written = containers.written_out(self, helper, g, x)
            if written is not None:
                return "tree", None, written
        elif len(args) == 3 and helper == "expand_reduced":
            return self.expanded(*args)
        elif len(args) == 3 and helper in _PRODUCT_VJP:   # np.dot's: matmul's up to 2-D
            formula = self.matmul_vjp(_PRODUCT_VJP[helper], *args)
            return None if formula is None else ("expr", None, formula)
        elif len(args) == 1 and helper == "zeros_like_value":
            value = self.value(args[0])
            if value is not None and value.array and value.dtype is F64:
                if value.shape is not None and all(type(n) is int for n in value.shape):
                    return "expr", None, ("zeros", value.shape)   # 0.3 us; zeros_like 2 us
                return "expr", None, ("zeros_like", "g")
        return None

    def expanded(self, g, x, axis):
        """``expand_reduced(g, x, axis)`` of a known array ``g`` and one constant axis of x's
        known rank: ``g`` itself (axis None) or ``g[:, None]`` (the axis put back)."""
        value, axis = self.value(x), self.static(axis)
        if axis is None:
            return "match", g, 0
        gv = self.value(g)
        if type(axis) is not int or value is None or value.shape is None or gv is None \
                or not gv.array or gv.shape is None or len(gv.shape) + 1 != len(value.shape) \
                or not -len(value.shape) <= axis < len(value.shape):
            return None
        return "expr", None, ("g[" + ":, " * (axis % len(value.shape)) + "None]",)

    def f64_vector3(self, node):
        value = self.value(node)
        return value is not None and value.array and value.shape == (3,) \
            and value.dtype is F64

    def unbroadcast(self, g, x):
        """0 where ``g`` has x's shape (or is a Python float, which the helper returns as it
        is), n where broadcasting only added n leading axes (one sum undoes it), None
        otherwise (stretched axes of length 1: the helper handles those)."""
        gv, xv = self.value(g), self.value(x)
        if gv is not None and gv.dtype is FLOAT:
            return 0
        if gv is None or xv is None or gv.shape is None or xv.shape is None:
            return None
        if gv.shape == xv.shape:
            return 0
        extra = len(gv.shape) - len(xv.shape)
        if extra <= 0 or gv.shape[extra:] != xv.shape or not gv.array:
            return None
        return extra

    def stretched(self, g, x):
        """``unbroadcast_to(g, x)`` where broadcasting stretched axes of length 1 of x (the
        same rank): ``g`` summed over them, kept (``g.sum(axis=(1,), keepdims=True)``)."""
        gv, xv = self.value(g), self.value(x)
        if gv is None or xv is None or gv.shape is None or xv.shape is None \
                or not gv.array or gv.dtype is not F64 or len(gv.shape) != len(xv.shape):
            return None
        if any(n != m and n != 1 for n, m in zip(xv.shape, gv.shape)):
            return None
        axes = tuple(i for i, (n, m) in enumerate(zip(xv.shape, gv.shape)) if n != m)
        return "expr", None, (f"g.sum(axis={axes}, keepdims=True)",)

    def match(self, g, x):
        """Whether ``g`` is an array of x's shape and dtype that this code made (so
        ``tgr.match(g, x)`` is g itself)."""
        gv, xv = self.value(g), self.value(x)
        return gv is not None and xv is not None and xv.array and xv.dtype is F64 \
            and gv.array and gv.own and gv.dtype is F64 and gv.shape == xv.shape

    def matmul_vjp(self, helper, g, x, y):
        """The formula of ``tgr.matmul_vjp_left/right(g, x, y)`` for float64 operands of
        one or two dimensions, ``g`` of the product's shape; None otherwise."""
        if not all(a.__class__ in (gast.Name, gast.Constant) for a in (g, x, y)):
            return None
        xv, yv, gv = self.value(x), self.value(y), self.value(g)
        product = matmul(xv, yv)
        if product is None or gv is None or gv.shape != product.shape \
                or not (gv.dtype is F64 or gv.dtype is FLOAT) or (gv.shape and not gv.array):
            return None
        return _MATMUL_VJP[helper, len(xv.shape), len(yv.shape)]


def _expression(formula, args):
    """The expression ``formula`` names, of the helper's arguments ``g, x, y``."""
    parts = dict(zip("gxy", args))
    if formula[0] in ("outer", "zeros_like", "zeros"):
        func = gast.Attribute(value=gast.Name(id="np", ctx=gast.Load(), annotation=None,
                                              type_comment=None),
                              attr=formula[0], ctx=gast.Load())
        func.resolved = getattr(np, formula[0])
        operands = [gast.Tuple(elts=[gast.Constant(value=n, kind=None) for n in formula[1]],
                               ctx=gast.Load())] if formula[0] == "zeros" \
            else [clone(parts[p]) for p in formula[1:]]   # np.zeros((3, 7)): a known shape
        return gast.Call(func=func, args=operands, keywords=[])
    return _formula(gast.parse(formula[0], mode="eval").body, parts)


def _formula(node, parts):
    if node.__class__ is gast.Name:
        return clone(parts[node.id])
    for field, value in gast.iter_fields(node):
        if isinstance(value, gast.AST):
            setattr(node, field, _formula(value, parts))
    return node


class _Interpreter:
    """Interprets a function's statements on Values, rewriting (``rewrite``) what they
    decide: each compound statement's copy gets rewritten children, the kept tree is never
    changed. ``pops``: the value a tracked stack's pop into a name gives (the join of its
    pushes), ``pushes`` collects those joins."""

    def __init__(self, exact, facts, pops):
        self.exact, self.facts, self.pops = exact, facts, pops
        self.pushes = {}
        self.returned = _NOTHING   # the join of the values it returns
        self.frames = []   # per enclosing loop: (envs at its breaks, envs at its continues)

    def block(self, stmts, rewrite):
        out = []
        for stmt in stmts:
            new = self.statement(stmt, rewrite)
            if new.__class__ is list:   # the arm of a branch the shapes decide
                out += new
            elif new is not None:
                out.append(new)
        return out

    def rewritten(self, node, rewrite):
        """``node`` itself (not rewriting), or a copy with what the values decide decided."""
        if not rewrite:
            return node
        if id(node) in self.facts.candidates:   # the copy is made anyway: visit it
            return self.exact.visit(clone(node))
        return clone(node)

    def statement(self, stmt, rewrite):
        exact, kind = self.exact, stmt.__class__
        known = exact.known
        header = stmt.test if kind is gast.If or kind is gast.While else \
            stmt.iter if kind is gast.For else stmt
        containers.guard(exact, header, self.facts.stacks)   # before a list may change
        if kind is gast.Assign:
            stmt = self.rewritten(stmt, rewrite)
            if rewrite:
                mark_stacking(stmt.value, exact)
                mark_projection(stmt.value, exact)
            in_place = rewrite and containers.added_in_place(exact, stmt)
            if rewrite:
                tiles.mark(exact, stmt, in_place)
            self.assign(stmt.targets, stmt.value)
            if in_place:   # x = tgr.add_at(x, i, v) of an ndarray: x[i] += v
                exact.changed = True
                return in_place
        elif kind is gast.AugAssign:
            stmt = self.rewritten(stmt, rewrite)
            if rewrite:
                mark_stacking(stmt.value, exact)
            target = stmt.target
            if target.__class__ is gast.Name:
                if containers.holds_list(known.get(target.id)):
                    containers.forget(known)   # a list extended in place
                self.bind(target.id, self.augmented(target.id, stmt))
            else:
                if target.__class__ is gast.Subscript:
                    containers.stored(exact, target, self.augmented_item(target, stmt))
                self.forget_stored(target)
        elif kind is gast.Expr:
            self.expression(stmt.value)
            if rewrite and _checked_output(stmt.value, exact):
                exact.changed = True
                return None   # a check the known values pass
            stmt = self.rewritten(stmt, rewrite)
        elif kind is gast.Return:
            stmt = self.rewritten(stmt, rewrite)
            for stack in self.facts.stacks_returned:   # for the backward half's pops
                self.bind(stack, Stack(self.pushes) if len(self.facts.stacks) == 1 else None)
            value = None if stmt.value is None else exact.value(stmt.value)
            self.returned = value if self.returned is _NOTHING else join(self.returned, value)
        elif kind is gast.If:
            truth = exact.static(stmt.test)
            if truth is True or truth is False:   # a test of ranks the shapes decide
                taken = self.block(stmt.body if truth else stmt.orelse, rewrite)
                if not rewrite:
                    return stmt
                exact.changed = True
                return taken
            test = self.rewritten(stmt.test, rewrite)
            before = dict(known)
            body = self.block(stmt.body, rewrite)
            after_body, exact.known = exact.known, before
            orelse = self.block(stmt.orelse, rewrite)
            exact.known = join_env(after_body, exact.known)
            if rewrite:
                stmt = copy.copy(stmt)
                stmt.test, stmt.body, stmt.orelse = test, body or [gast.Pass()], orelse
        elif kind is gast.For or kind is gast.While:
            stmt = self.loop(stmt, rewrite)
        elif kind is gast.Break or kind is gast.Continue:
            if self.frames:
                self.frames[-1][kind is gast.Continue].append(dict(known))
            return clone(stmt) if rewrite else stmt
        elif kind is gast.With:
            for item in stmt.items:
                self.forget_stored(item)
            body = self.block(stmt.body, rewrite)
            if rewrite:
                stmt = copy.copy(stmt)
                stmt.items, stmt.body = clone(stmt.items), body
        else:
            if kind is not gast.Pass and kind.__name__ != "Comment":
                self.forget_stored(stmt)   # try, nested definitions, del...: names unknown
                containers.forget(known)
            return clone(stmt) if rewrite else stmt
        return stmt

    def bind(self, name, value):
        if self.facts.nested and containers.holds_list(value):
            value = None   # a function defined here may change the list
        if value is None or name in self.facts.never:
            self.exact.known.pop(name, None)
        else:
            self.exact.known[name] = value

    def forget_stored(self, node):
        known = self.exact.known
        for n in walk(node):
            if n.__class__ is gast.Name and n.ctx.__class__ is not gast.Load:
                known.pop(n.id, None)

    def assign(self, targets, value_node):
        exact = self.exact
        if len(targets) == 1 and targets[0].__class__ is gast.Name:
            name = targets[0].id
            stack = self.popped(value_node)
            self.bind(name, exact.value(value_node) if stack is None
                      else self.pop_value(stack, name))
            return
        for target in targets:
            if target.__class__ is gast.Name:
                self.bind(target.id, None if self.popped(value_node) is not None
                          else exact.value(value_node))
            elif target.__class__ in (gast.Tuple, gast.List) and all(
                    e.__class__ is gast.Name for e in target.elts):
                whole = None if self.popped(value_node) is not None \
                    else exact.value(value_node)
                items = whole.items if whole is not None else None
                if items is None or len(items) != len(target.elts):
                    items = [None] * len(target.elts)
                for e, v in zip(target.elts, items):
                    self.bind(e.id, v)
            elif target.__class__ is gast.Subscript:
                containers.stored(exact, target, exact.value(value_node))
                self.forget_stored(target.slice)   # x[i] = v keeps x's shape and dtype
            else:
                self.forget_stored(target)

    def popped(self, node):
        """The tracked stack ``node`` pops (``s.pop()``), or None: its value is what the
        pushes of the name it is assigned to saved."""
        func = node.func if node.__class__ is gast.Call else None
        if func is not None and not node.args and func.__class__ is gast.Attribute \
                and func.attr == "pop" and func.value.__class__ is gast.Name \
                and func.value.id in self.facts.stacks:
            return func.value.id
        return None

    def pop_value(self, stack, name):
        """What a pop of ``stack`` into ``name`` gives: the join of that name's pushes, here
        (``pops``) or, for a stack the tape brought, in the forward half (its ``Stack``)."""
        if stack in self.facts.stacks_from_tape:
            brought = self.exact.known.get(stack)
            return brought.popped(name) if brought.__class__ is Stack else None
        return self.pops.get(name)

    def augmented(self, name, stmt):
        """``name op= v``: an array updated in place keeps its shape, dtype and ownership."""
        ufunc = BINOPS.get(stmt.op.__class__)
        old = self.exact.known.get(name)
        result = ufunc and elementwise(ufunc, [old, self.exact.value(stmt.value)], True)
        if old is None or result is None:
            return None
        if old.array:
            return old if result.shape == old.shape and result.dtype is old.dtype else None
        return result

    def augmented_item(self, target, stmt):
        """The value ``x[i] op= v`` stores in ``x[i]``."""
        ufunc = BINOPS.get(stmt.op.__class__)
        return ufunc and elementwise(ufunc, [self.exact.value(target),
                                             self.exact.value(stmt.value)], True)

    def expression(self, node):
        """A push ``s.append(name)`` on a tracked stack joins the name's value into its
        pushes."""
        if node.__class__ is gast.Call and node.func.__class__ is gast.Attribute \
                and node.func.attr == "append" and len(node.args) == 1 \
                and node.func.value.__class__ is gast.Name \
                and node.func.value.id in self.facts.stacks \
                and node.args[0].__class__ is gast.Name:
            name = node.args[0].id
            value = listless(self.exact.known.get(name))   # popped after lists may change
            pushes = self.pushes
            pushes[name] = join(pushes[name], value) if name in pushes else value

    def loop(self, stmt, rewrite):
        """A ``for`` or ``while`` loop: its head's values found by a fixed point (what the
        body keeps across iterations stays known), then its body rewritten with them."""
        exact = self.exact
        before = dict(exact.known)
        head = before
        for _ in range(_LOOP_LIMIT):
            end, _ = self.iteration(stmt, head, False)
            new_head = join_env(before, end)
            if new_head == head:
                break
            head = new_head
        else:
            head = {k: v for k, v in before.items() if k not in loop_stored(stmt)}
        end, (breaks, body, target_iter) = self.iteration(stmt, head, rewrite)
        exact.known = dict(head)
        orelse = self.block(stmt.orelse, rewrite)
        exact.known = join_env(exact.known, *breaks)
        if not rewrite:
            return stmt
        new = copy.copy(stmt)
        new.body, new.orelse = body or [gast.Pass()], orelse
        if stmt.__class__ is gast.For:
            new.iter, new.target = target_iter, clone(stmt.target)
        else:
            new.test = target_iter
        return new

    def iteration(self, stmt, head, rewrite):
        """(the values at the end of one iteration from ``head``, joined with its continues;
        (its breaks' values, the body, the iterable or test))."""
        exact = self.exact
        exact.known = dict(head)
        if stmt.__class__ is gast.For:
            header = self.rewritten(stmt.iter, rewrite)
            iterable = exact.value(stmt.iter)
            self.forget_stored(stmt.target)
            if stmt.target.__class__ is gast.Name:
                self.bind(stmt.target.id, _item(iterable))
        else:
            header = self.rewritten(stmt.test, rewrite)
        self.frames.append(([], []))
        body = self.block(stmt.body, rewrite)
        breaks, continues = self.frames.pop()
        return join_env(exact.known, *continues), (breaks, body, header)


def _item(iterable):
    """The value of one item of an iterable's value."""
    if iterable == RANGE_VALUE:
        return PY_INT
    if iterable is not None and iterable.array and iterable.shape:
        shape = iterable.shape[1:]
        return Value(shape, iterable.dtype, bool(shape), False)
    return None


def _checked_output(call, exact):
    """``tgr.check_scalar_output(v, name)`` of a float64 scalar: a check that passes."""
    func = call.func if call.__class__ is gast.Call else None
    if func is None or len(call.args) != 2 or func.__class__ is not gast.Attribute \
            or func.attr != "check_scalar_output" or func.value.__class__ is not gast.Name \
            or exact.namespace.get(func.value.id) is not runtime:
        return False
    value = exact.value(call.args[0])
    return value is not None and value.shape == () and (
        value.dtype is F64 or value.dtype is FLOAT)


def exact_shapes(fn, namespace, args, counts=False, arrays=()):
    """A copy of the rank code ``fn`` (a FunctionDef whose globals are ``namespace``) with
    what positional arguments of exactly the shapes and dtypes of ``args`` decide decided,
    or None when they decide nothing; ``fn`` is left as it is. ``counts``: the values of
    int arguments are known too; ``arrays``: names of float64 arrays in ``namespace`` whose
    shapes are known too (the caller guards them)."""
    known = tuple((name, Value(namespace[name].shape, F64, True, False)) for name in arrays)
    return _rewrite(fn, namespace, tuple(argument_values(args, counts)) + known,
                    defaults=True, outside=True)[0]


def _rewrite(fn, namespace, values, depth=0, defaults=False, outside=False):
    """(the rewritten copy of ``fn`` or None, the Value it returns) for positional
    arguments of ``values`` (Values or None), then keyword ones as (name, Value or None).
    ``defaults``: the call passes nothing else, so the parameters after them hold their
    constant defaults. ``outside``: the named values may also be names ``fn`` reads from
    its namespace."""
    named = [v for v in values if v.__class__ is tuple]
    values = [v for v in values if v.__class__ is not tuple]
    facts = facts_of(fn)
    # a local name is unbound until assigned: no path that reads it comes from before that
    entry = dict.fromkeys(facts.unbound, NONE)
    if defaults and not fn.args.kwonlyargs:
        first = len(facts.params) - len(fn.args.defaults)
        for param, default in zip(facts.params[first:], fn.args.defaults):
            if facts.params.index(param) >= len(values) \
                    and default.__class__ is gast.Constant:
                entry[param] = Values.value(None, default)
    entry.update((p, v) for p, v in zip(facts.params, values) if v is not None)
    keywords = set(facts.params) | {a.id for a in fn.args.kwonlyargs}
    entry.update((p, v) for p, v in named if v is not None and (
        p in keywords or outside and p not in facts.local))
    if depth:   # a called half (exact_calls): its call site names every keyword it passes
        passed = {p for p, _ in named}
        entry.update((a.id, Values.value(None, default))
                     for a, default in zip(fn.args.kwonlyargs, fn.args.kw_defaults)
                     if a.id not in passed and default.__class__ is gast.Constant)
    pops = {}
    if facts.stacks:   # what the pushes save, with every pop unknown
        first = _Interpreter(_Exact(namespace, dict(entry), facts.local, depth), facts, {})
        first.block(fn.body, False)
        pops = {k: v for k, v in first.pushes.items() if v is not None}
    while True:
        exact = _Exact(namespace, dict(entry), facts.local, depth)
        interpreter = _Interpreter(exact, facts, pops)
        body = interpreter.block(fn.body, True)
        pushes = interpreter.pushes
        # the pops assumed are sound if the pushes they lead to save no less certain values
        if all(k in pushes and join(pushes[k], v) == v for k, v in pops.items()):
            break
        pops = {}
    returned = None if interpreter.returned is _NOTHING else interpreter.returned
    if not exact.changed:
        return None, returned
    shell = copy.copy(fn)
    shell.body = []
    new = clone(shell)   # every statement of ``body`` is a copy already
    new.body = body
    tiles.concatenate_tiles(new)
    return new, returned


_PRODUCT_VJP = {"matmul_vjp_left": "matmul_vjp_left", "matmul_vjp_right": "matmul_vjp_right",
                "dot_vjp_left": "matmul_vjp_left", "dot_vjp_right": "matmul_vjp_right"}

def specialize(generated, source, args):
    """(callable, source) of ``generated``, rank code the build kept its tree with, for
    arguments of exactly the shapes and dtypes of ``args``; None when those decide nothing
    or no tree was kept. ``source`` (the rank code's) is not read: the variant is printed
    from its tree."""
    tree = generated.__dict__.get("exact_tree")
    if tree is None:
        return None
    namespace = generated.__globals__
    # arrays it reads from its namespace: assumed to keep their shapes, checked at each call
    # (a rebinding builds the code again; this guards an array reshaped in place)
    arrays = {name: namespace[name].shape for name in namespace_arrays(tree, namespace)}
    fn = _finished(exact_shapes(tree, namespace, args, arrays=arrays))
    made = guarded(fn, arrays, generated) if fn else None
    ints = {param.id: a for param, a in zip(tree.args.args, args) if type(a) is int}
    if not ints:
        return made
    # int arguments that fix shapes (``np.zeros((n + 3, 3))``): code for their values too,
    # which calls the code above for other values
    counted = _finished(exact_shapes(tree, namespace, args, counts=True, arrays=arrays))
    if counted is None or (fn is not None and to_source(counted, {}) == to_source(fn, {})):
        return made
    counted.body[:0] = other_ints_guard(counted, ints)
    return guarded(counted, arrays, generated,
                   tgr_other_ints=made[0] if made else Fallback(generated))


def _finished(fn):
    """The rewritten ``fn`` optimized (None stays None)."""
    if fn is None:
        return None
    batch_projections(fn)   # the products it marked, of each step's row: one per chunk
    # the build elided broadcasts with the primal's shape classes; the rewrite makes none
    optimize(fn, classes={})
    defer_accumulations(fn)   # the products it marked, summed over loops: one per chunk
    return fn


def halves_for(pair, args, g):
    """(fwd, bwd) of the split VJP ``pair`` rewritten for positional arguments of exactly
    the shapes and dtypes of ``args`` and a cotangent like ``g``: the checkpoint driver's
    step, whose shapes are the same at every step. ``pair``'s own halves where they decide
    nothing (a specialized forward half's tape is one the general backward half reads)."""
    made = specialized(pair, "fwd", tuple(argument_values(args)), _rewrite, 0)
    fwd = made[0].fwd if made is not None else pair.fwd
    returned = made[1] if made is not None else None
    tape = listless(returned.items[1]) if returned is not None \
        and returned.items is not None and len(returned.items) == 2 else None
    cotangent = tuple_value(argument_values(g)) if type(g) is tuple \
        else argument_values((g,))[0]
    made = specialized(pair, "bwd", (tape, cotangent), _rewrite, 0) \
        if tape is not None or cotangent is not None else None
    return fwd, made[0].bwd if made is not None else pair.bwd
