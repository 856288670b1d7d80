# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_derivative (jax_jit; seed 2602165 of the fifteenth-run code, shrunk; the
# session's first commit fc4f27f gives the same): the gradient under jax.jit differs from
# numpy's, eager JAX's and jax.grad's; with XLA_FLAGS=--xla_disable_hlo_passes=algsimp it
# is right, so XLA's algebraic simplifier (jaxlib 0.10.2, CPU) changes the compiled values.
# Not fixed: writing the adjoint of `a1[::-1]` elementwise (no scatter) did not help.
# xfail: XLA's algebraic simplifier miscompiles this gradient under jax.jit (open)
# mode: jax_jit
# args: [[3], 3]
# seed: 2602165
import numpy as np


def h5(a, b, scale=1.0):
    return b * scale


def h2(a, b, scale=1.0):
    return h5(b=b, a=b, scale=0.5) + b


def f(x, n):
    a1 = h2(x, x - np.mean(x, keepdims=True))
    p7 = -(-x * a1[::-1])
    u9, w10 = (p7 + np.max(p7, axis=0, keepdims=True), a1)
    return np.min(u9)
