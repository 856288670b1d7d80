# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jax_jit
# found: crash: NameError in generated: cannot access free variable 'tape1' where it is not associated with a value in enclosing scope
# args: [[3], [3]]
# seed: 902470
import math
import numpy as np


def h12(a, n):
    return np.cos(a) * 0.63 + n


def f(x, w):
    u9 = w * 2.0
    w18 = u9 if w.mean() < -0.77 else h12(u9, 1)
    return np.sum(w18 * x) + np.sum(x)
