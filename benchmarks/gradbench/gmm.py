"""gmm: log-posterior of a Gaussian mixture with a Wishart prior, gradient wrt
(alpha, mu, q, l).

Follows gradbench/gradbench python/gradbench/gradbench/tools/pytorch/gmm_objective.py
(ADBench's PyTorch GMM with ADBench PR 211: keyword-only arguments, the helper
``log_wishart_prior``, ``Ls[:, rows, cols] = l``) and tools/jax/gmm_objective.py; the
derivative is taken as tools/jax/gmm.py takes it, over a dict of the independent arrays:
``grad(lambda ind: gmm_objective(**fixed, **ind))(independent)``. ``torch.logsumexp`` and
``multigammaln`` become scipy.special's, ``torch.repeat_interleave`` ``np.repeat``,
``torch.cat`` ``np.concatenate``. Inputs follow python/gradbench/gradbench/evals/gmm/run.py
(``generate``: seed 31337, default_rng; smallest published d=2, k=5, n=1000, m=0, gamma=1).
"""
import math

import numpy as np
from fdiff import central
from scipy.special import logsumexp, multigammaln

import transgrad as tg

NAME = "gmm"
CASES = ("small", "published")


def log_wishart_prior(*, k, p, gamma, m, sum_qs, Qdiags, l):
    n = p + m + 1

    out = np.sum(
        0.5 * gamma * gamma * (np.sum(Qdiags**2, axis=1) + np.sum(l**2, axis=1))
        - m * sum_qs
    )

    C = n * p * (math.log(gamma / math.sqrt(2)))
    return -out + k * (C - multigammaln(0.5 * n, p))


def gmm_objective(*, d, k, n, x, m, gamma, alpha, mu, q, l):
    Qdiags = np.exp(q)
    sum_qs = np.sum(q, 1)

    cols = np.repeat(np.arange(d - 1), np.arange(d - 1, 0, -1))
    rows = np.concatenate([np.arange(c + 1, d) for c in range(d - 1)])
    Ls = np.zeros((k, d, d), dtype=l.dtype)
    Ls[:, rows, cols] = l

    xcentered = x[:, None, :] - mu[None, ...]

    Lxcentered = Qdiags * xcentered + np.einsum("ijk,mik->mij", Ls, xcentered)
    sqsum_Lxcentered = np.sum(Lxcentered**2, 2)
    inner_term = alpha + sum_qs - 0.5 * sqsum_Lxcentered
    lse = logsumexp(inner_term, 1)
    slse = np.sum(lse)

    CONSTANT = -n * d * 0.5 * math.log(2 * math.pi)
    return (
        CONSTANT
        + slse
        - n * logsumexp(alpha, 0)
        + log_wishart_prior(
            k=k, p=d, gamma=gamma, m=m, sum_qs=sum_qs, Qdiags=Qdiags, l=l
        )
    )


def generate(*, seed, d, k, n, m, gamma):
    rng = np.random.default_rng(seed=seed)
    return {
        "d": d,
        "k": k,
        "n": n,
        "x": [list(rng.normal(size=d)) for _ in range(n)],
        "m": m,
        "gamma": gamma,
        "alpha": list(rng.normal(size=k)),
        "mu": [list(rng.uniform(size=d)) for _ in range(k)],
        "q": [list(rng.normal(size=d)) for _ in range(k)],
        "l": [list(rng.normal(size=d * (d - 1) // 2)) for _ in range(k)],
    }


def inputs(kind):
    d, k, n = {"small": (3, 2, 6), "published": (2, 5, 1000)}[kind]
    raw = generate(seed=31337, d=d, k=k, n=n, m=0, gamma=1.0)
    fixed = {"d": d, "k": k, "n": n, "x": np.array(raw["x"]), "m": raw["m"],
             "gamma": raw["gamma"]}
    independent = {name: np.array(raw[name]) for name in ("alpha", "mu", "q", "l")}
    return (independent, fixed)


def primal(independent, fixed):
    return gmm_objective(**fixed, **independent)


def derivative(independent, fixed):
    return tg.grad(lambda ind: gmm_objective(**fixed, **ind))(independent)


def prepare(independent, fixed):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    gradient = tg.grad(lambda ind: gmm_objective(**fixed, **ind))
    return lambda: gradient(independent)


def derivative_jax():
    from functools import partial

    import jax

    # as tools/jax/gmm.py; gamma and m are static too, since log_wishart_prior takes
    # math.log of gamma as the PyTorch original does
    @partial(jax.jit, static_argnames=["d", "k", "n", "m", "gamma"])
    def jac(independent, **fixed):
        return tg.grad(lambda ind: gmm_objective(**fixed, **ind), backend="jax")(independent)

    return lambda independent, fixed: jac(independent, **fixed)


def fd_derivative(independent, fixed):
    return {name: central(lambda v, name=name: primal(independent | {name: v}, fixed), value)
            for name, value in independent.items()}
