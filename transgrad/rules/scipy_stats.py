"""Rules for the densities and distribution functions of ``scipy.stats`` distributions (loaded
only when scipy imports).

``scipy.stats.norm`` is an object and ``norm.logpdf`` a bound method, a new object on each
access; rules are keyed by it all the same (bound methods compare and hash by their object and
function), so ``from scipy.stats import norm; norm.logpdf(x, mu, s)`` finds its rule. The
parameters are spelled as positional-or-keyword parameters of each rule (``loc``, ``scale``,
``df``, ``a``...), in scipy's order. Each rule is differentiable in the data and the
parameters, except where noted: the distribution functions (cdf, sf and their logs) of t,
gamma, chi2 and beta get no derivative in their shape parameters (``df``, ``a``, ``b``: no closed
form, as in autograd), nor do ``poisson``'s integer ``k`` and ``loc``. Frozen distributions
(``norm(mu, s).logpdf(x)``) are not covered.
"""

import math

import numpy as np
from scipy import special, stats

from .. import runtime as tgr
from ..runtime import unbroadcast
from .registry import Sample, helper, jvp, vjp
from .specs import A, P, SPD, ArraySpec, S

_LOG_2PI = math.log(2.0 * math.pi)
# a bound method is a new object on each access: the rules and forward rules of one method are
# declared on the same object, so the listing shows it once
_DIRICHLET_LOGPDF, _DIRICHLET_PDF = stats.dirichlet.logpdf, stats.dirichlet.pdf
_MVN_LOGPDF, _MVN_PDF = stats.multivariate_normal.logpdf, stats.multivariate_normal.pdf
_MVN_ENTROPY = stats.multivariate_normal.entropy
_STATS = "jax.scipy.stats."


def _twin(name):
    return _STATS + name


# --- normal ---------------------------------------------------------------------------------

_NORM = [Sample((A(3, 4), A(4), P(3, 1)))]


@vjp(stats.norm.logpdf, broadcasting=True, elementwise=True, jax=_twin("norm.logpdf"),
     samples=_NORM)
def norm_logpdf(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -g * z / scale, g * z / scale, g * (z * z - 1.0) / scale


@vjp(stats.norm.pdf, broadcasting=True, elementwise=True, jax=_twin("norm.pdf"),
     samples=_NORM)
def norm_pdf(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -g * ans * z / scale, g * ans * z / scale, g * ans * (z * z - 1.0) / scale


@vjp(stats.norm.cdf, broadcasting=True, elementwise=True, jax=_twin("norm.cdf"),
     samples=_NORM)
def norm_cdf(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = g * np.exp(-0.5 * z * z - 0.5 * _LOG_2PI) / scale
    return slope, -slope, -slope * z


@vjp(stats.norm.logcdf, broadcasting=True, elementwise=True, jax=_twin("norm.logcdf"),
     samples=_NORM)
def norm_logcdf(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = g * np.exp(-0.5 * z * z - 0.5 * _LOG_2PI - ans) / scale
    return slope, -slope, -slope * z


@vjp(stats.norm.sf, broadcasting=True, elementwise=True, jax=_twin("norm.sf"), samples=_NORM)
def norm_sf(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = g * np.exp(-0.5 * z * z - 0.5 * _LOG_2PI) / scale
    return -slope, slope, slope * z


@vjp(stats.norm.logsf, broadcasting=True, elementwise=True, jax=_twin("norm.logsf"),
     samples=_NORM)
def norm_logsf(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = g * np.exp(-0.5 * z * z - 0.5 * _LOG_2PI - ans) / scale
    return -slope, slope, slope * z


# --- Student's t ----------------------------------------------------------------------------

_T = [Sample((A(3, 4), P(4), S(), S(0.5, 2.0)))]
_T_X = [Sample((A(3, 4), P(4), S(), S(0.5, 2.0)), wrt=(0, 2, 3))]


@vjp(stats.t.logpdf, broadcasting=True, elementwise=True, jax=_twin("t.logpdf"), samples=_T)
def t_logpdf(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    r = df + z * z
    dx = -g * (df + 1.0) * z / (scale * r)
    ddf = 0.5 * g * (special.digamma((df + 1.0) / 2.0) - special.digamma(df / 2.0) - 1.0 / df
                     - np.log1p(z * z / df) + (df + 1.0) * z * z / (df * r))
    return dx, ddf, -dx, g * ((df + 1.0) * z * z / r - 1.0) / scale


@vjp(stats.t.pdf, broadcasting=True, elementwise=True, jax=_twin("t.pdf"), samples=_T)
def t_pdf(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    r = df + z * z
    dx = -g * ans * (df + 1.0) * z / (scale * r)
    ddf = 0.5 * g * ans * (special.digamma((df + 1.0) / 2.0) - special.digamma(df / 2.0)
                           - 1.0 / df - np.log1p(z * z / df) + (df + 1.0) * z * z / (df * r))
    return dx, ddf, -dx, g * ans * ((df + 1.0) * z * z / r - 1.0) / scale


@vjp(stats.t.cdf, broadcasting=True, elementwise=True, samples=_T_X)
def t_cdf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * stats.t.pdf(x, df, loc, scale)
    return slope, None, -slope, -slope * (x - loc) / scale


@vjp(stats.t.logcdf, broadcasting=True, elementwise=True, samples=_T_X)
def t_logcdf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * np.exp(stats.t.logpdf(x, df, loc, scale) - ans)
    return slope, None, -slope, -slope * (x - loc) / scale


@vjp(stats.t.sf, broadcasting=True, elementwise=True, samples=_T_X)
def t_sf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * stats.t.pdf(x, df, loc, scale)
    return -slope, None, slope, slope * (x - loc) / scale


@vjp(stats.t.logsf, broadcasting=True, elementwise=True, samples=_T_X)
def t_logsf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * np.exp(stats.t.logpdf(x, df, loc, scale) - ans)
    return -slope, None, slope, slope * (x - loc) / scale


# --- gamma ----------------------------------------------------------------------------------

_GAMMA = [Sample((P(3, 4), P(4), S(-0.4, 0.4), S(0.5, 2.0)))]
_GAMMA_X = [Sample((P(3, 4), P(4), S(-0.4, 0.4), S(0.5, 2.0)), wrt=(0, 2, 3))]


@vjp(stats.gamma.logpdf, broadcasting=True, elementwise=True, jax=_twin("gamma.logpdf"),
     samples=_GAMMA)
def gamma_logpdf(g, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dx = g * ((a - 1.0) / z - 1.0) / scale
    return dx, g * (np.log(z) - special.digamma(a)), -dx, g * (z - a) / scale


@vjp(stats.gamma.pdf, broadcasting=True, elementwise=True, jax=_twin("gamma.pdf"),
     samples=_GAMMA)
def gamma_pdf(g, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dx = g * ans * ((a - 1.0) / z - 1.0) / scale
    return dx, g * ans * (np.log(z) - special.digamma(a)), -dx, g * ans * (z - a) / scale


@vjp(stats.gamma.cdf, broadcasting=True, elementwise=True, jax=_twin("gamma.cdf"),
     samples=_GAMMA_X)
def gamma_cdf(g, ans, x, a, loc=0.0, scale=1.0):
    """No derivative in the shape ``a``."""
    slope = g * stats.gamma.pdf(x, a, loc, scale)
    return slope, None, -slope, -slope * (x - loc) / scale


@vjp(stats.gamma.logcdf, broadcasting=True, elementwise=True, jax=_twin("gamma.logcdf"),
     samples=_GAMMA_X)
def gamma_logcdf(g, ans, x, a, loc=0.0, scale=1.0):
    """No derivative in the shape ``a``."""
    slope = g * np.exp(stats.gamma.logpdf(x, a, loc, scale) - ans)
    return slope, None, -slope, -slope * (x - loc) / scale


@vjp(stats.gamma.sf, broadcasting=True, elementwise=True, jax=_twin("gamma.sf"),
     samples=_GAMMA_X)
def gamma_sf(g, ans, x, a, loc=0.0, scale=1.0):
    """No derivative in the shape ``a``."""
    slope = g * stats.gamma.pdf(x, a, loc, scale)
    return -slope, None, slope, slope * (x - loc) / scale


@vjp(stats.gamma.logsf, broadcasting=True, elementwise=True, jax=_twin("gamma.logsf"),
     samples=_GAMMA_X)
def gamma_logsf(g, ans, x, a, loc=0.0, scale=1.0):
    """No derivative in the shape ``a``."""
    slope = g * np.exp(stats.gamma.logpdf(x, a, loc, scale) - ans)
    return -slope, None, slope, slope * (x - loc) / scale


# --- chi-squared (a gamma with shape df/2 and scale 2) --------------------------------------

_CHI2 = [Sample((P(3, 4), P(4), S(-0.4, 0.4), S(0.5, 2.0)))]
_CHI2_X = [Sample((P(3, 4), P(4), S(-0.4, 0.4), S(0.5, 2.0)), wrt=(0, 2, 3))]


@vjp(stats.chi2.logpdf, broadcasting=True, elementwise=True, jax=_twin("chi2.logpdf"),
     samples=_CHI2)
def chi2_logpdf(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dx = g * ((0.5 * df - 1.0) / z - 0.5) / scale
    return (dx, 0.5 * g * (np.log(0.5 * z) - special.digamma(0.5 * df)), -dx,
            0.5 * g * (z - df) / scale)


@vjp(stats.chi2.pdf, broadcasting=True, elementwise=True, jax=_twin("chi2.pdf"),
     samples=_CHI2)
def chi2_pdf(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dx = g * ans * ((0.5 * df - 1.0) / z - 0.5) / scale
    return (dx, 0.5 * g * ans * (np.log(0.5 * z) - special.digamma(0.5 * df)), -dx,
            0.5 * g * ans * (z - df) / scale)


@vjp(stats.chi2.cdf, broadcasting=True, elementwise=True, jax=_twin("chi2.cdf"),
     samples=_CHI2_X)
def chi2_cdf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * stats.chi2.pdf(x, df, loc, scale)
    return slope, None, -slope, -slope * (x - loc) / scale


@vjp(stats.chi2.logcdf, broadcasting=True, elementwise=True, jax=_twin("chi2.logcdf"),
     samples=_CHI2_X)
def chi2_logcdf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * np.exp(stats.chi2.logpdf(x, df, loc, scale) - ans)
    return slope, None, -slope, -slope * (x - loc) / scale


@vjp(stats.chi2.sf, broadcasting=True, elementwise=True, jax=_twin("chi2.sf"),
     samples=_CHI2_X)
def chi2_sf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * stats.chi2.pdf(x, df, loc, scale)
    return -slope, None, slope, slope * (x - loc) / scale


@vjp(stats.chi2.logsf, broadcasting=True, elementwise=True, jax=_twin("chi2.logsf"),
     samples=_CHI2_X)
def chi2_logsf(g, ans, x, df, loc=0.0, scale=1.0):
    """No derivative in ``df``."""
    slope = g * np.exp(stats.chi2.logpdf(x, df, loc, scale) - ans)
    return -slope, None, slope, slope * (x - loc) / scale


# --- beta -----------------------------------------------------------------------------------

_UNIT = ArraySpec((3, 4), 0.1, 0.9)
_BETA = [Sample((_UNIT, P(4), P(3, 1), S(-0.05, 0.05), S(1.1, 1.5)))]
_BETA_X = [Sample((_UNIT, P(4), P(3, 1), S(-0.05, 0.05), S(1.1, 1.5)), wrt=(0, 3, 4))]


@vjp(stats.beta.logpdf, broadcasting=True, elementwise=True, jax=_twin("beta.logpdf"),
     samples=_BETA)
def beta_logpdf(g, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dx = g * ((a - 1.0) / z - (b - 1.0) / (1.0 - z)) / scale
    total = special.digamma(a + b)
    return (dx, g * (np.log(z) - special.digamma(a) + total),
            g * (np.log1p(-z) - special.digamma(b) + total), -dx, -g / scale - z * dx)


@vjp(stats.beta.pdf, broadcasting=True, elementwise=True, jax=_twin("beta.pdf"),
     samples=_BETA)
def beta_pdf(g, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dx = g * ans * ((a - 1.0) / z - (b - 1.0) / (1.0 - z)) / scale
    total = special.digamma(a + b)
    return (dx, g * ans * (np.log(z) - special.digamma(a) + total),
            g * ans * (np.log1p(-z) - special.digamma(b) + total), -dx,
            -g * ans / scale - z * dx)


@vjp(stats.beta.cdf, broadcasting=True, elementwise=True, jax=_twin("beta.cdf"),
     samples=_BETA_X)
def beta_cdf(g, ans, x, a, b, loc=0.0, scale=1.0):
    """No derivative in the shapes ``a`` and ``b``."""
    slope = g * stats.beta.pdf(x, a, b, loc, scale)
    return slope, None, None, -slope, -slope * (x - loc) / scale


@vjp(stats.beta.logcdf, broadcasting=True, elementwise=True, jax=_twin("beta.logcdf"),
     samples=_BETA_X)
def beta_logcdf(g, ans, x, a, b, loc=0.0, scale=1.0):
    """No derivative in the shapes ``a`` and ``b``."""
    slope = g * np.exp(stats.beta.logpdf(x, a, b, loc, scale) - ans)
    return slope, None, None, -slope, -slope * (x - loc) / scale


@vjp(stats.beta.sf, broadcasting=True, elementwise=True, jax=_twin("beta.sf"),
     samples=_BETA_X)
def beta_sf(g, ans, x, a, b, loc=0.0, scale=1.0):
    """No derivative in the shapes ``a`` and ``b``."""
    slope = g * stats.beta.pdf(x, a, b, loc, scale)
    return -slope, None, None, slope, slope * (x - loc) / scale


@vjp(stats.beta.logsf, broadcasting=True, elementwise=True, jax=_twin("beta.logsf"),
     samples=_BETA_X)
def beta_logsf(g, ans, x, a, b, loc=0.0, scale=1.0):
    """No derivative in the shapes ``a`` and ``b``."""
    slope = g * np.exp(stats.beta.logpdf(x, a, b, loc, scale) - ans)
    return -slope, None, None, slope, slope * (x - loc) / scale


# --- Poisson (differentiable in the rate ``mu``) --------------------------------------------

_COUNTS = np.array([[0, 1, 2, 5], [3, 0, 1, 2], [4, 4, 1, 0]])
_POISSON = [Sample((_COUNTS, P(4)))]


@vjp(stats.poisson.logpmf, broadcasting=True, elementwise=True, jax=_twin("poisson.logpmf"),
     samples=_POISSON)
def poisson_logpmf(g, ans, k, mu, loc=0):
    return None, g * ((k - loc) / mu - 1.0), None


@vjp(stats.poisson.pmf, broadcasting=True, elementwise=True, jax=_twin("poisson.pmf"),
     samples=_POISSON)
def poisson_pmf(g, ans, k, mu, loc=0):
    return None, g * ans * ((k - loc) / mu - 1.0), None


@vjp(stats.poisson.cdf, broadcasting=True, elementwise=True, jax=_twin("poisson.cdf"),
     samples=_POISSON)
def poisson_cdf(g, ans, k, mu, loc=0):
    """``d/dmu P(K <= k) = -pmf(floor(k))``."""
    return None, -g * stats.poisson.pmf(np.floor(k), mu, loc), None


@vjp(stats.poisson.logcdf, broadcasting=True, elementwise=True, samples=_POISSON)
def poisson_logcdf(g, ans, k, mu, loc=0):
    return None, -g * np.exp(stats.poisson.logpmf(np.floor(k), mu, loc) - ans), None


@vjp(stats.poisson.sf, broadcasting=True, elementwise=True, samples=_POISSON)
def poisson_sf(g, ans, k, mu, loc=0):
    return None, g * stats.poisson.pmf(np.floor(k), mu, loc), None


@vjp(stats.poisson.logsf, broadcasting=True, elementwise=True, samples=_POISSON)
def poisson_logsf(g, ans, k, mu, loc=0):
    return None, g * np.exp(stats.poisson.logpmf(np.floor(k), mu, loc) - ans), None


# --- Dirichlet (x: components along the first axis, as scipy) -------------------------------

_SIMPLEX = np.array([0.2, 0.3, 0.5])
_SIMPLICES = np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]])
_DIRICHLET = [Sample((_SIMPLEX, P(3)), wrt=(1,)), Sample((_SIMPLICES, P(3)), wrt=(1,))]


@vjp(_DIRICHLET_LOGPDF, jax=_twin("dirichlet.logpdf"), samples=_DIRICHLET)
def dirichlet_logpdf(g, ans, x, alpha):
    """In ``x``, the derivative of the density's formula (off the simplex, scipy refuses)."""
    alpha_col = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
    dx = g * (alpha_col - 1.0) / x
    dalpha = np.sum(g * np.log(x), axis=tuple(range(1, np.ndim(x)))) + np.sum(g) * (
        special.digamma(np.sum(alpha)) - special.digamma(alpha))
    return dx, dalpha


@vjp(_DIRICHLET_PDF, jax=_twin("dirichlet.pdf"), samples=_DIRICHLET)
def dirichlet_pdf(g, ans, x, alpha):
    """In ``x``, the derivative of the density's formula (off the simplex, scipy refuses)."""
    alpha_col = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
    dx = g * ans * (alpha_col - 1.0) / x
    dalpha = np.sum(g * ans * np.log(x), axis=tuple(range(1, np.ndim(x)))) + np.sum(
        g * ans) * (special.digamma(np.sum(alpha)) - special.digamma(alpha))
    return dx, dalpha


@jvp(_DIRICHLET_LOGPDF, argnum=1, samples=_DIRICHLET)
def dirichlet_logpdf_jvp(g, ans, x, alpha):
    """In ``alpha`` only (scipy refuses an ``x`` off the simplex, so no samples could check
    a tangent of ``x``)."""
    shape = np.shape(alpha) + (1,) * (np.ndim(x) - 1)
    slope = np.log(x) - np.reshape(special.digamma(alpha) - special.digamma(np.sum(alpha)),
                                   shape)
    return np.sum(np.reshape(g, shape) * slope, axis=0)


@jvp(_DIRICHLET_PDF, argnum=1, samples=_DIRICHLET)
def dirichlet_pdf_jvp(g, ans, x, alpha):
    shape = np.shape(alpha) + (1,) * (np.ndim(x) - 1)
    slope = np.log(x) - np.reshape(special.digamma(alpha) - special.digamma(np.sum(alpha)),
                                   shape)
    return ans * np.sum(np.reshape(g, shape) * slope, axis=0)


# --- multivariate normal (x: points along the last axis; a full covariance matrix) ----------

_MVN = [Sample((A(3), A(3), SPD(3))), Sample((A(4, 3), A(3), SPD(3)))]


@vjp(_MVN_LOGPDF, jax=_twin("multivariate_normal.logpdf"), samples=_MVN)
def multivariate_normal_logpdf(g, ans, x, mean=None, cov=1, allow_singular=False):
    """``cov`` must be a matrix; its cotangent is symmetric."""
    dx, dmean, dcov = tgr.mvn_logpdf_vjp(g, x, mean, cov)
    return dx, dmean, dcov


@vjp(_MVN_PDF, jax=_twin("multivariate_normal.pdf"), samples=_MVN)
def multivariate_normal_pdf(g, ans, x, mean=None, cov=1, allow_singular=False):
    """``cov`` must be a matrix; its cotangent is symmetric."""
    dx, dmean, dcov = tgr.mvn_logpdf_vjp(g * ans, x, mean, cov)
    return dx, dmean, dcov


@helper(source=True)
def mvn_logpdf_vjp(g, x, mean, cov):
    """Cotangents of ``x``, ``mean``, ``cov`` in ``multivariate_normal.logpdf`` (``g``: one
    per point): ``-inv(cov) r``, its sum over points, ``-(sum g inv(cov) - sum g v v^T) / 2``
    with ``r = x - mean`` and ``v = inv(cov) r``."""
    if mean is None:
        r = x
    else:
        r = x - mean
    d = np.shape(cov)[-1]
    rows = np.reshape(r, (-1, d))
    v = np.linalg.solve(cov, rows.T).T
    gv = np.reshape(g, (-1, 1)) * v
    dcov = -0.5 * (np.sum(g) * np.linalg.inv(cov) - gv.T @ v)
    dx = -np.reshape(gv, np.shape(r))
    if mean is None:
        dmean = None
    else:
        dmean = unbroadcast(-dx, np.shape(mean))
    return dx, dmean, dcov


@jvp(_MVN_LOGPDF, samples=_MVN)
def multivariate_normal_logpdf_jvp_x(g, ans, x, mean=None, cov=1, allow_singular=False):
    return -np.sum(tgr.mvn_whitened(x, mean, cov) * g, axis=-1)


@jvp(_MVN_LOGPDF, argnum=1, samples=_MVN)
def multivariate_normal_logpdf_jvp_mean(g, ans, x, mean=None, cov=1, allow_singular=False):
    return np.sum(tgr.mvn_whitened(x, mean, cov) * g, axis=-1)


@jvp(_MVN_LOGPDF, argnum=2, samples=_MVN)
def multivariate_normal_logpdf_jvp_cov(g, ans, x, mean=None, cov=1, allow_singular=False):
    v = tgr.mvn_whitened(x, mean, cov)
    return -0.5 * (np.trace(np.linalg.solve(cov, g)) - np.sum(v * (v @ g.T), axis=-1))


@jvp(_MVN_PDF, samples=_MVN)
def multivariate_normal_pdf_jvp_x(g, ans, x, mean=None, cov=1, allow_singular=False):
    return -ans * np.sum(tgr.mvn_whitened(x, mean, cov) * g, axis=-1)


@jvp(_MVN_PDF, argnum=1, samples=_MVN)
def multivariate_normal_pdf_jvp_mean(g, ans, x, mean=None, cov=1, allow_singular=False):
    return ans * np.sum(tgr.mvn_whitened(x, mean, cov) * g, axis=-1)


@jvp(_MVN_PDF, argnum=2, samples=_MVN)
def multivariate_normal_pdf_jvp_cov(g, ans, x, mean=None, cov=1, allow_singular=False):
    v = tgr.mvn_whitened(x, mean, cov)
    return -0.5 * ans * (np.trace(np.linalg.solve(cov, g)) - np.sum(v * (v @ g.T), axis=-1))


_MVN_COV = [Sample((A(3), SPD(3)), wrt=(1,)), Sample((None, SPD(4)), wrt=(1,))]


@vjp(_MVN_ENTROPY, samples=_MVN_COV)
def multivariate_normal_entropy(g, ans, mean=None, cov=1, allow_singular=False):
    """``log det(2 pi e cov) / 2`` does not depend on ``mean``; ``cov`` must be a matrix."""
    return None, 0.5 * g * np.linalg.inv(cov)


@jvp(_MVN_ENTROPY, argnum=1, samples=_MVN_COV)
def multivariate_normal_entropy_jvp(g, ans, mean=None, cov=1, allow_singular=False):
    return 0.5 * np.trace(np.linalg.solve(cov, g))


@helper
def mvn_whitened(x, mean, cov):
    """``inv(cov) (x - mean)`` for each point (the last axis of ``x``)."""
    r = x if mean is None else x - mean
    d = np.shape(cov)[-1]
    return np.reshape(np.linalg.solve(cov, np.reshape(r, (-1, d)).T).T, np.shape(r))
