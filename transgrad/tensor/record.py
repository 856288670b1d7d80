"""Recording: make a fresh Tensor the output of a tape node that will call a rule.

``_record`` (any operands) and ``_record1`` (one operand that requires grad, the most frequent
case) look the primitive's rule up in the table (``transgrad/rules/``), prepare it for the
pattern of operands that need gradients (``prepare``), link one edge per such operand and
keep what the rule reads, with the version of each saved Tensor so that backward can refuse
a value modified in place since. ``HookMethods``: the Tensor's ``register_hook``,
``retain_grad`` and ``retains_grad``, which hang on the node.
"""

import weakref

from ..rules.registry import VJP_RULES
from .core import Tensor, _new, _wrap
from .prepare import RuleError, prepare_rule
from .tape import RemovableHandle, SavedOutput, _sequence, accumulator, multi_node_class

_rules_get = VJP_RULES.get
_EMPTY = {}


def describe(func):
    """How an error message names a primitive: ``np.sin``, ``operator.mul``, ``mod.f``."""
    name = getattr(func, "__name__", repr(func))
    module = getattr(func, "__module__", None) or ""
    if type(func).__name__ == "ufunc" or module.startswith("numpy"):
        public = [p for p in module.split(".")[1:] if not p.startswith("_")]
        return ".".join(["np"] + public + [name])
    if module == "_operator":
        return f"operator.{name}"
    return f"{module}.{name}" if module else name


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
        spec = _prepare(op, rule, mask)
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
        spec = _prepare(op, rule, _ONE)
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


def _prepare(op, rule, mask):
    if rule is None:
        raise RuntimeError(
            f"transgrad has no derivative rule for `{describe(op.func)}`, which "
            f"{op.name} needs; register one in transgrad/rules/ (or compute this value "
            f"inside tg.no_grad())")
    try:
        spec = prepare_rule(rule, mask)
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


class HookMethods:
    """The Tensor's hooks on the tape (attached to ``Tensor`` by ``tensor.py``)."""

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
