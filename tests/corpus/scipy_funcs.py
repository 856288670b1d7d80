"""Statistical models written with scipy: logistic and softmax regression (expit, xlogy,
logsumexp), Gaussian, Student-t, Poisson and multivariate normal log-likelihoods
(``scipy.stats``), a gamma-function likelihood, a Gaussian-process style solve
(``scipy.linalg.solve_triangular``), a matrix exponential and a smoothing convolution.

They call scipy directly, so the JAX reference (which re-binds only ``np``) does not apply
(``jax=False``); the JAX backend runs them through the rules' ``jax.scipy`` twins.
"""

import numpy as np
from scipy import linalg, signal, special, stats
from scipy.stats import norm

from transgrad.rules.specs import A, P, S

from . import corpus_function


def _classification(rng):
    x = rng.normal(size=(8, 3))
    labels = (rng.uniform(size=8) > 0.5).astype(float)
    return rng.normal(size=3), x, labels


@corpus_function(make=_classification, wrt=0, jax=False)
def logistic_regression(w, x, labels):
    z = x @ w
    return -np.sum(special.xlogy(labels, special.expit(z))
                   + special.xlogy(1.0 - labels, special.expit(-z)))


def _softmax_data(rng):
    x = rng.normal(size=(6, 3))
    onehot = np.eye(4)[rng.integers(0, 4, size=6)]
    return rng.normal(size=(3, 4)), x, onehot


@corpus_function(make=_softmax_data, wrt=0, jax=False)
def softmax_regression(w, x, onehot):
    logits = x @ w
    return np.sum(special.logsumexp(logits, axis=1) - np.sum(onehot * logits, axis=1))


@corpus_function(make=_softmax_data, wrt=0, jax=False)
def softmax_cross_entropy(w, x, onehot):
    return -np.sum(onehot * special.log_softmax(x @ w, axis=1)) \
        + 0.1 * np.sum(special.softmax(w, axis=0) ** 2)


@corpus_function(S(), S(-0.5, 0.5), A(10), wrt=(0, 1), jax=False)
def gaussian_log_likelihood(mu, log_sigma, x):
    return np.sum(norm.logpdf(x, mu, np.exp(log_sigma)))


@corpus_function(A(3), S(0.5, 2.0), A(6, 3), A(6), wrt=(0, 1), jax=False)
def student_t_regression(w, scale, x, y):
    residual = y - x @ w
    return np.sum(stats.t.logpdf(residual, 4.0, scale=scale))


def _counts(rng):
    x = rng.normal(size=(7, 2)) * 0.5
    return rng.normal(size=2) * 0.3, x, rng.integers(0, 5, size=7)


@corpus_function(make=_counts, wrt=0, jax=False)
def poisson_regression(w, x, counts):
    return -np.sum(stats.poisson.logpmf(counts, np.exp(x @ w)))


@corpus_function(P(4), P(4), wrt=(0, 1), jax=False)
def negative_binomial_log_likelihood(r, p_logit):
    p = special.expit(p_logit)
    k = np.array([0.0, 2.0, 5.0, 1.0])
    return np.sum(special.gammaln(k + r) - special.gammaln(r) - special.gammaln(k + 1.0)
                  + special.xlogy(r, p) + special.xlog1py(k, -p))


@corpus_function(A(3), A(3, 3), A(5, 3), wrt=(0, 1), jax=False)
def multivariate_normal_log_likelihood(mean, factor, points):
    cov = factor @ factor.T + 3.0 * np.eye(3)
    return np.sum(stats.multivariate_normal.logpdf(points, mean, cov))


@corpus_function(A(4, 4), A(4), wrt=(0, 1), jax=False)
def triangular_solve_objective(m, y):
    chol = np.linalg.cholesky(m @ m.T + 4.0 * np.eye(4))
    alpha = linalg.solve_triangular(chol, y, lower=True)
    return 0.5 * np.sum(alpha * alpha) + np.sum(np.log(np.diag(chol)))


@corpus_function(A(3, 3), A(3), wrt=(0, 1), jax=False)
def matrix_exponential_flow(a, x0):
    return np.sum(np.tanh(linalg.expm(0.5 * a) @ x0))


@corpus_function(A(12), A(3), wrt=(0, 1), jax=False)
def smoothing_convolution(x, kernel):
    smooth = signal.convolve(x, kernel, mode="same")
    return np.sum((smooth - x) ** 2) + np.sum(special.erf(kernel))
