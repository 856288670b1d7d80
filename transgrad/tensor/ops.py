"""The ops table: every differentiable Tensor operation, by the primitive whose rule it uses.

An ``Op`` pairs a primitive (``np.exp``) with the PyTorch name of its node (``ExpBackward0``).
``_apply1``/``_apply2``/``apply_op`` compute an Op's value with numpy and record it when grad
mode is on and an operand requires grad; ``apply`` does the same for any primitive with a
rule (``apply(np.sin, x)``, and numpy's protocols on Tensors). Nothing about derivatives is
written here: the rule comes from ``transgrad/rules/`` when the node is recorded.

The table is declared in ``transgrad/rules/``, next to each primitive's rule: ``tensor="exp",
tensor_node="ExpBackward0"`` (and ``torch=("exp",)``) in its ``@vjp`` declaration fill
``rules.registry.TENSOR_OPS`` (and ``TORCH_NAMES``). An entry without a hand-written method
(``methods``, ``views``, ``torch_shims``) becomes one (``method_for``): ``x.exp()``,
``x.maximum(y)``; and ``transgrad.torch`` a function (``torch.exp(x)``).
"""

import numpy as np

from .. import rules
from ..rules.registry import TENSOR_OPS, is_nondifferentiable
from .core import Tensor, _new, _operand, _wrap
from .grad_mode import STATE
from .prepare import positions_count
from .record import _record, _record1, describe
from .tape import node_class

_ndarray = np.ndarray
_EMPTY = {}


def _refused():
    """Primitives with a rule that the Tensor refuses to record, each with the reason (their
    outputs mix arrays with Python values, which the tape cannot hold as one node's outputs)."""
    import scipy.linalg
    mixed = ("returns a tuple that mixes arrays with Python values ({}), which the Tensor "
             "cannot record as one node's outputs; differentiate it with tg.grad, or compute "
             "it inside tg.no_grad()")
    return {np.linalg.lstsq: mixed.format("the rank, an int"),
            scipy.linalg.cho_factor: mixed.format("the flag lower, a bool")}


TENSOR_REFUSED = _refused()


class Op:
    """A Tensor operation: the primitive it applies and the name of its node."""

    __slots__ = ("func", "impl", "name", "node", "specs")

    def __init__(self, func, name, impl=None):
        self.func = func
        self.name = name
        self.node = node_class(name)
        self.specs = {}     # mask -> Spec, checked against the table on every use
        # what computes the value: ``func`` itself, or an equivalent with less Python overhead
        # (``ndarray.sum`` for ``np.sum``); the rule is always ``func``'s
        self.impl = impl or func

    def __repr__(self):
        return f"Op({getattr(self.func, '__name__', self.func)!r}, {self.name!r})"


# ---- the table ---------------------------------------------------------------------------

def _table():
    """Every differentiable Tensor operation, by name, as declared next to its rule
    (``TENSOR_OPS``, filled when ``transgrad.rules`` imported its families, above)."""
    return {name: Op(d.func, d.node or node_name(d.func), d.impl)
            for name, d in TENSOR_OPS.items()}


# A test walks this table to show that the Tensor and the compiler share the rule objects.
OPS = _table()
# entries that are not methods: functions of several tensors, indexing, internals
NOT_METHODS = frozenset({"cat", "stack", "where", "getitem", "index_update", "index_add"})
_OPS_BY_NAME = {}


def variant(op, name):
    """``op`` under another node name (``SumBackward1`` for a sum over ``dim``)."""
    key = (op.func, name)
    v = _OPS_BY_NAME.get(key)
    if v is None:
        v = _OPS_BY_NAME[key] = Op(op.func, name, op.impl)
    return v


def method_for(name, op):
    """The Tensor method ``x.name(...)`` of a table entry that has no hand-written method: the
    primitive applied to the tensor and the method's other operands (as many as its rule gives
    cotangents for: ``x.exp()``, ``x.maximum(y)``)."""
    rule = rules.lookup_vjp(op.func)
    operands = positions_count(rule) if rule is not None else None
    if operands == 1:
        def method(self):
            return _apply1(op, self)
    elif operands == 2:
        def method(self, other):
            return _apply2(op, self, other)
    else:
        def method(self, *args, **kwargs):
            return apply_op(op, self, *args, **kwargs)
    method.__name__, method.__qualname__ = name, f"Tensor.{name}"
    method.__doc__ = f"``{describe(op.func)}`` of this tensor (and the other operands), " \
        f"recorded as ``{op.name}``."
    return method


# ---- applying an Op ------------------------------------------------------------------------


def _apply1(op, x, kwargs=_EMPTY):
    """``op.func(x.data, **kwargs)`` as a Tensor, recorded when ``x`` requires grad."""
    out = op.impl(x.data, **kwargs)
    t = _new(Tensor)
    t.data = out if type(out) is _ndarray else np.asarray(out)
    t._rg = False
    t._grad = t.grad_fn = t._view = t._accum = t._hooks = None
    t._nr = 0
    t._version = [0]
    if x._rg and STATE.enabled:
        _record1(op, t, x, kwargs)
    return t


def _apply2(op, a, b):
    """``op.func(a, b)`` as a Tensor (either operand may be a constant), recorded as needed."""
    if isinstance(a, Tensor):
        ad, ra = a.data, a._rg
    else:
        ad, ra = _operand(a)
    if isinstance(b, Tensor):
        bd, rb = b.data, b._rg
    elif type(b) is float or type(b) is int:
        bd, rb = b, False
    else:
        bd, rb = _operand(b)
    out = op.func(ad, bd)
    t = _new(Tensor)
    t.data = out if type(out) is _ndarray else np.asarray(out)
    t._rg = False
    t._grad = t.grad_fn = t._view = t._accum = t._hooks = None
    t._nr = 0
    t._version = [0]
    if (ra or rb) and STATE.enabled:
        _record(op, t, (a, b), (ra, rb))
    return t


def apply(func, *args, **kwargs):
    """Apply any primitive with a rule to Tensors: ``apply(np.sin, x)``, ``apply(f, x, y)``.

    Tensors among ``args`` (also inside a list argument) are unwrapped, ``func`` runs on numpy
    arrays, and the result is recorded with ``func``'s rule when grad mode is on and an operand
    requires grad. Example::

        y = apply(np.float_power, x, 2.5)
    """
    arrays = []
    mask = []
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a.data)
            mask.append(a._rg)
        elif type(a) in (list, tuple) and any(isinstance(t, Tensor) for t in a):
            arrays.append(type(a)(t.data if isinstance(t, Tensor) else t for t in a))
            mask.append(2 if any(isinstance(t, Tensor) and t._rg for t in a) else False)
        else:
            arrays.append(a)
            mask.append(False)
    kw = {}
    for k, v in kwargs.items():
        if isinstance(v, Tensor):
            if v._rg and STATE.enabled:
                raise RuntimeError(
                    f"{describe(func)}: pass the Tensor that requires grad positionally, not as "
                    f"the keyword argument {k}= (rules give gradients to positional arguments)")
            v = v.data
        kw[k] = v
    if func in TENSOR_REFUSED and any(mask) and STATE.enabled:
        raise RuntimeError(f"{describe(func)} on Tensors that require grad: "
                           f"{TENSOR_REFUSED[func]}")
    out = func(*arrays, **kw)
    several = isinstance(out, (list, tuple)) and all(isinstance(o, _ndarray) for o in out)
    if not any(mask) or not STATE.enabled or is_nondifferentiable(func):
        if isinstance(out, (_ndarray, np.generic)):
            return _wrap(np.asarray(out))
        if several:
            return _rebuild_sequence(out, [_wrap(o) for o in out])
        return out
    op = _op_for(func)
    if several:
        outs = [_wrap(o) for o in out]
        _record(op, outs, tuple(args), tuple(mask), kw)
        return _rebuild_sequence(out, outs)
    if type(out) is not _ndarray:
        out = np.asarray(out)
    t = _wrap(out)
    _record(op, t, tuple(args), tuple(mask), kw)
    return t


_APPLIED = {}


def _op_for(func):
    """The Op that ``apply`` records for ``func``, named like PyTorch (``np.sin``:
    ``SinBackward0``)."""
    try:
        op = _APPLIED.get(func)
    except TypeError:       # an unhashable callable
        op = None
    if op is None:
        op = Op(func, node_name(func))
        try:
            _APPLIED[func] = op
        except TypeError:
            pass
    return op


def node_name(func):
    """The node name of a primitive declared without one, after PyTorch's (``np.log_softmax``:
    ``LogSoftmaxBackward0``; PyTorch's own may differ: ``Log1PBackward0``)."""
    name = getattr(func, "__name__", "Apply")
    return "".join(p.capitalize() for p in name.split("_")) + "Backward0"


def _rebuild_sequence(like, items):
    """``items`` in the container type of ``like`` (a list, tuple or named tuple)."""
    if hasattr(like, "_fields"):
        return type(like)(*items)
    return type(like)(items)


def _apply_astype(x, dtype):
    out = x.data.astype(dtype)
    t = _wrap(out)
    _record(OPS["astype"], t, (x, dtype), (True, False))
    return t


def apply_op(op, *args, **kwargs):
    """Apply Op ``op`` to positional ``args`` (Tensors or constants), recording as needed."""
    arrays = []
    mask = []
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a.data)
            mask.append(a._rg)
        else:
            arrays.append(a)
            mask.append(False)
    out = op.impl(*arrays, **kwargs)
    if type(out) is not _ndarray:
        out = np.asarray(out)
    t = _wrap(out)
    if STATE.enabled and any(mask):
        _record(op, t, args, tuple(mask), kwargs)
    return t


def _seq_apply(op, tensors, kwargs):
    tensors = list(tensors)
    arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    out = op.func(arrays, **kwargs)
    t = _wrap(out)
    needs = any(isinstance(x, Tensor) and x._rg for x in tensors)
    if needs and STATE.enabled:
        _record(op, t, (tensors,), (2,), kwargs)
    return t


def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing axis ``dim``."""
    return _seq_apply(OPS["cat"], tensors, {"axis": dim if axis is None else axis})


def stack(tensors, dim=0, *, axis=None):
    """Join tensors along a new axis ``dim``."""
    return _seq_apply(OPS["stack"], tensors, {"axis": dim if axis is None else axis})


def where(condition, x, y):
    """Elements of ``x`` where ``condition`` holds, else of ``y`` (broadcasting)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return apply_op(OPS["where"], _wrap(cond), x, y)
