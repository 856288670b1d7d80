# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: refusal: no derivative rule for `h1` (false refusal; from seed 29, shrunk by hand)
# args: [[3], 1]
# seed: 29
# expect: ok
import math
import numpy as np


def h1(a, n):
    if n <= 0:
        return a
    return h1(np.cos(a) * 0.87, n - 1)


def f(x, n):
    if n == 1:
        return h1(0.5, 0)
    return np.sum(x)
