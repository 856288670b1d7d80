"""Forward-mode (JVP) rules, derived from the reverse table rather than written again.

* An **elementwise** rule's Jacobian is diagonal (after broadcasting), so its JVP is its VJP
  with the tangent in place of the cotangent: ``d sin(x) = dx * np.cos(x)``.
* A primitive **linear in each differentiable argument separately** (sums, reshapes, indexing,
  products such as ``@``) has the JVP ``f(dx, y) + f(x, dy)``: the primitive itself, applied to
  one tangent at a time.
* A **reduction** over ``axis`` (max, prod, var, norm...) has each output depend on its own
  slice only, so its JVP is ``np.sum(vjp(ones) * dx, axis)``: the VJP with a unit cotangent
  gives the slope of every element.
* The few others have explicit forward rules (``@jvp``), over the same names as reverse rules:
  ``g`` is the argument's tangent and the result is the output's tangent.

Which kind a primitive is, is declared once, with its reverse rule in its family module
(``@vjp(np.tile, linear=True)``, ``@vjp(np.prod, reduction=True)``, ``@helper(linear=(0,))``,
``@jvp(np.linalg.inv)``); the tables live in ``registry.py`` and are re-exported here.

Anything else has no forward rule yet: forward mode says so with a TransformError.
"""

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
