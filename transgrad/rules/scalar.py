"""Rules for the ``math`` module and builtins on Python scalars.

``abs`` shares the rule of ``np.absolute`` (it also takes arrays); ``max`` and ``min`` take two
or more scalars and, like ``np.max``, split the cotangent equally among ties.
"""

import math

import numpy as np

from .. import runtime as tgr
from ..runtime import ListCotangent, extremum_mask
from .registry import Sample, declare, helper, vjp
from .specs import A, P, S

_ANY = [Sample((S(),))]
_POSITIVE = [Sample((S(0.5, 3.0),))]
_UNIT = [Sample((S(-0.9, 0.9),))]


@vjp(math.exp, samples=_ANY)
def math_exp(g, ans, x):
    return g * ans


@vjp(math.expm1, samples=_ANY)
def math_expm1(g, ans, x):
    return g * (ans + 1)


@vjp(math.log, jax="tgr.math_log", samples=_POSITIVE + [Sample((S(0.5, 3.0), S(1.5, 3.0)))])
def math_log(g, ans, x, base=None):
    if base is None:
        b_x = g / x
        b_base = None
    else:
        log_base = math.log(base)
        b_x = g / (x * log_base)
        b_base = -g * ans / (base * log_base)
    return b_x, b_base


@vjp(math.log1p, samples=_POSITIVE + _UNIT)
def math_log1p(g, ans, x):
    return g / (1 + x)


@vjp(math.sqrt, samples=_POSITIVE)
def math_sqrt(g, ans, x):
    return g / (2 * ans)


@vjp(math.pow, jax="jnp.power", samples=[Sample((S(0.5, 3.0), S())), Sample((S(), 3.0), wrt=(0,))])
def math_pow(g, ans, x, y):
    """The derivative in ``y`` is taken as 0 where ``x <= 0`` (it exists only for x > 0)."""
    return g * y * math.pow(x, y - 1), g * ans * tgr.log_if_positive(x)


@helper
def log_if_positive(x):
    """``log(x)`` where ``x > 0``, else 0 (the derivative of ``x ** y`` in ``y``)."""
    positive = x > 0
    return np.log(np.where(positive, x, 1.0)) * positive


@vjp(math.sin, samples=_ANY)
def math_sin(g, ans, x):
    return g * math.cos(x)


@vjp(math.cos, samples=_ANY)
def math_cos(g, ans, x):
    return -g * math.sin(x)


@vjp(math.tan, samples=_UNIT)
def math_tan(g, ans, x):
    return g * (1 + ans ** 2)


@vjp(math.asin, samples=_UNIT)
def math_asin(g, ans, x):
    return g / math.sqrt(1 - x ** 2)


@vjp(math.acos, samples=_UNIT)
def math_acos(g, ans, x):
    return -g / math.sqrt(1 - x ** 2)


@vjp(math.atan, samples=_ANY)
def math_atan(g, ans, x):
    return g / (1 + x ** 2)


@vjp(math.atan2, samples=[Sample((S(), S()))])
def math_atan2(g, ans, y, x):
    g_over_r2 = g / (x ** 2 + y ** 2)
    return g_over_r2 * x, -g_over_r2 * y


@vjp(math.asinh, samples=_ANY)
def math_asinh(g, ans, x):
    return g / math.sqrt(x ** 2 + 1)


@vjp(math.acosh, samples=[Sample((S(1.1, 3.0),))])
def math_acosh(g, ans, x):
    return g / math.sqrt(x ** 2 - 1)


@vjp(math.atanh, samples=_UNIT)
def math_atanh(g, ans, x):
    return g / (1 - x ** 2)


@vjp(math.log10, samples=_POSITIVE)
def math_log10(g, ans, x):
    return g / (x * math.log(10.0))


@vjp(math.log2, samples=_POSITIVE)
def math_log2(g, ans, x):
    return g / (x * math.log(2.0))


@vjp(math.sinh, samples=_ANY)
def math_sinh(g, ans, x):
    return g * math.cosh(x)


@vjp(math.cosh, samples=_ANY)
def math_cosh(g, ans, x):
    return g * math.sinh(x)


@vjp(math.tanh, samples=_ANY)
def math_tanh(g, ans, x):
    return g * (1 - ans ** 2)


@vjp(math.erf, jax="jax.scipy.special.erf", samples=_ANY)
def math_erf(g, ans, x):
    return g * (2 / math.sqrt(math.pi)) * math.exp(-x ** 2)


@vjp(math.erfc, jax="jax.scipy.special.erfc", samples=_ANY)
def math_erfc(g, ans, x):
    return -g * (2 / math.sqrt(math.pi)) * math.exp(-x ** 2)


@vjp(math.hypot, samples=[Sample((S(), S()))])
def math_hypot(g, ans, x, y):
    """Two coordinates only."""
    return g * x / ans, g * y / ans


@vjp(math.fabs, jax="jnp.abs", samples=_ANY + [Sample((0.0,))])
def math_fabs(g, ans, x):
    """The derivative at 0 is 0, as for ``np.abs``."""
    return g * (1.0 * (x > 0) - 1.0 * (x < 0))


@vjp(float, linear=(0,), samples=[Sample((S(),)), Sample((A(),))])
def builtin_float(g, ans, x):
    """``float(x)`` of a number or a 0-d array: the cotangent, in ``x``'s shape."""
    return np.reshape(g, np.shape(x))


@vjp(max, reduction=True, jax="tgr.builtin_max",
     samples=[Sample((S(), S())), Sample((S(), S(), S())), Sample((1.5, 1.5, -0.5))])
def builtin_max(g, ans, *args):
    """Two or more scalars; ties split the cotangent equally (as ``np.max``)."""
    return tgr.extremum_vjp(g, ans, args, "max")


@vjp(min, reduction=True, jax="tgr.builtin_min",
     samples=[Sample((S(), S())), Sample((S(), S(), S())), Sample((-0.5, 2.0, -0.5))])
def builtin_min(g, ans, *args):
    """Two or more scalars; ties split the cotangent equally (as ``np.min``)."""
    return tgr.extremum_vjp(g, ans, args, "min")


@helper(linear=(0,))
def extremum_vjp(g, ans, args, kind):
    """Cotangents of builtin ``max``/``min`` (``kind``) of separate values: those equal to
    the answer share ``g`` equally (as ``np.max`` does among ties; ``extremum_mask`` says
    which). One list or tuple argument (``max([a, b])``) gets a ``ListCotangent`` of its
    items' cotangents; one array argument (``max(v)`` over a vector's elements) an array."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return [ListCotangent(extremum_vjp(g, ans, tuple(args[0]), kind))]
    if len(args) == 1 and np.ndim(args[0]) > 0:
        hit = 1.0 * extremum_mask(args[0], ans, None, kind)
        return [g * hit / np.sum(hit)]
    hits = 1.0 * extremum_mask(np.stack(np.broadcast_arrays(*args)), ans, 0, kind)
    count = np.sum(hits, axis=0)
    return [g * hits[k] / count for k in range(len(args))]


@helper(linear=(1,))
def slopes_dot(slopes, tangent):
    """The tangent of builtin ``max``/``min`` of one list, tuple or array: the items' slopes
    (piecewise constant, from ``extremum_vjp``) times their tangents, summed."""
    if isinstance(tangent, (list, tuple)):
        return sum(s * t for s, t in zip(slopes, tangent))
    return np.sum(slopes * tangent)


@vjp(extremum_vjp, samples=[Sample((0.7, 1.5, (1.5, -0.5), "max"), wrt=(0,)),
                            Sample((0.7, 1.5, (1.5, 1.5, -0.5), "max"), wrt=(0,))])
def extremum_vjp_rule(gg, ans, g, ans_, args, kind):
    """Linear in ``g``: the cotangents' weights (piecewise constant in the values)."""
    weights = np.asarray(tgr.extremum_vjp(1.0, ans_, args, kind))
    return (np.sum(weights * np.asarray(gg)), tgr.zeros_like_value(ans_),
            tgr.zeros_like_value(args), None)


@vjp(sum, jointly_linear=(0, 1), samples=[Sample(([S(), S(), S()],)), Sample(((P(3), P(3)),)),
                   Sample(([S(), S()], S())), Sample((P(3, 2),))])
def builtin_sum(g, ans, iterable, start=0):
    """The sum of a list or tuple of values (all of one shape), or of an array's rows."""
    return tgr.sum_items_cotangent(g, iterable), g


@helper(linear=(0,))
def sum_items_cotangent(g, items):
    """``g`` for each item summed: a ``ListCotangent`` for a list or tuple (it adds to an
    adjoint that is still ``0.0``), ``g`` repeated along the first axis for an array (a
    list would repeat itself when multiplied by a JAX array)."""
    if isinstance(items, (list, tuple)):
        return ListCotangent([g] * len(items))
    return np.ones(np.shape(items)) * g


@vjp(sum_items_cotangent, samples=[Sample((S(), [S(), S()]), wrt=(0,)),
                                   Sample((P(2), P(3, 2)), wrt=(0,))])
def sum_items_cotangent_rule(gg, ans, g, items):
    """Linear in ``g``: the items' cotangents summed."""
    return sum(gg), tgr.zeros_like_value(items)


# math functions without rules whose JAX twin is not ``jnp.<name>``
declare(math.lgamma, jax="jax.scipy.special.gammaln")
declare(math.gamma, jax="tgr.math_gamma")
declare(math.fsum, jax="jnp.sum")
