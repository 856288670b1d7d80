"""The nearest callable that has a rule, for the error about a call that has none.

``np.amax`` -> ``np.max``: numpy's own aliases first, then ``difflib`` on the public names of
the same module (``numpy``, ``numpy.linalg``, ``numpy.fft``, ``math``, ``scipy.special``...) that
have a reverse rule or are declared nondifferentiable.
"""

import difflib
import sys
import warnings

from .registry import is_nondifferentiable, lookup_vjp

# numpy's other spellings of one function (old names, array-API names)
ALIASES = {"amax": "max", "amin": "min", "around": "round", "round_": "round",
           "product": "prod", "cumproduct": "cumprod", "cumulative_sum": "cumsum",
           "cumulative_prod": "cumprod", "sometrue": "any", "alltrue": "all",
           "row_stack": "vstack", "trapz": "trapezoid", "asfarray": "asarray",
           "acos": "arccos", "asin": "arcsin", "atan": "arctan", "atan2": "arctan2",
           "acosh": "arccosh", "asinh": "arcsinh", "atanh": "arctanh", "pow": "power",
           "concat": "concatenate", "permute_dims": "transpose", "absolute": "abs",
           "conjugate": "conj", "fabs": "abs", "matrix_transpose": "swapaxes"}
_SPELLING = {"numpy": "np", "numpy.linalg": "np.linalg", "numpy.fft": "np.fft"}


def _public_module(func):
    """(module, how messages spell it) of ``func``'s public home, or (None, None)."""
    module = getattr(func, "__module__", None) or ""
    if type(func).__name__ == "ufunc":
        module = "numpy"
    public = ".".join(part for part in module.split(".") if not part.startswith("_"))
    if public.startswith("numpy") and public not in _SPELLING:
        public = "numpy"
    found = sys.modules.get(public)
    if found is None or not (public in _SPELLING or public == "math"
                             or public.startswith("scipy.")):
        return None, None
    return found, _SPELLING.get(public, public)


def _known(obj):
    return callable(obj) and (lookup_vjp(obj) is not None or is_nondifferentiable(obj))


def closest_rule(func):
    """The name (``np.max``) of the callable nearest to ``func`` that transgrad differentiates,
    or None (``func`` is not a library function, or nothing is near)."""
    name = getattr(func, "__name__", None)
    module, spelling = _public_module(func)
    if not isinstance(name, str) or module is None:
        return None
    with warnings.catch_warnings():     # getattr on numpy's deprecated names warns
        warnings.simplefilter("ignore")
        names = {attr: obj for attr, obj in vars(module).items()
                 if not attr.startswith("_") and obj is not func and _known(obj)}
    alias = ALIASES.get(name)
    if alias in names:
        return f"{spelling}.{alias}"
    near = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
    return f"{spelling}.{near[0]}" if near else None


def missing_rule_hint(func, spelled):
    """The hint of the error about ``func`` (spelled ``spelled``) having no rule."""
    near = closest_rule(func)
    advice = (f"add one: @tg.defvjp({spelled}) on a function (g, ans, *args) that returns the "
              f"cotangents, or wrap the value in tg.stop_gradient if no derivative should flow "
              f"through it")
    if near is None:
        return advice
    return f"{near} has a rule: call it instead if it does what you mean; or {advice}"
