# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: wrong_derivative: max abs error 0.302 (argument 1); got [-0.002226, 0.630287, 0.043372, -0.021848]
# args: [[2, 3], [2, 3]]
# seed: 1200124
import math
import numpy as np

def f(x, w):
    y6 = np.zeros((2, 3))
    for i7 in range(1):
        y6[:] = 1.0
        y6[[0, 0]] *= w
    p9 = y6
    return np.sum(p9)
