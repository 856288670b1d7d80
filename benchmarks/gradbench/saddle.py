"""saddle: the saddle point of f(x, y) = (x1^2 + y1^2) - (x2^2 + y2^2) by gradient descent
(an argmin over x of a max over y found by gradient ascent; Pearlmutter and Siskind), so the
outer gradient differentiates through the inner solver: nested AD, four mode combinations.

Follows gradbench/gradbench tools/futhark/saddle.fut (``saddle grad0 grad1 start`` with the
local functions ``f``, ``r2_cost``, ``r1_cost``, and the solver of solver.py) and
tools/haskell/src/GradBench/Saddle.hs. The only input is GradBench's,
python/gradbench/gradbench/evals/saddle/run.py: start = (1, 1), and the answer it checks,
8.246324826140356e-06 four times.
"""
import numpy as np
from solver import multivariate_argmax, multivariate_argmin, multivariate_max

import transgrad as tg

NAME = "saddle"
CASES = ("rr", "fr", "rf", "ff")
EXPECTED = [8.246324826140356e-06] * 4


def saddle(grad0, grad1, start):
    def f(x1, y1, x2, y2):
        return (x1**2 + y1**2) - (x2**2 + y2**2)

    def r2_cost(p1, p):
        return f(p1[0], p1[1], p[0], p[1])

    def r1_cost(p1):
        return multivariate_max(grad1, lambda p: r2_cost(p1, p), start)

    r1 = multivariate_argmin(grad0, r1_cost, start)
    r2 = multivariate_argmax(grad0, lambda p: r2_cost(r1, p), start)
    return np.concatenate([r1, r2])


def grad_r(f):
    return tg.grad(f)


def grad_f(f):
    def g(x):
        return np.array([tg.jvp(f)(x, np.eye(len(x))[i])[1] for i in range(len(x))])
    return g


GRADS = {"r": grad_r, "f": grad_f}


def inputs(kind):
    return (np.array([1.0, 1.0]), kind)


primal = None


def derivative(start, variant):
    return saddle(GRADS[variant[0]], GRADS[variant[1]], start)


def prepare(start, variant):
    """Nothing to hold: the solver makes its gradients from the operators, as GradBench's."""
    return lambda: derivative(start, variant)


def derivative_jax():
    import jax
    import jax.numpy as jnp

    def grad_r_jax(f):
        return tg.grad(f, backend="jax")

    def grad_f_jax(f):
        def g(x):
            return jnp.stack([tg.jvp(f, backend="jax")(x, jnp.eye(len(x))[i])[1]
                              for i in range(len(x))])
        return g

    inner = {"r": grad_r_jax, "f": grad_f_jax}

    def run(start, variant):
        def outer(f):
            return jax.jit(inner[variant[0]](f))
        return np.asarray(saddle(outer, inner[variant[1]], jnp.asarray(start)))
    return run
