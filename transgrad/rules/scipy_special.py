"""Rules for ``scipy.special`` (loaded only when scipy imports: it stays optional).

Most functions are ufuncs with one differentiable argument: their rules are elementwise, so
forward mode is the VJP with the tangent. Orders and integer parameters (``polygamma``'s ``n``,
``jv``'s ``v``, ``gammainc``'s ``a``) get no derivative (``None``), as in autograd; asking for
one is an error, never a silent zero. A rule body calls other scipy functions by their module
(``special.digamma``), each itself declared here, so second derivatives go through their rules
and the JAX backend prints each one's ``jax.scipy.special`` twin where JAX has it.
"""

import numpy as np
from scipy import special

from .. import runtime as tgr
from .registry import Sample, jvp, nondifferentiable, vjp
from .specs import A, P, ArraySpec

_ANY = [Sample((A(3, 4),))]
_POS = [Sample((P(3, 4),))]
_UNIT = [Sample((ArraySpec((3, 4), 0.1, 0.9),))]
_OPEN = [Sample((ArraySpec((3, 4), -0.9, 0.9),))]
_BINARY_POS = [Sample((P(3, 1), P(4)))]
_ORDER_X = [Sample((np.array([0.5, 1.0, 2.0]), P(2, 3)), wrt=(1,))]
_INT_ORDER_X = [Sample((np.array([0, 1, 3]), P(2, 3)))]
_SPECIAL = "jax.scipy.special."


# --- logistic, log-sum-exp, softmax ---------------------------------------------------------

@vjp(special.expit, elementwise=True, jax=_SPECIAL + "expit", samples=_ANY)
def expit(g, ans, x):
    return g * ans * (1.0 - ans)


@vjp(special.logit, elementwise=True, jax=_SPECIAL + "logit", samples=_UNIT)
def logit(g, ans, x):
    return g / (x * (1.0 - x))


@vjp(special.log_expit, elementwise=True, jax="jax.nn.log_sigmoid", samples=_ANY)
def log_expit(g, ans, x):
    return g * special.expit(-x)


_LSE = [Sample((A(3, 4),)), Sample((A(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
        Sample((A(3, 4), -1, P(4), True))]


@vjp(special.logsumexp, jax=_SPECIAL + "logsumexp", samples=_LSE)
def logsumexp(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    """``b`` weighs the terms (``log sum b * exp(a)``); both get cotangents."""
    if axis is None or keepdims:
        full_g, full_ans = g, ans
    else:
        full_g, full_ans = tgr.expand_reduced(g, a, axis), tgr.expand_reduced(ans, a, axis)
    if b is None:
        da, db = full_g * np.exp(a - full_ans), None
    else:
        weight = full_g * np.exp(a - full_ans)
        da, db = tgr.unbroadcast(weight * b, np.shape(a)), tgr.unbroadcast(weight, np.shape(b))
    return da, None, db


@jvp(special.logsumexp, samples=_LSE)
def logsumexp_jvp(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    """The tangents averaged with the softmax weights."""
    if b is None:
        out = np.sum(g * np.exp(a - special.logsumexp(a, axis=axis, keepdims=True)), axis=axis,
                     keepdims=keepdims)
    else:
        out = np.sum(g * b * np.exp(a - special.logsumexp(a, axis=axis, b=b, keepdims=True)),
                     axis=axis, keepdims=keepdims)
    return out


@jvp(special.logsumexp, argnum=2, samples=[Sample((A(3, 4), 0, P(3, 4))),
                                          Sample((A(3, 4), -1, P(4), True))])
def logsumexp_jvp_b(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    return np.sum(g * np.exp(a - special.logsumexp(a, axis=axis, b=b, keepdims=True)),
                  axis=axis, keepdims=keepdims)


_SOFTMAX = [Sample((A(3, 4),)), Sample((A(2, 3, 4),), {"axis": (0, 2)})]


@vjp(special.softmax, jax=_SPECIAL + "softmax", samples=_SOFTMAX)
def softmax(g, ans, x, axis=None):
    return ans * (g - np.sum(g * ans, axis=axis, keepdims=True))


@jvp(special.softmax, samples=_SOFTMAX)
def softmax_jvp(g, ans, x, axis=None):
    return ans * (g - np.sum(g * ans, axis=axis, keepdims=True))


@vjp(special.log_softmax, jax=_SPECIAL + "log_softmax", samples=_SOFTMAX)
def log_softmax(g, ans, x, axis=None):
    return g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)


@jvp(special.log_softmax, samples=_SOFTMAX)
def log_softmax_jvp(g, ans, x, axis=None):
    return g - np.sum(np.exp(ans) * g, axis=axis, keepdims=True)


@vjp(special.xlogy, broadcasting=True, elementwise=True, jax=_SPECIAL + "xlogy",
     samples=[Sample((A(3, 1), P(4)))])
def xlogy(g, ans, x, y):
    return g * np.log(y), g * x / y


@vjp(special.xlog1py, broadcasting=True, elementwise=True, jax=_SPECIAL + "xlog1py",
     samples=[Sample((A(3, 1), ArraySpec((4,), -0.9, 0.9)))])
def xlog1py(g, ans, x, y):
    return g * np.log1p(y), g * x / (1.0 + y)


# --- error functions ------------------------------------------------------------------------

@vjp(special.erf, elementwise=True, jax=_SPECIAL + "erf", samples=_ANY)
def erf(g, ans, x):
    return g * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)


@vjp(special.erfc, elementwise=True, jax=_SPECIAL + "erfc", samples=_ANY)
def erfc(g, ans, x):
    return -g * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)


@vjp(special.erfinv, elementwise=True, jax=_SPECIAL + "erfinv", samples=_OPEN)
def erfinv(g, ans, x):
    return g * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans)


@vjp(special.erfcinv, elementwise=True, samples=[Sample((ArraySpec((3, 4), 0.1, 1.9),))])
def erfcinv(g, ans, x):
    return -g * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans)


@vjp(special.ndtr, elementwise=True, jax=_SPECIAL + "ndtr", samples=_ANY)
def ndtr(g, ans, x):
    return g * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


@vjp(special.log_ndtr, elementwise=True, jax=_SPECIAL + "log_ndtr", samples=_ANY)
def log_ndtr(g, ans, x):
    return g * np.exp(-0.5 * x * x - ans) / np.sqrt(2.0 * np.pi)


@vjp(special.ndtri, elementwise=True, jax=_SPECIAL + "ndtri", samples=_UNIT)
def ndtri(g, ans, x):
    return g * np.sqrt(2.0 * np.pi) * np.exp(0.5 * ans * ans)


# --- gamma and beta functions ---------------------------------------------------------------

@vjp(special.gamma, elementwise=True, jax=_SPECIAL + "gamma", samples=_POS)
def gamma(g, ans, x):
    return g * ans * special.digamma(x)


@vjp(special.rgamma, elementwise=True, samples=_POS)
def rgamma(g, ans, x):
    return -g * ans * special.digamma(x)


@vjp(special.gammaln, elementwise=True, jax=_SPECIAL + "gammaln", samples=_POS)
def gammaln(g, ans, x):
    return g * special.digamma(x)


@vjp(special.digamma, special.psi, elementwise=True, jax=_SPECIAL + "digamma", samples=_POS)
def digamma(g, ans, x):
    return g * special.polygamma(1, x)


@vjp(special.polygamma, elementwise=True, jax=_SPECIAL + "polygamma",
     samples=[Sample((np.array([0, 1, 2]), P(2, 3)))])
def polygamma(g, ans, n, x):
    """The order ``n`` is an integer: no derivative."""
    return None, g * special.polygamma(n + 1, x)


@vjp(special.beta, broadcasting=True, elementwise=True, jax=_SPECIAL + "beta",
     samples=_BINARY_POS)
def beta(g, ans, a, b):
    total = special.digamma(a + b)
    return g * ans * (special.digamma(a) - total), g * ans * (special.digamma(b) - total)


@vjp(special.betaln, broadcasting=True, elementwise=True, jax=_SPECIAL + "betaln",
     samples=_BINARY_POS)
def betaln(g, ans, a, b):
    total = special.digamma(a + b)
    return g * (special.digamma(a) - total), g * (special.digamma(b) - total)


@vjp(special.multigammaln, elementwise=True, jax=_SPECIAL + "multigammaln",
     samples=[Sample((ArraySpec((3,), 2.0, 4.0), 3))])
def multigammaln(g, ans, a, d):
    """``log Gamma_d(a)``: the sum of ``digamma(a - j / 2)`` over ``j < d``."""
    return g * np.sum(special.digamma(np.expand_dims(a, -1) - np.arange(d) / 2.0), axis=-1), None


@vjp(special.gammainc, broadcasting=True, elementwise=True, jax=_SPECIAL + "gammainc",
     samples=[Sample((P(3, 1), P(4)), wrt=(1,))])
def gammainc(g, ans, a, x):
    """Differentiable in ``x`` only (as autograd): the parameter ``a`` gets none."""
    return None, g * np.exp(-x + (a - 1.0) * np.log(x) - special.gammaln(a))


@vjp(special.gammaincc, broadcasting=True, elementwise=True, jax=_SPECIAL + "gammaincc",
     samples=[Sample((P(3, 1), P(4)), wrt=(1,))])
def gammaincc(g, ans, a, x):
    """Differentiable in ``x`` only (as autograd): the parameter ``a`` gets none."""
    return None, -g * np.exp(-x + (a - 1.0) * np.log(x) - special.gammaln(a))


@vjp(special.betainc, broadcasting=True, elementwise=True, jax=_SPECIAL + "betainc",
     samples=[Sample((P(3, 1), 1.5, ArraySpec((4,), 0.1, 0.9)), wrt=(2,))])
def betainc(g, ans, a, b, x):
    """Differentiable in ``x`` only (as autograd): the parameters get none."""
    density = np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - special.betaln(a, b))
    return None, None, g * density


nondifferentiable(special.gammasgn, special.factorial, special.comb, special.perm,
                  reason="integer-valued or piecewise constant")


# --- Bessel functions (differentiable in x; the order gets no derivative) -----------------

@vjp(special.i0, elementwise=True, jax=_SPECIAL + "i0", samples=_ANY)
def i0(g, ans, x):
    return g * special.i1(x)


@vjp(special.i1, elementwise=True, jax=_SPECIAL + "i1", samples=_POS)
def i1(g, ans, x):
    return g * (special.i0(x) - ans / x)


@vjp(special.i0e, elementwise=True, jax=_SPECIAL + "i0e", samples=_POS)
def i0e(g, ans, x):
    return g * (special.i1e(x) - np.sign(x) * ans)


@vjp(special.i1e, elementwise=True, jax=_SPECIAL + "i1e", samples=_POS)
def i1e(g, ans, x):
    return g * (special.i0e(x) - ans * (np.sign(x) + 1.0 / x))


@vjp(special.iv, elementwise=True, samples=_ORDER_X)
def iv(g, ans, v, x):
    return None, g * (special.iv(v - 1, x) + special.iv(v + 1, x)) / 2.0


@vjp(special.ive, elementwise=True, samples=_ORDER_X)
def ive(g, ans, v, x):
    return None, g * ((special.ive(v - 1, x) + special.ive(v + 1, x)) / 2.0 - np.sign(x) * ans)


@vjp(special.j0, elementwise=True, samples=_ANY)
def j0(g, ans, x):
    return -g * special.j1(x)


@vjp(special.j1, elementwise=True, samples=_ANY)
def j1(g, ans, x):
    return g * (special.j0(x) - special.jv(2, x)) / 2.0


@vjp(special.jv, elementwise=True, samples=_ORDER_X)
def jv(g, ans, v, x):
    return None, g * (special.jv(v - 1, x) - special.jv(v + 1, x)) / 2.0


@vjp(special.y0, elementwise=True, samples=_POS)
def y0(g, ans, x):
    return -g * special.y1(x)


@vjp(special.y1, elementwise=True, samples=_POS)
def y1(g, ans, x):
    return g * (special.y0(x) - special.yn(2, x)) / 2.0


@vjp(special.yn, elementwise=True, samples=_INT_ORDER_X)
def yn(g, ans, n, x):
    return None, g * (special.yn(n - 1, x) - special.yn(n + 1, x)) / 2.0


@vjp(special.yv, elementwise=True, samples=_ORDER_X)
def yv(g, ans, v, x):
    return None, g * (special.yv(v - 1, x) - special.yv(v + 1, x)) / 2.0

