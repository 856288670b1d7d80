"""Decide at call time what the exact shapes of one call's arguments decide (a rewrite).

Code built for argument ranks still asks at run time whether broadcasting happened
(``tgr.unbroadcast_to``) and whether a gradient already has its argument's shape and dtype
(``tgr.match``). When a call brings float64 arrays of known shapes, the shapes of the
straight-line values follow, and those questions have answers::

    bt5 = tgr.unbroadcast_to(bout, t5)        bt5 = bout              # both (16, 1)
    bb3 = tgr.unbroadcast_to(bout, b3)   ->   bb3 = bout.sum(axis=0)  # (16, 1) -> (1,)
    return (tgr.match(bw3, w3), ...)          return (bw3, ...)       # a fresh float64 array

The rewrite knows a value's shape only where it is certain: a name assigned once, at the top
level, by arithmetic, a ufunc, a matrix product, a transpose or a sum over constant axes of
values it knows. Anything else keeps its run-time check. The code is valid only for arguments
of those exact shapes and dtypes; ``GradientFunction`` keys it on them.

``exact_shapes`` is an ordinary pass over the optimized tree the build kept (``exact_tree`` on
the generated function): it returns a rewritten copy, and ``specialize`` runs the one
``optimize`` on it (copies such as ``bt5 = bout`` propagate, values only a size needed are
dropped) and compiles it.

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
    bt2 = np.broadcast_to(1.0, np.shape(t2))
    bt1 = bt2 * (1 - t2 ** 2)
    bb = bt1.sum(axis=0)
    return (bt1, bb)
"""

import copy

import gast
import numpy as np

from .. import runtime
from ..codegen import compile_function
from ..ir import Transformer, clone, walk
from .optimize import optimize

F64, BOOL = np.dtype(np.float64), np.dtype(bool)
WEAK = "weak"   # a Python number: takes the dtype of the array it meets
_STAND_INS = {F64: np.full(1, 0.5), BOOL: np.full(1, True), WEAK: 0.5}


class Value:
    """What is certain about a value: its shape, dtype (F64, BOOL, WEAK or None: another or
    unknown),
    whether it is exactly an ``np.ndarray`` and whether it may be returned as a gradient as it
    is (an array this code made, so writeable and shared with no one)."""

    __slots__ = ("array", "dtype", "own", "shape")

    def __init__(self, shape, dtype, array, own):
        self.shape, self.dtype, self.array, self.own = shape, dtype, array, own


def _result(shape, dtype):
    """A fresh result of arithmetic: an array when it has dimensions, else a scalar."""
    return Value(shape, dtype, len(shape) > 0, len(shape) > 0)


_BINOPS = {gast.Add: np.add, gast.Sub: np.subtract, gast.Mult: np.multiply,
           gast.Div: np.true_divide, gast.Pow: np.power}
_COMPARE = {gast.Lt: np.less, gast.LtE: np.less_equal, gast.Gt: np.greater,
            gast.GtE: np.greater_equal, gast.Eq: np.equal, gast.NotEq: np.not_equal}
_UNARY = {gast.USub: np.negative, gast.UAdd: np.positive}
_dtypes = {}
_UNRESOLVED = object()


def _ufunc_dtype(ufunc, operands):
    """The result dtype of ``ufunc`` on float64 and bool arrays and Python numbers (None for
    others), found once by applying it to one-element stand-ins."""
    kinds = tuple(v.dtype for v in operands)
    if any(k is None for k in kinds) or all(k is WEAK for k in kinds):
        return WEAK if all(k is WEAK for k in kinds) else None
    key = (ufunc, kinds)
    if key not in _dtypes:
        try:
            with np.errstate(all="ignore"):
                dtype = np.asarray(ufunc(*[_STAND_INS[k] for k in kinds])).dtype
        except (TypeError, ValueError):
            dtype = None
        _dtypes[key] = F64 if dtype == F64 else BOOL if dtype == BOOL else None
    return _dtypes[key]


def _elementwise(ufunc, operands):
    if any(v is None or v.shape is None for v in operands):
        return None
    try:
        shape = np.broadcast_shapes(*(v.shape for v in operands))
    except ValueError:
        return None
    dtype = _ufunc_dtype(ufunc, operands)
    if dtype is WEAK:
        return Value((), WEAK, False, False) if shape == () else None
    return _result(shape, dtype)


def _matmul(a, b):
    if a is None or b is None or not (a.array and b.array) or a.dtype is not F64 \
            or b.dtype is not F64 or not (1 <= len(a.shape) <= 2 and 1 <= len(b.shape) <= 2):
        return None
    if a.shape[-1] != b.shape[0]:
        return None
    return _result(a.shape[:-1] + b.shape[1:], F64)


def _constant(node):
    """The Python value of a constant or a tuple of int constants, else None."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.Tuple) and all(isinstance(e, gast.Constant) for e in node.elts):
        return tuple(e.value for e in node.elts)
    return None


def _summed(a, keywords):
    """``np.sum(a, axis=...)`` / ``a.sum(axis=...)`` with constant axes."""
    if a is None or not a.array or a.dtype is not F64:
        return None
    options = {k.arg: _constant(k.value) for k in keywords}
    if set(options) - {"axis", "keepdims"} or options.get("keepdims") not in (None, False):
        return None
    axis = options.get("axis")
    ndim = len(a.shape)
    if axis is None:
        return Value((), F64, False, False)
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(type(x) is int and -ndim <= x < ndim for x in axes):
        return None
    axes = {x % ndim for x in axes}
    return _result(tuple(n for i, n in enumerate(a.shape) if i not in axes), F64)


class _Exact(Transformer):
    """Rewrites ``tgr.unbroadcast_to`` and ``tgr.match`` calls whose answer the known values
    give; ``value(node)`` says what is known about an expression."""

    def __init__(self, namespace, known, local):
        self.namespace = namespace
        self.local = local          # the function's own names: never globals
        self.known = known          # name -> Value
        self.params = dict(known)   # the arguments themselves
        self.changed = False

    def resolve(self, node):
        """The object an unassigned name or dotted name refers to, or None."""
        resolved = node.__dict__.get("resolved", _UNRESOLVED)
        if resolved is not _UNRESOLVED:   # a tree the build kept: resolve bound it
            return resolved
        if isinstance(node, gast.Name):
            return self.namespace.get(node.id) if node.id not in self.local else None
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            return getattr(base, node.attr, None) if base is not None else None
        return None

    def value(self, node):
        kind = type(node)
        if kind is gast.Name:
            return self.known.get(node.id)
        if kind is gast.Constant:
            is_number = type(node.value) in (int, float)
            return Value((), WEAK, False, False) if is_number else None
        if kind is gast.BinOp:
            if isinstance(node.op, gast.MatMult):
                return _matmul(self.value(node.left), self.value(node.right))
            ufunc = _BINOPS.get(type(node.op))
            return ufunc and _elementwise(ufunc, [self.value(node.left), self.value(node.right)])
        if kind is gast.Compare and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return _elementwise(_COMPARE[type(node.ops[0])],
                                [self.value(node.left), self.value(node.comparators[0])])
        if kind is gast.UnaryOp and type(node.op) in _UNARY:
            return _elementwise(_UNARY[type(node.op)], [self.value(node.operand)])
        if kind is gast.Attribute:
            base = self.value(node.value)
            if base is not None and base.array:
                if node.attr == "T":
                    return Value(base.shape[::-1], base.dtype, True, base.own)
                if node.attr == "size":
                    return Value((), WEAK, False, False)
            return None
        if kind is gast.Call:
            return self.call_value(node)
        return None

    def call_value(self, node):
        func = node.func
        if isinstance(func, gast.Attribute) and func.attr == "sum" and not node.args \
                and func.value.__class__ is gast.Name and func.value.id in self.known:
            return _summed(self.known[func.value.id], node.keywords)
        obj = self.resolve(func)
        if obj is None:
            return None
        if type(obj) is np.ufunc and not node.keywords and len(node.args) == obj.nin:
            return _elementwise(obj, [self.value(a) for a in node.args])
        if obj in (np.sum, np.mean) and len(node.args) == 1:
            return _summed(self.value(node.args[0]), node.keywords)
        if obj is np.size and len(node.args) == 1 and not node.keywords:
            return Value((), WEAK, False, False)
        if (obj is max or obj is min) and len(node.args) > 1 and not node.keywords and all(
                (v := self.value(a)) is not None and v.shape == () and v.dtype is WEAK
                for a in node.args):   # max(np.size(x), 1): a Python number
            return Value((), WEAK, False, False)
        if obj is np.broadcast_to and len(node.args) == 2 and not node.keywords:
            return self.broadcast_value(*node.args)
        return None

    def broadcast_value(self, operand, shape):
        """``np.broadcast_to(operand, np.shape(t))``: a read-only view of t's shape."""
        if not (isinstance(shape, gast.Call) and len(shape.args) == 1
                and self.resolve(shape.func) is np.shape):
            return None
        target = self.value(shape.args[0])
        if isinstance(operand, gast.Constant):
            dtype = F64 if type(operand.value) is float else None
        else:
            value = self.value(operand)
            dtype = value.dtype if value is not None and value.dtype in (F64, BOOL) else None
        if target is None or target.shape is None or dtype is None:
            return None
        try:
            if isinstance(operand, gast.Constant) or np.broadcast_shapes(
                    self.value(operand).shape, target.shape) == target.shape:
                return Value(target.shape, dtype, True, False)
        except ValueError:
            pass
        return None

    def visit_Call(self, node):
        self.generic_visit(node)
        decision = self.decision(node)
        if decision is None:
            return node
        self.changed = True
        kind, g, extra = decision
        if kind == "size":   # a size the shapes fix: a number
            return gast.Constant(value=extra, kind=None)
        if not extra:        # unbroadcast_to a value of x's shape, match of a fresh array
            return g
        axes = gast.Constant(value=0, kind=None) if extra == 1 else gast.Tuple(
            elts=[gast.Constant(value=i, kind=None) for i in range(extra)], ctx=gast.Load())
        return gast.Call(func=gast.Attribute(value=g, attr="sum", ctx=gast.Load()), args=[],
                         keywords=[gast.keyword(arg="axis", value=axes)])

    def decides(self, stmt):
        """Whether visiting ``stmt`` rewrites something (read-only: a call an inner rewrite
        could decide is decided there first)."""
        return any(node.__class__ is gast.Call and self.decision(node) is not None
                   for node in walk(stmt))

    def decision(self, node):
        """What the known values decide about call ``node``: None, ``("size", None, n)``,
        or ``(kind, g, n)`` for ``g`` itself (n = 0) or g summed over n leading axes."""
        func, args = node.func, node.args
        if len(args) == 1 and not node.keywords and self.resolve(func) is np.size:
            value = self.value(args[0])
            if value is not None and value.shape is not None:
                return "size", None, int(np.prod(value.shape, dtype=np.int64))
            return None
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and self.namespace.get(func.value.id) is runtime and len(args) == 2
                and not node.keywords):
            return None
        g, x = args
        if func.attr == "unbroadcast_to":
            extra = self.unbroadcast(g, x)
            return None if extra is None else ("unbroadcast_to", g, extra)
        if func.attr == "match" and self.match(g, x):
            return "match", g, 0
        return None

    def unbroadcast(self, g, x):
        """0 where ``g`` has x's shape, n where broadcasting only added n leading axes (one
        sum undoes it), None otherwise (stretched axes of length 1: the helper handles those)."""
        gv, xv = self.value(g), self.value(x)
        if gv is None or xv is None or gv.shape is None or xv.shape is None:
            return None
        if gv.shape == xv.shape:
            return 0
        extra = len(gv.shape) - len(xv.shape)
        if extra <= 0 or gv.shape[extra:] != xv.shape or not gv.array:
            return None
        return extra

    def match(self, g, x):
        """Whether ``g`` is an array of x's shape and dtype that this code made (so
        ``tgr.match(g, x)`` is g itself)."""
        if not isinstance(x, gast.Name) or x.id not in self.params:
            return False
        gv, xv = self.value(g), self.params[x.id]
        return gv is not None and xv.array and xv.dtype is F64 and gv.array and gv.own \
            and gv.dtype is F64 and gv.shape == xv.shape


def argument_values(args):
    """``Value``s of positional arguments that are float64 arrays or Python numbers (None for
    others): what the rewrite may assume about a call whose arguments have these exact
    shapes and dtypes."""
    values = []
    for a in args:
        if type(a) is np.ndarray:
            values.append(Value(a.shape, F64 if a.dtype == F64 else None, True, False))
        elif type(a) in (float, int):
            values.append(Value((), WEAK, False, False))
        else:
            values.append(None)
    return values


def exact_shapes(fn, namespace, args):
    """A copy of the rank code ``fn`` (a FunctionDef whose globals are ``namespace``) with
    what positional arguments of exactly the shapes and dtypes of ``args`` decide decided,
    or None when they decide nothing; ``fn`` is left as it is."""
    facts = _facts(fn)
    known = {p: v for p, v in zip(facts.params, argument_values(args))
             if v is not None and p not in facts.stored}
    exact = _Exact(namespace, known, facts.local)
    elsewhere, candidates, body = facts.elsewhere, facts.candidates, []
    for i, stmt in enumerate(fn.body):
        if i in candidates and exact.decides(stmt):
            stmt = exact.visit(clone(stmt))   # the kept tree itself is never changed
        body.append(stmt)
        if stmt.__class__ is gast.Assign and stmt.targets[0].__class__ is gast.Name:
            target, value = stmt.targets[0].id, exact.value(stmt.value)
            if value is not None and target not in elsewhere:
                known[target] = value   # statements run in order: the latest value
            else:
                known.pop(target, None)
        # blocks (if, for, while) keep their checks: names they assign are never known,
        # so what follows a block is still decided soundly
    if not exact.changed:
        return None
    shell = copy.copy(fn)
    shell.body = []
    new = clone(shell)
    new.body = [stmt if stmt is not kept else clone(stmt) for stmt, kept in zip(body, fn.body)]
    return new


class _Facts:
    """What ``exact_shapes`` needs to know about a tree whatever the shapes, found once and
    kept on the tree (which is never changed): its parameters, the names it stores (those
    stored other than by ``name = ...`` at the top level are never known), and the top-level
    assignments and returns with a call the rewrite may decide."""

    __slots__ = ("candidates", "elsewhere", "local", "params", "stored")

    def __init__(self, fn):
        self.params = [a.id for a in fn.args.args]
        self.stored, self.elsewhere, self.candidates = set(), set(), set()
        for i, stmt in enumerate(fn.body):
            top = stmt.__class__ is gast.Assign and stmt.targets[0].__class__ is gast.Name
            for node in walk(stmt):
                kind = node.__class__
                if kind is gast.Name and node.ctx.__class__ is gast.Store:
                    self.stored.add(node.id)
                    if not top:
                        self.elsewhere.add(node.id)
                elif kind is gast.Call and stmt.__class__ in (gast.Assign, gast.Return) \
                        and _may_decide(node):
                    self.candidates.add(i)
        self.local = set(self.params) | {a.id for a in fn.args.kwonlyargs} | self.stored


def _facts(fn):
    facts = fn.__dict__.get("exact_facts")
    if facts is None:
        facts = fn.exact_facts = _Facts(fn)
    return facts


def _may_decide(call):
    """Whether ``_Exact.decision`` may decide ``call`` (a ``tgr`` helper or a size)."""
    func = call.func
    if func.__dict__.get("resolved") is np.size:
        return True
    if func.__class__ is gast.Attribute:   # np.size unresolved: a tree read back from source
        return func.attr in ("unbroadcast_to", "match", "size")
    return func.__class__ is gast.Name and func.id == "size"


def specialize(generated, source, args):
    """(callable, source) of ``generated``, rank code the build kept its tree with, for
    arguments of exactly the shapes and dtypes of ``args``; None when those decide nothing
    or no tree was kept. ``source`` (the rank code's) is not read: the variant is printed
    from its tree."""
    tree = generated.__dict__.get("exact_tree")
    if tree is None:
        return None
    fn = exact_shapes(tree, generated.__globals__, args)
    if fn is None:
        return None
    # the build elided broadcasts with the primal's shape classes; the rewrite makes none
    optimize(fn, classes={})
    return compile_function(fn, dict(generated.__globals__), fn.name)
