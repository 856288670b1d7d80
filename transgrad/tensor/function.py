"""Custom differentiable operations: subclass ``Function``, as in PyTorch.

The subclass's ``forward`` runs with recording off; its ``backward`` is the node that the tape
calls. This is the one place where a derivative is written by the *user*, for the user's own
operation; the rule table stays the only source of derivatives for everything else.
"""

import numpy as np

from .core import Tensor, _wrap
from .engine import _modified
from .grad_mode import STATE
from .record import _edge
from .tape import FREED_MESSAGE, Node, SavedOutput, _sequence


class BackwardCFunction(Node):
    """The ``ctx`` of a custom Function and its node in the graph (``y.grad_fn is ctx``).

    ``ctx.save_for_backward(*tensors)``, ``ctx.saved_tensors``, ``ctx.needs_input_grad``,
    ``ctx.mark_non_differentiable(*outputs)``, ``ctx.set_materialize_grads(flag)``, and any
    attribute you set on it.
    """

    _kind = 2
    _forward_cls = None
    # defaults, overridden per instance when they change (apply sets only what it must)
    _mask = ()
    _saved = ()
    _saved_versions = ()
    _freed = False
    _non_differentiable = frozenset()
    _dirty = frozenset()
    _materialize = True
    _nout = 1
    _out_meta = ()
    _is_tensor = ()
    needs_input_grad = ()

    def __init__(self):
        self._seq = -1
        self._edges = ()
        self._hooks = None

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (or None) for ``backward``; in-place changes to them are detected."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{type(t).__name__} is not a Variable")
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else t._version[0] for t in tensors)

    @property
    def saved_tensors(self):
        """The tensors given to ``save_for_backward``, checked for in-place modification."""
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        for t, version in zip(self._saved, self._saved_versions):
            if t is not None and t._version[0] != version:
                raise _modified(t, version, self)
        return tuple(self._materialize_saved(t) for t in self._saved)

    def _materialize_saved(self, t):
        if not isinstance(t, SavedOutput):
            return t
        out = _wrap(t.data)       # this node's own output, rebuilt without a stored cycle
        out._version, out._rg, out.grad_fn, out._nr = t._version, True, self, t._nr
        return out

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = self._non_differentiable | {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        self._dirty = self._dirty | {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    def _run_backward(self, g, create, retain):
        """Call the user's backward; return one cotangent per input that requires grad."""
        name = type(self).__name__
        grads = list(g) if self._nout != 1 else [g]
        for i, gi in enumerate(grads):
            meta = self._out_meta[i]
            if gi is None and self._materialize and meta is not None:
                gi = np.zeros(meta[0], meta[1])
                grads[i] = _wrap(gi)
            elif gi is not None and not isinstance(gi, Tensor):
                grads[i] = _wrap(gi)
        result = self._forward_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self._mask)
        if len(result) != n:
            if len(result) > n and all(r is None for r in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                                   f"(expected {n}, got {len(result)})")
        cots = []
        edges = iter(self._edges)
        for i, (r, needed) in enumerate(zip(result, self._mask)):
            if not needed:
                if r is not None and not self._is_tensor[i]:
                    raise RuntimeError(
                        f"function {name} returned a gradient different than None at position "
                        f"{i + 1}, but the corresponding forward input was not a Variable")
                continue
            shape = next(edges)[2]
            if r is None:
                cots.append(None)
                continue
            data = r.data if isinstance(r, Tensor) else np.asarray(r)
            if data.shape != shape:
                try:
                    ok = np.broadcast_shapes(shape, data.shape) == data.shape
                except ValueError:
                    ok = False
                if not ok:
                    raise RuntimeError(
                        f"Function {name} returned an invalid gradient at index {i} - got "
                        f"{list(data.shape)} but expected shape compatible with {list(shape)}")
            if create:
                cots.append(r if isinstance(r, Tensor) else _wrap(data))
            else:
                cots.append(data)
        if not retain:
            self._saved = None
            self._freed = True
        return cots


def _is_input(o, args):
    for a in args:
        if o is a:
            return True
    return False


class _FunctionMeta(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._backward_cls = type(f"{name}Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__module__": cls.__module__})
        # new style: forward(*args) plus setup_context(ctx, inputs, output)
        cls._new_style = any("setup_context" in vars(b) for b in cls.__mro__
                             if not (b.__name__ == "Function" and b.__module__ == __name__))


class Function(metaclass=_FunctionMeta):
    """A differentiable operation with a hand-written backward.

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` and
    call it through ``apply``. ``backward`` returns one gradient per input of ``forward``
    (``None`` for inputs that need none), each shaped like its input.

    Example::

        class MyReLU(tg.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                x, = ctx.saved_tensors
                grad = grad_output.clone()
                grad[x < 0] = 0
                return grad

        y = MyReLU.apply(x)
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on ``args`` and record ``backward`` for the outputs."""
        ctx = cls._backward_cls()
        mask = []
        is_tensor = []
        for a in args:
            t = isinstance(a, Tensor)
            is_tensor.append(t)
            mask.append(t and a._rg)
        ctx.needs_input_grad = mask = tuple(mask)
        ctx._is_tensor = is_tensor
        prev = STATE.enabled
        recording = prev and True in mask
        STATE.enabled = False
        try:
            if cls._new_style:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        if not recording:
            return out
        is_tuple = isinstance(out, tuple)
        outs = list(out) if is_tuple else [out]
        ctx._mask = mask
        ctx._edges = tuple([_edge(a) for a, m in zip(args, mask) if m])
        ctx._seq = next(_sequence)
        if len(outs) != 1:
            ctx._nout = len(outs)
        meta = []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                meta.append(None)
                continue
            if id(o) in ctx._dirty:
                o._version[0] += 1
            elif _is_input(o, args):
                alias = _wrap(o.data)      # an input returned as is: a new tensor, same memory
                alias._version = o._version
                outs[i] = o = alias
            meta.append((o.data.shape, o.data.dtype))
            if id(o) in ctx._non_differentiable or o.data.dtype.kind not in "fc":
                continue
            o._rg = True
            o.grad_fn = ctx
            o._nr = i
        ctx._out_meta = tuple(meta)
        if ctx._saved:
            ctx._saved = tuple(SavedOutput(t, ctx.name()) if t is not None and t.grad_fn is ctx
                               else t for t in ctx._saved)
        return tuple(outs) if is_tuple else outs[0]
