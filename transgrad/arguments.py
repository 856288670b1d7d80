"""Checking what a derivative is given: ``wrt``, the arguments, the (co)tangent.

Shared by the derivative objects (``derivative.py``) and the Jacobians built on them
(``higher.py``), so neither imports the other for it.
"""

import functools
import inspect
import types

import numpy as np

from .errors import TransformError
from .parse import Derivative

SAFE_ARRAYS = (np.ndarray, np.memmap)   # ndarray subclasses whose operators are ndarray's


def check_wrt(wrt):
    """(indices, single): ``wrt`` as a tuple of ints, and whether it was one int."""
    if isinstance(wrt, bool) or not isinstance(wrt, (int, tuple, list)):
        raise TransformError(f"wrt must be an int or a tuple of ints, not {wrt!r}")
    indices = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    if not indices or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
        raise TransformError(f"wrt must be an int or a non-empty tuple of ints, not {wrt!r}")
    return indices, isinstance(wrt, int)


def param_name(func, index):
    try:
        params = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        params = []
    return params[index] if -len(params) <= index < len(params) else f"argument {index}"


def describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    if isinstance(value, (bool, np.bool_)):
        return "a bool"
    if isinstance(value, (int, np.integer)):
        return f"the int {value!r}"
    if isinstance(value, (float, np.floating)):
        return "a float"
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def _expected(value):
    """What a tangent of ``value`` looks like, in words."""
    if isinstance(value, np.ndarray):
        kind = "complex" if value.dtype.kind == "c" else "real float"
        return f"a {kind} array of shape {value.shape}"
    if isinstance(value, (float, np.floating)):
        return "a float"
    if isinstance(value, dict):
        return f"a dict with the keys {sorted(value, key=repr)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} tangents"
    return f"a tangent like {describe(value)}"


def _tangent_fits(tangent, value):
    """Whether ``tangent`` has the structure, shape and dtype kind of ``value``'s tangent."""
    if type(value) is np.ndarray:   # a complex tangent only for a complex value (as JAX)
        return type(tangent) is np.ndarray and tangent.shape == value.shape \
            and tangent.dtype.kind in ("fc" if value.dtype.kind == "c" else "f")
    if isinstance(value, (float, np.floating)):
        return isinstance(tangent, (float, np.floating)) or (
            isinstance(tangent, np.ndarray) and tangent.shape == () and tangent.dtype.kind == "f")
    if isinstance(value, dict):
        return isinstance(tangent, dict) and set(tangent) == set(value) and all(
            _tangent_fits(tangent[k], v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return isinstance(tangent, (list, tuple)) and len(tangent) == len(value) and all(
            _tangent_fits(t, v) for t, v in zip(tangent, value))
    return True   # other kinds (user objects) are checked by the code that reads them


def check_tangent(derivative, args, tangent):
    """Raise TransformError unless ``tangent`` fits the differentiated arguments of a
    ``tg.jvp`` call: the argument's shape, a float dtype, the argument's structure, and one
    tangent per argument (a tuple) when ``wrt`` is a tuple."""
    func, indices = derivative.func, derivative.wrt_indices
    if derivative.single:
        tangents = (tangent,)
    elif isinstance(tangent, (tuple, list)) and len(tangent) == len(indices):
        tangents = tangent
    else:
        names = ", ".join(param_name(func, i) for i in indices)
        raise TransformError(
            f"tg.jvp({func.__name__}, wrt={derivative.wrt_indices}) takes a tuple of "
            f"{len(indices)} tangents (for {names}); got {describe(tangent)}",
            hint="pass one tangent per differentiated argument, in the order of wrt")
    for i, t in zip(indices, tangents):
        if not -len(args) <= i < len(args):
            continue   # the call itself reports the missing argument
        value = args[i]
        if not _tangent_fits(t, value):
            name = param_name(func, i)
            raise TransformError(
                f"the tangent of argument {i % len(args)} ({name}) of {func.__name__} must be "
                f"{_expected(value)}, like {name}; got {describe(t)}",
                hint=f"pass a float tangent shaped like {name} (np.ones_like({name}) for "
                     f"example)")


def subclass_error(derivative, index, kind):
    return derivative._refuse(
        index, f"{{name}} is called with {{arg}} of type {kind.__module__}.{kind.__qualname__}"
               f", an ndarray subclass whose operators may mean something else than numpy's "
               f"(for np.matrix, `*` is a matrix product; a masked array skips masked "
               f"elements): its derivative would be wrong",
        hint="pass a plain array: np.asarray(x) (for a masked array, x.filled(value) or "
             "x.compressed() as you mean it)")


def check_float(value, index, derivative):
    """Refuse a differentiated argument that is not floating point (inside containers too)."""
    if isinstance(value, dict):
        for item in value.values():
            check_float(item, index, derivative)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            check_float(item, index, derivative)
        return
    kind = None
    if isinstance(value, np.ndarray) and type(value) not in SAFE_ARRAYS:
        raise subclass_error(derivative, index, type(value))
    if isinstance(value, (bool, np.bool_)):
        kind = "bool"
    elif isinstance(value, (int, np.integer)):
        kind = "int"
    elif hasattr(value, "dtype") and hasattr(value, "ndim") \
            and getattr(value.dtype, "kind", "f") not in "fc":
        kind = f"an array of {value.dtype}"
    if kind is not None:
        raise derivative._refuse(
            index, f"cannot differentiate {{name}} with respect to {{arg}}, which is {kind}",
            hint="pass a float (2.0 rather than 2) or a float array (x.astype(float)), or "
                 "leave the argument out of wrt")


def underlying(func):
    """(function to differentiate, arguments bound before the caller's, bound keywords) of
    a callable: a functools.partial binds arguments, a bound method its object, and an object
    with ``__call__`` is that method bound to the object."""
    prefix, keywords = (), {}
    for _ in range(8):
        if isinstance(func, functools.partial):
            prefix = tuple(func.args) + prefix
            keywords = {**func.keywords, **keywords}
            func = func.func
        elif isinstance(func, types.MethodType):
            prefix = (func.__self__,) + prefix
            func = func.__func__
        elif isinstance(func, (types.FunctionType, Derivative)) \
                or not callable(func) or isinstance(func, type) \
                or not isinstance(getattr(type(func), "__call__", None), types.FunctionType) \
                or hasattr(func, "__wrapped__"):
            break
        else:   # an object with a Python __call__: the method, the object first
            prefix = (func,) + prefix
            func = type(func).__call__
    return func, prefix, keywords


def signature(func):
    if not inspect.isfunction(func):
        return None
    try:
        found = inspect.signature(func, follow_wrapped=False)
        if hasattr(func, "__wrapped__") and any(
                p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                for p in found.parameters.values()):
            # a decorator's wrapper(*args, **kwargs): differentiated with the parameters of
            # the function it wraps (parse._specialize_wrapper)
            return inspect.signature(func.__wrapped__, follow_wrapped=False)
        return found
    except (TypeError, ValueError):
        return None


def needed_arguments(signature, prefix, keywords, wrt):
    """How many positional arguments a call passes when it passes every parameter without a
    default, and those in wrt, by position: fewer (or keywords) take the slow path that binds
    them."""
    if signature is None:
        return 0
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [i for i, p in enumerate(positional)
                if p.default is p.empty and p.name not in keywords]
    last = max(required + [i % len(positional) for i in wrt if positional] + [-1])
    return max(last + 1 - len(prefix), 0)


def user_class(cls):
    """Classes whose methods generated code may call: defined in Python by the user."""
    module = getattr(cls, "__module__", "") or ""
    return module.split(".")[0] not in ("builtins", "numpy", "jax", "jaxlib", "transgrad") \
        and hasattr(cls, "__dict__") and not issubclass(cls, (dict, list, tuple))
