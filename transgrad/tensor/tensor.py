"""The eager ``Tensor``: a numpy array that records the operations applied to it.

Every differentiable operation is a primitive with a rule in ``transgrad/rules/`` (``x * y`` is
``np.multiply``, ``x.sum(1)`` is ``np.sum(x, axis=1)``, ``x.unsqueeze(0)`` is ``np.reshape``);
the Tensor computes the result with numpy and, when grad mode is on and an operand requires
grad, records a node that will call that rule on backward. Nothing about derivatives is
written here.
"""

import operator
import weakref

import numpy as np

from .. import runtime
from ..rules import nn, scatter
from ..rules.registry import VJP_RULES, is_nondifferentiable
from .grad_mode import STATE
from .specialize import RuleError, specialize
from .tape import RemovableHandle, SavedOutput, _sequence, accumulator, multi_node_class, node_class

_ndarray = np.ndarray
_new = object.__new__
_rules_get = VJP_RULES.get
_EMPTY = {}
_SCALARS = (int, float, bool, np.number, np.bool_)
_FLOAT_KINDS = "fc"


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


# Every differentiable Tensor operation, by the primitive whose rule it uses. A test walks this
# table to show that the Tensor and the compiler share the rule objects.
OPS = {
    "add": Op(np.add, "AddBackward0"), "sub": Op(np.subtract, "SubBackward0"),
    "mul": Op(np.multiply, "MulBackward0"), "div": Op(np.divide, "DivBackward0"),
    "pow": Op(np.power, "PowBackward0"), "matmul": Op(np.matmul, "MmBackward0"),
    "neg": Op(np.negative, "NegBackward0"), "exp": Op(np.exp, "ExpBackward0"),
    "log": Op(np.log, "LogBackward0"), "sin": Op(np.sin, "SinBackward0"),
    "cos": Op(np.cos, "CosBackward0"), "tanh": Op(np.tanh, "TanhBackward0"),
    "sqrt": Op(np.sqrt, "SqrtBackward0"), "abs": Op(np.absolute, "AbsBackward0"),
    "sigmoid": Op(nn.sigmoid, "SigmoidBackward0"), "relu": Op(nn.relu, "ReluBackward0"),
    "clamp": Op(np.clip, "ClampBackward1", lambda a, a_min, a_max: (
        np.maximum(a, a_min) if a_max is None else
        np.minimum(a, a_max) if a_min is None else np.clip(a, a_min, a_max))),
    "maximum": Op(np.maximum, "MaximumBackward0"),
    "minimum": Op(np.minimum, "MinimumBackward0"),
    "sum": Op(np.sum, "SumBackward0", _ndarray.sum),
    "mean": Op(np.mean, "MeanBackward0", _ndarray.mean),
    "max": Op(np.max, "MaxBackward1", _ndarray.max),
    "min": Op(np.min, "MinBackward1", _ndarray.min),
    "prod": Op(np.prod, "ProdBackward0", _ndarray.prod),
    "reshape": Op(np.reshape, "ViewBackward0", lambda a, shape: a.reshape(shape)),
    "transpose": Op(np.transpose, "PermuteBackward0", lambda a, axes: a.transpose(axes)),
    "getitem": Op(operator.getitem, "IndexBackward0"),
    "cat": Op(np.concatenate, "CatBackward0"), "stack": Op(np.stack, "StackBackward0"),
    "where": Op(np.where, "WhereBackward0"),
    "clone": Op(np.copy, "CloneBackward0", _ndarray.copy),
    "expand": Op(np.broadcast_to, "ExpandBackward0"),
    "index_update": Op(scatter.index_update, "CopySlices"),
    "index_add": Op(scatter.index_add, "IndexAddBackward0"),
    "astype": Op(runtime.astype, "ToCopyBackward0"),
}
_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_POW, _MATMUL, _NEG, _GETITEM = OPS["pow"], OPS["matmul"], OPS["neg"], OPS["getitem"]
_RESHAPE, _TRANSPOSE, _UPDATE = OPS["reshape"], OPS["transpose"], OPS["index_update"]
_SUM, _CLAMP = OPS["sum"], OPS["clamp"]
_OPS_BY_NAME = {}


def _variant(op, name):
    """``op`` under another node name (``SumBackward1`` for a sum over ``dim``)."""
    key = (op.func, name)
    v = _OPS_BY_NAME.get(key)
    if v is None:
        v = _OPS_BY_NAME[key] = Op(op.func, name, op.impl)
    return v


_CLAMP_MIN = _variant(_CLAMP, "ClampMinBackward0")
_CLAMP_MAX = _variant(_CLAMP, "ClampMaxBackward0")


def _describe(func):
    name = getattr(func, "__name__", repr(func))
    module = getattr(func, "__module__", None) or ""
    if type(func).__name__ == "ufunc" or module.startswith("numpy"):
        public = [p for p in module.split(".")[1:] if not p.startswith("_")]
        return ".".join(["np"] + public + [name])
    if module == "_operator":
        return f"operator.{name}"
    return f"{module}.{name}" if module else name


# ------------------------------------------------------------------------------------------
# recording


def _record(op, out, args, mask, kwargs=_EMPTY, inplace=False):
    """Make the fresh Tensor ``out`` the recorded result of ``op.func(*args, **kwargs)``.

    ``mask[i]`` says whether ``args[i]`` requires grad: True for a Tensor, 2 for a list of
    Tensors (``np.concatenate``'s ``arrays``). With ``inplace`` the first operand is about to
    be overwritten, so if the rule reads its value a copy is saved instead. ``out`` is a list
    of Tensors for a primitive with several outputs.
    """
    rule = _rules_get(op.func)
    spec = op.specs.get(mask)
    if spec is None or spec.rule is not rule:
        spec = _specialize(op, rule, mask)
    if type(out) is list:
        node = _new(multi_node_class(op.name))
        node._nout = len(out)
    else:
        node = _new(op.node)
    node._spec = spec
    node._kwargs = kwargs
    node._hooks = None
    if spec.flat is None:
        if spec.first is not None:     # one operand needs a gradient: the common case
            node._edges = (_edge(args[spec.first]),)
        else:
            node._edges = tuple([_edge(args[i]) for i in spec.positions])
    else:
        edges = []
        for i in spec.positions:
            a = args[i]
            if mask[i] == 2:    # one edge per element of the list
                edges.extend(_edge(t) if isinstance(t, Tensor) and t._rg else None for t in a)
            else:
                edges.append(_edge(a))
        node._edges = tuple(edges)
    node._seq = next(_sequence)     # after the edges: newer than any AccumulateGrad they made
    if spec.keep_all:
        saved = args
    elif len(args) == 2:
        keep = spec.keep
        saved = (args[0] if keep[0] else None, args[1] if keep[1] else None)
    else:
        saved = tuple([a if k else None for a, k in zip(args, spec.keep)])
    checks = None
    for i in spec.saved:
        a = saved[i]
        if isinstance(a, Tensor):
            if inplace and i == 0:
                a = _snapshot(a)
                saved = (a,) + tuple(saved[1:])
            if checks is None:
                checks = [(a, a._version[0])]
            else:
                checks.append((a, a._version[0]))
        elif type(a) in (list, tuple):
            checks = checks or []
            checks.extend((t, t._version[0]) for t in a if isinstance(t, Tensor))
    node._args = saved
    if type(out) is list:
        return _record_outputs(node, spec, out, checks)
    if spec.uses_ans:
        node._ans = out.data
        node._ansv = (out._version, out._version[0])
    else:
        node._ans = node._ansv = None
    node._checks = checks
    out._rg = True
    out.grad_fn = node
    return node


_ONE = (True,)


def _record1(op, out, x, kwargs):
    """``_record`` for one operand that requires grad (``x.exp()``, ``x.sum(1)``): the same
    steps, spelled out for the most frequent case."""
    rule = _rules_get(op.func)
    spec = op.specs.get(_ONE)
    if spec is None or spec.rule is not rule:
        spec = _specialize(op, rule, _ONE)
    node = _new(op.node)
    node._spec = spec
    node._kwargs = kwargs
    node._hooks = None
    fn = x.grad_fn
    if fn is None or x._view is not None:
        node._edges = (_edge(x),)
    else:
        data = x.data
        node._edges = ((fn, x._nr, data.shape, data.dtype),)
    node._seq = next(_sequence)
    if spec.saved:
        node._args = (x,)
        node._checks = [(x, x._version[0])]
    else:
        node._args = (x,) if spec.keep_all else (None,)
        node._checks = None
    if spec.uses_ans:
        node._ans = out.data
        node._ansv = (out._version, out._version[0])
    else:
        node._ans = node._ansv = None
    out._rg = True
    out.grad_fn = node


def _record_outputs(node, spec, outs, checks):
    for i, o in enumerate(outs):
        o._nr = i
    node._ans = [o.data for o in outs] if spec.uses_ans else None
    node._ansv = None
    if spec.uses_ans:
        checks = (checks or []) + [(SavedOutput(o, node.name()), o._version[0])
                                   for o in outs]
    node._checks = checks
    for i, o in enumerate(outs):
        o._rg = True
        o.grad_fn = node
        o._nr = i
    return node


def _specialize(op, rule, mask):
    if rule is None:
        raise RuntimeError(
            f"transgrad has no derivative rule for `{_describe(op.func)}`, which "
            f"{op.name} needs; register one in transgrad/rules/ (or compute this value "
            f"inside tg.no_grad())")
    try:
        spec = specialize(rule, mask)
    except RuleError as e:
        raise RuntimeError(f"{op.name}: {e}") from None
    op.specs[mask] = spec
    return spec


def _edge(t):
    fn = t.grad_fn
    if fn is None:
        fn = accumulator(t)
    elif t._view is not None and t._view[2] != t._version[0]:
        raise RuntimeError(
            "a view of a tensor was used after the tensor (or another view of it) was modified "
            "in place; its graph no longer describes its values. Create the view after the "
            "in-place operation, or clone() it before.")
    data = t.data
    return (fn, t._nr, data.shape, data.dtype)


def _snapshot(t):
    """A Tensor holding a copy of ``t``'s current value and ``t``'s current graph position."""
    s = _wrap(t.data.copy())
    s._rg, s.grad_fn, s._nr = t._rg, t.grad_fn, t._nr
    if t.grad_fn is None and t._rg:
        s._accum = t._accum
    return s


def _wrap(data):
    t = _new(Tensor)
    t.data = data
    t._rg = False
    t._grad = None
    t.grad_fn = None
    t._nr = 0
    t._version = [0]
    t._view = None
    t._accum = None
    t._hooks = None
    return t


def _as_array(x, dtype=None):
    if isinstance(x, Tensor):
        x = x.data
    return np.asarray(x, dtype=dtype)


def _operand(x):
    """(value for numpy, requires grad) of an operand of a binary operation."""
    if isinstance(x, Tensor):
        return x.data, x._rg
    if isinstance(x, (*_SCALARS, _ndarray)):
        return x, False
    return np.asarray(x), False


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
                    f"{_describe(func)}: pass the Tensor that requires grad positionally, not as "
                    f"the keyword argument {k}= (rules give gradients to positional arguments)")
            v = v.data
        kw[k] = v
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
        name = getattr(func, "__name__", "Apply")
        op = Op(func, "".join(p.capitalize() for p in name.split("_")) + "Backward0")
        try:
            _APPLIED[func] = op
        except TypeError:
            pass
    return op


def _rebuild_sequence(like, items):
    """``items`` in the container type of ``like`` (a list, tuple or named tuple)."""
    if hasattr(like, "_fields"):
        return type(like)(*items)
    return type(like)(items)


def _bump(t):
    t._version[0] += 1


def _check_inplace(t, name):
    if t.grad_fn is None and t._rg:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            f"({name} on a leaf tensor with requires_grad=True: do the update inside "
            "tg.no_grad(), or work on a clone())")
    view = t._view
    if view is not None:
        base = view[0]
        if base.grad_fn is None and base._rg:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                f"operation ({name}).")


def _inplace(t, op, other, name, kwargs=_EMPTY):
    """``t = op(t, other)`` written into ``t``'s array; recorded when gradients are involved."""
    od, ro = _operand(other) if other is not None else (None, False)
    if STATE.enabled and (t._rg or ro):
        _check_inplace(t, name)
        args = (t,) if other is None else (t, other)
        mask = (t._rg,) if other is None else (t._rg, ro)
        arrays = (t.data,) if other is None else (t.data, od)
        out = op.func(*arrays, **kwargs)
        if type(out) is not _ndarray:
            out = np.asarray(out)
        result = _wrap(out)
        _record(op, result, args, mask, kwargs, inplace=True)
        _rebase(t, result)
        return t
    data = t.data
    if other is None:
        op.func(data, out=data, **kwargs)
    else:
        op.func(data, od, out=data, casting="same_kind")
    _bump(t)
    return t


def _rebase(t, result):
    """Write ``result`` into ``t``'s array and make ``t`` the output of ``result``'s node."""
    np.copyto(t.data, result.data, casting="same_kind")
    _bump(t)
    t.grad_fn = result.grad_fn
    t._nr = 0
    t._rg = True
    view = t._view
    if view is not None:
        base, index, _ = view
        if base._view is not None or index is None:
            raise RuntimeError(
                "transgrad does not support in-place operations that record gradients on a "
                "view made by reshape/view/transpose/permute or on a view of a view; apply "
                "the operation to the base tensor, or clone() the view first")
        # the base's values changed through the view: the base now equals
        # index_update(base_before, index, view_after) (PyTorch's CopySlices)
        t._view = (base, index, t._version[0])
        new_base = _wrap(base.data)
        _record(_UPDATE, new_base, (base, index, t), (base._rg, False, True), inplace=False)
        base.grad_fn = new_base.grad_fn
        base._nr = 0
        base._rg = True
        t._view = (base, index, t._version[0])


def _view_of(out, base, index=None):
    """Mark ``out`` as sharing ``base``'s memory (and so its version counter) when it does."""
    od = out.data
    owner = base.data if base.data.base is None else base.data.base
    if od.base is not None and (od.base is owner or od.base is base.data):
        out._version = base._version
        out._view = (base, index, base._version[0])
    return out


def _index(idx):
    """A subscript with Tensors replaced by their arrays."""
    if isinstance(idx, Tensor):
        return idx.data
    if type(idx) is tuple:
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    return idx


def _index_name(idx):
    items = idx if type(idx) is tuple else (idx,)
    if all(isinstance(i, (int, np.integer)) for i in items):
        return "SelectBackward0"
    if all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
           for i in items):
        return "SliceBackward0"
    return "IndexBackward0"


def _dims(dim, ndim):
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        return tuple(int(d) for d in dim)
    return int(dim)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class _Size(int):
    """``t.size``: the element count (numpy's ``size``) that can also be called like
    PyTorch's ``size()`` (the shape) or ``size(dim)``."""

    def __new__(cls, shape):
        n = 1
        for s in shape:
            n *= s
        self = int.__new__(cls, n)
        self._shape = shape
        return self

    def __call__(self, dim=None):
        return self._shape if dim is None else self._shape[dim]


class device:
    """Where a Tensor lives: always ``cpu`` (numpy). ``tg.device("cpu")``."""

    __slots__ = ("index", "type")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type = type.type
        kind = str(type).split(":")[0]
        if kind != "cpu":
            raise RuntimeError(
                f"transgrad cannot place tensors on device {type!r}: the Tensor runs on the "
                "CPU through numpy. For GPUs, use the compiler's JAX backend "
                "(tg.grad(f, backend=\"jax\")), which runs the generated code on jax.numpy.")
        self.type = "cpu"
        self.index = None

    def __eq__(self, other):
        if isinstance(other, str):
            return other.split(":")[0] == "cpu"
        return isinstance(other, device)

    def __hash__(self):
        return hash("cpu")

    def __str__(self):
        return "cpu"

    def __repr__(self):
        return "device(type='cpu')"


CPU = device("cpu")


def _check_device(dev):
    if dev is not None and not isinstance(dev, device):
        device(dev)


# ------------------------------------------------------------------------------------------
# the Tensor


class Tensor:
    """A numpy array that records the operations applied to it, for ``backward()``.

    Create one with ``tg.tensor(data, requires_grad=False, dtype=None)``. Operations follow
    PyTorch's names and broadcasting (``x * y``, ``x.mm(w)``, ``x.sum(dim=1, keepdim=True)``);
    numpy's spellings work too (``x.sum(axis=1)``, ``np.sin(x)``).

    Example::

        x = tg.tensor(np.random.randn(3), requires_grad=True)
        y = (x * x).sum()
        y.backward()
        x.grad                  # tensor equal to 2 * x
    """

    __slots__ = (
        "__weakref__",
        "_accum",
        "_grad",
        "_hooks",
        "_nr",
        "_rg",
        "_version",
        "_view",
        "data",
        "grad_fn",
    )
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        t = tensor(data, requires_grad=requires_grad, dtype=dtype)
        for name in Tensor.__slots__:
            if name != "__weakref__":
                setattr(self, name, getattr(t, name))

    # ---- attributes -----------------------------------------------------------------------

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf tensor; returns it."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients "
                f"(this one is {self.data.dtype})")
        self._rg = requires_grad
        return self

    @property
    def grad(self):
        """The accumulated gradient (a Tensor), or None. Leaves only, unless ``retain_grad()``."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = tensor(value)
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {value.shape} for a tensor "
                    f"of shape {self.shape}")
        self._grad = value

    @property
    def is_leaf(self):
        """True for tensors that no recorded operation produced."""
        return self.grad_fn is None

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return _Size(self.data.shape)

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def T(self):
        return self.permute(*range(self.data.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    @property
    def _base(self):
        return None if self._view is None else self._view[0]

    @property
    def output_nr(self):
        return self._nr

    @property
    def _version_counter(self):
        return self._version[0]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def nelement(self):
        return self.data.size

    def element_size(self):
        return self.data.itemsize

    def item(self):
        """The single element as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self, force=False):
        """The underlying numpy array (shared, not copied)."""
        if self._rg and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        return self.data

    def detach(self):
        """The same values (shared memory and version counter) outside the graph."""
        t = _wrap(self.data)
        t._version = self._version
        return t

    def detach_(self):
        if self._view is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        return self

    def clone(self):
        """A copy; gradients flow back to the original."""
        return _apply1(OPS["clone"], self)

    def copy(self):
        return self.clone()

    def contiguous(self):
        return self

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        device("cuda")

    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``."""
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        kwargs.pop("copy", None)
        kwargs.pop("non_blocking", None)
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device)):
                dev = a
            else:
                dtype = a
        _check_device(dev)
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self
        return self.astype(dtype)

    def astype(self, dtype):
        """A copy converted to ``dtype`` (numpy's spelling of ``to(dtype)``)."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if self._rg and STATE.enabled and dtype.kind in _FLOAT_KINDS:
            return _apply_astype(self, dtype)
        return _wrap(self.data.astype(dtype))

    def type(self, dtype=None):
        if dtype is None:
            return str(self.data.dtype)
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    # ``float``, ``int`` and ``bool`` come last: inside a class body they shadow the builtins

    # ---- graph ------------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` is needed unless ``self`` has one element; ``retain_graph`` keeps the
        graph for another backward; ``create_graph`` records this backward pass too, for
        higher derivatives.
        """
        from .engine import backward
        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs)

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; it may return a
        replacement. Returns a handle with ``remove()``."""
        if not self._rg:
            raise RuntimeError(
                "cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            entry = ("tensor", 0, hook)
            self._hooks.append(entry)
            return RemovableHandle(self._hooks, entry)
        node = self.grad_fn
        if node._hooks is None:
            node._hooks = []
        entry = ("tensor", self._nr, hook)
        node._hooks.append(entry)
        return RemovableHandle(node._hooks, entry)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains_grad:
            return
        node = self.grad_fn
        if node._hooks is None:
            node._hooks = []
        node._hooks.append(("retain", self._nr, weakref.ref(self)))

    @property
    def retains_grad(self):
        node = self.grad_fn
        if node is None or not node._hooks:
            return False
        return any(kind == "retain" and ref() is self for kind, _, ref in node._hooks)

    # ---- arithmetic ---------------------------------------------------------------------

    def __add__(self, other):
        return _apply2(_ADD, self, other)

    def __radd__(self, other):
        return _apply2(_ADD, other, self)

    def __sub__(self, other):
        return _apply2(_SUB, self, other)

    def __rsub__(self, other):
        return _apply2(_variant(_SUB, "RsubBackward1"), other, self)

    def __mul__(self, other):
        return _apply2(_MUL, self, other)

    def __rmul__(self, other):
        return _apply2(_MUL, other, self)

    def __truediv__(self, other):
        return _apply2(_DIV, self, other)

    def __rtruediv__(self, other):
        return _apply2(_DIV, other, self)

    def __pow__(self, other):
        if isinstance(other, Tensor):
            return _apply2(_variant(_POW, "PowBackward1"), self, other)
        return _apply2(_POW, self, other)

    def __rpow__(self, other):
        return _apply2(_variant(_POW, "PowBackward2"), other, self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return tensor(other).matmul(self) if not isinstance(other, Tensor) else \
            other.matmul(self)

    def __neg__(self):
        return _apply1(_NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return -self

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        """Matrix product with numpy's (and PyTorch's) rules for 1-D and batched operands."""
        nd = (self.data.ndim, other.data.ndim if isinstance(other, Tensor) else np.ndim(other))
        name = {(2, 2): "MmBackward0", (1, 1): "DotBackward0", (2, 1): "MvBackward0"}.get(
            nd, "MatmulBackward0")
        op = _MATMUL if name == "MmBackward0" else _variant(_MATMUL, name)
        return _apply2(op, self, other)

    def mm(self, other):
        """The product of two matrices (2-D only, as in PyTorch)."""
        if self.data.ndim != 2 or (isinstance(other, Tensor) and other.data.ndim != 2):
            raise RuntimeError(f"mm: expected 2-D tensors, got {self.data.ndim}-D and "
                               f"{np.ndim(other)}-D")
        return _apply2(_MATMUL, self, other)

    def dot(self, other):
        return self.matmul(other)

    def exp(self):
        return _apply1(OPS["exp"], self)

    def log(self):
        return _apply1(OPS["log"], self)

    def sin(self):
        return _apply1(OPS["sin"], self)

    def cos(self):
        return _apply1(OPS["cos"], self)

    def tanh(self):
        return _apply1(OPS["tanh"], self)

    def sqrt(self):
        return _apply1(OPS["sqrt"], self)

    def abs(self):
        return _apply1(OPS["abs"], self)

    def sigmoid(self):
        return _apply1(OPS["sigmoid"], self)

    def relu(self):
        return _apply1(OPS["relu"], self)

    def maximum(self, other):
        return _apply2(OPS["maximum"], self, other)

    def minimum(self, other):
        return _apply2(OPS["minimum"], self, other)

    def clamp(self, min=None, max=None):
        """Limit values to [min, max]; the gradient passes where ``min <= x <= max``."""
        if max is None:
            if min is None:
                raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
            op = _CLAMP_MIN
        else:
            op = _CLAMP if min is not None else _CLAMP_MAX
        if not isinstance(min, Tensor) and not isinstance(max, Tensor):
            out = op.impl(self.data, min, max)
            t = _wrap(out if type(out) is _ndarray else np.asarray(out))
            if self._rg and STATE.enabled:
                _record(op, t, (self, min, max), (True, False, False))
            return t
        return apply_op(op, self, min, max)

    clip = clamp

    # ---- reductions -----------------------------------------------------------------------

    def _reduce(self, op, dim, keepdim, axis, keepdims, dtype=None):
        if axis is not None:
            dim = axis
        if keepdims is not None:
            keepdim = keepdims
        dim = _dims(dim, self.data.ndim)
        kwargs = {}
        if dim is not None:
            kwargs["axis"] = dim
            if op.name.endswith("0"):
                op = _variant(op, op.name[:-1] + "1")
        if keepdim:
            kwargs["keepdims"] = True
        if dtype is not None:
            return self.to(dtype)._reduce(op, dim, keepdim, None, None)
        return _apply1(op, self, kwargs)

    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        """Sum over ``dim`` (an int or tuple; all when None), keeping it with ``keepdim``."""
        if dim is None and axis is None and not keepdim and not keepdims and dtype is None:
            return _apply1(_SUM, self)
        return self._reduce(_SUM, dim, keepdim, axis, keepdims, dtype)

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        return self._reduce(OPS["mean"], dim, keepdim, axis, keepdims, dtype)

    def prod(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        return self._reduce(OPS["prod"], dim, keepdim, axis, keepdims, dtype)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest element; with ``dim``, ``(values, indices)`` along it; with a Tensor,
        the elementwise maximum."""
        return self._minmax("max", np.argmax, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._minmax("min", np.argmin, dim, keepdim, axis, keepdims)

    def _minmax(self, which, arg, dim, keepdim, axis, keepdims):
        if isinstance(dim, Tensor):
            return self.maximum(dim) if which == "max" else self.minimum(dim)
        if axis is not None or keepdims is not None or dim is None:
            # numpy spelling or a full reduction: the np.max / np.min rule
            return self._reduce(OPS[which], dim, keepdim, axis, keepdims)
        dim = int(dim) % max(self.data.ndim, 1)
        indices = arg(self.data, axis=dim)
        index = list(np.indices(indices.shape, sparse=True))
        index.insert(dim, indices) if self.data.ndim else None
        index = tuple(index) if self.data.ndim else ()
        name = "MaxBackward0" if which == "max" else "MinBackward0"
        values = self._getitem(index, name)
        idx = _wrap(indices)
        if keepdim:
            values = values.unsqueeze(dim)
            idx = _wrap(np.expand_dims(indices, dim))
        return MinMax(values, idx)

    def argmax(self, dim=None, keepdim=False):
        return _wrap(np.asarray(np.argmax(self.data, axis=dim, keepdims=keepdim)))

    def argmin(self, dim=None, keepdim=False):
        return _wrap(np.asarray(np.argmin(self.data, axis=dim, keepdims=keepdim)))

    # ---- shapes ----------------------------------------------------------------------------

    def _reshape(self, shape, name):
        op = _RESHAPE if name == "ViewBackward0" else _variant(_RESHAPE, name)
        out = _apply1(op, self, {"shape": shape})
        return _view_of(out, self)

    def reshape(self, *shape, order=None):
        """The same elements in another shape (``-1`` infers one size)."""
        return self._reshape(_shape_arg(shape), "ViewBackward0")

    def view(self, *shape):
        if shape and isinstance(shape[0], (type, np.dtype, str)):
            raise RuntimeError("view(dtype) is not supported by transgrad")
        return self._reshape(_shape_arg(shape), "ViewBackward0")

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.data.shape
        if not shape:
            return self._reshape((1,), "ViewBackward0")
        s, e = start_dim % len(shape), end_dim % len(shape)
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self._reshape(shape[:s] + (n,) + shape[e + 1:], "ViewBackward0")

    def ravel(self):
        return self.flatten()

    def unsqueeze(self, dim):
        """A new axis of size 1 at ``dim``."""
        shape = list(self.data.shape)
        dim = dim % (len(shape) + 1) if dim < 0 else dim
        shape.insert(dim, 1)
        return self._reshape(tuple(shape), "UnsqueezeBackward0")

    def squeeze(self, dim=None, *, axis=None):
        """Without the axes of size 1 (only ``dim`` when given, if its size is 1)."""
        if axis is not None:
            dim = axis
        shape = self.data.shape
        if dim is None:
            new = tuple(s for s in shape if s != 1)
            name = "SqueezeBackward0"
        else:
            dims = {d % max(len(shape), 1) for d in (dim if isinstance(dim, (tuple, list))
                                                     else (dim,))}
            new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
            name = "SqueezeBackward1"
        return self._reshape(new, name)

    def expand_dims(self, axis):
        return self.unsqueeze(axis)

    def permute(self, *dims):
        """The axes reordered: axis i of the result is axis ``dims[i]`` of this tensor."""
        dims = tuple(int(d) for d in _shape_arg(dims))
        name = "PermuteBackward0"
        op = _TRANSPOSE if name == _TRANSPOSE.name else _variant(_TRANSPOSE, name)
        return _view_of(_apply1(op, self, {"axes": dims}), self)

    def _swap(self, dim0, dim1, name):
        n = self.data.ndim
        axes = list(range(n))
        if n:
            dim0, dim1 = dim0 % n, dim1 % n
            axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return _view_of(_apply1(_variant(_TRANSPOSE, name), self, {"axes": tuple(axes)}), self)

    def transpose(self, *dims):
        """``transpose(dim0, dim1)`` swaps two axes (PyTorch); ``transpose()`` reverses them
        and ``transpose(axes)`` permutes them (numpy)."""
        if len(dims) == 2 and not isinstance(dims[0], (tuple, list)):
            return self._swap(dims[0], dims[1], "TransposeBackward0")
        if not dims:
            return self.permute(*range(self.data.ndim - 1, -1, -1))
        return self.permute(*dims)

    def swapaxes(self, axis1, axis2):
        return self._swap(axis1, axis2, "TransposeBackward0")

    swapdims = swapaxes

    def t(self):
        """The transpose of a tensor of at most 2 dimensions."""
        if self.data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.data.ndim}D")
        if self.data.ndim < 2:
            return self._swap(0, 0, "TBackward0") if self.data.ndim else self
        return self._swap(0, 1, "TBackward0")

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        shape = self.data.shape
        lead = len(sizes) - len(shape)
        full = tuple(s if s != -1 else shape[i - lead] for i, s in enumerate(sizes))
        return _view_of(_apply1(OPS["expand"], self, {"shape": full}), self)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    # ---- indexing ---------------------------------------------------------------------------

    def _getitem(self, index, name):
        op = _GETITEM if name == _GETITEM.name else _variant(_GETITEM, name)
        out = self.data[index]
        if type(out) is not _ndarray:
            out = np.asarray(out)
        t = _wrap(out)
        if self._rg and STATE.enabled:
            _record(op, t, (self, index), (True, False))
        return _view_of(t, self, index)

    def __getitem__(self, index):
        index = _index(index)
        return self._getitem(index, _index_name(index))

    def __setitem__(self, index, value):
        """``t[index] = value`` in place; recorded (as ``index_update``) when needed."""
        index = _index(index)
        vd, rv = _operand(value)
        if STATE.enabled and (self._rg or rv):
            _check_inplace(self, "index assignment")
            out = scatter.index_update(self.data, index, vd)
            result = _wrap(out)
            _record(_UPDATE, result, (self, index, value), (self._rg, False, rv))
            _rebase(self, result)
            return
        self.data[index] = vd
        _bump(self)

    def __len__(self):
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if not self.data.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # ---- in place ---------------------------------------------------------------------------

    def add_(self, other, alpha=1):
        return _inplace(self, _ADD, other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other, alpha=1):
        return _inplace(self, _SUB, other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other):
        return _inplace(self, _MUL, other, "mul_")

    def div_(self, other):
        return _inplace(self, _DIV, other, "div_")

    def pow_(self, exponent):
        return _inplace(self, _POW, exponent, "pow_")

    def clamp_(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        mn, rmin = _operand(min) if min is not None else (None, False)
        mx, rmax = _operand(max) if max is not None else (None, False)
        if STATE.enabled and (self._rg or rmin or rmax):
            _check_inplace(self, "clamp_")
            op = OPS["clamp"]
            result = _wrap(np.asarray(op.impl(self.data, mn, mx)))
            _record(op, result, (self, min, max), (self._rg, rmin, rmax), inplace=True)
            _rebase(self, result)
            return self
        np.copyto(self.data, OPS["clamp"].impl(self.data, mn, mx), casting="same_kind")
        _bump(self)
        return self

    def fill_(self, value):
        """Set every element to ``value`` (a number or a one-element Tensor)."""
        self[...] = value
        return self

    def zero_(self):
        self[...] = 0
        return self

    def copy_(self, src):
        self[...] = src
        return self

    def __iadd__(self, other):
        return _inplace(self, _ADD, other, "+=")

    def __isub__(self, other):
        return _inplace(self, _SUB, other, "-=")

    def __imul__(self, other):
        return _inplace(self, _MUL, other, "*=")

    def __itruediv__(self, other):
        return _inplace(self, _DIV, other, "/=")

    # ---- comparisons (constants: no gradient) -----------------------------------------------

    def _compare(self, func, other):
        return _wrap(np.asarray(func(self.data, _operand(other)[0])))

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    def __eq__(self, other):
        if other is None:
            return False
        return self._compare(np.equal, other)

    def __ne__(self, other):
        if other is None:
            return True
        return self._compare(np.not_equal, other)

    __hash__ = object.__hash__

    def __invert__(self):
        return _wrap(np.asarray(~self.data))

    def __and__(self, other):
        return self._compare(np.logical_and if self.data.dtype == bool else np.bitwise_and,
                             other)

    def __or__(self, other):
        return self._compare(np.logical_or if self.data.dtype == bool else np.bitwise_or,
                             other)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def equal(self, other):
        return bool(np.array_equal(self.data, _as_array(other)))

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        return bool(np.allclose(self.data, _as_array(other), rtol=rtol, atol=atol))

    # ---- conversions ------------------------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or "out" in kwargs:
            if STATE.enabled and any(isinstance(x, Tensor) and x._rg for x in inputs):
                what = f"np.{ufunc.__name__}" + (f".{method}" if method != "__call__" else "")
                raise RuntimeError(
                    f"{what} with out= or as a ufunc method is not recorded: use the plain call "
                    f"(np.{ufunc.__name__}(x)) or a reduction such as np.sum on Tensors that "
                    "require grad, or compute it inside tg.no_grad()")
            arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
            if "out" in kwargs:
                kwargs["out"] = tuple(o.data if isinstance(o, Tensor) else o
                                      for o in kwargs["out"])
            result = getattr(ufunc, method)(*arrays, **kwargs)
            return _wrap(np.asarray(result)) if isinstance(result, _ndarray) else result
        return apply(ufunc, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .namespace import NAMESPACE
        impl = getattr(NAMESPACE, getattr(func, "__name__", ""), None)
        if impl is not None and getattr(impl, "__wrapped__", None) is func:
            return impl(*args, **kwargs)
        return apply(func, *args, **kwargs)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous "
                f"({self.data.size} values)")
        return bool(self.data.item())

    def __format__(self, spec):
        if self.data.size == 1 and spec:
            return format(self.data.item(), spec)
        return format(str(self), spec)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __getattr__(self, name):
        # numpy's array methods (``x.cumsum(axis=0)``) through the Tensor namespace
        if not name.startswith("_") and callable(getattr(_ndarray, name, None)):
            from .namespace import NAMESPACE
            func = getattr(NAMESPACE, name, None)
            if func is not None:
                return lambda *args, **kwargs: func(self, *args, **kwargs)
        raise AttributeError(f"'Tensor' object has no attribute '{name}'")

    def __reduce__(self):
        return (_rebuild, (self.data, self._rg))

    def float(self):
        return self.to(np.float32)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)


def _rebuild(data, requires_grad):
    t = _wrap(data)
    t._rg = requires_grad
    return t


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


class MinMax(tuple):
    """``(values, indices)`` from ``max(dim)``/``min(dim)``, like PyTorch's named tuple."""

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


# ------------------------------------------------------------------------------------------
# creation and functions of several tensors


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new leaf Tensor holding a copy of ``data`` (an array, a nested list, a number).

    Example::

        x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    """
    _check_device(device)
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, dtype=dtype, copy=True)
    t = _wrap(array)
    if requires_grad:
        t.requires_grad_(True)
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
