"""Decide at build time what the exact shapes of one call's arguments decide (a rewrite).

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

It works on the optimized tree the build kept (``exact_tree`` on the generated function) and
costs little per shape: what the rank code's statements read and store, and which lines of
its source print each one, is found once (``_Plan``); a shape then clones and rewrites only
the statements that may change, does what ``optimize`` would do after such a rewrite (one
round: simplify, coalesce, propagate, drop dead code) on those statements alone, and reprints
only them, reusing the rank source's lines for the rest. Where that emulation meets a case it
does not cover (loads of names stored in blocks, folded branches...), or no tree was kept,
the rank source is parsed, rewritten and optimized whole (``_specialize_source``), as a first
version did for every shape.
"""

import ast

import gast
import numpy as np

from .. import runtime
from ..codegen import compile_function, compile_source, statement_sources
from ..ir import Comment, Transformer, clone, walk
from .optimize import (
    _both_branches_assign,
    _drop_orphan_comments,
    _is_comment,
    _is_zero_start,
    _numeric_const,
    _pops,
    _rename_store,
    _Replace,
    _Simplify,
    optimize,
)

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
        if obj is None and func.__class__ is gast.Name and func.id not in self.local:
            obj = {"max": max, "min": min}.get(func.id)   # builtins of source read back
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


def _stores(fn):
    """(every name stored, the names stored other than by ``name = ...`` at the top level)"""
    stored, elsewhere = set(), set()
    for stmt in fn.body:
        top = isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                stored.add(node.id)
                if not top:
                    elsewhere.add(node.id)
    return stored, elsewhere


def _with_comment_calls(source):
    """Generated comments as ``__comment__("...")`` statements, so they survive parsing."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("# "):
            line = f"{line[:len(line) - len(stripped)]}__comment__({stripped[2:]!r})"
        lines.append(line)
    return "\n".join(lines) + "\n"


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


def specialize(generated, source, args):
    """(callable, source) of ``generated`` (whose source is ``source``) for arguments of
    exactly the shapes and dtypes of ``args``, or None when those decide nothing."""
    plan = _plan_of(generated, source)
    if plan is not None:
        made = plan.specialize(args)
        if made is not _FALL_BACK:
            return made
    return _specialize_source(generated, source, args)


def _specialize_source(generated, source, args):
    """``specialize`` by reading ``source`` back: parse, rewrite, optimize the whole function
    and print it again (for code built without a kept tree, and the cases ``_Cleanup`` leaves
    to ``optimize``)."""
    try:
        fn = gast.parse(_with_comment_calls(source)).body[0]
    except SyntaxError:
        return None
    namespace = generated.__globals__
    params = [a.id for a in fn.args.args]
    stored, elsewhere = _stores(fn)
    known = {p: v for p, v in zip(params, argument_values(args))
             if v is not None and p not in stored}
    local = set(params) | {a.id for a in fn.args.kwonlyargs} | stored
    exact = _Exact(namespace, known, local)
    for i, stmt in enumerate(fn.body):
        if isinstance(stmt, (gast.Assign, gast.Return)):
            fn.body[i] = stmt = exact.visit(stmt)
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                target, value = stmt.targets[0].id, exact.value(stmt.value)
                if value is not None and target not in elsewhere:
                    known[target] = value   # statements run in order: the latest value
                else:
                    known.pop(target, None)
        # blocks (if, for, while) keep their checks: names they assign are never known,
        # so what follows a block is still decided soundly
    if not exact.changed:
        return None
    optimize(fn)   # `bt5 = bout` copies propagate, values only a size needed are dropped
    return compile_function(fn, dict(namespace), fn.name)


_FALL_BACK = object()


def _plan_of(generated, source):
    """The ``_Plan`` of rank code ``generated``, made on first use and kept on it (None when
    the build kept no tree or its source cannot be matched to the tree)."""
    attrs = generated.__dict__
    plan = attrs.get("exact_plan")
    if plan is None:
        tree = attrs.get("exact_tree")
        plan = attrs["exact_plan"] = (tree is not None and _Plan.make(
            tree, generated.__globals__, source)) or False
    return plan or None


_CALLS = frozenset({"unbroadcast_to", "match", "size"})


def _scan(stmt):
    """(loads, stores, names mentioned, whether the rewrite may change it) of one statement:
    loads and stores count Name nodes as ``optimize`` counts them."""
    loads, stores, mentioned, candidate = {}, {}, set(), False
    for node in walk(stmt):
        kind = node.__class__
        if kind is gast.Name:
            name = node.id
            mentioned.add(name)
            if node.ctx.__class__ is gast.Store:
                stores[name] = stores.get(name, 0) + 1
            elif "resolved" not in node.__dict__:
                loads[name] = loads.get(name, 0) + 1
        elif kind is gast.Call and not candidate:
            # what _Exact.visit_Call may rewrite, and a little more (a clone and a visit)
            func = node.func
            candidate = func.__dict__.get("resolved") is np.size or (
                func.attr in _CALLS if func.__class__ is gast.Attribute
                else func.__class__ is gast.Name and func.id == "size")
    return loads, stores, mentioned, candidate


def _count(stmt):
    loads, stores, _, _ = _scan(stmt)
    return loads, stores


class _Plan:
    """What specializing rank code needs from its optimized tree, found once: each top-level
    statement's loads and stores, which statements the rewrite may change, where each name is
    defined and read, and the lines of the rank source that print each statement."""

    __slots__ = ("candidates", "chunks", "copies", "defs", "elsewhere", "fn", "header", "loads",
                 "local", "local_names", "mentions", "namespace", "param_set", "params",
                 "readers", "stmt_loads", "stmt_stores", "stored", "stores", "zero_starts")

    @classmethod
    def make(cls, fn, namespace, source):
        chunks = _chunks(fn, source)
        if chunks is None:
            return None
        plan = cls()
        plan.fn, plan.namespace = fn, namespace
        plan.header, plan.chunks = chunks
        plan.params = [a.id for a in fn.args.args]
        plan.param_set = set(plan.params) | {a.id for a in fn.args.kwonlyargs}
        plan.stmt_loads, plan.stmt_stores = [], []
        plan.loads, plan.stores, plan.readers, plan.mentions = {}, {}, {}, {}
        plan.candidates, plan.defs, plan.copies, plan.zero_starts = set(), {}, [], set()
        plan.elsewhere = set()
        for i, stmt in enumerate(fn.body):
            loads, stores, mentioned, candidate = _scan(stmt)
            plan.stmt_loads.append(loads)
            plan.stmt_stores.append(stores)
            for name, n in loads.items():
                plan.loads[name] = plan.loads.get(name, 0) + n
                plan.readers.setdefault(name, []).append(i)
            for name, n in stores.items():
                plan.stores[name] = plan.stores.get(name, 0) + n
            for name in mentioned:
                plan.mentions.setdefault(name, []).append(i)
            if candidate:
                plan.candidates.add(i)
            top = stmt.__class__ is gast.Assign and stmt.targets[0].__class__ is gast.Name
            if top:
                plan.defs[stmt.targets[0].id] = i   # the latest; used for single stores
                value = stmt.value
                if value.__class__ is gast.Name and "resolved" not in value.__dict__:
                    plan.copies.append(i)
                if _is_zero_start(stmt):
                    plan.zero_starts.add(stmt.targets[0].id)
            else:
                plan.elsewhere.update(stores)
        plan.stored = set(plan.stores)
        plan.local = plan.param_set | plan.stored
        plan.local_names = set(plan.loads) | plan.stored | plan.param_set
        return plan

    def specialize(self, args):
        """(callable, source), None when the shapes decide nothing, or _FALL_BACK."""
        body = self.fn.body
        known = {p: v for p, v in zip(self.params, argument_values(args))
                 if v is not None and p not in self.stored}
        exact = _Exact(self.namespace, known, self.local)
        value_of, elsewhere, candidates = exact.value, self.elsewhere, self.candidates
        changed = {}
        for i, stmt in enumerate(body):
            kind = stmt.__class__
            if kind is not gast.Assign and kind is not gast.Return:
                continue
            if i in candidates and exact.decides(stmt):
                changed[i] = stmt = exact.visit(clone(stmt))
            if kind is gast.Assign and stmt.targets[0].__class__ is gast.Name:
                target, value = stmt.targets[0].id, value_of(stmt.value)
                if value is not None and target not in elsewhere:
                    known[target] = value   # statements run in order: the latest value
                else:
                    known.pop(target, None)
            # blocks (if, for, while) keep their checks: names they assign are never known,
            # so what follows a block is still decided soundly
        if not changed:
            return None
        final = _Cleanup(self, changed).run()
        if final is None:
            return _FALL_BACK
        private = [stmt for stmt, index in final if index is None]
        if any(node.__class__ in _REPRINT_UNSAFE for stmt in private for node in walk(stmt)):
            return _FALL_BACK
        namespace = dict(self.namespace)   # printing may bind a global: not in the rank code's
        texts = iter(statement_sources(private, namespace, self.local_names))
        chunks = self.chunks
        source = self.header + "".join(
            next(texts) if index is None else chunks[index] for _, index in final)
        return compile_source(source, namespace, self.fn.name, self.fn.name)


# printed differently inside a function than alone (blank lines, docstrings, multi-line strings)
_REPRINT_UNSAFE = (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef, gast.JoinedStr)


def _chunks(fn, source):
    """(the ``def`` line, the source text of each top-level statement) of rank code printed
    from ``fn``, or None when the lines cannot be matched to the statements."""
    lines = source.splitlines(True)
    try:
        printed = ast.parse(source).body[0].body
    except SyntaxError:
        return None
    if not lines or not lines[0].startswith("def ") or len(lines) < 2:
        return None
    chunks, pos, k = [], 1, 0
    for stmt in fn.body:
        if _is_comment(stmt):
            text = stmt.text if isinstance(stmt, Comment) else stmt.value.args[0].value
            if pos >= len(lines) or lines[pos] != f"    # {text}\n":
                return None
            chunks.append(lines[pos])
            pos += 1
            continue
        if k >= len(printed) or printed[k].lineno - 1 != pos:
            return None
        end = printed[k].end_lineno
        chunks.append("".join(lines[pos:end]))
        pos, k = end, k + 1
    if pos != len(lines) or k != len(printed):
        return None
    return lines[0], chunks


class _Cleanup:
    """What ``optimize`` does to the rank code's tree after the rewrite changed a few of its
    statements, done on those statements and the ones they reach: one round of simplification,
    coalescing (``t = e; b = t`` -> ``b = e``), constant and copy propagation and dead-code
    elimination (the rank code is already at their fixed point, so nothing else changes). The
    rank tree is never changed: a statement to change is cloned first. ``run`` returns the
    final top-level statements as ``(statement, index in the rank body or None when it must be
    printed)``, or None when a case needs the whole ``optimize``."""

    def __init__(self, plan, changed):
        self.plan = plan
        self.body = list(plan.fn.body)
        self.private = {}       # index -> (loads, stores) of a statement this made
        self.loads, self.stores = dict(plan.loads), dict(plan.stores)
        self.touched = set()    # names whose loads or stores changed
        self.decreased = set()  # names read fewer times
        self.defs = {}          # name -> index, where a rename moved a definition
        self.simplify = _Simplify()
        self.changed = changed

    def counts_of(self, i):
        if i in self.private:
            return self.private[i]
        return self.plan.stmt_loads[i], self.plan.stmt_stores[i]

    def put(self, i, stmt):
        """Statement ``i`` becomes ``stmt`` (None: removed), counts kept current; returns the
        names it reads fewer times."""
        old_loads, old_stores = self.counts_of(i) if self.body[i] is not None else ({}, {})
        new_loads, new_stores = _count(stmt) if stmt is not None else ({}, {})
        self.body[i] = stmt
        self.private[i] = (new_loads, new_stores)
        fewer = []
        for old, new, totals in ((old_loads, new_loads, self.loads),
                                 (old_stores, new_stores, self.stores)):
            for name in old.keys() | new.keys():
                delta = new.get(name, 0) - old.get(name, 0)
                if delta:
                    totals[name] = totals.get(name, 0) + delta
                    self.touched.add(name)
                    if delta < 0 and totals is self.loads:
                        self.decreased.add(name)
                        fewer.append(name)
        return fewer

    def run(self):
        for i, stmt in self.changed.items():
            stmt = self.simplify.visit(stmt)
            if isinstance(stmt, list):
                return None
            self.put(i, stmt)
        if not self.coalesce() or not self.propagate():
            return None
        if self.plan.zero_starts & self.touched:
            return None
        if not self.eliminate_dead():
            return None
        return self.final()

    def coalesce(self):
        """``_coalesce`` at the top level, for the copies whose operands' counts changed (the
        others stayed as the rank code's optimize left them)."""
        plan, body = self.plan, self.body
        reads, counts = dict(self.loads), dict(self.stores)   # as they were before the pass
        copies = set(plan.copies)
        copies.update(i for i in self.private if body[i] is not None
                      and body[i].__class__ is gast.Assign
                      and body[i].targets[0].__class__ is gast.Name
                      and body[i].value.__class__ is gast.Name
                      and "resolved" not in body[i].value.__dict__)
        gone, merged = set(), []
        for i in sorted(copies):
            stmt = body[i]
            if stmt is None or i in gone:
                continue
            target, var = stmt.targets[0].id, stmt.value.id
            if not (i in self.private or target in self.touched or var in self.touched):
                continue
            if reads.get(var) != 1:
                continue
            k = plan.defs.get(var)
            if k is not None and k < i and body[k] is not None and k not in gone \
                    and counts.get(var) == 1 and not self.mentioned_between(target, k, i):
                renamed = clone(body[k])
                _rename_store(renamed, target)
                merged.append((k, renamed, i, target))
                gone.add(i)
                continue
            previous = next((body[j] for j in range(i - 1, -1, -1)
                             if body[j] is not None and j not in gone), None)
            if counts.get(target) == 1 and _both_branches_assign(previous, var):
                return False   # a value from both branches of an if: left to optimize
        for k, renamed, i, target in merged:
            self.put(i, None)
            self.put(k, renamed)
            self.defs[target] = k
        return True

    def mentioned_between(self, name, k, i):
        plan, body = self.plan, self.body
        for j in plan.mentions.get(name, ()):
            if k < j < i and body[j] is not None and j not in self.private:
                return True
        for j in self.private:
            if k < j < i and body[j] is not None and any(
                    isinstance(n, gast.Name) and n.id == name for n in walk(body[j])):
                return True
        return False

    def propagate(self):
        """``_propagate`` from the first changed statement: constants and copies the changes
        made flow into the statements that read them."""
        plan, body = self.plan, self.body
        counts, params = dict(self.stores), plan.param_set
        replace, pending = _Replace(), set()
        for j in range(min(self.private), len(body)):
            stmt = body[j]
            if stmt is None:
                continue
            if replace.mapping and (j in self.private or j in pending):
                copy = stmt if j in self.private else clone(stmt)
                replace.replaced = False
                copy = replace.visit(copy)
                if replace.replaced:
                    copy = self.simplify.visit(copy)
                    if isinstance(copy, list):
                        return False   # a folded `if`: left to optimize
                    self.put(j, copy)
                    stmt = copy
            if stmt.__class__ is gast.Assign and stmt.targets[0].__class__ is gast.Name:
                target, value = stmt.targets[0].id, stmt.value
                if counts.get(target) == 1 and target not in params:
                    copy_of = value.__class__ is gast.Name and "resolved" not in value.__dict__ \
                        and counts.get(value.id, 0) <= 1 \
                        and not (value.id in params and counts.get(value.id))
                    if _numeric_const(value) or copy_of:
                        replace.mapping[target] = value
                        pending.update(plan.readers.get(target, ()))
                        self.put(j, None)
        return True

    def eliminate_dead(self):
        """``_eliminate_dead`` for the names read fewer times: a name no longer read loses its
        single top-level assignment, and what that read is looked at in turn. A name stored
        in blocks or several times is live or dead per store: left to optimize."""
        plan, body = self.plan, self.body
        work = list(self.decreased)
        while work:
            name = work.pop()
            if name in plan.param_set or self.stores.get(name, 0) == 0:
                continue   # an argument, or a name propagated or coalesced away
            if self.stores[name] != 1 or name in plan.elsewhere:
                return False
            if self.loads.get(name, 0) > 0:
                continue   # still read after its one assignment
            k = self.defs.get(name, plan.defs.get(name))
            stmt = body[k] if k is not None else None
            if stmt is None or stmt.__class__ is not gast.Assign \
                    or stmt.targets[0].__class__ is not gast.Name \
                    or stmt.targets[0].id != name:
                return False
            if not _pops(stmt):
                work.extend(self.put(k, None))
        return True

    def final(self):
        kept = [(stmt, None if i in self.private else i)
                for i, stmt in enumerate(self.body) if stmt is not None]
        out = []
        for n, (stmt, index) in enumerate(kept):
            if _is_comment(stmt):
                following = kept[n + 1][0] if n + 1 < len(kept) else None
                if following is None or _is_comment(following) \
                        or isinstance(following, gast.Return):
                    continue
            elif index is None and any(isinstance(getattr(stmt, f, None), list)
                                       for f in ("body", "orelse")):
                _drop_orphan_comments([stmt])
            out.append((stmt, index))
        return out
