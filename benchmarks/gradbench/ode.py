"""ode: fourth-order Runge-Kutta on y'_i = x_i * y_{i-1} (y'_0 = x_0); gradient of the last
component of the final state.

Follows gradbench/gradbench python/gradbench/gradbench/tools/jax/ode.py: the closure factory
``ode_fun_vec(x)`` returning ``f``, ``runge_kutta(f, yi, tf, s)`` taking the function as an
argument, its nested ``body_fun`` returning (carry, output). ``jax.vmap(single_component)``
of an elementwise function becomes the call itself (``np.where`` is elementwise);
``jax.lax.scan(body_fun, yi, None, length=s)`` becomes the loop it stands for, collecting the
outputs in a list. Inputs follow python/gradbench/gradbench/evals/ode/run.py (seed 31337,
``x = np.random.rand(n)``, smallest published n=1000, s=1).
"""
import numpy as np
from fdiff import central

import transgrad as tg

NAME = "ode"
CASES = ("small", "published")


def ode_fun_vec(x):
    def f(y):
        def single_component(i, xi, yi_rot):
            return np.where(i == 0, xi, xi * yi_rot)

        iota = np.arange(x.shape[0])
        y_rot = np.roll(y, shift=1)
        return single_component(iota, x, y_rot)

    return f


def runge_kutta(f, yi, tf, s):
    h = tf / s

    def body_fun(yf, _):
        k1 = f(yf)
        k2 = f(yf + (h / 2 * k1))
        k3 = f(yf + h / 2 * k2)
        k4 = f(yf + (h * k3))
        yf_next = yf + (h / 6 * (k1 + ((2 * k2) + (2 * k3) + k4)))
        return yf_next, yf_next

    yf = yi
    y_trajectory = []
    for _ in range(s):
        yf, y_out = body_fun(yf, None)
        y_trajectory.append(y_out)
    return y_trajectory[-1]


def ode(x, s):
    tf = 2.0
    f = ode_fun_vec(x)
    y0 = np.zeros_like(x)
    return runge_kutta(f, y0, tf, s)


def inputs(kind):
    n, s = {"small": (5, 3), "published": (1000, 1)}[kind]
    np.random.seed(31337)
    return (np.array(np.random.rand(n).tolist(), dtype=np.float64), s)


def primal(x, s):
    return ode(x, s)


def derivative(x, s):
    return tg.grad(lambda x_: ode(x_, s)[-1])(x)


def prepare(x, s):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    gradient = tg.grad(lambda x_: ode(x_, s)[-1])
    return lambda: gradient(x)


def derivative_jax():
    from functools import partial

    import jax

    @partial(jax.jit, static_argnums=[1])
    def grad_ode(x, s):
        return tg.grad(lambda x_: ode(x_, s)[-1], backend="jax")(x)
    return grad_ode


def fd_derivative(x, s):
    return central(lambda x_: ode(x_, s)[-1], x)
