"""Forward-mode (JVP) rules, derived from the reverse table rather than written again.

* An **elementwise** rule's Jacobian is diagonal (after broadcasting), so its JVP is its VJP
  with the tangent in place of the cotangent: ``d sin(x) = dx * np.cos(x)``.
* A primitive **linear in each differentiable argument separately** (sums, reshapes, indexing,
  products such as ``@``) has the JVP ``f(dx, y) + f(x, dy)``: the primitive itself, applied to
  one tangent at a time. Those primitives are listed here, once.
* A **reduction** over ``axis`` (max, prod, var, norm...) has each output depend on its own
  slice only, so its JVP is ``np.sum(vjp(ones) * dx, axis)``: the VJP with a unit cotangent
  gives the slope of every element.
* The few others with forward rules have them written here (``@jvp``), over the same names as
  reverse rules: ``g`` is the argument's tangent and the result is the output's tangent.

Anything else has no forward rule yet: forward mode says so with a TransformError.
"""

import operator

import numpy as np

from .. import runtime
from .registry import (  # noqa: F401  (the tables forward mode reads, declared in rules/)
    DIAGONAL,
    JOINTLY_LINEAR,
    JVP_RULES,
    LINEAR_IN,
    MULTILINEAR,
    REDUCTIONS,
    SEQUENCE_LINEAR,
    jvp,
    lookup_vjp,
)
from .scatter import index_add, index_update

MULTILINEAR.update({
           
     operator.getitem, np.take, 
        runtime.append,
})
# linear in the listed positional arguments, each separately, and constant in the others
# (shapes, axes, an index or a permutation): mostly the helpers that generated reverse code
# calls, so forward mode runs over a gradient (forward over reverse) with the same table
LINEAR_IN.update({
    runtime.unbroadcast_to: (0,), runtime.expand_reduced: (0,), runtime.match: (0,),
    runtime.cotangent_of: (0,), runtime.unpacked_cotangent: (0,), runtime.ListCotangent: (0,),
    runtime.structure_part_list: (0,),
    runtime.owned_copy: (0,), runtime.copy_value: (0,), runtime.structure_part: (0,),
    runtime.take_vjp: (0,),
   
   
    runtime.extremum_vjp: (0,),
    runtime.broadcast_tangent: (0,), runtime.restore_shape: (0,),
    runtime.shaped_zero: (0,), runtime.stored_part: (0,), runtime.unstore: (0,),
    runtime.copy_of: (0,), list: (0,), tuple: (0,), runtime.list_vjp: (0,), float: (0,),
    runtime.part_cotangent: (0,),
})
# (position, offset): an argument that is a sequence of operands, each of which the function
# is linear in separately, giving a sequence whose entry j + offset is operand j's own and
# does not depend on it (einsum's cotangents): one term per differentiated operand, that
# entry left out
# linear in the listed arguments together, not each separately: the tangent is f(dx, dy)
JOINTLY_LINEAR.update({runtime.append: (0, 1), runtime.add_at: (0, 2), sum: (0, 1),
                       runtime._scatter_set: (0, 2), index_update: (0, 2), index_add: (0, 2)})
# reductions over `axis` (each output reads its own slice): tangent = sum(vjp(ones) * dx, axis)
REDUCTIONS.update({max, min})
# one output element per input element (a diagonal Jacobian): the VJP with the tangent, as
# for the rules declared elementwise


def jvp_rules(func):
    """``{position: Rule}``: the explicit forward rules of ``func`` (empty for none)."""
    try:
        return JVP_RULES.get(func, {})
    except TypeError:
        return {}


def linear_positions(func):
    """The positional arguments a multilinear ``func`` is linear in (None: all of them)."""
    try:
        return LINEAR_IN.get(func) or JOINTLY_LINEAR.get(func)
    except TypeError:
        return None


def forward_kind(func):
    """How forward mode differentiates ``func``: "multilinear", "reduction", "explicit",
    "elementwise" or None."""
    try:
        if func in MULTILINEAR or func in LINEAR_IN or func in JOINTLY_LINEAR:
            return "multilinear"
        if func in REDUCTIONS:
            return "reduction"
        if func in JVP_RULES:
            return "explicit"
    except TypeError:
        return None
    rule = lookup_vjp(func)
    scalar = getattr(func, "__module__", None) == "math" or func is abs   # of numbers
    if rule is not None and (rule.elementwise or scalar or func in DIAGONAL):
        return "elementwise"
    return None
