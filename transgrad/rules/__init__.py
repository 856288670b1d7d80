"""The one table of derivatives.

Every derivative transgrad knows is declared once, here, as a plain Python function::

    @vjp(np.sin, math.sin, elementwise=True, samples=[Sample((A(3),))])
    def sin(g, ans, x):
        return g * np.cos(x)

The contract of a reverse rule (a VJP):

* **Parameters.** ``g`` is the cotangent of the output, ``ans`` the output the primal computed
  (reuse it instead of recomputing), then the primitive's own parameters, spelled and ordered as
  the primitive spells them, keyword parameters with their literal defaults.
* **Return.** One cotangent per *leading positional* parameter after ``g, ans`` — a tuple when
  there are several, a bare value when there is one. ``None`` means the argument gets no
  derivative (it is an integer, an axis, a mask): asking for one there is an error, never a
  silent zero. A parameter that takes a sequence of arrays (``np.concatenate``'s ``arrays``)
  gets a sequence of cotangents.
* **Names in scope.** Only ``np`` (the backend's array namespace: ``numpy`` or ``jax.numpy``),
  ``math``, ``tgr`` (``transgrad.runtime`` for the backend) and builtins. The compiler inlines
  the body into generated code where nothing else exists; the dynamic Tensor calls the same
  function.
* **Body.** Straight-line statements ending in a single ``return``; ``if`` statements on the
  non-differentiable parameters are allowed (the compiler folds them when they are constant).
  Never modify ``g`` or an argument in place: ``g`` may be shared.
* **Broadcasting** is undone once, in the engine: declare ``broadcasting=True`` and return
  cotangents in the broadcast shape.
* **Samples.** Every rule carries ``samples``; one parametrized test checks every rule against
  central finite differences, so a rule without samples fails the suite.

Callables with no derivative (shapes, argmax, rounding, random numbers) are declared with
``nondifferentiable(...)``: their outputs are constants.
"""

# importing each module registers its rules; containers, nn and scatter hold Tensor primitives
from . import (arithmetic, constants, containers, einsum, elementwise,  # noqa: F401,I001
               generated, indexing, linalg, nn, reductions, scalar, scatter, shape)
from .registry import (NONDIFFERENTIABLE, VJP_RULES, Rule, Sample, all_rules,  # noqa: F401
                       is_nondifferentiable, lookup_vjp, nondifferentiable, register_vjp, vjp)
