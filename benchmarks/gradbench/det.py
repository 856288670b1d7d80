"""det: determinant by expansion by minors (recursive), and its gradient.

Follows gradbench/gradbench cpp/gradbench/evals/det.hpp (``det_of_minor``, after Bradley M.
Bell's cmpad det_of_minor.hpp): the flat matrix ``A``, the recursion on the minor, and the
index lists ``r`` and ``c`` (the row / column following each one) that are updated in place
to remove a row and a column and restored afterwards. Inputs follow
python/gradbench/gradbench/evals/det/run.py (seed 31337, ``np.random.rand(ell * ell)`` for
each ell in turn; the smallest published case is the first, ell=5).
"""
import numpy as np
from fdiff import central

import transgrad as tg

NAME = "det"
CASES = ("small", "published")


def det_of_minor(A, n, m, r, c):
    R0 = r[n]
    Cj = c[n]

    if m == 1:
        return A[R0 * n + Cj]

    # determinant of the minor M
    detM = 0.0
    # sign of the factor for the next sub-minor
    sign = 1
    # remove row with index 0 in M from all the sub-minors of M
    r[n] = r[R0]
    # initial index in c for the previous column of the minor M
    Cj1 = n

    # for each column of M
    for j in range(m):
        # element with index (0, j) in the minor M
        M0j = A[R0 * n + Cj]

        # remove column with index j in M to form the next sub-minor S of M
        c[Cj1] = c[Cj]

        # determinant of S, the sub-minor of M with row R(0) and column C(j) removed
        detS = det_of_minor(A, n, m - 1, r, c)

        # restore column with index j in the representation of M as a minor of A
        c[Cj1] = Cj

        # include this sub-minor term in the summation
        if sign > 0:
            detM = detM + M0j * detS
        else:
            detM = detM - M0j * detS

        # advance to the next column of M
        Cj1 = Cj
        Cj = c[Cj]
        sign = -sign

    # restore row zero to the minor representation for M
    r[n] = R0

    return detM


def det(A, ell):
    r = [0] * (ell + 1)
    c = [0] * (ell + 1)
    for i in range(ell):
        r[i] = i + 1
        c[i] = i + 1
    return det_of_minor(A, ell, ell, r, c)


def inputs(kind):
    ell = {"small": 3, "published": 5}[kind]
    np.random.seed(31337)
    return (np.array(np.random.rand(ell * ell).tolist(), dtype=np.float64), ell)


def primal(A, ell):
    return det(A, ell)


def derivative(A, ell):
    return tg.grad(det, wrt=0)(A, ell)


def prepare(A, ell):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    gradient = tg.grad(det, wrt=0)
    return lambda: gradient(A, ell)


def derivative_jax():
    import jax
    return jax.jit(tg.grad(det, wrt=0, backend="jax"), static_argnums=[1])


def fd_derivative(A, ell):
    return central(lambda A_: det(A_, ell), A)
