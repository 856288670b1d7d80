"""The tape: one node per recorded operation, linked to the nodes of its inputs.

A node knows what backward needs and nothing else: the rule (from ``transgrad/rules/``), the
operands the rule reads (see ``prepare``), the version of each saved operand, and one edge
per operand that needs a gradient: ``(node, output_nr, shape, dtype)``. Broadcasting is undone
once, by the engine, from the edge's shape. Leaves that require grad get an ``AccumulateGrad``
node, as in PyTorch, so ``grad_fn.next_functions`` walks the whole graph.
"""

import itertools
import weakref

_sequence = itertools.count()   # creation order: consumers are always newer than producers
_CLASSES = {}

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


class Node:
    """A recorded operation (PyTorch's ``grad_fn``). Its class name is PyTorch's node name."""

    __slots__ = ("__weakref__", "_edges", "_hooks", "_seq")
    _nout = 1
    _kind = 0

    def name(self):
        return type(self).__name__

    @property
    def next_functions(self):
        """One ``(node, output_nr)`` per differentiable input; ``(None, 0)`` for constants."""
        edges = iter(self._edges)
        out = []
        for needed in self._mask:
            edge = next(edges) if needed else None
            out.append((None, 0) if edge is None else (edge[0], edge[1]))
        return tuple(out)

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` runs after this node; it may not modify them."""
        hooks = _node_hooks(self)
        hooks.append(("post", 0, hook))
        return RemovableHandle(hooks, hooks[-1])

    def register_prehook(self, hook):
        """``hook(grad_outputs)`` runs before this node and may return replacements."""
        hooks = _node_hooks(self)
        hooks.append(("pre", 0, hook))
        return RemovableHandle(hooks, hooks[-1])

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"


def _node_hooks(node):
    if node._hooks is None:
        node._hooks = []
    return node._hooks


class OpNode(Node):
    """A node whose backward is a rule of the table."""

    # _checks: (input Tensor, version when saved) pairs; _ansv: (the output's version counter,
    # its value when saved), kept apart because holding the output Tensor would be a cycle
    __slots__ = ("_ans", "_ansv", "_args", "_checks", "_kwargs", "_spec")

    @property
    def rule(self):
        """The ``transgrad.rules.Rule`` this node calls on backward."""
        return self._spec.rule

    @property
    def _mask(self):
        return self._spec.mask


class AccumulateGrad(Node):
    """The sink of a leaf that requires grad: adds the arriving gradient to ``variable.grad``."""

    __slots__ = ("variable",)
    _kind = 1
    _mask = ()

    def __init__(self, variable):
        self._seq = next(_sequence)
        self._edges = ()
        self._hooks = None
        self.variable = variable


def node_class(name):
    """The OpNode subclass called ``name`` (``MulBackward0``...), made once."""
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (OpNode,), {"__slots__": (), "__module__": __name__})
    return cls


class MultiOpNode(OpNode):
    """An OpNode of a primitive with several outputs (``np.split``): its rule gets a list."""

    __slots__ = ("_nout",)


def multi_node_class(name):
    """The MultiOpNode subclass called ``name``, made once."""
    key = ("multi", name)
    cls = _CLASSES.get(key)
    if cls is None:
        cls = _CLASSES[key] = type(name, (MultiOpNode,), {"__slots__": (),
                                                           "__module__": __name__})
    return cls


def accumulator(tensor):
    """The AccumulateGrad node of a leaf; kept while some graph refers to it, as in PyTorch."""
    ref = tensor._accum
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._accum = weakref.ref(node)
    return node


class SavedOutput:
    """What a node keeps of its own output for the in-place check: the Tensor itself would
    make a reference cycle (output -> node -> output)."""

    __slots__ = ("_nr", "_version", "data", "name")

    def __init__(self, tensor, name):
        self.data = tensor.data
        self._version = tensor._version
        self._nr = tensor._nr
        self.name = name


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks, entry):
        self._hooks = hooks
        self._entry = entry

    def remove(self):
        hooks = self._hooks
        for i, e in enumerate(hooks):
            if e is self._entry:
                del hooks[i]
                return

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
