"""transgrad: automatic differentiation of numerical Python by source transformation.

    import transgrad as tg
    dloss = tg.grad(loss)        # generated Python source: print(dloss.source)
"""

from . import rules  # noqa: F401  (registers the derivative table)
from .api import GradientFunction, grad, source, value_and_grad, vjp
from .custom import defvjp, grad_of, stop_gradient
from .errors import TransformError
from .export import export

__version__ = "0.1.0"
__all__ = ["GradientFunction", "TransformError", "defvjp", "export", "grad", "grad_of", "source", "stop_gradient",
           "value_and_grad", "vjp"]
