# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: AttributeError in transgrad:runtime.py: 'jaxlib._jax.ArrayImpl' object has no
# attribute 'items' (jax; seed 1901020 of the eleventh fuzz run, rewritten small): a
# `while tg.checkpoint(...)` loop that takes no step, on the JAX backend run eagerly, reads the
# array x from outside; the pullback's zero for x came from `zeros_like_value`, which took the
# JAX array (it has a __dict__) for a user object of no attributes and gave an empty
# DictCotangent, which then failed to add to x's adjoint
# mode: jax
# args: [[3]]
# seed: 1901020
import numpy as np

import transgrad as tg


def f(x):
    b = np.sin(x)
    k = 0
    while tg.checkpoint(k < 3 and np.sum(x) < -100.0, snapshots=2, max_steps=3):
        b = b * np.tanh(x)
        k += 1
    return b.sum() + x.sum()
