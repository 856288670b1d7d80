"""particle: a charged particle steered by a control w through the field of two charges
(Pearlmutter and Siskind); gradient descent on w, whose objective runs a naive Euler
integration that takes the gradient of the potential at every step: nested AD, with the four
mode combinations ff, fr, rf, rr.

Follows gradbench/gradbench tools/futhark/particle.fut (``naive_euler grad w`` with the
closure ``p`` over the charges, the ``while`` loop, ``particle grad0 grad1 w0`` calling the
solver with ``\\w -> naive_euler grad1 w[0]``, ``grad_r``/``grad_f`` as gradient operators)
and tools/haskell/src/GradBench/Particle.hs; points are numpy arrays of two. The only input
is GradBench's, python/gradbench/gradbench/evals/particle/run.py: w = 0, and the answer it
checks, 0.2071918746486116.
"""
import numpy as np
from solver import multivariate_argmin

import transgrad as tg

NAME = "particle"
CASES = ("rr", "fr", "rf", "ff")
EXPECTED = 0.2071918746486116


def pplus(u, v):
    return u + v


def ktimesp(k, u):
    return k * u


def sqr(x):
    return x * x


def pdistance(u, v):
    return np.sqrt(sqr(u[0] - v[0]) + sqr(u[1] - v[1]))


def naive_euler(grad, w):
    charges = [np.array([10.0, 10.0 - w]), np.array([10.0, 0.0])]
    x_initial = np.array([0.0, 8.0])
    xdot_initial = np.array([0.75, 0.0])
    delta_t = 1e-1

    def p(x):
        return sum(1.0 / pdistance(x, c) for c in charges)

    x, xdot, go = x_initial, xdot_initial, True
    while go:
        xddot = ktimesp(-1.0, grad(p)(x))
        x_new = pplus(x, ktimesp(delta_t, xdot))
        if x_new[1] > 0:
            x, xdot, go = x_new, pplus(xdot, ktimesp(delta_t, xddot)), True
        else:
            go = False
    delta_t_f = -x[1] / xdot[1]
    x_t_f = pplus(x, ktimesp(delta_t_f, xdot))
    return sqr(x_t_f[0])


def particle(grad0, grad1, w0):
    return multivariate_argmin(grad0, lambda w: naive_euler(grad1, w[0]), np.array([w0]))


def grad_r(f):
    return tg.grad(f)


def grad_f(f):
    def g(x):
        return np.array([tg.jvp(f)(x, np.eye(len(x))[i])[1] for i in range(len(x))])
    return g


GRADS = {"r": grad_r, "f": grad_f}


def inputs(kind):
    return (0.0, kind)


primal = None


def derivative(w0, variant):
    return particle(GRADS[variant[0]], GRADS[variant[1]], w0)[0]


def prepare(w0, variant):
    """Nothing to hold: the solver makes its gradients from the operators, as GradBench's."""
    return lambda: derivative(w0, variant)


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

    def run(w0, variant):
        # the outer gradient, whose function integrates with inner gradients, is jitted
        def outer(f):
            return jax.jit(inner[variant[0]](f))
        return particle(outer, inner[variant[1]], w0)[0]
    return run
