# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: wrong_derivative: max abs error nan (argument 1); got [0.105794, 1.11796, 1.38901, nan], expected 
# args: [[3, 3], [2, 3], 3]
# seed: 904937
# fixed: the gradient of a parameter that no derivative reaches and the function rebinds
# (`w = 1.0` in a loop) is zeros of the argument, taken before the primal runs (was 0.0)
import math
import numpy as np
import transgrad as tg

def f(x, w, n):
    for i9 in range(1, 3):
        w = 1.0
    return 1.0
