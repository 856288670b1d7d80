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

**One declaration per primitive.** Everything else transgrad knows about a primitive is said in
keywords of the same decorator, and read from the tables in ``registry.py``: its forward-mode
kind (``linear=True`` or positions, ``jointly_linear``, ``reduction``, ``diagonal``; or an
explicit ``@jvp`` rule beside it), its array-method spelling (``method="sum"``,
``attribute="T"``), the eager Tensor's op and torch names (``tensor=``, ``tensor_node=``,
``torch=``) and its JAX twin where it is not ``jnp.<name>`` (``jax=``). A formula the rule calls
as ``tgr.<name>`` is written beside it with ``@helper`` (which installs it into the ``tgr``
namespace) and, for second derivatives, its own ``@vjp`` rule and linearity::

    @vjp(np.tile, linear=True, samples=[Sample((A(3), 2))])
    def tile(g, ans, A, reps):
        return tgr.tile_vjp(g, A, reps)

    @helper(linear=(0,))
    def tile_vjp(g, a, reps):
        ...

    @vjp(tile_vjp, samples=[Sample((A(6), A(3), 2))])
    def tile_vjp_rule(gg, ans, g, a, reps):
        return np.tile(gg, reps), tgr.zeros_like_value(a), None
"""

# importing each module registers its rules; containers, nn and scatter hold Tensor primitives
from . import (arithmetic, constants, containers, einsum, elementwise,  # noqa: F401,I001
               generated, indexing, linalg, nn, numeric, reductions, scalar, scatter, shape,
               statistics, decompositions)
from . import complex_numbers, fft  # noqa: F401,I001
try:    # scipy is optional: its rules load when it imports
    import scipy  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    from . import integrate, scipy_linalg, scipy_special, scipy_stats  # noqa: F401
from .registry import (  # noqa: F401
    ATTRIBUTES,
    JAX_TWINS,
    META_CALLS,
    METHODS,
    NONDIFFERENTIABLE,
    SHAPE_ONLY,
    TENSOR_OPS,
    TORCH_NAMES,
    VARARG_METHODS,
    VJP_RULES,
    CallableSet,
    CallableTable,
    Rule,
    Sample,
    all_rules,
    check_source_differentiable,
    declare,
    helper,
    is_nondifferentiable,
    jvp,
    linear,
    lookup_vjp,
    nondifferentiable,
    register_vjp,
    vjp,
)
