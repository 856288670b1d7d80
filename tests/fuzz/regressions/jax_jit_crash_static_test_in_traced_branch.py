# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jax_jit
# found: crash: TypeError in transgrad:linalg.py: unsupported operand type(s) for *: 'float' and 'NoneType'
# args: [[3], [3], 2]
# seed: 1204300
import math
import numpy as np

def h5(a, *, k=0.5):
    t = a
    return (t, 1.0)

def f(x, w, n):
    u1 = w
    u3, w4 = h5(x)
    if np.sum(w):
        return 1
    d14 = u1
    if n == 1:
        return np.dot(np.sin(u3), d14)
    return 1
