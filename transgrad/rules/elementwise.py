"""Rules for elementwise numpy math (one output element per input element).

Ties in ``maximum``/``minimum``/``fmax``/``fmin`` split the cotangent equally between the two
inputs, as JAX does (and as central differences see it).
"""

import math

import numpy as np

from .. import runtime as tgr  # noqa: F401  (rules may use it; see the package contract)
from .registry import Sample, jvp, vjp
from .specs import A, G, P, S, U

_ANY = [Sample((A(3, 4),))]
_POSITIVE = [Sample((P(3, 4),))]
_UNIT = [Sample((U(3, 4),))]
_BINARY = [Sample((A(3, 4), A(3, 4))), Sample((A(3, 1), A(4)))]
# a pair with exact ties in the first row, to pin the tie convention
_TIES = (np.array([[1.0, -0.5, 2.0], [0.3, 0.7, -1.2]]),
         np.array([[1.0, -0.5, 1.5], [0.1, 0.9, -1.0]]))


# --- exponentials and logarithms ---------------------------------------------------------

@vjp(np.exp, tensor="exp", tensor_node="ExpBackward0", torch=("exp",),
     elementwise=True, samples=_ANY)
def exp(g, ans, x):
    return g * ans


@vjp(np.exp2, elementwise=True, samples=_ANY)
def exp2(g, ans, x):
    return g * ans * math.log(2)


@vjp(np.expm1, elementwise=True, samples=_ANY)
def expm1(g, ans, x):
    return g * (ans + 1)


@vjp(np.log, tensor="log", tensor_node="LogBackward0", torch=("log",),
     elementwise=True, samples=_POSITIVE)
def log(g, ans, x):
    return g / x


@vjp(np.log2, elementwise=True, samples=_POSITIVE)
def log2(g, ans, x):
    return g / (x * math.log(2))


@vjp(np.log10, elementwise=True, samples=_POSITIVE)
def log10(g, ans, x):
    return g / (x * math.log(10))


@vjp(np.log1p, elementwise=True, samples=[Sample((P(3, 4),)), Sample((U(3, 4),))])
def log1p(g, ans, x):
    return g / (1 + x)


@vjp(np.logaddexp, broadcasting=True, elementwise=True, samples=_BINARY)
def logaddexp(g, ans, x1, x2):
    return g * np.exp(x1 - ans), g * np.exp(x2 - ans)


@vjp(np.logaddexp2, broadcasting=True, elementwise=True, samples=_BINARY)
def logaddexp2(g, ans, x1, x2):
    return g * np.exp2(x1 - ans), g * np.exp2(x2 - ans)


# --- powers and roots --------------------------------------------------------------------

@vjp(np.sqrt, tensor="sqrt", tensor_node="SqrtBackward0", torch=("sqrt",),
     elementwise=True, samples=_POSITIVE)
def sqrt(g, ans, x):
    return g / (2 * ans)


@vjp(np.cbrt, elementwise=True, samples=_POSITIVE + [Sample((A(5),))])
def cbrt(g, ans, x):
    return g / (3 * ans ** 2)


@vjp(np.square, elementwise=True, samples=_ANY)
def square(g, ans, x):
    return 2 * g * x


@vjp(np.reciprocal, elementwise=True, samples=_POSITIVE)
def reciprocal(g, ans, x):
    return -g * ans ** 2


@vjp(np.hypot, broadcasting=True, elementwise=True, samples=_BINARY)
def hypot(g, ans, x1, x2):
    return g * x1 / ans, g * x2 / ans


# --- trigonometric and hyperbolic --------------------------------------------------------

@vjp(np.sin, tensor="sin", tensor_node="SinBackward0", torch=("sin",),
     elementwise=True, samples=_ANY)
def sin(g, ans, x):
    return g * np.cos(x)


@vjp(np.cos, tensor="cos", tensor_node="CosBackward0", torch=("cos",),
     elementwise=True, samples=_ANY)
def cos(g, ans, x):
    return -g * np.sin(x)


@vjp(np.tan, elementwise=True, samples=[Sample((U(3, 4),))])
def tan(g, ans, x):
    return g * (1 + ans ** 2)


@vjp(np.arcsin, elementwise=True, samples=_UNIT)
def arcsin(g, ans, x):
    return g / np.sqrt(1 - x ** 2)


@vjp(np.arccos, elementwise=True, samples=_UNIT)
def arccos(g, ans, x):
    return -g / np.sqrt(1 - x ** 2)


@vjp(np.arctan, elementwise=True, samples=_ANY)
def arctan(g, ans, x):
    return g / (1 + x ** 2)


@vjp(np.arctan2, broadcasting=True, elementwise=True, samples=_BINARY)
def arctan2(g, ans, x1, x2):
    g_over_r2 = g / (x1 ** 2 + x2 ** 2)
    return g_over_r2 * x2, -g_over_r2 * x1


@vjp(np.sinh, elementwise=True, samples=_ANY)
def sinh(g, ans, x):
    return g * np.cosh(x)


@vjp(np.cosh, elementwise=True, samples=_ANY)
def cosh(g, ans, x):
    return g * np.sinh(x)


@vjp(np.tanh, tensor="tanh", tensor_node="TanhBackward0", torch=("tanh",),
     elementwise=True, samples=_ANY)
def tanh(g, ans, x):
    return g * (1 - ans ** 2)


@vjp(np.arcsinh, elementwise=True, samples=_ANY)
def arcsinh(g, ans, x):
    return g / np.sqrt(x ** 2 + 1)


@vjp(np.arccosh, elementwise=True, samples=[Sample((G(3, 4),))])
def arccosh(g, ans, x):
    return g / np.sqrt(x ** 2 - 1)


@vjp(np.arctanh, elementwise=True, samples=_UNIT)
def arctanh(g, ans, x):
    return g / (1 - x ** 2)


@vjp(np.sinc, elementwise=True,
     samples=[Sample((A(3, 4),)), Sample((np.array([0.0, 0.5, -1.5]),))])
def sinc(g, ans, x):
    """sinc(x) = sin(pi x) / (pi x); its derivative is 0 at x = 0."""
    nonzero = np.where(x == 0, 1.0, x)
    return g * np.where(x == 0, 0.0, (np.cos(np.pi * x) - ans) / nonzero)


@vjp(np.deg2rad, np.radians, elementwise=True, samples=_ANY)
def deg2rad(g, ans, x):
    return g * (np.pi / 180)


@vjp(np.rad2deg, np.degrees, elementwise=True, samples=_ANY)
def rad2deg(g, ans, x):
    return g * (180 / np.pi)


# --- piecewise: absolute value, extrema, selection ---------------------------------------

@vjp(np.absolute, np.fabs, abs, tensor="abs", tensor_node="AbsBackward0", torch=("abs",),
     elementwise=True,
     samples=[Sample((A(3, 4),)), Sample((S(),)), Sample((np.array([0.0, -1.5, 2.0]),))])
def absolute(g, ans, x):
    """The derivative at 0 is 0 (``np.sign(0) == 0``), as in JAX. Of a complex ``z``:
    ``Re(conj(z) / |z| * dz)`` (JAX's pairing, ``rules/complex_numbers.py``; the output is
    real, so only the real part of its cotangent counts)."""
    return np.real(g) * tgr.abs_slope(x)


@jvp(np.absolute, np.fabs, abs,
     samples=[Sample((A(3, 4),)), Sample((np.array([1.0 + 2.0j, -0.5 + 0.3j]),))])
def absolute_jvp(g, ans, x):
    """Real for a complex ``x`` too: ``Re(conj(sign(x)) * dx)``."""
    return np.real(g * tgr.abs_slope(x))


@vjp(np.maximum, tensor="maximum", tensor_node="MaximumBackward0", torch=("maximum",),
     broadcasting=True, elementwise=True,
     samples=_BINARY + [Sample((A(3, 4), 0.0), wrt=(0,)), Sample(_TIES)])
def maximum(g, ans, x1, x2):
    """Ties split the cotangent equally between ``x1`` and ``x2``."""
    tie = 0.5 * (x1 == x2)
    return g * ((x1 > x2) + tie), g * ((x1 < x2) + tie)


@vjp(np.minimum, tensor="minimum", tensor_node="MinimumBackward0", torch=("minimum",),
     broadcasting=True, elementwise=True,
     samples=_BINARY + [Sample((A(3, 4), 0.0), wrt=(0,)), Sample(_TIES)])
def minimum(g, ans, x1, x2):
    """Ties split the cotangent equally between ``x1`` and ``x2``."""
    tie = 0.5 * (x1 == x2)
    return g * ((x1 < x2) + tie), g * ((x1 > x2) + tie)


@vjp(np.fmax, broadcasting=True, elementwise=True, samples=_BINARY + [Sample(_TIES)])
def fmax(g, ans, x1, x2):
    """Like ``maximum``, except that a NaN operand passes the whole cotangent to the other."""
    tie = 0.5 * (x1 == x2)
    return (g * (((x1 > x2) | np.isnan(x2)) + tie),
            g * (((x1 < x2) | np.isnan(x1)) + tie))


@vjp(np.fmin, broadcasting=True, elementwise=True, samples=_BINARY + [Sample(_TIES)])
def fmin(g, ans, x1, x2):
    """Like ``minimum``, except that a NaN operand passes the whole cotangent to the other."""
    tie = 0.5 * (x1 == x2)
    return (g * (((x1 < x2) | np.isnan(x2)) + tie),
            g * (((x1 > x2) | np.isnan(x1)) + tie))


@vjp(np.where, tensor="where", tensor_node="WhereBackward0", torch=("where",),
     broadcasting=True, elementwise=True, samples=[
    Sample((np.array([[True, False, True, True], [False, False, True, False]]),
            A(2, 4), A(2, 4))),
    Sample((np.array([True, False, True]), A(2, 3), A(3)))])
def where(g, ans, condition, x=None, y=None):
    return None, np.where(condition, g, 0.0), np.where(condition, 0.0, g)


@vjp(np.clip, method="clip", tensor="clamp", tensor_node="ClampBackward1",
     tensor_impl=lambda a, a_min, a_max: (
         np.maximum(a, a_min) if a_max is None else
         np.minimum(a, a_max) if a_min is None else np.clip(a, a_min, a_max)),
     torch=("clamp", "clip"),
     broadcasting=True, elementwise=True, samples=[
    Sample((A(3, 4), -0.5, 0.8)), Sample((A(3, 4), None, 0.5)), Sample((A(3, 4), -0.5, None)),
    Sample((A(3, 4), A(4), 1.0))])
def clip(g, ans, a, a_min=None, a_max=None):
    """Elements within the bounds take the cotangent; clipped ones give it to their bound
    (to ``a_max`` when the bounds cross, as numpy applies it last). Decided by comparing
    ``a`` with the bounds, never with ``ans``: under ``jax.jit`` XLA may round ``a``
    differently where it computes it again (``tgr.extremum_mask`` says more)."""
    if a_min is None:
        b_a = g * (a <= a_max)
        b_min = None
        b_max = g * (a > a_max)
    elif a_max is None:
        b_a = g * (a >= a_min)
        b_min = g * (a < a_min)
        b_max = None
    else:
        b_a = g * ((a >= a_min) & (a <= a_max))
        b_min = g * ((a < a_min) & (a_min <= a_max))
        b_max = g * ((a > a_max) | (a_min > a_max))
    return b_a, b_min, b_max


