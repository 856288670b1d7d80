"""What is certain about a value of generated code called with arguments of exact shapes: the
facts the call-time rewrite (``exact.py``) reasons with, and how expressions transform them.

A ``Value`` says what is certain (a shape, a dtype, whether it is exactly an ``np.ndarray``,
whether this code made it); ``None`` says nothing is. Where control flow meets (after a
branch, at a loop's head), ``join`` keeps what both sides agree on, so a value whose shape
differs between the arms of a branch or between loop iterations is unknown there and keeps
its run-time checks.
"""

import builtins
import math
import operator

import gast
import numpy as np

from .. import runtime

F64, BOOL = np.dtype(np.float64), np.dtype(bool)
ARANGE = np.arange(1).dtype   # the dtype of np.arange of Python ints


class _Kind:
    """A kind of value that is not an array dtype (compared by identity: a numpy dtype
    equals the string of its name)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


INT, FLOAT = _Kind("int"), _Kind("float")   # Python numbers: take the dtype of arrays they meet
RANGE = _Kind("range")                     # a range or a reversed range: its items are ints
_NONE = _Kind("none")                      # the constant None (a loop's first push saves it)
TUPLE = _Kind("tuple")   # a tuple: ``items`` holds its items' Values (or None)
STACK = _Kind("stack")   # a generated stack a forward half returns in its tape (``Stack``)
LIST = _Kind("list")     # a list whose items are all alike (``ListOf``)


def tape_kind(name):
    """The kind of the tuples one specialized function returns as its tape (so the backward
    half specialized for it is the one that reads them)."""
    return _Kind(name)


def tuple_value(items, kind=TUPLE):
    return Value(None, kind, False, False, tuple(items))


_STAND_INS = {F64: np.full(1, 0.5), BOOL: np.full(1, True), ARANGE: np.arange(1, 2),
              FLOAT: 0.5, INT: 1}


class Value:
    """What is certain about a value: its shape, dtype (F64, BOOL, INT or FLOAT for a Python
    number, None: another or unknown), whether it is exactly an ``np.ndarray`` and whether it
    may be returned as a gradient as it is (an array this code made, so writeable and shared
    with no one)."""

    __slots__ = ("array", "dtype", "items", "own", "shape")

    def __init__(self, shape, dtype, array, own, items=None):
        self.shape, self.dtype, self.array, self.own = shape, dtype, array, own
        self.items = items   # a tuple's: its items' Values (or None); its shape is None

    def __eq__(self, other):
        return self is other or (other.__class__ is Value and self.shape == other.shape
                                 and self.dtype is other.dtype and self.array == other.array
                                 and self.own == other.own and self.items == other.items)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.array, self.own, self.items))

    def __repr__(self):
        items = "" if self.items is None else f", items={self.items}"
        return f"Value({self.shape}, {self.dtype}, array={self.array}, own={self.own}{items})"


class Count(Value):
    """A Python int that the exact shapes fix: a dimension (``np.shape(x)[0]``, ``len(x)``),
    so ``np.zeros(n)`` of it has a known shape. Equal only to the same count: a join with
    any other int is a plain int."""

    __slots__ = ("number",)

    def __init__(self, number):
        super().__init__((), INT, False, False)
        self.number = number

    def __eq__(self, other):
        return other.__class__ is Count and other.number == self.number

    def __hash__(self):
        return hash(("count", self.number))


class Truth(Value):
    """A Python bool that the exact shapes fix: a test of ranks or dimensions bound to a name
    (``t13 = t14 == 2``, then ``if t13:``), so a branch on it is decided like one written
    inline. Equal only to the same truth."""

    __slots__ = ("truth",)

    def __init__(self, truth):
        super().__init__((), BOOL, False, False)
        self.truth = truth

    def __eq__(self, other):
        return other.__class__ is Truth and other.truth is self.truth

    def __hash__(self):
        return hash(("truth", self.truth))


class _Structure(Value):
    """A Value that is not an array: equal to another of its class with the same ``key``."""

    __slots__ = ()

    def __eq__(self, other):
        return other.__class__ is self.__class__ and other.key() == self.key()

    def __hash__(self):
        return hash((self.__class__.__name__, self.key()))

    def __repr__(self):
        return f"{self.__class__.__name__}({self.key()})"


class Stack(_Structure):
    """The generated stack a forward half returns in its tape, for the backward half that
    pops it: ``pushes`` maps each name pushed to the join of what its pushes saved (the
    generated code pops into the name it pushed). Nothing popped is owned: the tape may
    hold it twice."""

    __slots__ = ("pushes",)

    def __init__(self, pushes):
        super().__init__(None, STACK, False, False)
        self.pushes = tuple(sorted((name, disowned(v)) for name, v in pushes.items()
                                   if v is not None))   # pushes are listless already

    def key(self):
        return self.pushes

    def popped(self, name):
        return dict(self.pushes).get(name)


class ListOf(_Structure):
    """A list whose items are all arrays alike (``element``; None: none yet), made by a
    list display and ``tgr.append`` (a loop's ``states = tgr.append(states, s)``), or a
    list's cotangent (a stacked array or a ``ListCotangent``). Forgotten wherever a list may
    change in place (``exact_containers.guard``)."""

    __slots__ = ("element",)

    def __init__(self, element):
        super().__init__(None, LIST, False, False)
        self.element = disowned(element)

    def key(self):
        return self.element


def list_of(values):
    """The ``ListOf`` of a list holding ``values``, or None when they are not arrays alike."""
    element = None
    for value in values:
        if value is None or not value.array or value.items is not None:
            return None
        element = value if element is None else join(element, value)
        if element is None:
            return None
    return ListOf(element)


def listless(value):
    """``value`` with what is known of the lists in it forgotten: what a stack or a tape
    keeps for later, by when another name may have changed those lists."""
    if value.__class__ is ListOf:
        return None
    if value is None or value.items is None:
        return value
    return tuple_value(map(listless, value.items), value.dtype)


def disowned(value):
    """``value`` as one that someone else may read too."""
    if value is None or not (value.own or value.items):
        return value
    if value.items is not None:
        return tuple_value(map(disowned, value.items), value.dtype)
    return Value(value.shape, value.dtype, value.array, False)


def python_int(value):
    """Whether ``value`` is a Python int (a count or any other)."""
    return value is not None and value.dtype is INT and value.shape == () and not value.array


def _dimensions(value):
    """``np.shape(x)`` / ``x.shape`` of a known array: a tuple of counts."""
    if value is None or not value.array or value.shape is None:
        return None
    return tuple_value(Count(d) for d in value.shape)


NONE = Value(None, _NONE, False, False)
RANGE_VALUE = Value(None, RANGE, False, False)
PY_INT, PY_FLOAT = Value((), INT, False, False), Value((), FLOAT, False, False)


def join(a, b):
    """What is certain of a value that is ``a`` on one path and ``b`` on another. The None
    placeholder is dropped: generated code binds it before a loop only so that the loop's
    first push has something to save, and never reads it as a value."""
    if a is b or a == b:
        return a
    if a is None or b is None:
        return None
    if a is NONE:
        return b
    if b is NONE:
        return a
    if a.__class__ is ListOf or b.__class__ is ListOf:   # item by item
        if a.__class__ is not b.__class__:
            return None
        if a.element is None or b.element is None:   # an empty list and another
            return b if a.element is None else a
        element = join(a.element, b.element)
        return ListOf(element) if element is not None else None
    if a.__class__ is Stack or b.__class__ is Stack:   # name by name: the pops agree
        if a.__class__ is not b.__class__:
            return None
        theirs = dict(b.pushes)
        return Stack({n: join(v, theirs[n]) for n, v in a.pushes if n in theirs})
    if a.items is not None:   # tuples: item by item, of one kind
        if a.dtype is not b.dtype or b.items is None or len(a.items) != len(b.items):
            return None
        return tuple_value(map(join, a.items, b.items), a.dtype)
    if a.shape is None or a.shape != b.shape:
        return None
    dtype = a.dtype if a.dtype is b.dtype else None
    if dtype is None and a.shape == () and {a.dtype, b.dtype} == {F64, FLOAT}:
        dtype = F64   # a float or a float64 scalar (0.0, then the sum of an array)
    return Value(a.shape, dtype, a.array and b.array, a.own and b.own)


def join_env(first, *others):
    """The names every environment knows, joined."""
    out = {}
    for name, value in first.items():
        for other in others:
            if name not in other:
                value = None
                break
            value = join(value, other[name])
            if value is None:
                break
        if value is not None:
            out[name] = value
    return out


def _result(shape, dtype):
    """A fresh result of arithmetic: an array when it has dimensions, else a scalar."""
    return Value(shape, dtype, len(shape) > 0, len(shape) > 0)


_dtypes = {}


def _ufunc_dtype(ufunc, operands, operator):
    """The result dtype of ``ufunc`` on float64, bool and ``np.arange``'s int arrays and Python
    numbers (None for others, an int array's among them), found once by applying it to
    one-element stand-ins. Operators between Python numbers give Python numbers."""
    kinds = tuple(v.dtype for v in operands)
    if any(k not in _STAND_INS for k in kinds):
        return None
    if operator and all(k is INT or k is FLOAT for k in kinds):
        if any(k is FLOAT for k in kinds) or ufunc is np.true_divide:
            return FLOAT if ufunc is not np.power else None   # 2.0 ** 0.5 may be complex
        return INT if ufunc in (np.add, np.subtract, np.multiply, np.negative,
                                np.positive) else None
    key = (ufunc, kinds)
    if key not in _dtypes:
        try:
            with np.errstate(all="ignore"):
                dtype = np.asarray(ufunc(*[_STAND_INS[k] for k in kinds])).dtype
        except (TypeError, ValueError):
            dtype = None
        _dtypes[key] = F64 if dtype == F64 else BOOL if dtype == BOOL else None
    return _dtypes[key]


def elementwise(ufunc, operands, operator=False):
    """The value of ``ufunc`` applied to values (``operator``: spelled as a Python operator)."""
    if any(v is None or v.shape is None for v in operands):
        return None
    try:
        shape = np.broadcast_shapes(*(v.shape for v in operands))
    except ValueError:
        return None
    dtype = _ufunc_dtype(ufunc, operands, operator)
    if dtype is INT or dtype is FLOAT:
        return Value((), dtype, False, False)
    return _result(shape, dtype)


def matmul(a, b):
    if a is None or b is None or not (a.array and b.array) or a.dtype is not F64 \
            or b.dtype is not F64 or not (1 <= len(a.shape) <= 2 and 1 <= len(b.shape) <= 2):
        return None
    if a.shape[-1] != b.shape[0]:
        return None
    return _result(a.shape[:-1] + b.shape[1:], F64)


def _int_or_none(node):
    """A slice bound: None, an int constant or its negation; else UNKNOWN."""
    if node is None:
        return None
    if node.__class__ is gast.UnaryOp and node.op.__class__ is gast.USub:
        value = _int_or_none(node.operand)
        return -value if type(value) is int else UNKNOWN
    if node.__class__ is gast.Constant and (node.value is None or type(node.value) is int):
        return node.value
    return UNKNOWN


def _joined(func, parts, options):
    """``np.stack`` / ``np.concatenate`` of float64 arrays of known shapes along a constant
    axis (``options``: the keywords' static values): a fresh array."""
    axis = options.pop("axis", 0)
    if options or type(axis) is not int or not parts or any(
            p is None or not p.array or p.dtype is not F64 or p.shape is None for p in parts):
        return None
    first = parts[0].shape
    if func is np.stack:
        if any(p.shape != first for p in parts) or not -len(first) - 1 <= axis <= len(first):
            return None
        axis %= len(first) + 1
        return _result(first[:axis] + (len(parts),) + first[axis:], F64)
    if not first or not -len(first) <= axis < len(first):
        return None
    axis %= len(first)
    if any(len(p.shape) != len(first) or p.shape[:axis] != first[:axis]
           or p.shape[axis + 1:] != first[axis + 1:] for p in parts):
        return None
    return _result(first[:axis] + (sum(p.shape[axis] for p in parts),) + first[axis + 1:], F64)


def constant(node):
    """The Python value of a constant or a tuple of int constants, else None."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.Tuple) and all(isinstance(e, gast.Constant) for e in node.elts):
        return tuple(e.value for e in node.elts)
    return None


def summed(a, keywords, of_bools=None):
    """``np.sum(a, axis=..., keepdims=...)`` / ``a.sum(axis=...)`` with constant axes
    (``np.mean``, ``np.max``, ``np.min`` and ``np.prod`` of a float64 array have the same
    shape and dtype); ``of_bools``: the dtype it gives for a bool array (np.sum's int64)."""
    dtype = F64 if a is not None and a.dtype is F64 else \
        of_bools if a is not None and a.dtype is BOOL else None
    if dtype is None or not a.array or a.shape is None:
        return None
    options = {k.arg: constant(k.value) for k in keywords}
    keep = options.get("keepdims")
    if set(options) - {"axis", "keepdims"} or keep not in (None, False, True):
        return None
    axis = options.get("axis")
    ndim = len(a.shape)
    axes = tuple(range(ndim)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    if not all(type(x) is int and -ndim <= x < ndim for x in axes):
        return None
    axes = {x % ndim for x in axes}
    if keep:
        return _result(tuple(1 if i in axes else n for i, n in enumerate(a.shape)), dtype)
    if axis is None:
        return Value((), dtype, False, False)
    return _result(tuple(n for i, n in enumerate(a.shape) if i not in axes), dtype)


# runtime helpers whose values helper_value gives, also where the tree binds them by name
_BY_NAME = frozenset({"append", "copy_of", "sum_items_cotangent", "unpacked_cotangent",
                      "stored_part", "owned_copy", "unconcatenate"})


def _listed_sum(left, right):
    """``left + right`` where one is a ``ListOf`` (cotangents of lists): a number added to
    each item of a stacked array or to a ``ListCotangent`` (which takes 0) keeps its items'
    shape; two lists' cotangents keep theirs where their items agree. None otherwise."""
    if left.__class__ is ListOf and right.__class__ is ListOf:
        element = join(left.element, right.element)
        return ListOf(element) if element is not None else None
    listed, other = (left, right) if left.__class__ is ListOf else (right, left)
    if other is not None and not other.array and other.shape == () \
            and (other.dtype is FLOAT or other.dtype is INT):
        return listed
    return None


def _crossed(a, b):
    """``np.cross`` of two float64 3-vectors: a fresh 3-vector."""
    if a is None or b is None or not (a.array and b.array) or a.shape != (3,) \
            or b.shape != (3,) or a.dtype is not F64 or b.dtype is not F64:
        return None
    return _result((3,), F64)


def _items_summed(a, start):
    """Builtin ``sum(a, start)`` of a float64 array with items and a number ``start``: its
    rows (items) added, a fresh array (or a float64 scalar)."""
    if a is None or not a.array or a.dtype is not F64 or not a.shape or a.shape[0] == 0 \
            or start is None or start.array or start.shape != () \
            or not (start.dtype is INT or start.dtype is FLOAT or start.dtype is F64):
        return None
    return _result(a.shape[1:], F64)


def _reshaped(a, shape):
    """``np.reshape(a, shape)`` for a shape the known values fix: a view or a copy (never
    owned)."""
    if a is None or not a.array or a.shape is None:
        return None
    shape = (shape,) if type(shape) is int else shape
    if type(shape) is not tuple or not all(type(n) is int for n in shape):
        return None
    size, rest = math.prod(a.shape), math.prod(n for n in shape if n != -1)
    if shape.count(-1) > 1 or any(n < -1 for n in shape):
        return None
    if -1 in shape:   # the length that keeps the size
        if rest == 0 or size % rest:
            return None
        shape = tuple(size // rest if n == -1 else n for n in shape)
    return Value(shape, a.dtype, True, False) if math.prod(shape) == size else None


_REDUCING_METHODS = frozenset({"sum", "mean", "max", "min", "prod"})
# reductions of a float64 array whose result has sum's shape and dtype
_REDUCTIONS = (np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod)
_COUNT_OPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
              gast.FloorDiv: operator.floordiv}
_BINOPS = {gast.Add: np.add, gast.Sub: np.subtract, gast.Mult: np.multiply,
           gast.Div: np.true_divide, gast.Pow: np.power}
_COMPARE = {gast.Lt: np.less, gast.LtE: np.less_equal, gast.Gt: np.greater,
            gast.GtE: np.greater_equal, gast.Eq: np.equal, gast.NotEq: np.not_equal}
_UNARY = {gast.USub: np.negative, gast.UAdd: np.positive}
BINOPS = _BINOPS
_UNRESOLVED = object()
UNKNOWN = object()   # a static value the known values do not fix
_STATIC_COMPARE = {gast.Eq: operator.eq, gast.NotEq: operator.ne, gast.Lt: operator.lt,
                   gast.LtE: operator.le, gast.Gt: operator.gt, gast.GtE: operator.ge}


class Values:
    """The value of an expression given ``self.known`` (name -> Value) and the globals
    ``self.namespace`` (names in ``self.local`` are the function's own, never globals);
    ``self.helper_value(name, node)`` gives a runtime helper's."""

    def resolve(self, node):
        """The object an unassigned name or dotted name refers to, or None."""
        resolved = node.__dict__.get("resolved", _UNRESOLVED)
        if resolved is not _UNRESOLVED:   # a tree the build kept: resolve bound it
            return resolved
        if isinstance(node, gast.Name):
            if node.id in self.local:
                return None
            found = self.namespace.get(node.id, _UNRESOLVED)
            return getattr(builtins, node.id, None) if found is _UNRESOLVED else found
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            return getattr(base, node.attr, None) if base is not None else None
        return None

    def value(self, node):
        kind = type(node)
        if kind is gast.Name:
            value = self.known.get(node.id)
            if value is None and node.id not in self.local:   # a module's int constant
                constant_int = self.namespace.get(node.id)
                if type(constant_int) is int:   # rebound: the code is built again (Watched)
                    return Count(constant_int)
            return value
        if kind is gast.Constant:
            kind = type(node.value)
            return PY_FLOAT if kind is float else PY_INT if kind is int else \
                NONE if node.value is None else None
        if kind is gast.BinOp:
            counted = _COUNT_OPS.get(type(node.op))
            if counted is not None:   # 3 * hsize of a count: a count
                left, right = self.static(node.left), self.static(node.right)
                if type(left) is int and type(right) is int and not (
                        counted is operator.floordiv and right == 0):
                    return Count(counted(left, right))
            if isinstance(node.op, gast.MatMult):
                return matmul(self.value(node.left), self.value(node.right))
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, gast.Add) and (
                    left.__class__ is ListOf or right.__class__ is ListOf):
                return _listed_sum(left, right)
            ufunc = _BINOPS.get(type(node.op))
            return ufunc and elementwise(ufunc, [left, right], True)
        if kind is gast.Compare or kind is gast.BoolOp or kind is gast.UnaryOp:
            truth = self.static(node)   # a test the shapes decide: a bool, bound to a name
            if truth is True or truth is False:
                return Truth(truth)
        if kind is gast.Compare and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return elementwise(_COMPARE[type(node.ops[0])],
                               [self.value(node.left), self.value(node.comparators[0])], True)
        if kind is gast.UnaryOp and type(node.op) in _UNARY:
            return elementwise(_UNARY[type(node.op)], [self.value(node.operand)], True)
        if kind is gast.Attribute:
            base = self.value(node.value)
            if base is not None and base.array:
                if node.attr == "T":
                    return Value(base.shape[::-1], base.dtype, True, base.own)
                if node.attr == "size":
                    return PY_INT
                if node.attr == "shape":
                    return _dimensions(base)
            return None
        if kind is gast.Subscript:
            return self.subscript_value(node)
        if kind is gast.Tuple:
            return tuple_value(self.value(e) for e in node.elts)
        if kind is gast.List and not any(e.__class__ is gast.Starred for e in node.elts):
            return list_of([self.value(e) for e in node.elts])
        if kind is gast.Call:
            return self.call_value(node)
        return None

    def subscript_value(self, node):
        """``x[i]``, ``x[i, j]``, ``x[:, i]``, ``x[:, None]`` of an array, with Python ints
        ``i``: a view."""
        base = self.value(node.value)
        if base == RANGE_VALUE and node.slice.__class__ is not gast.Slice:
            return PY_INT if python_int(self.value(node.slice)) else None   # a range's item
        if base.__class__ is ListOf:   # an item, or a slice of them
            if node.slice.__class__ is gast.Slice:
                return base
            return base.element if python_int(self.value(node.slice)) else None
        if base is not None and base.items is not None:
            index = constant(node.slice)
            return base.items[index] if type(index) is int and \
                -len(base.items) <= index < len(base.items) else None
        if base is None or not base.array or not (base.dtype is F64 or base.dtype is BOOL):
            return None
        index = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        new_axes = [p for p in index if p.__class__ is gast.Constant and p.value is None]
        if len(index) - len(new_axes) > len(base.shape):
            return None
        shape, i = [], 0   # i: the base's axis the next part indexes
        for part in index:
            if part.__class__ is gast.Constant and part.value is None:   # x[:, None]
                shape.append(1)
                continue
            if isinstance(part, gast.Slice):   # x[::-1], x[1:], x[:2]: constant bounds
                bounds = [self.bound(b) for b in (part.lower, part.upper, part.step)]
                if any(b is UNKNOWN for b in bounds) or bounds[2] == 0:
                    return None
                shape.append(len(range(base.shape[i])[slice(*bounds)]))
                i += 1
                continue
            v = self.value(part)
            if not python_int(v) and not (isinstance(part, gast.Constant)
                                        and type(part.value) is int):
                return None
            i += 1
        shape = tuple(shape) + base.shape[i:]
        return Value(shape, base.dtype, bool(shape), False)

    def float64_keywords(self, node):
        """Whether a call's keywords are none or ``dtype=`` float64 (``np.float64``,
        ``float``, ``"float64"``)."""
        return all(k.arg == "dtype" and self.resolve(k.value) in (np.float64, float)
                   or k.arg == "dtype" and constant(k.value) in ("float64", "f8", "d")
                   for k in node.keywords)

    def bound(self, node):
        """A slice bound: None or an int the known values fix (a constant, a count), else
        ``UNKNOWN``."""
        value = _int_or_none(node)
        if value is UNKNOWN:
            value = self.static(node)
        return value if value is None or type(value) is int else UNKNOWN

    def call_value(self, node):
        func = node.func
        if func.__class__ is gast.Attribute and func.attr in _REDUCING_METHODS \
                and not node.args:   # x.sum(axis=0), x.min(): None for a module's
            return summed(self.value(func.value), node.keywords,
                          ARANGE if func.attr == "sum" else None)
        if func.__class__ is gast.Attribute and func.attr == "copy" and not node.args \
                and not node.keywords:   # an array's copy: fresh (None for a module's)
            value = self.value(func.value)
            return Value(value.shape, value.dtype, True, True) \
                if value is not None and value.array and value.items is None else None
        obj = self.resolve(func)
        if obj is None:
            return None
        if type(obj) is np.ufunc and not node.keywords and len(node.args) == obj.nin \
                and obj is not np.matmul:   # a ufunc, but no elementwise one (below)
            return elementwise(obj, [self.value(a) for a in node.args])
        if obj in _REDUCTIONS and len(node.args) in (1, 2):   # np.sum(x, 1): axis by position
            axis = [gast.keyword(arg="axis", value=a) for a in node.args[1:]]
            return summed(self.value(node.args[0]), node.keywords + axis,
                          ARANGE if obj is np.sum else None)
        if obj is np.size and len(node.args) == 1 and not node.keywords:
            return PY_INT
        if obj is np.ndim and len(node.args) == 1 and not node.keywords:
            value = self.value(node.args[0])   # a rank the shapes fix
            return Count(len(value.shape)) if value is not None and value.shape is not None \
                and value.items is None else None
        if obj is np.shape and len(node.args) == 1 and not node.keywords:
            return _dimensions(self.value(node.args[0]))
        if obj is len and len(node.args) == 1 and not node.keywords:
            value = self.value(node.args[0])
            if value is not None and value.items is not None:
                return Count(len(value.items))
            if value.__class__ is ListOf:
                return PY_INT
            dimensions = _dimensions(value)
            return dimensions.items[0] if dimensions is not None and dimensions.items else None
        if (obj is max or obj is min) and len(node.args) > 1 and not node.keywords and all(
                (v := self.value(a)) is not None and (v.dtype is INT or v.dtype is FLOAT)
                for a in node.args):   # max(np.size(x), 1): a Python number
            return PY_INT if all(python_int(self.value(a)) for a in node.args) else None
        if obj is np.broadcast_to and len(node.args) == 2 and not node.keywords:
            return self.broadcast_value(*node.args)
        if obj is np.transpose and 1 <= len(node.args) <= 2 and not node.keywords:
            a = self.value(node.args[0])
            axes = self.static(node.args[1]) if len(node.args) == 2 else None
            if a is None or not a.array or a.shape is None:
                return None
            if axes is None:
                return Value(a.shape[::-1], a.dtype, True, False)
            if type(axes) is tuple and sorted(axes) == list(range(len(a.shape))):
                return Value(tuple(a.shape[i] for i in axes), a.dtype, True, False)
            return None
        if obj is np.reshape and len(node.args) == 2 and all(
                k.arg == "order" and constant(k.value) == "C" for k in node.keywords):
            return _reshaped(self.value(node.args[0]), self.static(node.args[1]))
        if obj is sum and 1 <= len(node.args) <= 2 and not node.keywords:
            return _items_summed(self.value(node.args[0]),
                                 self.value(node.args[1]) if len(node.args) == 2 else PY_INT)
        if obj is range:
            return RANGE_VALUE
        if obj is reversed and len(node.args) == 1 \
                and self.value(node.args[0]) == RANGE_VALUE:
            return RANGE_VALUE
        if (obj is np.dot or obj is np.matmul) and len(node.args) == 2 and not node.keywords:
            a, b = self.value(node.args[0]), self.value(node.args[1])   # np.dot: as @ up to 2-D
            if a is not None and b is not None and a.shape is not None \
                    and b.shape is not None and len(a.shape) <= 2 and len(b.shape) <= 2 \
                    and a.array and b.array:
                return matmul(a, b)
            return None
        if obj is np.outer and len(node.args) == 2 and not node.keywords:
            a, b = self.value(node.args[0]), self.value(node.args[1])
            if a is not None and b is not None and a.array and b.array and a.dtype is F64 \
                    and b.dtype is F64 and len(a.shape) == len(b.shape) == 1:
                return _result(a.shape + b.shape, F64)
            return None
        if obj is np.arange and len(node.args) == 1 and not node.keywords:
            stop = self.static(node.args[0])   # np.arange(70): a fresh array of ints
            return _result((max(stop, 0),), ARANGE) if type(stop) is int else None
        if (obj is np.zeros or obj is np.ones) and len(node.args) == 1 \
                and self.float64_keywords(node):
            shape = self.static(node.args[0])   # np.zeros((4, 2)): a fresh float64 array
            if type(shape) is int:
                shape = (shape,)
            if type(shape) is tuple and all(type(n) is int and n >= 0 for n in shape):
                return _result(shape, F64)
            return None
        if obj is np.full and len(node.args) == 2 and not node.keywords:
            shape, fill = self.static(node.args[0]), self.value(node.args[1])
            if type(shape) is int:
                shape = (shape,)
            if type(shape) is tuple and all(type(n) is int and n >= 0 for n in shape) \
                    and fill is not None and fill.shape == () and fill.items is None \
                    and (fill.dtype is F64 or fill.dtype is FLOAT):
                return _result(shape, F64)   # np.full((7,), g) of a float: float64
            return None
        if obj is np.eye and len(node.args) == 1 and self.float64_keywords(node):
            n = self.static(node.args[0])   # np.eye(3): a fresh float64 matrix
            return _result((n, n), F64) if type(n) is int and n >= 0 else None
        if obj is int and len(node.args) == 1 and not node.keywords:
            value = self.value(node.args[0])   # int(n) of a count: that count
            return value if value.__class__ is Count else None
        if (obj is np.stack or obj is np.concatenate) and len(node.args) == 1 \
                and node.args[0].__class__ in (gast.List, gast.Tuple):
            return _joined(obj, [self.value(e) for e in node.args[0].elts],
                           {k.arg: _int_or_none(k.value) for k in node.keywords})
        if obj is np.zeros_like and len(node.args) == 1 and not node.keywords:
            a = self.value(node.args[0])
            return _result(a.shape, F64) if a is not None and a.array \
                and a.dtype is F64 else None
        name = getattr(obj, "__name__", None)
        if (obj is np.cross or name == "cross_product" and obj is runtime.cross_product) \
                and len(node.args) == 2 and all(
                    k.arg in ("axisa", "axisb", "axisc", "axis")
                    and constant(k.value) == (None if k.arg == "axis" else -1)
                    for k in node.keywords):
            return _crossed(self.value(node.args[0]), self.value(node.args[1]))
        if isinstance(func, gast.Attribute) and func.value.__class__ is gast.Name \
                and self.namespace.get(func.value.id) is runtime:
            return self.helper_value(func.attr, node)
        if name in _BY_NAME and getattr(runtime, name, None) is obj:   # bound by name
            return self.helper_value(name, node)
        return None

    def static(self, node):
        """The Python value of a test or shape the known values fix (``np.ndim(x) == 2``,
        ``np.shape(x)``, constants), else ``UNKNOWN``."""
        kind = node.__class__
        if kind is gast.Constant:
            return node.value
        if kind is gast.Name:   # a count, or a tuple of counts (a shape)
            value = self.value(node)
            if value.__class__ is Count:
                return value.number
            if value.__class__ is Truth:
                return value.truth
            if value is NONE:   # certainly None: a join with anything else is that
                return None
            if value is not None and value.items is not None \
                    and all(v.__class__ is Count for v in value.items):
                return tuple(v.number for v in value.items)
            return UNKNOWN
        if kind is gast.Tuple:
            parts = [self.static(e) for e in node.elts]
            return UNKNOWN if any(p is UNKNOWN for p in parts) else tuple(parts)
        if kind is gast.Call and len(node.args) == 2 and not node.keywords \
                and self.resolve(node.func) is runtime.inverse_permutation:
            axes, ndim = self.static(node.args[0]), self.static(node.args[1])
            if type(ndim) is not int or not (axes is None or type(axes) is tuple):
                return UNKNOWN
            axes = runtime.inverse_permutation(axes, ndim)
            return axes if axes is None else tuple(int(a) for a in axes)
        if kind is gast.Call and len(node.args) == 1 and not node.keywords:
            obj = self.resolve(node.func)
            if obj is np.ndim or obj is np.shape:
                value = self.value(node.args[0])
                if value is None or value.shape is None:
                    return UNKNOWN
                return len(value.shape) if obj is np.ndim else value.shape
            return UNKNOWN
        if kind is gast.Compare and len(node.ops) == 1 and type(node.ops[0]) in _STATIC_COMPARE:
            left, right = self.static(node.left), self.static(node.comparators[0])
            if left is UNKNOWN or right is UNKNOWN or type(left) not in (int, tuple) \
                    or type(right) not in (int, tuple):
                return UNKNOWN
            return _STATIC_COMPARE[type(node.ops[0])](left, right)
        if kind is gast.BoolOp:
            values = [self.static(v) for v in node.values]
            if any(type(v) is not bool for v in values):
                return UNKNOWN
            return all(values) if node.op.__class__ is gast.And else any(values)
        if kind is gast.UnaryOp and node.op.__class__ is gast.Not:
            value = self.static(node.operand)
            return not value if type(value) is bool else UNKNOWN
        return UNKNOWN

    def broadcast_value(self, operand, shape):
        """``np.broadcast_to(operand, np.shape(t))`` (or a shape the known values fix): a
        read-only view of that shape."""
        if isinstance(shape, gast.Call) and len(shape.args) == 1 \
                and self.resolve(shape.func) is np.shape:
            target = self.value(shape.args[0])
        else:
            dims = self.static(shape)
            dims = (dims,) if type(dims) is int else dims
            if type(dims) is not tuple or not all(type(n) is int and n >= 0 for n in dims):
                return None
            target = Value(dims, F64, bool(dims), False)
        value = self.value(operand)
        dtype = None if value is None else F64 if value.dtype is FLOAT \
            else value.dtype if value.dtype is F64 or value.dtype is BOOL else None
        if target is None or target.shape is None or dtype is None:
            return None
        try:
            if np.broadcast_shapes(value.shape, target.shape) == target.shape:
                return Value(target.shape, dtype, True, False)
        except ValueError:
            pass
        return None
