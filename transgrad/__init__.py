"""transgrad: automatic differentiation of numerical Python by source transformation.

    import transgrad as tg
    dloss = tg.grad(loss)        # generated Python source: print(dloss.source)
"""

from . import rules  # noqa: F401  (registers the derivative table)
from .api import GradientFunction, grad, jvp, source, value_and_grad, vjp
from .checkpoint import checkpoint
from .custom import defvjp, grad_of, stop_gradient
from .errors import TransformError
from .export import export
from .higher import hessian, hvp, jacfwd, jacobian, jacrev
from .tensor import (
                     Function,
                     Tensor,
                     autograd_grad,
                     cat,
                     enable_grad,
                     is_grad_enabled,
                     no_grad,
                     set_grad_enabled,
                     stack,
                     tensor,
                     where,
)

__version__ = "0.1.0"
__all__ = ["Function", "GradientFunction", "Tensor", "TransformError", "autograd_grad", "cat",
           "checkpoint",
           "defvjp", "enable_grad", "export", "grad", "grad_of", "hessian", "hvp",
           "is_grad_enabled", "jacfwd", "jacobian", "jacrev", "jvp", "no_grad",
           "set_grad_enabled", "source", "stack", "stop_gradient", "tensor", "value_and_grad",
           "vjp", "where"]
