"""kmeans: the k-means cost, and GradBench's ``dir``: gradient / (Hessian @ ones).

Follows gradbench/gradbench python/gradbench/gradbench/tools/jax/kmeans.py: ``costfun`` with
its nested helper ``all_pairs_norm``; ``dir`` as the JAX tool writes it,
``f_diff = grad(lambda cs: costfun(points, cs)); d, hes = jvp(f_diff, ...)``. Inputs follow
python/gradbench/gradbench/evals/kmeans/run.py (seed 31337, ``np.random.rand(n, d)``, the last
k points are the centroids; smallest published k=10, n=1000, d=8).
"""
import numpy as np
from fdiff import central

import transgrad as tg

NAME = "kmeans"
CASES = ("small", "published")


def costfun(points, centers):
    def all_pairs_norm(a, b):
        a_sqr = np.sum(a**2, 1)[None, :]
        b_sqr = np.sum(b**2, 1)[:, None]
        diff = np.matmul(a, b.T).T
        return a_sqr + b_sqr - 2 * diff

    dists = all_pairs_norm(points, centers)
    min_dist = np.min(dists, axis=0)
    return min_dist.sum()


def inputs(kind):
    k, n, d = {"small": (3, 12, 2), "published": (10, 1000, 8)}[kind]
    np.random.seed(31337)
    points = np.random.rand(n, d).tolist()
    centroids = points[-k:]
    return (np.array(points, dtype=np.float64), np.array(centroids, dtype=np.float64))


def primal(points, centroids):
    return costfun(points, centroids)


def derivative(points, centroids):
    f_diff = tg.grad(lambda cs: costfun(points, cs))
    d, hes = tg.jvp(f_diff)(centroids, np.ones(shape=centroids.shape))
    return d / hes


def prepare(points, centroids):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    f_diff = tg.grad(lambda cs: costfun(points, cs))
    hvp = tg.jvp(f_diff)
    ones = np.ones(shape=centroids.shape)

    def dir():
        d, hes = hvp(centroids, ones)
        return d / hes
    return dir


def derivative_jax():
    import jax
    import jax.numpy as jnp

    @jax.jit
    def dir(points, centroids):
        f_diff = tg.grad(lambda cs: costfun(points, cs), backend="jax")
        d, hes = tg.jvp(f_diff, backend="jax")(centroids, jnp.ones(shape=centroids.shape))
        return d / hes
    return dir


def fd_derivative(points, centroids):
    # the cost is quadratic between changes of assignment: a wide step is exact
    h = 1e-3
    def g(cs):
        return central(lambda c: costfun(points, c), cs, h)
    hes = (g(centroids + h) - g(centroids - h)) / (2 * h)
    return g(centroids) / hes
