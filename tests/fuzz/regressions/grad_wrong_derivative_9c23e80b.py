# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: wrong_derivative: max abs error nan (argument 1); got [0.105794, 1.11796, 1.38901, nan], expected 
# args: [[3, 3], [2, 3], 3]
# seed: 904937
# xfail: the gradient of a parameter that no derivative reaches, rebound in a loop to a float
# (`w = 1.0`), is `tgr.zeros_like_value(w)` of the rebound w: 0.0, not zeros of w's shape
# (passes/reverse*, room R3a; the unshrunk program gave nan there in the 10,000-program run)
import math
import numpy as np
import transgrad as tg

def f(x, w, n):
    for i9 in range(1, 3):
        w = 1.0
    return 1.0
