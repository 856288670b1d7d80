"""The eager ``Tensor``, assembled: its data (``core``) plus one group of methods per job.

Every differentiable operation is a primitive with a rule in ``transgrad/rules/`` (``x * y`` is
``np.multiply``, ``x.sum(1)`` is ``np.sum(x, axis=1)``, ``x.unsqueeze(0)`` is ``np.reshape``);
the Tensor computes the result with numpy and, when grad mode is on and an operand requires
grad, records a node that will call that rule on backward. Nothing about derivatives is
written in this package.

Where each method is written (the modules import one another in this order, never back):

* ``core``: the slots, plain attributes (``shape``, ``grad``, ``requires_grad_``) and
  conversions (``item``, ``__repr__``).
* ``ops``: the ops table, declared with the rules (``tensor=`` in ``transgrad/rules/``).
  An entry without a hand-written method becomes one here (``x.exp()``, ``x.maximum(y)``).
* ``methods``: arithmetic operators, products, reductions, comparisons.
* ``views``: shapes, indexing and in-place operations (views and version counters).
* ``record``: hooks on the tape; ``engine``: ``backward``.
* ``namespace``: numpy's protocols (``np.sin(x)``, ``x.cumsum()``).
* ``torch_shims``: PyTorch's spellings (``x.dim()``, ``x.to(...)``, ``x.size()``).

Importing a name from here keeps working for everything the package exports (``Tensor``,
``tensor``, ``OPS``, ``apply``, ``cat``, ``stack``, ``where``, ``device``).
"""

import types

from . import engine, methods, namespace, ops, record, torch_shims, views
from .core import Tensor, _rebuild, _wrap  # noqa: F401  (_rebuild: unpickles a Tensor)
from .ops import OPS, apply, apply_op, cat, stack, where
from .torch_shims import CPU, device, tensor

__all__ = ["CPU", "OPS", "Tensor", "apply", "apply_op", "cat", "device", "stack", "tensor",
           "where"]

# what a class body holds besides its methods
_CLASS_MACHINERY = frozenset(vars(type("Empty", (), {})))


def _attach(cls, group):
    """Give ``cls`` the methods and properties defined in the class body of ``group``."""
    for name, value in vars(group).items():
        if name in _CLASS_MACHINERY:
            continue
        if isinstance(value, types.FunctionType) and value.__name__ == name:
            value.__qualname__ = f"{cls.__name__}.{name}"
        setattr(cls, name, value)


for _group in (record.HookMethods, engine.BackwardMethod, methods.ArithmeticMethods,
               methods.ReductionMethods, methods.ComparisonMethods, views.ViewMethods,
               views.InPlaceMethods, namespace.NumpyProtocol, torch_shims.TorchMethods):
    _attach(Tensor, _group)
# the methods made from the ops table (``torch.<name>`` follows them)
GENERATED_METHODS = tuple(name for name in ops.OPS
                          if name not in ops.NOT_METHODS and not hasattr(Tensor, name))
for _name in GENERATED_METHODS:
    setattr(Tensor, _name, ops.method_for(_name, ops.OPS[_name]))
del _group, _name
