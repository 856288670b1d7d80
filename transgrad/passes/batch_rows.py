"""A backward half for all the rows of a Jacobian at once (``tg.jacrev`` on numpy).

``tg.jacrev`` pulls back one unit cotangent per output element. Each backward sweep does the
same operations on arrays of the same shapes, so the sweeps can be one: every cotangent gets
a leading axis of rows (``B``), and the backward half runs once on seeds ``(B,) + out``.
This pass rewrites a backward half (and the backward halves it calls) for that::

    bw = (g * t2).sum(axis=0)                 bw = (g * t2).sum(axis=(1,))
    bcam = np.zeros_like(cam)           ->    bcam = np.zeros((tgr_B,) + np.shape(cam))
    bcam[F_IDX] += bt11                       bcam[:, F_IDX] += bt11
    bt9 = tgr.unbroadcast_to(v, t9)           bt9 = tgr.unbroadcast_rows(v, t9)
    b = p_vjp_shapes.bwd(tape1, bt1)          b = tgr_rows_1(tape1, bt1, tgr_B)

The ranks come from one traced run of the half itself on a zero seed (``shapes_of``); shapes
are read at run time, since a later call may differ in them where the arrays passed do not
(an int argument, a mask). A name is *rowed* when its value depends on the seed; arithmetic
between a rowed value and a value of higher rank gives the rowed one axes after its rows
(``a[:, None]``); a reduction's axes move by one; an index gets ``:`` first; helpers that
assume one cotangent get their row versions (``batch_rows_calls.py``). Anything else (a
form this pass does not know, a name whose rank changed during the trace, a rowed branch
test, a recursive half) makes ``rows_function`` return None, and ``tg.jacrev`` pulls back
row by row as before. The caller also checks the first result against the row-by-row one.
"""

import sys

import gast
import numpy as np

from ..codegen import compile_function
from ..ir import Comment, clone, walk
from .batch_rows_calls import (
    _REDUCTIONS,
    RowCalls,
    Unbatchable,
    _attr_call,
    _const,
    _expanded,
    _matmul_rank,
    _name,
    _np,
    _rows_shape_of,
    _text,
    _tuple,
)


def rows_function(bwd, tape, seed):
    """``f(tape, G, B)`` running ``bwd(tape, g)`` for the B seeds ``G`` (shape
    ``(B,) + seed.shape``) at once, each result with a leading axis of B; None where this
    pass cannot make one. ``tape`` and ``seed`` (a zero float64 array) are run once, traced,
    for the shapes."""
    if type(seed) is not np.ndarray:
        return None
    try:
        shapes = shapes_of(bwd, tape, seed)
        return _Rows(shapes).function(bwd)
    except Unbatchable:
        return None
    except Exception:
        if STRICT:
            raise
        return None


STRICT = False   # tests set it: an error of this pass (not a refusal) is raised


def shapes_of(bwd, tape, seed):
    """{code object: {name: descriptor}} of the generated functions a run of
    ``bwd(tape, seed)`` enters: each local's value described by ``_describe``; a name seen
    with two different descriptors is ``"varies"`` (a Python float 0.0, an adjoint's start,
    gives way to the array it becomes)."""
    seen = {}

    def local(frame, event, arg):
        if event in ("line", "return"):
            names = seen.setdefault(frame.f_code, {})
            for name, value in frame.f_locals.items():
                if value is None or (type(value) is list and not value):
                    continue   # a placeholder before the value a pop restores; a list's start
                described = _describe(value)
                old = names.get(name)
                if old is None or old == ("zero",):
                    names[name] = described
                elif old != described and described != ("zero",):
                    names[name] = _joined(old, described)
        return local

    def call(frame, event, arg):
        if frame.f_code.co_filename.startswith("<transgrad-"):
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(call)
    try:
        bwd(tape, seed.copy())
    finally:
        sys.settrace(previous)
    return seen


def _joined(old, new):
    """Two descriptors of one name: arrays of one rank keep it (``("rank", r)``, a list's
    stacked cotangent that loses a row per step), else ``"varies"``."""
    if old != "varies" and old[0] in ("array", "rank") and new[0] == "array":
        rank = len(old[1]) if old[0] == "array" else old[1]
        if rank == len(new[1]):
            return ("rank", rank)
    return "varies"


def _describe(value):
    if type(value) is int or isinstance(value, np.integer):
        return ("int",)
    if type(value) is np.ndarray:
        return ("array", value.shape)
    if type(value) is float and value == 0.0:
        return ("zero",)
    if isinstance(value, (float, np.floating)):
        return ("array", ())
    if type(value) is list and value and all(type(v) is np.ndarray for v in value) \
            and len({v.shape for v in value}) == 1:   # what np.stack and its cotangent make
        return ("array", (len(value),) + value[0].shape)
    if type(value) is tuple and value and all(
            type(v) is np.ndarray or isinstance(v, (float, np.floating)) or v is None
            for v in value):
        return ("tuple", tuple(None if v is None else np.shape(v) for v in value))
    return ("other",)


class _Rows:
    """Makes the row version of backward halves, sharing made callees."""

    def __init__(self, shapes):
        self.shapes = shapes
        self.made = {}
        self.making = set()

    def function(self, fn):
        if fn in self.made:
            return self.made[fn]
        if fn in self.making:   # a recursive function: its halves call themselves
            raise Unbatchable(f"{fn.__name__} calls itself")
        self.making.add(fn)
        tree = fn.__dict__.get("made_tree") or fn.__dict__.get("exact_tree")
        names = self.shapes.get(fn.__code__)
        if tree is None or names is None:
            raise Unbatchable(f"no tree or trace for {fn.__name__}")
        namespace = dict(fn.__globals__)
        new = _Function(self, clone(tree), names, namespace).rewrite()
        made, _ = compile_function(new, namespace, f"{new.name} rows")
        self.made[fn] = made
        return made


class _Function(RowCalls):
    """The row version of one backward half: ``rewrite`` returns its FunctionDef."""

    def __init__(self, rows, tree, names, namespace):
        self.rows, self.tree, self.names, self.namespace = rows, tree, names, namespace
        self.rowed = set()
        self.assigned = {}   # rowed name -> the rank of what the rewrite assigned it

    def rewrite(self):
        tree = self.tree
        params = [a.id for a in tree.args.args]
        if len(params) != 2 or tree.args.vararg or tree.args.kwonlyargs or tree.args.kwarg:
            raise Unbatchable("not a backward half (tape, g)")
        self.rowed = {params[1]}
        self._find_rowed()
        tree.body = self._block(tree.body)
        tree.args.args.append(_name("tgr_B", gast.Param()))
        tree.name = f"{tree.name}_rows"
        return tree

    # -- which names depend on the seed --------------------------------------------------------
    def _find_rowed(self):
        assigns = [n for n in walk(self.tree) if n.__class__ in (gast.Assign, gast.AugAssign)]
        changed = True
        while changed:
            changed = False
            for node in assigns:
                targets = node.targets if node.__class__ is gast.Assign else [node.target]
                if not self._reads_rowed(node.value):
                    continue
                for target in targets:
                    while target.__class__ is gast.Subscript:   # x[i] = v: x holds rows
                        target = target.value
                    for name in walk(target):
                        if name.__class__ is gast.Name and name.id not in self.rowed \
                                and (name.ctx.__class__ is gast.Store or name is target):
                            self.rowed.add(name.id)
                            changed = True

    def _reads_rowed(self, node):
        return any(n.__class__ is gast.Name and n.id in self.rowed for n in walk(node))

    def _rank_of(self, name):
        described = self.names.get(name)
        if described is not None and described != "varies" and described[0] == "rank":
            return described[1]
        if described is None and name in self.assigned:   # an arm the traced run skipped
            return self.assigned[name]
        return len(self._shape(name))

    def _shape(self, name):
        described = self.names.get(name)
        if described is None or described == "varies" \
                or described[0] not in ("array", "zero", "int"):
            raise Unbatchable(f"the shape of {name} is not known")
        return described[1] if described[0] == "array" else ()

    # -- statements ------------------------------------------------------------------------------
    def _block(self, body):
        out = []
        for stmt in body:
            out.extend(self._statement(stmt))
        return out

    def _statement(self, stmt):
        kind = stmt.__class__
        if kind is Comment or kind is gast.Pass:
            return [stmt]
        if kind is gast.Return:
            return [gast.Return(value=self._returned(stmt.value))]
        if kind is gast.If:
            stmt.test = self._test(stmt.test)
            stmt.body = self._block(stmt.body) or [gast.Pass()]
            stmt.orelse = self._block(stmt.orelse)
            return [stmt]
        if kind is gast.For:
            if self._reads_rowed(stmt.iter) or stmt.orelse:
                raise Unbatchable("a loop over a rowed value")
            stmt.body = self._block(stmt.body) or [gast.Pass()]
            return [stmt]
        if kind is gast.Assign:
            return [self._assign(stmt)]
        if kind is gast.AugAssign:
            return [self._augassign(stmt)]
        if kind is gast.Expr and not self._reads_rowed(stmt.value):
            return [stmt]
        raise Unbatchable(f"a {kind.__name__} statement")

    def _test(self, node):
        """A branch's test: ``tgr.unreached(b)`` asks whether ``b`` is still the float 0.0
        it starts at, which rows keep as they are; ``np.ndim`` of a rowed value is its
        rank; any other test of a rowed value is refused."""
        if not self._reads_rowed(node):
            return node
        if node.__class__ is gast.UnaryOp and node.op.__class__ is gast.Not:
            return gast.UnaryOp(op=node.op, operand=self._test(node.operand))
        if node.__class__ is gast.BoolOp:
            return gast.BoolOp(op=node.op, values=[self._test(v) for v in node.values])
        if node.__class__ is gast.Compare:
            return gast.Compare(left=self._test(node.left), ops=node.ops,
                                comparators=[self._test(c) for c in node.comparators])
        if node.__class__ is gast.Call and node.func.__class__ is gast.Attribute \
                and len(node.args) == 1 and node.args[0].__class__ is gast.Name:
            if node.func.attr == "unreached":
                return node
            if node.func.attr == "ndim":
                return _const(self._rank_of(node.args[0].id))
        raise Unbatchable("a branch on a rowed value")

    def _assign(self, stmt):
        if len(stmt.targets) != 1:
            raise Unbatchable("several targets")
        target = stmt.targets[0]
        if target.__class__ is gast.Name:
            if target.id not in self.rowed:
                return stmt
            if not self._reads_rowed(stmt.value):   # a start, before it depends on the seed
                stmt.value = self._start(target.id, stmt.value)
                return stmt
            stmt.value, rank = self._expr(stmt.value)
            if rank >= 0:
                self.assigned.setdefault(target.id, rank)
                if self.assigned[target.id] != rank:
                    raise Unbatchable(f"{target.id} takes values of two ranks")
            return stmt
        if target.__class__ is gast.Tuple:
            if not self._reads_rowed(stmt.value):
                if any(n.__class__ is gast.Name and n.id in self.rowed for n in walk(target)):
                    raise Unbatchable("a rowed name unpacked from an unrowed value")
                return stmt
            stmt.value, _ = self._expr(stmt.value)
            return stmt
        if target.__class__ is gast.Subscript:
            return self._store(stmt, target, stmt.value, None)
        raise Unbatchable("an assignment target")

    def _augassign(self, stmt):
        target = stmt.target
        if target.__class__ is gast.Name:
            if target.id not in self.rowed:
                return stmt
            rank = self._rank_of(target.id)
            value, value_rank = self._expr(stmt.value)
            if value_rank > rank:
                raise Unbatchable("an update of higher rank")
            stmt.value = value if value_rank < 0 else _expanded(value, rank - value_rank)
            return stmt
        if target.__class__ is gast.Subscript:
            return self._store(stmt, target, stmt.value, stmt.op)
        raise Unbatchable("an update target")

    def _store(self, stmt, target, value, op):
        base = target.value
        if base.__class__ is not gast.Name:
            raise Unbatchable("a store into an expression")
        if base.id not in self.rowed:
            if self._reads_rowed(value):
                raise Unbatchable(f"a rowed value stored into {base.id}")
            return stmt
        part = self._part_rank(base.id, target.slice)
        index = self._row_index(target.slice)
        new_value, value_rank = self._expr(value)
        if value_rank >= 0:
            if value_rank > part:
                raise Unbatchable("a store of higher rank")
            new_value = _expanded(new_value, part - value_rank)
        new_target = gast.Subscript(value=base, slice=index, ctx=gast.Store())
        if op is None:
            return gast.Assign(targets=[new_target], value=new_value, type_comment=None)
        return gast.AugAssign(target=new_target, op=op, value=new_value)

    def _start(self, name, value):
        """An unrowed value assigned to a rowed name: a Python number stays (it broadcasts),
        an array of zeros gets its rows."""
        if value.__class__ is gast.Constant and isinstance(value.value, (int, float)) \
                and value.value == 0:
            return value
        if value.__class__ is gast.Call and value.func.__class__ is gast.Attribute \
                and value.func.attr in ("zeros_like", "zeros_like_value", "zeros"):
            like = value.args[0] if value.func.attr in ("zeros_like", "zeros_like_value") \
                and len(value.args) == 1 else value
            return _np("zeros", [_rows_shape_of(like)])
        raise Unbatchable(f"{name} starts at a value that is not zero")

    def _returned(self, value):
        parts = value.elts if value.__class__ is gast.Tuple else [value]
        out = []
        for part in parts:
            if part.__class__ is gast.Constant and part.value is None:
                out.append(part)
                continue
            if self._reads_rowed(part):
                new, _ = self._expr(part)
                if part.__class__ is gast.Name:   # 0.0 where the seed did not reach it
                    new = _attr_call(_name("tgr"), "as_rows", [
                        new, _name("tgr_B"), _const(self._rank_of(part.id))])
                out.append(new)
            else:   # independent of the seed: the zero cotangent, for every row
                out.append(_np("zeros", [gast.BinOp(
                    left=_tuple([_name("tgr_B")]), op=gast.Add(),
                    right=_np("shape", [part]))]))
        return _tuple(out) if value.__class__ is gast.Tuple else out[0]

    # -- expressions: (the rowed expression, its logical rank), rank -1 for unrowed ---------
    def _expr(self, node):
        if not self._reads_rowed(node):
            return node, -1
        kind = node.__class__
        if kind is gast.Name:
            described = self.names.get(node.id)
            if described is not None and described != "varies" and described[0] == "tuple":
                return node, -2   # a tuple of rowed values: read by item
            return node, self._rank_of(node.id)
        if kind is gast.BinOp and node.op.__class__ is gast.MatMult:
            return self._matmul(node)
        if kind is gast.Attribute and node.attr == "T":
            value, rank = self._expr(node.value)
            if rank < 0 or rank > 2:
                raise Unbatchable(".T")
            return (_np("swapaxes", [value, _const(1), _const(2)]) if rank == 2 else value), rank
        if kind is gast.BinOp:
            left, lr = self._expr(node.left)
            right, rr = self._expr(node.right)
            lr_u = self._rank(node.left) if lr == -1 else lr
            rr_u = self._rank(node.right) if rr == -1 else rr
            rank = max(lr_u, rr_u)
            if lr >= 0:
                left = _expanded(left, rank - lr)
            if rr >= 0:
                right = _expanded(right, rank - rr)
            return gast.BinOp(left=left, op=node.op, right=right), rank
        if kind is gast.UnaryOp:
            operand, rank = self._expr(node.operand)
            return gast.UnaryOp(op=node.op, operand=operand), rank
        if kind is gast.Subscript:
            return self._subscript(node)
        if kind is gast.Call:
            return self._call(node)
        if kind is gast.Tuple:
            raise Unbatchable("a tuple of rowed values outside a return")
        raise Unbatchable(f"a {kind.__name__} expression")

    def _rank(self, node):
        """The rank of an unrowed expression this pass can tell: a name's, a constant's,
        arithmetic's, a ufunc's, a basic index's."""
        if node.__class__ is gast.Constant:
            return 0
        if node.__class__ is gast.Name:
            if node.id not in self.names and type(self.namespace.get(node.id)) in (int, float):
                return 0
            return self._rank_of(node.id)
        if node.__class__ is gast.Subscript and node.value.__class__ is gast.Name:
            return self._part_rank(node.value.id, node.slice)
        if node.__class__ is gast.Call and node.func.__class__ is gast.Attribute \
                and node.func.value.__class__ is gast.Name \
                and self.namespace.get(node.func.value.id) is np \
                and type(getattr(np, node.func.attr, None)) is np.ufunc and not node.keywords:
            return max(self._rank(a) for a in node.args)
        if node.__class__ is gast.UnaryOp:
            return self._rank(node.operand)
        if node.__class__ is gast.BinOp and node.op.__class__ is gast.MatMult:
            return _matmul_rank(self._rank(node.left), self._rank(node.right))
        if node.__class__ is gast.BinOp:
            return max(self._rank(node.left), self._rank(node.right))
        if node.__class__ is gast.Attribute and node.attr == "T":
            return self._rank(node.value)
        if node.__class__ is gast.Compare:
            return max(self._rank(n) for n in [node.left] + node.comparators)
        if node.__class__ is gast.Call:
            return self._call_rank(node)
        raise Unbatchable(f"the rank of {_text(node)}")

    def _call_rank(self, node):
        """The rank of an unrowed call: numbers (``np.size``, ``max`` and ``min`` of them),
        ``np.where``, and reductions with a constant axis."""
        func = node.func
        if func.__class__ is gast.Name and func.id in ("max", "min", "abs", "float", "int") \
                and self.namespace.get(func.id) is None and not node.keywords:
            ranks = [self._rank(a) for a in node.args]
            if all(r == 0 for r in ranks):
                return 0
        if func.__class__ is gast.Attribute and func.value.__class__ is gast.Name \
                and self.namespace.get(func.value.id) is np:
            if func.attr in ("size", "ndim"):
                return 0
            if func.attr == "where" and len(node.args) == 3 and not node.keywords:
                return max(self._rank(a) for a in node.args)
            if func.attr in _REDUCTIONS and len(node.args) == 1:
                keywords = {k.arg: k.value for k in node.keywords}
                if set(keywords) <= {"axis", "keepdims"}:
                    rank = self._rank(node.args[0])
                    return self._axes(keywords.get("axis"), rank, keywords.get("keepdims"))[1]
        if func.__class__ is gast.Attribute and func.attr in _REDUCTIONS and not node.args:
            keywords = {k.arg: k.value for k in node.keywords}   # x.sum(axis=0), exact code's
            if set(keywords) <= {"axis", "keepdims"}:
                rank = self._rank(func.value)
                return self._axes(keywords.get("axis"), rank, keywords.get("keepdims"))[1]
        raise Unbatchable(f"the rank of {_text(node)}")

    def _matmul(self, node):
        """``a @ b`` with rows: numpy's broadcasting gives it but for a rowed vector on the
        right of a matrix (``m @ x`` is ``x @ m.T``) and two rowed vectors (a sum)."""
        left, lr = self._expr(node.left)
        right, rr = self._expr(node.right)
        lr_u = self._rank(node.left) if lr == -1 else lr
        rr_u = self._rank(node.right) if rr == -1 else rr
        if lr_u > 2 and rr < 0 or rr_u > 2 and lr < 0 or lr == -2 or rr == -2:
            raise Unbatchable("a matrix product of higher rank")
        rank = _matmul_rank(lr_u, rr_u)
        if lr >= 0 and rr >= 0:
            if lr == 1 and rr == 1:
                return _attr_call(gast.BinOp(left=left, op=gast.Mult(), right=right), "sum",
                                  [], [gast.keyword(arg="axis", value=_const(-1))]), 0
            if lr == 1 or rr == 1:
                raise Unbatchable("a rowed vector times a rowed matrix")
            return gast.BinOp(left=left, op=gast.MatMult(), right=right), rank
        if rr == 1 and lr_u == 2:   # m @ x: x @ m.T
            return gast.BinOp(left=right, op=gast.MatMult(),
                              right=gast.Attribute(value=left, attr="T", ctx=gast.Load())), 1
        return gast.BinOp(left=left, op=gast.MatMult(), right=right), rank

    def _subscript(self, node):
        base, rank = self._expr(node.value)
        if rank == -2:   # an item of a tuple of rowed values
            if node.slice.__class__ is not gast.Constant or type(node.slice.value) is not int:
                raise Unbatchable("a tuple read by a non-constant")
            described = self.names.get(node.value.id)
            shape = described[1][node.slice.value]
            if shape is None:
                raise Unbatchable("a None item")
            return node, len(shape)
        if node.value.__class__ is not gast.Name:
            raise Unbatchable("an index of an expression")
        part = self._part_rank(node.value.id, node.slice)
        return gast.Subscript(value=base, slice=self._row_index(node.slice),
                              ctx=gast.Load()), part

    def _part_rank(self, name, index):
        """The rank of ``name[index]`` for a basic index (ints, slices)."""
        return self._index_rank(self._rank_of(name), index)

    def _index_rank(self, rank, index):
        """The rank of ``x[index]`` for ``x`` of ``rank`` and a basic index (ints, slices,
        ``slice(...)`` calls, a tuple of them)."""
        parts = index.elts if index.__class__ is gast.Tuple else [index]
        for part in parts:
            if part.__class__ is gast.Slice or part.__class__ is gast.Call \
                    and part.func.__class__ is gast.Name and part.func.id == "slice":
                continue
            if self._int(part):
                rank -= 1
                continue
            raise Unbatchable("an index that is not an int or a slice")
        if rank < 0:
            raise Unbatchable("too many indices")
        return rank

    def _int(self, node):
        if node.__class__ is gast.Constant:
            return type(node.value) is int
        if node.__class__ is gast.Name:
            return self.names.get(node.id) == ("int",) and node.id not in self.rowed \
                or type(self.namespace.get(node.id)) is int   # a module's int constant
        if node.__class__ is gast.BinOp:
            return self._int(node.left) and self._int(node.right)
        return False

    def _row_index(self, index):
        parts = index.elts if index.__class__ is gast.Tuple else [index]
        return _tuple([gast.Slice(lower=None, upper=None, step=None)] + list(parts))

    def _call(self, node):
        func = node.func
        if func.__class__ is gast.Attribute and func.value.__class__ is not gast.Name:
            return self._method(node)
        if func.__class__ is gast.Attribute and func.attr == "bwd" \
                and not node.keywords and len(node.args) == 2 \
                and not self._reads_rowed(node.args[0]):
            return self._callee(node)
        if func.__class__ is not gast.Attribute or func.value.__class__ is not gast.Name:
            raise Unbatchable("a call of a name")
        module = self.namespace.get(func.value.id)
        if module is np:
            return self._numpy(node, func.attr)
        if getattr(module, "__name__", None) == "transgrad.runtime":
            return self._helper(node, func.attr)
        if func.attr in _REDUCTIONS:
            return self._method(node)
        raise Unbatchable(f"a call of {func.value.id}.{func.attr}")

    def _callee(self, node):
        holder = node.func.value
        pair = getattr(holder, "resolved", None) or self.namespace.get(holder.id)
        half = getattr(pair, "bwd", None)
        if half is None or not hasattr(half, "__code__"):
            raise Unbatchable("a called half not found")
        made = self.rows.function(half)
        label = f"tgr_rows_{len(self.namespace)}"
        self.namespace[label] = made
        g, rank = self._expr(node.args[1])
        if rank < 0:
            raise Unbatchable("a tuple cotangent passed on")
        return gast.Call(func=_name(label), args=[node.args[0], g, _name("tgr_B")],
                         keywords=[]), -2
