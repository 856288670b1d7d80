# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jax
# found: crash: TypeError in jax: Using a non-tuple sequence for multidimensional indexing
# args: [[3]]
# seed: 200390
# xfail: backend="jax" calls a user function whose result is inactive as written (numpy)
import math
import numpy as np


# seed 200390 of the long run (shrunk automatically from 1256 to 196 characters, then by
# hand): the store's value does not reach the result, so the generated JAX gradient keeps
# the call `t2 = h8(x, y3)` to the user's numpy function as written; on JAX arrays its list
# index b[[0, 0, 2]] fails (with a derivative flowing through, the call is translated).
def h8(a, b):
    t9 = b[[0, 0, 2]]
    return a


def f(x):
    y3 = np.zeros(3)
    y7 = np.zeros(3)
    y7[:] -= h8(x, y3)
    return np.sum(x)
