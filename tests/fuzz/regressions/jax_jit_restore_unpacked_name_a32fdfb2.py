# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jax_jit
# found: wrong_derivative: max abs error nan (argument 1); got [nan, nan, nan, nan], expected [2.16306, 2.1
# args: [[3], [3, 3]]
# seed: 1004740
import math
import numpy as np

def h9(a, *, k=0.5):
    t = a
    return (a, t)

def f(x, w):
    u7, w8 = h9(w)
    a11 = u7 ** 2
    r13 = a11
    for row16 in r13:
        u7 = 1.0
    return np.sum(a11)
