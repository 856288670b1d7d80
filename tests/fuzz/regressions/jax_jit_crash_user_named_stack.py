# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jax_jit
# found: crash: UnexpectedTracerError in check.py: Encountered an unexpected tracer. A function 
# args: [[3], [2, 3]]
# seed: 1200070
import math
import numpy as np

def f(x, w):
    d7 = x
    u9, w10 = w
    stack = u9
    h16 = d7
    hs17 = []
    for i18 in range(1):
        h16 = h16
        hs17.append(u9 @ h16)
    o19 = np.stack(hs17)
    return np.mean(o19)
