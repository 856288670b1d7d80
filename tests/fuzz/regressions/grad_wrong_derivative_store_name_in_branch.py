# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: wrong_derivative: max abs error 0.125 (argument 0); got [-10.21851, -1.381927, 0.071448], expected
# args: [[3]]
# seed: 1102495
import math
import numpy as np

def f(x):
    acc = 0.0
    u6 = np.dot(x, x)
    if acc:
        return acc
    y20 = np.zeros(3)
    y20[1] = u6
    return y20.sum()
