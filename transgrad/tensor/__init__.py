"""The dynamic Tensor: PyTorch's eager autograd API over numpy, on transgrad's rule table.

``Tensor`` records the operations applied to it (the class is assembled in ``tensor`` from
``core`` and one module per job: ``ops``, the ops table read from the rules' declarations;
``record``, the tape recording; ``methods``; ``views``, views and version counters;
``torch_shims``), ``backward()`` walks the record (``engine``) and calls, for each operation,
the same derivative rule the compiler inlines (``transgrad/rules/``, prepared by ``prepare``;
copied onto the Tensor namespace of ``namespace`` when the backward pass is itself recorded).
``no_grad`` and friends switch recording off (``grad_mode``); ``Function`` lets users write
their own backward (``function``). Imports go one way: grad_mode, tape, prepare -> core ->
torch_shims, record -> ops -> methods, views, namespace -> engine -> function -> tensor.

Example::

    import numpy as np
    from transgrad.tensor import tensor, no_grad

    w = tensor(np.random.randn(3, 2), requires_grad=True)
    x = tensor(np.random.randn(5, 3))
    loss = (x.mm(w).tanh() ** 2).sum()
    loss.backward()                  # w.grad: d loss / d w
    with no_grad():
        w -= 0.1 * w.grad
"""

from .engine import backward, grad
from .function import BackwardCFunction, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import OPS, Tensor, apply, cat, device, stack, tensor, where

autograd_grad = grad

__all__ = [
           "OPS",
           "BackwardCFunction",
           "Function",
           "Tensor",
           "apply",
           "autograd_grad",
           "backward",
           "cat",
           "device",
           "enable_grad",
           "grad",
           "is_grad_enabled",
           "no_grad",
           "set_grad_enabled",
           "stack",
           "tensor",
           "where",
]
