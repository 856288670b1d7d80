"""Calls of user functions that no derivative flows through, for a backend other than numpy.

Generated code calls a user function as written where its result is inactive (``t2 = h8(x,
y3)``, whose value reaches no output). On JAX that numpy source can fail (a list index
``b[[0, 0, 2]]`` on a JAX array, a store): such a call runs the function's translation for
the backend instead, as calls that a derivative flows through do::

    t2 = h8(x, y3)       ->      t2 = h8(x, y3)     # h8: the primal of h8's JAX translation
"""

import inspect

import gast

from ..errors import TransformError
from ..ir import walk

_LIBRARIES = ("numpy", "jax", "jaxlib", "transgrad", "scipy")


def translate_calls(fn, translate):
    """Point each call of a user function in the generated FunctionDef ``fn`` at
    ``translate(func)``; a function that cannot be translated runs as written."""
    for node in walk(fn):
        func = getattr(node.func, "resolved", None) if isinstance(node, gast.Call) else None
        module = (getattr(func, "__module__", None) or "").split(".")[0]
        if not inspect.isfunction(func) or module in _LIBRARIES:
            continue
        try:
            replacement = translate(func)
        except TransformError:
            continue
        callee = gast.Name(id=func.__name__, ctx=gast.Load(), annotation=None,
                           type_comment=None)
        callee.resolved = replacement
        node.func = callee
