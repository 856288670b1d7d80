# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jax
# found: crash: TypeError in jax: Using a non-tuple sequence for multidimensional indexing
# args: [[3]]
# seed: 200390
import math
import numpy as np


# seed 200390 of the long run (shrunk automatically from 1256 to 196 characters, then by
# hand): the store's value does not reach the result, so the generated JAX gradient calls
# h8, whose result is inactive; it ran h8's numpy source as written, and on a JAX array its
# list index b[[0, 0, 2]] failed (with a derivative flowing through, the call is translated).
# Now every user function called from JAX code runs its JAX translation. (The program of
# the long run passed y3 = np.zeros(3), which the JAX code now keeps a numpy constant, so
# this one passes x * 2.0, a JAX array.)
def h8(a, b):
    t9 = b[[0, 0, 2]]
    return a * t9


def f(x):
    y7 = np.zeros(3)
    y7[:] -= h8(x, x * 2.0)
    return np.sum(x)
