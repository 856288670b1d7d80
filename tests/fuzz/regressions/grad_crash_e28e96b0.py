# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: crash: TypeError in generated: unsupported operand type(s) for +: 'float' and 'list'
# args: [[3, 3]]
# seed: 5041
import math
import numpy as np

def f(x):
    acc = 0.0
    h5 = x
    if acc > 1.0:
        return acc
    hs9 = []
    for i10 in range(3):
        hs9.append(h5)
    o11 = sum(hs9)
    u14 = o11
    return u14.sum()
