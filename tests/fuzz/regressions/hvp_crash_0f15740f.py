# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: hvp
# found: crash: ValueError in transgrad:runtime.py: output array is read-only
# args: [[3, 3], 2]
# seed: 302465
import math
import numpy as np

def f(x, n):
    b_parts1 = x[2]
    if n:
        return np.min(x)
    p14 = b_parts1
    return p14.sum() + x.sum()
