# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: wrong_derivative: max abs error nan (argument 1); got [0.0, 0.0, nan], expected [0.0, 0.0, 0.0]
# args: [[3, 3], [3], 1]
# seed: 302349
import math
import numpy as np

def h3(a, b, scale=1.0):
    return b

def f(x, w, n):
    acc = 0.0
    for i1 in range(2):
        r2 = h3(b=w, a=w, scale=0.5)
        for i4 in range(1, 4):
            w = w ** 3 * r2 ** 2
    if 1.0:
        return acc
    g18 = w
    return g18.sum()
