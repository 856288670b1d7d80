"""lse: log-sum-exp of a vector, and its gradient.

Follows gradbench/gradbench python/gradbench/gradbench/tools/jax/lse.py (the objective and
``grad(logsumexp)``) and tools/pytorch/lse.py; inputs follow
python/gradbench/gradbench/evals/lse/run.py (seed 31337, ``np.random.rand(n)``, smallest
published n = 2500).
"""
import numpy as np
from fdiff import central

import transgrad as tg

NAME = "lse"
CASES = ("small", "published")


def logsumexp(x):
    x_max = np.max(x)
    return np.log(np.sum(np.exp(x - x_max))) + x_max


def inputs(kind):
    n = {"small": 10, "published": 2500}[kind]
    np.random.seed(31337)
    return (np.array(np.random.rand(n).tolist(), dtype=np.float64),)


def primal(x):
    return logsumexp(x)


def derivative(x):
    return tg.grad(logsumexp)(x)


def prepare(x):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    gradient = tg.grad(logsumexp)
    return lambda: gradient(x)


def derivative_jax():
    import jax
    return jax.jit(tg.grad(logsumexp, backend="jax"))


def fd_derivative(x):
    return central(logsumexp, x)
