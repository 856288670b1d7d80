# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_derivative (jax_jit; seed 2602165 of the fifteenth-run code, shrunk): the
# gradient under jax.jit lost np.min's cotangent. XLA computes u9 again in each fused kernel
# that reads it, contracting the multiply-add into an FMA in some (x86 AVX2; right with
# XLA_FLAGS=--xla_cpu_max_isa=AVX), so the tie mask `u9 == np.min(u9)` was false
# everywhere. jax.jit(jax.grad) of the same function in jnp gives [0, 0, 0].
# Fixed: traced by jax.jit, max/min masks come from one arg-reduction
# (tgr.extremum_mask), so every kernel sees one decision.
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
