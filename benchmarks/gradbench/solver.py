"""The gradient-descent solver of GradBench's particle and saddle evals.

Follows gradbench/gradbench tools/futhark/solver.fut (the helpers and
``multivariate_argmin grad f x``, which takes the gradient operator ``grad`` and makes
``g = grad f`` itself), with the control flow of cpp/gradbench/gd.hpp (``while (true)`` with
returns) and tools/haskell/src/GradBench/GD.hs. Saddle differentiates through this solver.
"""
import numpy as np


def magnitude_squared(v):
    return np.sum(v * v)


def magnitude(v):
    return np.sqrt(magnitude_squared(v))


def vminus(u, v):
    return u - v


def ktimesv(k, v):
    return k * v


def distance_squared(u, v):
    return magnitude_squared(vminus(u, v))


def distance(u, v):
    return np.sqrt(distance_squared(u, v))


def multivariate_argmin(grad, f, x):
    g = grad(f)
    fx = f(x)
    gx = g(x)
    eta = 1e-5
    i = 0
    while True:
        if magnitude(gx) <= 1e-5:
            return x
        elif i == 10:
            eta = 2 * eta
            i = 0
        else:
            x_prime = vminus(x, ktimesv(eta, gx))
            if distance(x, x_prime) <= 1e-5:
                return x
            else:
                fx_prime = f(x_prime)
                if fx_prime < fx:
                    x = x_prime
                    fx = fx_prime
                    gx = g(x)
                    i += 1
                else:
                    eta = eta / 2
                    i = 0


def multivariate_argmax(grad, f, x):
    return multivariate_argmin(grad, lambda x: -f(x), x)


def multivariate_max(grad, f, x):
    return f(multivariate_argmax(grad, f, x))
