# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: hvp
# found: crash: AttributeError in ast.py: 'NoneType' object has no attribute '_fields'
# cause: forward mode of np.where whose condition alone varies (the generated gradient's
# condition t3 is a stack-saved constant): the rule gave no term, so the tangent was None
# args: [[3]]
# seed: 800084
import math
import numpy as np

def h12(a, *, k=0.5):
    return (a, 1.0)

def f(x):
    o3 = 1.0
    u4, w5 = (1.0, x)
    bx = o3
    u8, w9 = h12(w5)
    e13 = 1
    b25 = x
    for j28, row27 in enumerate(b25):
        return np.where(e13 - u4, e13, bx * w9)
