# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_value: got -1.8-like values for f(*args) = -1.6 (every mode): `w11 = o3;
# w11 -= x` updates o3 in place, and shapes.ranks took builtin sum(hs4) of arrays for a
# number (rank 0), so the alias analysis took o3 for a number and did not refuse the update
# mode: value_and_grad
# args: [[3], [2, 3]]
# seed: 1400613
import math
import numpy as np

def f(x, w):
    hs1 = []
    for i2 in range(3):
        hs4 = []
        for i5 in range(3):
            hs4.append(x)
        o6 = sum(hs4)
        hs1.append(o6 / 1.0)
    o3 = sum(hs1)
    u10, w11 = (x, o3)
    w11 -= x
    return np.min(o3)
