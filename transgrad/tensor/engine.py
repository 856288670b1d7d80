"""Backward: walk the tape from the outputs, call each node's rule, accumulate into leaves.

Nodes run newest first (a node is always newer than the nodes of its inputs), so each runs
once, after every gradient for it has arrived. In the ordinary mode gradients are numpy arrays
and each node calls its rule on arrays; with ``create_graph=True`` they are Tensors and each
node calls a copy of its rule bound to the Tensor namespace (``namespace.recording_copy``),
which records the backward pass. ``BackwardMethod`` is ``Tensor.backward``.
"""

import operator

import numpy as np

from .. import runtime
from .core import Tensor, _wrap
from .grad_mode import STATE
from .namespace import RUNTIME, recording_copy
from .tape import FREED_MESSAGE, SavedOutput, accumulator

_ndarray = np.ndarray
_unbroadcast = runtime.unbroadcast
_by_seq = operator.attrgetter("_seq")


def _order(roots):
    """Every node reachable from ``roots``, newest first."""
    seen = set()
    stack = list(roots)
    nodes = []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        for edge in node._edges:
            if edge is not None and edge[0] not in seen:
                stack.append(edge[0])
    nodes.sort(key=_by_seq, reverse=True)
    return nodes


def _prune(order, targets):
    """The nodes whose backward must run to reach a node in ``targets``."""
    reach = set()
    run = set()
    for node in reversed(order):            # oldest first: inputs before consumers
        below = False
        for edge in node._edges:
            if edge is not None and edge[0] in reach:
                below = True
                break
        if below:
            run.add(node)
        if below or node in targets:
            reach.add(node)
    return run


def _root_gradient(i, t, gradient, create):
    if gradient is None:
        if t.data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        if t.data.dtype.kind not in "fc":
            raise RuntimeError(f"grad can be implicitly created only for real scalar outputs "
                               f"but got {t.data.dtype}")
        g = np.ones_like(t.data)
        return _wrap(g) if create else g
    if isinstance(gradient, Tensor):
        data = gradient.data
    else:
        data = np.asarray(gradient, dtype=t.data.dtype)
        gradient = None
    if data.shape != t.data.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {data.shape} "
                           f"and output[{i}] has a shape of {t.data.shape}.")
    if create:
        return gradient if gradient is not None else _wrap(data)
    return data


def _roots(tensors, gradients, create):
    roots = []
    if gradients is not None and len(gradients) != len(tensors):
        raise RuntimeError(f"got {len(gradients)} gradients for {len(tensors)} outputs")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward expects Tensors, got {type(t).__name__}")
        if not t._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        g = _root_gradient(i, t, None if gradients is None else gradients[i], create)
        node = t.grad_fn if t.grad_fn is not None else accumulator(t)
        roots.append((node, t._nr, g))
    return roots


def _targets(inputs):
    targets = {}
    for k, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs must be Tensors, got {type(t).__name__}")
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        node = t.grad_fn if t.grad_fn is not None else accumulator(t)
        targets.setdefault(node, []).append((t._nr, k))
    return targets


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves (or only of
    ``inputs``), as ``torch.autograd.backward``."""
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    if isinstance(grad_tensors, (Tensor, _ndarray)):
        grad_tensors = (grad_tensors,)
    if retain_graph is None:
        retain_graph = create_graph
    tensors = tuple(tensors)
    roots = _roots(tensors, grad_tensors, create_graph)
    if inputs is None:
        _run(roots, retain_graph, create_graph, None, None)
        return
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    captured = [None] * len(inputs)
    _run(roots, retain_graph, create_graph, _targets(inputs), captured)
    for t, g in zip(inputs, captured):
        if g is not None:
            _accumulate(t, g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Example::

        x = tg.tensor([1.0, 2.0], requires_grad=True)
        (g,) = tg.autograd_grad((x ** 3).sum(), x, create_graph=True)   # 3 x**2
        (h,) = tg.autograd_grad(g.sum(), x)                              # 6 x
    """
    single_output = isinstance(outputs, Tensor)
    outputs = (outputs,) if single_output else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is not None:
        if isinstance(grad_outputs, (Tensor, _ndarray)):
            grad_outputs = (grad_outputs,)
        grad_outputs = tuple(grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    roots = _roots(outputs, grad_outputs, create_graph)
    captured = [None] * len(inputs)
    _run(roots, retain_graph, create_graph, _targets(inputs), captured)
    result = []
    for t, g in zip(inputs, captured):
        if g is None:
            if materialize_grads:
                result.append(_wrap(np.zeros_like(t.data)))
                continue
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior.")
            result.append(None)
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            if not g.flags.writeable:
                g = g.copy()
            result.append(_wrap(g))
    return tuple(result)


def _run(roots, retain, create, targets, captured):
    prev = STATE.enabled
    STATE.enabled = create
    try:
        _execute(roots, retain, create, targets, captured)
    finally:
        STATE.enabled = prev


def _execute(roots, retain, create, targets, captured):
    order = _order([r[0] for r in roots])
    run = None if targets is None else _prune(order, targets)
    buf = {}
    for node, nr, g in roots:
        _add(buf, node, nr, g)
    unbroadcast = _unbroadcast if not create else RUNTIME.unbroadcast
    for node in order:
        g = buf.pop(node, None)
        if g is None:
            continue
        if node._hooks is not None or (node._kind == 1 and node.variable._hooks):
            g = _prehooks(node, g, create)
        if targets is not None:
            hits = targets.get(node)
            if hits is not None:
                for nr, k in hits:
                    gk = g if node._nout == 1 else g[nr]
                    if gk is not None:
                        captured[k] = gk if captured[k] is None else captured[k] + gk
            if node not in run:
                continue
        kind = node._kind
        if kind == 1:
            _accumulate(node.variable, g, create)
            continue
        if kind == 0:
            if node._args is None:
                raise RuntimeError(FREED_MESSAGE)
            checks = node._checks
            if checks is not None:
                for t, version in checks:
                    if t._version[0] != version:
                        raise _modified(t, version, node)
            ansv = node._ansv
            if ansv is not None and ansv[0][0] != ansv[1]:
                raise _modified(_OwnOutput(node, ansv[0]), ansv[1], node)
            spec = node._spec
            if create:
                cots = _op_tensor_backward(node, spec, g)
            else:
                arrays = [a.data if isinstance(a, Tensor) else
                          ([t.data if isinstance(t, Tensor) else t for t in a]
                           if type(a) is list else a) for a in node._args]
                cots = spec.fn(g, node._ans, *arrays, **node._kwargs)
            if spec.single:
                cots = (cots,)
            if spec.flat is not None:
                cots = _flatten(cots, spec.flat)
            if spec.frees and not retain:
                node._args = node._ans = node._checks = node._ansv = None
            broadcasting = spec.broadcasting
        else:
            cots = node._run_backward(g, create, retain)
            broadcasting = True
        if node._hooks is not None:
            _posthooks(node, cots, g, create)
        for edge, c in zip(node._edges, cots):
            if edge is None:
                continue
            if c is None:
                if kind == 0:
                    raise RuntimeError(f"{node.name()}: the rule `{node.rule.name}` returned "
                                       "None for an operand that requires grad")
                continue
            nxt, nr, shape, dtype = edge
            if create:
                if not isinstance(c, Tensor):
                    c = _wrap(np.asarray(c))
            elif type(c) is not _ndarray:
                c = np.asarray(c)
            if c.shape != shape:
                if broadcasting and getattr(node.rule, "user", False) \
                        and not _broadcasts_to(shape, c.shape):
                    raise RuntimeError(   # tg.defvjp: a shape no broadcasting explains
                        f"{node.name()}: the rule `{node.rule.name}` (tg.defvjp) returned a "
                        f"gradient of shape {c.shape} for an operand of shape {shape}")
                if broadcasting:
                    c = unbroadcast(c, shape)
                elif c.size == np.prod(shape, dtype=int):
                    c = c.reshape(shape)        # () against (1,), say
                else:
                    raise RuntimeError(
                        f"{node.name()}: the rule `{node.rule.name}` returned a gradient of "
                        f"shape {c.shape} for an operand of shape {shape}")
            if c.dtype != dtype:
                c = c.astype(dtype)
            # `_add(buf, nxt, nr, c)`, inlined: this loop runs once per edge of the graph
            if nxt._nout == 1:
                prev = buf.get(nxt)
                buf[nxt] = c if prev is None else prev + c
            else:
                slots = buf.get(nxt)
                if slots is None:
                    slots = buf[nxt] = [None] * nxt._nout
                slots[nr] = c if slots[nr] is None else slots[nr] + c


def _add(buf, node, nr, g):
    if node._nout == 1:
        prev = buf.get(node)
        buf[node] = g if prev is None else prev + g
    else:
        slots = buf.get(node)
        if slots is None:
            slots = buf[node] = [None] * node._nout
        slots[nr] = g if slots[nr] is None else slots[nr] + g


def _flatten(cots, seq_flags):
    flat = []
    for c, is_seq in zip(cots, seq_flags):
        if is_seq:
            flat.extend(c)
        else:
            flat.append(c)
    return flat


def _broadcasts_to(shape, target):
    """Whether an operand of ``shape`` broadcasts to ``target`` (the output it took part in)."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _op_tensor_backward(node, spec, g):
    """The node's rule on Tensors, recorded (create_graph=True)."""
    ans = None
    if spec.uses_ans:
        if node._nout == 1:
            ans = _wrap(node._ans)
            ans._rg = True
            ans.grad_fn = node
        else:
            ans = []
            for i, a in enumerate(node._ans):
                t = _wrap(a)
                t._rg, t.grad_fn, t._nr = True, node, i
                ans.append(t)
    fn = spec.recording_fn
    if fn is None:
        fn = spec.recording_fn = recording_copy(spec.fn)
    return fn(g, ans, *node._args, **node._kwargs)


def _accumulate(t, g, create):
    """Add ``g`` to ``t.grad`` (in place, unless the gradient is itself differentiable)."""
    old = t._grad
    if create:
        if not isinstance(g, Tensor):
            g = _wrap(np.asarray(g))
        if old is None:
            t._grad = g if g.grad_fn is not None else _wrap(np.array(g.data, copy=True))
        else:
            t._grad = old + g
        return
    if isinstance(g, Tensor):
        g = g.data
    if old is None:
        t._grad = _wrap(np.array(g, dtype=t.data.dtype, copy=True))
    elif old._rg or not old.data.flags.writeable or old.data.shape != np.shape(g):
        t._grad = old + g
    else:
        np.add(old.data, g, out=old.data, casting="unsafe")
        old._version[0] += 1


class _OwnOutput:
    """A node's output, described for the error message."""

    def __init__(self, node, version):
        self.data, self._version, self._nr, self.name = node._ans, version, 0, node.name()


def _modified(t, version, node):
    if isinstance(t, (SavedOutput, _OwnOutput)):
        what = f"output {t._nr} of {t.name}"
    else:
        fn = t.grad_fn
        what = f"output {t._nr} of {fn.name()}" if fn is not None else "a leaf tensor"
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{t.data.dtype} tensor of shape {list(t.data.shape)}], which is "
        f"{what}, is at version {t._version[0]}; expected version {version} instead. Hint: "
        f"{node.name()} saved this tensor for backward and it was changed in place afterwards; "
        "use an out-of-place operation (x = x + 1 rather than x += 1) or clone() it first.")


def _as_tensor(g, create):
    return g if create or isinstance(g, Tensor) else _wrap(g)


def _as_gradient(value, like, create, what):
    if isinstance(value, Tensor):
        data = value.data
    else:
        data = np.asarray(value)
        value = None
    if data.shape != np.shape(like if not isinstance(like, Tensor) else like.data):
        raise RuntimeError(f"hook '{what}' has changed the size of value")
    if create:
        return value if value is not None else _wrap(data)
    return data


def _prehooks(node, g, create):
    """Tensor hooks, node pre-hooks and retain_grad for the gradient(s) arriving at ``node``."""
    hooks = node.variable._hooks if node._kind == 1 else node._hooks
    multi = node._nout != 1
    if hooks:
        for kind, nr, hook in list(hooks):
            if kind == "tensor":
                gi = g[nr] if multi else g
                if gi is None:
                    continue
                out = hook(_as_tensor(gi, create))
                if out is not None:
                    new = _as_gradient(out, gi, create, getattr(hook, "__name__", "hook"))
                    if multi:
                        g[nr] = new
                    else:
                        g = new
            elif kind == "pre":
                grads = tuple(_as_tensor(x, create) if x is not None else None
                              for x in (g if multi else [g]))
                out = hook(grads)
                if out is not None:
                    new = [None if o is None else _as_gradient(o, x, create, "pre-hook")
                           for o, x in zip(out, (g if multi else [g]))]
                    g = new if multi else new[0]
    if hooks:
        for kind, nr, ref in list(hooks):
            if kind == "retain":
                _retain(ref(), node, g[nr] if multi else g, create)
    return g


def _retain(t, node, g, create):
    """retain_grad: keep the gradient of the non-leaf ``t`` in ``t.grad``."""
    if t is None or g is None or t.grad_fn is not node:
        return
    if create:
        t._grad = g if t._grad is None else t._grad + g
    elif t._grad is None:
        data = g.data if isinstance(g, Tensor) else g
        t._grad = _wrap(np.array(data, copy=True))
    else:
        _accumulate(t, g, False)


def _posthooks(node, cots, g, create):
    for kind, _, hook in list(node._hooks):
        if kind == "post":
            grads_in = tuple(None if c is None else _as_tensor(c, create) for c in cots)
            grads_out = tuple(None if x is None else _as_tensor(x, create)
                              for x in (g if node._nout != 1 else [g]))
            hook(grads_in, grads_out)


class BackwardMethod:
    """``Tensor.backward`` (attached to ``Tensor`` by ``tensor.py``)."""

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` is needed unless ``self`` has one element; ``retain_graph`` keeps the
        graph for another backward; ``create_graph`` records this backward pass too, for
        higher derivatives.
        """
        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs)
