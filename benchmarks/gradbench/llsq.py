"""llsq: linear least squares against sign(t) with a monomial basis, and its gradient.

Follows gradbench/gradbench python/gradbench/gradbench/tools/jax/llsq.py: the helper ``t``,
the closure ``f(i)`` (``jnp.full(m, ti).at[0].set(1)`` becomes a subscript assignment,
``jax.vmap(f)(i_vals)`` a list of ``f(i)`` stacked). Inputs follow
python/gradbench/gradbench/evals/llsq/run.py (seed 31337, ``x = np.random.rand(m)``, smallest
published n=16, m=128).
"""
import numpy as np
from fdiff import central

import transgrad as tg

NAME = "llsq"
CASES = ("small", "published")


def t(i, n):
    return -1.0 + (i * 2.0) / (n - 1.0)


def llsq(x, n):
    m = x.shape[0]

    def f(i):
        ti = t(i, n)
        muls = np.full(m, ti)
        muls[0] = 1
        muls = np.cumprod(muls)
        return (np.sign(ti) + np.sum(-x * muls)) ** 2

    i_vals = np.arange(n)
    results = np.stack([f(i) for i in i_vals])

    return np.sum(results) / 2.0


def inputs(kind):
    n, m = {"small": (6, 5), "published": (16, 128)}[kind]
    np.random.seed(31337)
    return (np.array(np.random.rand(m).tolist(), dtype=np.float64), n)


def primal(x, n):
    return llsq(x, n)


def derivative(x, n):
    return tg.grad(llsq, wrt=0)(x, n)


def prepare(x, n):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    gradient = tg.grad(llsq, wrt=0)
    return lambda: gradient(x, n)


def derivative_jax():
    import jax
    return jax.jit(tg.grad(llsq, wrt=0, backend="jax"), static_argnums=[1])


def fd_derivative(x, n):
    return central(lambda x_: llsq(x_, n), x)
