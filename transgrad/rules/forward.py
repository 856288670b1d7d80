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
from .registry import Rule, lookup_vjp

MULTILINEAR = {
    operator.matmul, np.matmul, np.dot, np.vdot, np.inner, np.outer, np.tensordot, np.einsum,
    np.kron, operator.getitem, np.take, np.sum, np.mean, np.cumsum, np.trace, np.reshape,
    np.transpose, np.swapaxes, np.moveaxis, np.expand_dims, np.squeeze, np.ravel,
    np.broadcast_to, np.flip, np.fliplr, np.flipud, np.roll, np.copy, np.array, np.asarray,
    np.atleast_1d, np.atleast_2d, np.concatenate, np.stack, np.vstack, np.hstack, np.tile,
    np.repeat, np.diag, np.diagonal, np.tril, np.triu, runtime.append,
}
# linear in the listed positional arguments, each separately, and constant in the others
# (shapes, axes, an index or a permutation): mostly the helpers that generated reverse code
# calls, so forward mode runs over a gradient (forward over reverse) with the same table
LINEAR_IN = {
    runtime.unbroadcast_to: (0,), runtime.expand_reduced: (0,), runtime.match: (0,),
    runtime.owned_copy: (0,), runtime.copy_value: (0,), runtime.structure_part: (0,),
    runtime.array_vjp: (0,), runtime.astype_vjp: (0,), runtime.unconcatenate: (0,),
    runtime.split_vjp: (0,), runtime.tile_vjp: (0,), runtime.repeat_vjp: (0,),
    runtime.pad_vjp: (0,), runtime.sort_vjp: (0,), runtime.take_vjp: (0,),
    runtime.diag_vjp: (0,), runtime.diagonal_vjp: (0,), runtime.item: (0,),
    runtime.matmul_vjp_left: (0, 2), runtime.matmul_vjp_right: (0, 1),
    runtime.dot_vjp_left: (0, 2), runtime.dot_vjp_right: (0, 1),
    runtime.inner_vjp_left: (0, 2), runtime.inner_vjp_right: (0, 1),
    runtime.tensordot_vjp_left: (0, 2), runtime.tensordot_vjp_right: (0, 1),
    runtime.kron_vjp_left: (0, 2), runtime.kron_vjp_right: (0, 1),
    runtime.solve_vjp_a: (0, 1),
}
# linear in the listed arguments together, not each separately: the tangent is f(dx, dy)
JOINTLY_LINEAR = {runtime.append: (0, 1), runtime.add_at: (0, 2)}
# reductions over `axis` (each output reads its own slice): tangent = sum(vjp(ones) * dx, axis)
REDUCTIONS = {np.max, np.amax, np.min, np.amin, np.prod, np.var, np.std, np.linalg.norm}

JVP_RULES = {}


def jvp(*primitives):
    """Declare the forward rule of ``primitives`` (of their first argument)."""
    def register(fn):
        rule = Rule(fn.__name__, tuple(primitives), fn)
        for primitive in primitives:
            JVP_RULES[primitive] = rule
        return rule
    return register


@jvp(np.linalg.inv)
def inv(g, ans, a):
    return -(ans @ g @ ans)


@jvp(np.linalg.det)
def det(g, ans, a):
    return ans * np.trace(np.linalg.solve(a, g), axis1=-2, axis2=-1)


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
    if rule is not None and (rule.elementwise or scalar):
        return "elementwise"
    return None
